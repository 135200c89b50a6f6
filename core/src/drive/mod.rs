//! The drive contract, in one place: a sans-IO driver that tells a transport what to do
//! next with a [`Machine`], in the manner of rustls's unbuffered API.
//!
//! Every transport (the blocking [`Conn`](crate::io::Conn), the smoltcp pump, the in-memory
//! [`pair`](crate::pair) harness, a serial link, an async socket) keeps a receive buffer and
//! asks a [`Driver`] for the next [`Action`], over and over:
//!
//! ```text
//! loop {
//!     let step = driver.step(&mut machine, Input::new(received).closed(peer_closed))?;
//!     match step.action {
//!         Action::Transmit(t) => { let n = send(t.bytes()); t.sent(n) }      // any prefix
//!         Action::Event(event) => handle(event),              // may use machine mutators
//!         Action::Closed(event) => handle(event),           // its answer to the close
//!         Action::NeedInput => wait for bytes (or the peer's close),
//!         Action::WaitingForCaller { .. } => act (reply), or give up,
//!         Action::Finished => break,       // bytes not consumed belong to what comes next
//!     }
//!     drop `step.consumed` bytes from the front of the receive buffer
//! }
//! ```
//!
//! What the driver encodes so that no transport writes it again:
//!
//! * **Output first.** Pending output is offered as [`Action::Transmit`] before input is
//!   fed. A transport that takes only part of it (a full socket buffer) just reports what
//!   went out; the driver then feeds input anyway and offers the rest again on the next
//!   turn (after a resting action: [`Action::NeedInput`], [`Action::WaitingForCaller`]).
//! * **The follow-up call.** After every event the machine is called again, even with no
//!   input left: some events (a frame's `End`, a transfer's `Complete`) come from such a
//!   call with 0 bytes consumed.
//! * **The EOF hold-back.** [`Machine::handle_eof`] is called once, only when the peer
//!   closed *and* no received byte is left unconsumed. A machine that waits for the caller
//!   (an [`Agent`](crate::command::Agent) owing a reply) takes nothing, and hearing of the
//!   close then would make it drop the commands still buffered.
//! * **Stall and buffer-full.** When more input cannot come (the peer closed, or the
//!   caller's buffer is full) and the machine takes none of what is buffered, the answer is
//!   [`Action::WaitingForCaller`], never a spin or a blocking read.
//! * **A close too early.** A machine that is not done after hearing of the close, and had
//!   nothing to say about it, ends the drive with [`StepError::UnexpectedEof`]. One that
//!   answered the close with an event and is not done waits for the caller (an agent whose
//!   reply is under way).
//!
//! Events borrow only the input, never the machine or the driver: handle one, call the
//! machine's mutators, then call [`Driver::step`] again with the same buffer minus
//! [`Step::consumed`].
//!
//! ## Time
//!
//! The core reads no clock. Time is a [`Duration`] since an epoch the caller picks (boot,
//! say), passed in, in the manner of quinn-proto: [`Driver::poll_timeout`] says when the
//! driver next needs to hear the time, [`Driver::handle_timeout`] is told it. A driver can
//! carry an *idle* deadline (no byte in either direction and no event for that long: the
//! peer is gone or stalling) and a *phase* deadline (an absolute time by which the machine
//! must be finished: a handshake, a header). When one passes, `handle_timeout` returns
//! which ([`Expired`]) and the transport drops the connection; the machine is not told.
//!
//! ## A new transport shim
//!
//! A whole shim over an in-memory byte pipe, with a phase deadline; a serial port or a
//! socket differs only in `send` and `receive`:
//!
//! ```
//! use core::time::Duration;
//! use wirekit_core::drive::{Action, Driver, Expired, Input, StepError};
//! use wirekit_core::frame::{FrameConfig, FrameDecoder, FrameEvent};
//! use wirekit_core::Machine;
//!
//! /// A transport: bytes arrive in `incoming` (the first `read` are consumed), the peer
//! /// may have closed; sent bytes go to `outgoing`.
//! struct Pipe {
//!     incoming: Vec<u8>,
//!     read: usize,
//!     peer_closed: bool,
//!     outgoing: Vec<u8>,
//! }
//!
//! #[derive(Debug, PartialEq)]
//! enum Stop<E> {
//!     Machine(E),
//!     ClosedEarly,
//!     Stalled,
//!     TimedOut(Expired),
//! }
//!
//! /// Run `machine` on `pipe`, handing each event to `on_event`.
//! fn run<M: Machine>(
//!     pipe: &mut Pipe,
//!     machine: &mut M,
//!     now: Duration,
//!     mut on_event: impl for<'i> FnMut(&mut M, M::Event<'i>),
//! ) -> Result<(), Stop<M::Error>> {
//!     // The whole exchange must be over within 5 s of `now`.
//!     let mut driver = Driver::new().with_deadline(now + Duration::from_secs(5));
//!     driver.handle_timeout(now).map_err(Stop::TimedOut)?;
//!     loop {
//!         let received = &pipe.incoming[pipe.read..];
//!         let input = Input::new(received).closed(pipe.peer_closed);
//!         let step = driver.step(machine, input).map_err(|e| match e {
//!             StepError::Machine(e) => Stop::Machine(e),
//!             StepError::UnexpectedEof => Stop::ClosedEarly,
//!         })?;
//!         // Events may borrow `incoming`, so only the offset moves while they live.
//!         pipe.read += step.consumed;
//!         match step.action {
//!             Action::Transmit(transmit) => {
//!                 let n = transmit.bytes().len(); // a real link may take fewer
//!                 pipe.outgoing.extend_from_slice(transmit.bytes());
//!                 transmit.sent(n);
//!             }
//!             Action::Event(event) => on_event(machine, event),
//!             Action::Closed(event) => on_event(machine, event),
//!             // Nothing more will arrive in this example; a real shim waits here for
//!             // bytes or `driver.poll_timeout()`, then calls `driver.handle_timeout(now)`.
//!             Action::NeedInput | Action::WaitingForCaller { .. } => return Err(Stop::Stalled),
//!             Action::Finished => return Ok(()),
//!         }
//!     }
//! }
//!
//! // Two frames, then the close.
//! let mut pipe = Pipe {
//!     incoming: b"\x02\x00\x00\x00hi\x00\x00\x00\x00".to_vec(),
//!     read: 0,
//!     peer_closed: true,
//!     outgoing: Vec::new(),
//! };
//! let mut decoder = FrameDecoder::new(FrameConfig::seed());
//! let mut frames = Vec::new();
//! run(&mut pipe, &mut decoder, Duration::ZERO, |_, event| match event {
//!     FrameEvent::Start { .. } => frames.push(Vec::new()),
//!     FrameEvent::Data { chunk, .. } => frames.last_mut().unwrap().extend_from_slice(chunk),
//!     FrameEvent::End => {}
//! })
//! .unwrap();
//! assert_eq!(frames, [b"hi".to_vec(), Vec::new()]);
//! assert_eq!(pipe.read, pipe.incoming.len());
//!
//! // The same decoder cut off mid-frame: the close is an error of the machine.
//! let mut pipe =
//!     Pipe { incoming: vec![5, 0, 0, 0, b'a'], read: 0, peer_closed: true, outgoing: vec![] };
//! let mut decoder = FrameDecoder::new(FrameConfig::seed());
//! let cut = run(&mut pipe, &mut decoder, Duration::ZERO, |_, _| {});
//! assert!(matches!(cut, Err(Stop::Machine(_))));
//!
//! // A deadline is an answer of `handle_timeout`, not of `step`.
//! let mut driver = Driver::new().with_deadline(Duration::from_secs(5));
//! assert_eq!(driver.poll_timeout(), Some(Duration::from_secs(5)));
//! assert_eq!(driver.handle_timeout(Duration::from_secs(6)), Err(Expired::Deadline));
//! ```

use core::fmt;
use core::time::Duration;

use crate::Machine;

mod deadline;
#[cfg(test)]
mod tests;

pub use deadline::{Deadlines, Expired};

/// What the transport has for the machine: the bytes received and not yet consumed, and
/// whether more can come.
#[derive(Debug, Clone, Copy)]
pub struct Input<'i> {
    bytes: &'i [u8],
    peer_closed: bool,
    buffer_full: bool,
}

impl<'i> Input<'i> {
    /// `bytes` received so far and not yet consumed (all of them: the EOF hold-back counts
    /// on it; a ring buffer that hands out one slice at a time says `closed(false)` for a
    /// slice that is not the last).
    pub const fn new(bytes: &'i [u8]) -> Self {
        Self { bytes, peer_closed: false, buffer_full: false }
    }

    /// The peer closed its sending side after `bytes`.
    #[must_use]
    pub const fn closed(mut self, peer_closed: bool) -> Self {
        self.peer_closed = peer_closed;
        self
    }

    /// The caller's receive buffer has no room left, so no byte can arrive until the
    /// machine takes some.
    #[must_use]
    pub const fn full(mut self, buffer_full: bool) -> Self {
        self.buffer_full = buffer_full;
        self
    }
}

/// What to do next, and how many input bytes this step consumed.
#[must_use]
pub struct Step<'a, 'i, M: Machine> {
    /// Bytes of the input the machine took during this step: drop them from the front of
    /// the receive buffer (after handling an event, which may borrow them).
    pub consumed: usize,
    /// The next action.
    pub action: Action<'a, 'i, M>,
}

/// The next thing the transport must do.
#[must_use]
pub enum Action<'a, 'i, M: Machine> {
    /// Send (a prefix of) these bytes, then report how many went out.
    Transmit(Transmit<'a, M>),
    /// The machine reported an event; it may borrow the input, never the machine.
    Event(M::Event<'i>),
    /// The machine's answer to the peer's close (a transfer's `Complete`, an agent's
    /// `Closed`): an event like [`Action::Event`], borrowing nothing. A separate variant only
    /// because [`Machine::handle_eof`] returns `Event<'static>`.
    Closed(M::Event<'static>),
    /// Nothing to do until more bytes arrive or the peer closes (or, after a short
    /// [`Transmit`], until the transport can take more output).
    NeedInput,
    /// No more input can come (the peer closed, or the buffer is full) and the machine takes
    /// none of the `untaken` bytes buffered: it waits for a caller action (an agent's reply).
    /// With bytes untaken the close was not reported to it, so nothing is lost: act, then
    /// step again. With none, it heard of the close and still owes the caller's action.
    WaitingForCaller {
        /// Buffered bytes the machine does not take.
        untaken: usize,
    },
    /// The machine is done and its output sent. Bytes not consumed belong to whatever runs
    /// next on the connection.
    Finished,
}

impl<M: Machine> fmt::Debug for Action<'_, '_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transmit(t) => f.debug_tuple("Transmit").field(&t.bytes().len()).finish(),
            Self::Event(_) => f.write_str("Event(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
            Self::NeedInput => f.write_str("NeedInput"),
            Self::WaitingForCaller { untaken } => {
                f.debug_struct("WaitingForCaller").field("untaken", untaken).finish()
            }
            Self::Finished => f.write_str("Finished"),
        }
    }
}

/// Output waiting to be sent. Send any prefix of [`Transmit::bytes`] and report it with
/// [`Transmit::sent`]; a short send means "the transport is full for now".
#[must_use]
pub struct Transmit<'a, M: Machine> {
    machine: &'a mut M,
    /// `machine.output_buf().len()` when offered.
    len: usize,
    short: &'a mut bool,
    deadlines: &'a mut Deadlines,
}

impl<M: Machine> Transmit<'_, M> {
    /// The bytes to send.
    pub fn bytes(&self) -> &[u8] {
        self.machine.output_buf()
    }

    /// `n` of [`Transmit::bytes`] went out. Fewer than all of them: the driver feeds input
    /// next and offers the rest on the next turn.
    pub fn sent(self, n: usize) {
        self.machine.consume_output(n.min(self.len));
        if n > 0 {
            self.deadlines.activity();
        }
        if n < self.len {
            *self.short = true;
        }
    }
}

/// Why a drive stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StepError<E> {
    /// The machine rejected the peer's bytes or its close; the machine is done.
    #[error("{0}")]
    Machine(E),
    /// The peer closed, the machine took every byte and had nothing to say about the
    /// close, and it is not done.
    #[error("peer closed the connection too early")]
    UnexpectedEof,
}

/// The drive state of one machine on one connection; see the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct Driver {
    /// The last `handle_input` gave an event: call it again even with no input.
    follow_up: bool,
    /// `handle_eof` has been called.
    eof_delivered: bool,
    /// The last [`Transmit`] was cut short: feed input before offering output again.
    short_send: bool,
    deadlines: Deadlines,
}

impl Driver {
    /// A driver with no deadlines.
    pub const fn new() -> Self {
        Self {
            follow_up: false,
            eof_delivered: false,
            short_send: false,
            deadlines: Deadlines::new(),
        }
    }

    /// Drop the connection when nothing moved (no byte either way, no event) for `idle`.
    #[must_use]
    pub const fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.deadlines = self.deadlines.with_idle_timeout(idle);
        self
    }

    /// Drop the connection at `at` unless the machine is finished by then.
    #[must_use]
    pub const fn with_deadline(mut self, at: Duration) -> Self {
        self.deadlines = self.deadlines.with_deadline(at);
        self
    }

    /// The deadlines, e.g. to move the phase deadline when the next phase starts.
    pub fn deadlines_mut(&mut self) -> &mut Deadlines {
        &mut self.deadlines
    }

    /// Call the machine on the next [`Driver::step`] even with no input: a caller action
    /// (a reply finished through a mutator) let it take input it already holds, such as a
    /// [`SecureChannel`](crate::secure::SecureChannel)'s decrypted plaintext that waited
    /// for the inner machine. Without it the driver feeds a machine only new bytes or a
    /// follow-up after an event, and that plaintext would wait for the peer's next record.
    pub fn wake(&mut self) {
        self.follow_up = true;
    }

    /// The peer's close has been reported to the machine.
    pub const fn eof_delivered(&self) -> bool {
        self.eof_delivered
    }

    /// When the driver next needs [`Driver::handle_timeout`]; `None`: no deadline set.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.deadlines.poll_timeout()
    }

    /// Tell the driver the time: at the latest when [`Driver::poll_timeout`] passed, and
    /// best on every turn of the caller's loop (the idle deadline is measured from the
    /// first call after the last activity). `Err` when a deadline passed: drop the
    /// connection. A finished machine has no deadlines: stop calling it then.
    pub fn handle_timeout(&mut self, now: Duration) -> Result<(), Expired> {
        self.deadlines.handle_timeout(now)
    }

    /// Only the output: `Some` while `machine` has bytes to send, whatever else it waits
    /// for. For output queued by a mutator outside a step (an agent's reply prefix) that
    /// must go out before bytes the caller sends itself.
    pub fn poll_transmit<'a, M: Machine>(
        &'a mut self,
        machine: &'a mut M,
    ) -> Option<Transmit<'a, M>> {
        let len = machine.output_buf().len();
        if len == 0 {
            return None;
        }
        Some(Transmit { machine, len, short: &mut self.short_send, deadlines: &mut self.deadlines })
    }

    /// The next action for `machine`, given the transport's `input`; see the
    /// [module docs](self). `input` must start at the first byte not yet consumed.
    pub fn step<'a, 'i, M: Machine>(
        &'a mut self,
        machine: &'a mut M,
        input: Input<'i>,
    ) -> Result<Step<'a, 'i, M>, StepError<M::Error>> {
        let Input { mut bytes, peer_closed, buffer_full } = input;
        let mut consumed = 0usize;
        let action = loop {
            let len = machine.output_buf().len();
            if len > 0 && !self.short_send {
                let (short, deadlines) = (&mut self.short_send, &mut self.deadlines);
                break Action::Transmit(Transmit { machine, len, short, deadlines });
            }
            if machine.is_done() {
                if len == 0 {
                    break Action::Finished;
                }
                // Done, output left after a short send: wait until the transport can take it.
                self.short_send = false;
                break Action::NeedInput;
            }
            if !bytes.is_empty() || self.follow_up {
                let handled = machine.handle_input(bytes).map_err(StepError::Machine)?;
                // A machine never reports more than it was given; clamp anyway so a bug
                // cannot make the caller drop bytes that were never read.
                let taken = handled.consumed.min(bytes.len());
                bytes = bytes.get(taken..).unwrap_or(&[]);
                consumed += taken;
                self.follow_up = handled.event.is_some();
                if taken > 0 || self.follow_up {
                    self.deadlines.activity();
                }
                if let Some(event) = handled.event {
                    break Action::Event(event);
                }
                if taken > 0 {
                    continue;
                }
            }
            if !bytes.is_empty() {
                // The machine takes none of what it has. If more can come it may be waiting
                // for it; if not, it waits for the caller.
                self.short_send = false;
                if peer_closed || buffer_full {
                    break Action::WaitingForCaller { untaken: bytes.len() };
                }
                break Action::NeedInput;
            }
            if peer_closed && !self.eof_delivered {
                self.eof_delivered = true;
                self.deadlines.activity();
                match machine.handle_eof().map_err(StepError::Machine)? {
                    Some(event) => break Action::Closed(event),
                    None if machine.is_done() => continue,
                    None => return Err(StepError::UnexpectedEof),
                }
            }
            if self.eof_delivered {
                // It answered the close and is not done: it finishes on a caller action
                // (an agent's reply under way when the controller closed).
                self.short_send = false;
                break Action::WaitingForCaller { untaken: 0 };
            }
            self.short_send = false;
            break Action::NeedInput;
        };
        Ok(Step { consumed, action })
    }
}
