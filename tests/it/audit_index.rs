//! The execution index (issue 14, item 3): `audit` checks the store as a whole, not only each
//! execution against itself. Each attack here passed the audit before the index: an execution
//! deleted whole, an execution deleted with its index entry, the last executions cut off, an
//! execution copied in from elsewhere (a "succeeded" twin is one), an entry rewritten, and an
//! entry made up (caught with the seal key).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::audit::{contain_into, copy_writable};
use crate::support::{moto, stderr, stdout, unique};

fn audit(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["audit"];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    let out = moto().firebreak(&args);
    (out.status.code(), stdout(&out) + &stderr(&out))
}

fn entry_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join("_index").join(format!("{seq:012}.json"))
}

fn entry(dir: &Path, seq: u64) -> Value {
    serde_json::from_slice(&std::fs::read(entry_path(dir, seq)).unwrap()).unwrap()
}

/// The folder of the execution index entry `seq` names (each names one here: the runs are one
/// after another).
fn execution_of(dir: &Path, seq: u64) -> PathBuf {
    let e = entry(dir, seq);
    assert_eq!(e["executions"].as_array().map(Vec::len), Some(1), "{e}");
    dir.join(e["executions"][0]["folder"].as_str().unwrap())
}

/// A writable copy of `dir`.
fn copy(dir: &Path) -> PathBuf {
    let to = std::env::temp_dir().join(unique("evidence-index-copy"));
    copy_writable(dir, &to);
    to
}

/// `SEQ:SHA256` as the audit prints the index's head.
fn head(text: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("execution index: "))
        .and_then(|l| l.split_once("head "))
        .map(|(_, h)| h.trim().to_string())
        .unwrap_or_else(|| panic!("no index head in\n{text}"))
}

#[tokio::test]
async fn the_index_catches_executions_deleted_copied_in_and_cut_off() {
    let config = moto().config().await;
    let dir = std::env::temp_dir().join(unique("evidence-index"));
    for _ in 0..3 {
        contain_into(&config, dir.to_str().unwrap(), &[]).await;
    }
    let (code, text) = audit(&dir, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("execution index: 3 entries, head 2:"),
        "{text}"
    );
    let earlier = head(&text);
    assert!(text.contains(&format!("--index-head {earlier}")), "{text}");
    for seq in 0..3 {
        assert_eq!(entry(&dir, seq)["seq"], seq, "entries are numbered from 0");
    }

    // An execution deleted whole: its entry names it.
    let c = copy(&dir);
    let gone = entry(&c, 1)["executions"][0]["execution_id"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::remove_dir_all(execution_of(&c, 1)).unwrap();
    let (code, text) = audit(&c, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!("names execution {gone} of finding"))
            && text.contains("which is not in the store: it was deleted"),
        "{text}"
    );

    // Deleted with its entry: the gap says so.
    let c = copy(&dir);
    std::fs::remove_dir_all(execution_of(&c, 1)).unwrap();
    std::fs::remove_file(entry_path(&c, 1)).unwrap();
    let (code, text) = audit(&c, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("index entry 1 is missing before"), "{text}");

    // The last one deleted with its entry: a shorter index, which only the head an earlier
    // audit saw can tell.
    let c = copy(&dir);
    std::fs::remove_dir_all(execution_of(&c, 2)).unwrap();
    std::fs::remove_file(entry_path(&c, 2)).unwrap();
    let (code, text) = audit(&c, &[]);
    assert_eq!(
        code,
        Some(0),
        "without the earlier head, a shorter index: {text}"
    );
    assert!(
        text.contains("cannot be told from a shorter index"),
        "{text}"
    );
    let (code, text) = audit(&c, &["--index-head", &earlier]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            "the index ends at entry 1, and entry 2, which an earlier audit saw, is gone"
        ),
        "{text}"
    );
    let (code, text) = audit(&dir, &["--index-head", &earlier]);
    assert_eq!(
        code,
        Some(0),
        "the untouched store still holds the head: {text}"
    );

    // An execution copied in from another store: whole and passing on its own, named by no
    // entry here.
    let other = std::env::temp_dir().join(unique("evidence-index-other"));
    contain_into(&config, other.to_str().unwrap(), &[]).await;
    let (code, text) = audit(&other, &[]);
    assert_eq!(code, Some(0), "{text}");
    let twin = execution_of(&other, 0);
    let c = copy(&dir);
    copy_writable(&twin, &c.join(twin.strip_prefix(&other).unwrap()));
    let (code, text) = audit(&c, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("no entry of the execution index names it"),
        "{text}"
    );
    assert_eq!(text.matches("\nFAIL  execution").count(), 1, "{text}");

    // An entry rewritten: the next one no longer chains to it, and it is not the entry the
    // earlier audit saw.
    let c = copy(&dir);
    let text = std::fs::read_to_string(entry_path(&c, 2)).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["recorded_at"] = "2020-01-01T00:00:00Z".into();
    std::fs::write(entry_path(&c, 2), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let (code, text) = audit(&c, &["--index-head", &earlier]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("the index was rewritten"), "{text}");
    let text1 = std::fs::read_to_string(entry_path(&c, 1)).unwrap();
    std::fs::write(entry_path(&c, 1), text1.replace("\"seq\": 1", "\"seq\":1")).unwrap();
    let (code, text) = audit(&c, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("000000000002.json: index chain broken"),
        "{text}"
    );
    // The audit's option is checked before anything is read.
    let (code, text) = audit(&dir, &["--index-head", "2:abc"]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("is not a SHA-256"), "{text}");
}

/// With the seal key, an entry made up to name a copied-in execution is caught: the index is
/// sealed as the records are. Without it, such a forgery is consistent, and the audit says that
/// it cannot tell.
#[tokio::test]
async fn a_made_up_index_entry_is_caught_by_its_seal() {
    let config = moto().config().await;
    let key = crate::support::new_kms_key(
        &config,
        aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac,
        aws_sdk_kms::types::KeySpec::Hmac256,
    )
    .await;
    let dir = std::env::temp_dir().join(unique("evidence-index-sealed"));
    contain_into(&config, dir.to_str().unwrap(), &["--seal-key", &key]).await;
    let sealed = entry(&dir, 0);
    assert!(sealed["seal"].is_string(), "{sealed}");
    let (code, text) = audit(&dir, &["--seal-key", &key]);
    assert_eq!(code, Some(0), "{text}");

    // Someone who can write the store copies an execution in and writes it an entry that
    // chains to the last one and names its manifest.
    let other = std::env::temp_dir().join(unique("evidence-index-other"));
    contain_into(&config, other.to_str().unwrap(), &[]).await;
    let twin = execution_of(&other, 0);
    let c = copy(&dir);
    copy_writable(&twin, &c.join(twin.strip_prefix(&other).unwrap()));
    let mut forged = entry(&other, 0);
    forged["seq"] = 1.into();
    forged["prev_sha256"] =
        firebreak::evidence::sha256_hex(&std::fs::read(entry_path(&c, 0)).unwrap()).into();
    std::fs::write(
        entry_path(&c, 1),
        serde_json::to_vec_pretty(&forged).unwrap(),
    )
    .unwrap();
    let (code, text) = audit(&c, &[]);
    assert_eq!(code, Some(0), "consistent without the seals: {text}");
    assert!(text.contains("seals are not checked"), "{text}");
    let (code, text) = audit(&c, &["--seal-key", &key]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("000000000001.json: index entry has no seal")
                && l.contains("forged")),
        "{text}"
    );
}
