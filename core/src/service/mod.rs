//! The device service (docs/protocol.md section 6): put with resume and a SHA-256 receipt,
//! get, stat, list, remove, mkdir, exec with exit status and ping, many requests on one
//! connection inside the secure channel (service name [`SERVICE`]).
//!
//! * [`wire`]: the messages, as serde types, and the codes they carry.
//! * [`codec`]: their encoding (2-byte length + one CBOR map with integer keys).

pub mod codec;
pub mod wire;

#[cfg(test)]
mod tests;

pub use codec::{decode, encode, DecodeError, EncodeError, MAX_MESSAGE};
pub use wire::{Argv, Bytes, Digest, ErrorCode, ExitStatus, Kind, Message, Stream, MAX_ARGS};

/// The service name in the secure channel's prologue (`wirekit/1 service`).
pub const SERVICE: &[u8] = b"service";
/// Longest path, in bytes.
pub const MAX_PATH: usize = 255;
/// Most file or output bytes in one `data` or `output` message.
pub const MAX_DATA: usize = 3072;
/// Most entries in one `list` page.
pub const MAX_PAGE: usize = 32;
/// Requests a client may keep waiting for their first answer.
pub const MAX_WAITING: usize = 8;
