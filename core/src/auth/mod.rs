//! HMAC challenge–response handshakes: who holds the shared key?
//!
//! * [`seed`]: the seed recipe's demo4. The verifier sends 32 random bytes, the prover answers
//!   with their 16-byte HMAC-MD5. One-way, and no verdict on the wire.
//! * [`mp`]: CPython's `multiprocessing.connection` handshake. Mutual, framed, with a
//!   `#WELCOME#`/`#FAILURE#` verdict, in the legacy (≤ 3.11, HMAC-MD5) and modern (≥ 3.12,
//!   `{sha256}`) forms.
//! * [`mac`]: the HMACs both use, with constant-time verification.
//! * [`keys`]: a key per exchange and role, derived from the shared key, so that an answer
//!   given in one exchange is worthless in any other.
//!
//! Every machine implements [`crate::Machine`] with [`AuthEvent`] events and [`AuthError`]
//! errors, and reports its final [`Outcome`] through an `outcome()` getter. Randomness (the
//! challenge bytes) is an argument: pass bytes from a CSPRNG, or a [`rand_core::CryptoRng`].
//!
//! A handshake authenticates the start of a connection only; nothing here protects what
//! follows. A key should be 32 random bytes: one captured exchange lets anyone guess a weak
//! key offline.

use core::fmt;

use crate::frame::FrameError;

pub mod keys;
pub mod mac;
pub mod mp;
mod outbuf;
pub mod seed;

pub use keys::{Role, RoleKey, RoleKeys};
pub use mac::{hmac, verify, Mac, MacAlgorithm};
pub use mp::{ChallengeMode, MpHandshake, MpPolicy, MpProver, MpVerifier, Order};
pub use seed::{MutualOrder, SeedMutual, SeedProver, SeedVerifier};

#[cfg(test)]
mod tests;

/// Something happened in a handshake. Owned and `Copy`: nothing borrows the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthEvent {
    /// We received the peer's challenge and queued our answer in `output_buf`.
    Answered,
    /// The peer's answer proved it holds the key (mp: `#WELCOME#` is queued).
    PeerVerified,
    /// The peer's answer did not prove it (mp: `#FAILURE#` is queued). The machine is done.
    PeerRejected(RejectReason),
    /// The peer sent `#WELCOME#`: it accepted our answer (mp only).
    Accepted,
    /// The peer sent something other than `#WELCOME#`: it refused our answer (mp only).
    /// The machine is done.
    Refused,
}

/// Why we rejected the peer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Well-formed, but not the MAC of our challenge under our key.
    WrongMac,
    /// An MD5 answer (bare 16 bytes or `{md5}`) while the policy refuses MD5.
    WeakDigest,
    /// The MAC's length does not match its algorithm (e.g. 20 bare bytes, taken as MD5).
    WrongMacLength {
        /// The algorithm the answer named (MD5 for a bare answer).
        alg: MacAlgorithm,
        /// The MAC bytes received.
        got: u16,
    },
    /// Neither a bare 16/20-byte answer nor `{name}` with an allowed name (CPython:
    /// "unsupported message length, missing digest prefix, or unsupported digest").
    Unrecognized {
        /// Length of the answer.
        len: u16,
    },
    /// `{name}` is on CPython's allowed list but not compiled in (SHA3 without `sha3`).
    UnsupportedDigest,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongMac => f.write_str("wrong MAC"),
            Self::WeakDigest => f.write_str("MD5 answer refused by policy"),
            Self::WrongMacLength { alg, got } => {
                write!(f, "expected a {}-byte {alg} MAC, got {got} bytes", alg.mac_len())
            }
            Self::Unrecognized { len } => write!(
                f,
                "unrecognized {len}-byte answer (not 16/20 bytes, no allowed {{digest}} prefix)"
            ),
            Self::UnsupportedDigest => f.write_str("digest not supported by this build"),
        }
    }
}

/// What the handshake was waiting for when the peer closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaiting {
    /// The peer's challenge.
    Challenge,
    /// The peer's answer to our challenge.
    Answer,
    /// The peer's verdict on our answer (mp).
    Verdict,
}

impl fmt::Display for Awaiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Challenge => "challenge",
            Self::Answer => "answer",
            Self::Verdict => "verdict",
        })
    }
}

/// A protocol error: the exchange ended without a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The framing broke (mp): a negative length, or the stream ended inside a frame.
    #[error("handshake framing: {0}")]
    Frame(#[source] FrameError),
    /// A pre-authentication frame announced more than 256 bytes; nothing was buffered
    /// (CPython: `recv_bytes(256)`).
    #[error("pre-authentication frame of {len} bytes exceeds 256 bytes")]
    PreAuthOversize {
        /// The announced length.
        len: u64,
    },
    /// The peer's first frame does not start with `#CHALLENGE#`.
    #[error("expected a #CHALLENGE# frame")]
    NotAChallenge,
    /// The challenge message (after `#CHALLENGE#`) is shorter than 20 bytes.
    #[error("challenge too short: {len} bytes, at least 20 needed")]
    ChallengeTooShort {
        /// Its length.
        len: usize,
    },
    /// The challenge is neither legacy (20 bytes) nor `{name}` with a supported name.
    #[error("challenge has an unsupported length or digest prefix")]
    UnsupportedDigest,
    /// The challenge asks for HMAC-MD5 and our policy refuses MD5.
    #[error("challenge asks for HMAC-MD5, refused by policy")]
    WeakDigest,
    /// The peer closed before the exchange was over.
    #[error("peer closed while we awaited its {awaiting} ({received}{} bytes came)", OfExpected(*.expected))]
    UnexpectedEof {
        /// What we were waiting for.
        awaiting: Awaiting,
        /// Bytes of it that arrived (seed; 0 for mp, where a cut frame is a `Frame` error).
        received: usize,
        /// Bytes it should have had (seed), 0 when unknown (mp).
        expected: usize,
    },
}

/// The ` of {expected}` of [`AuthError::UnexpectedEof`]'s message, empty when the expected
/// length is unknown (0).
struct OfExpected(usize);

impl fmt::Display for OfExpected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => Ok(()),
            expected => write!(f, " of {expected}"),
        }
    }
}

/// How a handshake machine ended; see each machine's `outcome()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The peer proved it holds the key. For [`MpHandshake`]: both ways, each side accepted
    /// the other.
    Authenticated,
    /// The peer accepted our answer ([`MpProver`] alone); we did not check the peer.
    Accepted,
    /// We answered and the protocol sends no verdict ([`SeedProver`]): we never learn whether
    /// the verifier accepted. Not evidence of anything about the peer.
    Answered,
    /// We rejected the peer's answer.
    PeerRejected(RejectReason),
    /// The peer refused our answer.
    Refused,
    /// A protocol error ended the exchange.
    Failed(AuthError),
}

impl Outcome {
    /// True for [`Outcome::Authenticated`] only: the one outcome that says the peer holds
    /// the key.
    pub const fn peer_authenticated(&self) -> bool {
        matches!(self, Self::Authenticated)
    }
}

/// What a finished machine answers to more input: its error again, or nothing taken (the
/// bytes belong to whatever follows the handshake).
pub(crate) fn input_when_done(outcome: Outcome) -> Result<crate::Handled<AuthEvent>, AuthError> {
    match outcome {
        Outcome::Failed(err) => Err(err),
        _ => Ok(crate::Handled::consumed(0)),
    }
}

/// `handle_eof` for a machine that keeps its outcome in `outcome`: once finished, its error
/// again or nothing; still running, the close is the error `cut_off` describes, and final.
pub(crate) fn eof_into(
    outcome: &mut Option<Outcome>,
    cut_off: impl FnOnce() -> AuthError,
) -> Result<Option<AuthEvent>, AuthError> {
    match *outcome {
        Some(Outcome::Failed(err)) => Err(err),
        Some(_) => Ok(None),
        None => {
            let err = cut_off();
            *outcome = Some(Outcome::Failed(err));
            Err(err)
        }
    }
}

/// A handshake machine: a [`Machine`](crate::Machine) that ends with an [`Outcome`]. Lets
/// drivers (the blocking [`crate::io::Conn::authenticate`], the adapters) run any of them.
pub trait Handshake: crate::Machine {
    /// The final outcome, once the machine is done.
    fn outcome(&self) -> Option<Outcome>;
}

macro_rules! impl_handshake {
    ($($machine:ident),*) => {$(
        impl Handshake for $machine<'_> {
            fn outcome(&self) -> Option<Outcome> {
                $machine::outcome(self)
            }
        }
    )*};
}

impl_handshake!(SeedVerifier, SeedProver, SeedMutual, MpVerifier, MpProver, MpHandshake);
