//! Every TCP role opens its connection through [`open`]: timeouts, then — when a key is given —
//! the handshake on the core's pump ([`crate::link`]), before any of the demo's own traffic.
//! Bytes the peer sent right behind the handshake stay in the [`Link`]'s buffer, so the demo's
//! traffic starts exactly where the handshake ended.
//!
//! Who proves what:
//! * `--profile seed` (demo4): one side sends 32 random bytes, the other answers
//!   HMAC-MD5(key, challenge); no verdict is sent back. The verifier is the accepting side,
//!   except for `exec`, where the agent verifies the controller even though it connects
//!   ([`Plan::verifier_connects`]): the side that runs commands is the one that must trust.
//!   There the listening controller answers a challenge from anyone who connects, so it would
//!   be an oracle for every other seed verifier with the same key (connect to the controller,
//!   hand it an `auth server`'s challenge, replay its answer). Its handshake therefore uses a
//!   key of its own, [`exec_seed_key`] (keyed exec is wirekit's extension: the seed's exec has
//!   no key, so no peer depends on the raw key there).
//! * `--profile mp` (CPython `multiprocessing.connection`): mutual. The accepting side runs
//!   `Listener.accept`'s order (challenge first, answer only to a peer that proved itself),
//!   the connecting side `Client`'s. `--mp-digest legacy` (default) sends Python 3.11's
//!   20-byte challenge, `sha256` Python 3.12's `{sha256}` one; answers of both kinds are
//!   accepted either way.

use std::io;
use std::net::TcpStream;

use wirekit_core::auth::{
    hmac, AuthError, ChallengeMode, MacAlgorithm, MpHandshake, MpPolicy, Order, Outcome,
    SeedProver, SeedVerifier,
};
use wirekit_core::io::DriveError;

use crate::cli::{MpDigest, Profile};
use crate::error::{Error, Result};
use crate::keys::Key;
use crate::link::{drive_error, link, Link};
use crate::net;

/// Which end of the connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// We accepted the connection (the seed's server, mp's `Listener`).
    Accepting,
    /// We connected (the seed's client, mp's `Client`).
    Connecting,
}

/// How the handshake runs on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Seed or mp.
    pub profile: Profile,
    /// Our end.
    pub side: Side,
    /// Under the seed profile, the end that challenges (the other answers).
    pub seed_verifier: Side,
    /// Under mp, the challenge we send.
    pub mp_digest: MpDigest,
    /// Under mp, refuse MD5 both ways (`--mp-require-sha256`): MD5 answers are rejected and
    /// MD5 challenges are not answered.
    pub mp_strict: bool,
}

impl Plan {
    /// The usual plan: under seed the accepting side verifies; mp challenges are legacy.
    pub const fn new(profile: Profile, side: Side) -> Self {
        Self {
            profile,
            side,
            seed_verifier: Side::Accepting,
            mp_digest: MpDigest::Legacy,
            mp_strict: false,
        }
    }

    /// Under seed, the connecting side verifies (the exec agent).
    #[must_use]
    pub const fn verifier_connects(mut self) -> Self {
        self.seed_verifier = Side::Connecting;
        self
    }

    /// The mp challenge kind.
    #[must_use]
    pub const fn with_mp_digest(mut self, digest: MpDigest) -> Self {
        self.mp_digest = digest;
        self
    }

    /// Under mp, accept only SHA-2/SHA-3 answers and send a `{sha256}` challenge (a strict
    /// side that sent a legacy challenge would reject every CPython peer, which answers it
    /// with MD5).
    #[must_use]
    pub const fn require_sha256(mut self) -> Self {
        self.mp_strict = true;
        self.mp_digest = MpDigest::Sha256;
        self
    }

    /// True when we send the seed challenge.
    pub fn seed_verifies(&self) -> bool {
        self.side == self.seed_verifier
    }
}

/// A connection ready for the demo's traffic.
#[derive(Debug)]
pub struct Session {
    /// The connection; bytes read past the handshake are in its buffer. Boxed: a `Link`
    /// holds its 64 KiB buffer inline, and every move of a `Session` (into the connection's
    /// thread, into each role's function) would otherwise copy it to a new stack slot, and
    /// every connection thread would keep those stack pages resident.
    pub conn: Box<Link>,
    /// The peer's address, for messages.
    pub peer: String,
    /// The idle read timeout, for messages.
    pub timeout_secs: u64,
}

impl Session {
    /// Prepare `stream` (idle timeout, no Nagle); no handshake.
    pub fn start(stream: TcpStream, timeout_secs: u64) -> Result<Self> {
        let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "the peer".into());
        net::prepare_stream(&stream, timeout_secs)
            .map_err(|e| Error::net("configuring", &peer, e, timeout_secs))?;
        Ok(Self { conn: Box::new(link(stream)), peer, timeout_secs })
    }

    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        &self.conn.get_ref().0
    }

    /// Run the handshake of `plan` with `key` and return how it ended (a wrong key is an
    /// `Ok` outcome here; see [`require_trust`]).
    pub fn handshake(&mut self, key: &[u8], plan: Plan) -> Result<Outcome> {
        let (peer, secs) = (self.peer.clone(), self.timeout_secs);
        self.try_handshake(key, plan)?.map_err(|e| drive_error(e, "handshake", &peer, secs))
    }

    /// As [`Session::handshake`], with the pump's error as it is.
    pub fn try_handshake(
        &mut self,
        key: &[u8],
        plan: Plan,
    ) -> Result<std::result::Result<Outcome, DriveError<io::Error, AuthError>>> {
        let exec_key;
        let seed_key = if plan.seed_verifier == Side::Connecting {
            exec_key = exec_seed_key(key);
            &exec_key[..]
        } else {
            key
        };
        Ok(match plan.profile {
            Profile::Seed if plan.seed_verifies() => {
                let mut verifier = SeedVerifier::new(seed_key, random()?);
                self.conn.authenticate(&mut verifier)
            }
            Profile::Seed => self.conn.authenticate(&mut SeedProver::new(seed_key)),
            Profile::Mp => {
                let order = match plan.side {
                    Side::Accepting => Order::ListenerSide,
                    Side::Connecting => Order::ClientSide,
                };
                let mode = match plan.mp_digest {
                    MpDigest::Legacy => ChallengeMode::Legacy,
                    MpDigest::Sha256 => ChallengeMode::SHA256,
                };
                let policy = if plan.mp_strict { MpPolicy::STRICT } else { MpPolicy::COMPATIBLE };
                let mut hs = MpHandshake::new(key, order, mode, policy, random()?);
                self.conn.authenticate(&mut hs)
            }
        })
    }
}

/// Prepare `stream` and run the handshake if `key` is set; a handshake that does not end in
/// trust is an error (exit code 5).
pub fn open(
    stream: TcpStream,
    key: Option<&Key>,
    plan: Plan,
    timeout_secs: u64,
) -> Result<Session> {
    let mut session = Session::start(stream, timeout_secs)?;
    if let Some(key) = key {
        let outcome = session.handshake(key.bytes(), plan)?;
        require_trust(outcome, &session.peer)?;
    }
    Ok(session)
}

/// `Ok` when the handshake lets the exchange go on: the peer proved the key, or (seed
/// prover) we answered and the verifier sends no verdict.
pub fn require_trust(outcome: Outcome, peer: &str) -> Result<()> {
    let detail = match outcome {
        Outcome::Authenticated | Outcome::Answered | Outcome::Accepted => return Ok(()),
        Outcome::PeerRejected(reason) => format!(
            "its answer to our challenge was wrong ({reason}): it does not have our key; \
             check that both sides use the same --key"
        ),
        Outcome::Refused => "it refused our answer: our key is not its key; check --key".into(),
        Outcome::Failed(e) => {
            return Err(Error::Protocol {
                peer: peer.to_owned(),
                detail: format!("handshake: {e}"),
            })
        }
    };
    Err(Error::AuthFailed { peer: peer.to_owned(), detail })
}

/// The key of the seed handshake when the connecting side verifies (exec):
/// HMAC-SHA256(key, "wirekit exec seed handshake"), so that the exec controller's answers are
/// worthless to any other seed verifier with the same key (see the module docs).
pub fn exec_seed_key(key: &[u8]) -> [u8; 32] {
    let mac = hmac(MacAlgorithm::Sha256, key, &[b"wirekit exec seed handshake"]);
    let mut derived = [0u8; 32];
    for (d, m) in derived.iter_mut().zip(mac.as_bytes()) {
        *d = *m;
    }
    derived
}

/// Challenge bytes from the operating system's CSPRNG (the seed used `os.urandom`).
fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests;
