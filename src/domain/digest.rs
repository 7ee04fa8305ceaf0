//! The digest evidence is chained with, shared by the engines (which hash what they keep) and
//! the evidence layer (which chains records).

use sha2::{Digest, Sha256};

/// The SHA-256 of nothing: the `prev_sha256` of an execution's first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(out, "{b:02x}");
    }
    out
}
