//! A handshake, then an exchange, on one socket.

use core::fmt;

use smoltcp::socket::tcp;
use wirekit_core::auth::{Handshake, Outcome};

use super::{Authenticate, Exchange};
use crate::tcp::{Progress, PumpError};

/// Whether an outcome lets the exchange behind the handshake start:
/// [`Outcome::Authenticated`] (we checked the peer), [`Outcome::Accepted`] (the peer checked
/// us) and [`Outcome::Answered`] (a seed prover, which never hears a verdict, goes on as the
/// seed does). Rejections, refusals and failures stop the session.
pub const fn proceeds_after(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Authenticated | Outcome::Accepted | Outcome::Answered)
}

/// What a [`Session`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent<E> {
    /// The handshake ended. If [`proceeds_after`] says no, the session is over: close the
    /// socket once [`Exchange::is_flushed`] (an mp `#FAILURE#` is still on its way).
    Verdict(Outcome),
    /// An event of the exchange that followed.
    Exchange(E),
}

/// Why a [`Session`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError<HE, XE> {
    /// The handshake broke (protocol error, connection lost).
    Handshake(PumpError<HE>),
    /// The exchange after it failed.
    Exchange(XE),
}

impl<HE: fmt::Display, XE: fmt::Display> fmt::Display for SessionError<HE, XE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handshake(err) => write!(f, "handshake: {err}"),
            Self::Exchange(err) => write!(f, "{err}"),
        }
    }
}

impl<HE, XE> core::error::Error for SessionError<HE, XE>
where
    HE: core::error::Error + 'static,
    XE: core::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Handshake(err) => Some(err),
            Self::Exchange(err) => Some(err),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Handshake,
    Exchange,
    /// The handshake did not let the exchange start.
    Stopped,
}

/// A handshake `H`, then the exchange `X` on the same socket once the outcome
/// [`proceeds_after`].
#[derive(Debug)]
pub struct Session<H, X> {
    auth: Authenticate<H>,
    exchange: X,
    stage: Stage,
}

impl<H: Handshake, X: Exchange> Session<H, X> {
    /// Authenticate with `handshake`, then run `exchange`.
    pub const fn new(handshake: H, exchange: X) -> Self {
        Self { auth: Authenticate::new(handshake), exchange, stage: Stage::Handshake }
    }

    /// The handshake's outcome, once it ended.
    pub fn outcome(&self) -> Option<Outcome> {
        self.auth.outcome()
    }

    /// The exchange, e.g. to queue a command or read a sink.
    pub const fn exchange(&self) -> &X {
        &self.exchange
    }

    /// The exchange, mutably.
    pub fn exchange_mut(&mut self) -> &mut X {
        &mut self.exchange
    }

    /// Give back the exchange (e.g. to reuse its buffers for the next connection).
    pub fn into_exchange(self) -> X {
        self.exchange
    }

    /// True while the exchange runs (the handshake let it start).
    pub fn is_authenticated(&self) -> bool {
        self.stage == Stage::Exchange
    }
}

impl<H: Handshake, X: Exchange> Exchange for Session<H, X> {
    type Event = SessionEvent<X::Event>;
    type Error = SessionError<H::Error, X::Error>;

    fn poll(&mut self, socket: &mut tcp::Socket<'_>) -> Result<Option<Self::Event>, Self::Error> {
        match self.stage {
            Stage::Handshake => {
                let Some(outcome) = self.auth.poll(socket).map_err(SessionError::Handshake)? else {
                    return Ok(None);
                };
                self.stage =
                    if proceeds_after(&outcome) { Stage::Exchange } else { Stage::Stopped };
                Ok(Some(SessionEvent::Verdict(outcome)))
            }
            Stage::Exchange => Ok(self
                .exchange
                .poll(socket)
                .map_err(SessionError::Exchange)?
                .map(SessionEvent::Exchange)),
            Stage::Stopped => Ok(None),
        }
    }

    fn progress(&self) -> Progress {
        match self.stage {
            Stage::Exchange => self.exchange.progress(),
            Stage::Handshake | Stage::Stopped => self.auth.progress(),
        }
    }

    fn is_flushed(&self, socket: &tcp::Socket<'_>) -> bool {
        match self.stage {
            Stage::Exchange => self.exchange.is_flushed(socket),
            Stage::Handshake | Stage::Stopped => self.auth.is_flushed(socket),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wirekit_core::auth::{AuthError, Awaiting, RejectReason};

    #[test]
    fn only_outcomes_without_a_refusal_start_the_exchange() {
        assert!(proceeds_after(&Outcome::Authenticated));
        assert!(proceeds_after(&Outcome::Accepted));
        assert!(proceeds_after(&Outcome::Answered));
        assert!(!proceeds_after(&Outcome::PeerRejected(RejectReason::WrongMac)));
        assert!(!proceeds_after(&Outcome::Refused));
        let eof =
            AuthError::UnexpectedEof { awaiting: Awaiting::Answer, received: 3, expected: 16 };
        assert!(!proceeds_after(&Outcome::Failed(eof)));
    }

    #[test]
    fn session_errors_name_their_half() {
        let err: SessionError<AuthError, core::fmt::Error> =
            SessionError::Handshake(PumpError::ConnectionLost { unsent: 2 });
        let text = std::format!("{err}");
        assert!(text.starts_with("handshake:") && text.contains('2'), "{text}");
    }
}
