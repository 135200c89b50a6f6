use core::convert::Infallible;

use super::TransferError;
use crate::frame::{FrameConfig, MAX_PREFIX_LEN};
use crate::header::{FileHeader, MAX_HEADER_LEN};
use crate::{Handled, Machine};

/// Bytes of the sender's buffer: the longest prefix plus the longest header.
pub const SENDER_BUF_LEN: usize = MAX_PREFIX_LEN + MAX_HEADER_LEN;

/// Sends one file: the header frame from an internal buffer, then counts body bytes that the
/// caller sends itself (zero-copy from its file or flash).
///
/// Order for a driver: send all of [`Machine::output_buf`] (reporting with
/// [`Machine::consume_output`]); once [`FileSender::header_sent`], send body bytes and report
/// each batch with [`FileSender::record_body`]; the transfer is over when
/// [`Machine::is_done`]. Then close the connection: the seed receiver knows the end by
/// `filesize`, but nothing else follows.
///
/// The receiver never sends in demo3, so any input is an error
/// ([`TransferError::UnexpectedInput`]) and is not consumed.
#[derive(Clone)]
pub struct FileSender {
    /// A plain array, not `heapless::Vec`: the prefix and header encoders write into a
    /// `&mut [u8]`, which a Vec could offer only by zero-filling and truncating again.
    buf: [u8; SENDER_BUF_LEN],
    /// Prefix + header bytes in `buf`.
    len: usize,
    /// Of those, bytes already sent.
    sent: usize,
    filesize: u64,
    body_sent: u64,
    failed: Option<TransferError>,
}

impl FileSender {
    /// Prepare the prefix and header for `header`, framed per `config`
    /// ([`FrameConfig::seed`] for the seed recipe).
    pub fn new(config: FrameConfig, header: &FileHeader<'_>) -> Result<Self, TransferError> {
        let json_len = header.encoded_len();
        if json_len > MAX_HEADER_LEN {
            return Err(TransferError::HeaderTooLong { len: json_len, max: MAX_HEADER_LEN });
        }
        let mut buf = [0u8; SENDER_BUF_LEN];
        let prefix_len =
            config.encode_prefix_into(json_len as u64, &mut buf).map_err(TransferError::Prefix)?;
        let (_, rest) = buf.split_at_mut(prefix_len);
        let written = header.encode(rest).map_err(TransferError::HeaderEncode)?;
        Ok(Self {
            buf,
            len: prefix_len + written,
            sent: 0,
            filesize: header.filesize,
            body_sent: 0,
            failed: None,
        })
    }

    /// The caller sent `n` more body bytes. Errors (and the sender fails) if the header is
    /// not fully sent yet or `n` exceeds what the header announced. `n == 0` is always fine.
    pub fn record_body(&mut self, n: u64) -> Result<(), TransferError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if n == 0 {
            return Ok(());
        }
        let err = if !self.header_sent() {
            TransferError::HeaderNotSent
        } else if n > self.body_remaining() {
            TransferError::Overrun { reported: n, remaining: self.body_remaining() }
        } else {
            self.body_sent += n;
            return Ok(());
        };
        self.failed = Some(err);
        Err(err)
    }

    /// True once every prefix and header byte was reported sent.
    pub const fn header_sent(&self) -> bool {
        self.sent >= self.len
    }

    /// Length of the header frame (prefix + JSON).
    pub const fn header_len(&self) -> usize {
        self.len
    }

    /// The body length announced in the header.
    pub const fn filesize(&self) -> u64 {
        self.filesize
    }

    /// Body bytes reported sent.
    pub const fn body_sent(&self) -> u64 {
        self.body_sent
    }

    /// Body bytes still to send.
    pub const fn body_remaining(&self) -> u64 {
        self.filesize.saturating_sub(self.body_sent)
    }

    /// The error that ended the transfer, if any.
    pub const fn error(&self) -> Option<TransferError> {
        self.failed
    }

    fn fail(&mut self, err: TransferError) -> TransferError {
        self.failed = Some(err);
        err
    }
}

// By hand: the derived one would print the whole 4 KiB buffer.
impl core::fmt::Debug for FileSender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FileSender")
            .field("header_len", &self.len)
            .field("header_bytes_sent", &self.sent)
            .field("filesize", &self.filesize)
            .field("body_sent", &self.body_sent)
            .field("failed", &self.failed)
            .finish()
    }
}

impl Machine for FileSender {
    /// The sender has nothing to report: progress is in its getters.
    type Event<'i> = Infallible;
    type Error = TransferError;

    /// Empty input is fine; any byte from the receiver is an error and is not consumed.
    /// After a complete transfer the error is reported but not kept: the file went out whole
    /// (as [`TransferError::ExtraData`] on the receiver).
    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<Infallible>, TransferError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if input.is_empty() {
            return Ok(Handled::consumed(0));
        }
        let err = TransferError::UnexpectedInput { len: input.len() };
        if self.is_done() {
            return Err(err);
        }
        Err(self.fail(err))
    }

    /// A seed receiver closes only after the whole body, so a close before that means it gave
    /// up: an error. After the body it is the normal end.
    fn handle_eof(&mut self) -> Result<Option<Infallible>, TransferError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if self.is_done() {
            return Ok(None);
        }
        Err(self.fail(TransferError::PeerClosed { body_remaining: self.body_remaining() }))
    }

    /// The unsent part of the prefix + header; empty after an error.
    fn output_buf(&self) -> &[u8] {
        if self.failed.is_some() {
            return &[];
        }
        self.buf.get(self.sent..self.len).unwrap_or(&[])
    }

    fn consume_output(&mut self, n: usize) {
        self.sent = self.sent.saturating_add(n).min(self.len);
    }

    /// Header sent and every body byte reported, or failed.
    fn is_done(&self) -> bool {
        self.failed.is_some() || (self.header_sent() && self.body_remaining() == 0)
    }
}
