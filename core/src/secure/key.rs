//! The PSK and prologue of the secure profile (docs/protocol.md section 5).

use core::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroize;

/// HKDF salt for the PSK.
pub const PSK_SALT: &[u8] = b"wirekit secure v1";
/// HKDF info for the PSK.
pub const PSK_INFO: &[u8] = b"psk";
/// The prologue starts with this (trailing space included), then the service name.
pub const PROLOGUE_PREFIX: &[u8] = b"wirekit/1 ";
/// Shortest shared key accepted: shorter ones fall to an offline guess from one recorded
/// handshake.
pub const MIN_KEY_LEN: usize = 16;

/// The shared key was shorter than [`MIN_KEY_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the secure profile needs a key of at least {MIN_KEY_LEN} bytes, got {len} \
     (`wirekit keygen` makes 32 random bytes)"
)]
pub struct KeyTooShort {
    /// The key's length in bytes.
    pub len: usize,
}

/// The 32-byte Noise PSK: HKDF-SHA256(salt `wirekit secure v1`, IKM the shared key, info
/// `psk`). Zeroized on drop.
pub struct Psk([u8; 32]);

impl Psk {
    /// Derive the PSK from the shared key's bytes; keys under [`MIN_KEY_LEN`] are refused.
    pub fn derive(shared_key: &[u8]) -> Result<Self, KeyTooShort> {
        if shared_key.len() < MIN_KEY_LEN {
            return Err(KeyTooShort { len: shared_key.len() });
        }
        let mut psk = [0u8; 32];
        // Cannot fail: 32 bytes is far below HKDF-SHA256's 255 * 32.
        let _ = Hkdf::<Sha256>::new(Some(PSK_SALT), shared_key).expand(PSK_INFO, &mut psk);
        Ok(Self(psk))
    }

    /// The PSK bytes (for tests and test vectors).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for Psk {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Psk(..)")
    }
}
