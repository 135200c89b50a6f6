//! Message framing (a 2-byte big-endian length, then that many bytes) and transport records
//! sealed and opened under a Noise `CipherState` whose nonce never wraps.

use super::handshake::{CipherState, CryptoError, TAG_LEN};

/// Bytes of the length prefix in front of every Noise message.
pub const LEN_PREFIX: usize = 2;
/// Smallest per-message plaintext limit a side may state in its handshake payload.
pub const MIN_PLAINTEXT_LIMIT: u16 = 64;
/// Largest per-message plaintext limit: 65,535 (Noise's message limit) minus the tag.
pub const MAX_PLAINTEXT_LIMIT: u16 = 65_519;

/// Wire bytes of a transport record carrying `plaintext` bytes.
pub const fn record_len(plaintext: usize) -> usize {
    LEN_PREFIX + plaintext + TAG_LEN
}

/// The handshake payload: our plaintext limit, 2 bytes big-endian.
pub fn encode_limit(limit: u16) -> [u8; 2] {
    limit.to_be_bytes()
}

/// The peer's plaintext limit from its decrypted handshake payload: exactly 2 bytes, in
/// [`MIN_PLAINTEXT_LIMIT`]`..=`[`MAX_PLAINTEXT_LIMIT`]; anything else is `None`.
pub fn decode_limit(payload: &[u8]) -> Option<u16> {
    let bytes: [u8; 2] = payload.try_into().ok()?;
    let limit = u16::from_be_bytes(bytes);
    (MIN_PLAINTEXT_LIMIT..=MAX_PLAINTEXT_LIMIT).contains(&limit).then_some(limit)
}

/// Why a length prefix was refused before its body was buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LengthError {
    /// Longer than the caller allows.
    TooLong(u16),
    /// Shorter than the caller requires.
    TooShort(u16),
}

/// How far [`Assembler::take`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gathered {
    /// Input bytes taken.
    pub(crate) consumed: usize,
    /// `Some(len)` when the whole message is in `buf[LEN_PREFIX..LEN_PREFIX + len]`.
    pub(crate) complete: Option<usize>,
}

/// Gathers one length-prefixed message into a caller's buffer, refusing a length outside
/// `min..=max` as soon as the prefix is in (before any body byte is stored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Assembler {
    have: usize,
}

impl Assembler {
    /// True when no byte of a message has been taken yet.
    pub(crate) fn is_idle(&self) -> bool {
        self.have == 0
    }

    /// Forget the finished message, to gather the next one.
    pub(crate) fn reset(&mut self) {
        self.have = 0;
    }

    /// Take bytes of `input` into `buf` (which must hold `LEN_PREFIX + max`) up to the end of
    /// the current message.
    pub(crate) fn take(
        &mut self,
        buf: &mut [u8],
        input: &[u8],
        min: usize,
        max: usize,
    ) -> Result<Gathered, LengthError> {
        let mut consumed = 0;
        while self.have < LEN_PREFIX {
            let (Some(&byte), Some(slot)) = (input.get(consumed), buf.get_mut(self.have)) else {
                return Ok(Gathered { consumed, complete: None });
            };
            *slot = byte;
            self.have += 1;
            consumed += 1;
        }
        let len = match buf.get(..LEN_PREFIX) {
            Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
            _ => return Err(LengthError::TooLong(u16::MAX)),
        };
        let body = usize::from(len);
        if body > max || LEN_PREFIX + body > buf.len() {
            return Err(LengthError::TooLong(len));
        }
        if body < min {
            return Err(LengthError::TooShort(len));
        }
        let end = LEN_PREFIX + body;
        let rest = input.get(consumed..).unwrap_or(&[]);
        let take = (end - self.have).min(rest.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(self.have..self.have + take), rest.get(..take))
        {
            dst.copy_from_slice(src);
        }
        self.have += take;
        consumed += take;
        Ok(Gathered { consumed, complete: (self.have == end).then_some(body) })
    }
}

/// Seal `plaintext` as one record (prefix, ciphertext, tag) at the start of `out`; returns the
/// record's length. `out` must hold [`record_len`]`(plaintext.len())` bytes and the plaintext
/// must be at most [`MAX_PLAINTEXT_LIMIT`].
pub(crate) fn seal(
    cipher: &mut CipherState,
    plaintext: &[u8],
    out: &mut [u8],
) -> Result<usize, CryptoError> {
    let len = u16::try_from(plaintext.len() + TAG_LEN).map_err(|_| CryptoError::Length)?;
    let (prefix, body) = out.split_at_mut_checked(LEN_PREFIX).ok_or(CryptoError::Length)?;
    body.get_mut(..plaintext.len()).ok_or(CryptoError::Length)?.copy_from_slice(plaintext);
    let n = cipher.encrypt_with_ad(&[], body, plaintext.len())?;
    prefix.copy_from_slice(&len.to_be_bytes());
    Ok(LEN_PREFIX + n)
}

/// Open one record body (ciphertext then tag) in place; returns the plaintext length, which
/// is then `body[..len]`.
pub(crate) fn open(cipher: &mut CipherState, body: &mut [u8]) -> Result<usize, CryptoError> {
    cipher.decrypt_with_ad(&[], body)
}
