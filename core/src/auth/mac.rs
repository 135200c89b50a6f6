//! HMAC over the digests CPython's `multiprocessing.connection` allows, without allocating.

use core::fmt;

#[cfg(feature = "sha3")]
use hmac::SimpleHmac;
use hmac::{Hmac, KeyInit};

/// The longest MAC any [`MacAlgorithm`] produces (SHA-384 and SHA3-384).
pub const MAX_MAC_LEN: usize = 48;

/// The longest digest name (`sha3_256`, `sha3_384`), as CPython's `_MAX_DIGEST_LEN`.
pub const MAX_NAME_LEN: usize = 8;

/// A digest allowed in HMAC responses (CPython's `_ALLOWED_DIGESTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacAlgorithm {
    /// HMAC-MD5: the seed recipe and CPython ≤ 3.11. Weak, kept for interop.
    Md5,
    /// HMAC-SHA256: CPython ≥ 3.12's default challenge.
    Sha256,
    /// HMAC-SHA384 (feature `sha384`: it links SHA-512's 49 KiB compressor into firmware).
    #[cfg(feature = "sha384")]
    Sha384,
    /// HMAC-SHA3-256.
    #[cfg(feature = "sha3")]
    Sha3_256,
    /// HMAC-SHA3-384.
    #[cfg(feature = "sha3")]
    Sha3_384,
}

impl MacAlgorithm {
    /// Every algorithm compiled in.
    pub const ALL: &'static [MacAlgorithm] = &[
        Self::Md5,
        Self::Sha256,
        #[cfg(feature = "sha384")]
        Self::Sha384,
        #[cfg(feature = "sha3")]
        Self::Sha3_256,
        #[cfg(feature = "sha3")]
        Self::Sha3_384,
    ];

    /// CPython's (`hashlib`) name, as it appears in a `{name}` prefix.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha256 => "sha256",
            #[cfg(feature = "sha384")]
            Self::Sha384 => "sha384",
            #[cfg(feature = "sha3")]
            Self::Sha3_256 => "sha3_256",
            #[cfg(feature = "sha3")]
            Self::Sha3_384 => "sha3_384",
        }
    }

    /// The algorithm with CPython's name `name` (exact, case-sensitive, as CPython compares
    /// bytes). `None` for unknown names and for names whose feature (`sha384`, `sha3`) is off.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL.iter().copied().find(|alg| alg.name().as_bytes() == name)
    }

    /// Whether `name` is in CPython's allowed list, whether or not it is compiled in.
    pub fn is_allowed_name(name: &[u8]) -> bool {
        matches!(name, b"md5" | b"sha256" | b"sha384" | b"sha3_256" | b"sha3_384")
    }

    /// Length of this algorithm's MAC in bytes.
    pub const fn mac_len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha256 => 32,
            #[cfg(feature = "sha384")]
            Self::Sha384 => 48,
            #[cfg(feature = "sha3")]
            Self::Sha3_256 => 32,
            #[cfg(feature = "sha3")]
            Self::Sha3_384 => 48,
        }
    }
}

impl fmt::Display for MacAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A computed MAC: a fixed buffer and a length, so no allocation.
///
/// It deliberately has no `PartialEq`: compare a received tag with [`verify`], which is
/// constant time.
///
/// An array and a `u8` length, not `heapless::Vec`: `Mac` is `Copy`, and a Vec is not.
#[derive(Clone, Copy)]
pub struct Mac {
    bytes: [u8; MAX_MAC_LEN],
    len: u8,
}

impl Mac {
    /// The MAC bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    fn from_slice(src: &[u8]) -> Self {
        let mut bytes = [0u8; MAX_MAC_LEN];
        let len = src.len().min(MAX_MAC_LEN);
        if let (Some(dst), Some(src)) = (bytes.get_mut(..len), src.get(..len)) {
            dst.copy_from_slice(src);
        }
        Self { bytes, len: len as u8 }
    }
}

impl AsRef<[u8]> for Mac {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for Mac {
    // Only the length: MACs end up in logs, and a log is no place for one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({} bytes)", self.len)
    }
}

fn keyed<M: KeyInit + hmac::Mac>(key: &[u8], parts: &[&[u8]]) -> Option<M> {
    // SHA3 has no eager block core, so it goes through `SimpleHmac` (same result).
    // HMAC takes keys of any length (long ones are hashed), so this never fails.
    let mut mac = <M as KeyInit>::new_from_slice(key).ok()?;
    for part in parts {
        mac.update(part);
    }
    Some(mac)
}

fn compute<M: KeyInit + hmac::Mac>(key: &[u8], parts: &[&[u8]]) -> Mac {
    // An empty `Mac` is impossible here; and it would never pass `verify`, which recomputes.
    keyed::<M>(key, parts).map_or(Mac { bytes: [0; MAX_MAC_LEN], len: 0 }, |mac| {
        Mac::from_slice(mac.finalize().into_bytes().as_slice())
    })
}

fn check<M: KeyInit + hmac::Mac>(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    // `verify_slice` checks the length, then compares in constant time (`subtle`).
    keyed::<M>(key, parts).is_some_and(|mac| mac.verify_slice(tag).is_ok())
}

/// HMAC of the concatenation of `parts` under `key` (like Python's
/// `hmac.new(key, b"".join(parts), alg.name()).digest()`).
pub fn hmac(alg: MacAlgorithm, key: &[u8], parts: &[&[u8]]) -> Mac {
    match alg {
        MacAlgorithm::Md5 => compute::<Hmac<md5::Md5>>(key, parts),
        MacAlgorithm::Sha256 => compute::<Hmac<sha2::Sha256>>(key, parts),
        #[cfg(feature = "sha384")]
        MacAlgorithm::Sha384 => compute::<Hmac<sha2::Sha384>>(key, parts),
        #[cfg(feature = "sha3")]
        MacAlgorithm::Sha3_256 => compute::<SimpleHmac<sha3::Sha3_256>>(key, parts),
        #[cfg(feature = "sha3")]
        MacAlgorithm::Sha3_384 => compute::<SimpleHmac<sha3::Sha3_384>>(key, parts),
    }
}

/// Whether `tag` is the HMAC of `parts` under `key`, compared in constant time (a length
/// mismatch is a plain `false`; lengths are public).
pub fn verify(alg: MacAlgorithm, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    match alg {
        MacAlgorithm::Md5 => check::<Hmac<md5::Md5>>(key, parts, tag),
        MacAlgorithm::Sha256 => check::<Hmac<sha2::Sha256>>(key, parts, tag),
        #[cfg(feature = "sha384")]
        MacAlgorithm::Sha384 => check::<Hmac<sha2::Sha384>>(key, parts, tag),
        #[cfg(feature = "sha3")]
        MacAlgorithm::Sha3_256 => check::<SimpleHmac<sha3::Sha3_256>>(key, parts, tag),
        #[cfg(feature = "sha3")]
        MacAlgorithm::Sha3_384 => check::<SimpleHmac<sha3::Sha3_384>>(key, parts, tag),
    }
}
