//! A handshake on a socket.

use smoltcp::socket::tcp;
use wirekit_core::auth::{Handshake, Outcome};

use super::Exchange;
use crate::tcp::{Progress, PumpError, TcpPump};

/// Runs any [`Handshake`] machine (seed or mp, either side) to its [`Outcome`].
///
/// [`Exchange::poll`] returns `Some(outcome)` once, when the machine is done and its last
/// bytes (an mp `#WELCOME#` / `#FAILURE#`) are in the socket's transmit buffer. A protocol
/// error is an `Err` ([`PumpError::Machine`]). Bytes after the handshake stay in the socket.
#[derive(Debug)]
pub struct Authenticate<H> {
    pump: TcpPump<H>,
    progress: Progress,
    reported: bool,
}

impl<H: Handshake> Authenticate<H> {
    /// Run `handshake` on the socket given to each poll.
    pub const fn new(handshake: H) -> Self {
        Self { pump: TcpPump::new(handshake), progress: Progress::new(), reported: false }
    }

    /// The handshake machine.
    pub const fn machine(&self) -> &H {
        self.pump.machine()
    }

    /// The outcome, once the machine is done.
    pub fn outcome(&self) -> Option<Outcome> {
        self.pump.machine().outcome()
    }
}

impl<H: Handshake> Exchange for Authenticate<H> {
    type Event = Outcome;
    type Error = PumpError<H::Error>;

    fn poll(&mut self, socket: &mut tcp::Socket<'_>) -> Result<Option<Outcome>, Self::Error> {
        // The intermediate `AuthEvent`s (answered, verified) only say which half is done;
        // the outcome says it all.
        self.progress = self.pump.poll(socket, |_, _| {})?;
        if self.reported || !self.pump.is_finished() {
            return Ok(None);
        }
        let outcome = self.pump.machine().outcome();
        self.reported = outcome.is_some();
        Ok(outcome)
    }

    fn progress(&self) -> Progress {
        self.progress
    }

    fn is_flushed(&self, socket: &tcp::Socket<'_>) -> bool {
        self.pump.is_flushed(socket)
    }
}
