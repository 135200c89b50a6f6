//! The TCP pump: moves bytes between a smoltcp [`tcp::Socket`] and any [`Machine`].
//!
//! One call to [`TcpPump::poll`] does, without blocking:
//!
//! 1. flush [`Machine::output_buf`] into the socket's transmit buffer (as much as fits);
//! 2. feed the socket's receive buffer to [`Machine::handle_input`], dequeuing only what the
//!    machine consumed, and pass each event to the caller's callback while the event still
//!    borrows the receive buffer; after each step the output is flushed again, so a machine
//!    that stops taking input until its output drains makes progress in the same call;
//! 3. when the peer has closed its side and every byte before the FIN was handed over,
//!    call [`Machine::handle_eof`] once.
//!
//! Bytes the machine does not take stay in the socket, so once a machine is done (a
//! handshake, say) the next machine finds the bytes that followed it.

use core::convert::Infallible;
use core::fmt;
use core::ops::ControlFlow;

use smoltcp::socket::tcp::{self, RecvError, State};
use wirekit_core::{Handled, Machine};

#[cfg(test)]
mod tests;

/// Calls in a row that may return an event without consuming a byte (e.g. a frame's `End`)
/// before the pump stops for this poll. A correct machine never needs more than a couple;
/// the bound keeps a misbehaving one from spinning the main loop forever.
const MAX_EMPTY_EVENTS: u32 = 16;

/// Drives one [`Machine`] over one TCP socket. Owns the machine; borrows the socket per poll,
/// because the application keeps it in its `SocketSet`.
#[derive(Debug)]
pub struct TcpPump<M> {
    machine: M,
    /// The socket has been seen synchronized, so a later `Closed` means the connection died.
    connected: bool,
    /// `handle_eof` has been called.
    eof: bool,
    /// The last input step produced an event, so the machine may have another one due
    /// without new bytes (a transfer's `Complete` after its last body chunk, a frame's
    /// `End`): the next step calls it even when the receive buffer is empty.
    follow_up: bool,
}

/// What one [`TcpPump::poll`] did. All zero/false means nothing happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes moved from the machine's output into the socket's transmit buffer.
    pub sent: usize,
    /// Bytes the machine consumed from the socket's receive buffer.
    pub consumed: usize,
    /// Events handed to the callback.
    pub events: usize,
    /// The peer's close was reported to the machine in this call.
    pub eof: bool,
}

impl Progress {
    /// Nothing happened yet.
    pub const fn new() -> Self {
        Self { sent: 0, consumed: 0, events: 0, eof: false }
    }

    /// True if the call moved no byte, produced no event and saw no close.
    pub const fn is_idle(&self) -> bool {
        self.sent == 0 && self.consumed == 0 && self.events == 0 && !self.eof
    }

    /// Add what another step did (a session polls its pump more than once per call).
    pub fn absorb(&mut self, other: Progress) {
        self.sent = self.sent.saturating_add(other.sent);
        self.consumed = self.consumed.saturating_add(other.consumed);
        self.events = self.events.saturating_add(other.events);
        self.eof |= other.eof;
    }
}

/// Why a poll failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PumpError<E> {
    /// The machine rejected the peer's bytes or the close; the machine is done.
    Machine(E),
    /// The connection was reset or aborted before the exchange finished: the machine was
    /// neither done nor told of a clean close, or its output could no longer be sent.
    ConnectionLost {
        /// Output bytes that were never handed to the socket.
        unsent: usize,
    },
    /// The socket's sending side is closed (the application closed it) while the machine
    /// still has output.
    SendClosed {
        /// The socket's state at that moment.
        state: State,
        /// Output bytes that can no longer be sent.
        unsent: usize,
    },
}

impl<E: fmt::Display> fmt::Display for PumpError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Machine(err) => write!(f, "protocol error: {err}"),
            Self::ConnectionLost { unsent } => {
                write!(f, "connection lost before the exchange finished ({unsent} bytes unsent)")
            }
            Self::SendClosed { state, unsent } => {
                write!(f, "socket can no longer send (state {state}) with {unsent} bytes unsent")
            }
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for PumpError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Machine(err) => Some(err),
            _ => None,
        }
    }
}

/// The outcome of handing one contiguous slice of the receive buffer to the machine.
enum Fed<B> {
    /// The buffer was empty.
    Nothing,
    /// The machine took `consumed` bytes and maybe produced an event; `stop` when the
    /// callback broke on it.
    Took { consumed: usize, event: bool, stop: Option<B> },
}

impl<M: Machine> TcpPump<M> {
    /// A pump for `machine`. The socket may still be connecting; polls wait for it.
    pub const fn new(machine: M) -> Self {
        Self { machine, connected: false, eof: false, follow_up: false }
    }

    /// The machine, e.g. to read its state.
    pub const fn machine(&self) -> &M {
        &self.machine
    }

    /// The machine, e.g. to call a mutator such as queueing a command.
    pub fn machine_mut(&mut self) -> &mut M {
        &mut self.machine
    }

    /// Take the machine back; bytes it did not consume are still in the socket.
    pub fn into_machine(self) -> M {
        self.machine
    }

    /// The peer's close has been reported to the machine.
    pub const fn eof_seen(&self) -> bool {
        self.eof
    }

    /// The machine is done and all its output sits in the socket's transmit buffer: the
    /// socket may go to the next machine. To close it, wait for [`TcpPump::is_flushed`].
    pub fn is_finished(&self) -> bool {
        self.machine.is_done() && self.machine.output_buf().is_empty()
    }

    /// [`TcpPump::is_finished`], and the peer has acknowledged everything in the socket's
    /// transmit buffer. Close the socket when this holds, not earlier: smoltcp 0.14 can lose
    /// a FIN that travels with retransmitted data (the receiver drops the segment as out of
    /// window, the sender's fast retransmit finds no data to resend and stops its timer), and
    /// the connection then hangs in FIN-WAIT-1 with the peer never seeing the close. A FIN
    /// sent after the data is acknowledged goes alone and is retransmitted normally.
    pub fn is_flushed(&self, socket: &tcp::Socket<'_>) -> bool {
        self.is_finished() && socket.send_queue() == 0
    }

    /// Move bytes both ways and report events; never blocks. Call after every
    /// `iface.poll(..)`. `on_event` gets the machine (to react, e.g. queue a reply) and one
    /// event, which may borrow the socket's receive buffer for the duration of the call.
    pub fn poll<F>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        mut on_event: F,
    ) -> Result<Progress, PumpError<M::Error>>
    where
        F: for<'i> FnMut(&mut M, M::Event<'i>),
    {
        let (progress, _) = self.poll_until(socket, |machine, event| {
            on_event(machine, event);
            ControlFlow::<Infallible>::Continue(())
        })?;
        Ok(progress)
    }

    /// [`TcpPump::poll`], but `on_event` may stop the pump with `ControlFlow::Break(b)`:
    /// the machine's output is flushed once more and `b` returned; nothing after the
    /// breaking event is fed, so unread bytes stay in the socket for the next call. The
    /// session layers use it to stop at an event the application must see (a header, a
    /// verdict) or at a sink error, before another byte is taken.
    pub fn poll_until<F, B>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        mut on_event: F,
    ) -> Result<(Progress, Option<B>), PumpError<M::Error>>
    where
        F: for<'i> FnMut(&mut M, M::Event<'i>) -> ControlFlow<B>,
    {
        let mut progress = Progress::default();
        if is_synchronized(socket.state()) {
            self.connected = true;
        }
        self.flush(socket, &mut progress);

        let mut empty_events = 0;
        while !self.machine.is_done() {
            match self.feed(socket, &mut on_event) {
                Ok(Ok(Fed::Nothing)) => break,
                Ok(Ok(Fed::Took { consumed, event, stop })) => {
                    progress.consumed = progress.consumed.saturating_add(consumed);
                    progress.events = progress.events.saturating_add(usize::from(event));
                    if let Some(b) = stop {
                        self.flush(socket, &mut progress);
                        return Ok((progress, Some(b)));
                    }
                    if consumed == 0 {
                        // No byte taken and no event: the machine waits (e.g. for its output
                        // to drain). With an event: bounded, see MAX_EMPTY_EVENTS.
                        empty_events += 1;
                        if !event || empty_events > MAX_EMPTY_EVENTS {
                            break;
                        }
                    } else {
                        empty_events = 0;
                    }
                    self.flush(socket, &mut progress);
                }
                Ok(Err(err)) => return Err(PumpError::Machine(err)),
                Err(RecvError::Finished) => {
                    if !self.eof {
                        self.eof = true;
                        progress.eof = true;
                        let flow = match self.machine.handle_eof() {
                            Ok(Some(event)) => {
                                progress.events = progress.events.saturating_add(1);
                                on_event(&mut self.machine, event)
                            }
                            Ok(None) => ControlFlow::Continue(()),
                            Err(err) => return Err(PumpError::Machine(err)),
                        };
                        self.flush(socket, &mut progress);
                        if let ControlFlow::Break(b) = flow {
                            return Ok((progress, Some(b)));
                        }
                    }
                    break;
                }
                // Not connected yet, or reset: checked below.
                Err(RecvError::InvalidState) => break,
            }
        }

        self.check_connection(socket)?;
        Ok((progress, None))
    }

    /// Check the connection after the caller sent bytes of its own (a file body, a command
    /// reply) next to the machine: a reset socket is an error unless the machine is done.
    pub fn check(&self, socket: &tcp::Socket<'_>) -> Result<(), PumpError<M::Error>> {
        self.check_connection(socket)
    }

    /// Hand the largest contiguous slice of the receive buffer to the machine.
    fn feed<F, B>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        on_event: &mut F,
    ) -> Result<Result<Fed<B>, M::Error>, RecvError>
    where
        F: for<'i> FnMut(&mut M, M::Event<'i>) -> ControlFlow<B>,
    {
        let machine = &mut self.machine;
        let follow_up = &mut self.follow_up;
        socket.recv(|buf| {
            if buf.is_empty() && !*follow_up {
                return (0, Ok(Fed::Nothing));
            }
            match machine.handle_input(buf) {
                Ok(Handled { consumed, event }) => {
                    // A machine never reports more than it was given; clamp anyway so a
                    // bug cannot make smoltcp dequeue bytes that were never read.
                    let consumed = consumed.min(buf.len());
                    let had_event = event.is_some();
                    *follow_up = had_event;
                    let stop = match event.map(|event| on_event(machine, event)) {
                        Some(ControlFlow::Break(b)) => Some(b),
                        _ => None,
                    };
                    (consumed, Ok(Fed::Took { consumed, event: had_event, stop }))
                }
                Err(err) => (0, Err(err)),
            }
        })
    }

    /// Copy as much of the machine's output into the transmit buffer as fits. Two rounds
    /// at most in practice: the free space of a ring buffer is at most two slices.
    fn flush(&mut self, socket: &mut tcp::Socket<'_>, progress: &mut Progress) {
        loop {
            let out = self.machine.output_buf();
            if out.is_empty() || !socket.can_send() {
                return;
            }
            let copied = socket.send(|buf| {
                let n = buf.len().min(out.len());
                match (buf.get_mut(..n), out.get(..n)) {
                    (Some(dst), Some(src)) => {
                        dst.copy_from_slice(src);
                        (n, n)
                    }
                    _ => (0, 0),
                }
            });
            match copied {
                Ok(n) if n > 0 => {
                    self.machine.consume_output(n);
                    progress.sent = progress.sent.saturating_add(n);
                }
                _ => return,
            }
        }
    }

    /// Turn a dead connection into an error instead of a pump that idles forever.
    fn check_connection(&self, socket: &tcp::Socket<'_>) -> Result<(), PumpError<M::Error>> {
        if !self.connected {
            return Ok(());
        }
        let unsent = self.machine.output_buf().len();
        let state = socket.state();
        if state == State::Closed {
            let unfinished = !self.machine.is_done() && !self.eof;
            if unfinished || unsent > 0 {
                return Err(PumpError::ConnectionLost { unsent });
            }
        } else if unsent > 0 && !socket.may_send() {
            return Err(PumpError::SendClosed { state, unsent });
        }
        Ok(())
    }
}

/// States after the three-way handshake.
const fn is_synchronized(state: State) -> bool {
    !matches!(state, State::Closed | State::Listen | State::SynSent | State::SynReceived)
}
