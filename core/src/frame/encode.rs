use core::fmt;

use super::{Endian, FrameConfig, MAX_PREFIX_LEN};

/// Why a prefix could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The payload is longer than the configured maximum (or than the field can express).
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    Oversize {
        /// Payload length asked for.
        len: u64,
        /// The configured limit.
        max: u64,
    },
    /// The caller's buffer cannot hold the prefix.
    #[error("buffer too small for a {needed}-byte length prefix")]
    BufferTooSmall {
        /// Bytes the prefix needs.
        needed: usize,
    },
}

/// An encoded length prefix, small enough to live on the stack.
///
/// An array and a `u8` length, not `heapless::Vec`: that is not `Copy` and keeps a `usize`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    bytes: [u8; MAX_PREFIX_LEN],
    len: u8,
}

impl Prefix {
    /// The prefix bytes to send before the payload.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl AsRef<[u8]> for Prefix {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prefix({:02x?})", self.as_bytes())
    }
}

fn put(endian: Endian, value: u64, out: &mut [u8]) {
    let n = out.len();
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = match endian {
            Endian::Big => 8 * (n - 1 - i),
            Endian::Little => 8 * i,
        };
        *slot = (value >> shift) as u8;
    }
}

impl FrameConfig {
    /// The prefix for a payload of `len` bytes.
    pub fn encode_prefix(&self, len: u64) -> Result<Prefix, EncodeError> {
        if len > self.max_frame_len() {
            return Err(EncodeError::Oversize { len, max: self.max_frame_len() });
        }
        let mut bytes = [0u8; MAX_PREFIX_LEN];
        let width = self.width().bytes();
        let written = if self.mp_extension() && len > i32::MAX as u64 {
            // CPython: `!i` of -1, then `!Q` of the length.
            bytes[..4].copy_from_slice(&(-1i32).to_be_bytes());
            bytes[4..12].copy_from_slice(&len.to_be_bytes());
            12
        } else {
            if let Some(field) = bytes.get_mut(..width) {
                put(self.endian(), len, field);
            }
            width
        };
        Ok(Prefix { bytes, len: written as u8 })
    }

    /// Write the prefix for a payload of `len` bytes into `out`; returns the bytes written.
    pub fn encode_prefix_into(&self, len: u64, out: &mut [u8]) -> Result<usize, EncodeError> {
        let prefix = self.encode_prefix(len)?;
        let bytes = prefix.as_bytes();
        let dst = out
            .get_mut(..bytes.len())
            .ok_or(EncodeError::BufferTooSmall { needed: bytes.len() })?;
        dst.copy_from_slice(bytes);
        Ok(bytes.len())
    }
}
