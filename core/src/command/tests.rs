#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::string::String;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::frame::{FrameConfig, FrameError};
use crate::{Handled, Machine};

// ---------------------------------------------------------------------------------------------
// A small in-memory driver: no sockets, bytes are moved by hand.
// ---------------------------------------------------------------------------------------------

/// A controller event with owned bytes, so sequences can be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Output(Vec<u8>),
    Start(u64),
    Data(Vec<u8>, u64),
    End,
    Closed,
}

impl From<ControllerEvent<'_>> for Ev {
    fn from(event: ControllerEvent<'_>) -> Self {
        match event {
            ControllerEvent::Output(bytes) => Ev::Output(bytes.to_vec()),
            ControllerEvent::ReplyStart { len } => Ev::Start(len),
            ControllerEvent::ReplyData { chunk, remaining } => Ev::Data(chunk.to_vec(), remaining),
            ControllerEvent::ReplyEnd => Ev::End,
            ControllerEvent::Closed => Ev::Closed,
        }
    }
}

/// A stand-in for the shell: what the adapter would get from running `cmd`.
fn fake_shell(cmd: &[u8]) -> (Vec<u8>, Vec<u8>) {
    match cmd {
        b"silent" => (vec![], vec![]),
        b"fail" => (vec![], b"fail: command not found\n".to_vec()),
        b"big" => ((0..3000u32).map(|i| (i % 251) as u8).collect(), b"warn\n".to_vec()),
        _ => {
            let mut out = b"ran ".to_vec();
            out.extend_from_slice(cmd);
            out.push(b'\n');
            (out, b"note\n".to_vec())
        }
    }
}

/// Flush the controller's command into one segment, as one `send` of the seed does.
fn take_output<M: Machine>(machine: &mut M) -> Vec<u8> {
    let bytes = machine.output_buf().to_vec();
    machine.consume_output(bytes.len());
    bytes
}

/// The agent's adapter replying zero-copy: prefix from `output_buf`, then stdout and stderr
/// sent from the adapter's own buffers and reported. `announce` = call `begin_reply` (always
/// in framed mode; optional in raw mode, where the reply is ended with `reply_done`).
fn agent_reply<const N: usize>(
    agent: &mut Agent<N>,
    stdout: &[u8],
    stderr: &[u8],
    announce: bool,
) -> Vec<u8> {
    let mut wire = Vec::new();
    if announce {
        agent.begin_reply_for(stdout, stderr).unwrap();
        wire.extend(take_output(agent));
    }
    wire.extend_from_slice(stdout);
    agent.record_reply_bytes(stdout.len()).unwrap();
    wire.extend_from_slice(stderr);
    agent.record_reply_bytes(stderr.len()).unwrap();
    if !announce {
        agent.reply_done().unwrap();
    }
    assert!(!agent.is_replying());
    wire
}

/// Agent side of one command: one segment in, the command out, its reply on the wire.
fn agent_serve<const N: usize>(agent: &mut Agent<N>, segment: &[u8]) -> Option<Vec<u8>> {
    let handled = agent.handle_input(segment).unwrap();
    assert_eq!(handled.consumed, segment.len());
    match handled.event {
        Some(AgentEvent::Command(cmd)) => {
            assert_eq!(cmd, segment);
            let (out, err) = fake_shell(cmd);
            let announce = matches!(agent.mode(), Mode::Framed(_));
            Some(agent_reply(agent, &out, &err, announce))
        }
        Some(AgentEvent::Quit) => None,
        other => panic!("unexpected agent event {other:?}"),
    }
}

/// Feed `stream` to the controller in pieces of `sizes` (cycled; 0 is read as 1). Input the
/// controller leaves unconsumed is kept and fed again with the next piece. On each `ReplyEnd`
/// the next of `then_send` is sent (framed mode only lets one command be out).
fn feed_controller<const N: usize>(
    ctrl: &mut Controller<N>,
    stream: &[u8],
    sizes: &[usize],
    then_send: &mut dyn Iterator<Item = Vec<u8>>,
) -> Result<Vec<Ev>, ReplyError> {
    let mut events = Vec::new();
    let mut carry: Vec<u8> = Vec::new();
    let mut rest = stream;
    let mut pieces = piece_lens(stream.len(), sizes).into_iter();
    loop {
        if let Some(len) = pieces.next() {
            let (piece, tail) = rest.split_at(len);
            carry.extend_from_slice(piece);
            rest = tail;
        }
        loop {
            let Handled { consumed, event } = ctrl.handle_input(&carry)?;
            let event = event.map(Ev::from);
            carry.drain(..consumed);
            let Some(ev) = event else { break };
            if ev == Ev::End {
                if let Some(cmd) = then_send.next() {
                    ctrl.send_command(&cmd).unwrap();
                    take_output(ctrl);
                }
            }
            events.push(ev);
        }
        if rest.is_empty() {
            assert!(carry.is_empty(), "controller left {} bytes", carry.len());
            return Ok(events);
        }
    }
}

/// Lengths of the pieces that `len` bytes arrive in: `sizes` cycled, 0 read as 1.
fn piece_lens(len: usize, sizes: &[usize]) -> Vec<usize> {
    assert!(!sizes.is_empty());
    let mut out = Vec::new();
    let mut left = len;
    for size in sizes.iter().cycle() {
        if left == 0 {
            break;
        }
        let take = (*size).clamp(1, left);
        out.push(take);
        left -= take;
    }
    out
}

/// Group framed events into `(announced len, body)` per reply, checking `remaining` on the
/// way. Panics on a sequence that is not Start, Data*, End repeated.
fn replies(events: &[Ev]) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut open: Option<(u64, Vec<u8>)> = None;
    for ev in events {
        match (ev, &mut open) {
            (Ev::Start(len), None) => open = Some((*len, Vec::new())),
            (Ev::Data(chunk, remaining), Some((len, body))) => {
                assert!(!chunk.is_empty());
                body.extend_from_slice(chunk);
                assert_eq!(*remaining, *len - body.len() as u64);
            }
            (Ev::End, Some(_)) => {
                let (len, body) = open.take().unwrap();
                assert_eq!(len, body.len() as u64);
                out.push((len, body));
            }
            (ev, state) => panic!("{ev:?} out of order (open reply: {state:?})"),
        }
    }
    assert!(open.is_none(), "a reply did not end");
    out
}

fn raw_output(events: &[Ev]) -> Vec<u8> {
    let mut out = Vec::new();
    for ev in events {
        match ev {
            Ev::Output(bytes) => {
                assert!(!bytes.is_empty());
                out.extend_from_slice(bytes);
            }
            other => panic!("raw mode produced {other:?}"),
        }
    }
    out
}

fn reply_body(cmd: &[u8]) -> Vec<u8> {
    let (mut out, err) = fake_shell(cmd);
    out.extend(err);
    out
}

// ---------------------------------------------------------------------------------------------
// Whole sessions, both modes.
// ---------------------------------------------------------------------------------------------

#[test]
fn framed_session_runs_commands_in_order_and_quits() {
    let mode = Mode::seed_framed();
    let mut ctrl: Controller = Controller::new(mode);
    let mut agent: Agent = Agent::new(mode);
    let commands: [&[u8]; 4] = [b"dir", b"silent", b"fail", b"big"];
    for cmd in commands {
        ctrl.send_command(cmd).unwrap();
        assert!(ctrl.is_awaiting_reply());
        let segment = take_output(&mut ctrl);
        assert_eq!(segment, cmd, "commands travel raw, unframed");
        let wire = agent_serve(&mut agent, &segment).unwrap();
        let events = feed_controller(&mut ctrl, &wire, &[7], &mut core::iter::empty()).unwrap();
        let body = reply_body(cmd);
        assert_eq!(replies(&events), vec![(body.len() as u64, body)]);
        assert!(!ctrl.is_awaiting_reply());
    }
    ctrl.send_command(b"q").unwrap();
    assert!(ctrl.is_done());
    let segment = take_output(&mut ctrl);
    assert_eq!(segment, b"q");
    assert_eq!(agent_serve(&mut agent, &segment), None);
    assert!(agent.is_done());
    assert_eq!(ctrl.send_command(b"dir"), Err(CommandError::Closed));
}

#[test]
fn raw_session_delivers_output_as_it_arrives() {
    let mut ctrl: Controller = Controller::new(Mode::Raw);
    let mut agent: Agent = Agent::new(Mode::Raw);
    for cmd in [&b"dir"[..], b"fail", b"big"] {
        ctrl.send_command(cmd).unwrap();
        assert!(!ctrl.is_awaiting_reply(), "raw mode cannot know a reply is pending");
        let wire = agent_serve(&mut agent, &take_output(&mut ctrl)).unwrap();
        assert_eq!(wire, reply_body(cmd), "raw replies carry no prefix");
        let events = feed_controller(&mut ctrl, &wire, &[500], &mut core::iter::empty()).unwrap();
        // Chunks exactly as they arrived: recv(500) pieces of a 3005-byte reply.
        let expected_events = wire.chunks(500).count();
        assert_eq!(events.len(), expected_events);
        assert_eq!(raw_output(&events), wire);
    }
    assert_eq!(ctrl.handle_eof(), Ok(Some(ControllerEvent::Closed)));
    assert!(ctrl.is_done());
}

#[test]
fn raw_agent_may_announce_the_length_without_sending_a_prefix() {
    let mut agent: Agent = Agent::new(Mode::Raw);
    agent.handle_input(b"dir").unwrap();
    agent.begin_reply(6).unwrap();
    assert!(agent.output_buf().is_empty());
    agent.record_reply_bytes(6).unwrap();
    assert!(!agent.is_replying(), "an announced raw reply ends by itself");

    agent.handle_input(b"dir").unwrap();
    agent.begin_reply(3).unwrap();
    assert_eq!(agent.record_reply_bytes(4), Err(CommandError::ReplyOverrun { len: 3, sent: 4 }));
}

#[test]
fn empty_raw_reply_sends_nothing_and_the_controller_sees_nothing() {
    let mut ctrl: Controller = Controller::new(Mode::Raw);
    let mut agent: Agent = Agent::new(Mode::Raw);
    ctrl.send_command(b"silent").unwrap();
    let wire = agent_serve(&mut agent, &take_output(&mut ctrl)).unwrap();
    assert!(wire.is_empty());
    assert_eq!(ctrl.handle_input(&wire), Ok(Handled::consumed(0)));
}

// ---------------------------------------------------------------------------------------------
// Sticky packets: the reason demo2 exists.
// ---------------------------------------------------------------------------------------------

#[test]
fn sticky_raw_replies_cannot_be_told_apart_but_framed_ones_can() {
    let (first, second): (&[u8], &[u8]) = (b"dir", b"whoami");

    // Raw: both replies arrive in one read. The controller sees one undivided chunk.
    let mut agent: Agent = Agent::new(Mode::Raw);
    let mut ctrl: Controller = Controller::new(Mode::Raw);
    let mut stream = Vec::new();
    for cmd in [first, second] {
        ctrl.send_command(cmd).unwrap();
        stream.extend(agent_serve(&mut agent, &take_output(&mut ctrl)).unwrap());
    }
    let handled = ctrl.handle_input(&stream).unwrap();
    assert_eq!(handled.consumed, stream.len());
    assert_eq!(handled.event, Some(ControllerEvent::Output(&stream[..])));
    // The same bytes could as well be one reply: the boundary is gone.
    let merged = [reply_body(first), reply_body(second)].concat();
    assert_eq!(stream, merged);

    // Framed: the controller stops exactly at the end of the first reply.
    let mode = Mode::seed_framed();
    let mut agent: Agent = Agent::new(mode);
    let mut ctrl: Controller = Controller::new(mode);
    ctrl.send_command(first).unwrap();
    let mut stream = agent_serve(&mut agent, &take_output(&mut ctrl)).unwrap();
    let first_len = stream.len();
    // (The agent-side driver runs the second command too; its reply sticks to the first.)
    stream.extend(agent_serve(&mut agent, second).unwrap());

    let mut consumed = 0;
    let mut events = Vec::new();
    while events.last() != Some(&Ev::End) {
        let handled = ctrl.handle_input(&stream[consumed..]).unwrap();
        consumed += handled.consumed;
        events.extend(handled.event.map(Ev::from));
    }
    assert_eq!(consumed, first_len, "the second reply stays with the caller");
    assert_eq!(replies(&events), vec![(reply_body(first).len() as u64, reply_body(first))]);
    // The leftover is exactly the second reply. With no command waiting, it is refused
    // rather than taken for a reply.
    let leftover = stream[consumed..].to_vec();
    let unsolicited = ReplyError::Unsolicited { len: leftover.len() };
    assert_eq!(ctrl.clone().handle_input(&leftover), Err(unsolicited));
    ctrl.send_command(second).unwrap();
    take_output(&mut ctrl);
    let events = feed_controller(&mut ctrl, &leftover, &[usize::MAX], &mut core::iter::empty());
    let body = reply_body(second);
    assert_eq!(replies(&events.unwrap()), vec![(body.len() as u64, body)]);
}

#[test]
fn a_raw_reply_longer_than_one_read_spills_into_the_next_commands_output() {
    // demo1's controller does recv(500) once per command: a 3005-byte reply leaves 2505
    // bytes that the next read returns as if they answered the next command.
    let mut agent: Agent = Agent::new(Mode::Raw);
    let mut ctrl: Controller = Controller::new(Mode::Raw);
    ctrl.send_command(b"big").unwrap();
    let mut stream = agent_serve(&mut agent, &take_output(&mut ctrl)).unwrap();
    ctrl.send_command(b"dir").unwrap();
    stream.extend(agent_serve(&mut agent, &take_output(&mut ctrl)).unwrap());
    let second_read = &stream[500..1000];
    let event = ctrl.handle_input(second_read).unwrap().event;
    // Nothing in the event says these bytes still belong to `big`.
    assert_eq!(event, Some(ControllerEvent::Output(second_read)));
    assert_eq!(second_read, &reply_body(b"big")[500..1000]);
}

// ---------------------------------------------------------------------------------------------
// The agent.
// ---------------------------------------------------------------------------------------------

#[test]
fn agent_treats_each_input_as_one_command_borrowed_from_it() {
    let mut agent: Agent = Agent::new(Mode::Raw);
    let input = b"ipconfig /all";
    let handled = agent.handle_input(input).unwrap();
    assert_eq!(handled, Handled::event(input.len(), AgentEvent::Command(input)));
    let Some(AgentEvent::Command(cmd)) = handled.event else { unreachable!() };
    assert!(core::ptr::eq(cmd.as_ptr(), input.as_ptr()), "zero-copy");
}

#[test]
fn agent_reads_two_commands_in_one_segment_as_one() {
    // The documented ambiguity of unframed commands: `ls` and `pwd` sent back to back and
    // delivered together are one command `lspwd`, as in the seed.
    let mut agent: Agent = Agent::new(Mode::Raw);
    let handled = agent.handle_input(b"lspwd").unwrap();
    assert_eq!(handled.event, Some(AgentEvent::Command(b"lspwd")));
}

#[test]
fn agent_takes_at_most_n_bytes_per_command_like_recv_n() {
    let mut agent: Agent<4> = Agent::new(Mode::Raw);
    assert_eq!(agent.max_command_len(), 4);
    let input = b"abcdefg";
    let handled = agent.handle_input(input).unwrap();
    assert_eq!(handled, Handled::event(4, AgentEvent::Command(b"abcd")));
    agent.reply_done().unwrap();
    let handled = agent.handle_input(&input[4..]).unwrap();
    assert_eq!(handled, Handled::event(3, AgentEvent::Command(b"efg")));
}

#[test]
fn agent_quits_on_exactly_q() {
    for not_quit in [&b"q "[..], b"Q", b"qq", b"q\n", b" q"] {
        let mut agent: Agent = Agent::new(Mode::Raw);
        let handled = agent.handle_input(not_quit).unwrap();
        assert_eq!(handled.event, Some(AgentEvent::Command(not_quit)), "{not_quit:?}");
    }
    let mut agent: Agent = Agent::new(Mode::seed_framed());
    assert_eq!(agent.handle_input(b"q"), Ok(Handled::event(1, AgentEvent::Quit)));
    assert!(agent.is_done());
    assert!(agent.output_buf().is_empty(), "nothing is run, nothing is sent");
    assert_eq!(agent.handle_input(b"dir"), Ok(Handled::consumed(0)));
    assert_eq!(agent.begin_reply(0), Err(CommandError::Closed));
    assert_eq!(agent.record_reply_bytes(1), Err(CommandError::Closed));
}

#[test]
fn agent_framed_prefix_is_struct_pack_i() {
    let mut agent: Agent = Agent::new(Mode::seed_framed());
    agent.handle_input(b"dir").unwrap();
    agent.begin_reply(0x0001_0203).unwrap();
    assert_eq!(agent.output_buf(), &[0x03, 0x02, 0x01, 0x00]);
    assert_eq!(agent.reply_remaining(), Some(0x0001_0203));
    // Partial sends of the prefix are tracked.
    agent.consume_output(1);
    assert_eq!(agent.output_buf(), &[0x02, 0x01, 0x00]);
}

#[test]
fn agent_leaves_the_next_command_unconsumed_until_the_reply_is_complete() {
    let mut agent: Agent = Agent::new(Mode::seed_framed());
    agent.handle_input(b"dir").unwrap();
    let next = b"whoami";
    let not_taken = Ok(Handled::consumed(0));
    assert_eq!(agent.handle_input(next), not_taken, "command running");
    agent.begin_reply(10).unwrap();
    assert_eq!(agent.handle_input(next), not_taken, "prefix unsent");
    take_output(&mut agent);
    agent.record_reply_bytes(9).unwrap();
    assert!(agent.is_replying());
    assert_eq!(agent.reply_remaining(), Some(1));
    assert_eq!(agent.handle_input(next), not_taken, "one byte missing");
    agent.record_reply_bytes(1).unwrap();
    assert!(!agent.is_replying());
    assert_eq!(agent.handle_input(next), Ok(Handled::event(6, AgentEvent::Command(next))));
}

#[test]
fn agent_empty_framed_reply_is_a_zero_prefix_and_completes_once_sent() {
    let mut agent: Agent = Agent::new(Mode::seed_framed());
    agent.handle_input(b"cd .").unwrap();
    agent.begin_reply_for(b"", b"").unwrap();
    assert_eq!(agent.output_buf(), &[0, 0, 0, 0]);
    assert!(agent.is_replying(), "the prefix is the whole reply");
    assert_eq!(agent.handle_input(b"dir"), Ok(Handled::consumed(0)));
    agent.consume_output(4);
    assert!(!agent.is_replying());
    assert_eq!(agent.handle_input(b"dir").unwrap().consumed, 3);
}

#[test]
fn agent_overrun_ends_the_session() {
    let mut agent: Agent = Agent::new(Mode::seed_framed());
    agent.handle_input(b"dir").unwrap();
    agent.begin_reply(5).unwrap();
    take_output(&mut agent);
    agent.record_reply_bytes(3).unwrap();
    let err = CommandError::ReplyOverrun { len: 5, sent: 6 };
    assert_eq!(agent.record_reply_bytes(3), Err(err));
    assert!(agent.is_done());
    assert_eq!(agent.handle_input(b"dir"), Err(err));
    assert_eq!(agent.handle_eof(), Err(err));
    assert_eq!(agent.reply_done(), Err(err));
}

#[test]
fn agent_refuses_reply_bytes_ahead_of_the_prefix() {
    let mut agent: Agent = Agent::new(Mode::seed_framed());
    agent.handle_input(b"dir").unwrap();
    agent.begin_reply(5).unwrap();
    agent.consume_output(1);
    let err = CommandError::PrefixNotSent { pending: 3 };
    assert_eq!(agent.record_reply_bytes(5), Err(err));
    assert!(agent.is_done());

    let mut agent: Agent = Agent::new(Mode::seed_framed());
    agent.handle_input(b"dir").unwrap();
    assert_eq!(agent.record_reply_bytes(2), Err(CommandError::ReplyNotBegun));
    assert!(agent.is_done(), "bytes without a prefix corrupt the stream");
}

#[test]
fn agent_refusals_that_change_nothing_leave_the_reply_open() {
    let mut agent: Agent = Agent::new(Mode::Framed(FrameConfig::seed().with_max_frame_len(10)));
    assert_eq!(agent.begin_reply(1), Err(CommandError::NoCommand));
    assert_eq!(agent.reply_done(), Err(CommandError::NoCommand));
    assert!(!agent.is_done());

    agent.handle_input(b"dir").unwrap();
    assert_eq!(agent.reply_done(), Err(CommandError::ReplyNotBegun));
    assert_eq!(agent.begin_reply(11), Err(CommandError::ReplyTooLong { len: 11, max: 10 }));
    assert!(agent.output_buf().is_empty());
    agent.begin_reply(10).unwrap();
    assert_eq!(agent.begin_reply(10), Err(CommandError::ReplyAlreadyBegun));
    take_output(&mut agent);
    agent.record_reply_bytes(4).unwrap();
    assert_eq!(agent.reply_done(), Err(CommandError::ReplyIncomplete { len: 10, sent: 4 }));
    agent.record_reply_bytes(6).unwrap();
    assert!(!agent.is_done() && !agent.is_replying());
    agent.record_reply_bytes(0).unwrap();
    assert!(!agent.is_done(), "reporting nothing is harmless");
}

#[test]
fn agent_bytes_after_a_completed_reply_end_the_session() {
    let mut agent: Agent = Agent::new(Mode::seed_framed());
    agent.handle_input(b"dir").unwrap();
    agent.begin_reply(2).unwrap();
    take_output(&mut agent);
    agent.record_reply_bytes(2).unwrap();
    // One byte more than announced, reported in a separate call.
    assert_eq!(agent.record_reply_bytes(1), Err(CommandError::NoCommand));
    assert!(agent.is_done());
}

#[test]
fn raw_agent_streams_until_reply_done() {
    let mut agent: Agent = Agent::new(Mode::Raw);
    agent.handle_input(b"ping").unwrap();
    agent.record_reply_bytes(0).unwrap();
    agent.record_reply_bytes(100).unwrap();
    agent.record_reply_bytes(7).unwrap();
    assert_eq!(agent.begin_reply(107), Err(CommandError::ReplyAlreadyBegun));
    assert_eq!(agent.handle_input(b"dir"), Ok(Handled::consumed(0)));
    agent.reply_done().unwrap();
    assert_eq!(agent.handle_input(b"dir").unwrap().consumed, 3);
    // An empty raw reply: nothing to send, just done.
    agent.reply_done().unwrap();
    assert!(!agent.is_replying());
}

#[test]
fn agent_eof_ends_the_session_after_a_reply_under_way() {
    let mut agent: Agent = Agent::new(Mode::Raw);
    assert_eq!(agent.handle_eof(), Ok(Some(AgentEvent::Closed)));
    assert!(agent.is_done());

    let mut agent: Agent = Agent::new(Mode::seed_framed());
    agent.handle_input(b"dir").unwrap();
    assert_eq!(agent.handle_eof(), Ok(Some(AgentEvent::Closed)));
    assert!(!agent.is_done(), "the reply may still be sent after the peer's FIN");
    agent.begin_reply(2).unwrap();
    take_output(&mut agent);
    agent.record_reply_bytes(2).unwrap();
    assert!(agent.is_done());
    assert_eq!(agent.handle_input(b"dir"), Ok(Handled::consumed(0)));
}

// ---------------------------------------------------------------------------------------------
// The controller.
// ---------------------------------------------------------------------------------------------

#[test]
fn controller_refuses_empty_and_oversize_commands() {
    let mut ctrl: Controller<4> = Controller::new(Mode::Raw);
    assert_eq!(ctrl.send_command(b""), Err(CommandError::Empty));
    assert_eq!(ctrl.send_command(b"hello"), Err(CommandError::TooLong { len: 5, max: 4 }));
    assert!(ctrl.output_buf().is_empty());
    ctrl.send_command(b"dir!").unwrap();
    assert_eq!(ctrl.output_buf(), b"dir!");
}

#[test]
fn controller_is_busy_until_the_command_is_sent_and_framed_reply_ended() {
    let mut ctrl: Controller = Controller::new(Mode::Raw);
    ctrl.send_command(b"dir").unwrap();
    assert_eq!(ctrl.send_command(b"ver"), Err(CommandError::Busy));
    ctrl.consume_output(2);
    assert_eq!(ctrl.output_buf(), b"r");
    assert_eq!(ctrl.send_command(b"q"), Err(CommandError::Busy));
    ctrl.consume_output(1);
    ctrl.send_command(b"ver").unwrap();
    assert_eq!(ctrl.output_buf(), b"ver");

    let mut ctrl: Controller = Controller::new(Mode::seed_framed());
    ctrl.send_command(b"dir").unwrap();
    take_output(&mut ctrl);
    assert_eq!(ctrl.send_command(b"ver"), Err(CommandError::Busy));
    assert_eq!(ctrl.send_command(b"q"), Err(CommandError::Busy));
    let reply = [2, 0, 0, 0, b'o', b'k'];
    let events = feed_controller(&mut ctrl, &reply, &[1], &mut core::iter::empty()).unwrap();
    assert_eq!(events.last(), Some(&Ev::End));
    ctrl.send_command(b"ver").unwrap();
}

#[test]
fn controller_end_is_delivered_with_no_input_consumed() {
    let mut ctrl: Controller = Controller::new(Mode::seed_framed());
    ctrl.send_command(b"dir").unwrap();
    take_output(&mut ctrl);
    let reply = [2, 0, 0, 0, b'o', b'k'];
    assert_eq!(
        ctrl.handle_input(&reply),
        Ok(Handled::event(4, ControllerEvent::ReplyStart { len: 2 }))
    );
    assert_eq!(ctrl.reply_remaining(), Some(2));
    let data = ControllerEvent::ReplyData { chunk: b"ok", remaining: 0 };
    assert_eq!(ctrl.handle_input(&reply[4..]), Ok(Handled::event(2, data)));
    assert!(ctrl.send_command(b"ver").is_err());
    assert_eq!(ctrl.handle_input(&[]), Ok(Handled::event(0, ControllerEvent::ReplyEnd)));
    ctrl.send_command(b"ver").unwrap();
}

#[test]
fn controller_quit_sends_q_and_is_done() {
    let mut ctrl: Controller = Controller::new(Mode::seed_framed());
    ctrl.send_command(QUIT).unwrap();
    assert!(ctrl.is_done());
    assert!(!ctrl.is_awaiting_reply(), "no reply to `q`");
    assert_eq!(take_output(&mut ctrl), b"q");
    assert_eq!(ctrl.send_command(b"dir"), Err(CommandError::Closed));
    assert_eq!(ctrl.handle_input(b"late"), Ok(Handled::consumed(0)));
    assert_eq!(ctrl.handle_eof(), Ok(Some(ControllerEvent::Closed)));
}

#[test]
fn controller_framed_rejects_unsolicited_bytes() {
    let mut ctrl: Controller = Controller::new(Mode::seed_framed());
    assert_eq!(ctrl.handle_input(&[]), Ok(Handled::consumed(0)));
    let err = ReplyError::Unsolicited { len: 5 };
    assert_eq!(ctrl.handle_input(&[1, 0, 0, 0, b'x']), Err(err));
    assert!(ctrl.is_done());
    assert_eq!(ctrl.handle_input(&[]), Err(err), "errors are sticky");
    assert_eq!(ctrl.handle_eof(), Err(err));
    assert_eq!(ctrl.send_command(b"dir"), Err(CommandError::Closed));
}

#[test]
fn controller_framed_checks_the_prefix() {
    let max = Mode::Framed(FrameConfig::seed().with_max_frame_len(100));
    let mut ctrl: Controller = Controller::new(max);
    ctrl.send_command(b"dir").unwrap();
    let err = ReplyError::Frame(FrameError::Oversize { len: 101, max: 100 });
    assert_eq!(ctrl.handle_input(&101i32.to_le_bytes()), Err(err));

    let mut ctrl: Controller = Controller::new(Mode::seed_framed());
    ctrl.send_command(b"dir").unwrap();
    let err = ReplyError::Frame(FrameError::Negative { value: -1 });
    assert_eq!(ctrl.handle_input(&(-1i32).to_le_bytes()), Err(err));
    assert!(ctrl.is_done());
}

fn framed_ctrl_after(input: &[u8]) -> Controller {
    let mut ctrl: Controller = Controller::new(Mode::seed_framed());
    ctrl.send_command(b"dir").unwrap();
    take_output(&mut ctrl);
    let mut rest = input;
    while let Ok(Handled { consumed, event }) = ctrl.handle_input(rest) {
        rest = &rest[consumed..];
        if event.is_none() {
            break;
        }
    }
    assert!(rest.is_empty());
    ctrl
}

#[test]
fn controller_framed_eof_mid_reply_is_truncated() {
    let mut ctrl = framed_ctrl_after(&[10, 0, 0, 0, b'a', b'b', b'c']);
    assert_eq!(ctrl.handle_eof(), Err(ReplyError::Truncated { len: 10, missing: 7 }));
    assert!(ctrl.is_done());

    let mut ctrl = framed_ctrl_after(&[10, 0]);
    let err = ReplyError::Frame(FrameError::TruncatedPrefix { have: 2, need: 4 });
    assert_eq!(ctrl.handle_eof(), Err(err));

    let mut ctrl = framed_ctrl_after(&[]);
    assert_eq!(ctrl.handle_eof(), Err(ReplyError::NoReply));
}

#[test]
fn controller_framed_eof_at_a_boundary_is_a_clean_close() {
    let mut ctrl: Controller = Controller::new(Mode::seed_framed());
    assert_eq!(ctrl.handle_eof(), Ok(Some(ControllerEvent::Closed)));
    assert!(ctrl.is_done());

    // The last reply's End not yet polled when the close comes: End is the final event.
    let mut ctrl: Controller = Controller::new(Mode::seed_framed());
    ctrl.send_command(b"dir").unwrap();
    let reply = [2, 0, 0, 0, b'o', b'k'];
    assert_eq!(ctrl.handle_input(&reply).unwrap().consumed, 4);
    assert_eq!(ctrl.handle_input(&reply[4..]).unwrap().consumed, 2);
    assert_eq!(ctrl.handle_eof(), Ok(Some(ControllerEvent::ReplyEnd)));
    assert!(ctrl.is_done());
}

#[test]
fn controller_raw_eof_is_closed() {
    let mut ctrl: Controller = Controller::new(Mode::Raw);
    ctrl.send_command(b"dir").unwrap();
    assert_eq!(
        ctrl.handle_input(b"partial output"),
        Ok(Handled::event(14, ControllerEvent::Output(b"partial output")))
    );
    assert_eq!(ctrl.handle_eof(), Ok(Some(ControllerEvent::Closed)));
    assert!(ctrl.is_done());
    assert_eq!(ctrl.handle_input(b"more"), Ok(Handled::consumed(0)));
}

#[test]
fn errors_display_their_fields() {
    use std::string::ToString;
    let text = CommandError::TooLong { len: 2000, max: 1024 }.to_string();
    assert!(text.contains("2000") && text.contains("1024"), "{text}");
    let text = ReplyError::Truncated { len: 10, missing: 7 }.to_string();
    assert!(text.contains("3 of 10"), "{text}");
    let err = ReplyError::Frame(FrameError::Negative { value: -5 });
    assert!(core::error::Error::source(&err).is_some());
}

// ---------------------------------------------------------------------------------------------
// Known answers from Python 3.11 (core/tests/vectors/gen_command_vectors.py).
// ---------------------------------------------------------------------------------------------

const VECTORS: &str = include_str!("../../tests/vectors/command_demo2.txt");

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// One line of the vector file.
struct Vector {
    command: Vec<u8>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// The reply exactly as Python's demo2 agent sends it.
    wire: Vec<u8>,
}

fn python_vectors() -> Vec<Vector> {
    VECTORS
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 4, "{line}");
            Vector {
                command: unhex(fields[0]),
                stdout: unhex(fields[1]),
                stderr: unhex(fields[2]),
                wire: unhex(fields[3]),
            }
        })
        .collect()
}

#[test]
fn controller_parses_python_demo2_replies() {
    let vectors = python_vectors();
    assert_eq!(vectors.len(), 5);
    assert!(vectors.iter().any(|v| v.stdout.is_empty() && v.stderr.is_empty()));
    assert!(vectors.iter().any(|v| String::from_utf8(v.stdout.clone()).is_err()), "GBK");
    let stream: Vec<u8> = vectors.iter().flat_map(|v| v.wire.clone()).collect();
    let want: Vec<(u64, Vec<u8>)> = vectors
        .iter()
        .map(|v| ((v.stdout.len() + v.stderr.len()) as u64, [&v.stdout[..], &v.stderr].concat()))
        .collect();
    for sizes in [&[usize::MAX][..], &[1], &[500], &[3, 1, 4, 1, 5, 9, 2, 6]] {
        let mut ctrl: Controller = Controller::new(Mode::seed_framed());
        ctrl.send_command(&vectors[0].command).unwrap();
        take_output(&mut ctrl);
        let mut next = vectors.iter().skip(1).map(|v| v.command.clone());
        let events = feed_controller(&mut ctrl, &stream, sizes, &mut next).unwrap();
        assert_eq!(replies(&events), want, "sizes {sizes:?}");
    }
}

#[test]
fn agent_writes_what_python_demo2_writes() {
    let mut agent: Agent = Agent::new(Mode::seed_framed());
    for v in python_vectors() {
        let handled = agent.handle_input(&v.command).unwrap();
        assert_eq!(handled.event, Some(AgentEvent::Command(&v.command[..])));
        assert_eq!(agent_reply(&mut agent, &v.stdout, &v.stderr, true), v.wire);
    }
}

// ---------------------------------------------------------------------------------------------
// Any split of the agent -> controller stream gives the same result.
// ---------------------------------------------------------------------------------------------

fn arb_command() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"silent".to_vec()),
        Just(b"fail".to_vec()),
        Just(b"big".to_vec()),
        // Any non-empty bytes except `q` (which would end the session).
        prop::collection::vec(any::<u8>(), 1..40).prop_filter("not quit", |c| c != QUIT),
    ]
}

/// Commands run through a real agent; returns the agent -> controller byte stream.
fn agent_stream(mode: Mode, commands: &[Vec<u8>]) -> Vec<u8> {
    let mut agent: Agent<64> = Agent::new(mode);
    commands.iter().flat_map(|cmd| agent_serve(&mut agent, cmd).unwrap()).collect()
}

fn framed_events(commands: &[Vec<u8>], stream: &[u8], sizes: &[usize]) -> Vec<Ev> {
    let mut ctrl: Controller<64> = Controller::new(Mode::seed_framed());
    ctrl.send_command(&commands[0]).unwrap();
    take_output(&mut ctrl);
    let mut next = commands.iter().skip(1).cloned();
    let events = feed_controller(&mut ctrl, stream, sizes, &mut next).unwrap();
    assert!(!ctrl.is_awaiting_reply());
    assert_eq!(ctrl.handle_eof(), Ok(Some(ControllerEvent::Closed)));
    events
}

/// Starts and ends (with lengths), i.e. the events without the data chunking.
fn skeleton(events: &[Ev]) -> Vec<Ev> {
    events.iter().filter(|ev| !matches!(ev, Ev::Data(..))).cloned().collect()
}

proptest! {
    #[test]
    fn framed_replies_survive_any_split(
        commands in prop::collection::vec(arb_command(), 1..6),
        sizes in prop::collection::vec(1usize..80, 1..12),
    ) {
        let stream = agent_stream(Mode::seed_framed(), &commands);
        let whole = framed_events(&commands, &stream, &[usize::MAX]);
        let bytewise = framed_events(&commands, &stream, &[1]);
        let random = framed_events(&commands, &stream, &sizes);
        let want: Vec<(u64, Vec<u8>)> = commands
            .iter()
            .map(|c| (reply_body(c).len() as u64, reply_body(c)))
            .collect();
        prop_assert_eq!(replies(&whole), want.clone());
        prop_assert_eq!(replies(&bytewise), want.clone());
        prop_assert_eq!(replies(&random), want);
        prop_assert_eq!(skeleton(&bytewise), skeleton(&whole));
        prop_assert_eq!(skeleton(&random), skeleton(&whole));
    }

    #[test]
    fn raw_output_survives_any_split(
        commands in prop::collection::vec(arb_command(), 1..6),
        sizes in prop::collection::vec(1usize..80, 1..12),
    ) {
        let stream = agent_stream(Mode::Raw, &commands);
        let expected: Vec<u8> = commands.iter().flat_map(|c| reply_body(c)).collect();
        prop_assert_eq!(&stream, &expected);
        for sizes in [&[usize::MAX][..], &[1], &sizes] {
            let mut ctrl: Controller<64> = Controller::new(Mode::Raw);
            for cmd in &commands {
                ctrl.send_command(cmd).unwrap();
                take_output(&mut ctrl);
            }
            let events = feed_controller(&mut ctrl, &stream, sizes, &mut core::iter::empty());
            let events = events.unwrap();
            // One Output per arriving piece, as it arrived; together exactly the stream.
            let lens: Vec<usize> = events.iter().map(|ev| match ev {
                Ev::Output(bytes) => bytes.len(),
                _ => 0,
            }).collect();
            prop_assert_eq!(lens, piece_lens(stream.len(), sizes));
            prop_assert_eq!(raw_output(&events), expected.clone());
        }
    }

    #[test]
    fn controller_never_panics_on_garbage(
        input in prop::collection::vec(any::<u8>(), 0..64),
        sizes in prop::collection::vec(1usize..16, 1..6),
    ) {
        let mut ctrl: Controller<8> = Controller::new(Mode::Framed(FrameConfig::seed().with_max_frame_len(32)));
        ctrl.send_command(b"x").unwrap();
        let mut next = core::iter::repeat(b"y".to_vec());
        // Ok or an error, never a panic; after an error the machine stays failed.
        if let Err(err) = feed_controller(&mut ctrl, &input, &sizes, &mut next) {
            prop_assert!(ctrl.is_done());
            prop_assert_eq!(ctrl.handle_input(&input), Err(err));
        }
    }
}
