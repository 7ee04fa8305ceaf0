//! The local engine's interpreter of the step vocabulary (`crate::define`): the definition's
//! reads (at once), its decision, its change (or, in a dry run, the plan), its read-back and
//! its verdict, each call through the operation's adapter (`super::ops`).

use serde_json::{Map, Value, json};

use super::{Cx, ops, verify_failed};
use crate::define::{self, Ask, Def};
use crate::step::{Outcome, StepError};

/// Runs `def` with the step's parameters.
pub(super) async fn run(def: &Def, cx: &Cx<'_>) -> Result<Outcome, StepError> {
    let mut values = json!({"before": {}, "change": {}, "after": {}});
    values["before"] = Value::Object(ask_all(cx, def.before).await?);
    let pre_state = state(cx.params, &values["before"]);
    let mut out = Outcome {
        outputs: outputs(def, &values),
        pre_state: pre_state.clone(),
        ..Default::default()
    };
    for r in def.refuse {
        if r.when.holds(&values) {
            return Err(StepError::permanent(
                r.code,
                define::message(r.message, cx.params),
            ));
        }
    }
    if def.done_when.holds(&values) {
        // A capture changes nothing and reads nothing back.
        if !def.change.is_empty() {
            out.post_state = pre_state;
        }
        return Ok(out);
    }
    if cx.dry_run {
        for ask in def.change {
            if ask.call.op.dry_run_probe() {
                let args = define::args(&ask.call, cx.params);
                ops::call(cx, ask.call.op, &args, true).await?;
            } else {
                cx.planned(ask.call.op.service(), ask.call.op.name());
            }
        }
        out.planned.push(define::message(def.plan, cx.params));
        return Ok(out);
    }
    let mut changed = Map::new();
    for ask in def.change {
        let picked = ask_one(cx, ask).await;
        // A call that answered has changed something, whatever comes after it.
        if picked.is_ok() {
            out.changed = true;
        }
        changed.extend(picked?);
    }
    values["change"] = Value::Object(changed);
    values["after"] = Value::Object(ask_all(cx, def.after).await?);
    if let Some(verified) = &def.verified_when
        && !verified.holds(&values)
    {
        return Err(verify_failed(define::message(def.unverified, cx.params)));
    }
    out.outputs = outputs(def, &values);
    out.post_state = state(cx.params, &values["after"]);
    Ok(out)
}

/// The asks of one phase, sent at once (their latency is one round trip, not one per read);
/// the first failure in the definition's order is the step's, as on Step Functions, which
/// makes them in that order.
async fn ask_all(cx: &Cx<'_>, asks: &[Ask]) -> Result<Map<String, Value>, StepError> {
    let answers = futures_util::future::join_all(asks.iter().map(|a| ask_one(cx, a))).await;
    let mut values = Map::new();
    for a in answers {
        values.extend(a?);
    }
    Ok(values)
}

async fn ask_one(cx: &Cx<'_>, ask: &Ask) -> Result<Map<String, Value>, StepError> {
    let args = define::args(&ask.call, cx.params);
    let answer = match ops::call(cx, ask.call.op, &args, false).await {
        Ok(a) => Some(a),
        Err(e) if ask.absent.is_some_and(|a| a.code == e.code) => None,
        Err(e) => return Err(e),
    };
    define::pick(ask, answer.as_ref(), cx.params)
        .map_err(|m| StepError::permanent("firebreak.UnexpectedAnswer", m))
}

/// The step's parameters and the values of one phase: the record's pre- or post-state.
fn state(params: &Map<String, Value>, values: &Value) -> Value {
    let mut s = params.clone();
    if let Some(v) = values.as_object() {
        s.extend(v.clone());
    }
    Value::Object(s)
}

fn outputs(def: &Def, values: &Value) -> Map<String, Value> {
    def.outputs
        .iter()
        .map(|(name, from)| {
            let v = from
                .split_once('.')
                .and_then(|(phase, n)| values.get(phase).and_then(|p| p.get(n)))
                .cloned()
                .unwrap_or(Value::Null);
            ((*name).to_string(), v)
        })
        .collect()
}
