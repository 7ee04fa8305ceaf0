//! Seals: proof that a claim, a `done` marker or an evidence record was written by firebreak,
//! so that someone who can only write to the evidence bucket cannot steer `serve` (a forged
//! `done` that stops containment, a forged expired claim with "succeeded" step records that a
//! worker would resume, a claim with a far-future lease that bounces every delivery).
//!
//! The secret is a KMS HMAC key (`HMAC_256`, `GENERATE_VERIFY_MAC`) that never leaves KMS.
//! From it, one `GenerateMac` call derives a key per scope (one finding's claims, one
//! execution's records): `HMAC(kms_key, "firebreak.seal/v1\n" + scope)`. Every object in that
//! scope is then sealed locally with HMAC-SHA256 under the derived key, so sealing costs one
//! KMS call per execution, not one per record. Whoever may call `kms:GenerateMac` on the key
//! (firebreak's roles) can seal and verify; a writer of the bucket alone can do neither.
//!
//! A sealed JSON object carries its seal as its last member, `"seal": "<hex>"`, computed over
//! the object's pretty-printed bytes without it. Derived keys are never printed or written.

use std::collections::HashMap;
use std::sync::Arc;

use hmac::{KeyInit, Mac};
use serde_json::Value;
use tokio::sync::Mutex;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The KMS alias `firebreak setup` gives the key it makes, and where `serve` and `watch` look
/// for it when no key is named.
pub const DEFAULT_ALIAS: &str = "alias/firebreak-seal";

/// A derived key for one scope. Its bytes are not printable.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

/// Why a seal key could not be derived.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    #[error("sealing with KMS key {key_id}: {source}")]
    Kms {
        key_id: String,
        source: crate::domain::step::StepError,
    },
    #[error("KMS key {key_id} gave a {len}-byte MAC; an HMAC_256 key is needed")]
    NotHmac256 { key_id: String, len: usize },
}

/// Why an object's seal does not hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SealError {
    #[error("not a JSON object")]
    NotJson,
    #[error("has no seal")]
    Missing,
    #[error("its seal does not match its content: not written by firebreak, or changed since")]
    Mismatch,
}

impl Key {
    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length.
        <HmacSha256 as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts 32-byte keys")
    }

    /// The seal of `bytes` (hex).
    pub fn seal(&self, bytes: &[u8]) -> String {
        let mut m = self.mac();
        m.update(bytes);
        hex(&m.finalize().into_bytes())
    }

    /// True when `seal` is the seal of `bytes` (compared in constant time).
    pub fn verify(&self, bytes: &[u8], seal: &str) -> bool {
        let Some(raw) = unhex(seal) else {
            return false;
        };
        let mut m = self.mac();
        m.update(bytes);
        m.verify_slice(&raw).is_ok()
    }

    /// `value` (an object) pretty-printed with its seal as the last member, and a newline.
    pub fn seal_json(&self, mut value: Value) -> Result<Vec<u8>, SealError> {
        let obj = value.as_object_mut().ok_or(SealError::NotJson)?;
        obj.shift_remove("seal");
        let unsealed = serde_json::to_vec_pretty(&value).map_err(|_| SealError::NotJson)?;
        let seal = self.seal(&unsealed);
        if let Some(obj) = value.as_object_mut() {
            obj.insert("seal".into(), Value::String(seal));
        }
        let mut bytes = serde_json::to_vec_pretty(&value).map_err(|_| SealError::NotJson)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The object in `bytes` if its seal holds.
    pub fn open_json(&self, bytes: &[u8]) -> Result<Value, SealError> {
        let mut value: Value = serde_json::from_slice(bytes).map_err(|_| SealError::NotJson)?;
        let obj = value.as_object_mut().ok_or(SealError::NotJson)?;
        let Some(Value::String(seal)) = obj.shift_remove("seal") else {
            return Err(SealError::Missing);
        };
        let unsealed = serde_json::to_vec_pretty(&value).map_err(|_| SealError::NotJson)?;
        if self.verify(&unsealed, &seal) {
            Ok(value)
        } else {
            Err(SealError::Mismatch)
        }
    }

    /// A key from fixed bytes, for tests of the format.
    #[cfg(test)]
    pub fn for_test(b: u8) -> Key {
        Key([b; 32])
    }
}

/// The bytes firebreak writes for a JSON object: pretty-printed with a newline, sealed with
/// `key` (its seal the last member) when there is one. Records, index entries and incident
/// records are all written so.
pub fn json_bytes(value: Value, key: Option<&Key>) -> Result<Vec<u8>, SealError> {
    if let Some(k) = key {
        return k.seal_json(value);
    }
    let mut bytes = serde_json::to_vec_pretty(&value).map_err(|_| SealError::NotJson)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Derives and caches scope keys from one KMS HMAC key.
#[derive(Clone)]
pub struct Sealer {
    kms: aws_sdk_kms::Client,
    key_id: String,
    cache: Arc<Mutex<HashMap<String, Key>>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer({})", self.key_id)
    }
}

impl Sealer {
    pub fn new(kms: aws_sdk_kms::Client, key_id: &str) -> Sealer {
        Sealer {
            kms,
            key_id: key_id.to_string(),
            cache: Arc::default(),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The key for `scope` (one KMS call the first time).
    pub async fn key(&self, scope: &str) -> Result<Key, KeyError> {
        if let Some(k) = self.cache.lock().await.get(scope) {
            return Ok(k.clone());
        }
        let out = self
            .kms
            .generate_mac()
            .key_id(&self.key_id)
            .mac_algorithm(aws_sdk_kms::types::MacAlgorithmSpec::HmacSha256)
            .message(aws_sdk_kms::primitives::Blob::new(format!(
                "firebreak.seal/v1\n{scope}"
            )))
            .send()
            .await
            .map_err(|e| KeyError::Kms {
                key_id: self.key_id.clone(),
                source: crate::aws::classify(&e, "kms", "GenerateMac"),
            })?;
        let mac = out.mac().map(|b| b.as_ref().to_vec()).unwrap_or_default();
        let mut k = [0u8; 32];
        if mac.len() < 32 {
            return Err(KeyError::NotHmac256 {
                key_id: self.key_id.clone(),
                len: mac.len(),
            });
        }
        k.copy_from_slice(&mac[..32]);
        let key = Key(k);
        self.cache
            .lock()
            .await
            .insert(scope.to_string(), key.clone());
        Ok(key)
    }

    /// Checks that the key exists and may be used for MACs (firebreak's start-up check).
    pub async fn check(&self) -> Result<(), KeyError> {
        self.key("check").await.map(|_| ())
    }
}

/// Scope of one finding's claims and `done` markers.
pub fn claims_scope(account_id: &str, finding_id: &str) -> String {
    format!("claims\n{account_id}\n{finding_id}")
}

/// Scope of every incident record (`_incidents/`) of an evidence store.
pub const INCIDENTS_SCOPE: &str = "incidents";

/// Scope of one execution's evidence records.
pub fn execution_scope(account_id: &str, finding_id: &str, execution_id: &str) -> String {
    format!("execution\n{account_id}\n{finding_id}\n{execution_id}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sealed_object_opens_and_any_change_breaks_it() {
        let k = Key::for_test(7);
        let v = json!({"kind": "done", "finding_id": "f-1", "n": 1.5, "list": [1, "x\u{202e}"]});
        let bytes = k.seal_json(v.clone()).unwrap();
        assert_eq!(k.open_json(&bytes).unwrap(), v);
        // Another key, a changed byte, a missing seal: refused.
        assert_eq!(Key::for_test(8).open_json(&bytes), Err(SealError::Mismatch));
        let changed = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("f-1", "f-2");
        assert_eq!(k.open_json(changed.as_bytes()), Err(SealError::Mismatch));
        let unsealed = serde_json::to_vec_pretty(&v).unwrap();
        assert_eq!(k.open_json(&unsealed), Err(SealError::Missing));
        assert_eq!(k.open_json(b"[1]"), Err(SealError::NotJson));
        // A forged seal of the wrong length or not hex.
        let forged = json!({"kind": "done", "seal": "zz"});
        assert_eq!(
            k.open_json(&serde_json::to_vec(&forged).unwrap()),
            Err(SealError::Mismatch)
        );
    }

    #[test]
    fn the_key_is_never_printed() {
        assert_eq!(format!("{:?}", Key::for_test(1)), "Key(…)");
    }
}
