//! Length-prefix framing: the fix for TCP's "sticky packets".
//!
//! A frame is a length field followed by that many payload bytes. [`FrameConfig`] picks the
//! field's width (1, 2, 4 or 8 bytes), byte order, signedness and the largest frame accepted;
//! two presets match the peers in the wild:
//!
//! * [`FrameConfig::seed`]: `struct.pack('i', n)`, a signed 32-bit little-endian field.
//! * [`FrameConfig::mp`]: CPython's `multiprocessing.connection`, `!i` big-endian, and for
//!   frames over `0x7fffffff` bytes the field `-1` followed by a big-endian `u64` length.
//!
//! Encoding writes only the prefix ([`FrameConfig::encode_prefix`]); the payload is sent from
//! wherever it lives. Decoding ([`FrameDecoder`]) is streaming: it hands the payload out as
//! chunks borrowed from the caller's input, so a frame may be larger than any buffer on the
//! device. [`FrameReader`] collects whole frames into a buffer the caller owns.

mod config;
mod decode;
mod encode;
mod reader;

pub use config::{Endian, FrameConfig, Width};
pub use decode::{FrameDecoder, FrameError, FrameEvent};
pub use encode::{EncodeError, Prefix};
pub use reader::FrameReader;

/// The longest prefix any configuration writes: the mp extension's 4 + 8 bytes.
pub const MAX_PREFIX_LEN: usize = 12;

/// tokio-util's `LengthDelimitedCodec` default, used by the presets.
pub const DEFAULT_MAX_FRAME_LEN: u64 = 8 * 1024 * 1024;

#[cfg(test)]
mod tests;
