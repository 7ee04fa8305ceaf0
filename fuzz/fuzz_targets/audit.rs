//! Arbitrary object contents (and names) as an evidence folder: the audit reports problems and
//! never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Objects separated by 0xFF; each is "name\nbytes". Names that look like records are likely
    // (the audit parses `{seq}-{kind}[-{step}].json`).
    let objects: Vec<firebreak::evidence::audit::Object> = data
        .split(|b| *b == 0xFF)
        .take(64)
        .enumerate()
        .map(|(i, chunk)| {
            let (name, bytes) = match chunk.iter().position(|b| *b == b'\n') {
                Some(n) => (
                    String::from_utf8_lossy(&chunk[..n]).into_owned(),
                    chunk[n + 1..].to_vec(),
                ),
                None => (format!("{i:04}-step-s.json"), chunk.to_vec()),
            };
            firebreak::evidence::audit::Object {
                key: format!("acct/finding/exec/{name}"),
                bytes,
                lock_mode: (i % 2 == 0).then(|| "COMPLIANCE".to_string()),
                retain_until: Some(2_000_000_000),
                last_modified: Some(1_700_000_000),
                versions: 1 + i % 2,
                s3: i % 3 == 0,
            }
        })
        .collect();
    let _ = firebreak::evidence::audit::audit(
        "fuzz",
        objects,
        Vec::new(),
        1,
        None,
        &Default::default(),
        &indicatif::ProgressBar::hidden(),
    );
});
