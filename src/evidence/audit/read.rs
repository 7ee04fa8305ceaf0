//! Reading an evidence store for the audit: a local folder, or an S3 bucket (every version
//! with its retention and legal hold), and checking manifest signatures with KMS.

use super::*;

/// Reads every file under `dir` as objects with keys relative to it.
pub fn read_local(dir: &Path) -> std::io::Result<Vec<Object>> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<Object>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else {
                let key = p
                    .strip_prefix(root)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(Object {
                    key,
                    bytes: std::fs::read(&p)?,
                    lock_mode: None,
                    retain_until: None,
                    last_modified: None,
                    versions: 1,
                    s3: false,
                });
            }
        }
        Ok(())
    }
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// Why an S3 evidence location could not be listed (an object that cannot be read is a
/// problem of the audit, not an error).
#[derive(Debug, thiserror::Error)]
#[error("listing s3://{bucket}/{prefix}: {source}")]
pub struct ListError {
    pub bucket: String,
    pub prefix: String,
    pub source: crate::domain::step::StepError,
}

/// Reads an S3 evidence location: bucket settings, every object with its lock, its versions.
/// Objects are read [`READ_CONCURRENCY`] at a time; `progress` counts them.
pub async fn read_s3(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    min_days: u32,
    progress: &ProgressBar,
) -> Result<(Vec<Object>, Vec<String>), ListError> {
    let mut problems = Vec::new();
    match client
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(c) => {
            let cfg = c.object_lock_configuration();
            if cfg
                .and_then(|c| c.object_lock_enabled())
                .map(|e| e.as_str())
                != Some("Enabled")
            {
                problems.push(format!("bucket {bucket}: Object Lock is not enabled"));
            }
            let days = cfg
                .and_then(|c| c.rule())
                .and_then(|r| r.default_retention())
                .and_then(|d| d.days().or(d.years().map(|y| y * 365)));
            match days {
                None => problems.push(format!("bucket {bucket}: no default retention (objects written without their own retention would be unlocked)")),
                Some(d) if d < min_days as i32 => problems.push(format!("bucket {bucket}: default retention {d} days is below the required {min_days}")),
                _ => {}
            }
        }
        Err(e) => problems.push(format!(
            "bucket {bucket}: Object Lock configuration unreadable: {}",
            crate::aws::classify(&e, "s3", "GetObjectLockConfiguration")
        )),
    }
    match client.get_bucket_versioning().bucket(bucket).send().await {
        Ok(v) if v.status().map(|s| s.as_str()) == Some("Enabled") => {}
        Ok(_) => problems.push(format!("bucket {bucket}: versioning is not enabled")),
        // moto's answer (see actions/s3.rs); Object Lock buckets are always versioned there.
        Err(aws_sdk_s3::error::SdkError::ServiceError(se))
            if String::from_utf8_lossy(se.raw().body().bytes().unwrap_or_default())
                .contains("<Status>Enabled</Status>") => {}
        Err(e) => problems.push(format!("bucket {bucket}: versioning unreadable: {e}")),
    }
    // Every version and delete marker under the prefix.
    let mut versions: BTreeMap<String, usize> = BTreeMap::new();
    let mut deleted: BTreeSet<String> = BTreeSet::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    progress.set_message("listing");
    loop {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| ListError {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
                source: crate::aws::classify(&e, "s3", "ListObjectVersions"),
            })?;
        for v in page.versions() {
            *versions
                .entry(v.key().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        for d in page.delete_markers() {
            deleted.insert(d.key().unwrap_or_default().to_string());
        }
        progress.set_position(versions.len() as u64);
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
    for k in &deleted {
        problems.push(format!(
            "{k}: deleted (a delete marker hides it); evidence was removed"
        ));
    }
    super::as_bar(progress, versions.len() as u64);
    progress.set_message("reading");
    let reads = versions
        .into_iter()
        .filter(|(key, _)| !deleted.contains(key))
        .map(|(key, n)| async move {
            let read = read_object(client, bucket, &key, n).await;
            progress.inc(1);
            read
        });
    let mut objects = Vec::new();
    let mut results = futures_util::stream::iter(reads).buffer_unordered(READ_CONCURRENCY);
    while let Some(read) = results.next().await {
        match read {
            Ok(o) => objects.push(o),
            // An unreadable object fails the audit; the rest is still checked.
            Err(e) => problems.push(e),
        }
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((objects, problems))
}

/// How many objects the S3 audit reads at once.
pub const READ_CONCURRENCY: usize = 32;

/// One object's lock (HeadObject) and body (GetObject).
pub(super) async fn read_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    versions: usize,
) -> Result<Object, String> {
    let unreadable =
        |op: &str, e: String| format!("{key}: unreadable ({op}: {e}); it cannot be checked");
    let head = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            unreadable(
                "HeadObject",
                crate::aws::classify(&e, "s3", "HeadObject").to_string(),
            )
        })?;
    let body = crate::aws::get_object_bytes(client, bucket, key)
        .await
        .map_err(|e| unreadable("GetObject", e.to_string()))?;
    Ok(Object {
        key: key.to_string(),
        bytes: body,
        lock_mode: head.object_lock_mode().map(|m| m.as_str().to_string()),
        retain_until: head.object_lock_retain_until_date().map(|d| d.secs()),
        last_modified: head.last_modified().map(|d| d.secs()),
        versions,
        s3: true,
    })
}

/// Asks KMS to verify every signature record among `objects`.
pub async fn verify_signatures(
    kms: &aws_sdk_kms::Client,
    objects: &[Object],
) -> BTreeMap<String, SignatureCheck> {
    use base64::Engine as _;
    let mut out = BTreeMap::new();
    for o in objects
        .iter()
        .filter(|o| o.key.ends_with("-signature.json"))
    {
        let v: Value = serde_json::from_slice(&o.bytes).unwrap_or(Value::Null);
        let key_id = v["key_id"].as_str().unwrap_or_default().to_string();
        let sha = v["manifest_sha256"].as_str().unwrap_or_default();
        let digest: Vec<u8> = (0..sha.len() / 2)
            .filter_map(|i| u8::from_str_radix(sha.get(2 * i..2 * i + 2)?, 16).ok())
            .collect();
        let Ok(signature) = base64::engine::general_purpose::STANDARD
            .decode(v["signature"].as_str().unwrap_or_default())
        else {
            out.insert(
                o.key.clone(),
                SignatureCheck {
                    valid: false,
                    key_id,
                    detail: "the signature is not base64".into(),
                },
            );
            continue;
        };
        let result = kms
            .verify()
            .key_id(&key_id)
            .message(aws_sdk_kms::primitives::Blob::new(digest))
            .message_type(aws_sdk_kms::types::MessageType::Digest)
            .signature(aws_sdk_kms::primitives::Blob::new(signature))
            .signing_algorithm(aws_sdk_kms::types::SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await;
        let check = match result {
            Ok(r) if r.signature_valid() => SignatureCheck {
                valid: true,
                key_id,
                detail: String::new(),
            },
            Ok(_) => SignatureCheck {
                valid: false,
                key_id,
                detail: "KMS says the signature is not valid".into(),
            },
            Err(e) => {
                let c = crate::aws::classify(&e, "kms", "Verify");
                SignatureCheck {
                    valid: false,
                    key_id,
                    detail: c.to_string(),
                }
            }
        };
        out.insert(o.key.clone(), check);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_everything_that_came_from_the_store() {
        let hostile = r#"<script>alert("x")</script> & 'q'"#;
        let report = AuditReport {
            target: hostile.into(),
            store_problems: vec![hostile.into()],
            claims: 0,
            index: Some(IndexSummary {
                entries: 1,
                head: Some((0, hostile.into())),
            }),
            notes: vec![hostile.into()],
            executions: vec![ExecutionAudit {
                path: hostile.into(),
                execution_id: hostile.into(),
                finding_id: Some(hostile.into()),
                playbook: None,
                status: None,
                account_id: None,
                region: None,
                time_to_contain_ms: None,
                complete: false,
                records: 1,
                problems: vec![hostile.into()],
                timeline: vec![TimelineEntry {
                    at: hostile.into(),
                    kind: "step".into(),
                    outcome: hostile.into(),
                    what: hostile.into(),
                }],
            }],
            passed: false,
        };
        let html = render_html(&report);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains(r#""x""#), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;")
        );
        assert!(html.contains("incomplete"));
    }
}
