//! A device's listening socket, once: listen, start a session per connection, poll it,
//! close or reset it, listen again — with an idle deadline and TCP keep-alive.
//!
//! Every firmware image needs the same connection lifecycle, and the cases are easy to get
//! wrong, so it lives here:
//!
//! * **Listen again from TIME-WAIT.** smoltcp holds a socket 10 s after every connection the
//!   device closed first, and a few quick connections would find no listener. Our last ACK
//!   is out; a late duplicate of the old connection is a risk a LAN-only device takes (many
//!   embedded stacks do the same).
//! * **Reset on refusal.** A peer that fails a seed handshake gets a reset at once
//!   ([`OnRefusal`]): the seed sends no verdict and its prover sends its file or command
//!   right behind a wrong answer, so a FIN could look like a completed upload.
//! * **Reset on data after close.** Once the session is over, bytes from the peer are
//!   unwanted (a rejected prover sending its file anyway): reset instead of letting them
//!   fill the window.
//! * **Idle deadline.** A connection on which nothing moved for [`SlotConfig::idle`] is
//!   reset and the socket listens again, so idle peers cannot hold a port's sockets
//!   forever. Time is an argument ([`Slot::serve`]'s `now`), through the core's
//!   [`Deadlines`]; [`Slot::poll_timeout`] says when to wake up for it.
//! * **Keep-alive.** Each connection gets TCP keep-alive ([`SlotConfig::keep_alive`]), so a
//!   peer that vanished without a FIN is noticed by smoltcp (its `timeout`) even while the
//!   session legitimately waits.

use core::convert::Infallible;
use core::fmt;
use core::time::Duration;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::IpEndpoint;
use wirekit_core::auth::{MpHandshake, SeedMutual, SeedVerifier};
use wirekit_core::drive::{Deadlines, Expired};

use crate::session::{proceeds_after, Authenticate, Exchange, Session};

/// How a [`Slot`] treats its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotConfig {
    /// Reset a connection on which nothing moved (no byte either way, no event) this long.
    pub idle: Option<Duration>,
    /// TCP keep-alive interval on each connection (smoltcp's `set_keep_alive`).
    pub keep_alive: Option<Duration>,
}

impl SlotConfig {
    /// Idle connections are dropped after 2 min; keep-alive every 30 s.
    pub const DEFAULT: Self =
        Self { idle: Some(Duration::from_secs(120)), keep_alive: Some(Duration::from_secs(30)) };
}

impl Default for SlotConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How a session ends when the peer failed the handshake.
pub trait OnRefusal {
    /// True when the peer failed and we owe it nothing: reset at once. An mp `#FAILURE#`
    /// must arrive first: close gracefully.
    fn reset_now(&self) -> bool;
}

impl OnRefusal for Authenticate<SeedVerifier<'_>> {
    fn reset_now(&self) -> bool {
        self.outcome().is_some_and(|o| !proceeds_after(&o))
    }
}

impl OnRefusal for Authenticate<MpHandshake<'_>> {
    fn reset_now(&self) -> bool {
        false
    }
}

impl<X: Exchange> OnRefusal for Session<SeedVerifier<'_>, X> {
    fn reset_now(&self) -> bool {
        self.outcome().is_some_and(|o| !proceeds_after(&o))
    }
}

/// A mutual seed handshake (role keys) sends nothing after a failed answer either.
impl<X: Exchange> OnRefusal for Session<SeedMutual<'_>, X> {
    fn reset_now(&self) -> bool {
        self.outcome().is_some_and(|o| !proceeds_after(&o))
    }
}

impl<X: Exchange> OnRefusal for Session<MpHandshake<'_>, X> {
    fn reset_now(&self) -> bool {
        false
    }
}

/// A secure session fails on a wrong key (an error, which resets); it never refuses
/// otherwise.
impl<S: crate::session::secure::SecureService> OnRefusal for crate::SecureSession<'_, S> {
    fn reset_now(&self) -> bool {
        false
    }
}

/// Why a [`Slot`] reset its connection (or could not listen), for the device's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotNote<E> {
    /// `listen` failed (a zero port).
    ListenFailed(tcp::ListenError),
    /// The session failed; the connection was reset.
    Failed(E),
    /// Bytes arrived after the device closed its side; reset.
    DataAfterClose,
    /// The session ended with bytes of the peer unread; reset.
    UnreadAfterSession,
    /// A deadline passed; reset.
    TimedOut(Expired),
}

impl<E: fmt::Display> fmt::Display for SlotNote<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ListenFailed(e) => write!(f, "listen: {e}"),
            Self::Failed(e) => write!(f, "{e}; resetting"),
            Self::DataAfterClose => f.write_str("data after the session ended; resetting"),
            Self::UnreadAfterSession => f.write_str("unread data after the session; resetting"),
            Self::TimedOut(e) => write!(f, "{e}; resetting"),
        }
    }
}

/// What one [`Slot::serve`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served<E> {
    /// Something moved: serve again before sleeping.
    pub busy: bool,
    /// Something worth a log line happened.
    pub note: Option<SlotNote<E>>,
}

impl<E> Served<E> {
    const fn busy(busy: bool) -> Self {
        Self { busy, note: None }
    }

    const fn note(note: SlotNote<E>) -> Self {
        Self { busy: true, note: Some(note) }
    }
}

/// One turn of a device's main loop over its socket set: every [`Slot`] is served at the same
/// `now`, on its own socket from the set, so a port's call names only what is its own.
#[derive(Debug)]
pub struct Turn<'t, 'a> {
    sockets: &'t mut SocketSet<'a>,
    now: Duration,
}

impl<'t, 'a> Turn<'t, 'a> {
    /// A turn at `now` (time since boot) over `sockets`.
    pub fn new(sockets: &'t mut SocketSet<'a>, now: Duration) -> Self {
        Self { sockets, now }
    }

    /// [`Slot::serve`] on the slot's socket at this turn's time.
    pub fn serve<X: Exchange + OnRefusal, C>(
        &mut self,
        slot: &mut Slot<X>,
        ctx: &mut C,
        start: impl FnOnce(&mut C, IpEndpoint) -> Option<X>,
        end: impl FnOnce(&mut C, X),
        on_event: impl FnMut(&mut C, &mut X, IpEndpoint, X::Event),
    ) -> Served<X::Error> {
        let socket = self.sockets.get_mut::<tcp::Socket>(slot.handle);
        slot.serve(socket, self.now, ctx, start, end, on_event)
    }
}

/// One listening socket and the session on its current connection.
#[derive(Debug)]
pub struct Slot<X> {
    handle: SocketHandle,
    link: Link,
    session: Option<X>,
}

/// A slot's connection lifecycle, apart from its session: the steps of [`Slot::serve`] that
/// do not depend on the session type, linked once however many slot types a firmware has.
#[derive(Debug)]
struct Link {
    port: u16,
    config: SlotConfig,
    peer: Option<IpEndpoint>,
    deadlines: Deadlines,
}

impl<X: Exchange + OnRefusal> Slot<X> {
    /// A slot for the socket `handle`, listening on `port` from the first [`Slot::serve`].
    pub const fn new(handle: SocketHandle, port: u16, config: SlotConfig) -> Self {
        let link = Link { port, config, peer: None, deadlines: Deadlines::new() };
        Self { handle, link, session: None }
    }

    /// The socket.
    pub const fn handle(&self) -> SocketHandle {
        self.handle
    }

    /// The session on the current connection, if one started.
    pub fn session_mut(&mut self) -> Option<&mut X> {
        self.session.as_mut()
    }

    /// The current peer.
    pub const fn peer(&self) -> Option<IpEndpoint> {
        self.link.peer
    }

    /// When [`Slot::serve`] must run again for the idle deadline, if one is armed.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.link.deadlines.poll_timeout()
    }

    /// One turn for this socket at `now` (time since boot): listen again once closed (or in
    /// TIME-WAIT), start a session when a connection is up (`start`; `None` resets it),
    /// poll the session until it has nothing to say (`on_event` gets each event), close or
    /// reset when it is over, reset an idle connection. `end` gets each finished session
    /// back (to recycle its buffers). `ctx` is what the callbacks share.
    ///
    /// Never inlined: each call site has its own closures, so each is its own copy anyway,
    /// and one copy per slot type and call site inlined into a firmware's main loop cost
    /// 500 B of Cortex-M flash more (firmware/mcu-example, opt-level "z").
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    pub fn serve<C>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        now: Duration,
        ctx: &mut C,
        start: impl FnOnce(&mut C, IpEndpoint) -> Option<X>,
        end: impl FnOnce(&mut C, X),
        mut on_event: impl FnMut(&mut C, &mut X, IpEndpoint, X::Event),
    ) -> Served<X::Error> {
        // Closed, or TIME-WAIT (not "open" to smoltcp, and `listen` takes it from there).
        if !socket.is_open() {
            if let Some(session) = self.session.take() {
                end(ctx, session);
            }
            return self.link.listen(socket).widen();
        }
        if self.session.is_none() {
            let Some(peer) = self.link.accept(socket) else { return Served::busy(false) };
            self.session = start(ctx, peer);
            if self.session.is_none() {
                socket.abort();
                return Served::busy(true);
            }
        }
        let (Some(session), Some(peer)) = (self.session.as_mut(), self.link.peer) else {
            return Served::busy(false);
        };

        if !socket.may_send() {
            // We closed already: the exchange is over, so bytes now are unwanted.
            return self.link.after_close(socket, now).widen();
        }

        let mut busy = false;
        loop {
            match session.poll(socket) {
                Ok(Some(event)) => {
                    busy = true;
                    on_event(ctx, session, peer, event);
                }
                Ok(None) => {
                    busy |= !session.progress().is_idle();
                    break;
                }
                Err(e) => {
                    socket.abort();
                    return Served::note(SlotNote::Failed(e));
                }
            }
        }
        let reset = session.reset_now();
        let flushed = !reset && session.is_flushed(socket);
        self.link.after_poll(socket, now, busy, reset, flushed).widen()
    }
}

impl Link {
    /// The connection is closed (or in TIME-WAIT): forget it and listen again.
    fn listen(&mut self, socket: &mut tcp::Socket<'_>) -> Served<Infallible> {
        self.peer = None;
        self.deadlines = Deadlines::new();
        match socket.listen(self.port) {
            Ok(()) => Served::busy(false),
            Err(e) => Served::note(SlotNote::ListenFailed(e)),
        }
    }

    /// No session yet: once the connection is up, its peer (keep-alive and the idle
    /// deadline armed), for which a session is to start.
    fn accept(&mut self, socket: &mut tcp::Socket<'_>) -> Option<IpEndpoint> {
        if !matches!(socket.state(), tcp::State::Established | tcp::State::CloseWait) {
            return None;
        }
        let peer = socket.remote_endpoint()?;
        self.peer = Some(peer);
        socket.set_keep_alive(self.config.keep_alive.map(to_smoltcp));
        self.deadlines = match self.config.idle {
            Some(idle) => Deadlines::new().with_idle_timeout(idle),
            None => Deadlines::new(),
        };
        Some(peer)
    }

    /// We closed our side already: reset on bytes from the peer, else wait for its FIN
    /// (within the idle deadline).
    fn after_close(&mut self, socket: &mut tcp::Socket<'_>, now: Duration) -> Served<Infallible> {
        if socket.recv_queue() > 0 {
            socket.abort();
            return Served::note(SlotNote::DataAfterClose);
        }
        self.check_idle(socket, now, false)
    }

    /// The session was polled (`busy`: something moved): reset it when it asks to
    /// (`reset`, a refused peer), close once it is over (`flushed`; reset instead when bytes
    /// of the peer are left unread), else check the idle deadline.
    fn after_poll(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        now: Duration,
        busy: bool,
        reset: bool,
        flushed: bool,
    ) -> Served<Infallible> {
        if reset {
            socket.abort();
            return Served::busy(true);
        }
        if flushed {
            if socket.recv_queue() > 0 {
                socket.abort();
                return Served::note(SlotNote::UnreadAfterSession);
            }
            socket.close();
            return Served::busy(true);
        }
        self.check_idle(socket, now, busy)
    }

    /// Count `busy` as activity and reset the connection once the idle deadline passed.
    fn check_idle(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        now: Duration,
        busy: bool,
    ) -> Served<Infallible> {
        if busy {
            self.deadlines.activity();
        }
        match self.deadlines.handle_timeout(now) {
            Ok(()) => Served::busy(busy),
            Err(expired) => {
                socket.abort();
                Served::note(SlotNote::TimedOut(expired))
            }
        }
    }
}

impl Served<Infallible> {
    /// The same, as a slot's result for a session with error type `E` (these steps never
    /// carry a session error).
    fn widen<E>(self) -> Served<E> {
        let note = self.note.map(|note| match note {
            SlotNote::ListenFailed(e) => SlotNote::ListenFailed(e),
            SlotNote::Failed(never) => match never {},
            SlotNote::DataAfterClose => SlotNote::DataAfterClose,
            SlotNote::UnreadAfterSession => SlotNote::UnreadAfterSession,
            SlotNote::TimedOut(expired) => SlotNote::TimedOut(expired),
        });
        Served { busy: self.busy, note }
    }
}

fn to_smoltcp(d: Duration) -> smoltcp::time::Duration {
    smoltcp::time::Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
