//! The seed recipe's demo4 authentication (one-way, unframed, no verdict).
//!
//! ```text
//! verifier → prover   32 random bytes (os.urandom(32))
//! prover   → verifier HMAC-MD5(key, challenge), 16 bytes
//! ```
//!
//! The verifier compares in constant time and then, in the seed, prints and closes: nothing
//! tells the prover whether it passed. So [`SeedProver`] ends at [`Outcome::Answered`], and
//! only [`SeedVerifier`] can reach [`Outcome::Authenticated`]. Neither machine reads past its
//! own bytes: whatever follows (the seed's first command) stays with the caller.

use rand_core::CryptoRng;

use super::mac::{self, MacAlgorithm};
use super::outbuf::OutBuf;
use super::{eof_into, input_when_done, AuthError, AuthEvent, Awaiting, Outcome, RejectReason};
use crate::{Handled, Machine};

/// Length of the seed challenge (`os.urandom(32)`).
pub const SEED_CHALLENGE_LEN: usize = 32;
/// Length of the seed answer (an HMAC-MD5).
pub const SEED_ANSWER_LEN: usize = 16;

/// Collects exactly `N` bytes, never more.
type Fixed<const N: usize> = heapless::Vec<u8, N>;

/// Take what `fixed` is missing from `input`; returns the bytes taken and whether it is full.
fn fill<const N: usize>(fixed: &mut Fixed<N>, input: &[u8]) -> (usize, bool) {
    let take = N.saturating_sub(fixed.len()).min(input.len());
    // Cannot fail: `take` is at most the room left.
    let _ = fixed.extend_from_slice(input.get(..take).unwrap_or(&[]));
    (take, fixed.is_full())
}

/// The seed verifier (the TCP server in demo4): sends the challenge, checks the answer.
#[derive(Debug, Clone)]
pub struct SeedVerifier<'k> {
    key: &'k [u8],
    challenge: [u8; SEED_CHALLENGE_LEN],
    out: OutBuf<SEED_CHALLENGE_LEN>,
    answer: Fixed<SEED_ANSWER_LEN>,
    outcome: Option<Outcome>,
}

impl<'k> SeedVerifier<'k> {
    /// A verifier whose challenge is `challenge`, which must come from a CSPRNG.
    pub fn new(key: &'k [u8], challenge: [u8; SEED_CHALLENGE_LEN]) -> Self {
        let mut out = OutBuf::new();
        out.push(&[&challenge]);
        Self { key, challenge, out, answer: Fixed::new(), outcome: None }
    }

    /// A verifier with a challenge drawn from `rng`.
    pub fn with_rng(key: &'k [u8], rng: &mut impl CryptoRng) -> Self {
        let mut challenge = [0u8; SEED_CHALLENGE_LEN];
        rng.fill_bytes(&mut challenge);
        Self::new(key, challenge)
    }

    /// The challenge this verifier sends.
    pub const fn challenge(&self) -> &[u8; SEED_CHALLENGE_LEN] {
        &self.challenge
    }

    /// How the exchange ended, once it has.
    pub const fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }
}

impl Machine for SeedVerifier<'_> {
    type Event<'i> = AuthEvent;
    type Error = AuthError;

    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<AuthEvent>, AuthError> {
        if let Some(outcome) = self.outcome {
            return input_when_done(outcome);
        }
        let (consumed, full) = fill(&mut self.answer, input);
        if !full {
            return Ok(Handled::consumed(consumed));
        }
        let event = if mac::verify(MacAlgorithm::Md5, self.key, &[&self.challenge], &self.answer) {
            self.outcome = Some(Outcome::Authenticated);
            AuthEvent::PeerVerified
        } else {
            self.outcome = Some(Outcome::PeerRejected(RejectReason::WrongMac));
            AuthEvent::PeerRejected(RejectReason::WrongMac)
        };
        Ok(Handled::event(consumed, event))
    }

    fn handle_eof(&mut self) -> Result<Option<AuthEvent>, AuthError> {
        // The seed peer that answers short and then closes lands here.
        let received = self.answer.len();
        eof_into(&mut self.outcome, || AuthError::UnexpectedEof {
            awaiting: Awaiting::Answer,
            received,
            expected: SEED_ANSWER_LEN,
        })
    }

    fn output_buf(&self) -> &[u8] {
        self.out.as_slice()
    }

    fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    fn is_done(&self) -> bool {
        self.outcome.is_some()
    }
}

/// The seed prover (the TCP client in demo4): answers the challenge. It never learns the
/// verdict; see the module docs.
#[derive(Debug, Clone)]
pub struct SeedProver<'k> {
    key: &'k [u8],
    challenge: Fixed<SEED_CHALLENGE_LEN>,
    out: OutBuf<SEED_ANSWER_LEN>,
    outcome: Option<Outcome>,
}

impl<'k> SeedProver<'k> {
    /// A prover holding `key`.
    pub const fn new(key: &'k [u8]) -> Self {
        Self { key, challenge: Fixed::new(), out: OutBuf::new(), outcome: None }
    }

    /// How the exchange ended, once it has: [`Outcome::Answered`] at best.
    pub const fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }
}

impl Machine for SeedProver<'_> {
    type Event<'i> = AuthEvent;
    type Error = AuthError;

    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<AuthEvent>, AuthError> {
        if let Some(outcome) = self.outcome {
            return input_when_done(outcome);
        }
        let (consumed, full) = fill(&mut self.challenge, input);
        if !full {
            return Ok(Handled::consumed(consumed));
        }
        let answer = mac::hmac(MacAlgorithm::Md5, self.key, &[&self.challenge]);
        self.out.push(&[answer.as_bytes()]);
        self.outcome = Some(Outcome::Answered);
        Ok(Handled::event(consumed, AuthEvent::Answered))
    }

    fn handle_eof(&mut self) -> Result<Option<AuthEvent>, AuthError> {
        let received = self.challenge.len();
        eof_into(&mut self.outcome, || AuthError::UnexpectedEof {
            awaiting: Awaiting::Challenge,
            received,
            expected: SEED_CHALLENGE_LEN,
        })
    }

    fn output_buf(&self) -> &[u8] {
        self.out.as_slice()
    }

    fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
    }

    fn is_done(&self) -> bool {
        self.outcome.is_some()
    }
}

/// Which side of the connection a [`SeedMutual`] runs on; it fixes who challenges first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutualOrder {
    /// We accepted the connection: we challenge first and answer only a peer that passed.
    AcceptingSide,
    /// We opened it: we answer first, then challenge.
    ConnectingSide,
}

/// Both directions of the seed handshake, for wirekit's own keyed exchanges (see
/// [`crate::auth::keys`]): the accepting side verifies the connecting side, then the
/// connecting side verifies the accepting side, each answer an HMAC-MD5 of a 32-byte challenge
/// as in demo4.
///
/// ```text
/// accepting → connecting  32-byte challenge A
/// connecting → accepting  HMAC-MD5(connecting role key, A)
/// connecting → accepting  32-byte challenge B        (sent right behind the answer)
/// accepting → connecting  HMAC-MD5(accepting role key, B)   (only if the answer to A passed)
/// ```
///
/// The side that accepts connections from anyone never answers a challenge before the peer
/// proved itself, so it is no signing oracle; with a different key per role, an answer is
/// never worth anything to a verifier of another role or exchange, and reflecting a challenge
/// back is answered with the wrong key. A rejected answer ends the accepting side with
/// [`Outcome::PeerRejected`]; it sends nothing more, so the connecting side sees the close
/// where the answer should be ([`AuthError::UnexpectedEof`] awaiting [`Awaiting::Answer`]).
#[derive(Debug, Clone)]
pub struct SeedMutual<'k> {
    order: MutualOrder,
    verifier: SeedVerifier<'k>,
    prover: SeedProver<'k>,
}

impl<'k> SeedMutual<'k> {
    /// Check the peer under `verify_key` with `challenge` (from a CSPRNG) and answer the
    /// peer's challenge under `prove_key`.
    pub fn new(
        verify_key: &'k [u8],
        prove_key: &'k [u8],
        order: MutualOrder,
        challenge: [u8; SEED_CHALLENGE_LEN],
    ) -> Self {
        Self {
            order,
            verifier: SeedVerifier::new(verify_key, challenge),
            prover: SeedProver::new(prove_key),
        }
    }

    /// As [`SeedMutual::new`], the challenge drawn from `rng`.
    pub fn with_rng(
        verify_key: &'k [u8],
        prove_key: &'k [u8],
        order: MutualOrder,
        rng: &mut impl CryptoRng,
    ) -> Self {
        let mut challenge = [0u8; SEED_CHALLENGE_LEN];
        rng.fill_bytes(&mut challenge);
        Self::new(verify_key, prove_key, order, challenge)
    }

    /// The order this handshake runs in.
    pub const fn order(&self) -> MutualOrder {
        self.order
    }

    /// The first half's outcome, then the second's.
    const fn halves(&self) -> (Option<Outcome>, Option<Outcome>) {
        match self.order {
            MutualOrder::AcceptingSide => (self.verifier.outcome(), self.prover.outcome()),
            MutualOrder::ConnectingSide => (self.prover.outcome(), self.verifier.outcome()),
        }
    }

    /// How the exchange ended, once it has: [`Outcome::Authenticated`] when we verified the
    /// peer and answered its challenge.
    pub const fn outcome(&self) -> Option<Outcome> {
        match self.halves() {
            (None, _) => None,
            (Some(Outcome::Authenticated | Outcome::Answered), None) => None,
            (Some(Outcome::Authenticated | Outcome::Answered), Some(second)) => match second {
                Outcome::Authenticated | Outcome::Answered => Some(Outcome::Authenticated),
                other => Some(other),
            },
            (Some(first), _) => Some(first),
        }
    }

    /// True once the first half passed, so the second half's bytes may flow.
    const fn second_half_started(&self) -> bool {
        matches!(self.halves().0, Some(Outcome::Authenticated | Outcome::Answered))
    }
}

impl Machine for SeedMutual<'_> {
    type Event<'i> = AuthEvent;
    type Error = AuthError;

    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<AuthEvent>, AuthError> {
        if let Some(outcome) = self.outcome() {
            return input_when_done(outcome);
        }
        // The verifier half takes input only when it awaits an answer: before our challenge
        // is out (connecting side, first half) the prover has the floor.
        match (self.order, self.second_half_started()) {
            (MutualOrder::AcceptingSide, false) | (MutualOrder::ConnectingSide, true) => {
                self.verifier.handle_input(input)
            }
            (MutualOrder::ConnectingSide, false) | (MutualOrder::AcceptingSide, true) => {
                self.prover.handle_input(input)
            }
        }
    }

    fn handle_eof(&mut self) -> Result<Option<AuthEvent>, AuthError> {
        if let Some(outcome) = self.outcome() {
            return match outcome {
                Outcome::Failed(err) => Err(err),
                _ => Ok(None),
            };
        }
        match (self.order, self.second_half_started()) {
            (MutualOrder::AcceptingSide, false) | (MutualOrder::ConnectingSide, true) => {
                self.verifier.handle_eof()
            }
            (MutualOrder::ConnectingSide, false) | (MutualOrder::AcceptingSide, true) => {
                self.prover.handle_eof()
            }
        }
    }

    fn output_buf(&self) -> &[u8] {
        let (first, second) = match self.order {
            MutualOrder::AcceptingSide => (self.verifier.output_buf(), self.prover.output_buf()),
            MutualOrder::ConnectingSide => (self.prover.output_buf(), self.verifier.output_buf()),
        };
        if !first.is_empty() {
            first
        } else if self.second_half_started() {
            second
        } else {
            &[]
        }
    }

    fn consume_output(&mut self, n: usize) {
        let first_pending = match self.order {
            MutualOrder::AcceptingSide => !self.verifier.output_buf().is_empty(),
            MutualOrder::ConnectingSide => !self.prover.output_buf().is_empty(),
        };
        match (self.order, first_pending) {
            (MutualOrder::AcceptingSide, true) | (MutualOrder::ConnectingSide, false) => {
                self.verifier.consume_output(n)
            }
            (MutualOrder::ConnectingSide, true) | (MutualOrder::AcceptingSide, false) => {
                self.prover.consume_output(n)
            }
        }
    }

    fn is_done(&self) -> bool {
        self.outcome().is_some()
    }
}
