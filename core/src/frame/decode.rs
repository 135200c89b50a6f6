use super::{FrameConfig, MAX_PREFIX_LEN};
use crate::{Handled, Machine};

/// Why a byte stream is not a valid sequence of frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A signed length field held a negative value (mp: other than the `-1` marker).
    #[error("negative frame length {value}")]
    Negative {
        /// The value read.
        value: i64,
    },
    /// The announced length exceeds the configured maximum; nothing was buffered.
    #[error("frame length {len} exceeds the maximum of {max} bytes")]
    Oversize {
        /// The announced length.
        len: u64,
        /// The configured limit.
        max: u64,
    },
    /// The stream ended inside a length prefix.
    #[error("stream ended inside a length prefix ({have} of {need} bytes)")]
    TruncatedPrefix {
        /// Prefix bytes received.
        have: u8,
        /// Prefix bytes needed.
        need: u8,
    },
    /// The stream ended inside a payload.
    // Saturating: the fields are public, so `missing > len` can be built.
    #[error("stream ended inside a frame ({} of {len} bytes received)", .len.saturating_sub(*.missing))]
    TruncatedPayload {
        /// The frame's announced length.
        len: u64,
        /// Payload bytes that never arrived.
        missing: u64,
    },
    /// A whole frame was asked for, but it is longer than the caller's buffer.
    #[error("frame of {len} bytes does not fit a {capacity}-byte buffer")]
    BufferTooSmall {
        /// The announced length.
        len: u64,
        /// The buffer's capacity.
        capacity: usize,
    },
}

/// What the decoder found. Payload chunks borrow the caller's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameEvent<'i> {
    /// A prefix announced a frame of `len` payload bytes (already checked against the limit).
    Start {
        /// Payload length.
        len: u64,
    },
    /// Payload bytes, in order.
    Data {
        /// The bytes, borrowed from the input.
        chunk: &'i [u8],
        /// Payload bytes of this frame still to come after `chunk`.
        remaining: u64,
    },
    /// The frame's payload is complete.
    End,
}

/// Receive state: an explicit enum, so an oversize length is rejected before anything is
/// buffered, and a payload is never buffered at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RxState {
    /// Collecting the length field; `need` grows from 4 to 12 on the mp `-1` marker. An array,
    /// not `heapless::Vec`: the state is `Copy`.
    Prefix { buf: [u8; MAX_PREFIX_LEN], have: u8, need: u8 },
    /// Handing out payload bytes; `End` is due when `remaining` reaches 0.
    Payload { len: u64, remaining: u64 },
    /// A protocol error happened; it is reported again on every call.
    Failed(FrameError),
    /// The stream ended cleanly at a frame boundary; further input is ignored.
    Closed,
}

/// Streaming frame decoder. Feed it any split of the byte stream; it yields
/// `Start`, zero or more `Data`, and `End` for every frame.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    config: FrameConfig,
    state: RxState,
}

impl FrameDecoder {
    /// A decoder at a frame boundary.
    pub const fn new(config: FrameConfig) -> Self {
        Self { config, state: Self::fresh_prefix(&config) }
    }

    const fn fresh_prefix(config: &FrameConfig) -> RxState {
        RxState::Prefix { buf: [0; MAX_PREFIX_LEN], have: 0, need: config.width().bytes() as u8 }
    }

    /// The configuration in use.
    pub const fn config(&self) -> &FrameConfig {
        &self.config
    }

    /// True between frames (no partial prefix or payload pending).
    pub const fn at_boundary(&self) -> bool {
        matches!(self.state, RxState::Prefix { have: 0, .. } | RxState::Closed)
    }

    /// Payload bytes still expected for the current frame, if one is open.
    pub const fn remaining(&self) -> Option<u64> {
        match self.state {
            RxState::Payload { remaining, .. } => Some(remaining),
            _ => None,
        }
    }

    /// Feed stream bytes. Returns the bytes consumed and at most one event; call again with
    /// the rest of the input (an event may come with 0 bytes consumed, e.g. `End`).
    pub fn decode<'i>(&mut self, input: &'i [u8]) -> Result<Handled<FrameEvent<'i>>, FrameError> {
        match &mut self.state {
            RxState::Failed(err) => Err(*err),
            RxState::Closed => Ok(Handled::consumed(0)),
            RxState::Payload { remaining: 0, .. } => {
                self.state = Self::fresh_prefix(&self.config);
                Ok(Handled::event(0, FrameEvent::End))
            }
            RxState::Payload { remaining, .. } => {
                let take = input.len().min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                if take == 0 {
                    return Ok(Handled::consumed(0));
                }
                let (chunk, _) = input.split_at(take);
                *remaining -= take as u64;
                let remaining = *remaining;
                Ok(Handled::event(take, FrameEvent::Data { chunk, remaining }))
            }
            RxState::Prefix { .. } => self.decode_prefix(input),
        }
    }

    // Out of line: the payload and `End` calls (two of every three) then need none of the
    // registers this one saves.
    #[inline(never)]
    fn decode_prefix<'i>(
        &mut self,
        input: &'i [u8],
    ) -> Result<Handled<FrameEvent<'i>>, FrameError> {
        let Self { config, state } = self;
        let mut consumed = 0;
        loop {
            let RxState::Prefix { buf, have, need } = state else {
                return Ok(Handled::consumed(consumed));
            };
            let rest = input.get(consumed..).unwrap_or(&[]);
            let (field, extended) = if *have == 0 && rest.len() >= usize::from(*need) {
                // The common case: the whole field is in the input; read it in place.
                let (field, _) = rest.split_at(usize::from(*need));
                consumed += field.len();
                (field, false)
            } else {
                let want = usize::from(*need - *have);
                let (src, _) = rest.split_at(want.min(rest.len()));
                if let Some(dst) = buf.get_mut(usize::from(*have)..usize::from(*have) + src.len()) {
                    dst.copy_from_slice(src);
                }
                *have += src.len() as u8;
                consumed += src.len();
                if *have < *need {
                    return Ok(Handled::consumed(consumed));
                }
                (buf.get(..usize::from(*need)).unwrap_or(&[]), *need > config.width().bytes() as u8)
            };
            let parsed = if extended {
                // The mp extension's u64 after the -1 marker.
                Ok(Some(read_u64_be(field.get(4..).unwrap_or(&[]))))
            } else {
                parse_field(config, field)
            };
            match parsed {
                Err(err) => {
                    *state = RxState::Failed(err);
                    return Err(err);
                }
                Ok(None) => {
                    // mp marker: eight more bytes of length follow (the marker is kept, so
                    // the collected field is always marker + u64).
                    let mut marker = [0; MAX_PREFIX_LEN];
                    if let (Some(dst), Some(src)) = (marker.get_mut(..4), field.get(..4)) {
                        dst.copy_from_slice(src);
                    }
                    *state = RxState::Prefix { buf: marker, have: 4, need: MAX_PREFIX_LEN as u8 };
                }
                Ok(Some(len)) => {
                    let max = config.max_frame_len();
                    if len > max {
                        let err = FrameError::Oversize { len, max };
                        *state = RxState::Failed(err);
                        return Err(err);
                    }
                    *state = RxState::Payload { len, remaining: len };
                    return Ok(Handled::event(consumed, FrameEvent::Start { len }));
                }
            }
        }
    }

    /// The stream ended. `Ok(Some(End))` if a completed frame's `End` was still due,
    /// `Ok(None)` at a boundary, an error inside a prefix or payload. After a clean end the
    /// decoder is done ([`Machine::is_done`]) and ignores further input.
    pub fn finish(&mut self) -> Result<Option<FrameEvent<'static>>, FrameError> {
        match self.state {
            RxState::Failed(err) => Err(err),
            RxState::Closed => Ok(None),
            RxState::Prefix { have: 0, .. } => {
                self.state = RxState::Closed;
                Ok(None)
            }
            RxState::Prefix { have, need, .. } => {
                let err = FrameError::TruncatedPrefix { have, need };
                self.state = RxState::Failed(err);
                Err(err)
            }
            RxState::Payload { remaining: 0, .. } => {
                self.state = RxState::Closed;
                Ok(Some(FrameEvent::End))
            }
            RxState::Payload { len, remaining } => {
                let err = FrameError::TruncatedPayload { len, missing: remaining };
                self.state = RxState::Failed(err);
                Err(err)
            }
        }
    }
}

fn read_u64_be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b))
}

/// The announced length; `Ok(None)` is the mp `-1` marker.
fn parse_field(config: &FrameConfig, field: &[u8]) -> Result<Option<u64>, FrameError> {
    let raw = config.read_field(field);
    if !config.signed() {
        return Ok(Some(raw));
    }
    let value = config.signed_value(raw);
    if value == -1 && config.mp_extension() {
        return Ok(None);
    }
    u64::try_from(value).map(Some).map_err(|_| FrameError::Negative { value })
}

impl Machine for FrameDecoder {
    type Event<'i> = FrameEvent<'i>;
    type Error = FrameError;

    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<FrameEvent<'i>>, FrameError> {
        self.decode(input)
    }
    fn handle_eof(&mut self) -> Result<Option<FrameEvent<'static>>, FrameError> {
        self.finish()
    }
    fn output_buf(&self) -> &[u8] {
        &[]
    }
    fn consume_output(&mut self, _n: usize) {}
    fn is_done(&self) -> bool {
        matches!(self.state, RxState::Failed(_) | RxState::Closed)
    }
}
