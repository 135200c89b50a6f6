//! Blocking glue over `embedded_io::{Read, Write}`: one pump that std code (through an
//! adapter type) and blocking firmware share.
//!
//! [`Conn`] owns the transport and a receive buffer. Bytes read past the end of one exchange
//! (say, application data right behind a handshake) stay in that buffer for the next
//! machine, so nothing is ever lost between machines. [`Conn::drive`] runs any
//! [`Machine`]: flush its output, feed it input, hand its events to a callback which decides
//! whether to keep going, and tell it about EOF.

use core::fmt;
use core::ops::ControlFlow;

use embedded_io::{Read, Write};

use crate::auth::{Handshake, Outcome};
use crate::drive::{Action, Driver, Input, Step, StepError, Transmit};
use crate::frame::{FrameConfig, FrameError, FrameReader};
use crate::Machine;

mod transfer;

pub use transfer::{FileIoError, Incoming};

#[cfg(test)]
mod tests;

/// What stopped a drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriveError<IoE, ME> {
    /// The transport failed.
    Io(IoE),
    /// The transport accepted no bytes (`write` returned 0).
    WriteZero,
    /// The protocol machine reported an error.
    Protocol(ME),
    /// The peer closed before the machine was done, and the machine had nothing to say.
    UnexpectedEof,
    /// The receive buffer is full and the machine consumed nothing from it.
    BufferFull,
    /// The peer closed, and the machine takes none of the `buffered` bytes it sent before
    /// closing: it waits for a caller action (e.g. an [`Agent`](crate::command::Agent) whose
    /// reply is due). `handle_eof` was not called, so nothing is lost: act, then drive again.
    Stalled {
        /// Bytes received before the close that the machine has not taken.
        buffered: usize,
    },
}

impl<IoE: fmt::Display, ME: fmt::Display> fmt::Display for DriveError<IoE, ME> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "transport error: {e}"),
            Self::WriteZero => f.write_str("transport accepted no bytes"),
            Self::Protocol(e) => write!(f, "{e}"),
            Self::UnexpectedEof => f.write_str("peer closed the connection too early"),
            Self::BufferFull => f.write_str("receive buffer full without progress"),
            Self::Stalled { buffered } => write!(
                f,
                "peer closed; the machine takes none of the {buffered} bytes sent before that"
            ),
        }
    }
}

impl<IoE: fmt::Debug + fmt::Display, ME: fmt::Debug + fmt::Display> core::error::Error
    for DriveError<IoE, ME>
{
}

/// A transport plus an `N`-byte receive buffer.
#[derive(Debug)]
pub struct Conn<T, const N: usize = 4096> {
    io: T,
    rx: [u8; N],
    start: usize,
    end: usize,
    eof: bool,
}

impl<T: Read + Write, const N: usize> Conn<T, N> {
    /// Wrap a transport.
    pub fn new(io: T) -> Self {
        Self { io, rx: [0; N], start: 0, end: 0, eof: false }
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The transport, e.g. to write a file body directly.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Received bytes no machine has consumed yet.
    pub fn buffered(&self) -> &[u8] {
        self.rx.get(self.start..self.end).unwrap_or(&[])
    }

    /// Drop `n` buffered bytes (after using them from [`Conn::buffered`]).
    pub fn consume_buffered(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// True once the peer closed its sending side and the buffer is drained.
    pub fn at_eof(&self) -> bool {
        self.eof && self.start == self.end
    }

    /// Give back the transport. Bytes still in [`Conn::buffered`] are dropped with the
    /// buffer: take them first if they matter.
    pub fn into_inner(self) -> T {
        self.io
    }

    /// Read more bytes into the buffer. Returns 0 at EOF (then [`Conn::at_eof`] once drained)
    /// and also when the buffer is full, so tell the two apart before treating 0 as a close.
    pub fn fill(&mut self) -> Result<usize, T::Error> {
        if self.eof {
            return Ok(0);
        }
        if self.start > 0 && self.end == N {
            self.rx.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let Some(space) = self.rx.get_mut(self.end..) else { return Ok(0) };
        if space.is_empty() {
            return Ok(0);
        }
        // A transport that reports more than it was given must not push `end` past the buffer
        // (that would make every later read look full and the pump spin).
        let n = self.io.read(space)?.min(space.len());
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        Ok(n)
    }

    /// Send every byte of `bytes` (e.g. a file body behind a transfer header).
    pub fn write_all(
        &mut self,
        bytes: &[u8],
    ) -> Result<(), DriveError<T::Error, core::convert::Infallible>> {
        write_all(&mut self.io, bytes)
    }

    /// Send one frame: the prefix, then the payload, then flush.
    pub fn send_frame(
        &mut self,
        config: &FrameConfig,
        payload: &[u8],
    ) -> Result<(), DriveError<T::Error, crate::frame::EncodeError>> {
        let prefix = config.encode_prefix(payload.len() as u64).map_err(DriveError::Protocol)?;
        write_all(&mut self.io, prefix.as_bytes())?;
        write_all(&mut self.io, payload)?;
        self.io.flush().map_err(DriveError::Io)
    }

    /// Receive one whole frame into `buf` and return it. Bytes after the frame stay buffered.
    pub fn recv_frame<'b>(
        &mut self,
        config: &FrameConfig,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], DriveError<T::Error, FrameError>> {
        let mut reader = FrameReader::new(*config);
        let len = loop {
            let step = reader.read_frame(self.buffered(), buf).map_err(DriveError::Protocol)?;
            self.consume_buffered(step.consumed);
            if let Some(frame) = step.event {
                break frame.len();
            }
            if self.fill().map_err(DriveError::Io)? == 0 {
                reader.finish().map_err(DriveError::Protocol)?;
                return Err(DriveError::UnexpectedEof);
            }
        };
        let buf: &'b [u8] = buf;
        Ok(buf.get(..len).unwrap_or(&[]))
    }

    /// Run `machine` until it is done or `on_event` breaks.
    ///
    /// A blocking shim over [`Driver`](crate::drive::Driver), which decides the order (output
    /// first, the follow-up call after each event, EOF only once every buffered byte was
    /// taken); each event goes to `on_event`, which may use the machine's mutators. Returns `Ok(Some(b))` when `on_event` broke with `b` (call again to
    /// resume), `Ok(None)` when the machine is done.
    ///
    /// A machine that waits for the caller before it takes more input (an
    /// [`Agent`](crate::command::Agent) after a command, until its reply is recorded) needs
    /// `on_event` to break: the caller acts (sends the reply: [`Conn::flush_output`] for the
    /// agent's prefix, then [`Conn::write_all`]) and drives again. Continuing instead ends in a blocking read, [`DriveError::BufferFull`]
    /// or [`DriveError::Stalled`].
    pub fn drive<M: Machine, B>(
        &mut self,
        machine: &mut M,
        mut on_event: impl for<'i> FnMut(&mut M, M::Event<'i>) -> ControlFlow<B>,
    ) -> Result<Option<B>, DriveError<T::Error, M::Error>> {
        let mut driver = Driver::new();
        loop {
            // What to do once the step's borrow of the receive buffer has ended.
            enum Next<B> {
                Flow(ControlFlow<B>),
                Fill,
                Finished,
            }
            let (consumed, next) = {
                let buffered = self.rx.get(self.start..self.end).unwrap_or(&[]);
                let input = Input::new(buffered).closed(self.eof).full(buffered.len() == N);
                let Step { consumed, action } =
                    driver.step(machine, input).map_err(|e| match e {
                        StepError::Machine(e) => DriveError::Protocol(e),
                        StepError::UnexpectedEof => DriveError::UnexpectedEof,
                    })?;
                let next = match action {
                    Action::Transmit(transmit) => {
                        send(&mut self.io, transmit)?;
                        Next::Flow(ControlFlow::Continue(()))
                    }
                    Action::Event(event) => Next::Flow(on_event(machine, event)),
                    Action::Closed(event) => Next::Flow(on_event(machine, event)),
                    Action::NeedInput => Next::Fill,
                    // It heard of the close and is not done.
                    Action::WaitingForCaller { untaken: 0 } => {
                        return Err(DriveError::UnexpectedEof)
                    }
                    Action::WaitingForCaller { untaken } if self.eof => {
                        return Err(DriveError::Stalled { buffered: untaken })
                    }
                    Action::WaitingForCaller { .. } => return Err(DriveError::BufferFull),
                    Action::Finished => Next::Finished,
                };
                (consumed, next)
            };
            self.consume_buffered(consumed);
            match next {
                Next::Flow(ControlFlow::Continue(())) => {}
                Next::Flow(ControlFlow::Break(b)) => {
                    self.flush_output(machine)?;
                    return Ok(Some(b));
                }
                Next::Fill => {
                    self.fill().map_err(DriveError::Io)?;
                }
                Next::Finished => return Ok(None),
            }
        }
    }

    /// Run a handshake to its end and return its outcome. Bytes the peer sent after the
    /// handshake stay buffered for whatever runs next on this connection.
    ///
    /// `Ok` means the exchange ran to an end, not that it succeeded: a rejected peer is
    /// `Ok(Outcome::PeerRejected(..))`. Check [`Outcome::peer_authenticated`] before trusting
    /// the connection.
    pub fn authenticate<H: Handshake>(
        &mut self,
        handshake: &mut H,
    ) -> Result<Outcome, DriveError<T::Error, H::Error>> {
        self.drive(handshake, |_, _| ControlFlow::<()>::Continue(()))?;
        // A finished handshake always has an outcome; a machine that stopped without one
        // would be a bug, reported as the peer having closed.
        handshake.outcome().ok_or(DriveError::UnexpectedEof)
    }

    /// Send everything in `machine`'s [`Machine::output_buf`] and flush the transport. For
    /// output queued outside [`Conn::drive`] that must go out before bytes the caller writes
    /// itself: an [`Agent`](crate::command::Agent)'s reply prefix before stdout and stderr.
    pub fn flush_output<M: Machine>(
        &mut self,
        machine: &mut M,
    ) -> Result<(), DriveError<T::Error, M::Error>> {
        match Driver::new().poll_transmit(machine) {
            Some(transmit) => send(&mut self.io, transmit),
            None => Ok(()),
        }
    }
}

/// Send all of a [`Transmit`] and flush.
fn send<W: Write, M: Machine>(
    io: &mut W,
    transmit: Transmit<'_, M>,
) -> Result<(), DriveError<W::Error, M::Error>> {
    let len = transmit.bytes().len();
    write_all(io, transmit.bytes())?;
    transmit.sent(len);
    io.flush().map_err(DriveError::Io)
}

fn write_all<W: Write, E>(io: &mut W, mut bytes: &[u8]) -> Result<(), DriveError<W::Error, E>> {
    while !bytes.is_empty() {
        let n = io.write(bytes).map_err(DriveError::Io)?;
        if n == 0 {
            return Err(DriveError::WriteZero);
        }
        bytes = bytes.get(n..).unwrap_or(&[]);
    }
    Ok(())
}
