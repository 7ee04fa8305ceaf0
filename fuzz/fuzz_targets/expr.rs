//! Any text as a template and as a condition: parsed, and evaluated against a finding.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let finding = serde_json::json!({
        "type": "UnauthorizedAccess:IAMUser/TorIPCaller",
        "severity": 5.0,
        "resource": {"accessKeyDetails": {"userName": "alice", "userType": "IAMUser"},
                     "instanceDetails": {"tags": [{"key": "Name", "value": "web"}]}},
    });
    let inputs = serde_json::json!({"user_name": "alice", "n": 3});
    let scope = firebreak::domain::expr::MapScope {
        finding: &finding,
        inputs: Some(&inputs),
        steps: None,
    };
    if let Ok(t) = firebreak::domain::expr::Template::parse(&text) {
        let _ = t.paths();
        let _ = t.eval(&scope);
    }
    if let Ok(e) = firebreak::domain::expr::parse_condition(&text) {
        let _ = e.eval(&scope);
    }
});
