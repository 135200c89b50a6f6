//! An in-memory harness that drives two machines against each other, like quinn-proto's
//! `Pair`: no sockets, no threads, deterministic. Each direction is a pipe whose bytes
//! "arrive" in chunks of sizes the test chooses, which is how the sticky-packet lesson is
//! proven: any chunking must give the same events and the same bytes on the wire.
//!
//! Available in this crate's tests and, with the `pair` feature, to other crates' tests.

use std::vec::Vec;

use crate::drive::{Action, Driver, Input, StepError};
use crate::Machine;

/// How the bytes of one direction arrive: `next_chunk(pending)` returns how many of the
/// `pending` bytes arrive next (clamped to 1..=pending).
pub trait Chunker {
    /// Size of the next arriving chunk.
    fn next_chunk(&mut self, pending: usize) -> usize;
}

impl<F: FnMut(usize) -> usize> Chunker for F {
    fn next_chunk(&mut self, pending: usize) -> usize {
        self(pending)
    }
}

/// Everything arrives at once.
pub fn whole(pending: usize) -> usize {
    pending
}

/// One byte at a time.
pub fn bytewise(_pending: usize) -> usize {
    1
}

/// Chunk sizes taken in turn from a list (cycled), for proptest-generated splits.
#[derive(Debug, Clone)]
pub struct Sizes {
    sizes: Vec<usize>,
    next: usize,
}

impl Sizes {
    /// Cycle through `sizes` (zeros are treated as 1; an empty list means "whole").
    pub fn new(sizes: Vec<usize>) -> Self {
        Self { sizes, next: 0 }
    }
}

impl Chunker for Sizes {
    fn next_chunk(&mut self, pending: usize) -> usize {
        let Some(&size) = self.sizes.get(self.next % self.sizes.len().max(1)) else {
            return pending;
        };
        self.next += 1;
        size.max(1)
    }
}

/// One direction: bytes sent by one side, of which `arrived` have reached the other side's
/// receive buffer and `consumed` have been taken by its machine.
#[derive(Debug, Default, Clone)]
struct Pipe {
    bytes: Vec<u8>,
    arrived: usize,
    consumed: usize,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript<EA, EB> {
    /// Every byte A sent, in order.
    pub a_sent: Vec<u8>,
    /// Every byte B sent, in order.
    pub b_sent: Vec<u8>,
    /// Bytes A sent that B never consumed.
    pub b_unconsumed: Vec<u8>,
    /// Bytes B sent that A never consumed.
    pub a_unconsumed: Vec<u8>,
    /// A's error, if it failed.
    pub a_error: Option<EA>,
    /// B's error, if it failed.
    pub b_error: Option<EB>,
    /// A heard of B's close, had nothing to say about it, and was not done
    /// ([`StepError::UnexpectedEof`]).
    pub a_cut_off: bool,
    /// The same for B.
    pub b_cut_off: bool,
}

/// Options for [`run`].
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Close a side's sending direction once its machine is done and its output drained,
    /// delivering EOF to the other side after it consumed what it could.
    pub close_when_done: bool,
    /// Stop after this many rounds (a machine that never finishes fails the test, not hangs).
    pub max_rounds: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { close_when_done: true, max_rounds: 1_000_000 }
    }
}

/// One side as its event handler sees it: the machine, for its mutators, and the side's
/// outgoing pipe, for bytes an adapter sends itself (a file body, a command's output).
pub struct Endpoint<'a, M> {
    machine: &'a mut M,
    outgoing: &'a mut Vec<u8>,
}

impl<M: Machine> Endpoint<'_, M> {
    /// The machine, e.g. to call `begin_reply` after a command event.
    pub fn machine(&mut self) -> &mut M {
        self.machine
    }

    /// Send bytes that do not come from the machine's output. The machine's pending output
    /// goes first, as a driver would flush it first.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if let Some(transmit) = Driver::new().poll_transmit(self.machine) {
            self.outgoing.extend_from_slice(transmit.bytes());
            transmit.sent(usize::MAX);
        }
        self.outgoing.extend_from_slice(bytes);
    }
}

/// One side: its machine's driver and how its drive ended.
struct Side<E> {
    driver: Driver,
    error: Option<E>,
    cut_off: bool,
}

impl<E> Side<E> {
    const fn new() -> Self {
        Self { driver: Driver::new(), error: None, cut_off: false }
    }

    /// The side sends nothing more: its machine is done and flushed, or its drive ended.
    fn closed<M: Machine>(&self, machine: &M) -> bool {
        self.error.is_some()
            || self.cut_off
            || (machine.is_done() && machine.output_buf().is_empty())
    }
}

/// Drive `a` and `b` until neither makes progress. Events go to `on_a` / `on_b` as they
/// happen, with an [`Endpoint`] to react through (events may borrow the pipe, so copy what
/// you keep). Each side is one [`Driver`], as a real transport would have.
pub fn run<A, B>(
    a: &mut A,
    b: &mut B,
    chunk_a_to_b: &mut dyn Chunker,
    chunk_b_to_a: &mut dyn Chunker,
    options: Options,
    mut on_a: impl for<'i> FnMut(&mut Endpoint<'_, A>, A::Event<'i>),
    mut on_b: impl for<'i> FnMut(&mut Endpoint<'_, B>, B::Event<'i>),
) -> Transcript<A::Error, B::Error>
where
    A: Machine,
    B: Machine,
{
    let mut a_to_b = Pipe::default();
    let mut b_to_a = Pipe::default();
    let mut side_a = Side::new();
    let mut side_b = Side::new();
    for _ in 0..options.max_rounds {
        let mut progress = false;
        progress |= arrive(&mut a_to_b, chunk_a_to_b);
        progress |= arrive(&mut b_to_a, chunk_b_to_a);
        let a_closed = options.close_when_done && side_a.closed(a);
        progress |= feed(b, &mut side_b, &mut a_to_b, a_closed, &mut b_to_a.bytes, &mut on_b);
        let b_closed = options.close_when_done && side_b.closed(b);
        progress |= feed(a, &mut side_a, &mut b_to_a, b_closed, &mut a_to_b.bytes, &mut on_a);
        if !progress {
            break;
        }
    }
    Transcript {
        b_unconsumed: a_to_b.bytes.get(a_to_b.consumed..).unwrap_or(&[]).to_vec(),
        a_unconsumed: b_to_a.bytes.get(b_to_a.consumed..).unwrap_or(&[]).to_vec(),
        a_sent: a_to_b.bytes,
        b_sent: b_to_a.bytes,
        a_error: side_a.error,
        b_error: side_b.error,
        a_cut_off: side_a.cut_off,
        b_cut_off: side_b.cut_off,
    }
}

fn arrive(pipe: &mut Pipe, chunker: &mut dyn Chunker) -> bool {
    let pending = pipe.bytes.len() - pipe.arrived;
    if pending == 0 {
        return false;
    }
    pipe.arrived += chunker.next_chunk(pending).clamp(1, pending);
    true
}

/// Step one side's machine until it rests. `peer_closed`: the peer sends nothing more; the
/// close is seen once every byte it sent has arrived.
fn feed<M: Machine>(
    m: &mut M,
    side: &mut Side<M::Error>,
    incoming: &mut Pipe,
    peer_closed: bool,
    outgoing: &mut Vec<u8>,
    on_event: &mut impl for<'i> FnMut(&mut Endpoint<'_, M>, M::Event<'i>),
) -> bool {
    if side.error.is_some() || side.cut_off {
        return false;
    }
    let mut progress = false;
    loop {
        let input = incoming.bytes.get(incoming.consumed..incoming.arrived).unwrap_or(&[]);
        let closed = peer_closed && incoming.arrived == incoming.bytes.len();
        let eof_before = side.driver.eof_delivered();
        let step = match side.driver.step(m, Input::new(input).closed(closed)) {
            Ok(step) => step,
            Err(StepError::Machine(err)) => {
                side.error = Some(err);
                return true;
            }
            Err(StepError::UnexpectedEof) => {
                side.cut_off = true;
                return true;
            }
        };
        let consumed = step.consumed;
        let rest = match step.action {
            Action::Transmit(transmit) => {
                outgoing.extend_from_slice(transmit.bytes());
                transmit.sent(usize::MAX);
                false
            }
            Action::Event(event) => {
                on_event(&mut Endpoint { machine: m, outgoing }, event);
                false
            }
            Action::Closed(event) => {
                on_event(&mut Endpoint { machine: m, outgoing }, event);
                false
            }
            Action::NeedInput | Action::WaitingForCaller { .. } | Action::Finished => true,
        };
        incoming.consumed += consumed;
        progress |= consumed > 0 || side.driver.eof_delivered() != eof_before;
        if rest {
            return progress;
        }
        progress = true;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::frame::{FrameConfig, FrameDecoder, FrameEvent};
    use crate::Handled;
    use std::vec;

    /// Sends a fixed byte string and expects nothing.
    struct Talker {
        out: Vec<u8>,
    }

    impl Machine for Talker {
        type Event<'i> = ();
        type Error = crate::frame::FrameError;
        fn handle_input(&mut self, _input: &[u8]) -> Result<Handled<()>, Self::Error> {
            Ok(Handled::consumed(0))
        }
        fn handle_eof(&mut self) -> Result<Option<()>, Self::Error> {
            Ok(None)
        }
        fn output_buf(&self) -> &[u8] {
            &self.out
        }
        fn consume_output(&mut self, n: usize) {
            self.out.drain(..n);
        }
        fn is_done(&self) -> bool {
            self.out.is_empty()
        }
    }

    fn frames(chunker: &mut dyn Chunker) -> (Vec<Vec<u8>>, Option<crate::frame::FrameError>) {
        let cfg = FrameConfig::seed();
        let mut out = Vec::new();
        for msg in [&b"hello"[..], b"", b"world!"] {
            out.extend_from_slice(cfg.encode_prefix(msg.len() as u64).unwrap().as_bytes());
            out.extend_from_slice(msg);
        }
        let mut talker = Talker { out };
        let mut decoder = FrameDecoder::new(cfg);
        let mut got: Vec<Vec<u8>> = Vec::new();
        let t = run(
            &mut talker,
            &mut decoder,
            chunker,
            &mut whole,
            Options::default(),
            |_, ()| {},
            |_, ev| match ev {
                FrameEvent::Start { .. } => got.push(Vec::new()),
                FrameEvent::Data { chunk, .. } => got.last_mut().unwrap().extend_from_slice(chunk),
                FrameEvent::End => {}
            },
        );
        (got, t.b_error)
    }

    #[test]
    fn pair_delivers_frames_whole_and_bytewise() {
        let expected = vec![b"hello".to_vec(), Vec::new(), b"world!".to_vec()];
        assert_eq!(frames(&mut whole), (expected.clone(), None));
        assert_eq!(frames(&mut bytewise), (expected.clone(), None));
        assert_eq!(frames(&mut Sizes::new(vec![3, 7, 1])), (expected, None));
    }

    #[test]
    fn pair_holds_eof_back_from_a_machine_that_has_not_taken_every_byte() {
        use crate::command::{Agent, AgentEvent, Mode};
        // Two commands arrive apart, then the controller is done. The agent's handler defers
        // its replies, so "ls" waits untaken: the agent must not hear of the close yet.
        let mut talker = Talker { out: b"dirls".to_vec() };
        let mut agent: Agent = Agent::new(Mode::Raw);
        let mut events = Vec::new();
        let t = run(
            &mut talker,
            &mut agent,
            &mut Sizes::new(vec![3, 2]),
            &mut whole,
            Options::default(),
            |_, ()| {},
            |_, ev| {
                events.push(match ev {
                    AgentEvent::Command(cmd) => cmd.to_vec(),
                    AgentEvent::Quit => b"<quit>".to_vec(),
                    AgentEvent::Closed => b"<closed>".to_vec(),
                })
            },
        );
        assert_eq!(events, [b"dir".to_vec()]);
        assert_eq!(t.b_unconsumed, b"ls");
        assert!(!agent.is_done());
        // Once it replies it takes "ls"; the close comes after that.
        agent.reply_done().unwrap();
        assert_eq!(agent.handle_input(b"ls"), Ok(Handled::event(2, AgentEvent::Command(b"ls"))));
    }

    #[test]
    fn pair_delivers_eof_to_a_machine_mid_frame() {
        let mut talker = Talker { out: vec![5, 0, 0, 0, b'a'] };
        let mut decoder = FrameDecoder::new(FrameConfig::seed());
        let t = run(
            &mut talker,
            &mut decoder,
            &mut whole,
            &mut whole,
            Options::default(),
            |_, ()| {},
            |_, _| {},
        );
        assert_eq!(
            t.b_error,
            Some(crate::frame::FrameError::TruncatedPayload { len: 5, missing: 4 })
        );
    }
}
