//! The secret scrubber: the last line of defence that keeps secret access keys, session tokens
//! and passwords out of evidence, reports and logs, whatever a finding or an AWS answer holds.

use serde_json::Value;

/// Keys whose values are secrets wherever they appear (compared case-insensitively, ignoring
/// `_` and `-`).
const SECRET_KEYS: &[&str] = &[
    "secretaccesskey",
    "awssecretaccesskey",
    "secretkey",
    "sessiontoken",
    "awssessiontoken",
    "securitytoken",
    "password",
    "passwd",
    "privatekey",
    "clientsecret",
    "apitoken",
    "apikey",
    "authtoken",
    "accesstoken",
    "refreshtoken",
    "bearertoken",
    "webhookurl",
];

/// Keys that are secrets only when they are the whole name (as suffixes they would catch
/// `bypass`, `NextToken`'s kin or `IsSecret`-like flags).
const SECRET_KEYS_EXACT: &[&str] = &[
    "pass",
    "dbpass",
    "userpass",
    "rootpass",
    "adminpass",
    "pwd",
    "secret",
    "token",
];

pub const REDACTED: &str = "[REDACTED]";

/// Secret values (keys, tokens) to redact wherever they appear, whatever surrounds them.
/// Longest first, so that a secret containing another is redacted whole; at most `MAX_KNOWN`,
/// the oldest forgotten first.
struct Known {
    /// (secret, registration number)
    list: Vec<(String, u64)>,
    next: u64,
}

impl Known {
    const fn new() -> Known {
        Known {
            list: Vec::new(),
            next: 0,
        }
    }

    fn add(&mut self, secret: &str) {
        if secret.len() < MIN_KNOWN_LEN || self.list.iter().any(|(k, _)| k == secret) {
            return;
        }
        self.list.push((secret.to_string(), self.next));
        self.next += 1;
        if self.list.len() > MAX_KNOWN
            && let Some(oldest) = self
                .list
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, n))| *n)
                .map(|(i, _)| i)
        {
            self.list.remove(oldest);
        }
        self.list.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    }

    fn redact<'a>(&self, s: &'a str) -> std::borrow::Cow<'a, str> {
        let mut out = std::borrow::Cow::Borrowed(s);
        for (k, _) in &self.list {
            if out.contains(k.as_str()) {
                out = out.replace(k.as_str(), REDACTED).into();
            }
        }
        out
    }
}

/// The secrets this process holds: its own and assumed roles' secret keys and session tokens.
static KNOWN: std::sync::RwLock<Known> = std::sync::RwLock::new(Known::new());

/// Shorter values are not registered: redacting them would mangle ordinary text.
const MIN_KNOWN_LEN: usize = 12;

/// How many secrets are kept: a long-running `serve` refreshes assumed-role credentials hourly
/// per account; the oldest (long expired) are forgotten past this.
const MAX_KNOWN: usize = 1024;

/// Makes `secret` redacted from everything scrubbed from now on.
pub fn register_secret(secret: &str) {
    if let Ok(mut known) = KNOWN.write() {
        known.add(secret);
    }
}

fn redact_known(s: &str) -> std::borrow::Cow<'_, str> {
    match KNOWN.read() {
        Ok(known) => known.redact(s),
        Err(_) => s.into(),
    }
}

/// `eprintln!` through the scrubber: every line firebreak writes to stderr goes through here.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!(
            "{}",
            $crate::domain::render::terminal_safe(&$crate::domain::scrub::scrub_text(&format!($($arg)*)))
        )
    };
}

/// A `tracing` writer to stderr that scrubs each event before writing it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScrubbedStderr;

/// Collects one event and writes it, scrubbed, when dropped.
pub struct ScrubbedLine(Vec<u8>);

impl std::io::Write for ScrubbedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbedLine {
    fn drop(&mut self) {
        use std::io::Write as _;
        let text = String::from_utf8_lossy(&self.0);
        // A JSON line (the intake's log) is scrubbed as JSON, by its keys too.
        let text = match serde_json::from_str::<Value>(text.trim_end()) {
            Ok(v @ Value::Object(_)) => format!("{}\n", scrub(v)),
            _ => scrub_text(&text),
        };
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ScrubbedStderr {
    type Writer = ScrubbedLine;
    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedLine(Vec::new())
    }
}

fn is_secret_key(k: &str) -> bool {
    let norm: String = k
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| norm == *s || norm.ends_with(s))
        || SECRET_KEYS_EXACT.contains(&norm.as_str())
}

/// Replaces secret values in a JSON tree, and secret-looking material inside strings.
pub fn scrub(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            // A tag as AWS lists them, `{"Key": "db_password", "Value": "…"}`, or an
            // environment variable as ECS does, `{"Name": "DB_PASSWORD", "Value": "…"}`: the
            // name is in one member and the secret in the other.
            let tag_named_secret = ["Key", "key", "Name", "name"]
                .iter()
                .any(|k| m.get(*k).and_then(Value::as_str).is_some_and(is_secret_key));
            Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        let tag_value = tag_named_secret && (k == "Value" || k == "value");
                        if (tag_value || is_secret_key(&k)) && !v.is_null() {
                            (k, Value::String(REDACTED.into()))
                        } else if k.eq_ignore_ascii_case("url") {
                            // A webhook's URL (`http.webhook`'s parameter): its path and query
                            // often are the token; only where it goes is kept.
                            match v {
                                Value::String(s) => (k, Value::String(url_host_only(&s))),
                                other => (k, scrub(other)),
                            }
                        } else {
                            (k, scrub(v))
                        }
                    })
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(scrub).collect()),
        Value::String(s) => Value::String(scrub_string(s)),
        other => other,
    }
}

/// A string value. JSON text inside it (a policy document, a payload kept as text) is scrubbed
/// as JSON, by its keys too, whatever its layout or escapes (`"pass\u0077ord"`); kept as it was
/// when nothing in it is secret, written compact otherwise. Any other text is scrubbed as text.
fn scrub_string(s: String) -> String {
    let t = s.trim_start();
    if (t.starts_with('{') || t.starts_with('['))
        && let Ok(v @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str::<Value>(&s)
    {
        let scrubbed = scrub(v.clone());
        return if scrubbed == v {
            scrub_text(&s)
        } else {
            scrubbed.to_string()
        };
    }
    scrub_text(&s)
}

/// Secrets hidden by an encoding: a run of URL-encoded text (`password%3DHunter2`, a
/// connection string) or of base64 (a `.env` file, a basic-auth header's value) that holds a
/// secret once decoded is redacted whole. Runs that decode to nothing secret stay as they are.
fn redact_encoded(s: String) -> String {
    let url = redact_runs(
        &s,
        |c| c.is_ascii_alphanumeric() || "%._~+-=&".contains(c),
        |run| {
            if !run.contains('%') {
                return None;
            }
            let decoded = percent_encoding::percent_decode_str(run)
                .decode_utf8()
                .ok()?;
            (decoded != run).then(|| decoded.into_owned())
        },
    );
    redact_runs(
        &url,
        |c| c.is_ascii_alphanumeric() || "+/=_-".contains(c),
        |run| {
            use base64::Engine as _;
            if run.len() < 16 {
                return None;
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(run)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(run))
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(run))
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(run))
                .ok()?;
            let text = String::from_utf8(bytes).ok()?;
            text.chars()
                .all(|c| !c.is_control() || c.is_whitespace())
                .then_some(text)
        },
    )
}

/// `s` with each maximal run of `in_run` characters that `decode` turns into text holding a
/// secret replaced by [`REDACTED`].
fn redact_runs(
    s: &str,
    in_run: impl Fn(char) -> bool,
    decode: impl Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find(&in_run) {
        out.push_str(&rest[..start]);
        let run_len = rest[start..]
            .find(|c: char| !in_run(c))
            .unwrap_or(rest.len() - start);
        let run = &rest[start..start + run_len];
        let secret = decode(run).is_some_and(|text| scrub_plain(&text) != text);
        out.push_str(if secret { REDACTED } else { run });
        rest = &rest[start + run_len..];
    }
    out.push_str(rest);
    out
}

/// A URL cut to its scheme and host (`https://hooks.slack.com/[REDACTED]`); its user part, path,
/// query and fragment are left out. Text that is not a URL is scrubbed as text.
pub fn url_host_only(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return scrub_text(s);
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.len() == rest.len() {
        return format!("{scheme}://{host}");
    }
    format!("{scheme}://{host}/{REDACTED}")
}

/// What separates a tag's key from its value in AWS answers (lowercase).
const TAG_VALUE_SEPARATORS: &[&str] = &[
    "</key><value>",
    "\",\"value\":\"",
    "\", \"value\": \"",
    "\\\",\\\"value\\\":\\\"",
];

/// Redacts secrets inside free text: `"SecretAccessKey":"…"`, `aws_secret_access_key = …`,
/// `password=…`, and 40-character base64 strings right after a secret key's name.
pub fn scrub_text(s: &str) -> String {
    redact_encoded(scrub_plain(s))
}

/// [`scrub_text`] but for encoded forms.
fn scrub_plain(s: &str) -> String {
    let s = &*redact_known(s);
    let formats = redact_formats(s);
    let s = formats.as_str();
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let names = [
        "secretaccesskey",
        "secret_access_key",
        "secret-access-key",
        "aws_secret_key",
        "secret_key",
        "sessiontoken",
        "session_token",
        "session-token",
        "password",
        "passwd",
        "securitytoken",
        "security_token",
        "security-token",
        "api_token",
        "api-token",
        "apitoken",
        "api_key",
        "api-key",
        "apikey",
        "access_token",
        "auth_token",
        "private_key",
        "db_pass",
        "token",
    ];
    while i < s.len() {
        let hit = names
            .iter()
            .find_map(|n| lower[i..].starts_with(n).then_some(n.len()));
        // A name with nothing secret after it is ordinary text: go on one character, so that a
        // longer name starting inside it (`db_password` after `db_pass`) is still seen.
        let redacted = hit.and_then(|len| redact_after_name(s, &lower, i, len, &mut out));
        match redacted {
            Some(next) => i = next,
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

/// If a secret follows the name at `s[i..i + len]`, writes the name, its separator and
/// `[REDACTED]` to `out` and returns where the text goes on; otherwise writes nothing.
fn redact_after_name(
    s: &str,
    lower: &str,
    name_at: usize,
    len: usize,
    out: &mut String,
) -> Option<usize> {
    let i = name_at + len;
    // A tag whose key names a secret: `<Key>db_password</Key><Value>…</Value>` (XML answers)
    // or `"Key":"db_password","Value":"…"` (JSON answers).
    if let Some(sep) = TAG_VALUE_SEPARATORS
        .iter()
        .find(|sep| lower[i..].starts_with(**sep))
    {
        let start = i + sep.len();
        let end = s[start..]
            .find(['<', '"', '\\'])
            .map_or(s.len(), |j| start + j);
        out.push_str(&s[name_at..start]);
        if end > start {
            out.push_str(REDACTED);
        }
        return Some(end);
    }
    // Separators (quotes, spaces, `:` or `=`), then the value.
    let sep_end = s[i..]
        .char_indices()
        .find(|(_, c)| !matches!(c, '"' | '\'' | ' ' | ':' | '=' | '\\' | '\n' | '\r' | '\t'))
        .map_or(s.len(), |(j, _)| i + j);
    let sep = &s[i..sep_end];
    // `--password X`: a command-line option, its value after a space.
    let option = s[..name_at].ends_with("--") && sep == " ";
    if !(sep.contains(':') || sep.contains('=') || option) {
        return None;
    }
    let val_end = s[sep_end..]
        .char_indices()
        .find(|(_, c)| matches!(c, '"' | '\'' | ',' | '}' | ' ' | '\n' | '&' | '\\'))
        .map_or(s.len(), |(j, _)| sep_end + j);
    out.push_str(&s[name_at..sep_end]);
    if val_end > sep_end {
        out.push_str(REDACTED);
    }
    Some(val_end)
}

/// Secrets recognized by their form, wherever they stand: PEM private keys, passwords in
/// URLs (`postgres://app:PW@db`), GitHub and Slack tokens, Slack webhook paths.
fn redact_formats(s: &str) -> String {
    let mut out = s.to_string();
    // PEM blocks of private keys, whole.
    while let Some(start) = out.find("-----BEGIN ") {
        let Some(head_end) = out[start + 11..].find("-----").map(|j| start + 11 + j + 5) else {
            break;
        };
        if !out[start..head_end].contains("PRIVATE KEY") {
            // Certificates and public keys are not secrets; look further.
            let rest = redact_formats(&out[head_end..]);
            out.replace_range(head_end.., &rest);
            break;
        }
        let end = out[head_end..]
            .find("-----END ")
            .and_then(|j| {
                let e = head_end + j + 9;
                out[e..].find("-----").map(|k| e + k + 5)
            })
            .unwrap_or(out.len());
        out.replace_range(start..end, REDACTED);
    }
    // user:password@ in a URL's authority.
    let mut from = 0;
    while let Some(j) = out[from..].find("://") {
        let auth_start = from + j + 3;
        let auth_end = out[auth_start..]
            .find(['/', ' ', '"', '\'', '\n', '?', '#'])
            .map_or(out.len(), |k| auth_start + k);
        if let Some(at) = out[auth_start..auth_end].rfind('@').map(|k| auth_start + k)
            && let Some(colon) = out[auth_start..at].find(':').map(|k| auth_start + k)
            && at > colon + 1
        {
            out.replace_range(colon + 1..at, REDACTED);
            from = colon + 1 + REDACTED.len();
        } else {
            from = auth_end.max(auth_start);
        }
        if from >= out.len() {
            break;
        }
    }
    // Tokens by their prefix: GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`)
    // and Slack (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xapp-`).
    for prefix in [
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "github_pat_",
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "xoxr-",
        "xoxs-",
        "xapp-",
    ] {
        let mut from = 0;
        while let Some(j) = out[from..].find(prefix) {
            let start = from + j;
            let end = out[start + prefix.len()..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .map_or(out.len(), |k| start + prefix.len() + k);
            let boundary = start == 0
                || !out[..start]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric());
            if boundary && end - start >= prefix.len() + 16 {
                out.replace_range(start..end, REDACTED);
                from = start + REDACTED.len();
            } else {
                from = start + prefix.len();
            }
        }
    }
    // Slack incoming-webhook URLs carry their secret in the path.
    let marker = "hooks.slack.com/services/";
    let mut from = 0;
    while let Some(j) = out[from..].find(marker) {
        let start = from + j + marker.len();
        let end = out[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ')' | '>'))
            .map_or(out.len(), |k| start + k);
        if end > start {
            out.replace_range(start..end, REDACTED);
        }
        from = start + REDACTED.len().min(out.len() - start);
    }
    out
}

/// An instance's console output (`GetConsoleOutput`'s `Output`, base64) as evidence keeps it:
/// decoded to text, so that the scrubber sees (and redacts) the passwords and keys boot scripts
/// print, beside the SHA-256 of what is kept. Both engines record it so; base64 kept as it
/// came would carry a secret past the scrubber.
pub fn console_output(b64: Option<&str>) -> Value {
    use base64::Engine as _;
    let Some(b64) = b64 else {
        return Value::Null;
    };
    match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
        Ok(bytes) => {
            // Scrubbed here, and hashed as kept: a hash of the raw console would let a short
            // password a boot script printed be found by trying values.
            let raw = String::from_utf8_lossy(&bytes);
            let text = scrub_text(&raw);
            serde_json::json!({
                "sha256": crate::domain::digest::sha256_hex(text.as_bytes()),
                "scrubbed": text != raw,
                "text": text,
            })
        }
        // Not kept verbatim: undecoded, it could carry a secret past the scrubber.
        Err(e) => serde_json::json!({"undecodable": e.to_string(), "length": b64.len()}),
    }
}

#[cfg(test)]
mod tests {
    /// Issue 14, item 6: forms the scrubber missed.
    #[test]
    fn secrets_in_other_layouts_and_encodings_are_redacted() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD
            .encode("DB_HOST=db.internal\nDB_PASSWORD=B64Secret42\n");
        let v = super::scrub(json!({
            // JSON kept as text: a value before its key, an escaped key, pretty-printed.
            "UserData": r#"{"Value": "ValFirst7", "Key": "db_password"}"#,
            "Payload": "{\"pass\\u0077ord\": \"Escaped8\"}",
            "Config": "{\n  \"api_token\" :\n    \"Pretty9\"\n}",
            "Env": b64,
            "Next": "https://x.example/cb?next=%2Flogin%3Fpassword%3DUrlEnc10%26a%3D1",
            "Plain": "password:\n  Indented11",
            "Harmless": "c2VydmljZS1uYW1lOiBwYXltZW50cw==",
            "Policy": r#"{"Version":"2012-10-17","Statement":[]}"#,
        }));
        let s = v.to_string();
        for secret in [
            "ValFirst7",
            "Escaped8",
            "Pretty9",
            "B64Secret42",
            "UrlEnc10",
            "Indented11",
        ] {
            assert!(!s.contains(secret), "{secret}: {s}");
        }
        assert!(!s.contains(&b64), "{s}");
        // Nothing secret once decoded, and JSON with no secret: kept as they were.
        assert_eq!(v["Harmless"], "c2VydmljZS1uYW1lOiBwYXltZW50cw==");
        assert_eq!(v["Policy"], r#"{"Version":"2012-10-17","Statement":[]}"#);
    }

    #[test]
    fn a_url_parameter_keeps_only_its_host() {
        let v = super::scrub(serde_json::json!({
            "url": "https://user:pw@hooks.slack.com/services/T0/B0/abcdef?x=1",
            "params": {"url": "http://127.0.0.1:9/hooks/secret-token", "text": "hi"},
            "URL": "https://example.com",
        }));
        assert_eq!(v["url"], "https://hooks.slack.com/[REDACTED]");
        assert_eq!(v["params"]["url"], "http://127.0.0.1:9/[REDACTED]");
        assert_eq!(v["params"]["text"], "hi");
        assert_eq!(v["URL"], "https://example.com");
    }

    use super::*;
    use serde_json::json;

    /// Issue 14, item 6: the forms the scrubber used to miss.
    #[test]
    fn common_secret_forms_are_redacted() {
        let v = scrub(json!({
            "tags": {"api_token": "TokA1", "DB_PASS": "PassB2", "aws_secret_key": "KeyC3",
                "ssh_private_key": "KeyD4", "bypass": false, "NextToken": "page-2"},
        }));
        let s = v.to_string();
        for secret in ["TokA1", "PassB2", "KeyC3", "KeyD4"] {
            assert!(!s.contains(secret), "{secret}: {s}");
        }
        assert!(s.contains("\"bypass\":false"), "{s}");
        let text = scrub_text(concat!(
            "DATABASE_URL=postgres://app:S3cretPw@db.internal:5432/app ",
            "run --password Hunter2Cli now; curl https://x.example/?token=TokenQ9 ",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY----- ",
            "gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 slack xoxb-1234567890-abcdefghijkl ",
            "hook https://hooks.slack.com/services/T000/B000/XXXXSecretPath end",
        ));
        for secret in [
            "S3cretPw",
            "Hunter2Cli",
            "TokenQ9",
            "b3BlbnNzaC1rZXktdjE",
            "ghp_abcdefghijklmnop",
            "xoxb-1234567890",
            "XXXXSecretPath",
        ] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        assert!(
            text.contains("postgres://app:[REDACTED]@db.internal"),
            "{text}"
        );
        assert!(text.contains(" end"), "{text}");
        // Certificates are not secrets.
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert_eq!(scrub_text(cert), cert);
        // Policy conditions are not tokens.
        let policy = r#"{"DateLessThan":{"aws:TokenIssueTime":"2026-12-01T00:00:00Z"}}"#;
        assert_eq!(scrub_text(policy), policy);
    }

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

    #[test]
    fn known_secrets_and_header_forms_are_redacted() {
        register_secret("KnownSecretValue0123456789/abcdefghijklm");
        register_secret("short");
        let text = scrub_text(
            "signing with KnownSecretValue0123456789/abcdefghijklm; \
             x-amz-security-token:IQoJb3JpZ2luX2VjEPlanted\nx-amz-date:20261123T000000Z short",
        );
        assert!(!text.contains("KnownSecretValue"), "{text}");
        assert!(!text.contains("IQoJb3JpZ2luX2VjEPlanted"), "{text}");
        assert!(text.contains("x-amz-date:20261123T000000Z"), "{text}");
        assert!(
            text.contains(" short"),
            "short values are not registered: {text}"
        );
    }

    #[test]
    fn the_oldest_secrets_are_forgotten_past_the_limit() {
        let mut known = Known::new();
        let first = "ForgettableSecret-00000";
        known.add(first);
        for i in 0..MAX_KNOWN {
            known.add(&format!("ForgettableSecret-{:05}", i + 1));
        }
        let latest = format!("ForgettableSecret-{MAX_KNOWN:05}");
        assert_eq!(known.redact(&latest), REDACTED, "the newest is redacted");
        assert_eq!(known.redact(first), first, "the oldest was forgotten");
        assert_eq!(known.list.len(), MAX_KNOWN);
        // A secret containing another is redacted whole.
        known.add("OuterSecretWithInnerSecretPart");
        known.add("InnerSecretPart");
        assert_eq!(
            known.redact("x OuterSecretWithInnerSecretPart y"),
            "x [REDACTED] y"
        );
    }

    #[test]
    fn tags_and_variables_whose_names_name_secrets_are_redacted() {
        let v = scrub(serde_json::json!({"tags": [
            {"Key": "Password", "Value": "PlantedTagSecret"},
            {"key": "owner", "value": "ops"},
        ], "environment": [
            {"Name": "DB_PASSWORD", "Value": "PlantedEnvSecret"},
            {"name": "REGION", "value": "eu-west-1"},
        ]}));
        let text = v.to_string();
        assert!(!text.contains("PlantedTagSecret"), "{text}");
        assert!(!text.contains("PlantedEnvSecret"), "{text}");
        assert!(text.contains("\"ops\""), "{text}");
        assert!(text.contains("\"eu-west-1\""), "{text}");
    }

    #[test]
    fn tags_whose_keys_name_secrets_are_redacted() {
        let text = scrub_text(
            r#"<Tags><member><Key>db_password</Key><Value>Hunter2Xml</Value></member><member><Key>owner</Key><Value>ops</Value></member></Tags> [{"Key":"app_session_token","Value":"TokJson"},{"Key": "password", "Value": "Spaced"}] {\"Key\":\"password\",\"Value\":\"Escaped\"}"#,
        );
        for secret in ["Hunter2Xml", "TokJson", "Spaced", "Escaped"] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        assert!(text.contains("<Value>ops</Value>"), "{text}");
        assert!(
            text.contains("<Key>db_password</Key><Value>[REDACTED]</Value>"),
            "{text}"
        );
    }

    /// A boot script's password in the console output is redacted, whichever engine read it.
    #[test]
    fn console_output_is_decoded_and_scrubbed() {
        use base64::Engine as _;
        let raw = "cloud-init: db password=hunter2-Sup3rSecret\nready\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        let kept = console_output(Some(&b64));
        assert_eq!(kept["scrubbed"], true, "{kept}");
        let text = kept["text"].as_str().unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("ready"), "{text}");
        assert!(!kept.to_string().contains(&b64), "{kept}");
        assert_eq!(console_output(None), Value::Null);
        assert!(console_output(Some("not base64!")).get("text").is_none());
    }
}
