//! One listening socket's life: listen, start a session per connection, poll it, close.

use core::fmt::Display;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::wire::IpEndpoint;
use wirekit_core::auth::SeedVerifier;
use wirekit_smoltcp::{proceeds_after, Exchange, Session};

use super::{MpAuth, SeedAuth};

/// One listening socket and the session on its current connection.
pub(super) struct Slot<X> {
    pub(super) handle: SocketHandle,
    pub(super) session: Option<X>,
    pub(super) peer: Option<IpEndpoint>,
}

impl<X> Slot<X> {
    pub(super) fn new(handle: SocketHandle) -> Self {
        Self { handle, session: None, peer: None }
    }
}

/// How a session ends when the peer failed the handshake.
pub(super) trait OnRefusal {
    /// True when the peer failed and we owe it nothing: reset at once. The seed sends no
    /// verdict, and its prover sends its file or command right behind a wrong answer, so a
    /// reset (what an OS does on close with unread data) tells it at once; a FIN could look
    /// like a completed upload. An mp `#FAILURE#` must arrive first: close gracefully.
    fn reset_now(&self) -> bool;
}

impl OnRefusal for SeedAuth {
    fn reset_now(&self) -> bool {
        self.outcome().is_some_and(|o| !proceeds_after(&o))
    }
}

impl OnRefusal for MpAuth {
    fn reset_now(&self) -> bool {
        false
    }
}

impl<X: Exchange> OnRefusal for Session<SeedVerifier<'static>, X> {
    fn reset_now(&self) -> bool {
        self.outcome().is_some_and(|o| !proceeds_after(&o))
    }
}

/// One socket's turn (`ctx` is what the callbacks share): listen again when closed, start a session when a connection is up,
/// poll it until it has nothing to say, close (or reset) when it is over. Returns true
/// when something moved.
pub(super) fn serve<X: Exchange + OnRefusal, C>(
    slot: &mut Slot<X>,
    socket: &mut tcp::Socket<'_>,
    port: u16,
    ctx: &mut C,
    start: impl FnOnce(&mut C, IpEndpoint) -> Option<X>,
    end: impl FnOnce(&mut C, X),
    mut on_event: impl FnMut(&mut C, &mut X, IpEndpoint, X::Event),
) -> bool
where
    X::Error: Display,
{
    let state = socket.state();
    // TIME-WAIT counts as closed: smoltcp would hold the socket 10 s after every session
    // the device closed first, and a few quick connections would find no listener. Our
    // last ACK is out; a late duplicate of the old connection is a risk a LAN-only
    // device takes (many embedded stacks do the same).
    if !socket.is_open() {
        if let Some(session) = slot.session.take() {
            end(ctx, session);
        }
        slot.peer = None;
        if let Err(e) = socket.listen(port) {
            log::error!("tcp listen {port}: {e}");
        }
        return false;
    }
    if slot.session.is_none() {
        if !matches!(state, tcp::State::Established | tcp::State::CloseWait) {
            return false;
        }
        let Some(peer) = socket.remote_endpoint() else { return false };
        slot.peer = Some(peer);
        slot.session = start(ctx, peer);
        if slot.session.is_none() {
            socket.abort();
            return true;
        }
    }
    let (Some(session), Some(peer)) = (slot.session.as_mut(), slot.peer) else { return false };

    // We closed already: the exchange is over, so bytes now are unwanted (a rejected
    // prover sending its file anyway). Reset instead of letting them fill the window.
    if !socket.may_send() && socket.recv_queue() > 0 {
        log::warn!(":{port} {peer}: data after the session ended; resetting");
        socket.abort();
        return true;
    }
    if !socket.may_send() {
        return false;
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
                log::warn!(":{port} {peer}: {e}; resetting");
                socket.abort();
                return true;
            }
        }
    }
    if session.reset_now() {
        socket.abort();
        return true;
    }
    if session.is_flushed(socket) {
        if socket.recv_queue() > 0 {
            log::warn!(":{port} {peer}: unread data after the session; resetting");
            socket.abort();
        } else {
            socket.close();
        }
        busy = true;
    }
    busy
}
