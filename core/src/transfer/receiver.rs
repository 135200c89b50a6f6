use super::TransferError;
use crate::frame::{FrameConfig, FrameError, FrameReader};
use crate::header::{DecodedFields, FileHeader, MAX_HEADER_LEN};
use crate::{Handled, Machine};

/// What the receiver found. Body chunks borrow the caller's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveEvent<'i> {
    /// The header arrived and decoded; read it with [`FileReceiver::header`].
    Header {
        /// Body bytes that will follow.
        filesize: u64,
    },
    /// Body bytes, in order.
    Body {
        /// The bytes, borrowed from the input.
        chunk: &'i [u8],
        /// Body bytes still to come after `chunk`.
        remaining: u64,
    },
    /// The whole body arrived (also right after `Header` for an empty file).
    Complete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    /// Handing out the body; `Complete` is due once all of it went out.
    Body,
    Complete,
    Failed(TransferError),
}

/// Receives one file. `N` is the header buffer: the largest header JSON accepted (a longer
/// prefix is refused before any header byte is stored) and the storage its names are
/// unescaped into, in place.
///
/// Events, in order: [`ReceiveEvent::Header`], any number of [`ReceiveEvent::Body`], then
/// [`ReceiveEvent::Complete`]. At most one event comes per call, so call
/// [`Machine::handle_input`] again after every event, even with no input left: `Complete`
/// comes from such a call with 0 bytes consumed (or from [`Machine::handle_eof`]).
///
/// Bytes after the body are never consumed; offered to a completed receiver they give
/// [`TransferError::ExtraData`] (the file stays complete). A close before the body is
/// complete is [`TransferError::Truncated`]. The generic `N` has a default, but in expression
/// position Rust does not infer defaults: write `let r: FileReceiver = FileReceiver::new(..)`
/// or `FileReceiver::<N>::new(..)`.
#[derive(Clone)]
pub struct FileReceiver<const N: usize = MAX_HEADER_LEN> {
    reader: FrameReader,
    /// A plain array, not `heapless::Vec`: `read_frame` writes into a `&mut [u8]` and the
    /// header decodes in place, and the frame reader already knows how much is filled.
    buf: [u8; N],
    max_size: u64,
    fields: Option<DecodedFields>,
    /// Body bytes handed out.
    received: u64,
    state: State,
}

impl<const N: usize> FileReceiver<N> {
    /// A receiver for a header framed per `config` ([`FrameConfig::seed`] for the seed
    /// recipe), accepting any file size.
    pub const fn new(config: FrameConfig) -> Self {
        Self {
            reader: FrameReader::new(config),
            buf: [0; N],
            max_size: u64::MAX,
            fields: None,
            received: 0,
            state: State::Header,
        }
    }

    /// Refuse a file larger than `max` bytes as soon as the header says so
    /// ([`TransferError::TooLarge`]), before any body byte.
    #[must_use]
    pub const fn with_max_size(mut self, max: u64) -> Self {
        self.max_size = max;
        self
    }

    /// The largest file accepted.
    pub const fn max_size(&self) -> u64 {
        self.max_size
    }

    /// The decoded header, once it arrived (kept after completion and after later errors;
    /// also available when the file was refused as [`TransferError::TooLarge`]).
    pub fn header(&self) -> Option<FileHeader<'_>> {
        self.fields.as_ref()?.header(&self.buf).ok()
    }

    /// The announced body length, once the header arrived.
    pub fn filesize(&self) -> Option<u64> {
        self.fields.as_ref().map(|f| f.filesize)
    }

    /// Body bytes handed out so far.
    pub const fn received(&self) -> u64 {
        self.received
    }

    /// Body bytes still to come, once the header arrived (0 when complete).
    pub fn remaining(&self) -> Option<u64> {
        self.filesize().map(|size| size.saturating_sub(self.received))
    }

    /// True once [`ReceiveEvent::Complete`] was returned.
    pub const fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete)
    }

    /// The error that ended the transfer, if any ([`TransferError::ExtraData`] is not kept:
    /// the transfer itself completed).
    pub const fn error(&self) -> Option<TransferError> {
        match self.state {
            State::Failed(err) => Some(err),
            _ => None,
        }
    }

    fn fail(&mut self, err: TransferError) -> TransferError {
        self.state = State::Failed(err);
        err
    }

    fn read_header<'i>(
        &mut self,
        input: &'i [u8],
    ) -> Result<Handled<ReceiveEvent<'i>>, TransferError> {
        // Keep only the frame's length, so the borrow of `buf` ends here.
        let step = match self.reader.read_frame(input, &mut self.buf) {
            Ok(step) => Handled { consumed: step.consumed, event: step.event.map(<[u8]>::len) },
            Err(err) => return Err(self.fail(TransferError::Frame(err))),
        };
        let Some(json_len) = step.event else {
            return Ok(Handled::consumed(step.consumed));
        };
        let json = self.buf.get_mut(..json_len).unwrap_or(&mut []);
        let fields = match DecodedFields::parse_in_place(json, N) {
            Ok(fields) => fields,
            Err(err) => return Err(self.fail(TransferError::Header(err))),
        };
        let filesize = fields.filesize;
        self.fields = Some(fields);
        if filesize > self.max_size {
            return Err(self.fail(TransferError::TooLarge { filesize, max: self.max_size }));
        }
        self.state = State::Body;
        Ok(Handled::event(step.consumed, ReceiveEvent::Header { filesize }))
    }
}

// By hand: the derived one would print the whole header buffer.
impl<const N: usize> core::fmt::Debug for FileReceiver<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FileReceiver")
            .field("capacity", &N)
            .field("state", &self.state)
            .field("header", &self.header())
            .field("received", &self.received)
            .field("max_size", &self.max_size)
            .finish()
    }
}

impl<const N: usize> Machine for FileReceiver<N> {
    type Event<'i> = ReceiveEvent<'i>;
    type Error = TransferError;

    fn handle_input<'i>(
        &mut self,
        input: &'i [u8],
    ) -> Result<Handled<ReceiveEvent<'i>>, TransferError> {
        match self.state {
            State::Failed(err) => Err(err),
            State::Header => self.read_header(input),
            State::Body => {
                let remaining = self.remaining().unwrap_or(0);
                if remaining == 0 {
                    self.state = State::Complete;
                    return Ok(Handled::event(0, ReceiveEvent::Complete));
                }
                let take = input.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
                if take == 0 {
                    return Ok(Handled::consumed(0));
                }
                let (chunk, _) = input.split_at(take);
                self.received += take as u64;
                let remaining = remaining - take as u64;
                Ok(Handled::event(take, ReceiveEvent::Body { chunk, remaining }))
            }
            State::Complete if input.is_empty() => Ok(Handled::consumed(0)),
            State::Complete => Err(TransferError::ExtraData { len: input.len() }),
        }
    }

    /// `Complete` if it was still due; an error if the header or body is incomplete.
    fn handle_eof(&mut self) -> Result<Option<ReceiveEvent<'static>>, TransferError> {
        match self.state {
            State::Failed(err) => Err(err),
            State::Complete => Ok(None),
            State::Body if self.remaining() == Some(0) => {
                self.state = State::Complete;
                Ok(Some(ReceiveEvent::Complete))
            }
            State::Body => {
                let expected = self.filesize().unwrap_or(0);
                Err(self.fail(TransferError::Truncated { received: self.received, expected }))
            }
            State::Header => {
                let err = match self.reader.finish() {
                    Err(err) => err,
                    // Closed before the first byte: still a missing header.
                    Ok(()) => FrameError::TruncatedPrefix {
                        have: 0,
                        need: self.reader.decoder().config().width().bytes() as u8,
                    },
                };
                Err(self.fail(TransferError::Frame(err)))
            }
        }
    }

    /// The receiver never sends.
    fn output_buf(&self) -> &[u8] {
        &[]
    }

    fn consume_output(&mut self, _n: usize) {}

    fn is_done(&self) -> bool {
        matches!(self.state, State::Complete | State::Failed(_))
    }
}
