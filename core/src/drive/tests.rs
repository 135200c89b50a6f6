//! The drive contract's edge cases, one test each, on the core's own machines.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use core::time::Duration;
use std::vec::Vec;

use super::*;
use crate::command::{Agent, AgentEvent, Mode};
use crate::frame::{FrameConfig, FrameDecoder, FrameError, FrameEvent};
use crate::transfer::{FileReceiver, ReceiveEvent};
use crate::Handled;

/// Sends `out`, takes nothing, and is done once `out` is sent — or never, with `done_never`.
struct Talker {
    out: Vec<u8>,
    done_never: bool,
}

impl Machine for Talker {
    type Event<'i> = ();
    type Error = FrameError;
    fn handle_input(&mut self, _input: &[u8]) -> Result<Handled<()>, FrameError> {
        Ok(Handled::consumed(0))
    }
    fn handle_eof(&mut self) -> Result<Option<()>, FrameError> {
        Ok(None)
    }
    fn output_buf(&self) -> &[u8] {
        &self.out
    }
    fn consume_output(&mut self, n: usize) {
        self.out.drain(..n);
    }
    fn is_done(&self) -> bool {
        !self.done_never && self.out.is_empty()
    }
}

/// A frame decoder's event as owned data.
fn frame_event(action: Action<'_, '_, FrameDecoder>) -> Option<FrameEvent<'static>> {
    match action {
        Action::Event(FrameEvent::End) => Some(FrameEvent::End),
        Action::Event(FrameEvent::Start { len }) => Some(FrameEvent::Start { len }),
        Action::Event(FrameEvent::Data { remaining, .. }) => {
            Some(FrameEvent::Data { chunk: &[], remaining })
        }
        _ => None,
    }
}

#[test]
fn the_follow_up_call_after_an_event_finds_a_frames_end_with_no_input_left() {
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let mut driver = Driver::new();
    let wire = [2, 0, 0, 0, b'h', b'i'];
    let step = driver.step(&mut decoder, Input::new(&wire)).unwrap();
    assert_eq!((step.consumed, frame_event(step.action)), (4, Some(FrameEvent::Start { len: 2 })));
    let step = driver.step(&mut decoder, Input::new(&wire[4..])).unwrap();
    assert_eq!(step.consumed, 2);
    let step = driver.step(&mut decoder, Input::new(&[])).unwrap();
    assert_eq!((step.consumed, frame_event(step.action)), (0, Some(FrameEvent::End)));
    let step = driver.step(&mut decoder, Input::new(&[])).unwrap();
    assert!(matches!(step.action, Action::NeedInput));
}

#[test]
fn a_transfers_complete_comes_from_the_follow_up_call_before_the_close_is_reported() {
    let mut receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let header = br#"{"filename": "a", "filepath": "b", "filesize": 1}"#;
    let mut wire = (header.len() as i32).to_le_bytes().to_vec();
    wire.extend_from_slice(header);
    wire.push(b'x');
    let mut driver = Driver::new();
    let mut at = 0;
    let mut events = Vec::new();
    loop {
        let step = driver.step(&mut receiver, Input::new(&wire[at..]).closed(true)).unwrap();
        at += step.consumed;
        match step.action {
            Action::Event(ReceiveEvent::Header { .. }) => events.push("header"),
            Action::Event(ReceiveEvent::Body { .. }) => events.push("body"),
            Action::Event(ReceiveEvent::Complete) => events.push("complete"),
            Action::Closed(_) => events.push("closed"),
            Action::Finished => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(events, ["header", "body", "complete"]);
    assert!(!driver.eof_delivered(), "done before the close mattered");
}

#[test]
fn the_close_is_held_back_while_a_waiting_agent_leaves_bytes_untaken() {
    let mut agent: Agent = Agent::new(Mode::Raw);
    let mut driver = Driver::new();
    let step = driver.step(&mut agent, Input::new(b"dir").closed(false)).unwrap();
    assert!(matches!(step.action, Action::Event(AgentEvent::Command(b"dir"))));
    assert_eq!(step.consumed, 3);
    // "ls" arrived and the controller closed; the agent owes its reply, so takes nothing.
    let step = driver.step(&mut agent, Input::new(b"ls").closed(true)).unwrap();
    assert!(matches!(step.action, Action::WaitingForCaller { untaken: 2 }));
    assert!(!driver.eof_delivered());
    agent.reply_done().unwrap();
    let step = driver.step(&mut agent, Input::new(b"ls").closed(true)).unwrap();
    assert!(matches!(step.action, Action::Event(AgentEvent::Command(b"ls"))));
    agent.reply_done().unwrap();
    let step = driver.step(&mut agent, Input::new(&[]).closed(true)).unwrap();
    assert!(matches!(step.action, Action::Closed(AgentEvent::Closed)));
    assert!(driver.eof_delivered());
}

#[test]
fn a_full_buffer_the_machine_takes_nothing_from_is_waiting_for_the_caller_not_need_input() {
    let mut agent: Agent = Agent::new(Mode::Raw);
    let mut driver = Driver::new();
    let _ = driver.step(&mut agent, Input::new(b"dir")).unwrap();
    let open = driver.step(&mut agent, Input::new(b"ls")).unwrap();
    assert!(matches!(open.action, Action::NeedInput), "more may come: wait for it");
    let full = driver.step(&mut agent, Input::new(b"ls").full(true)).unwrap();
    assert!(matches!(full.action, Action::WaitingForCaller { untaken: 2 }));
}

#[test]
fn output_goes_first_and_a_short_send_lets_input_through_before_the_rest() {
    let mut agent: Agent = Agent::new(Mode::seed_framed());
    let mut driver = Driver::new();
    let _ = driver.step(&mut agent, Input::new(b"dir")).unwrap();
    agent.begin_reply(0).unwrap();
    let Action::Transmit(transmit) = driver.step(&mut agent, Input::new(b"ls")).unwrap().action
    else {
        panic!("output first");
    };
    assert_eq!(transmit.bytes().len(), 4);
    transmit.sent(1);
    // The agent takes no command while its prefix is unsent: the turn ends, resting.
    let step = driver.step(&mut agent, Input::new(b"ls")).unwrap();
    assert!(matches!(step.action, Action::NeedInput));
    // Next turn: the rest of the prefix is offered again.
    let Action::Transmit(transmit) = driver.step(&mut agent, Input::new(b"ls")).unwrap().action
    else {
        panic!("the rest of the output");
    };
    assert_eq!(transmit.bytes().len(), 3);
    transmit.sent(3);
    let step = driver.step(&mut agent, Input::new(b"ls")).unwrap();
    assert!(matches!(step.action, Action::Event(AgentEvent::Command(b"ls"))));
}

#[test]
fn finished_leaves_the_bytes_behind_the_exchange_unconsumed() {
    let mut talker = Talker { out: b"hi".to_vec(), done_never: false };
    let mut driver = Driver::new();
    let Action::Transmit(t) = driver.step(&mut talker, Input::new(b"next")).unwrap().action else {
        panic!("output first");
    };
    t.sent(2);
    let step = driver.step(&mut talker, Input::new(b"next").closed(true)).unwrap();
    assert_eq!(step.consumed, 0);
    assert!(matches!(step.action, Action::Finished));
    assert!(!driver.eof_delivered());
}

#[test]
fn a_close_the_machine_says_nothing_about_while_not_done_is_unexpected_eof() {
    let mut talker = Talker { out: Vec::new(), done_never: true };
    let mut driver = Driver::new();
    let err = driver.step(&mut talker, Input::new(&[]).closed(true)).err();
    assert_eq!(err, Some(StepError::UnexpectedEof));
}

#[test]
fn a_machine_error_on_the_close_is_reported_once_every_byte_was_taken() {
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let mut driver = Driver::new();
    let wire = [5, 0, 0, 0, b'a'];
    let step = driver.step(&mut decoder, Input::new(&wire).closed(true)).unwrap();
    assert_eq!(step.consumed, 4);
    let step = driver.step(&mut decoder, Input::new(&wire[4..]).closed(true)).unwrap();
    assert_eq!(step.consumed, 1);
    let err = driver.step(&mut decoder, Input::new(&[]).closed(true)).err();
    assert_eq!(err, Some(StepError::Machine(FrameError::TruncatedPayload { len: 5, missing: 4 })));
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn the_idle_deadline_expires_only_after_a_quiet_period_and_activity_restarts_it() {
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let mut driver = Driver::new().with_idle_timeout(secs(10));
    assert_eq!(driver.poll_timeout(), None, "armed by the first handle_timeout");
    assert_eq!(driver.handle_timeout(secs(0)), Ok(()));
    assert_eq!(driver.poll_timeout(), Some(secs(10)));
    assert_eq!(driver.handle_timeout(secs(9)), Ok(()));
    // A byte at 9 s: the next call restarts the idle time.
    let _ = driver.step(&mut decoder, Input::new(&[1])).unwrap();
    assert_eq!(driver.handle_timeout(secs(9)), Ok(()));
    assert_eq!(driver.poll_timeout(), Some(secs(19)));
    assert_eq!(driver.handle_timeout(secs(18)), Ok(()));
    // Steps that move nothing are no activity.
    let _ = driver.step(&mut decoder, Input::new(&[])).unwrap();
    assert_eq!(driver.handle_timeout(secs(19)), Err(Expired::Idle { after: secs(10) }));
}

#[test]
fn the_phase_deadline_expires_at_its_time_whatever_moved() {
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let mut driver = Driver::new().with_deadline(secs(5)).with_idle_timeout(secs(60));
    assert_eq!(driver.handle_timeout(secs(0)), Ok(()));
    assert_eq!(driver.poll_timeout(), Some(secs(5)));
    let _ = driver.step(&mut decoder, Input::new(&[1, 0])).unwrap();
    assert_eq!(driver.handle_timeout(secs(4)), Ok(()));
    assert_eq!(driver.handle_timeout(secs(5)), Err(Expired::Deadline));
    driver.deadlines_mut().set_deadline(None);
    assert_eq!(driver.handle_timeout(secs(6)), Ok(()));
    assert_eq!(driver.poll_timeout(), Some(secs(64)), "idle since the byte seen at 4 s");
}

#[test]
fn an_agent_that_answered_the_close_with_its_reply_due_waits_for_the_caller() {
    let mut agent: Agent = Agent::new(Mode::Raw);
    let mut driver = Driver::new();
    let _ = driver.step(&mut agent, Input::new(b"dir")).unwrap();
    let step = driver.step(&mut agent, Input::new(&[]).closed(true)).unwrap();
    assert!(matches!(step.action, Action::Closed(AgentEvent::Closed)));
    let step = driver.step(&mut agent, Input::new(&[]).closed(true)).unwrap();
    assert!(matches!(step.action, Action::WaitingForCaller { untaken: 0 }));
    agent.reply_done().unwrap();
    let step = driver.step(&mut agent, Input::new(&[]).closed(true)).unwrap();
    assert!(matches!(step.action, Action::Finished));
}
