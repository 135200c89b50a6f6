//! The demo3 file transfer: one header frame, then the raw body.
//!
//! On the wire (seed profile): `struct.pack('i', len(header))`, the header JSON
//! ([`crate::header`]), then exactly `filesize` body bytes, unframed. The receiver sends
//! nothing back; the sender closes after the body.
//!
//! * [`FileSender`] builds the prefix and header once, hands them out through
//!   [`Machine::output_buf`](crate::Machine::output_buf), and then only *counts* the body: the
//!   caller sends body bytes straight from its file or flash and reports them with
//!   [`FileSender::record_body`].
//! * [`FileReceiver`] collects and decodes the header in a fixed buffer, then hands out the body
//!   as chunks borrowed from the caller's input ([`ReceiveEvent::Body`]), and insists on the
//!   whole body before [`ReceiveEvent::Complete`]: a short stream is an error, never a short file.
//!
//! The file names are data as the peer sent them; making a safe local name out of them is the
//! adapter's job.

mod receiver;
mod sender;

use core::fmt;

use crate::frame::{EncodeError, FrameError};
use crate::header::{HeaderEncodeError, HeaderError};

pub use receiver::{FileReceiver, ReceiveEvent};
pub use sender::{FileSender, SENDER_BUF_LEN};

/// Why a transfer failed. Inner errors are kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferError {
    /// The header frame's length prefix or payload was bad (negative, over the limit, longer
    /// than the receiver's buffer, or cut off by the end of the stream).
    Frame(FrameError),
    /// The sender could not write the header's length prefix (e.g. over the profile's limit).
    Prefix(EncodeError),
    /// The header JSON did not decode.
    Header(HeaderError),
    /// The header could not be encoded.
    HeaderEncode(HeaderEncodeError),
    /// The sender's header JSON is longer than its buffer allows.
    HeaderTooLong {
        /// Encoded header length.
        len: usize,
        /// [`crate::header::MAX_HEADER_LEN`].
        max: usize,
    },
    /// The announced file is larger than the receiver accepts; no body byte was taken.
    TooLarge {
        /// The announced size.
        filesize: u64,
        /// The receiver's limit.
        max: u64,
    },
    /// The stream ended before the whole body arrived.
    Truncated {
        /// Body bytes received.
        received: u64,
        /// The announced size.
        expected: u64,
    },
    /// Bytes arrived after the complete body. They were not consumed; the transfer itself is
    /// complete, and the caller decides what the extra bytes mean (the seed sender closes
    /// after the body, so they come from a confused or hostile peer).
    ExtraData {
        /// Length of the input that was refused.
        len: usize,
    },
    /// The receiver sent bytes; in demo3 it never does.
    UnexpectedInput {
        /// Length of the input that was refused.
        len: usize,
    },
    /// The receiver closed before the sender finished.
    PeerClosed {
        /// Body bytes not yet reported sent.
        body_remaining: u64,
    },
    /// Body bytes were reported before the header was fully sent (they would have been sent
    /// ahead of the header).
    HeaderNotSent,
    /// More body bytes were reported than the header announced.
    Overrun {
        /// Bytes reported in this call.
        reported: u64,
        /// Bytes that were still due.
        remaining: u64,
    },
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frame(err) => write!(f, "header frame: {err}"),
            Self::Prefix(err) => write!(f, "header prefix: {err}"),
            Self::Header(err) => write!(f, "file header: {err}"),
            Self::HeaderEncode(err) => write!(f, "file header: {err}"),
            Self::HeaderTooLong { len, max } => {
                write!(f, "file header of {len} bytes exceeds the maximum of {max} bytes")
            }
            Self::TooLarge { filesize, max } => {
                write!(f, "file of {filesize} bytes exceeds the limit of {max} bytes")
            }
            Self::Truncated { received, expected } => {
                write!(f, "stream ended after {received} of {expected} file bytes")
            }
            Self::ExtraData { len } => write!(f, "{len} unexpected bytes after the file"),
            Self::UnexpectedInput { len } => {
                write!(f, "receiver sent {len} bytes; it is not supposed to send anything")
            }
            Self::PeerClosed { body_remaining } => {
                write!(f, "receiver closed with {body_remaining} file bytes still to send")
            }
            Self::HeaderNotSent => f.write_str("file body reported before the header was sent"),
            Self::Overrun { reported, remaining } => {
                write!(f, "{reported} body bytes reported, only {remaining} were due")
            }
        }
    }
}

impl core::error::Error for TransferError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Frame(err) => Some(err),
            Self::Prefix(err) => Some(err),
            Self::Header(err) => Some(err),
            Self::HeaderEncode(err) => Some(err),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
