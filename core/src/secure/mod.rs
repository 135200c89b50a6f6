//! The "secure" profile (docs/protocol.md section 5): every exchange inside a Noise channel,
//! `Noise_NNpsk0_25519_ChaChaPoly_SHA256`, with 2-byte big-endian message lengths, the PSK
//! derived from the shared key by HKDF, the service name in the prologue and each side's
//! record limit in its handshake payload.
//!
//! * [`key`]: the PSK ([`Psk::derive`], keys under 16 bytes refused) and prologue constants.
//! * [`handshake`]: Noise's `CipherState` / `SymmetricState` / `HandshakeState` for this one
//!   pattern (crate-internal, [`Role`] is public).
//! * [`record`]: length framing and transport records whose nonces never wrap.
//! * [`channel`]: [`SecureChannel`], the sans-IO machine: handshake as initiator or
//!   responder, then a record layer around any inner [`Machine`](crate::Machine).
//!
//! Secrets (PSK, ephemeral key, chaining key, transport keys) are zeroized on drop; tags are
//! checked in constant time by `chacha20poly1305`; the ephemeral key comes from the caller.

pub mod channel;
pub mod handshake;
pub mod key;
pub mod record;
mod wire;

#[cfg(test)]
mod tests;

pub use channel::{
    on_event, rx_buf_len, Buffers, ChannelError, ChannelEvent, Config, InnerHandler, OnEvent,
    SecureChannel, SecureError, SetupError, HANDSHAKE_WIRE_LEN, MIN_TX_BUF,
};
pub use handshake::Role;
pub use key::{KeyTooShort, Psk, MIN_KEY_LEN};
pub use record::{record_len, MAX_PLAINTEXT_LIMIT, MIN_PLAINTEXT_LIMIT};
