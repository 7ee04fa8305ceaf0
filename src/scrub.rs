//! The secret scrubber: the last line of defence that keeps secret access keys, session tokens
//! and passwords out of evidence, reports and logs, whatever a finding or an AWS answer holds.

use serde_json::Value;

/// Keys whose values are secrets wherever they appear (compared case-insensitively, ignoring
/// `_` and `-`).
const SECRET_KEYS: &[&str] = &[
    "secretaccesskey",
    "awssecretaccesskey",
    "sessiontoken",
    "awssessiontoken",
    "securitytoken",
    "password",
    "passwd",
    "privatekey",
    "clientsecret",
];

pub const REDACTED: &str = "[REDACTED]";

fn is_secret_key(k: &str) -> bool {
    let norm: String = k
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| norm == *s || norm.ends_with(s))
}

/// Replaces secret values in a JSON tree, and secret-looking material inside strings.
pub fn scrub(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    if is_secret_key(&k) && !v.is_null() {
                        (k, Value::String(REDACTED.into()))
                    } else {
                        (k, scrub(v))
                    }
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(scrub).collect()),
        Value::String(s) => Value::String(scrub_text(&s)),
        other => other,
    }
}

/// Redacts secrets inside free text: `"SecretAccessKey":"…"`, `aws_secret_access_key = …`,
/// `password=…`, and 40-character base64 strings right after a secret key's name.
pub fn scrub_text(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let names = [
        "secretaccesskey",
        "secret_access_key",
        "sessiontoken",
        "session_token",
        "password",
        "securitytoken",
    ];
    while i < s.len() {
        let hit = names
            .iter()
            .find_map(|n| lower[i..].starts_with(n).then_some(n.len()));
        match hit {
            Some(len) => {
                out.push_str(&s[i..i + len]);
                i += len;
                // Copy separators (quotes, spaces, `:` or `=`), then redact the value.
                let sep_end = s[i..]
                    .char_indices()
                    .find(|(_, c)| !matches!(c, '"' | '\'' | ' ' | ':' | '=' | '\\'))
                    .map_or(s.len(), |(j, _)| i + j);
                let sep = &s[i..sep_end];
                if sep.contains(':') || sep.contains('=') {
                    out.push_str(sep);
                    let val_end = s[sep_end..]
                        .char_indices()
                        .find(|(_, c)| {
                            matches!(c, '"' | '\'' | ',' | '}' | ' ' | '\n' | '&' | '\\')
                        })
                        .map_or(s.len(), |(j, _)| sep_end + j);
                    if val_end > sep_end {
                        out.push_str(REDACTED);
                    }
                    i = val_end;
                }
            }
            None => {
                let Some(c) = s[i..].chars().next() else {
                    break;
                };
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_by_key_and_in_text() {
        let v = scrub(json!({
            "AccessKeyId": "AKIAEXAMPLE",
            "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "nested": [{"sessionToken": "FQoGZXIvYXdzEJr"}, {"Password": "hunter2"}],
            "text": "config: aws_secret_access_key = wJalrXUtnFEMI/K7MDENG and password=hunter2 ok",
            "json_in_string": "{\"SecretAccessKey\":\"abc/def\",\"x\":1}",
        }));
        let s = v.to_string();
        for secret in ["wJalrXUtnFEMI", "FQoGZXIvYXdzEJr", "hunter2", "abc/def"] {
            assert!(!s.contains(secret), "{secret} leaked: {s}");
        }
        assert!(s.contains("AKIAEXAMPLE"), "key ids are not secrets");
        assert!(s.contains("ok"));
    }
}
