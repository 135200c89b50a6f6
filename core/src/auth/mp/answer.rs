//! The answer half: answer a challenge, read the verdict.

use super::digest::{self, Split};
use super::{
    eof_error, pre_auth_reader, read_frame, MpPolicy, RxBuf, CHALLENGE, LEGACY_MESSAGE_LEN,
    PRE_AUTH_MAX_FRAME, WELCOME,
};
use crate::auth::mac::{self, MacAlgorithm, MAX_MAC_LEN, MAX_NAME_LEN};
use crate::auth::outbuf::OutBuf;
use crate::auth::{eof_into, input_when_done, AuthError, AuthEvent, Awaiting, Outcome};
use crate::frame::{FrameReader, MAX_PREFIX_LEN};
use crate::Handled;

/// The answer frame: `{sha3_384}` + a 48-byte MAC.
const OUT_LEN: usize = MAX_PREFIX_LEN + 2 + MAX_NAME_LEN + MAX_MAC_LEN;

#[derive(Debug, Clone)]
pub(crate) struct AnswerCore<'k> {
    key: &'k [u8],
    policy: MpPolicy,
    reader: FrameReader,
    out: OutBuf<OUT_LEN>,
    answered: bool,
    outcome: Option<Outcome>,
}

impl<'k> AnswerCore<'k> {
    pub(crate) fn new(key: &'k [u8], policy: MpPolicy) -> Self {
        Self {
            key,
            policy,
            reader: pre_auth_reader(),
            out: OutBuf::new(),
            answered: false,
            outcome: None,
        }
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

    /// CPython 3.12's `answer_challenge` + `_create_response`, plus the MD5 policy.
    fn answer(&mut self, frame: &[u8]) -> Result<(), AuthError> {
        let message = frame.strip_prefix(CHALLENGE).ok_or(AuthError::NotAChallenge)?;
        if message.len() < LEGACY_MESSAGE_LEN {
            return Err(AuthError::ChallengeTooShort { len: message.len() });
        }
        let split = digest::split(message).map_err(|_| AuthError::UnsupportedDigest)?;
        let alg = match split {
            Split::Legacy(_) => MacAlgorithm::Md5,
            Split::Named(alg, _) => alg,
        };
        // CPython falls back to `{sha256}` when MD5 is unavailable (FIPS); a legacy peer
        // rejects that anyway, so refusing outright says more.
        if alg == MacAlgorithm::Md5 && !self.policy.allow_md5 {
            return Err(AuthError::WeakDigest);
        }
        // The MAC covers the whole message, `{name}` prefix included.
        let tag = mac::hmac(alg, self.key, &[message]);
        match split {
            Split::Legacy(_) => self.out.push_frame(&[tag.as_bytes()]),
            Split::Named(..) => {
                self.out.push_frame(&[b"{", alg.name().as_bytes(), b"}", tag.as_bytes()])
            }
        };
        Ok(())
    }

    pub(crate) fn handle_input(
        &mut self,
        input: &[u8],
        rx: &mut RxBuf,
    ) -> Result<Handled<AuthEvent>, AuthError> {
        if let Some(outcome) = self.outcome {
            return input_when_done(outcome);
        }
        let result = read_frame(&mut self.reader, input, rx).and_then(|step| {
            let Some(frame) = step.event else {
                return Ok(Handled::consumed(step.consumed));
            };
            if !self.answered {
                self.answer(frame)?;
                self.answered = true;
                return Ok(Handled::event(step.consumed, AuthEvent::Answered));
            }
            if frame == WELCOME {
                self.outcome = Some(Outcome::Accepted);
                Ok(Handled::event(step.consumed, AuthEvent::Accepted))
            } else {
                self.outcome = Some(Outcome::Refused);
                Ok(Handled::event(step.consumed, AuthEvent::Refused))
            }
        });
        if let Err(err) = result {
            self.outcome = Some(Outcome::Failed(err));
        }
        result
    }

    pub(crate) fn handle_eof(&mut self) -> Result<Option<AuthEvent>, AuthError> {
        let awaiting = if self.answered { Awaiting::Verdict } else { Awaiting::Challenge };
        let reader = &mut self.reader;
        eof_into(&mut self.outcome, || eof_error(reader, awaiting))
    }
}

/// The answer half alone (CPython's `answer_challenge`): we prove we hold the key and learn
/// the peer's verdict; we check nothing about the peer. Ends at [`Outcome::Accepted`],
/// [`Outcome::Refused`] or an error.
///
/// Challenges are handled as CPython 3.12 does: a 20-byte message is legacy (bare
/// HMAC-MD5), `{name}...` with an allowed name gets `{name}` + HMAC-name; anything else is
/// [`AuthError::UnsupportedDigest`]. A 3.11 peer's challenge is always legacy.
#[derive(Debug, Clone)]
pub struct MpProver<'k> {
    core: AnswerCore<'k>,
    rx: RxBuf,
}

impl<'k> MpProver<'k> {
    /// A prover holding `key`.
    pub fn new(key: &'k [u8], policy: MpPolicy) -> Self {
        Self { core: AnswerCore::new(key, policy), rx: [0; PRE_AUTH_MAX_FRAME] }
    }

    /// How the exchange ended, once it has.
    pub const fn outcome(&self) -> Option<Outcome> {
        self.core.outcome()
    }
}

machine_for_half!(MpProver);
