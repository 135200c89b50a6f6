//! An in-memory harness that drives two machines against each other, like quinn-proto's
//! `Pair`: no sockets, no threads, deterministic. Each direction is a pipe whose bytes
//! "arrive" in chunks of sizes the test chooses, which is how the sticky-packet lesson is
//! proven: any chunking must give the same events and the same bytes on the wire.
//!
//! Available in this crate's tests and, with the `pair` feature, to other crates' tests.

use std::vec::Vec;

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
    eof_delivered: bool,
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
        let out = self.machine.output_buf();
        let n = out.len();
        self.outgoing.extend_from_slice(out);
        self.machine.consume_output(n);
        self.outgoing.extend_from_slice(bytes);
    }
}

/// Drive `a` and `b` until neither makes progress. Events go to `on_a` / `on_b` as they
/// happen, with an [`Endpoint`] to react through (events may borrow the pipe, so copy what
/// you keep).
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
    let mut a_error = None;
    let mut b_error = None;
    for _ in 0..options.max_rounds {
        let mut progress = false;
        progress |= flush(a, &mut a_to_b);
        progress |= flush(b, &mut b_to_a);
        progress |= arrive(&mut a_to_b, chunk_a_to_b);
        progress |= arrive(&mut b_to_a, chunk_b_to_a);
        if b_error.is_none() {
            progress |= feed(b, &mut a_to_b, &mut b_to_a.bytes, &mut b_error, &mut on_b);
        }
        if a_error.is_none() {
            progress |= feed(a, &mut b_to_a, &mut a_to_b.bytes, &mut a_error, &mut on_a);
        }
        if options.close_when_done {
            let a_closed = a.is_done() || a_error.is_some();
            let b_closed = b.is_done() || b_error.is_some();
            if a_closed && b_error.is_none() {
                let peer_idle = a.output_buf().is_empty();
                progress |= deliver_eof(
                    b,
                    &mut a_to_b,
                    &mut b_to_a.bytes,
                    peer_idle,
                    &mut b_error,
                    &mut on_b,
                );
            }
            if b_closed && a_error.is_none() {
                let peer_idle = b.output_buf().is_empty();
                progress |= deliver_eof(
                    a,
                    &mut b_to_a,
                    &mut a_to_b.bytes,
                    peer_idle,
                    &mut a_error,
                    &mut on_a,
                );
            }
        }
        if !progress {
            break;
        }
    }
    Transcript {
        b_unconsumed: a_to_b.bytes.get(a_to_b.consumed..).unwrap_or(&[]).to_vec(),
        a_unconsumed: b_to_a.bytes.get(b_to_a.consumed..).unwrap_or(&[]).to_vec(),
        a_sent: a_to_b.bytes,
        b_sent: b_to_a.bytes,
        a_error,
        b_error,
    }
}

fn flush<M: Machine>(m: &mut M, pipe: &mut Pipe) -> bool {
    let out = m.output_buf();
    let n = out.len();
    if n == 0 {
        return false;
    }
    pipe.bytes.extend_from_slice(out);
    m.consume_output(n);
    true
}

fn arrive(pipe: &mut Pipe, chunker: &mut dyn Chunker) -> bool {
    let pending = pipe.bytes.len() - pipe.arrived;
    if pending == 0 {
        return false;
    }
    pipe.arrived += chunker.next_chunk(pending).clamp(1, pending);
    true
}

fn feed<M: Machine>(
    m: &mut M,
    pipe: &mut Pipe,
    outgoing: &mut Vec<u8>,
    error: &mut Option<M::Error>,
    on_event: &mut impl for<'i> FnMut(&mut Endpoint<'_, M>, M::Event<'i>),
) -> bool {
    let mut progress = false;
    loop {
        let input = pipe.bytes.get(pipe.consumed..pipe.arrived).unwrap_or(&[]);
        if input.is_empty() && m.is_done() {
            return progress;
        }
        match m.handle_input(input) {
            Err(err) => {
                *error = Some(err);
                return true;
            }
            Ok(handled) => {
                let had_event = handled.event.is_some();
                let consumed = handled.consumed;
                if let Some(event) = handled.event {
                    on_event(&mut Endpoint { machine: m, outgoing }, event);
                }
                pipe.consumed += consumed;
                if consumed == 0 && !had_event {
                    return progress;
                }
                progress = true;
            }
        }
    }
}

fn deliver_eof<M: Machine>(
    m: &mut M,
    pipe: &mut Pipe,
    outgoing: &mut Vec<u8>,
    peer_idle: bool,
    error: &mut Option<M::Error>,
    on_event: &mut impl for<'i> FnMut(&mut Endpoint<'_, M>, M::Event<'i>),
) -> bool {
    let drained = pipe.arrived == pipe.bytes.len() && peer_idle;
    if pipe.eof_delivered || !drained {
        return false;
    }
    // EOF only once the machine took everything it will take from what arrived.
    if feed(m, pipe, outgoing, error, on_event) {
        return true;
    }
    if pipe.consumed < pipe.arrived {
        // It waits with bytes sent before the close still untaken (an agent owing a reply):
        // `handle_eof` would tell it nothing more is coming, and they would be dropped.
        return false;
    }
    pipe.eof_delivered = true;
    match m.handle_eof() {
        Ok(Some(event)) => on_event(&mut Endpoint { machine: m, outgoing }, event),
        Ok(None) => {}
        Err(err) => *error = Some(err),
    }
    true
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
