//! The local engine's interpreter of the step vocabulary (`crate::domain::define`): the definition's
//! reads (at once), its decision, its change (or, in a dry run, the plan), its read-back and
//! its verdict, each call through the operation's adapter (`super::ops`).

use serde_json::{Map, Value, json};

use super::{Cx, ops, verify_failed};
use crate::domain::define::{self, Ask, Def};
use crate::domain::step::{Outcome, StepError};

/// How many reads of one ask made per item are in flight at once.
const READS_AT_ONCE: usize = 8;

/// Runs `def` with the step's parameters.
pub(super) async fn run(def: &Def, cx: &Cx<'_>) -> Result<Outcome, StepError> {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .map_err(|e| StepError::permanent("InternalError", e.to_string()))?;
    let mut values = json!({"before": {}, "change": {}, "after": {},
        "step": {"now": now, "finding_id": cx.finding_id}});
    values["before"] = Value::Object(ask_all(cx, "before", def.before, &values).await?);
    let pre_state = state(cx.params, &values["before"]);
    let mut out = Outcome {
        outputs: outputs(def, &values),
        pre_state: pre_state.clone(),
        ..Default::default()
    };
    for r in def.refuse {
        if r.when.holds(&values, cx.params, &later) {
            return Err(StepError::permanent(
                r.code,
                define::message(r.message, cx.params),
            ));
        }
    }
    if def.done_when.holds(&values, cx.params, &later) {
        // A capture changes nothing and reads nothing back.
        if !def.change.is_empty() {
            out.post_state = pre_state;
        }
        return Ok(out);
    }
    if cx.dry_run {
        for ask in def.change {
            if !runs(ask, &values, cx) {
                continue;
            }
            // A call that needs what an earlier change made (the id of a group created a
            // moment before) cannot be probed: nothing was made. A call per item is probed
            // for each item (each volume's snapshot).
            if ask.call.op.dry_run_probe() && !define::uses_change(&ask.call) {
                let probes: Vec<Map<String, Value>> = match ask.each {
                    None => vec![cx.params.clone()],
                    Some(list) => items(ask, list, &values)
                        .iter()
                        .map(|i| item_params(cx.params, i))
                        .collect(),
                };
                for params in &probes {
                    let args = define::args(&ask.call, params, &values);
                    ops::call(cx, ask.call.op, &args, true).await?;
                }
            } else {
                cx.planned(ask.call.op.api_service(), ask.call.op.name());
            }
        }
        out.planned.push(define::message(def.plan, cx.params));
        return Ok(out);
    }
    let mut changed = Map::new();
    for ask in def.change {
        if !runs(ask, &values, cx) {
            changed.extend(defaults(ask, cx));
            continue;
        }
        let (picked, made) = ask_made(cx, ask, &values, "change", false).await?;
        out.changed |= made > 0;
        changed.extend(picked);
        // A later call of the change reads what an earlier one gave (a new group's id).
        values["change"] = Value::Object(changed.clone());
    }
    values["change"] = Value::Object(changed);
    values["after"] = Value::Object(ask_all(cx, "after", def.after, &values).await?);
    if let Some(verified) = &def.verified_when
        && !verified.holds(&values, cx.params, &later)
    {
        return Err(verify_failed(define::message(def.unverified, cx.params)));
    }
    out.outputs = outputs(def, &values);
    out.post_state = state(cx.params, &values["after"]);
    Ok(out)
}

/// The asks of one phase, sent at once (their latency is one round trip, not one per read)
/// up to an ask with a `when`, which waits for those before it; the first failure in the
/// definition's order is the step's, as on Step Functions, which makes them in that order.
async fn ask_all(
    cx: &Cx<'_>,
    phase: &str,
    asks: &[Ask],
    values: &Value,
) -> Result<Map<String, Value>, StepError> {
    // The values so far are copied only when a later ask of this phase needs this one's.
    let mut values = std::borrow::Cow::Borrowed(values);
    let mut out = Map::new();
    let mut start = 0;
    while start < asks.len() {
        let end = asks[start + 1..]
            .iter()
            .position(|a| waits(a, phase))
            .map_or(asks.len(), |at| start + 1 + at);
        let seen: &Value = &values;
        let answers = futures_util::future::join_all(asks[start..end].iter().map(|a| async move {
            if runs(a, seen, cx) {
                ask_made(cx, a, seen, phase, phase != "change").await
            } else {
                Ok((defaults(a, cx), 0))
            }
        }))
        .await;
        for a in answers {
            out.extend(a?.0);
        }
        if end < asks.len() {
            values.to_mut()[phase] = Value::Object(out.clone());
        }
        start = end;
    }
    Ok(out)
}

/// One ask ([`ask_one`]), made again until its [`define::Until`] holds, then failing the step
/// when its failure holds.
async fn ask_made(
    cx: &Cx<'_>,
    ask: &Ask,
    values: &Value,
    phase: &str,
    reads: bool,
) -> Result<(Map<String, Value>, usize), StepError> {
    // The values with this ask's picks, for its own conditions.
    let with = |picked: &Map<String, Value>| {
        let mut v = values.clone();
        if let Some(Value::Object(m)) = v.get_mut(phase) {
            m.extend(picked.clone());
        }
        v
    };
    let mut delay = std::time::Duration::from_millis(500);
    loop {
        let (picked, made) = ask_one(cx, ask, values, reads).await?;
        let waiting = ask.until.is_some_and(|u| {
            cx.params.get(u.unless).and_then(Value::as_bool) != Some(false)
                && !u.holds.holds(&with(&picked), cx.params, &later)
        });
        if waiting {
            // Bounded by the step's timeout: the engine cancels the step past it.
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(std::time::Duration::from_secs(15));
            continue;
        }
        if let Some(f) = &ask.fails
            && f.when.holds(&with(&picked), cx.params, &later)
        {
            return Err(StepError::permanent(
                f.code,
                define::message(f.message, cx.params),
            ));
        }
        return Ok((picked, made));
    }
}

/// Whether an ask waits for the answers of the asks before it in its phase: it has a `when`,
/// or it is made for each item of a list picked in the phase.
fn waits(ask: &Ask, phase: &str) -> bool {
    ask.when.is_some()
        || ask
            .each
            .is_some_and(|list| list.split_once('.').is_some_and(|(p, _)| p == phase))
}

/// Whether an ask's call is made: by this engine, always or when its `when` holds.
fn runs(ask: &Ask, values: &Value, cx: &Cx<'_>) -> bool {
    ask.only.is_none_or(|e| e == define::Engine::Local)
        && ask.when.is_none_or(|w| w.holds(values, cx.params, &later))
}

/// The picks of an ask whose call is not made: what the vocabulary picks from no answer (the
/// defaults).
fn defaults(ask: &Ask, cx: &Cx<'_>) -> Map<String, Value> {
    define::pick(ask, None, cx.params, &later).unwrap_or_default()
}

/// The items an ask made per item of `list` is made for: those not left out
/// ([`Ask::except_in`]), and with a paired list, those whose paired value is a list that is not
/// empty, each with that value.
fn items(ask: &Ask, list: &str, values: &Value) -> Vec<(Value, Option<Value>)> {
    let list_of = |name: &str| {
        define::value(values, name)
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let left_out = ask.except_in.map(list_of).unwrap_or_default();
    let all = list_of(list).into_iter().filter(|i| !left_out.contains(i));
    match ask.paired.map(list_of) {
        None => all.map(|i| (i, None)).collect(),
        Some(with) => all
            .zip(with)
            .filter(|(_, p)| p.as_array().is_some_and(|l| !l.is_empty()))
            .map(|(i, p)| (i, Some(p)))
            .collect(),
    }
}

/// The step's parameters with an item (and its paired value) where [`define::Arg::Item`] and
/// [`define::Arg::Paired`] find them.
fn item_params(
    params: &Map<String, Value>,
    (item, paired): &(Value, Option<Value>),
) -> Map<String, Value> {
    let mut params = params.clone();
    params.insert(define::ITEM.into(), item.clone());
    if let Some(p) = paired {
        params.insert(define::PAIRED.into(), p.clone());
    }
    params
}

/// One ask: its call, or (with `each`) one call per item: reads at once, changes one after
/// the other (IAM and EC2 throttle a burst of changes to one resource); the values picked, and
/// how many calls were answered.
async fn ask_one(
    cx: &Cx<'_>,
    ask: &Ask,
    values: &Value,
    reads: bool,
) -> Result<(Map<String, Value>, usize), StepError> {
    let Some(list) = ask.each else {
        return Ok((call(cx, ask, cx.params, values).await?, 1));
    };
    let items = items(ask, list, values);
    let mut out: Map<String, Value> = ask
        .picks
        .iter()
        .map(|p| (p.name.to_string(), Value::Array(Vec::new())))
        .collect();
    let answers: Vec<Result<Map<String, Value>, StepError>> = if reads || ask.at_once {
        // A few at a time: an account's hundreds of target groups must not be a burst that
        // the API throttles, nor hundreds of round trips one after the other.
        use futures_util::StreamExt;
        let reads: Vec<_> = items
            .iter()
            .map(|item| {
                let params = item_params(cx.params, item);
                async move { call(cx, ask, &params, values).await }
            })
            .collect();
        futures_util::stream::iter(reads)
            .buffered(READS_AT_ONCE)
            .collect()
            .await
    } else {
        let mut answers = Vec::with_capacity(items.len());
        // A failed change stops the calls for the items after it.
        for item in &items {
            let answer = call(cx, ask, &item_params(cx.params, item), values).await;
            let failed = answer.is_err();
            answers.push(answer);
            if failed {
                break;
            }
        }
        answers
    };
    for answer in answers {
        for (k, v) in answer? {
            if let Some(Value::Array(l)) = out.get_mut(&k) {
                l.push(v);
            }
        }
    }
    Ok((out, items.len()))
}

async fn call(
    cx: &Cx<'_>,
    ask: &Ask,
    params: &Map<String, Value>,
    values: &Value,
) -> Result<Map<String, Value>, StepError> {
    let args = define::args(&ask.call, params, values);
    let answer = match ops::call(cx, ask.call.op, &args, false).await {
        Ok(a) => Some(a),
        Err(e) if ask.absent.is_some_and(|a| absent(&a, &e)) => None,
        Err(e) => return Err(e),
    };
    define::pick(ask, answer.as_ref(), params, &later)
        .map_err(|e| StepError::permanent(e.code, e.message))
}

/// Whether an error is the answer "not there" of a read: one of its codes, or, for a
/// best-effort read, any refusal that is neither transient (that fails the step, whose retries
/// make the read again) nor a missing permission (the responder's misconfiguration, which
/// fails it like any other read; a state machine cannot tell EC2's apart, see
/// `Ask::best_effort`).
fn absent(a: &define::Absent, e: &StepError) -> bool {
    a.codes.contains(&e.code.as_str())
        || (a.codes.contains(&define::ANY_REFUSAL)
            && matches!(e.kind, crate::domain::step::ErrorKind::Permanent)
            && !crate::aws::is_access_denied(&e.code))
}

/// Whether timestamp `a` is later than `b` (ISO 8601, as AWS gives them and playbooks write
/// them).
fn later(a: &Value, b: &Value) -> Result<bool, String> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let t = |v: &Value| {
        v.as_str()
            .and_then(|s| DateTime::from_str(s, Format::DateTime).ok())
            .ok_or_else(|| format!("`{}` is not an ISO 8601 time", v.as_str().unwrap_or("")))
    };
    Ok(t(a)? > t(b)?)
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
        .map(|(name, from)| ((*name).to_string(), define::output(values, from)))
        .collect()
}
