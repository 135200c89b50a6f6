//! The Noise state objects (revision 34, section 5) for exactly one protocol,
//! `Noise_NNpsk0_25519_ChaChaPoly_SHA256`: `CipherState`, `SymmetricState` and a
//! `HandshakeState` that knows the two messages of `NNpsk0` (`-> psk, e` / `<- e, ee`).
//!
//! Messages are processed in caller-owned buffers (in place), nothing is allocated and every
//! secret is zeroized when its holder is dropped.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// The full protocol name, hashed into the initial handshake hash.
pub const PROTOCOL_NAME: &[u8] = b"Noise_NNpsk0_25519_ChaChaPoly_SHA256";
/// Bytes of an X25519 public key (and of SHA-256's output, Noise's `HASHLEN`).
pub const DH_LEN: usize = 32;
/// Bytes of a ChaCha20-Poly1305 tag.
pub const TAG_LEN: usize = 16;

/// Which side of the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends message 1 (the side that opened the connection).
    Initiator,
    /// Sends message 2 (the side that accepted it).
    Responder,
}

/// What went wrong in the crypto layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CryptoError {
    /// The tag did not verify (wrong key, wrong prologue, or altered bytes).
    Tag,
    /// The nonce reached 2^64-1, which Noise reserves: the key must not be used again.
    NonceExhausted,
    /// The message is shorter than its fixed parts, or the buffer cannot hold it.
    Length,
}

/// Noise's `CipherState`: a key (or none yet) and a 64-bit nonce.
pub(crate) struct CipherState {
    key: [u8; 32],
    has_key: bool,
    nonce: u64,
}

impl CipherState {
    pub(crate) const fn empty() -> Self {
        Self { key: [0; 32], has_key: false, nonce: 0 }
    }

    fn with_key(key: [u8; 32]) -> Self {
        Self { key, has_key: true, nonce: 0 }
    }

    #[cfg(test)]
    pub(crate) fn set_nonce(&mut self, nonce: u64) {
        self.nonce = nonce;
    }

    fn take_nonce(&mut self) -> Result<Nonce, CryptoError> {
        // 2^64-1 is reserved (Noise section 5.1); refusing it means the counter never wraps.
        if self.nonce == u64::MAX {
            return Err(CryptoError::NonceExhausted);
        }
        let mut bytes = [0u8; 12];
        if let Some(tail) = bytes.get_mut(4..) {
            tail.copy_from_slice(&self.nonce.to_le_bytes());
        }
        self.nonce += 1;
        Ok(Nonce::from(bytes))
    }

    /// Encrypt `buf[..len]` in place and append the tag at `buf[len..len + 16]`; returns the
    /// ciphertext length. Without a key the plaintext is passed through (Noise's rule).
    pub(crate) fn encrypt_with_ad(
        &mut self,
        ad: &[u8],
        buf: &mut [u8],
        len: usize,
    ) -> Result<usize, CryptoError> {
        if !self.has_key {
            return if len <= buf.len() { Ok(len) } else { Err(CryptoError::Length) };
        }
        let total = len.checked_add(TAG_LEN).ok_or(CryptoError::Length)?;
        let Some(region) = buf.get_mut(..total) else { return Err(CryptoError::Length) };
        let (text, tag_out) = region.split_at_mut(len);
        let nonce = self.take_nonce()?;
        let cipher = ChaCha20Poly1305::new(<&Key>::from(&self.key));
        let tag = cipher
            .encrypt_inout_detached(&nonce, ad, text.into())
            .map_err(|_| CryptoError::Length)?;
        tag_out.copy_from_slice(&tag);
        Ok(total)
    }

    /// Decrypt `buf` (ciphertext then tag) in place; returns the plaintext length, which is
    /// `buf[..len]`. On a failed tag the buffer's contents are unspecified and must not be used.
    pub(crate) fn decrypt_with_ad(
        &mut self,
        ad: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, CryptoError> {
        if !self.has_key {
            return Ok(buf.len());
        }
        let len = buf.len().checked_sub(TAG_LEN).ok_or(CryptoError::Length)?;
        let (text, tag) = buf.split_at_mut(len);
        let tag = <&Tag>::try_from(&*tag).map_err(|_| CryptoError::Length)?;
        let nonce = self.take_nonce()?;
        let cipher = ChaCha20Poly1305::new(<&Key>::from(&self.key));
        match cipher.decrypt_inout_detached(&nonce, ad, text.into(), tag) {
            Ok(()) => Ok(len),
            // Noise leaves the nonce unchanged after a failed decryption.
            Err(_) => {
                self.nonce -= 1;
                Err(CryptoError::Tag)
            }
        }
    }
}

impl Drop for CipherState {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// Noise's `HKDF(ck, ikm, n)` for n = 2 or 3 outputs of 32 bytes: HKDF-SHA256 with the
/// chaining key as salt and empty info is exactly the spec's HMAC chain.
fn noise_hkdf<const N: usize>(ck: &[u8; 32], ikm: &[u8], out: &mut [[u8; 32]; N]) {
    let mut okm = [0u8; 96];
    let hk = Hkdf::<Sha256>::new(Some(ck), ikm);
    let len = N.saturating_mul(32).min(okm.len());
    if let Some(okm) = okm.get_mut(..len) {
        // Cannot fail: at most 96 of the 255 * 32 bytes HKDF-SHA256 can give.
        let _ = hk.expand(&[], okm);
    }
    for (dst, src) in out.iter_mut().zip(okm.chunks_exact(32)) {
        dst.copy_from_slice(src);
    }
    okm.zeroize();
}

/// Noise's `SymmetricState`.
pub(crate) struct SymmetricState {
    ck: [u8; 32],
    h: [u8; 32],
    cipher: CipherState,
}

impl SymmetricState {
    /// `InitializeSymmetric(protocol_name)` then `MixHash(prologue)`, the prologue given as
    /// parts that are hashed as their concatenation.
    fn new(prologue: &[&[u8]]) -> Self {
        // The name is longer than HASHLEN, so h = HASH(name).
        let h: [u8; 32] = Sha256::digest(PROTOCOL_NAME).into();
        let mut state = Self { ck: h, h, cipher: CipherState::empty() };
        let mut hasher = Sha256::new();
        hasher.update(state.h);
        for part in prologue {
            hasher.update(part);
        }
        state.h = hasher.finalize().into();
        state
    }

    fn mix_hash(&mut self, data: &[u8]) {
        let mut hasher = Sha256::new();
        hasher.update(self.h);
        hasher.update(data);
        self.h = hasher.finalize().into();
    }

    fn mix_key(&mut self, ikm: &[u8]) {
        let mut out = [[0u8; 32]; 2];
        noise_hkdf(&self.ck, ikm, &mut out);
        let [ck, k] = &out;
        self.ck = *ck;
        self.cipher = CipherState::with_key(*k);
        out.zeroize();
    }

    fn mix_key_and_hash(&mut self, ikm: &[u8]) {
        let mut out = [[0u8; 32]; 3];
        noise_hkdf(&self.ck, ikm, &mut out);
        let [ck, temp_h, k] = &out;
        self.ck = *ck;
        let temp_h = *temp_h;
        self.mix_hash(&temp_h);
        self.cipher = CipherState::with_key(*k);
        out.zeroize();
    }

    /// `EncryptAndHash` of `buf[..len]` in place; returns the ciphertext length.
    fn encrypt_and_hash(&mut self, buf: &mut [u8], len: usize) -> Result<usize, CryptoError> {
        let h = self.h;
        let n = self.cipher.encrypt_with_ad(&h, buf, len)?;
        self.mix_hash(buf.get(..n).unwrap_or(&[]));
        Ok(n)
    }

    /// `DecryptAndHash` of `buf` in place; returns the plaintext length.
    fn decrypt_and_hash(&mut self, buf: &mut [u8]) -> Result<usize, CryptoError> {
        let h = self.h;
        // The hash covers the ciphertext, which decryption overwrites: hash it first, into a
        // copy, and keep it only if the tag verifies.
        let mut next = Sha256::new();
        next.update(self.h);
        next.update(&*buf);
        let n = self.cipher.decrypt_with_ad(&h, buf)?;
        self.h = next.finalize().into();
        Ok(n)
    }

    /// `Split()`: the initiator-to-responder and responder-to-initiator transport ciphers.
    fn split(&self) -> (CipherState, CipherState) {
        let mut out = [[0u8; 32]; 2];
        noise_hkdf(&self.ck, &[], &mut out);
        let [k1, k2] = &out;
        let pair = (CipherState::with_key(*k1), CipherState::with_key(*k2));
        out.zeroize();
        pair
    }
}

impl Drop for SymmetricState {
    fn drop(&mut self) {
        self.ck.zeroize();
        self.h.zeroize();
    }
}

/// Length of each of the two handshake messages for a payload of `payload_len` bytes.
pub const fn message_len(payload_len: usize) -> usize {
    DH_LEN + payload_len + TAG_LEN
}

/// The transport ciphers a finished handshake gives: `send` for our messages, `recv` for the
/// peer's.
pub(crate) struct Transport {
    pub(crate) send: CipherState,
    pub(crate) recv: CipherState,
}

/// Noise's `HandshakeState` for `NNpsk0`, one message at a time, in order:
/// initiator `write_message_1` then `read_message_2`; responder `read_message_1` then
/// `write_message_2`; then [`HandshakeState::split`].
pub(crate) struct HandshakeState {
    role: Role,
    symmetric: SymmetricState,
    psk: [u8; 32],
    ephemeral: [u8; 32],
    remote_ephemeral: [u8; 32],
}

impl HandshakeState {
    /// `ephemeral` is the X25519 private key for this handshake: 32 fresh random bytes.
    pub(crate) fn new(role: Role, psk: &[u8; 32], prologue: &[&[u8]], ephemeral: [u8; 32]) -> Self {
        Self {
            role,
            symmetric: SymmetricState::new(prologue),
            psk: *psk,
            ephemeral,
            remote_ephemeral: [0; 32],
        }
    }

    pub(crate) fn role(&self) -> Role {
        self.role
    }

    fn public_ephemeral(&self) -> [u8; 32] {
        x25519_dalek::x25519(self.ephemeral, x25519_dalek::X25519_BASEPOINT_BYTES)
    }

    /// Token `e` when writing, in a PSK handshake: send, `MixHash` and `MixKey` it.
    fn write_e(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        let public = self.public_ephemeral();
        out.get_mut(..DH_LEN).ok_or(CryptoError::Length)?.copy_from_slice(&public);
        self.symmetric.mix_hash(&public);
        self.symmetric.mix_key(&public);
        Ok(())
    }

    fn read_e(&mut self, msg: &[u8]) -> Result<(), CryptoError> {
        let public = msg.get(..DH_LEN).ok_or(CryptoError::Length)?;
        self.remote_ephemeral.copy_from_slice(public);
        let re = self.remote_ephemeral;
        self.symmetric.mix_hash(&re);
        self.symmetric.mix_key(&re);
        Ok(())
    }

    fn mix_ee(&mut self) {
        let mut shared = x25519_dalek::x25519(self.ephemeral, self.remote_ephemeral);
        self.symmetric.mix_key(&shared);
        shared.zeroize();
    }

    /// Writes `e`, then (responder) `ee`, then `EncryptAndHash(payload)`; the initiator's `psk`
    /// token ran before.
    fn write_message(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        if out.len() < message_len(payload.len()) {
            return Err(CryptoError::Length);
        }
        self.write_e(out)?;
        if self.role == Role::Responder {
            self.mix_ee();
        }
        let rest = out.get_mut(DH_LEN..).ok_or(CryptoError::Length)?;
        rest.get_mut(..payload.len()).ok_or(CryptoError::Length)?.copy_from_slice(payload);
        let n = self.symmetric.encrypt_and_hash(rest, payload.len())?;
        Ok(DH_LEN + n)
    }

    /// Reads one message in place; returns the range of `msg` holding the decrypted payload.
    fn read_message(&mut self, msg: &mut [u8]) -> Result<core::ops::Range<usize>, CryptoError> {
        if msg.len() < message_len(0) {
            return Err(CryptoError::Length);
        }
        self.read_e(msg)?;
        if self.role == Role::Initiator {
            self.mix_ee();
        }
        let rest = msg.get_mut(DH_LEN..).ok_or(CryptoError::Length)?;
        let n = self.symmetric.decrypt_and_hash(rest)?;
        Ok(DH_LEN..DH_LEN + n)
    }

    /// Initiator: message 1, `psk, e` + payload. Returns its length.
    pub(crate) fn write_message_1(
        &mut self,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, CryptoError> {
        self.symmetric.mix_key_and_hash(&self.psk);
        self.write_message(payload, out)
    }

    /// Responder: message 1 in place; returns the payload's range in `msg`.
    pub(crate) fn read_message_1(
        &mut self,
        msg: &mut [u8],
    ) -> Result<core::ops::Range<usize>, CryptoError> {
        self.symmetric.mix_key_and_hash(&self.psk);
        self.read_message(msg)
    }

    /// Responder: message 2, `e, ee` + payload. Returns its length.
    pub(crate) fn write_message_2(
        &mut self,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, CryptoError> {
        self.write_message(payload, out)
    }

    /// Initiator: message 2 in place; returns the payload's range in `msg`.
    pub(crate) fn read_message_2(
        &mut self,
        msg: &mut [u8],
    ) -> Result<core::ops::Range<usize>, CryptoError> {
        self.read_message(msg)
    }

    /// `Split()`, oriented for our role.
    pub(crate) fn split(&self) -> Transport {
        let (initiator_to_responder, responder_to_initiator) = self.symmetric.split();
        match self.role {
            Role::Initiator => {
                Transport { send: initiator_to_responder, recv: responder_to_initiator }
            }
            Role::Responder => {
                Transport { send: responder_to_initiator, recv: initiator_to_responder }
            }
        }
    }

    /// The handshake hash `h` (channel binding; also what the tests compare).
    pub(crate) fn handshake_hash(&self) -> [u8; 32] {
        self.symmetric.h
    }
}

impl Drop for HandshakeState {
    fn drop(&mut self) {
        self.psk.zeroize();
        self.ephemeral.zeroize();
    }
}
