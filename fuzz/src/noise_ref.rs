//! An independent model of the secure profile's handshake and records, written from the
//! Noise specification (revision 34, sections 4-5 and 9) and docs/protocol.md section 5, not
//! from `wirekit_core::secure`: `Noise_NNpsk0_25519_ChaChaPoly_SHA256`, prologue
//! `wirekit/1 <service>`, PSK = HKDF-SHA256(salt `wirekit secure v1`, the key, info `psk`),
//! payload = the sender's plaintext limit (2 bytes big-endian), messages behind a 2-byte
//! big-endian length. HKDF is Noise's own (HMAC-SHA256 chain), computed here with `hmac`.
//!
//! Both sides' ephemeral keys are known, so one symmetric state computes the whole
//! handshake (both sides evolve it identically) and the transport keys of both directions.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <HmacSha256 as hmac::KeyInit>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// Noise's HKDF with two or three outputs.
fn hkdf(ck: &[u8; 32], ikm: &[u8]) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let temp = hmac(ck, &[ikm]);
    let o1 = hmac(&temp, &[&[1]]);
    let o2 = hmac(&temp, &[&o1, &[2]]);
    let o3 = hmac(&temp, &[&o2, &[3]]);
    (o1, o2, o3)
}

/// The PSK from the shared key: RFC 5869 HKDF-SHA256, one block.
pub fn psk(key: &[u8]) -> [u8; 32] {
    let prk = hmac(b"wirekit secure v1", &[key]);
    hmac(&prk, &[b"psk", &[1]])
}

/// ChaCha20-Poly1305 with Noise's nonce (4 zero bytes, 8-byte little-endian counter).
pub fn encrypt(k: &[u8; 32], n: u64, ad: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&n.to_le_bytes());
    let mut buf = plain.to_vec();
    let cipher = ChaCha20Poly1305::new(&Key::from(*k));
    let tag =
        cipher.encrypt_inout_detached(&Nonce::from(nonce), ad, buf.as_mut_slice().into()).unwrap();
    buf.extend_from_slice(&tag);
    buf
}

struct Symmetric {
    ck: [u8; 32],
    h: [u8; 32],
    k: Option<[u8; 32]>,
    n: u64,
}

impl Symmetric {
    fn mix_hash(&mut self, data: &[u8]) {
        self.h = Sha256::new().chain_update(self.h).chain_update(data).finalize().into();
    }
    fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, k, _) = hkdf(&self.ck, ikm);
        self.ck = ck;
        self.k = Some(k);
        self.n = 0;
    }
    fn mix_key_and_hash(&mut self, ikm: &[u8]) {
        let (ck, h, k) = hkdf(&self.ck, ikm);
        self.ck = ck;
        self.mix_hash(&h);
        self.k = Some(k);
        self.n = 0;
    }
    fn encrypt_and_hash(&mut self, plain: &[u8]) -> Vec<u8> {
        let k = self.k.expect("psk0 sets a key before any payload");
        let c = encrypt(&k, self.n, &self.h, plain);
        self.n += 1;
        self.mix_hash(&c);
        c
    }
}

/// One handshake between an initiator and a responder with the same key and service.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// Message 1 with its length prefix.
    pub msg1: Vec<u8>,
    /// Message 2 with its length prefix.
    pub msg2: Vec<u8>,
    /// Transport key initiator → responder.
    pub i2r: [u8; 32],
    /// Transport key responder → initiator.
    pub r2i: [u8; 32],
}

fn framed(body: Vec<u8>) -> Vec<u8> {
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend(body);
    v
}

/// The handshake of `key`/`service` with these ephemeral keys and limits.
pub fn handshake(
    key: &[u8],
    service: &[u8],
    eph_i: [u8; 32],
    eph_r: [u8; 32],
    limit_i: u16,
    limit_r: u16,
) -> Transcript {
    let name = b"Noise_NNpsk0_25519_ChaChaPoly_SHA256";
    let h: [u8; 32] = Sha256::digest(name).into(); // longer than HASHLEN: hashed
    let mut s = Symmetric { ck: h, h, k: None, n: 0 };
    s.mix_hash(&[&b"wirekit/1 "[..], service].concat());
    // -> psk, e
    s.mix_key_and_hash(&psk(key));
    let e_i = x25519_dalek::x25519(eph_i, x25519_dalek::X25519_BASEPOINT_BYTES);
    s.mix_hash(&e_i);
    s.mix_key(&e_i); // psk handshakes mix e into the key too (Noise 9.2)
    let mut msg1 = e_i.to_vec();
    msg1.extend(s.encrypt_and_hash(&limit_i.to_be_bytes()));
    // <- e, ee
    let e_r = x25519_dalek::x25519(eph_r, x25519_dalek::X25519_BASEPOINT_BYTES);
    s.mix_hash(&e_r);
    s.mix_key(&e_r);
    s.mix_key(&x25519_dalek::x25519(eph_r, e_i));
    let mut msg2 = e_r.to_vec();
    msg2.extend(s.encrypt_and_hash(&limit_r.to_be_bytes()));
    let (i2r, r2i, _) = hkdf(&s.ck, &[]);
    Transcript { msg1: framed(msg1), msg2: framed(msg2), i2r, r2i }
}

/// A sending direction of the transport: seals records with a counter from 0.
#[derive(Debug, Clone)]
pub struct Sender {
    key: [u8; 32],
    n: u64,
}

impl Sender {
    /// Start with nonce 0.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key, n: 0 }
    }
    /// One record (length prefix, ciphertext, tag) of `plain`.
    pub fn seal(&mut self, plain: &[u8]) -> Vec<u8> {
        let c = encrypt(&self.key, self.n, &[], plain);
        self.n += 1;
        framed(c)
    }
}
