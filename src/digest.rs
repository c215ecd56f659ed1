//! SHA-256 in hex: how a return, a draft, a schema file and a file name made from a name are known by
//! their content. One helper for every place that needs it.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes`, in lower-case hex (64 digits).
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha256_prefix(bytes, 32)
}

/// The first `bytes_kept` bytes of the SHA-256 of `bytes`, in lower-case hex (twice as many digits): a
/// short, stable mark.
pub fn sha256_prefix(bytes: &[u8], bytes_kept: usize) -> String {
    let mut hex = String::with_capacity(bytes_kept * 2);
    for byte in Sha256::digest(bytes).iter().take(bytes_kept) {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_reads_as_its_known_hex() {
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(b"abc"), abc);
        assert_eq!(sha256_prefix(b"abc", 4), abc[..8]);
    }
}
