//! Engine overhead: many concurrent incidents of the full EC2 plan against an action backend
//! that only waits 20 ms per AWS call. Everything else is firebreak's own code as `run` uses
//! it: parsing and selecting the finding, compiling the plan, the DAG scheduler, retries,
//! reports, and the evidence chain (SHA-256, schema'd records) written to a local folder.
//!
//! The backend replays a real run: for each step it waits 20 ms for every AWS call that step
//! made in `target/bench/ec2-report.json` (written by `scripts/bench-ttc` from a run against
//! moto; `benches/data/ec2-report.json` otherwise) and returns that step's outputs, pre- and
//! post-state, so conditions and evidence are those of a real containment. Calls inside a step
//! are waited one after the other.
//!
//! The critical-path lower bound is the longest path through the DAG of those waits: the time
//! one incident would take with no engine at all. Prints a Markdown section.
//!
//!     cargo bench --bench engine_overhead -- [--incidents N] [--reps R] [--profile FILE]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use firebreak::engine::{
    self, ApiCall, Executor, Invocation, Outcome, RunOptions, StepError, StepStatus,
};
use firebreak::evidence::{Recorder, Store};
use serde_json::Value;

const PER_CALL: Duration = Duration::from_millis(20);

/// The replayed action backend.
struct Backend {
    steps: HashMap<String, (usize, Outcome)>,
}

impl Executor for Backend {
    async fn execute(&self, inv: &Invocation) -> Result<Outcome, StepError> {
        let Some((calls, outcome)) = self.steps.get(&inv.step_id) else {
            return Err(StepError::permanent(
                "NotInProfile",
                format!("step {} did not run in the profiled run", inv.step_id),
            ));
        };
        for _ in 0..*calls {
            tokio::time::sleep(PER_CALL).await;
        }
        Ok(outcome.clone())
    }
}

fn backend(report: &Value) -> Backend {
    let mut steps = HashMap::new();
    for s in report["steps"].as_array().expect("a run report") {
        if s["status"] != "succeeded" {
            continue;
        }
        let calls: Vec<ApiCall> = s["calls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| ApiCall {
                service: c["service"].as_str().unwrap_or_default().to_string().into(),
                operation: c["operation"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
                    .into(),
                request_id: c["request_id"].as_str().map(str::to_string),
                result: c["result"].as_str().unwrap_or("ok").to_string(),
            })
            .collect();
        let outcome = Outcome {
            outputs: s["outputs"].as_object().cloned().unwrap_or_default(),
            pre_state: s["pre_state"].clone(),
            post_state: s["post_state"].clone(),
            changed: s["changed"].as_bool().unwrap_or(false),
            planned: Vec::new(),
            calls: calls.clone(),
        };
        steps.insert(
            s["id"].as_str().unwrap_or_default().to_string(),
            (calls.len(), outcome),
        );
    }
    Backend { steps }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Process CPU time (user + system) and peak resident set size in KiB.
fn usage() -> (Duration, u64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct it is given and nothing else.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (tv(ru.ru_utime) + tv(ru.ru_stime), ru.ru_maxrss as u64)
}

fn current_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// One incident: finding text in → plan → run with evidence → manifest. Returns the report.
async fn incident(
    text: String,
    set: Arc<firebreak::domain::playbook::LoadedSet>,
    backend: Arc<Backend>,
    evidence: PathBuf,
) -> engine::RunReport {
    let started = Instant::now();
    let findings =
        firebreak::domain::finding::parse_findings(&text, "bench").expect("the finding parses");
    let f = &findings[0];
    let pb = firebreak::domain::select::select(f, &set.playbooks)
        .winner
        .expect("a playbook");
    let plan = firebreak::domain::plan::compile(f, pb).expect("the plan compiles");
    let execution_id = uuid::Uuid::now_v7().to_string();
    let recorder = Arc::new(Recorder::new(
        Store::Local { dir: evidence },
        &f.account_id,
        &f.id,
        &execution_id,
    ));
    let started_at = firebreak::evidence::now_rfc3339();
    recorder.finding(f).await.expect("finding record");
    recorder.plan(&plan, &pb.source).await.expect("plan record");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let opts = RunOptions {
        execution_id,
        concurrency: 16,
        ..RunOptions::default()
    };
    let report = engine::run(
        &plan,
        backend,
        &opts,
        started,
        tx,
        stop,
        Some(recorder.clone() as Arc<dyn firebreak::engine::Journal>),
    )
    .await;
    let _ = drain.await;
    recorder
        .manifest(
            &report,
            "arn:aws:iam::123456789012:user/bench",
            None,
            &started_at,
        )
        .await
        .expect("manifest");
    report
}

/// Longest path through the plan's DAG, each succeeded step weighing its calls × 20 ms.
fn critical_path(
    report: &engine::RunReport,
    backend: &Backend,
    edges: &[(String, String)],
) -> Duration {
    let weight = |id: &str| match report.steps.iter().find(|s| s.id == id) {
        Some(s) if s.status == StepStatus::Succeeded => {
            PER_CALL * backend.steps.get(id).map(|(n, _)| *n as u32).unwrap_or(0)
        }
        _ => Duration::ZERO,
    };
    // Steps are few: relax the edges until nothing changes (a DAG settles in ≤ n rounds).
    let mut finish: HashMap<&str, Duration> = report
        .steps
        .iter()
        .map(|s| (s.id.as_str(), weight(&s.id)))
        .collect();
    for _ in 0..report.steps.len() {
        for (from, to) in edges {
            let candidate = finish[from.as_str()] + weight(to);
            if candidate > finish[to.as_str()] {
                finish.insert(to.as_str(), candidate);
            }
        }
    }
    finish.values().copied().max().unwrap_or_default()
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let incidents: usize =
        arg(&args, "--incidents").map_or(1000, |v| v.parse().expect("--incidents N"));
    let reps: usize = arg(&args, "--reps").map_or(5, |v| v.parse().expect("--reps R"));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let profile = arg(&args, "--profile")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let fresh = root.join("target/bench/ec2-report.json");
            if fresh.exists() {
                fresh
            } else {
                root.join("benches/data/ec2-report.json")
            }
        });
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(&profile).unwrap_or_else(|e| panic!("{}: {e}", profile.display())),
    )
    .expect("the profile is a JSON run report");
    let backend = Arc::new(backend(&report));
    let set = Arc::new(firebreak::domain::playbook::load_dir(&[
        root.join("playbooks")
    ]));
    assert!(!set.has_errors());
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/findings/ec2-bitcoin-dns.json")).unwrap(),
    )
    .unwrap();
    let texts: Vec<String> = (0..incidents)
        .map(|i| {
            let mut f = template.clone();
            f["id"] = format!("bench-{i}").into();
            f["resource"]["instanceDetails"]["instanceId"] = format!("i-{i:017x}").into();
            f.to_string()
        })
        .collect();
    // The DAG's edges, from the plan of one of them.
    let edges: Vec<(String, String)> = {
        let findings = firebreak::domain::finding::parse_findings(&texts[0], "bench").unwrap();
        let pb = firebreak::domain::select::select(&findings[0], &set.playbooks)
            .winner
            .unwrap();
        let plan = firebreak::domain::plan::compile(&findings[0], pb).unwrap();
        plan.graph
            .edge_indices()
            .filter_map(|e| plan.graph.edge_endpoints(e))
            .map(|(a, b)| (plan.graph[a].id.clone(), plan.graph[b].id.clone()))
            .collect()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .enable_all()
        .build()
        .unwrap();
    let rss_before = current_rss_kib();
    let mut walls = Vec::new();
    let mut cpu_per_step = Vec::new();
    let mut ttc_medians = Vec::new();
    let mut lower = Duration::ZERO;
    let mut steps_per_incident = 0;
    let mut records_per_incident = 0;
    for _ in 0..reps {
        let dir = tempfile_dir();
        let (cpu0, _) = usage();
        let t = Instant::now();
        let reports: Vec<engine::RunReport> = runtime.block_on(async {
            let tasks: Vec<_> = texts
                .iter()
                .map(|text| {
                    tokio::spawn(incident(
                        text.clone(),
                        set.clone(),
                        backend.clone(),
                        dir.clone(),
                    ))
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.expect("an incident task"));
            }
            out
        });
        let wall = t.elapsed();
        let (cpu1, _) = usage();
        assert!(reports.iter().all(|r| r.ok()), "every incident contained");
        let ran: usize = reports
            .iter()
            .map(|r| {
                r.steps
                    .iter()
                    .filter(|s| s.status == StepStatus::Succeeded)
                    .count()
            })
            .sum();
        steps_per_incident = ran / incidents;
        records_per_incident = count_files(&dir) / incidents;
        lower = critical_path(&reports[0], &backend, &edges);
        walls.push(wall.as_secs_f64() * 1000.0);
        cpu_per_step.push((cpu1 - cpu0).as_secs_f64() * 1e6 / ran as f64);
        let mut ttc: Vec<f64> = reports
            .iter()
            .filter_map(|r| r.time_to_contain_ms.map(|v| v as f64))
            .collect();
        ttc_medians.push(median(&mut ttc));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (_, peak) = usage();
    let spread = |xs: &[f64]| {
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(0.0, f64::max);
        (lo, hi)
    };
    let (wl, wh) = spread(&walls);
    let (cl, ch) = spread(&cpu_per_step);
    let wall = median(&mut walls.clone());
    let lower_ms = lower.as_secs_f64() * 1000.0;
    println!(
        "{incidents} incidents of the EC2 plan started at once, {reps} repetitions in one process \
         ({} tokio worker threads); each incident runs {steps_per_incident} steps and writes \
         {records_per_incident} evidence records to a local folder in `{}`; the backend waits 20 ms per \
         AWS call of the profiled run (`{}`).\n",
        std::thread::available_parallelism().map_or(2, |n| n.get()),
        evidence_root().display(),
        profile.strip_prefix(&root).unwrap_or(&profile).display()
    );
    println!("| measure | median | min – max |");
    println!("| --- | --- | --- |");
    println!("| critical-path lower bound (one incident, no engine) | {lower_ms:.0} ms | — |");
    println!("| wall time, all {incidents} incidents | {wall:.0} ms | {wl:.0} – {wh:.0} ms |");
    println!(
        "| ratio wall / lower bound | {:.2} | {:.2} – {:.2} |",
        wall / lower_ms,
        wl / lower_ms,
        wh / lower_ms
    );
    println!(
        "| time-to-contain per incident (median of each repetition) | {:.0} ms | {:.0} – {:.0} ms |",
        median(&mut ttc_medians.clone()),
        spread(&ttc_medians).0,
        spread(&ttc_medians).1
    );
    println!(
        "| CPU time per step (process user + system ÷ steps run) | {:.0} µs | {cl:.0} – {ch:.0} µs |",
        median(&mut cpu_per_step.clone())
    );
    println!(
        "| peak resident memory (process; {:.0} MiB before the first repetition) | {:.0} MiB | — |",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0
    );
}

/// Where the evidence goes: a memory file system (`/dev/shm`) where there is one, so that the
/// numbers are the engine's and not the disk's (creating tens of thousands of files on ext4
/// right after deleting as many costs more CPU than the engine itself).
fn evidence_root() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

fn tempfile_dir() -> PathBuf {
    let dir = evidence_root().join(format!("firebreak-engine-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

fn count_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { count_files(&p) } else { 1 }
        })
        .sum()
}
