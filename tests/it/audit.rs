//! `firebreak audit` (issue 4): untouched evidence passes; each kind of tampering is detected with
//! a specific message, in a local folder and in S3 on moto.

use std::path::{Path, PathBuf};

use aws_sdk_s3::types::{
    DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule,
};
use serde_json::Value;

use crate::support::{moto, stderr, stdout, unique};

fn contained_finding(user: &str, key: &str) -> PathBuf {
    crate::support::leaked_key_finding(None, user, key)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The files of the executions' records: every file but the execution index's.
fn records(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "_index"))
        .collect()
}

pub(crate) fn copy_writable(from: &Path, to: &Path) {
    for f in files(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(&dest, std::fs::read(&f).unwrap()).unwrap();
    }
}

/// A new user's leaked key contained by `firebreak run --evidence TARGET [extra…]` (exit 0).
pub(crate) async fn contain_into(config: &aws_config::SdkConfig, target: &str, extra: &[&str]) {
    let (user, key) = crate::run_s3::user_with_key(config).await;
    let finding = contained_finding(&user, &key);
    let mut args = vec!["run", "--evidence", target];
    args.extend_from_slice(extra);
    args.push(finding.to_str().unwrap());
    let out = moto().firebreak(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn audit(target: &str) -> (Option<i32>, String) {
    let out = moto().firebreak(&["audit", "--retention-days", "30", target]);
    (out.status.code(), stdout(&out) + &stderr(&out))
}

#[tokio::test]
async fn local_tampering_is_detected() {
    let config = moto().config().await;
    let dir = std::env::temp_dir().join(unique("evidence-audit"));
    contain_into(&config, dir.to_str().unwrap(), &[]).await;
    let (code, text) = audit(dir.to_str().unwrap());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("PASS") && text.contains("finding") && text.contains("step deactivate_key"),
        "{text}"
    );

    type Tamper = Box<dyn Fn(&[PathBuf], &Path)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "rewritten",
            Box::new(|f: &[PathBuf], _: &Path| {
                let step = f
                    .iter()
                    .find(|p| p.to_string_lossy().contains("-step-deactivate_key"))
                    .unwrap();
                let text = std::fs::read_to_string(step)
                    .unwrap()
                    .replace("\"succeeded\"", "\"failed\"");
                std::fs::write(step, text).unwrap();
            }),
            "the record was altered",
        ),
        (
            "deleted",
            Box::new(|f: &[PathBuf], _: &Path| {
                let step = f
                    .iter()
                    .find(|p| p.to_string_lossy().contains("-step-deny_all_user"))
                    .unwrap();
                std::fs::remove_file(step).unwrap();
            }),
            // One record, said as one (issue 16, item 10: not "records 0004..0004").
            "is missing before",
        ),
        (
            "no manifest",
            Box::new(|f: &[PathBuf], _: &Path| {
                std::fs::remove_file(f.last().unwrap()).unwrap();
            }),
            "no manifest: the execution is incomplete",
        ),
        (
            "out of order",
            Box::new(|f: &[PathBuf], _: &Path| {
                let (a, b) = (&f[2], &f[3]);
                let (x, y) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
                std::fs::write(a, y).unwrap();
                std::fs::write(b, x).unwrap();
            }),
            "out of order",
        ),
        (
            "invalid record",
            Box::new(|f: &[PathBuf], _: &Path| {
                let step = f
                    .iter()
                    .find(|p| p.to_string_lossy().contains("-step-capture_user"))
                    .unwrap();
                let text = std::fs::read_to_string(step)
                    .unwrap()
                    .replace("\"attempts\"", "\"tries\"");
                std::fs::write(step, text).unwrap();
            }),
            "not a valid step record",
        ),
        (
            "extra object",
            Box::new(|f: &[PathBuf], _: &Path| {
                std::fs::write(f[0].parent().unwrap().join("notes.txt"), b"hello").unwrap();
            }),
            "extra object",
        ),
    ];
    for (name, tamper, expect) in cases {
        let copy = std::env::temp_dir().join(unique("evidence-tampered"));
        copy_writable(&dir, &copy);
        tamper(&records(&copy), &copy);
        let (code, text) = audit(copy.to_str().unwrap());
        assert_eq!(code, Some(1), "{name}: {text}");
        assert!(
            text.contains(expect),
            "{name}: expected `{expect}` in\n{text}"
        );
        assert!(text.contains("verdict: FAIL"), "{name}");
    }
    // Issue 16, item 10: an execution id that is not there is named, and fails the audit.
    let out = moto().firebreak(&[
        "audit",
        "--execution",
        "no-such-execution",
        dir.to_str().unwrap(),
    ]);
    let text = stdout(&out) + &stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("no execution no-such-execution in"), "{text}");
}

#[tokio::test]
async fn html_report_is_a_page_with_failures_first() {
    let config = moto().config().await;
    let dir = std::env::temp_dir().join(unique("evidence-html"));
    for _ in 0..2 {
        contain_into(&config, dir.to_str().unwrap(), &[]).await;
    }
    let copy = std::env::temp_dir().join(unique("evidence-html-tampered"));
    copy_writable(&dir, &copy);
    // Tamper with the execution that sorts last, so that failures-first has to move it up.
    let all = records(&copy);
    let last_execution = all.last().unwrap().parent().unwrap().to_path_buf();
    let step = files(&last_execution)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("-step-deactivate_key"))
        .unwrap();
    let text = std::fs::read_to_string(&step)
        .unwrap()
        .replace("\"succeeded\"", "\"failed\"");
    std::fs::write(&step, text).unwrap();
    let bad_id = last_execution
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();

    let out = moto().firebreak(&[
        "audit",
        "--retention-days",
        "30",
        "--output",
        "html",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = stdout(&out);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.trim_end().ends_with("</html>"), "{html}");
    assert!(!html.contains("<script"), "a report needs no script");
    assert!(
        html.contains(r#"<span class="verdict FAIL">FAIL</span> <code>"#),
        "{html}"
    );
    // Failures first: the tampered execution's row and section come before the other one's.
    let rows: Vec<usize> = html
        .match_indices("<tr><td><span class=\"verdict")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(rows.len(), 2, "{html}");
    let bad_row = html.find(&format!("<code>{bad_id}</code></a>")).unwrap();
    assert!(
        bad_row > rows[0] && bad_row < rows[1],
        "the failing execution is listed first"
    );
    let bad_section = html.find(&format!("id=\"x-{bad_id}\"")).unwrap();
    let pass_section = html.find(r#"<h2 id="x-"#).unwrap();
    assert_eq!(
        bad_section,
        pass_section + 4,
        "the failing execution's section comes first"
    );
    assert!(html.contains("the record was altered"), "{html}");
    // A timeline table per execution: the finding, the plan, every step, the manifest.
    assert_eq!(html.matches("<th>What happened</th>").count(), 2);
    assert!(html.contains(r#"<tr class="succeeded"><td>"#), "{html}");
    assert!(
        html.contains("step deactivate_key (iam.deactivate_access_key) succeeded"),
        "{html}"
    );
    assert!(html.contains("contained in"), "{html}");
}

async fn locked_bucket(s3: &aws_sdk_s3::Client) -> String {
    let bucket = unique("evidence-audit");
    s3.create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    s3.put_object_lock_configuration()
        .bucket(&bucket)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Governance)
                                .days(30)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    bucket
}

#[tokio::test]
async fn s3_tampering_is_detected() {
    let config = moto().config().await;
    let s3 = firebreak::aws::s3_client(&config);
    let mut run_one = Vec::new();
    // Five executions in one bucket, each under its own prefix, one per tampering.
    let bucket = locked_bucket(&s3).await;
    for i in 0..5 {
        let target = format!("s3://{bucket}/case{i}");
        contain_into(
            &config,
            &target,
            &["--lock-mode", "governance", "--retention-days", "30"],
        )
        .await;
        let listed = s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(format!("case{i}/"))
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .filter(|k| !k.contains("/_index/"))
            .collect();
        keys.sort();
        run_one.push((target, keys));
    }
    let (code, text) = audit(&run_one[0].0);
    assert_eq!(code, Some(0), "untouched evidence passes: {text}");

    // 0: a record rewritten as a new version.
    let (target, keys) = &run_one[0];
    s3.put_object()
        .bucket(&bucket)
        .key(&keys[2])
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
        .content_md5("mZFLkyvTelC5g8XnyQrpOw==")
        .send()
        .await
        .unwrap();
    let (code, text) = audit(target);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("rewritten as a new version"), "{text}");

    // 1: a record deleted with a GOVERNANCE bypass.
    let (target, keys) = &run_one[1];
    let version = s3
        .head_object()
        .bucket(&bucket)
        .key(&keys[3])
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    s3.delete_object()
        .bucket(&bucket)
        .key(&keys[3])
        .version_id(version)
        .bypass_governance_retention(true)
        .send()
        .await
        .unwrap();
    let (code, text) = audit(target);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("listed in the manifest but missing"),
        "{text}"
    );

    // 2: retention shortened.
    let (target, keys) = &run_one[2];
    let soon = aws_sdk_s3::primitives::DateTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 86_400,
    );
    s3.put_object_retention()
        .bucket(&bucket)
        .key(&keys[1])
        .bypass_governance_retention(true)
        .retention(
            aws_sdk_s3::types::ObjectLockRetention::builder()
                .mode(ObjectLockRetentionMode::Governance)
                .retain_until_date(soon)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (code, text) = audit(target);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("retention shortened"), "{text}");

    // 3: an extra object in the execution's folder.
    let (target, keys) = &run_one[3];
    let folder = keys[0].rsplit_once('/').unwrap().0;
    s3.put_object()
        .bucket(&bucket)
        .key(format!("{folder}/extra.json"))
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
        .content_md5("mZFLkyvTelC5g8XnyQrpOw==")
        .send()
        .await
        .unwrap();
    let (code, text) = audit(target);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("extra object"), "{text}");

    // 4: the manifest deleted (a delete marker).
    let (target, keys) = &run_one[4];
    s3.delete_object()
        .bucket(&bucket)
        .key(keys.last().unwrap())
        .send()
        .await
        .unwrap();
    let (code, text) = audit(target);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("deleted") && text.contains("incomplete"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unlocked_bucket_fails_the_audit() {
    let config = moto().config().await;
    let s3 = firebreak::aws::s3_client(&config);
    let bucket = unique("plain");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("a/b/c/0000-finding.json")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
        .send()
        .await
        .unwrap();
    let out = moto().firebreak(&["audit", "--output", "json", &format!("s3://{bucket}")]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let problems = v["store_problems"].to_string() + &v["executions"].to_string();
    assert!(problems.contains("Object Lock"), "{problems}");
    assert!(
        problems.contains("object without an Object Lock retention"),
        "{problems}"
    );
}

/// Signed manifests (issue 4): a KMS ECDSA P-256 signature beside each manifest; a forged
/// manifest, a re-signed one and a broken signature are each caught.
#[tokio::test]
async fn signed_manifests_catch_forgery_and_re_signing() {
    use base64::Engine as _;
    let config = moto().config().await;
    let kms = aws_sdk_kms::Client::new(&config);
    let new_key = || {
        crate::support::new_kms_key(
            &config,
            aws_sdk_kms::types::KeyUsageType::SignVerify,
            aws_sdk_kms::types::KeySpec::EccNistP256,
        )
    };
    let key_id = new_key().await;
    let dir = std::env::temp_dir().join(unique("evidence-signed"));
    contain_into(&config, dir.to_str().unwrap(), &["--sign-key", &key_id]).await;
    assert!(
        files(&dir)
            .iter()
            .any(|f| f.to_string_lossy().ends_with("-signature.json"))
    );
    let audit_signed = |d: &Path| {
        let out = moto().firebreak(&["audit", "--sign-key", &key_id, d.to_str().unwrap()]);
        (out.status.code(), stdout(&out) + &stderr(&out))
    };
    let (code, text) = audit_signed(&dir);
    assert_eq!(code, Some(0), "{text}");

    // Forged: the manifest changed after signing.
    let forged = std::env::temp_dir().join(unique("evidence-forged"));
    copy_writable(&dir, &forged);
    let manifest = files(&forged)
        .into_iter()
        .find(|f| f.to_string_lossy().ends_with("-manifest.json"))
        .unwrap();
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("\"succeeded\"", "\"failed\"");
    std::fs::write(&manifest, &text).unwrap();
    let (code, out) = audit_signed(&forged);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("changed after it was signed"), "{out}");

    // Re-signed: the forger signs the forged manifest with a key of their own.
    let attacker = new_key().await;
    let sha = firebreak::evidence::sha256_hex(text.as_bytes());
    let digest: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&sha[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let sig = kms
        .sign()
        .key_id(&attacker)
        .message(aws_sdk_kms::primitives::Blob::new(digest))
        .message_type(aws_sdk_kms::types::MessageType::Digest)
        .signing_algorithm(aws_sdk_kms::types::SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    let sig_file = files(&forged)
        .into_iter()
        .find(|f| f.to_string_lossy().ends_with("-signature.json"))
        .unwrap();
    let mut record: Value =
        serde_json::from_str(&std::fs::read_to_string(&sig_file).unwrap()).unwrap();
    record["manifest_sha256"] = sha.clone().into();
    record["key_id"] = sig.key_id().unwrap().into();
    record["signature"] = base64::engine::general_purpose::STANDARD
        .encode(sig.signature().unwrap().as_ref())
        .into();
    std::fs::write(&sig_file, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
    let (code, out) = audit_signed(&forged);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("not the expected") && out.contains("re-signed"),
        "{out}"
    );

    // A broken signature does not verify.
    let broken = std::env::temp_dir().join(unique("evidence-badsig"));
    copy_writable(&dir, &broken);
    let sig_file = files(&broken)
        .into_iter()
        .find(|f| f.to_string_lossy().ends_with("-signature.json"))
        .unwrap();
    let mut record: Value =
        serde_json::from_str(&std::fs::read_to_string(&sig_file).unwrap()).unwrap();
    record["signature"] = base64::engine::general_purpose::STANDARD
        .encode(b"not a signature")
        .into();
    std::fs::write(&sig_file, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
    let (code, out) = audit_signed(&broken);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("does not verify"), "{out}");

    // Requiring a signature fails unsigned evidence.
    let unsigned = std::env::temp_dir().join(unique("evidence-unsigned"));
    contain_into(&config, unsigned.to_str().unwrap(), &[]).await;
    let (code, out) = audit_signed(&unsigned);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("the manifest is not signed"), "{out}");
}

/// Issue 14, item 3 (in part): a finding that was claimed, whose claim has ended, and of which
/// there is no execution, was never contained, and the audit says so; a claim still held
/// (the finding is being contained now) is not a problem.
#[tokio::test]
async fn a_claimed_finding_with_no_execution_fails_the_audit() {
    let config = moto().config().await;
    let dir = std::env::temp_dir().join(unique("evidence-claims"));
    contain_into(&config, dir.to_str().unwrap(), &[]).await;
    let claim = |finding: &str, lease_until_ms: i64| {
        let folder = dir.join(format!("_claims/123456789012/{finding}"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join("claim-0000.json"),
            serde_json::json!({
                "schema": "firebreak.claim/v1", "kind": "claim", "finding_id": finding,
                "account_id": "123456789012", "execution_id": unique("execution"),
                "generation": 0, "worker": "worker-a", "at": "2026-12-01T00:00:00Z",
                "lease_until_ms": lease_until_ms,
            })
            .to_string(),
        )
        .unwrap();
    };
    // Held until far ahead: being contained now.
    claim("held-now", i64::MAX);
    let (code, text) = audit(dir.to_str().unwrap());
    assert_eq!(code, Some(0), "{text}");
    // Its lease over, and nothing was ever recorded for it.
    claim("given-up", 0);
    let (code, text) = audit(dir.to_str().unwrap());
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("finding given-up was claimed by worker-a")
            && text.contains("it was never contained"),
        "{text}"
    );
}

/// `--expected-owner` pins the evidence bucket's account: a bucket of that name owned by
/// another account (S3 refuses requests naming another owner; a proxy in front of the emulator
/// does, as the emulator ignores the header) is not audited as firebreak's. Without it, the
/// report says the owner is not pinned.
#[tokio::test]
async fn the_bucket_owner_is_pinned_by_expected_owner() {
    let config = moto().config().await;
    let s3 = firebreak::aws::s3_client(&config);
    let bucket = locked_bucket(&s3).await;
    let target = format!("s3://{bucket}/pinned");
    contain_into(
        &config,
        &target,
        &["--lock-mode", "governance", "--retention-days", "30"],
    )
    .await;
    let proxy = crate::fault_proxy::FaultProxy::start(
        &moto().endpoint,
        crate::fault_proxy::Faults {
            every: 0,
            deny_actions: Vec::new(),
            deny_body: None,
            long_denial: false,
            bucket_owner: Some("123456789012".into()),
            snapshot_states: Vec::new(),
        },
    );
    let audit_as = |owner: Option<&str>| {
        let mut args = vec!["audit", "--retention-days", "30"];
        if let Some(o) = owner {
            args.extend(["--expected-owner", o]);
        }
        args.push(&target);
        let out = crate::support::firebreak_at(&proxy.endpoint, &args);
        (out.status.code(), stdout(&out) + &stderr(&out))
    };

    let (code, text) = audit_as(Some("123456789012"));
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("owner is not pinned"), "{text}");

    let (code, text) = audit_as(Some("999999999999"));
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("AccessDenied"), "{text}");
    assert!(!text.contains("verdict: PASS"), "{text}");

    let (code, text) = audit_as(None);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("the bucket's owner is not pinned (no --expected-owner)"),
        "{text}"
    );

    // `run` pins it as it writes: with another account named, no evidence is written there,
    // and the run says so and fails; with the bucket's own account, it is written.
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let finding = contained_finding(&user, &key);
    let run_as = |owner: &str, prefix: &str| {
        crate::support::firebreak_at(
            &proxy.endpoint,
            &[
                "run",
                "--evidence",
                &format!("s3://{bucket}/{prefix}"),
                "--lock-mode",
                "governance",
                "--retention-days",
                "30",
                "--expected-owner",
                owner,
                finding.to_str().unwrap(),
            ],
        )
    };
    let out = run_as("999999999999", "elsewhere");
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("AccessDenied"), "{}", stderr(&out));
    let written = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("elsewhere/")
        .send()
        .await
        .unwrap();
    assert!(written.contents().is_empty(), "{written:?}");
    let out = run_as("123456789012", "owned");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = crate::support::firebreak_at(
        &proxy.endpoint,
        &["audit", "--expected-owner", "12345", &target],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a 12-digit AWS account id"));
}
