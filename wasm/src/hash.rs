//! Part checksums computed in wasm: CRC32C and SHA-256, fed in bounded chunks, encoded as the
//! server expects them (base64 of the big-endian CRC, base64 of the digest).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use stowage_protocol::multipart::ChecksumAlgorithm;

/// A running checksum of one part.
#[derive(Debug, Clone)]
pub enum PartHasher {
    /// CRC32C so far.
    Crc32c(u32),
    /// SHA-256 state.
    Sha256(Box<Sha256>),
    /// No checksum.
    None,
}

/// A finished checksum of one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartChecksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// Base64 of the digest (big-endian for CRC32C); empty for `none`.
    pub value: String,
    /// The raw CRC32C, when that is the algorithm (combined into the file's CRC later).
    pub crc32c: Option<u32>,
}

impl PartChecksum {
    /// The request header that carries it (`None` for `none`).
    #[must_use]
    pub fn header(&self) -> Option<(&'static str, String)> {
        use stowage_protocol::multipart::{CRC32C_HEADER, SHA256_HEADER};
        match self.algorithm {
            ChecksumAlgorithm::Crc32c => Some((CRC32C_HEADER, self.value.clone())),
            ChecksumAlgorithm::Sha256 => Some((SHA256_HEADER, self.value.clone())),
            ChecksumAlgorithm::None => None,
        }
    }
}

impl PartHasher {
    /// A fresh hasher for `algorithm`.
    #[must_use]
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm {
            ChecksumAlgorithm::Crc32c => Self::Crc32c(0),
            ChecksumAlgorithm::Sha256 => Self::Sha256(Box::default()),
            ChecksumAlgorithm::None => Self::None,
        }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Crc32c(crc) => *crc = crate::crc::append(*crc, bytes),
            Self::Sha256(sha) => sha.update(bytes),
            Self::None => {}
        }
    }

    /// The finished checksum.
    #[must_use]
    pub fn finish(self) -> PartChecksum {
        match self {
            Self::Crc32c(crc) => PartChecksum {
                algorithm: ChecksumAlgorithm::Crc32c,
                value: BASE64.encode(crc.to_be_bytes()),
                crc32c: Some(crc),
            },
            Self::Sha256(sha) => sha256_checksum(&sha.finalize().into()),
            Self::None => PartChecksum {
                algorithm: ChecksumAlgorithm::None,
                value: String::new(),
                crc32c: None,
            },
        }
    }
}

/// A SHA-256 checksum from a digest computed elsewhere (`crypto.subtle`).
#[must_use]
pub fn sha256_checksum(digest: &[u8; 32]) -> PartChecksum {
    PartChecksum {
        algorithm: ChecksumAlgorithm::Sha256,
        value: BASE64.encode(digest),
        crc32c: None,
    }
}

/// The CRC32C of a whole file from its parts' CRCs and sizes, in order.
#[must_use]
pub fn combine_crc32c(parts: &[(u32, u64)]) -> u32 {
    parts.iter().fold(0, |crc, &(part, len)| {
        crc32c::crc32c_combine(crc, part, usize::try_from(len).unwrap_or(usize::MAX))
    })
}

/// The base64 form of a CRC32C, as the server answers it.
#[must_use]
pub fn crc32c_base64(crc: u32) -> String {
    BASE64.encode(crc.to_be_bytes())
}

/// Lowercase hex of bytes (fingerprints).
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a byte string, in hex.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_hashing_equals_one_shot_and_crcs_combine() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut crc = PartHasher::new(ChecksumAlgorithm::Crc32c);
        let mut sha = PartHasher::new(ChecksumAlgorithm::Sha256);
        for chunk in data.chunks(4096) {
            crc.update(chunk);
            sha.update(chunk);
        }
        let crc = crc.finish();
        assert_eq!(crc.crc32c, Some(crc32c::crc32c(&data)));
        assert_eq!(crc.header().unwrap().0, "x-stowage-checksum-crc32c");
        assert_eq!(sha.finish().value, BASE64.encode(Sha256::digest(&data)));
        let (a, b) = data.split_at(30_000);
        let combined = combine_crc32c(&[
            (crc32c::crc32c(a), a.len() as u64),
            (crc32c::crc32c(b), b.len() as u64),
        ]);
        assert_eq!(combined, crc32c::crc32c(&data));
        // Known vector: CRC32C("123456789") = 0xE3069283.
        let mut check = PartHasher::new(ChecksumAlgorithm::Crc32c);
        check.update(b"123456789");
        assert_eq!(check.finish().crc32c, Some(0xE306_9283));
    }
}
