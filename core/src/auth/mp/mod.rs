//! CPython `multiprocessing.connection` authentication (the "mp" profile).
//!
//! Each direction is a *deliver/answer* pair of frames (framing: [`FrameConfig::mp`]):
//!
//! ```text
//! verifier → prover   #CHALLENGE# + message
//!                     legacy (≤ 3.11): 20 random bytes
//!                     modern (≥ 3.12): {sha256} + 40 random bytes
//! prover   → verifier legacy message: HMAC-MD5(key, message), 16 bytes, bare
//!                     {name}... message: {name} + HMAC-name(key, message)  (covers the prefix)
//! verifier → prover   #WELCOME# or #FAILURE#
//! ```
//!
//! [`MpVerifier`] is the deliver half, [`MpProver`] the answer half, and [`MpHandshake`]
//! runs both in one of CPython's two orders ([`Order`]). Every pre-authentication frame is
//! capped at 256 bytes like CPython's `recv_bytes(256)`: a larger announced length is an
//! error before anything is buffered.
//!
//! ## Reflection
//!
//! Both directions use one key, so a peer without it could try to make us compute the answer
//! to our own challenge: send our challenge back to us (or to us on a second connection) and
//! replay our answer. CPython's defense is the fixed order: the accepting side delivers its
//! challenge and receives a verified answer *before* it answers anything
//! ([`Order::ListenerSide`]). So the accepting side must use `ListenerSide`; a server that
//! answered first would be an oracle for its own challenges (the tests show both).

use rand_core::CryptoRng;

/// [`Machine`](crate::Machine) for a half run alone (`core` plus its own `rx` buffer): the
/// same forwarding for [`MpVerifier`] and [`MpProver`], written once.
macro_rules! machine_for_half {
    ($machine:ident) => {
        impl crate::Machine for $machine<'_> {
            type Event<'i> = crate::auth::AuthEvent;
            type Error = crate::auth::AuthError;

            fn handle_input(
                &mut self,
                input: &[u8],
            ) -> Result<crate::Handled<crate::auth::AuthEvent>, Self::Error> {
                self.core.handle_input(input, &mut self.rx)
            }

            fn handle_eof(&mut self) -> Result<Option<crate::auth::AuthEvent>, Self::Error> {
                self.core.handle_eof()
            }

            fn output_buf(&self) -> &[u8] {
                self.core.output()
            }

            fn consume_output(&mut self, n: usize) {
                self.core.consume_output(n);
            }

            fn is_done(&self) -> bool {
                self.core.outcome().is_some()
            }
        }
    };
}

mod answer;
mod deliver;
pub(crate) mod digest;
mod handshake;

pub use answer::MpProver;
pub use deliver::MpVerifier;
pub use handshake::MpHandshake;

use super::mac::MacAlgorithm;
use super::AuthError;
use crate::frame::{FrameConfig, FrameError, FrameReader};
use crate::Handled;

/// `#CHALLENGE#`, the start of a challenge frame.
pub const CHALLENGE: &[u8] = b"#CHALLENGE#";
/// `#WELCOME#`, the verdict for a right answer.
pub const WELCOME: &[u8] = b"#WELCOME#";
/// `#FAILURE#`, the verdict for a wrong one.
pub const FAILURE: &[u8] = b"#FAILURE#";
/// CPython's cap on every pre-authentication frame (`recv_bytes(256)`).
pub const PRE_AUTH_MAX_FRAME: usize = 256;
/// Random bytes in a legacy challenge, and the shortest challenge message accepted.
pub const LEGACY_MESSAGE_LEN: usize = 20;
/// Random bytes in a modern challenge (CPython 3.12's `MESSAGE_LENGTH`).
pub const MODERN_RANDOM_LEN: usize = 40;
/// Length of an HMAC-MD5.
pub const MD5_LEN: usize = 16;

/// The longest challenge message we send: `{sha3_384}` + 40 bytes.
const MAX_MESSAGE_LEN: usize = 2 + crate::auth::mac::MAX_NAME_LEN + MODERN_RANDOM_LEN;

/// Buffer for one pre-authentication frame.
pub(crate) type RxBuf = [u8; PRE_AUTH_MAX_FRAME];

/// What the verifier sends as its challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeMode {
    /// CPython ≤ 3.11: 20 random bytes, answered by a bare HMAC-MD5.
    Legacy,
    /// CPython ≥ 3.12: `{name}` + 40 random bytes (CPython's default name is `sha256`).
    Modern(MacAlgorithm),
}

impl ChallengeMode {
    /// CPython 3.12's default: `{sha256}`.
    pub const SHA256: Self = Self::Modern(MacAlgorithm::Sha256);
}

/// What we accept from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpPolicy {
    /// Accept MD5 answers (bare 16 bytes or `{md5}`) and answer legacy/`{md5}` challenges.
    /// CPython always does; turning it off locks out every Python ≤ 3.11 peer.
    pub allow_md5: bool,
}

impl MpPolicy {
    /// What CPython accepts: MD5 included, so Python 3.11 peers work.
    pub const COMPATIBLE: Self = Self { allow_md5: true };
    /// SHA-2/SHA-3 only. Pair it with a SHA challenge ([`ChallengeMode::SHA256`]): CPython
    /// answers a [`ChallengeMode::Legacy`] or `{md5}` challenge with MD5, so a strict
    /// verifier sending one rejects every CPython peer.
    pub const STRICT: Self = Self { allow_md5: false };
}

impl Default for MpPolicy {
    fn default() -> Self {
        Self::COMPATIBLE
    }
}

/// Which half of the handshake goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Deliver our challenge, then answer the peer's (`Listener.accept`). The accepting side
    /// must use this: it proves itself only to a peer that has proved itself.
    ListenerSide,
    /// Answer the peer's challenge, then deliver ours (`Client`).
    ClientSide,
}

/// Draw the random part of a challenge (40 bytes; legacy uses the first 20).
pub(crate) fn draw_random(rng: &mut impl CryptoRng) -> [u8; MODERN_RANDOM_LEN] {
    let mut random = [0u8; MODERN_RANDOM_LEN];
    rng.fill_bytes(&mut random);
    random
}

pub(crate) fn pre_auth_reader() -> FrameReader {
    FrameReader::new(FrameConfig::mp().with_max_frame_len(PRE_AUTH_MAX_FRAME as u64))
}

fn map_frame_error(err: FrameError) -> AuthError {
    match err {
        FrameError::Oversize { len, .. } | FrameError::BufferTooSmall { len, .. } => {
            AuthError::PreAuthOversize { len }
        }
        other => AuthError::Frame(other),
    }
}

/// Read one whole pre-auth frame into `rx`.
pub(crate) fn read_frame<'b>(
    reader: &mut FrameReader,
    input: &[u8],
    rx: &'b mut RxBuf,
) -> Result<Handled<&'b [u8]>, AuthError> {
    reader.read_frame(input, rx).map_err(map_frame_error)
}

/// The error for a close while a frame was awaited.
pub(crate) fn eof_error(reader: &mut FrameReader, awaiting: super::Awaiting) -> AuthError {
    match reader.finish() {
        Err(err) => map_frame_error(err),
        Ok(()) => AuthError::UnexpectedEof { awaiting, received: 0, expected: 0 },
    }
}
