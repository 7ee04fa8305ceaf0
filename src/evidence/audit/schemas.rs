//! The committed record schemas (`evidence-schemas/`), compiled once, and a record's problems
//! against its kind's.

use serde_json::Value;

/// A committed schema's text, by kind.
macro_rules! committed {
    ($($kind:literal),* $(,)?) => {
        [$(($kind, include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"), "/evidence-schemas/", $kind, ".schema.json"
        )))),*]
    };
}

/// Validators for the committed record schemas, compiled once.
static VALIDATORS: std::sync::LazyLock<Vec<(&'static str, Option<jsonschema::Validator>)>> =
    std::sync::LazyLock::new(|| {
        committed!("finding", "plan", "step", "manifest", "signature", "index")
            .into_iter()
            .map(|(kind, text)| {
                let validator = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|s| jsonschema::validator_for(&s).ok());
                (kind, validator)
            })
            .collect()
    });

/// Problems of a record against its kind's schema (at most three, for readability).
pub(super) fn schema_problems(kind: &str, v: &Value) -> Vec<String> {
    match VALIDATORS
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, v)| v.as_ref())
    {
        Some(validator) => validator
            .iter_errors(v)
            .take(3)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect(),
        None => vec![format!("no schema for kind {kind}")],
    }
}
