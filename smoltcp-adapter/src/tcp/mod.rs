//! The TCP pump: moves bytes between a smoltcp [`tcp::Socket`] and any [`Machine`].
//!
//! A shim over the core's [`Driver`], which decides the order (output first, the
//! follow-up call after each event, the peer's close only once every byte before the FIN
//! was taken); one call to [`TcpPump::poll`] asks it for actions until it rests, without
//! blocking: output goes into the socket's transmit buffer (as much as fits), events go to
//! the caller's callback while they still borrow the socket's receive buffer, and only
//! what the machine consumed is dequeued.
//!
//! Bytes the machine does not take stay in the socket, so once a machine is done (a
//! handshake, say) the next machine finds the bytes that followed it.

use core::convert::Infallible;
use core::fmt;
use core::ops::ControlFlow;

use smoltcp::socket::tcp::{self, RecvError, State};
use wirekit_core::drive::{Action, Driver, Expired, Input, Step, StepError};
use wirekit_core::Machine;

#[cfg(test)]
mod tests;

/// Drives one [`Machine`] over one TCP socket. Owns the machine; borrows the socket per poll,
/// because the application keeps it in its `SocketSet`.
#[derive(Debug)]
pub struct TcpPump<M> {
    machine: M,
    driver: Driver,
    /// The socket has been seen synchronized, so a later `Closed` means the connection died.
    connected: bool,
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
    /// The peer closed cleanly, the machine took every byte and had nothing to say about
    /// the close, and it is not done.
    ClosedEarly,
    /// A deadline of the pump's driver passed ([`TcpPump::handle_timeout`]).
    TimedOut(Expired),
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
            Self::ClosedEarly => f.write_str("peer closed before the exchange finished"),
            Self::TimedOut(expired) => write!(f, "timed out: {expired}"),
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

/// What one driver step asked for, once its borrow of the receive buffer has ended.
enum Fed<B> {
    /// Send output, or an event the callback let pass: step again.
    Again,
    /// The callback stopped the pump with `B`.
    Stop(B),
    /// Nothing more until the socket changes (or the machine is finished).
    Rest,
}

impl<M: Machine> TcpPump<M> {
    /// A pump for `machine`. The socket may still be connecting; polls wait for it.
    pub const fn new(machine: M) -> Self {
        Self { machine, driver: Driver::new(), connected: false }
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

    /// Call the machine on the next poll even if no byte arrived (see
    /// [`Driver::wake`]): a caller action let it take input it holds already.
    pub fn wake(&mut self) {
        self.driver.wake();
    }

    /// The peer's close has been reported to the machine.
    pub const fn eof_seen(&self) -> bool {
        self.driver.eof_delivered()
    }

    /// Give the pump's driver deadlines (an idle timeout, a phase deadline; see
    /// [`wirekit_core::drive`]), checked by [`TcpPump::handle_timeout`].
    #[must_use]
    pub fn with_driver(mut self, driver: Driver) -> Self {
        self.driver = driver;
        self
    }

    /// When [`TcpPump::handle_timeout`] is next due, if a deadline is set.
    pub fn poll_timeout(&self) -> Option<core::time::Duration> {
        self.driver.poll_timeout()
    }

    /// Tell the pump the time (since boot) on every turn of the main loop: `Err` when a
    /// deadline passed and the connection should be dropped. A finished machine has no
    /// deadlines left.
    pub fn handle_timeout(&mut self, now: core::time::Duration) -> Result<(), PumpError<M::Error>> {
        if self.is_finished() {
            return Ok(());
        }
        self.driver.handle_timeout(now).map_err(PumpError::TimedOut)
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
        let state = socket.state();
        if is_synchronized(state) {
            self.connected = true;
        }
        let eof_before = self.driver.eof_delivered();
        let stop = loop {
            self.flush(socket, &mut progress);
            let queued = socket.recv_queue();
            let full = queued == socket.recv_capacity();
            // The FIN is behind the bytes still queued: a slice short of all of them (the
            // ring buffer wraps) must not count as "closed after this".
            let fin = matches!(
                state,
                State::CloseWait | State::LastAck | State::Closing | State::TimeWait
            );
            let fed = match socket.recv(|buf| {
                let input = Input::new(buf).closed(fin && buf.len() == queued).full(full);
                match self.step(input, &mut on_event, &mut progress) {
                    Ok((consumed, fed)) => (consumed, Ok(fed)),
                    Err(err) => (0, Err(err)),
                }
            }) {
                Ok(fed) => fed,
                // Everything before the FIN was dequeued: the close itself.
                Err(RecvError::Finished) => self
                    .step(Input::new(&[]).closed(true), &mut on_event, &mut progress)
                    .map(|(_, fed)| fed),
                // Not connected yet, or reset: checked below.
                Err(RecvError::InvalidState) => Ok(Fed::Rest),
            }?;
            match fed {
                Fed::Again => {}
                Fed::Stop(b) => {
                    self.flush(socket, &mut progress);
                    break Some(b);
                }
                Fed::Rest => break None,
            }
        };
        progress.eof = self.driver.eof_delivered() != eof_before;
        if stop.is_none() {
            self.check_connection(socket)?;
        }
        Ok((progress, stop))
    }

    /// One driver step on `input`; returns the bytes to dequeue and what comes next.
    fn step<F, B>(
        &mut self,
        input: Input<'_>,
        on_event: &mut F,
        progress: &mut Progress,
    ) -> Result<(usize, Fed<B>), PumpError<M::Error>>
    where
        F: for<'i> FnMut(&mut M, M::Event<'i>) -> ControlFlow<B>,
    {
        let Step { consumed, action } =
            self.driver.step(&mut self.machine, input).map_err(|err| match err {
                StepError::Machine(err) => PumpError::Machine(err),
                StepError::UnexpectedEof => PumpError::ClosedEarly,
            })?;
        progress.consumed = progress.consumed.saturating_add(consumed);
        let flow = match action {
            // Sent by `flush` outside the receive borrow, on the next round.
            Action::Transmit(_) => return Ok((consumed, Fed::Again)),
            Action::Event(event) => on_event(&mut self.machine, event),
            Action::Closed(event) => on_event(&mut self.machine, event),
            Action::NeedInput | Action::WaitingForCaller { .. } | Action::Finished => {
                return Ok((consumed, Fed::Rest))
            }
        };
        progress.events = progress.events.saturating_add(1);
        Ok((
            consumed,
            match flow {
                ControlFlow::Continue(()) => Fed::Again,
                ControlFlow::Break(b) => Fed::Stop(b),
            },
        ))
    }

    /// Check the connection after the caller sent bytes of its own (a file body, a command
    /// reply) next to the machine: a reset socket is an error unless the machine is done.
    pub fn check(&self, socket: &tcp::Socket<'_>) -> Result<(), PumpError<M::Error>> {
        self.check_connection(socket)
    }

    /// Copy as much of the machine's output into the transmit buffer as fits (the free
    /// space of a ring buffer is at most two slices); a short copy tells the driver to feed
    /// input before offering the rest.
    fn flush(&mut self, socket: &mut tcp::Socket<'_>, progress: &mut Progress) {
        for _ in 0..2 {
            let Some(transmit) = self.driver.poll_transmit(&mut self.machine) else { return };
            let out = transmit.bytes();
            // One contiguous slice per call, as before the driver. (A single `send_slice`
            // stalled tests/tcp_sim.rs's backpressured echo under loss; cause not found yet.)
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
            // Not connected (any more): nothing goes out; the connection check reports it.
            let n = copied.unwrap_or(0);
            transmit.sent(n);
            progress.sent = progress.sent.saturating_add(n);
            if n == 0 {
                return;
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
            let unfinished = !self.machine.is_done() && !self.driver.eof_delivered();
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
