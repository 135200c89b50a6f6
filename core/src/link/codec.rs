//! The frame codec of the serial link (`docs/protocol.md` section 7): a frame's fields
//! ([`Repr`]), its checked bytes ([`Repr::parse`], [`Repr::emit`]) and the splitting of a
//! raw byte stream at `0x00` delimiters ([`Deframer`]).
//!
//! On the wire a frame is `COBS(body ‖ CRC-32 big-endian) 0x00`; `body` starts with the
//! frame type. COBS (Consistent Overhead Byte Stuffing) leaves no `0x00` inside a frame,
//! so the delimiter is unambiguous: a receiver that starts mid-frame, or sees garbage,
//! loses at most the frame it is in and is back in step at the next `0x00`. Its overhead
//! is bounded (one byte per 254, at least one) whatever the payload, where SLIP's escaping
//! doubles a payload of `0xC0` bytes.

use super::crc::{checksum, session_prefix};

/// DATA: a sequence number and stream bytes.
pub const TYPE_DATA: u8 = 0x01;
/// ACK: cumulative ack, window, selective acks.
pub const TYPE_ACK: u8 = 0x02;
/// HELLO: the sender's session id and receive limits.
pub const TYPE_HELLO: u8 = 0x03;
/// HELLO-ACK: the answer to a HELLO, same layout.
pub const TYPE_HELLO_ACK: u8 = 0x04;
/// FIN: a DATA frame whose last byte is the last of the stream.
pub const TYPE_FIN: u8 = 0x05;
/// ACK-REQUEST: an ACK that asks the peer for an ACK (a window probe).
pub const TYPE_ACK_REQUEST: u8 = 0x06;

/// The link protocol version in HELLO.
pub const VERSION: u8 = 1;
/// Bytes of a DATA/FIN header: type, sequence number.
pub const DATA_HEADER_LEN: usize = 2;
/// Bytes of an ACK body: type, ack, window, 4-byte selective-ack bitmap.
pub const ACK_LEN: usize = 7;
/// Bytes of a HELLO body: type, version, two session ids, max payload (2), window.
pub const HELLO_LEN: usize = 13;
/// Bytes of the CRC behind every body.
pub const CRC_LEN: usize = 4;

/// The largest DATA payload whose frame, COBS-encoded, fits in `encoded_max` bytes (the
/// delimiter not counted): what a receiver with an `encoded_max`-byte frame buffer takes.
pub const fn max_payload(encoded_max: usize) -> usize {
    let mut p = encoded_max;
    loop {
        if p == 0 {
            return 0;
        }
        if cobs::max_encoding_length(p + DATA_HEADER_LEN + CRC_LEN) <= encoded_max {
            return p;
        }
        p -= 1;
    }
}

/// Why a received frame was dropped. The link drops bad frames silently (counting them in
/// its stats): a lost or damaged frame is what retransmission is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// More than the receiver's frame buffer arrived before a delimiter; the bytes were
    /// dropped as they came, never buffered.
    #[error("frame longer than {max} encoded bytes")]
    Oversize {
        /// The frame buffer.
        max: usize,
    },
    /// The bytes between two delimiters are not valid COBS.
    #[error("invalid COBS encoding")]
    Cobs,
    /// Fewer bytes than the frame type needs.
    #[error("frame of {len} bytes is too short")]
    Truncated {
        /// Decoded length, CRC included.
        len: usize,
    },
    /// The CRC does not match (damage, or a frame of another session).
    #[error("CRC mismatch")]
    BadCrc,
    /// An unknown frame type.
    #[error("unknown frame type {0:#04x}")]
    UnknownType(u8),
    /// A HELLO of another protocol version.
    #[error("unsupported link version {0}")]
    Version(u8),
    /// A HELLO or ACK longer than its fixed layout.
    #[error("frame of type {kind:#04x} has {len} bytes")]
    BadLength {
        /// The frame type.
        kind: u8,
        /// Decoded length, CRC excluded.
        len: usize,
    },
    /// A session-bound frame and no session to check it against yet.
    #[error("no session to check the frame against")]
    NoSession,
    /// The output buffer cannot hold the encoded frame.
    #[error("output buffer too small")]
    BufferTooSmall,
}

/// HELLO and HELLO-ACK fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// The sender's session id (never 0).
    pub session: u32,
    /// The session id the sender knows for the receiver, 0 when none yet.
    pub peer: u32,
    /// The largest DATA payload the sender can receive.
    pub max_payload: u16,
    /// How many frames the sender buffers out of order (its receive window).
    pub window: u8,
}

/// The fields of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// HELLO.
    Hello(Hello),
    /// HELLO-ACK.
    HelloAck(Hello),
    /// DATA (`fin: false`) or FIN (`fin: true`).
    Data {
        /// Sequence number, counting frames modulo 256.
        seq: u8,
        /// The stream ends after this payload.
        fin: bool,
        /// Stream bytes.
        payload: &'a [u8],
    },
    /// ACK (`request: false`) or ACK-REQUEST.
    Ack {
        /// The next sequence number expected in order: every frame before it arrived.
        ack: u8,
        /// Frames the receiver takes from `ack` on.
        window: u8,
        /// Bit `i` set: frame `ack + 1 + i` arrived.
        sack: u32,
        /// An ACK-REQUEST: answer with an ACK.
        request: bool,
    },
}

impl Repr<'_> {
    /// True for the frames whose CRC covers the session ids (all but HELLO, HELLO-ACK).
    pub const fn is_session_bound(&self) -> bool {
        !matches!(self, Self::Hello(_) | Self::HelloAck(_))
    }

    /// The decoded length of this frame, CRC included.
    pub const fn buffer_len(&self) -> usize {
        CRC_LEN
            + match self {
                Self::Hello(_) | Self::HelloAck(_) => HELLO_LEN,
                Self::Data { payload, .. } => DATA_HEADER_LEN + payload.len(),
                Self::Ack { .. } => ACK_LEN,
            }
    }
}

/// Read a big-endian u32 at `at` (the caller checked the length).
fn be32(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        v.copy_from_slice(s);
    }
    u32::from_be_bytes(v)
}

fn byte(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

impl<'a> Repr<'a> {
    /// Check and parse a decoded frame (`body ‖ CRC`). `sessions` is `(sender, receiver)`
    /// for the CRC of session-bound frames: the peer's id, then ours.
    pub fn parse(frame: &'a [u8], sessions: Option<(u32, u32)>) -> Result<Self, CodecError> {
        let len = frame.len();
        let Some(body_len) = len.checked_sub(CRC_LEN).filter(|&n| n > 0) else {
            return Err(CodecError::Truncated { len });
        };
        let (body, crc) = frame.split_at(body_len);
        let kind = byte(body, 0);
        let bound = match kind {
            TYPE_HELLO | TYPE_HELLO_ACK => false,
            TYPE_DATA | TYPE_FIN | TYPE_ACK | TYPE_ACK_REQUEST => true,
            _ => return Err(CodecError::UnknownType(kind)),
        };
        let expected = be32(crc, 0);
        let actual = if bound {
            let Some((s, r)) = sessions else { return Err(CodecError::NoSession) };
            checksum(&session_prefix(s, r), body)
        } else {
            checksum(&[], body)
        };
        if actual != expected {
            return Err(CodecError::BadCrc);
        }
        match kind {
            TYPE_HELLO | TYPE_HELLO_ACK => {
                if body_len != HELLO_LEN {
                    return Err(CodecError::BadLength { kind, len: body_len });
                }
                let version = byte(body, 1);
                if version != VERSION {
                    return Err(CodecError::Version(version));
                }
                let hello = Hello {
                    session: be32(body, 2),
                    peer: be32(body, 6),
                    max_payload: u16::from_be_bytes([byte(body, 10), byte(body, 11)]),
                    window: byte(body, 12),
                };
                Ok(if kind == TYPE_HELLO { Self::Hello(hello) } else { Self::HelloAck(hello) })
            }
            TYPE_ACK | TYPE_ACK_REQUEST => {
                if body_len != ACK_LEN {
                    return Err(CodecError::BadLength { kind, len: body_len });
                }
                Ok(Self::Ack {
                    ack: byte(body, 1),
                    window: byte(body, 2),
                    sack: be32(body, 3),
                    request: kind == TYPE_ACK_REQUEST,
                })
            }
            _ => {
                if body_len < DATA_HEADER_LEN {
                    return Err(CodecError::Truncated { len });
                }
                Ok(Self::Data {
                    seq: byte(body, 1),
                    fin: kind == TYPE_FIN,
                    payload: body.get(DATA_HEADER_LEN..).unwrap_or(&[]),
                })
            }
        }
    }

    /// Write the frame's body and CRC into `scratch`, COBS-encode it into `out` followed by
    /// the `0x00` delimiter, and return the bytes of `out` used. `sessions` is `(sender,
    /// receiver)`: ours, then the peer's (ignored for HELLO and HELLO-ACK).
    pub fn emit(
        &self,
        sessions: (u32, u32),
        scratch: &mut [u8],
        out: &mut [u8],
    ) -> Result<usize, CodecError> {
        let len = self.buffer_len();
        let body_len = len - CRC_LEN;
        let frame = scratch.get_mut(..len).ok_or(CodecError::BufferTooSmall)?;
        let (body, crc) = frame.split_at_mut(body_len);
        match *self {
            Self::Hello(h) | Self::HelloAck(h) => {
                let kind = if matches!(self, Self::Hello(_)) { TYPE_HELLO } else { TYPE_HELLO_ACK };
                let [a, b, c, d] = h.session.to_be_bytes();
                let [e, f, g, i] = h.peer.to_be_bytes();
                let [m, n] = h.max_payload.to_be_bytes();
                body.copy_from_slice(&[kind, VERSION, a, b, c, d, e, f, g, i, m, n, h.window]);
            }
            Self::Ack { ack, window, sack, request } => {
                let kind = if request { TYPE_ACK_REQUEST } else { TYPE_ACK };
                let [a, b, c, d] = sack.to_be_bytes();
                body.copy_from_slice(&[kind, ack, window, a, b, c, d]);
            }
            Self::Data { seq, fin, payload } => {
                let (head, rest) = body.split_at_mut(DATA_HEADER_LEN);
                head.copy_from_slice(&[if fin { TYPE_FIN } else { TYPE_DATA }, seq]);
                rest.copy_from_slice(payload);
            }
        }
        let sum = if self.is_session_bound() {
            checksum(&session_prefix(sessions.0, sessions.1), body)
        } else {
            checksum(&[], body)
        };
        crc.copy_from_slice(&sum.to_be_bytes());
        let n = cobs::try_encode(frame, out).map_err(|_| CodecError::BufferTooSmall)?;
        let delimiter = out.get_mut(n).ok_or(CodecError::BufferTooSmall)?;
        *delimiter = 0;
        Ok(n + 1)
    }
}

/// Splits raw received bytes at `0x00` delimiters into decoded frames, with an `F`-byte
/// frame buffer. Bytes past `F` before a delimiter are dropped as they arrive (never
/// buffered), and the frame reported as [`CodecError::Oversize`] at its delimiter; empty
/// frames (two delimiters in a row, a leading delimiter) are skipped.
#[derive(Debug, Clone)]
pub struct Deframer<const F: usize> {
    buf: [u8; F],
    len: usize,
    discarding: bool,
}

impl<const F: usize> Default for Deframer<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const F: usize> Deframer<F> {
    /// An empty deframer.
    pub const fn new() -> Self {
        Self { buf: [0; F], len: 0, discarding: false }
    }

    /// Drop any partial frame (after a link restart).
    pub fn reset(&mut self) {
        self.len = 0;
        self.discarding = false;
    }

    /// Take bytes from `input` up to and including the next delimiter that ends a non-empty
    /// frame. Returns the bytes taken and, when a frame ended, it decoded (in the internal
    /// buffer) or why it was dropped.
    pub fn push(&mut self, input: &[u8]) -> (usize, Option<Result<&[u8], CodecError>>) {
        for (i, &b) in input.iter().enumerate() {
            if b != 0 {
                if self.discarding {
                    continue;
                }
                match self.buf.get_mut(self.len) {
                    Some(slot) => {
                        *slot = b;
                        self.len += 1;
                    }
                    None => self.discarding = true,
                }
                continue;
            }
            let taken = i + 1;
            if core::mem::take(&mut self.discarding) {
                self.len = 0;
                return (taken, Some(Err(CodecError::Oversize { max: F })));
            }
            let len = core::mem::take(&mut self.len);
            if len == 0 {
                continue;
            }
            let Some(encoded) = self.buf.get_mut(..len) else {
                return (taken, Some(Err(CodecError::Cobs)));
            };
            let result = match cobs::decode_in_place(encoded) {
                Ok(n) => Ok(self.buf.get(..n).unwrap_or(&[])),
                Err(_) => Err(CodecError::Cobs),
            };
            return (taken, Some(result));
        }
        (input.len(), None)
    }
}
