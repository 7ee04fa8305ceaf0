//! Evidence written by `firebreak run` (issue 4): a chain of records, closed by a manifest, in a
//! local folder (read-only files) and in an S3 bucket with Object Lock on moto.

use std::path::Path;

use aws_sdk_s3::types::ObjectLockMode;
use serde_json::Value;

use crate::support::{finding_file, moto, stderr, unique};

fn sha256_hex(bytes: &[u8]) -> String {
    firebreak::evidence::sha256_hex(bytes)
}

/// Regression guard for issue 4: the committed schemas are the ones the record types generate.
/// `FIREBREAK_WRITE_SCHEMAS=1 cargo test --test it schemas` rewrites them.
#[test]
fn schemas_are_fresh() {
    let dir = crate::support::root().join("evidence-schemas");
    for (name, text) in firebreak::evidence::schemas() {
        let path = dir.join(name);
        if std::env::var_os("FIREBREAK_WRITE_SCHEMAS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "evidence-schemas/{name} is stale: run `FIREBREAK_WRITE_SCHEMAS=1 cargo test --test it schemas` and commit it"
        );
    }
}

/// Validates a record against its committed schema with an independent validator.
fn validate_against_schema(key: &str, record: &Value) {
    let kind = record["schema"]
        .as_str()
        .unwrap()
        .trim_start_matches("firebreak.evidence.")
        .trim_end_matches("/v1")
        .to_string();
    let path = crate::support::root().join(format!("evidence-schemas/{kind}.schema.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator =
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let errors: Vec<String> = validator
        .iter_errors(record)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{key} does not match {}: {errors:#?}",
        path.display()
    );
}

/// Checks that the execution index holds one entry, the first, naming the execution of
/// `records` (in key order) and its manifest.
fn check_index(index: &[(String, Vec<u8>)], records: &[(String, Vec<u8>)]) {
    assert_eq!(index.len(), 1, "one index entry");
    let (key, bytes) = &index[0];
    assert!(key.ends_with("_index/000000000000.json"), "{key}");
    let v: Value = serde_json::from_slice(bytes).unwrap();
    validate_against_schema(key, &v);
    assert_eq!(v["seq"], 0);
    assert_eq!(v["prev_sha256"], firebreak::evidence::GENESIS);
    let (manifest_key, manifest) = records.last().unwrap();
    assert_eq!(v["executions"].as_array().map(Vec::len), Some(1), "{v}");
    let x = &v["executions"][0];
    assert_eq!(x["manifest_key"], manifest_key.as_str());
    assert_eq!(x["manifest_sha256"], sha256_hex(manifest).as_str());
    assert!(manifest_key.starts_with(&format!("{}/", x["folder"].as_str().unwrap())));
}

/// Checks the chain and the manifest over records given in key order.
fn check_chain(records: &[(String, Vec<u8>)]) {
    assert!(
        records.len() >= 4,
        "finding, plan, steps and manifest: {}",
        records.len()
    );
    let mut prev = firebreak::evidence::GENESIS.to_string();
    for (i, (key, bytes)) in records.iter().enumerate() {
        let v: Value = serde_json::from_slice(bytes).unwrap();
        validate_against_schema(key, &v);
        assert_eq!(v["seq"], i as u64, "{key}");
        assert_eq!(
            v["prev_sha256"],
            prev.as_str(),
            "{key} links to the record before"
        );
        prev = sha256_hex(bytes);
    }
    let (_, manifest) = records.last().unwrap();
    let m: Value = serde_json::from_slice(manifest).unwrap();
    assert_eq!(m["schema"], "firebreak.evidence.manifest/v1");
    let listed = m["records"].as_array().unwrap();
    assert_eq!(listed.len(), records.len() - 1);
    for (entry, (key, bytes)) in listed.iter().zip(records) {
        assert_eq!(entry["key"], key.as_str());
        assert_eq!(entry["sha256"], sha256_hex(bytes).as_str());
    }
    assert_eq!(
        m["chain_head"],
        sha256_hex(&records[records.len() - 2].1).as_str()
    );
}

fn leaked_key_finding(user: &str, key: &str) -> std::path::PathBuf {
    finding_file("iam-user-tor.json", |f| {
        f["id"] = Value::String(format!("../{}", unique("escape")));
        f["resource"]["accessKeyDetails"]["userName"] = user.into();
        f["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
        // A secret planted in the finding must not reach the evidence.
        f["service"]["additionalInfo"] = serde_json::json!({"leakedConfig": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/PLANTED", "SecretAccessKey": "PLANTEDSECRET"});
    })
}

fn collect(dir: &Path, out: &mut Vec<(String, Vec<u8>)>, root: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(&p, out, root);
        } else {
            out.push((
                p.strip_prefix(root).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
}

#[tokio::test]
async fn local_evidence_is_a_closed_read_only_chain() {
    let config = moto().config().await;
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let finding = leaked_key_finding(&user, &key);
    let dir = std::env::temp_dir().join(unique("evidence"));
    let out = moto().firebreak(&[
        "run",
        "--output",
        "json",
        "--evidence",
        dir.to_str().unwrap(),
        finding.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["evidence_manifest"]
            .as_str()
            .unwrap()
            .ends_with("-manifest.json")
    );
    let mut records = Vec::new();
    collect(&dir, &mut records, &dir);
    records.sort();
    let (index, records): (Vec<_>, Vec<_>) = records
        .into_iter()
        .partition(|(k, _)| k.starts_with("_index/"));
    check_index(&index, &records);
    assert!(
        std::fs::metadata(dir.join(&index[0].0))
            .unwrap()
            .permissions()
            .readonly()
    );
    // Layout: {account}/{finding}/{execution}/{seq}-{kind}[-{step}].json, the finding id sanitized.
    for (key, _) in &records {
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 4, "{key}");
        assert_eq!(parts[0], "123456789012");
        assert!(parts[1].starts_with(".._escape"), "{key}");
        let meta = std::fs::metadata(dir.join(key)).unwrap();
        assert!(meta.permissions().readonly(), "{key} is read-only");
    }
    assert!(records[0].0.ends_with("0000-finding.json"));
    assert!(records[1].0.ends_with("0001-plan.json"));
    assert!(
        records
            .iter()
            .any(|(k, _)| k.ends_with("-step-deactivate_key.json"))
    );
    check_chain(&records);
    let all: String = records
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).to_string())
        .collect();
    assert!(
        !all.contains("PLANTED"),
        "a planted secret reached the evidence"
    );
    assert!(!stderr(&out).contains("PLANTED"));
}

#[tokio::test]
async fn s3_evidence_is_object_locked_and_checksummed() {
    let config = moto().config().await;
    let s3 = firebreak::aws::s3_client(&config);
    let bucket = unique("evidence");
    s3.create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let finding = leaked_key_finding(&user, &key);
    let target = format!("s3://{bucket}/incidents");
    let out = moto().firebreak(&[
        "run",
        "--evidence",
        &target,
        "--retention-days",
        "30",
        finding.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("incidents/")
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    keys.sort();
    let mut records = Vec::new();
    let mut index = Vec::new();
    for k in &keys {
        let head = s3
            .head_object()
            .bucket(&bucket)
            .key(k)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.object_lock_mode(),
            Some(&ObjectLockMode::Compliance),
            "{k}"
        );
        let until = head.object_lock_retain_until_date().unwrap().secs();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!(
            (until - now - 30 * 86_400).abs() < 3600,
            "{k} retained about 30 days"
        );
        let body = s3
            .get_object()
            .bucket(&bucket)
            .key(k)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
            .to_vec();
        if k.starts_with("incidents/_index/") {
            index.push((k.clone(), body));
        } else {
            records.push((k.clone(), body));
        }
    }
    check_chain(&records);
    check_index(&index, &records);
    // Nothing is ever overwritten: the same key again is refused.
    let again = s3
        .put_object()
        .bucket(&bucket)
        .key(&keys[0])
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
        .if_none_match("*")
        .send()
        .await;
    assert!(again.is_err(), "If-None-Match protects existing evidence");
}

#[tokio::test]
async fn unwritable_evidence_stops_the_run_before_acting() {
    let config = moto().config().await;
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let finding = leaked_key_finding(&user, &key);
    let out = moto().firebreak(&[
        "run",
        "--evidence",
        "s3://no-such-evidence-bucket",
        finding.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("does not act without its evidence"),
        "{}",
        stderr(&out)
    );
    let iam = aws_sdk_iam::Client::new(&config);
    let keys = iam
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys.access_key_metadata()[0].status().map(|s| s.as_str()),
        Some("Active"),
        "nothing was done"
    );
}

/// Every shipped playbook, run against moto with evidence in an Object-Locked bucket and in a
/// folder, leaves records that match the schemas and that `audit` passes (issue 4).
#[tokio::test]
async fn every_playbook_leaves_evidence_that_audit_passes() {
    let config = moto().config().await;
    let bucket = unique("evidence-all");
    let setup = moto().firebreak(&[
        "setup",
        "--evidence-bucket",
        &bucket,
        "--retention-days",
        "30",
    ]);
    assert_eq!(setup.status.code(), Some(0), "{}", stderr(&setup));
    let iam = aws_sdk_iam::Client::new(&config);
    let role = unique("evidence-role");
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();
    let (user, key) = crate::run_s3::user_with_key(&config).await;
    let t = crate::run_ec2::target(&config).await;
    let (public_bucket, _) = crate::run_s3::public_bucket(&config).await;
    let (s3_public, s3_access) = crate::run_s3::s3_findings(&public_bucket, &user, &key);
    let findings = vec![
        finding_file("iam-assumed-role-anomalous.json", |f| {
            f["id"] = Value::String(unique("finding"));
            f["resource"]["accessKeyDetails"]["userName"] = role.clone().into();
        }),
        finding_file("ec2-bitcoin-dns.json", |f| {
            f["id"] = Value::String(unique("finding"));
            f["resource"]["instanceDetails"]["instanceId"] = t.instance_id.clone().into();
        }),
        s3_public,
        s3_access,
        // (A recovery point is the emulator's stand-in; a snapshot is moto's own.)
        crate::run_artifact::snapshot_finding(&crate::run_artifact::shared_snapshot(&config).await),
    ];
    let dir = std::env::temp_dir().join(unique("evidence-all"));
    let s3_target = format!("s3://{bucket}/all");
    for f in &findings {
        for target in [dir.to_str().unwrap(), s3_target.as_str()] {
            let out = moto().firebreak(&[
                "run",
                "--evidence",
                target,
                "--retention-days",
                "30",
                f.to_str().unwrap(),
            ]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                f.display(),
                stderr(&out)
            );
        }
    }
    for target in [dir.to_str().unwrap(), s3_target.as_str()] {
        let out = moto().firebreak(&[
            "audit",
            "--retention-days",
            "30",
            "--output",
            "json",
            target,
        ]);
        let report: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        assert_eq!(out.status.code(), Some(0), "{target}: {report:#}");
        assert_eq!(
            report["executions"].as_array().unwrap().len(),
            5,
            "{target}"
        );
    }
    let mut records = Vec::new();
    collect(&dir, &mut records, &dir);
    assert!(records.len() > 5 * 4);
    for (key, bytes) in &records {
        validate_against_schema(key, &serde_json::from_slice(bytes).unwrap());
    }
}
