//! Poll-driven sessions: the core's machines wired to sinks, sources and handlers.
//!
//! Each session owns a [`TcpPump`](crate::TcpPump) over one core machine plus what the
//! application gives it (a [`BodySink`](crate::BodySink), a [`BodySource`](crate::BodySource),
//! a [`CommandHandler`](crate::CommandHandler)) and implements [`Exchange`]: after each
//! `iface.poll(..)` the application calls [`Exchange::poll`] with the socket, which moves
//! bytes without blocking and returns at most one event.
//!
//! * [`Authenticate`]: any [`Handshake`](wirekit_core::auth::Handshake) → its
//!   [`Outcome`](wirekit_core::auth::Outcome).
//! * [`FileReceive`]: the core's `FileReceiver` → a sink (`start`, `write`, `finish`, or
//!   `abort` on any error).
//! * [`FileSend`]: the core's `FileSender`, the body read from a source straight into the
//!   socket's transmit buffer.
//! * [`CommandAgent`] / [`CommandController`]: the core's command machines with a handler
//!   on one side and a reply sink on the other.
//! * [`secure`]: the same exchanges as the secure profile's responder, inside the core's
//!   Noise channel ([`SecureAuth`], [`SecureFileReceive`], [`SecureCommandAgent`]; both
//!   of the last two as one type, [`SecureDevice`], for a firmware that serves both).
//! * [`Session`]: a handshake, then one of the above on the same socket. Bytes the peer sent
//!   right behind the handshake stay in the socket's receive buffer, because the handshake
//!   machine consumes only its own.
//!
//! The rule for the main loop: when `poll` returns `Some(event)` or
//! [`Exchange::progress`] is not idle, call it again before sleeping on
//! `iface.poll_delay(..)`: a session stops at each event, possibly with bytes still waiting
//! in the socket.

use smoltcp::socket::tcp;

use crate::tcp::{Progress, TcpPump};

mod auth;
mod command;
mod file;
pub mod secure;
mod sequence;

pub use auth::Authenticate;
pub use command::AgentEvent;
pub use command::{AgentError, CommandAgent, CommandController, ControllerError, ControllerEvent};
pub use file::{FileEvent, FileReceive, FileSend, ReceiveError, SendError};
pub use secure::{
    SecureAuth, SecureCommandAgent, SecureDevice, SecureEvent, SecureFileReceive, SecureSession,
    SecureSessionError, DEVICE_PLAINTEXT_LIMIT,
};
pub use sequence::{proceeds_after, Session, SessionError, SessionEvent};

/// One exchange on one TCP socket, polled after every `iface.poll(..)`.
pub trait Exchange {
    /// What the application is told; owned, so it outlives the socket borrow.
    type Event: Copy;
    /// What ends the exchange early.
    type Error;

    /// Move bytes both ways, never blocking; at most one event per call.
    fn poll(&mut self, socket: &mut tcp::Socket<'_>) -> Result<Option<Self::Event>, Self::Error>;

    /// What the last [`Exchange::poll`] did: when it is not idle, poll again before sleeping.
    fn progress(&self) -> Progress;

    /// The exchange is over and the peer acknowledged everything it sent: the socket may be
    /// closed (closing earlier risks a lost FIN in smoltcp 0.14, see
    /// [`TcpPump::is_flushed`](crate::TcpPump::is_flushed)).
    fn is_flushed(&self, socket: &tcp::Socket<'_>) -> bool;
}

/// The one loop of a session that sends bytes of its own beside its machine (a file body, a
/// command reply): `round` polls the pump and sends what it can, returning what moved and
/// maybe an event; repeat until an event or until a round moves nothing. `progress` sums
/// the rounds.
fn poll_rounds<M, B, E>(
    pump: &mut TcpPump<M>,
    socket: &mut tcp::Socket<'_>,
    progress: &mut Progress,
    mut round: impl FnMut(&mut TcpPump<M>, &mut tcp::Socket<'_>) -> Result<(Progress, Option<B>), E>,
) -> Result<Option<B>, E> {
    *progress = Progress::new();
    loop {
        let (moved, event) = round(pump, socket)?;
        progress.absorb(moved);
        if event.is_some() || moved.is_idle() {
            return Ok(event);
        }
    }
}
