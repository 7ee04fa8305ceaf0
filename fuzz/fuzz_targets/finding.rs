//! Any text as findings: parsed, then each one selected against the shipped playbooks and bound
//! to the winner (the whole path a finding takes before anything runs).
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn playbooks() -> &'static Vec<firebreak::domain::playbook::Playbook> {
    static SET: OnceLock<Vec<firebreak::domain::playbook::Playbook>> = OnceLock::new();
    SET.get_or_init(|| {
        firebreak::domain::playbook::load_dir(&[concat!(env!("CARGO_MANIFEST_DIR"), "/../playbooks")])
            .playbooks
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(findings) = firebreak::domain::finding::parse_findings(&text, "fuzz") {
        for f in findings {
            if let Some(pb) = firebreak::domain::select::select(&f, playbooks()).winner {
                let _ = firebreak::domain::plan::compile_with(&f, pb, &Default::default());
            }
        }
    }
});
