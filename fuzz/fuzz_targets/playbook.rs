//! Any text as a playbook: loaded and validated (every diagnostic), and when it is valid, checked
//! as a set, drawn and compiled to Step Functions.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pb, _diagnostics) = firebreak::domain::playbook::load(&text, "fuzz.yaml");
    if let Some(pb) = pb {
        let _ = firebreak::domain::playbook::check_set(std::slice::from_ref(&pb));
        let _ = firebreak::domain::render::dot(&pb);
        let _ = firebreak::engine::asl::compile(&pb);
    }
});
