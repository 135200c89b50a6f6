//! A tiny in-memory driver: two machines, two pipes, any chunking.

use std::vec::Vec;

use crate::auth::{
    AuthError, AuthEvent, MpHandshake, MpProver, MpVerifier, Outcome, SeedProver, SeedVerifier,
};
use crate::{Handled, Machine};

/// What a machine did: events and errors in order.
pub type Log = Vec<Result<AuthEvent, AuthError>>;

/// A machine with our event and error types.
pub trait AuthMachine: for<'i> Machine<Event<'i> = AuthEvent, Error = AuthError> {}
impl<M: for<'i> Machine<Event<'i> = AuthEvent, Error = AuthError>> AuthMachine for M {}

/// Feed `pipe` to `m` in chunks from `chunk` until it is empty, `m` stops taking bytes, or an
/// error. Consumed bytes are removed from `pipe`.
pub fn feed<M: AuthMachine>(
    m: &mut M,
    pipe: &mut Vec<u8>,
    chunk: &mut dyn FnMut() -> usize,
    log: &mut Log,
) {
    while !pipe.is_empty() {
        let n = chunk().clamp(1, pipe.len());
        match m.handle_input(&pipe[..n]) {
            Err(err) => {
                log.push(Err(err));
                return;
            }
            Ok(handled) => {
                assert!(handled.consumed <= n);
                pipe.drain(..handled.consumed);
                if let Some(event) = handled.event {
                    log.push(Ok(event));
                } else if handled.consumed == 0 {
                    return;
                }
            }
        }
    }
}

/// Move everything `m` wants to send into `wire` (the whole log) and `pipe` (in flight),
/// in pieces of `chunk` bytes, as a socket that accepts short writes would.
pub fn flush<M: AuthMachine>(
    m: &mut M,
    wire: &mut Vec<u8>,
    pipe: &mut Vec<u8>,
    chunk: &mut dyn FnMut() -> usize,
) {
    while !m.output_buf().is_empty() {
        let out = m.output_buf();
        let n = chunk().clamp(1, out.len());
        wire.extend_from_slice(&out[..n]);
        pipe.extend_from_slice(&out[..n]);
        m.consume_output(n);
    }
}

/// One side's record of a pair run.
#[derive(Debug, Default)]
pub struct Side {
    /// Events and errors.
    pub log: Log,
    /// Every byte it sent.
    pub sent: Vec<u8>,
    /// Bytes sent to it that it never consumed.
    pub unread: Vec<u8>,
}

/// Run two machines against each other. A side that is done and flushed closes its end;
/// the other sees EOF once it has read everything. Stops when nothing moves.
pub fn run_pair<A: AuthMachine, B: AuthMachine>(
    a: &mut A,
    b: &mut B,
    chunk: &mut dyn FnMut() -> usize,
) -> (Side, Side) {
    let (mut sa, mut sb) = (Side::default(), Side::default());
    let (mut a_to_b, mut b_to_a) = (Vec::new(), Vec::new());
    let (mut a_eof_seen, mut b_eof_seen) = (false, false);
    for _ in 0..1000 {
        let before =
            (sa.sent.len(), sb.sent.len(), a_to_b.len(), b_to_a.len(), sa.log.len(), sb.log.len());
        flush(a, &mut sa.sent, &mut a_to_b, chunk);
        flush(b, &mut sb.sent, &mut b_to_a, chunk);
        if !b.is_done() {
            feed(b, &mut a_to_b, chunk, &mut sb.log);
        }
        if !a.is_done() {
            feed(a, &mut b_to_a, chunk, &mut sa.log);
        }
        // A finished side closes once flushed; the other reads EOF after draining.
        if a.is_done()
            && a.output_buf().is_empty()
            && a_to_b.is_empty()
            && !b.is_done()
            && !b_eof_seen
        {
            b_eof_seen = true;
            log_eof(b, &mut sb.log);
        }
        if b.is_done()
            && b.output_buf().is_empty()
            && b_to_a.is_empty()
            && !a.is_done()
            && !a_eof_seen
        {
            a_eof_seen = true;
            log_eof(a, &mut sa.log);
        }
        let after =
            (sa.sent.len(), sb.sent.len(), a_to_b.len(), b_to_a.len(), sa.log.len(), sb.log.len());
        if before == after {
            break;
        }
    }
    sa.unread = b_to_a;
    sb.unread = a_to_b;
    (sa, sb)
}

fn log_eof<M: AuthMachine>(m: &mut M, log: &mut Log) {
    match m.handle_eof() {
        Ok(Some(event)) => log.push(Ok(event)),
        Ok(None) => {}
        Err(err) => log.push(Err(err)),
    }
}

/// Chunkers: everything at once, one byte at a time, or a fixed cycle of sizes.
pub fn whole() -> impl FnMut() -> usize {
    || usize::MAX
}

/// One byte per call.
pub fn bytewise() -> impl FnMut() -> usize {
    || 1
}

/// Cycle through `sizes` (each at least 1).
pub fn cycle(sizes: Vec<usize>) -> impl FnMut() -> usize {
    let mut i = 0;
    move || {
        let n = sizes[i % sizes.len()];
        i += 1;
        n
    }
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
