//! Both halves in CPython's order.

use rand_core::CryptoRng;

use super::answer::AnswerCore;
use super::deliver::DeliverCore;
use super::{
    draw_random, ChallengeMode, MpPolicy, Order, RxBuf, MODERN_RANDOM_LEN, PRE_AUTH_MAX_FRAME,
};
use crate::auth::{input_when_done, AuthError, AuthEvent, Outcome};
use crate::{Handled, Machine};

/// The mutual handshake: [`Order::ListenerSide`] is `Listener.accept` (deliver, then
/// answer), [`Order::ClientSide`] is `Client` (answer, then deliver). The order is not tied
/// to who opened the TCP connection, but the side that accepts connections from untrusted
/// peers must use `ListenerSide` (see the module docs on reflection).
///
/// Ends at [`Outcome::Authenticated`] when both directions passed; otherwise at the first
/// half's failure (like CPython, the second half never starts after a failed first half).
/// Only handshake frames are consumed: bytes after the last one stay with the caller.
#[derive(Debug, Clone)]
pub struct MpHandshake<'k> {
    order: Order,
    deliver: DeliverCore<'k>,
    answer: AnswerCore<'k>,
    rx: RxBuf,
}

impl<'k> MpHandshake<'k> {
    /// A handshake whose challenge uses `random` (from a CSPRNG; legacy mode uses the first
    /// 20 bytes). `ListenerSide` queues the challenge at once; `ClientSide` queues it after
    /// the peer has accepted our answer.
    pub fn new(
        key: &'k [u8],
        order: Order,
        mode: ChallengeMode,
        policy: MpPolicy,
        random: [u8; MODERN_RANDOM_LEN],
    ) -> Self {
        Self::with_keys(key, key, order, mode, policy, random)
    }

    /// As [`MpHandshake::new`], checking the peer's answers under `verify_key` and answering
    /// the peer's challenge under `prove_key` (wirekit's own exchanges give each role its own
    /// key: [`crate::auth::keys`]). CPython peers use one key both ways, i.e. [`MpHandshake::new`].
    pub fn with_keys(
        verify_key: &'k [u8],
        prove_key: &'k [u8],
        order: Order,
        mode: ChallengeMode,
        policy: MpPolicy,
        random: [u8; MODERN_RANDOM_LEN],
    ) -> Self {
        let mut deliver = DeliverCore::new(verify_key, mode, policy, random);
        if order == Order::ListenerSide {
            deliver.start();
        }
        let answer = AnswerCore::new(prove_key, policy);
        Self { order, deliver, answer, rx: [0; PRE_AUTH_MAX_FRAME] }
    }

    /// A handshake with its challenge drawn from `rng`.
    pub fn with_rng(
        key: &'k [u8],
        order: Order,
        mode: ChallengeMode,
        policy: MpPolicy,
        rng: &mut impl CryptoRng,
    ) -> Self {
        Self::new(key, order, mode, policy, draw_random(rng))
    }

    /// The order this handshake runs in.
    pub const fn order(&self) -> Order {
        self.order
    }

    /// Our challenge message (after `#CHALLENGE#`).
    pub fn message(&self) -> &[u8] {
        self.deliver.message()
    }

    /// The first half's outcome, then the second's (`None` while that half runs).
    fn outcomes(&self) -> (Option<Outcome>, Option<Outcome>) {
        match self.order {
            Order::ListenerSide => (self.deliver.outcome(), self.answer.outcome()),
            Order::ClientSide => (self.answer.outcome(), self.deliver.outcome()),
        }
    }

    /// How the handshake ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        match self.outcomes() {
            (None, _) => None,
            (Some(first), _) if !is_pass(first) => Some(first),
            (Some(_), None) => None,
            (Some(_), Some(second)) if !is_pass(second) => Some(second),
            (Some(_), Some(_)) => Some(Outcome::Authenticated),
        }
    }
}

/// A half that passed: we verified the peer, or the peer accepted us.
const fn is_pass(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Authenticated | Outcome::Accepted)
}

impl Machine for MpHandshake<'_> {
    type Event<'i> = AuthEvent;
    type Error = AuthError;

    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<AuthEvent>, AuthError> {
        if let Some(outcome) = self.outcome() {
            return input_when_done(outcome);
        }
        let first_done = self.outcomes().0.is_some();
        match (self.order, first_done) {
            (Order::ListenerSide, false) | (Order::ClientSide, true) => {
                self.deliver.handle_input(input, &mut self.rx)
            }
            (Order::ClientSide, false) => {
                let handled = self.answer.handle_input(input, &mut self.rx)?;
                if handled.event == Some(AuthEvent::Accepted) {
                    // `Client`: our challenge goes out only after the peer accepted us.
                    self.deliver.start();
                }
                Ok(handled)
            }
            (Order::ListenerSide, true) => self.answer.handle_input(input, &mut self.rx),
        }
    }

    fn handle_eof(&mut self) -> Result<Option<AuthEvent>, AuthError> {
        if let Some(outcome) = self.outcome() {
            return match outcome {
                Outcome::Failed(err) => Err(err),
                _ => Ok(None),
            };
        }
        let first_done = self.outcomes().0.is_some();
        match (self.order, first_done) {
            (Order::ListenerSide, false) | (Order::ClientSide, true) => self.deliver.handle_eof(),
            (Order::ClientSide, false) | (Order::ListenerSide, true) => self.answer.handle_eof(),
        }
    }

    fn output_buf(&self) -> &[u8] {
        // The second half queues nothing before the first is over, so this keeps wire order.
        let (first, second) = match self.order {
            Order::ListenerSide => (self.deliver.output(), self.answer.output()),
            Order::ClientSide => (self.answer.output(), self.deliver.output()),
        };
        if first.is_empty() {
            second
        } else {
            first
        }
    }

    fn consume_output(&mut self, n: usize) {
        let first_pending = match self.order {
            Order::ListenerSide => !self.deliver.output().is_empty(),
            Order::ClientSide => !self.answer.output().is_empty(),
        };
        match (self.order, first_pending) {
            (Order::ListenerSide, true) | (Order::ClientSide, false) => {
                self.deliver.consume_output(n)
            }
            (Order::ClientSide, true) | (Order::ListenerSide, false) => {
                self.answer.consume_output(n)
            }
        }
    }

    fn is_done(&self) -> bool {
        self.outcome().is_some()
    }
}
