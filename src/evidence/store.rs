//! Where evidence goes: an S3 bucket with Object Lock (every object locked, checksummed and
//! written only if absent), or a local folder of read-only files with the same key layout.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ObjectLockMode;
use base64::Engine as _;

/// Object Lock mode for evidence objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LockMode {
    /// Nobody, root included, can delete or shorten before the date (the default).
    Compliance,
    /// Users with s3:BypassGovernanceRetention can.
    Governance,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("evidence object {0} already exists; evidence is never overwritten")]
    Exists(String),
    #[error("writing evidence failed: {0}")]
    Io(String),
    #[error("writing evidence to S3 failed: {0}")]
    S3(String),
}

/// An evidence destination.
#[derive(Clone)]
pub enum Store {
    Local {
        dir: PathBuf,
    },
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        prefix: String,
        mode: LockMode,
        retention: Duration,
    },
}

/// What is right inside a folder of the store (see [`Store::list`]).
#[derive(Debug, Default)]
pub struct Listing {
    pub keys: Vec<String>,
    pub folders: Vec<String>,
}

/// `s3://BUCKET[/PREFIX]` or a folder.
pub enum Target {
    S3 { bucket: String, prefix: String },
    Dir(PathBuf),
}

impl LockMode {
    /// The name S3 calls the mode by (`ObjectLockMode`).
    pub fn as_s3(self) -> &'static str {
        match self {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
        }
    }
}

pub fn parse_target(s: &str) -> Result<Target, String> {
    match s.strip_prefix("s3://") {
        Some(rest) => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("`{s}` names no bucket: use s3://BUCKET[/PREFIX]"));
            }
            let prefix = prefix
                .split('/')
                .filter(|p| !p.is_empty())
                .map(super::sanitize)
                .collect::<Vec<_>>()
                .join("/");
            Ok(Target::S3 {
                bucket: bucket.to_string(),
                prefix,
            })
        }
        None if s.is_empty() => Err("the evidence target is empty".into()),
        None => Ok(Target::Dir(PathBuf::from(s))),
    }
}

impl Store {
    pub fn prefix(&self) -> &str {
        match self {
            Store::Local { .. } => "",
            Store::S3 { prefix, .. } => prefix,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Store::Local { dir } => dir.display().to_string(),
            Store::S3 { bucket, prefix, .. } if prefix.is_empty() => format!("s3://{bucket}"),
            Store::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }

    /// Writes `bytes` at `key` once. `sha256` is the hex digest of `bytes`.
    pub async fn put(&self, key: &str, bytes: Vec<u8>, sha256: &str) -> Result<(), StoreError> {
        match self {
            // Creating, writing and fsyncing a file blocks: off the async workers, so that
            // many executions' records do not stall each other's steps.
            Store::Local { dir } => {
                let (dir, owned) = (dir.clone(), key.to_string());
                tokio::task::spawn_blocking(move || put_local(&dir, &owned, &bytes))
                    .await
                    .map_err(|e| StoreError::Io(format!("writing {key}: {e}")))?
            }
            Store::S3 {
                client,
                bucket,
                mode,
                retention,
                ..
            } => {
                let raw: Vec<u8> = (0..sha256.len() / 2)
                    .filter_map(|i| u8::from_str_radix(&sha256[2 * i..2 * i + 2], 16).ok())
                    .collect();
                let checksum = base64::engine::general_purpose::STANDARD.encode(raw);
                let until = aws_sdk_s3::primitives::DateTime::from(SystemTime::now() + *retention);
                let lock = match mode {
                    LockMode::Compliance => ObjectLockMode::Compliance,
                    LockMode::Governance => ObjectLockMode::Governance,
                };
                let mut last = String::new();
                // The store's retry policy for transient S3 errors; an existing object is never
                // retried.
                let policy = crate::domain::retry::RetryPolicy::store();
                for attempt in 1..=policy.attempts {
                    if attempt > 1 {
                        tokio::time::sleep(policy.delay(attempt - 1, fastrand::f64())).await;
                    }
                    let result = client
                        .put_object()
                        .bucket(bucket)
                        .key(key)
                        .body(ByteStream::from(bytes.clone()))
                        .content_type("application/json")
                        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
                        .checksum_sha256(&checksum)
                        .object_lock_mode(lock.clone())
                        .object_lock_retain_until_date(until)
                        .if_none_match("*")
                        .send()
                        .await;
                    match result {
                        Ok(_) => return Ok(()),
                        Err(e) => {
                            let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
                                .unwrap_or("")
                                .to_string();
                            if code == "PreconditionFailed" || code == "ConditionalRequestConflict"
                            {
                                return Err(StoreError::Exists(format!("s3://{bucket}/{key}")));
                            }
                            let classified = crate::aws::classify(&e, "s3", "PutObject");
                            last = classified.to_string();
                            let retried = classified.kind.retried_by(&policy, attempt);
                            if !retried {
                                break;
                            }
                        }
                    }
                }
                Err(StoreError::S3(format!("s3://{bucket}/{key}: {last}")))
            }
        }
    }
}

impl Store {
    /// Whether the store answers now (one listing of at most one key; the folder exists): what
    /// `serve` asks before it brings findings back from the dead-letter queue.
    pub async fn probe(&self) -> Result<(), StoreError> {
        match self {
            Store::Local { dir } => std::fs::metadata(dir)
                .map(|_| ())
                .map_err(|e| StoreError::Io(format!("{}: {e}", dir.display()))),
            Store::S3 {
                client,
                bucket,
                prefix,
                ..
            } => client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix.as_str())
                .max_keys(1)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    StoreError::S3(crate::aws::classify(&e, "s3", "ListObjectsV2").to_string())
                }),
        }
    }

    /// What is right inside `folder` (a key prefix without its trailing `/`): the keys of its
    /// objects and the names of its sub-folders (full prefixes, without the trailing `/`),
    /// each sorted. Nothing is read.
    pub async fn list(&self, folder: &str) -> Result<Listing, StoreError> {
        self.listing(folder, true).await
    }

    /// The keys in `folder`: right inside it (`shallow`, sub-folders named apart), or every key
    /// under it on S3 (a local folder is read one level deep either way).
    async fn listing(&self, folder: &str, shallow: bool) -> Result<Listing, StoreError> {
        let mut out = Listing::default();
        match self {
            Store::Local { dir } => {
                let path = dir.join(folder);
                let entries = match std::fs::read_dir(&path) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                    Err(e) => return Err(StoreError::Io(format!("{}: {e}", path.display()))),
                };
                for e in entries {
                    let e = e.map_err(|e| StoreError::Io(e.to_string()))?;
                    let name = format!("{folder}/{}", e.file_name().to_string_lossy());
                    if e.path().is_dir() {
                        out.folders.push(name);
                    } else {
                        out.keys.push(name);
                    }
                }
            }
            Store::S3 { client, bucket, .. } => {
                let mut token = None;
                loop {
                    let page = client
                        .list_objects_v2()
                        .bucket(bucket)
                        .prefix(format!("{folder}/"))
                        .set_delimiter(shallow.then(|| "/".to_string()))
                        .set_continuation_token(token)
                        .send()
                        .await
                        .map_err(|e| {
                            StoreError::S3(
                                crate::aws::classify(&e, "s3", "ListObjectsV2").to_string(),
                            )
                        })?;
                    out.keys.extend(
                        page.contents()
                            .iter()
                            .filter_map(|o| o.key().map(str::to_string)),
                    );
                    out.folders.extend(
                        page.common_prefixes().iter().filter_map(|p| {
                            p.prefix().map(|p| p.trim_end_matches('/').to_string())
                        }),
                    );
                    match page.next_continuation_token() {
                        Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                        _ => break,
                    }
                }
            }
        }
        out.keys.sort();
        out.folders.sort();
        Ok(out)
    }

    /// Whether an object is at `key` (a listing of that one key: no `s3:GetObject` is needed,
    /// and a missing key is not confused with a refused one).
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self {
            Store::Local { dir } => Ok(dir.join(key).is_file()),
            Store::S3 { client, bucket, .. } => {
                let page = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(key)
                    .max_keys(1)
                    .send()
                    .await
                    .map_err(|e| {
                        StoreError::S3(crate::aws::classify(&e, "s3", "ListObjectsV2").to_string())
                    })?;
                Ok(page.contents().first().and_then(|o| o.key()) == Some(key))
            }
        }
    }

    /// One object's bytes.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        match self {
            Store::Local { dir } => {
                let path = dir.join(key);
                std::fs::read(&path).map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))
            }
            Store::S3 { client, bucket, .. } => crate::aws::get_object_bytes(client, bucket, key)
                .await
                .map_err(|e| StoreError::S3(format!("{key}: {e}"))),
        }
    }

    /// Every object under `folder` (a key prefix without its trailing `/`), sorted by key: on
    /// S3 its sub-folders' too (an execution's records under its finding's folder).
    pub async fn read_folder(&self, folder: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for key in self.listing(folder, false).await?.keys {
            let bytes = self.get(&key).await?;
            out.push((key, bytes));
        }
        Ok(out)
    }
}

fn put_local(dir: &Path, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let path = dir.join(key);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::Io(format!("{}: {e}", parent.display())))?;
    }
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(StoreError::Exists(path.display().to_string()));
        }
        Err(e) => return Err(StoreError::Io(format!("{}: {e}", path.display()))),
    };
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
    let mut perms = f
        .metadata()
        .map_err(|e| StoreError::Io(e.to_string()))?
        .permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms)
        .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
    Ok(())
}
