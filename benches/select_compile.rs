//! Select + compile of one finding against the shipped playbooks: the pure part of
//! time-to-contain, before any AWS call.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let root = env!("CARGO_MANIFEST_DIR");
    let set = firebreak::domain::playbook::load_dir(&[format!("{root}/playbooks")]);
    assert!(!set.has_errors());
    let mut group = c.benchmark_group("select_compile");
    for fixture in [
        "iam-user-tor.json",
        "ec2-bitcoin-dns.json",
        "s3-exfil-anomalous.json",
    ] {
        let text =
            std::fs::read_to_string(format!("{root}/tests/findings/{fixture}")).expect("fixture");
        group.bench_function(fixture, |b| {
            b.iter(|| {
                let findings =
                    firebreak::domain::finding::parse_findings(black_box(&text), "bench")
                        .expect("parses");
                let f = &findings[0];
                let sel = firebreak::domain::select::select(f, &set.playbooks);
                let pb = sel.winner.expect("a playbook");
                black_box(firebreak::domain::plan::compile(f, pb).expect("compiles"))
            })
        });
    }
    group.finish();
    c.bench_function("load_and_validate_shipped_playbooks", |b| {
        b.iter(|| {
            black_box(firebreak::domain::playbook::load_dir(&[format!(
                "{root}/playbooks"
            )]))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
