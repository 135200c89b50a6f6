//! Auth machines on the core's driver: one fed a byte string, two against each other on the
//! [`pair`] harness in any split.

use std::vec::Vec;

use crate::auth::{
    AuthError, AuthEvent, MpHandshake, MpProver, MpVerifier, Outcome, SeedProver, SeedVerifier,
};
use crate::drive::{Action, Driver, Input, StepError};
use crate::pair::{self, Chunker, Options, Sizes};
use crate::{Handled, Machine};

/// What a machine did: events and errors in order.
pub type Log = Vec<Result<AuthEvent, AuthError>>;

/// A machine with our event and error types.
pub trait AuthMachine: for<'i> Machine<Event<'i> = AuthEvent, Error = AuthError> {}
impl<M: for<'i> Machine<Event<'i> = AuthEvent, Error = AuthError>> AuthMachine for M {}

/// Feed `pipe` to `m` through the core's driver, arriving in pieces from `chunk`, until it
/// is all taken, `m` stops taking bytes, fails or is done. Consumed bytes are removed from
/// `pipe`. Output stays in the machine for the caller to check (the transport here takes
/// none, so the driver goes on feeding input).
pub fn feed<M: AuthMachine>(m: &mut M, pipe: &mut Vec<u8>, chunk: &mut dyn Chunker, log: &mut Log) {
    let mut driver = Driver::new();
    let (mut taken, mut arrived) = (0, 0);
    loop {
        if arrived < pipe.len() {
            let pending = pipe.len() - arrived;
            arrived += chunk.next_chunk(pending).clamp(1, pending);
        }
        let rest = match driver.step(m, Input::new(&pipe[taken..arrived])) {
            Err(StepError::Machine(err)) => {
                log.push(Err(err));
                break;
            }
            Err(StepError::UnexpectedEof) => break,
            Ok(step) => {
                taken += step.consumed;
                match step.action {
                    Action::Transmit(transmit) => {
                        transmit.sent(0);
                        false
                    }
                    Action::Event(event) | Action::Closed(event) => {
                        log.push(Ok(event));
                        false
                    }
                    Action::Finished => break,
                    Action::NeedInput | Action::WaitingForCaller { .. } => true,
                }
            }
        };
        if rest && arrived == pipe.len() {
            break;
        }
    }
    pipe.drain(..taken);
}

/// One side's record of a pair run.
#[derive(Debug, Default)]
pub struct Side {
    /// Events and errors.
    pub log: Log,
    /// Every byte it sent.
    pub sent: Vec<u8>,
}

/// Run two machines against each other on the core's [`pair`] harness, both directions
/// split by `chunk`. A side that is done and flushed closes its end; the other sees EOF
/// once it has read everything.
pub fn run_pair<A: AuthMachine, B: AuthMachine>(
    a: &mut A,
    b: &mut B,
    chunk: &Sizes,
) -> (Side, Side) {
    let (mut log_a, mut log_b) = (Log::new(), Log::new());
    let t = pair::run(
        a,
        b,
        &mut chunk.clone(),
        &mut chunk.clone(),
        Options { max_rounds: 1000, ..Options::default() },
        |_, event| log_a.push(Ok(event)),
        |_, event| log_b.push(Ok(event)),
    );
    log_a.extend(t.a_error.map(Err));
    log_b.extend(t.b_error.map(Err));
    (Side { log: log_a, sent: t.a_sent }, Side { log: log_b, sent: t.b_sent })
}

/// Splits: everything at once, one byte at a time, or a fixed cycle of sizes.
pub fn whole() -> Sizes {
    Sizes::new(Vec::new())
}

/// One byte per arrival.
pub fn bytewise() -> Sizes {
    Sizes::new(std::vec![1])
}

/// Cycle through `sizes` (each at least 1).
pub fn cycle(sizes: Vec<usize>) -> Sizes {
    Sizes::new(sizes)
}

/// Any auth machine, so tables of cases can hold different kinds.
pub enum Any<'k> {
    SeedVerifier(SeedVerifier<'k>),
    SeedProver(SeedProver<'k>),
    Verifier(MpVerifier<'k>),
    Prover(MpProver<'k>),
    Handshake(MpHandshake<'k>),
}

macro_rules! each {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            Any::SeedVerifier($m) => $body,
            Any::SeedProver($m) => $body,
            Any::Verifier($m) => $body,
            Any::Prover($m) => $body,
            Any::Handshake($m) => $body,
        }
    };
}

impl Any<'_> {
    pub fn outcome(&self) -> Option<Outcome> {
        each!(self, m => m.outcome())
    }
}

impl Machine for Any<'_> {
    type Event<'i> = AuthEvent;
    type Error = AuthError;
    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<AuthEvent>, AuthError> {
        each!(self, m => m.handle_input(input))
    }
    fn handle_eof(&mut self) -> Result<Option<AuthEvent>, AuthError> {
        each!(self, m => m.handle_eof())
    }
    fn output_buf(&self) -> &[u8] {
        each!(self, m => m.output_buf())
    }
    fn consume_output(&mut self, n: usize) {
        each!(self, m => m.consume_output(n))
    }
    fn is_done(&self) -> bool {
        each!(self, m => m.is_done())
    }
}
