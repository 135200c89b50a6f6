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

#[cfg(any(test, feature = "pair"))]
pub mod in_memory;
mod receiver;
mod sender;

use crate::frame::{EncodeError, FrameError};
use crate::header::{HeaderEncodeError, HeaderError};

pub use receiver::{FileReceiver, ReceiveEvent};
pub use sender::{FileSender, SENDER_BUF_LEN};

/// Why a transfer failed. Inner errors are kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// The header frame's length prefix or payload was bad (negative, over the limit, longer
    /// than the receiver's buffer, or cut off by the end of the stream).
    #[error("header frame: {0}")]
    Frame(#[source] FrameError),
    /// The sender could not write the header's length prefix (e.g. over the profile's limit).
    #[error("header prefix: {0}")]
    Prefix(#[source] EncodeError),
    /// The header JSON did not decode.
    #[error("file header: {0}")]
    Header(#[source] HeaderError),
    /// The header could not be encoded.
    #[error("file header: {0}")]
    HeaderEncode(#[source] HeaderEncodeError),
    /// The sender's header JSON is longer than its buffer allows.
    #[error("file header of {len} bytes exceeds the maximum of {max} bytes")]
    HeaderTooLong {
        /// Encoded header length.
        len: usize,
        /// [`crate::header::MAX_HEADER_LEN`].
        max: usize,
    },
    /// The announced file is larger than the receiver accepts; no body byte was taken.
    #[error("file of {filesize} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The announced size.
        filesize: u64,
        /// The receiver's limit.
        max: u64,
    },
    /// The stream ended before the whole body arrived.
    #[error("stream ended after {received} of {expected} file bytes")]
    Truncated {
        /// Body bytes received.
        received: u64,
        /// The announced size.
        expected: u64,
    },
    /// Bytes arrived after the complete body. They were not consumed; the transfer itself is
    /// complete, and the caller decides what the extra bytes mean (the seed sender closes
    /// after the body, so they come from a confused or hostile peer).
    #[error("{len} unexpected bytes after the file")]
    ExtraData {
        /// Length of the input that was refused.
        len: usize,
    },
    /// The receiver sent bytes; in demo3 it never does.
    #[error("receiver sent {len} bytes; it is not supposed to send anything")]
    UnexpectedInput {
        /// Length of the input that was refused.
        len: usize,
    },
    /// The receiver closed before the sender finished.
    #[error("receiver closed with {body_remaining} file bytes still to send")]
    PeerClosed {
        /// Body bytes not yet reported sent.
        body_remaining: u64,
    },
    /// Body bytes were reported before the header was fully sent (they would have been sent
    /// ahead of the header).
    #[error("file body reported before the header was sent")]
    HeaderNotSent,
    /// More body bytes were reported than the header announced.
    #[error("{reported} body bytes reported, only {remaining} were due")]
    Overrun {
        /// Bytes reported in this call.
        reported: u64,
        /// Bytes that were still due.
        remaining: u64,
    },
}

#[cfg(test)]
mod tests;
