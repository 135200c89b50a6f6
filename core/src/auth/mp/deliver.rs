//! The deliver half: send a challenge, check the answer, send the verdict.

use rand_core::CryptoRng;

use super::digest::{self, Split, SplitError};
use super::{
    draw_random, eof_error, pre_auth_reader, read_frame, ChallengeMode, MpPolicy, RxBuf, CHALLENGE,
    FAILURE, LEGACY_MESSAGE_LEN, MAX_MESSAGE_LEN, MODERN_RANDOM_LEN, PRE_AUTH_MAX_FRAME, WELCOME,
};
use crate::auth::mac::{self, MacAlgorithm};
use crate::auth::outbuf::OutBuf;
use crate::auth::{
    eof_into, input_when_done, AuthError, AuthEvent, Awaiting, Outcome, RejectReason,
};
use crate::frame::{FrameReader, MAX_PREFIX_LEN};
use crate::Handled;

/// Challenge frame plus verdict frame.
const OUT_LEN: usize = MAX_PREFIX_LEN + CHALLENGE.len() + MAX_MESSAGE_LEN + 4 + WELCOME.len();

/// The deliver half's state, without the receive buffer (an [`MpHandshake`] shares one
/// buffer between its halves).
///
/// [`MpHandshake`]: super::MpHandshake
#[derive(Debug, Clone)]
pub(crate) struct DeliverCore<'k> {
    key: &'k [u8],
    policy: MpPolicy,
    message: heapless::Vec<u8, MAX_MESSAGE_LEN>,
    reader: FrameReader,
    out: OutBuf<OUT_LEN>,
    outcome: Option<Outcome>,
}

impl<'k> DeliverCore<'k> {
    pub(crate) fn new(
        key: &'k [u8],
        mode: ChallengeMode,
        policy: MpPolicy,
        random: [u8; MODERN_RANDOM_LEN],
    ) -> Self {
        let mut message = heapless::Vec::new();
        // Cannot fail: MAX_MESSAGE_LEN is sized for the longest digest name and the random.
        let _ = match mode {
            ChallengeMode::Legacy => {
                message.extend_from_slice(random.get(..LEGACY_MESSAGE_LEN).unwrap_or(&[]))
            }
            ChallengeMode::Modern(alg) => [b"{", alg.name().as_bytes(), b"}", &random]
                .iter()
                .try_for_each(|part| message.extend_from_slice(part)),
        };
        Self { key, policy, message, reader: pre_auth_reader(), out: OutBuf::new(), outcome: None }
    }

    /// The challenge message (after `#CHALLENGE#`).
    pub(crate) fn message(&self) -> &[u8] {
        &self.message
    }

    /// Queue the challenge frame.
    pub(crate) fn start(&mut self) {
        let Self { message, out, .. } = self;
        out.push_frame(&[CHALLENGE, message]);
    }

    pub(crate) const fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    pub(crate) fn output(&self) -> &[u8] {
        self.out.as_slice()
    }

    pub(crate) fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    /// CPython 3.12's `_verify_challenge`, plus the MD5 policy.
    fn judge(&self, answer: &[u8]) -> Result<(), RejectReason> {
        let (alg, tag) = match digest::split(answer) {
            Ok(Split::Legacy(tag)) => (MacAlgorithm::Md5, tag),
            Ok(Split::Named(alg, tag)) => (alg, tag),
            Err(SplitError::Unrecognized) => {
                let len = u16::try_from(answer.len()).unwrap_or(u16::MAX);
                return Err(RejectReason::Unrecognized { len });
            }
            Err(SplitError::NotCompiled) => return Err(RejectReason::UnsupportedDigest),
        };
        if alg == MacAlgorithm::Md5 && !self.policy.allow_md5 {
            return Err(RejectReason::WeakDigest);
        }
        if tag.len() != alg.mac_len() {
            let got = u16::try_from(tag.len()).unwrap_or(u16::MAX);
            return Err(RejectReason::WrongMacLength { alg, got });
        }
        if mac::verify(alg, self.key, &[self.message()], tag) {
            Ok(())
        } else {
            Err(RejectReason::WrongMac)
        }
    }

    pub(crate) fn handle_input(
        &mut self,
        input: &[u8],
        rx: &mut RxBuf,
    ) -> Result<Handled<AuthEvent>, AuthError> {
        if let Some(outcome) = self.outcome {
            return input_when_done(outcome);
        }
        let step = read_frame(&mut self.reader, input, rx).inspect_err(|&err| {
            self.outcome = Some(Outcome::Failed(err));
        })?;
        let Some(answer) = step.event else {
            return Ok(Handled::consumed(step.consumed));
        };
        let event = match self.judge(answer) {
            Ok(()) => {
                self.out.push_frame(&[WELCOME]);
                self.outcome = Some(Outcome::Authenticated);
                AuthEvent::PeerVerified
            }
            Err(reason) => {
                self.out.push_frame(&[FAILURE]);
                self.outcome = Some(Outcome::PeerRejected(reason));
                AuthEvent::PeerRejected(reason)
            }
        };
        Ok(Handled::event(step.consumed, event))
    }

    pub(crate) fn handle_eof(&mut self) -> Result<Option<AuthEvent>, AuthError> {
        let reader = &mut self.reader;
        eof_into(&mut self.outcome, || eof_error(reader, Awaiting::Answer))
    }
}

/// The deliver half alone (CPython's `deliver_challenge`): we check that the peer holds the
/// key; the peer checks nothing. Ends at [`Outcome::Authenticated`] or a rejection.
///
/// Answers are judged as CPython 3.12 does, in both modes: a bare 16-byte answer is
/// HMAC-MD5 of the message, `{name}` picks any allowed digest. (3.11 accepted only the bare
/// MD5 answer; every answer it accepted is accepted here too.)
#[derive(Debug, Clone)]
pub struct MpVerifier<'k> {
    core: DeliverCore<'k>,
    rx: RxBuf,
}

impl<'k> MpVerifier<'k> {
    /// A verifier whose challenge uses `random`, which must come from a CSPRNG. Legacy mode
    /// uses its first 20 bytes, modern mode all 40. The challenge frame is queued at once.
    pub fn new(
        key: &'k [u8],
        mode: ChallengeMode,
        policy: MpPolicy,
        random: [u8; MODERN_RANDOM_LEN],
    ) -> Self {
        let mut core = DeliverCore::new(key, mode, policy, random);
        core.start();
        Self { core, rx: [0; PRE_AUTH_MAX_FRAME] }
    }

    /// A verifier with its challenge drawn from `rng`.
    pub fn with_rng(
        key: &'k [u8],
        mode: ChallengeMode,
        policy: MpPolicy,
        rng: &mut impl CryptoRng,
    ) -> Self {
        Self::new(key, mode, policy, draw_random(rng))
    }

    /// The challenge message (after `#CHALLENGE#`).
    pub fn message(&self) -> &[u8] {
        self.core.message()
    }

    /// How the exchange ended, once it has.
    pub const fn outcome(&self) -> Option<Outcome> {
        self.core.outcome()
    }
}

machine_for_half!(MpVerifier);
