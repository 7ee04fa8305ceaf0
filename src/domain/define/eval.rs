//! How the vocabulary's pieces are evaluated over JSON: a call's arguments from the step's
//! parameters and the values picked so far, the values picked from an answer, conditions,
//! outputs and messages. The local engine evaluates them so; the ASL compiler turns the same
//! pieces into states.

use serde_json::{Map, Value, json};

use super::{Arg, Ask, Call, Cond, From, Where};

/// Where [`Arg::Item`] is found among the parameters [`args`] is given.
pub const ITEM: &str = "$item";

/// Where [`Arg::Paired`] is found among the parameters [`args`] is given.
pub const PAIRED: &str = "$paired";

/// The parameters of `call`, from the step's `params` (what the local engine sends; for an
/// [`Ask::each`], with the item under [`ITEM`]).
pub fn args(call: &Call, params: &Map<String, Value>, values: &Value) -> Map<String, Value> {
    members(call.args, params, values)
}

/// An object of arguments (a call's, or a statement's members) as the local engine builds it.
pub fn members(
    members: &[(&str, Arg)],
    params: &Map<String, Value>,
    values: &Value,
) -> Map<String, Value> {
    members
        .iter()
        .filter_map(|(k, a)| one(a, params, values).map(|v| ((*k).to_string(), v)))
        .collect()
}

/// One argument's value; `None` for an [`Arg::IfGiven`] the playbook does not give (the
/// member is left out).
fn one(arg: &Arg, params: &Map<String, Value>, values: &Value) -> Option<Value> {
    match arg {
        Arg::Param(p) => Some(params.get(*p).cloned().unwrap_or(Value::Null)),
        Arg::IfGiven(p) => params
            .get(*p)
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned(),
        Arg::Text(t) => Some(Value::String((*t).into())),
        Arg::Bool(b) => Some(Value::Bool(*b)),
        Arg::Int(i) => Some(Value::from(*i)),
        Arg::ListOf(p) => Some(json!([params.get(*p).cloned().unwrap_or(Value::Null)])),
        Arg::Obj(inner) => Some(Value::Object(members(inner, params, values))),
        Arg::Item => params.get(ITEM).cloned(),
        Arg::Value(name) => Some(value(values, name).clone()),
        Arg::List(items) => Some(Value::Array(
            items
                .iter()
                .filter_map(|a| one(a, params, values))
                .collect(),
        )),
        Arg::Tags(p) => Some(tag_list(params.get(*p))),
        Arg::Paired => params.get(PAIRED).cloned(),
        Arg::LastPart(name, sep) => Some(Value::String(
            value(values, name)
                .as_str()
                .and_then(|s| s.rsplit(*sep).next())
                .unwrap_or_default()
                .to_string(),
        )),
        Arg::Json(inner) => Some(Value::String(
            Value::Object(members(inner, params, values)).to_string(),
        )),
        Arg::Format(template, items) => {
            let mut parts = template.split("{}");
            let mut out = parts.next().unwrap_or_default().to_string();
            for (part, item) in parts.zip(items.iter().chain(std::iter::repeat(&Arg::Text("")))) {
                match one(item, params, values) {
                    Some(Value::String(t)) => out.push_str(&t),
                    Some(Value::Null) | None => {}
                    Some(v) => out.push_str(&v.to_string()),
                }
                out.push_str(part);
            }
            Some(Value::String(out))
        }
        Arg::ArnPart(p, n) => Some(Value::String(
            params
                .get(*p)
                .and_then(Value::as_str)
                .and_then(|arn| arn.split(':').nth(*n))
                .unwrap_or_default()
                .to_string(),
        )),
        Arg::WithItem(list, item) => {
            let mut items = value(values, list).as_array().cloned().unwrap_or_default();
            items.push(Value::Object(members(item, params, values)));
            Some(Value::Array(items))
        }
        Arg::WithStatement(doc, statement) => {
            let mut list = statements(value(values, doc)).unwrap_or_default();
            list.push(Value::Object(members(statement, params, values)));
            let mut document = match value(values, doc).as_str().map(serde_json::from_str) {
                Some(Ok(Value::Object(d))) => d,
                _ => Map::from_iter([("Version".to_string(), json!("2012-10-17"))]),
            };
            document.insert("Statement".into(), Value::Array(list));
            Some(Value::String(Value::Object(document).to_string()))
        }
    }
}

/// The statements of the policy document a value holds as JSON text: none for null, `None`
/// for what is not a policy document (not JSON, not an object, or a `Statement` that is
/// neither a list nor one statement).
pub fn statements(text: &Value) -> Option<Vec<Value>> {
    let text = match text {
        Value::Null => return Some(Vec::new()),
        Value::String(t) => t,
        _ => return None,
    };
    match serde_json::from_str::<Value>(text).ok()?.get("Statement")? {
        Value::Array(list) => Some(list.clone()),
        one @ Value::Object(_) => Some(vec![one.clone()]),
        _ => None,
    }
}

/// Whether a call's parameters read a value picked in the change phase (`change.group`).
pub fn uses_change(call: &Call) -> bool {
    super::values_in(call.args)
        .iter()
        .any(|name| name.starts_with("change."))
}

/// A key-value parameter as `[{Key, Value}]` (as it is already on Step Functions).
pub fn tag_list(v: Option<&Value>) -> Value {
    match v {
        Some(Value::Object(m)) => Value::Array(
            m.iter()
                .map(|(k, v)| json!({"Key": k, "Value": v}))
                .collect(),
        ),
        Some(Value::Array(l)) => Value::Array(l.clone()),
        _ => Value::Array(Vec::new()),
    }
}

/// The values at a dotted path with `[*]` through lists (`Reservations[*].Instances[*].State`).
pub fn at_path<'v>(v: &'v Value, path: &str) -> Vec<&'v Value> {
    let mut current = vec![v];
    for seg in path.split('.') {
        let (name, all) = match seg.strip_suffix("[*]") {
            Some(n) => (n, true),
            None => (seg, false),
        };
        let mut next = Vec::new();
        for c in current {
            if let Some(child) = c.get(name) {
                if all {
                    if let Some(items) = child.as_array() {
                        next.extend(items.iter());
                    }
                } else {
                    next.push(child);
                }
            }
        }
        current = next;
    }
    current
}

/// Why values could not be picked from an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PickError {
    /// `firebreak.UnexpectedAnswer` (a [`From::First`] path without a value) or
    /// `InvalidParameter` (a value a [`Cmp::Later`] cannot compare).
    pub code: &'static str,
    pub message: String,
}

/// Whether one timestamp is later than another (`Err` for a value that is not one): the
/// engine's, since this module parses no time.
pub type Later<'a> = &'a dyn Fn(&Value, &Value) -> Result<bool, String>;

/// An IAM policy document as JSON: IAM answers it URL-encoded (a document that is not JSON
/// stays text).
pub fn policy_document(text: &str) -> Value {
    let text = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
}

/// The time before which `doc` denies every session, if it is a revocation: a statement that
/// denies every action on every resource, with no principal or exception, conditioned only on
/// `aws:TokenIssueTime` being earlier than one time. Anything else (an Allow, a narrower
/// action, an extra condition) revokes less than it says, and is no revocation.
pub fn revoked_before(doc: &Value, later: Later) -> Option<String> {
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => return None,
    };
    let everything = |v: &Value| match v {
        Value::String(s) => s == "*",
        Value::Array(a) => a.iter().any(|x| x == "*"),
        _ => false,
    };
    statements.iter().find_map(|s| {
        let st = s.as_object()?;
        let plain = st.keys().all(|k| {
            matches!(
                k.as_str(),
                "Sid" | "Effect" | "Action" | "Resource" | "Condition"
            )
        });
        if !plain
            || s["Effect"] != "Deny"
            || !everything(&s["Action"])
            || !everything(&s["Resource"])
        {
            return None;
        }
        let cond = s["Condition"].as_object()?;
        let (op, keys) = cond.iter().next().filter(|_| cond.len() == 1)?;
        let keys = keys.as_object().filter(|k| k.len() == 1)?;
        let (key, value) = keys.iter().next()?;
        if op != "DateLessThan" || !key.eq_ignore_ascii_case("aws:TokenIssueTime") {
            return None;
        }
        let t = match value {
            Value::String(_) => value.clone(),
            Value::Array(a) if a.len() == 1 => a[0].clone(),
            _ => return None,
        };
        // A time (compared with itself only to be parsed).
        later(&t, &t).ok()?;
        t.as_str().map(str::to_string)
    })
}

/// What `ask` picks from an answer (`None`: the call answered "not there").
pub fn pick(
    ask: &Ask,
    answer: Option<&Value>,
    params: &Map<String, Value>,
    later: Later,
) -> Result<Map<String, Value>, PickError> {
    let mut out = Map::new();
    for p in ask.picks {
        // A `Where`'s items of a document (the default when it selects nothing).
        let selected = |w: &Where, doc: &Value| -> Result<Value, PickError> {
            match w.select(doc, params, later).map_err(|message| PickError {
                code: "InvalidParameter",
                message,
            })? {
                Value::Null => Ok(p.default.json()),
                v => Ok(v),
            }
        };
        let v = match (answer, p.from) {
            (None, _) => p.default.json(),
            (Some(_), From::Present) => Value::Bool(true),
            // A member that is null is missing: the local engine's adapters write an answer's
            // missing members as null, a state machine's answer leaves them out.
            (Some(a), From::At(path)) => at_path(a, path)
                .first()
                .filter(|v| !v.is_null())
                .map(|v| (*v).clone())
                .unwrap_or_else(|| p.default.json()),
            (Some(a), From::Member(path)) => at_path(a, path)
                .first()
                .map(|v| (*v).clone())
                .unwrap_or(Value::Null),
            (Some(a), From::Each(path)) => {
                let all = at_path(a, path);
                match (path.contains("[*]"), all.first()) {
                    (true, _) => Value::Array(all.into_iter().cloned().collect()),
                    (false, Some(list)) => (*list).clone(),
                    (false, None) => Value::Array(Vec::new()),
                }
            }
            (Some(a), From::Where(w)) => selected(w, a)?,
            (Some(a), From::WhereIn(text, w)) => {
                let doc: Value = at_path(a, text)
                    .first()
                    .and_then(|t| t.as_str())
                    .and_then(|t| serde_json::from_str(t).ok())
                    .ok_or_else(|| PickError {
                        code: "firebreak.UnexpectedAnswer",
                        message: format!(
                            "{} answered without a JSON document in `{text}`",
                            ask.call.op.name()
                        ),
                    })?;
                selected(w, &doc)?
            }
            (Some(a), From::Distinct(path)) => {
                let mut seen: Vec<Value> = Vec::new();
                for v in at_path(a, path) {
                    if !seen.contains(v) {
                        seen.push(v.clone());
                    }
                }
                Value::Array(seen)
            }
            (Some(_), From::Item) => params.get(ITEM).cloned().unwrap_or(Value::Null),
            (Some(a), From::Decoded(path)) => crate::domain::scrub::console_output(
                at_path(a, path).first().and_then(|v| v.as_str()),
            ),
            (Some(a), From::Policy(path)) => at_path(a, path)
                .first()
                .and_then(|v| v.as_str())
                .map_or(Value::Null, policy_document),
            (Some(a), From::RevokedBefore(path)) => at_path(a, path)
                .first()
                .and_then(|v| v.as_str())
                .map(policy_document)
                .and_then(|d| revoked_before(&d, later))
                .map_or_else(|| p.default.json(), Value::String),
            (Some(a), From::First(path)) => match at_path(a, path).first() {
                Some(v) => (*v).clone(),
                None => {
                    return Err(PickError {
                        code: "firebreak.UnexpectedAnswer",
                        message: format!("{} answered without `{path}`", ask.call.op.name()),
                    });
                }
            },
        };
        out.insert(p.name.into(), v);
    }
    Ok(out)
}

impl Cond {
    /// Whether the condition holds over `values` (`{"before": {...}, ...}`) and the step's
    /// parameters, on the local engine; `later` compares two timestamps (see [`pick`]).
    pub fn holds(&self, values: &Value, params: &Map<String, Value>, later: Later) -> bool {
        match self {
            Cond::Always => true,
            Cond::Never => false,
            Cond::Is(name, lit) => value(values, name) == &lit.json(),
            Cond::Same(x, y) => value(values, x) == value(values, y),
            Cond::Empty(x) => value(values, x).as_array().is_some_and(Vec::is_empty),
            Cond::NoneIn(x) => value(values, x).as_array().is_some_and(|l| {
                l.iter()
                    .all(|inner| inner.as_array().is_some_and(Vec::is_empty))
            }),
            Cond::Includes(x, p) => {
                let have = value(values, x).as_array().cloned().unwrap_or_default();
                match tag_list(params.get(*p)) {
                    Value::Array(wanted) => wanted.iter().all(|w| have.contains(w)),
                    _ => false,
                }
            }
            Cond::Within(x, y) => {
                let have = value(values, y).as_array().cloned().unwrap_or_default();
                value(values, x)
                    .as_array()
                    .is_some_and(|l| l.iter().all(|i| have.contains(i)))
            }
            Cond::Starts(text, prefixes) => {
                let text = match text {
                    Arg::Param(p) | Arg::IfGiven(p) => params.get(*p).unwrap_or(&Value::Null),
                    Arg::Value(n) => value(values, n),
                    _ => &Value::Null,
                };
                text.as_str()
                    .is_some_and(|t| prefixes.iter().any(|x| t.starts_with(x)))
            }
            Cond::NotBefore(x, than) => {
                let than = match than {
                    Arg::IfGiven(p) | Arg::Param(p) => params.get(*p).unwrap_or(&Value::Null),
                    Arg::Value(n) => value(values, n),
                    _ => &Value::Null,
                };
                // Not earlier: the other is not later (both must be timestamps).
                later(than, value(values, x)).is_ok_and(|l| !l)
            }
            Cond::HasStatement(doc, statement) => statements(value(values, doc))
                .is_some_and(|l| l.contains(&Value::Object(members(statement, params, values)))),
            Cond::Keeps(x, y) => match (statements(value(values, x)), statements(value(values, y)))
            {
                (Some(before), Some(after)) => before.iter().all(|s| after.contains(s)),
                _ => false,
            },
            Cond::PolicyText(x) => statements(value(values, x)).is_some(),
            Cond::Local(c) => c.holds(values, params, later),
            Cond::All(cs) => cs.iter().all(|c| c.holds(values, params, later)),
            Cond::Any(cs) => cs.iter().any(|c| c.holds(values, params, later)),
            Cond::Not(c) => !c.holds(values, params, later),
        }
    }

    /// Every value the condition reads.
    pub fn names(&self, out: &mut Vec<&'static str>) {
        match self {
            Cond::Always | Cond::Never => {}
            Cond::Starts(text, _) => {
                if let Arg::Value(n) = text {
                    out.push(n);
                }
            }
            Cond::Is(n, _) => out.push(n),
            Cond::Same(x, y) => out.extend([*x, *y]),
            Cond::Empty(x) | Cond::NoneIn(x) | Cond::Includes(x, _) => out.push(x),
            Cond::Within(x, y) | Cond::Keeps(x, y) => out.extend([*x, *y]),
            Cond::PolicyText(x) => out.push(x),
            Cond::HasStatement(x, statement) => {
                out.push(x);
                out.extend(super::values_in(statement));
            }
            Cond::NotBefore(x, than) => {
                out.push(x);
                if let Arg::Value(n) = than {
                    out.push(n);
                }
            }
            Cond::Local(c) => c.names(out),
            Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| c.names(out)),
            Cond::Not(c) => c.names(out),
        }
    }
}

/// An output's value: the first of its values (`after.x|before.x|step.now`) that is not null.
pub fn output(values: &Value, from: &str) -> Value {
    from.split('|')
        .map(|n| value(values, n))
        .find(|v| !v.is_null())
        .cloned()
        .unwrap_or(Value::Null)
}

/// A picked value by its name (`before.status`); null when there is none.
pub fn value<'v>(values: &'v Value, name: &str) -> &'v Value {
    name.split_once('.')
        .and_then(|(phase, n)| values.get(phase).and_then(|p| p.get(n)))
        .unwrap_or(&Value::Null)
}

/// The parts of a message: literal text and `{param}` references.
pub fn message_parts(text: &str) -> Vec<Result<&str, &str>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            out.push(Ok(&rest[..open]));
        }
        out.push(Err(&rest[open + 1..open + close]));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Ok(rest));
    }
    out
}

/// A message with its `{param}`s filled from the step's parameters. `{param|host}` is only
/// the host of a URL parameter (a webhook's path and query often hold a token); it is for a
/// plan, which firebreak writes itself (a state machine writes no plan).
pub fn message(text: &str, params: &Map<String, Value>) -> String {
    message_parts(text)
        .into_iter()
        .map(|p| match p {
            Ok(t) => t.to_string(),
            Err(name) => match name.strip_suffix(HOST) {
                Some(url) => host(params.get(url).and_then(Value::as_str).unwrap_or_default()),
                None => match params.get(name) {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => String::new(),
                },
            },
        })
        .collect()
}

/// The filter of a message's `{param|host}`.
pub const HOST: &str = "|host";

/// The host (and port) of a URL, without its scheme, user, path, query or fragment.
fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, h)| h)
        .to_string()
}
