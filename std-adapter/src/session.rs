//! Every TCP role opens its connection through [`open`]: timeouts, then — when a key is given —
//! the handshake on the core's pump ([`crate::link`]), before any of the demo's own traffic.
//! Bytes the peer sent right behind the handshake stay in the [`Link`]'s buffer, so the demo's
//! traffic starts exactly where the handshake ended.
//!
//! Which key, and who proves what ([`Keying`] decides, in one place):
//! * wirekit's own keyed exchanges — `file` and `exec` under both profiles, `tcp` under seed —
//!   never use the shared key on the wire. Each role proves itself with its own *role key*,
//!   `HMAC-SHA256(shared key, "wirekit/1 role-key " + label)`, label `exec controller`,
//!   `exec agent`, `file sender`, `file receiver`, `tcp client` or `tcp server`
//!   ([`wirekit_core::auth::keys`]); it checks the peer's answers with the peer role's key.
//!   Every keyed client answers whatever challenge it is sent, so a shared key would let an
//!   attacker relay a verifier's challenge through any client of another exchange (issue 10,
//!   hostile rows h90–h93): with role keys an answer only ever convinces a verifier of exactly
//!   that role of exactly that exchange.
//!   - seed: [`SeedMutual`], both directions of demo4 (32-byte challenge, HMAC-MD5 answer).
//!     The accepting side challenges first and answers only after the connecting side passed,
//!     so a listener is never a signing oracle; with a key, neither side sends or takes any
//!     traffic (a command, a file) before the peer proved itself.
//!   - mp: [`MpHandshake::with_keys`], CPython's message format with the role keys.
//! * The shared key itself stays where a peer outside wirekit needs it: `auth` (demo4's Python
//!   peers: one-way, the accepting side verifies, no verdict) and `auth`/`tcp --profile mp`
//!   (CPython `multiprocessing.connection`, mutual with the raw `authkey`). These exchanges
//!   let the peer act on nothing, so an answer obtained through them is worth nothing to a
//!   role-keyed verifier.
//!
//! Under mp the accepting side runs `Listener.accept`'s order (challenge first, answer only a
//! peer that proved itself), the connecting side `Client`'s. `--mp-digest legacy` (default)
//! sends Python 3.11's 20-byte challenge, `sha256` Python 3.12's `{sha256}` one; answers of
//! both kinds are accepted either way.

use std::io;
use std::net::TcpStream;
use std::time::Duration;

use wirekit_core::auth::{
    AuthError, Awaiting, ChallengeMode, MpHandshake, MpPolicy, MutualOrder, Order, Outcome, Role,
    RoleKeys, SeedMutual, SeedProver, SeedVerifier,
};
use wirekit_core::io::{Conn, DriveError};
use wirekit_core::secure::Psk;

use crate::cli::{MpDigest, Profile};
use crate::error::{Error, Result};
use crate::keys::{Key, KeySource};
use crate::link::{drive_error, link, Link, StdIo, Wire};
use crate::net;
use crate::secure::{SecureBuffers, SecureIo, SetupFailure};

mod first_bytes;

pub use first_bytes::PeerLooksLike;

/// Which end of the connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// We accepted the connection (the seed's server, mp's `Listener`).
    Accepting,
    /// We connected (the seed's client, mp's `Client`).
    Connecting,
}

/// How the shared key is used on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keying {
    /// The shared key as it is (demo4's `auth`, CPython peers under mp).
    Shared,
    /// Role keys derived from it; we are this role.
    Role(Role),
}

impl Keying {
    /// The keying of an exchange in which we play `role` (`None`: `auth`). The one rule of
    /// which exchanges keep the shared key: `auth` (both profiles) and `tcp --profile mp`.
    pub const fn of(profile: Profile, role: Option<Role>) -> Self {
        match (profile, role) {
            (_, None) | (Profile::Mp, Some(Role::TcpClient | Role::TcpServer)) => Self::Shared,
            (_, Some(role)) => Self::Role(role),
        }
    }
}

/// How the handshake runs on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Seed or mp.
    pub profile: Profile,
    /// Our end.
    pub side: Side,
    /// Shared key or role keys (see the module docs).
    pub keying: Keying,
    /// Under mp, the challenge we send.
    pub mp_digest: MpDigest,
    /// Under mp, refuse MD5 both ways (`--mp-require-sha256`): MD5 answers are rejected and
    /// MD5 challenges are not answered.
    pub mp_strict: bool,
    /// The exchange's name (`tcp`, `exec`, `file`, `auth`): the secure profile's prologue.
    pub service: &'static str,
}

impl Plan {
    /// The plan of `auth`: the shared key; under seed the accepting side verifies; mp
    /// challenges are legacy.
    pub const fn new(profile: Profile, side: Side) -> Self {
        Self {
            profile,
            side,
            keying: Keying::Shared,
            mp_digest: MpDigest::Legacy,
            mp_strict: false,
            service: "auth",
        }
    }

    /// The plan of one of wirekit's own exchanges, in which we play `role`.
    pub const fn for_role(profile: Profile, side: Side, role: Role) -> Self {
        let mut plan = Self::new(profile, side);
        plan.keying = Keying::of(profile, Some(role));
        plan.service = match role {
            Role::TcpClient | Role::TcpServer => "tcp",
            Role::ExecController | Role::ExecAgent => "exec",
            Role::FileSender | Role::FileReceiver => "file",
        };
        plan
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

    /// True when we challenge first, i.e. under seed we judge the peer before it judges us
    /// (or, one-way, at all).
    pub fn challenges_first(&self) -> bool {
        self.side == Side::Accepting
    }

    /// True when we answer a challenge before the peer proved anything: the connecting side
    /// of every exchange (where the peer's first bytes are worth a look first).
    fn answers_first(&self) -> bool {
        self.side == Side::Connecting
    }
}

/// A connection ready for the demo's traffic.
#[derive(Debug)]
pub struct Session<'b> {
    /// The connection; bytes read past the handshake are in its buffer. Boxed: a `Link`
    /// holds its 64 KiB buffer inline, and every move of a `Session` (into the connection's
    /// thread, into each role's function) would otherwise copy it to a new stack slot, and
    /// every connection thread would keep those stack pages resident. Under `--profile
    /// secure` it reads and writes the channel's plaintext (the channel's buffers live `'b`).
    pub conn: Box<Link<'b>>,
    /// The peer's address, for messages.
    pub peer: String,
    /// The idle read timeout, for messages.
    pub timeout: Duration,
}

/// The pump's verdict on a handshake, before it becomes the binary's error.
pub type Driven = std::result::Result<Outcome, DriveError<io::Error, AuthError>>;

impl Session<'static> {
    /// Prepare `stream` (idle timeout, no Nagle); no handshake.
    pub fn start(stream: TcpStream, timeout: Duration) -> Result<Self> {
        let peer = prepare(&stream, timeout)?;
        Ok(Self { conn: Box::new(link(stream)), peer, timeout })
    }
}

/// Set `stream`'s timeouts and no Nagle; the peer's name for messages.
fn prepare(stream: &TcpStream, timeout: Duration) -> Result<String> {
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "the peer".into());
    net::prepare_stream(stream, timeout)
        .map_err(|e| Error::net("configuring", &peer, e, timeout))?;
    Ok(peer)
}

impl<'b> Session<'b> {
    /// Prepare `stream` and run the secure profile's Noise handshake for `plan.service` on
    /// it (the connecting side initiates); the session then carries the channel's plaintext.
    /// The channel's buffers are `buffers`. A wrong key or another exchange's peer is
    /// [`Error::AuthFailed`] (exit 5), any other handshake failure exit 1.
    pub fn start_secure(
        stream: TcpStream,
        psk: &Psk,
        plan: Plan,
        timeout: Duration,
        source: &KeySource,
        buffers: &'b mut SecureBuffers,
    ) -> Result<Self> {
        let peer = prepare(&stream, timeout)?;
        let role = crate::secure::role_of(plan.side == Side::Connecting);
        let secure = SecureIo::handshake(stream, psk, plan.service, role, buffers)
            .map_err(|e| secure_handshake_failure(e, &peer, timeout, source, plan))?;
        let conn = Box::new(Conn::new(StdIo(Wire::Secure(Box::new(secure)))));
        crate::console::detail(|| {
            format!(
                "{peer}: Noise channel open for `{}` ({role:?}, key from {source})",
                plan.service
            )
        });
        Ok(Self { conn, peer, timeout })
    }
}

impl Session<'_> {
    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        self.conn.get_ref().0.tcp()
    }

    /// Run the handshake of `plan` with `key` and return how it ended (a wrong key is an
    /// `Ok` outcome here; see [`require_trust`]). Errors name the key's source and the likely
    /// cause (a key on one side only, the other `--profile`).
    pub fn handshake(&mut self, key: &Key, plan: Plan) -> Result<Outcome> {
        let driven = self.try_handshake(key, plan)?;
        driven.map_err(|e| self.handshake_failure(e, key.source(), plan))
    }

    /// As [`Session::handshake`], with the pump's error as it is. Under seed, a side that
    /// answers first looks at the peer's first bytes before answering: an mp challenge frame
    /// or a file header where a challenge should be is reported as what it is.
    pub fn try_handshake(&mut self, key: &Key, plan: Plan) -> Result<Driven> {
        if plan.profile == Profile::Secure {
            // Its handshake is the channel's: `Session::start_secure`, before the session.
            return Err(Error::Protocol {
                peer: self.peer.clone(),
                detail: "the secure profile runs no seed or mp handshake inside its channel".into(),
            });
        }
        if plan.profile == Profile::Seed && plan.answers_first() {
            if let Err(e) = self.check_first_bytes(key.source())? {
                return Ok(Err(DriveError::Io(e)));
            }
        }
        let key = key.bytes();
        let role_keys = match plan.keying {
            Keying::Role(role) => Some(RoleKeys::for_role(key, role)),
            Keying::Shared => None,
        };
        let (verify, prove): (&[u8], &[u8]) = match &role_keys {
            Some(keys) => (keys.verify.as_bytes(), keys.prove.as_bytes()),
            None => (key, key),
        };
        Ok(match (plan.profile, plan.keying) {
            (Profile::Seed, Keying::Shared) if plan.challenges_first() => {
                self.conn.authenticate(&mut SeedVerifier::new(key, random()?))
            }
            (Profile::Seed, Keying::Shared) => self.conn.authenticate(&mut SeedProver::new(key)),
            (Profile::Seed, Keying::Role(_)) => {
                let order = match plan.side {
                    Side::Accepting => MutualOrder::AcceptingSide,
                    Side::Connecting => MutualOrder::ConnectingSide,
                };
                self.conn.authenticate(&mut SeedMutual::new(verify, prove, order, random()?))
            }
            (Profile::Mp | Profile::Secure, _) => {
                let order = match plan.side {
                    Side::Accepting => Order::ListenerSide,
                    Side::Connecting => Order::ClientSide,
                };
                let mode = match plan.mp_digest {
                    MpDigest::Legacy => ChallengeMode::Legacy,
                    MpDigest::Sha256 => ChallengeMode::SHA256,
                };
                let policy = if plan.mp_strict { MpPolicy::STRICT } else { MpPolicy::COMPATIBLE };
                let mut hs = MpHandshake::with_keys(verify, prove, order, mode, policy, random()?);
                self.conn.authenticate(&mut hs)
            }
        })
    }

    /// Wait for the peer's first bytes (up to what tells the cases apart) and refuse to answer
    /// bytes that are plainly not a seed challenge. Silence and I/O errors are the pump's, for
    /// [`Session::handshake_failure`] to explain.
    fn check_first_bytes(&mut self, source: &KeySource) -> Result<io::Result<()>> {
        while self.conn.buffered().len() < first_bytes::ENOUGH {
            match self.conn.fill() {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Ok(Err(e)),
            }
        }
        let peer = self.peer.clone();
        match PeerLooksLike::from_first_bytes(self.conn.buffered()) {
            PeerLooksLike::SeedChallenge => Ok(Ok(())),
            PeerLooksLike::MpChallenge => Err(Error::Protocol {
                peer,
                detail: "sent a multiprocessing.connection #CHALLENGE# frame where a seed \
                         challenge should be: it speaks --profile mp; add --profile mp here"
                    .into(),
            }),
            PeerLooksLike::FramedData => Err(Error::AuthFailed {
                peer,
                detail: format!(
                    "it sent framed data (a file header or a message) where its challenge \
                     should be: it has no key, and we have one ({source}); give it the same \
                     key, or drop ours"
                ),
            }),
        }
    }

    /// The binary's error for a handshake the pump could not finish, with the likely cause:
    /// a key on one side only, the other `--profile`, our `--mp-require-sha256` against an
    /// MD5-only peer (exit 5), a listener that rejected our answer (exit 5).
    pub fn handshake_failure(
        &self,
        err: DriveError<io::Error, AuthError>,
        source: &KeySource,
        plan: Plan,
    ) -> Error {
        let (peer, timeout) = (self.peer.as_str(), self.timeout);
        let profile = match plan.profile {
            Profile::Seed => "seed",
            Profile::Mp => "mp",
            Profile::Secure => "secure",
        };
        let hint = match &err {
            // Our answer went out first; the accepting side closes instead of answering a peer
            // that failed (SeedMutual): that is its verdict. The close is a reset when our
            // challenge, sent behind the answer, was still unread there.
            DriveError::Protocol(AuthError::UnexpectedEof {
                awaiting: Awaiting::Answer,
                received: 0,
                ..
            }) if plan.answers_first() && matches!(plan.keying, Keying::Role(_)) => {
                return rejected_us(peer, source);
            }
            DriveError::Io(e)
                if plan.answers_first()
                    && matches!(plan.keying, Keying::Role(_))
                    && matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
            {
                return rejected_us(peer, source);
            }
            // Strict us, a peer that challenges with MD5 only (Python 3.11 and older).
            DriveError::Protocol(e @ AuthError::WeakDigest) => {
                return Error::AuthFailed {
                    peer: peer.to_owned(),
                    detail: format!(
                        "{e}: the peer speaks only HMAC-MD5 (Python 3.11 or older, or \
                         --mp-digest legacy); drop --mp-require-sha256 to talk to it"
                    ),
                };
            }
            DriveError::Io(e)
                if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
            {
                format!(
                    "we hold a key ({source}) and wait for its handshake; a peer without a key \
                     waits for us instead: give both sides the same key, or neither"
                )
            }
            DriveError::Protocol(AuthError::UnexpectedEof { .. }) | DriveError::UnexpectedEof => {
                format!(
                    "it closed during the --profile {profile} handshake: does it have a key, \
                     the same --profile, and the key we use ({source})?"
                )
            }
            DriveError::Io(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                format!(
                    "it reset the connection during the --profile {profile} handshake: does it \
                     have a key, the same --profile, and the key we use ({source})?"
                )
            }
            DriveError::Protocol(
                AuthError::Frame(_) | AuthError::PreAuthOversize { .. } | AuthError::NotAChallenge,
            ) => match plan.profile {
                Profile::Mp => format!(
                    "that is no multiprocessing.connection handshake: is the peer using \
                     --profile seed, or no key? (we use --profile mp and the key from {source})"
                ),
                Profile::Seed | Profile::Secure => {
                    return drive_error(err, "handshake", peer, timeout)
                }
            },
            _ => return drive_error(err, "handshake", peer, timeout),
        };
        drive_error(err, "handshake", peer, timeout).hinted(hint)
    }
}

/// The seed verdict of a role-keyed listener on our answer: it closed instead of answering.
fn rejected_us(peer: &str, source: &KeySource) -> Error {
    Error::AuthFailed {
        peer: peer.to_owned(),
        detail: format!(
            "it closed instead of answering our challenge: it rejected our answer, so its key \
             is not ours (ours is from {source}); give both sides the same key"
        ),
    }
}

/// The binary's error for a secure handshake that failed: a failed tag or a refusal (and,
/// for the initiator, a reset where message 2 should be: a file receiver resets on every
/// refusal) is [`Error::AuthFailed`].
fn secure_handshake_failure(
    err: SetupFailure,
    peer: &str,
    timeout: Duration,
    source: &KeySource,
    plan: Plan,
) -> Error {
    let refused = |what: String| Error::AuthFailed {
        peer: peer.to_owned(),
        detail: format!(
            "{what}: its key is not ours ({source}), or it serves another exchange than \
             `{}` (a relay?); give both sides the same key and --profile secure",
            plan.service
        ),
    };
    match err {
        SetupFailure::Random(e) => Error::Random(e),
        SetupFailure::Setup(e) => Error::SecureSetup(e),
        SetupFailure::Handshake(DriveError::Protocol(e)) if e.is_authentication_failure() => {
            refused(format!("secure handshake: {e}"))
        }
        SetupFailure::Handshake(DriveError::Io(e))
            if plan.side == Side::Connecting
                && matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
        {
            refused("secure handshake: it reset the connection instead of answering".into())
        }
        SetupFailure::Handshake(DriveError::Protocol(e)) => Error::Violation {
            peer: peer.to_owned(),
            during: "secure handshake".into(),
            source: e.into(),
        }
        .hinted("does it use --profile secure?"),
        SetupFailure::Handshake(e) => drive_error(e, "secure handshake", peer, timeout),
    }
}

/// The PSK of `key` under `--profile secure`: keys under 16 bytes are refused (exit 2, with
/// a pointer to `wirekit keygen`).
pub fn secure_psk(key: &Key) -> Result<Psk> {
    Psk::derive(key.bytes()).map_err(Error::SecureKeyTooShort)
}

/// Prepare `stream`, open the session of `plan` on it and hand the result to `exchange`:
/// under `--profile secure` inside the Noise channel (whose buffers live for the call),
/// otherwise behind the seed or mp handshake when `key` is set ([`open`]). `exchange` gets
/// the opening's error too, so that it can explain it (a file receiver's deadline).
pub fn with_open<T>(
    stream: TcpStream,
    key: Option<&Key>,
    plan: Plan,
    timeout: Duration,
    exchange: impl FnOnce(Result<Session<'_>>) -> Result<T>,
) -> Result<T> {
    if plan.profile != Profile::Secure {
        return exchange(open(stream, key, plan, timeout));
    }
    let key = key.ok_or(Error::SecureKeyMissing)?;
    let psk = secure_psk(key)?;
    let mut buffers = SecureBuffers::new();
    exchange(Session::start_secure(stream, &psk, plan, timeout, key.source(), &mut buffers))
}

/// Prepare `stream` and run the handshake if `key` is set; a handshake that does not end in
/// trust is an error (exit code 5). Seed and mp only: the secure profile opens with
/// [`with_open`] or [`Session::start_secure`].
pub fn open(
    stream: TcpStream,
    key: Option<&Key>,
    plan: Plan,
    timeout: Duration,
) -> Result<Session<'static>> {
    let mut session = Session::start(stream, timeout)?;
    if let Some(key) = key {
        let outcome = session.handshake(key, plan)?;
        require_trust(outcome, &session.peer, key.source())?;
        crate::console::detail(|| {
            format!(
                "{}: {:?} handshake ({:?} profile, key from {}): {outcome:?}",
                session.peer,
                plan.side,
                plan.profile,
                key.source()
            )
        });
    }
    Ok(session)
}

/// `Ok` when the handshake lets the exchange go on: the peer proved the key, or (seed
/// prover) we answered and the verifier sends no verdict.
pub fn require_trust(outcome: Outcome, peer: &str, source: &KeySource) -> Result<()> {
    let detail = match outcome {
        Outcome::Authenticated | Outcome::Answered | Outcome::Accepted => return Ok(()),
        Outcome::PeerRejected(reason) => format!(
            "its answer to our challenge was wrong ({reason}): it does not have our key \
             (ours is from {source}); check that both sides use the same key"
        ),
        Outcome::Refused => format!(
            "it refused our answer: our key ({source}) is not its key; check the key on both sides"
        ),
        Outcome::Failed(e) => {
            return Err(Error::Violation {
                peer: peer.to_owned(),
                during: "handshake".into(),
                source: e.into(),
            })
        }
    };
    Err(Error::AuthFailed { peer: peer.to_owned(), detail })
}

/// Challenge bytes from the operating system's CSPRNG (the seed used `os.urandom`).
fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests;
