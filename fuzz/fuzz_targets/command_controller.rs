//! `Controller` (demo1/demo2 client) against arbitrary agent bytes, raw and framed (seed
//! preset or any frame configuration), with 0..4 commands and an optional final `q`.
//!
//! The driver sends the first command, and the next one after each `ReplyEnd` (framed) or all
//! of them up front (raw), as an interactive client would.
//!
//! Properties (checked against a plain reading of the stream, whole and in arbitrary chunks):
//! * framed: reply i is exactly frame i of the stream (`ReplyStart`, its bytes, `ReplyEnd`),
//!   no reply bytes beyond the announced length; a command is sent only after the previous
//!   reply ended; bytes with no command waiting are `Unsolicited`; a close mid-reply is
//!   `Truncated` with the right counts, a close before a reply is `NoReply`;
//! * raw: the `Output` chunks concatenate to the stream;
//! * after `q` nothing more is consumed or sent.
//!
//! Input: `[selector: bit 0 framed, bit 1 any config, bits 2-4 commands, bit 5 quit]
//! [config bytes if bit 1] [k] [k chunk sizes] [agent stream...]`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::command::{Controller, ControllerEvent, Mode, ReplyError};
use wirekit_core::frame::{FrameConfig, FrameError};
use wirekit_core::Machine;
use wirekit_fuzz::{arbitrary_config, coalesce, drive, ref_frames, Chunking, RefEnd};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rec {
    Output(Vec<u8>),
    Start(u64),
    Data(Vec<u8>),
    End,
    Closed,
}

fn merge(last: &mut Rec, next: &Rec) -> bool {
    match (last, next) {
        (Rec::Output(a), Rec::Output(b)) | (Rec::Data(a), Rec::Data(b)) => {
            a.extend_from_slice(b);
            true
        }
        _ => false,
    }
}

/// `Unsolicited { len }` depends on how much had arrived; keep only the variant.
fn norm(err: Option<ReplyError>) -> Option<ReplyError> {
    match err {
        Some(ReplyError::Unsolicited { .. }) => Some(ReplyError::Unsolicited { len: 0 }),
        other => other,
    }
}

fn command(i: usize) -> Vec<u8> {
    format!("cmd{i}").into_bytes()
}

struct Want {
    recs: Vec<Rec>,
    error: Option<ReplyError>,
    sent: Vec<u8>,
    consumed: Option<usize>,
}

fn expected_framed(cfg: &FrameConfig, stream: &[u8], commands: usize, quit: bool) -> Want {
    let (frames, end) = ref_frames(cfg, stream);
    let mut recs = Vec::new();
    let mut sent = Vec::new();
    let mut at = 0;
    for i in 0..commands {
        sent.extend(command(i));
        let Some(f) = frames.get(i) else {
            let error = match end {
                RefEnd::Clean => ReplyError::NoReply,
                RefEnd::Error(FrameError::TruncatedPayload { len, missing }) => {
                    recs.push(Rec::Start(len));
                    let have = (len - missing) as usize;
                    if have > 0 {
                        recs.push(Rec::Data(stream[stream.len() - have..].to_vec()));
                    }
                    ReplyError::Truncated { len, missing }
                }
                RefEnd::Error(err) => ReplyError::Frame(err),
            };
            return Want { recs, error: Some(error), sent, consumed: None };
        };
        recs.push(Rec::Start(f.payload.len() as u64));
        if !f.payload.is_empty() {
            recs.push(Rec::Data(f.payload.clone()));
        }
        recs.push(Rec::End);
        at = f.end;
    }
    if quit {
        sent.extend_from_slice(b"q");
        return Want { recs, error: None, sent, consumed: Some(at) };
    }
    if at == stream.len() {
        recs.push(Rec::Closed);
        Want { recs, error: None, sent, consumed: Some(at) }
    } else {
        Want { recs, error: Some(ReplyError::Unsolicited { len: 0 }), sent, consumed: None }
    }
}

fn expected_raw(stream: &[u8], commands: usize, quit: bool) -> Want {
    let mut sent: Vec<u8> = (0..commands).flat_map(command).collect();
    if quit {
        sent.extend_from_slice(b"q");
        return Want { recs: vec![], error: None, sent, consumed: Some(0) };
    }
    let mut recs = Vec::new();
    if !stream.is_empty() {
        recs.push(Rec::Output(stream.to_vec()));
    }
    recs.push(Rec::Closed);
    Want { recs, error: None, sent, consumed: Some(stream.len()) }
}

fn run<const N: usize>(
    mode: Mode,
    stream: &[u8],
    chunking: &Chunking,
    commands: usize,
    quit: bool,
) {
    let want = match &mode {
        Mode::Raw => expected_raw(stream, commands, quit),
        Mode::Framed(cfg) => expected_framed(cfg, stream, commands, quit),
    };
    for ch in [Chunking::whole(), chunking.clone()] {
        let mut c: Controller<N> = Controller::new(mode);
        let mut next = 0usize;
        // The queue of commands: framed sends one per reply, raw all at once.
        let send_next = |c: &mut Controller<N>, next: &mut usize| -> bool {
            if *next < commands {
                c.send_command(&command(*next)).expect("send");
                *next += 1;
                true
            } else if *next == commands && quit {
                c.send_command(b"q").expect("send q");
                *next += 1;
                assert!(c.is_done());
                true
            } else {
                false
            }
        };
        let mut sent = Vec::new();
        match mode {
            Mode::Raw => {
                while send_next(&mut c, &mut next) {
                    sent.extend_from_slice(c.output_buf());
                    let n = c.output_buf().len();
                    c.consume_output(n);
                }
            }
            Mode::Framed(_) => {
                send_next(&mut c, &mut next);
                // A second command while one is out is refused and changes nothing.
                if c.is_awaiting_reply() {
                    let before = c.output_buf().to_vec();
                    assert!(c.send_command(b"x").is_err());
                    assert_eq!(c.output_buf(), &before[..]);
                }
            }
        }
        let r = drive(&mut c, stream, &ch, |c, e| match e {
            ControllerEvent::Output(b) => {
                assert!(!b.is_empty());
                Rec::Output(b.to_vec())
            }
            ControllerEvent::ReplyStart { len } => Rec::Start(len),
            ControllerEvent::ReplyData { chunk, remaining } => {
                assert!(!chunk.is_empty());
                assert_eq!(c.reply_remaining(), Some(remaining));
                Rec::Data(chunk.to_vec())
            }
            ControllerEvent::ReplyEnd => {
                assert!(!c.is_awaiting_reply());
                send_next(c, &mut next);
                Rec::End
            }
            ControllerEvent::Closed => Rec::Closed,
        });
        sent.extend_from_slice(&r.sent);
        let recs = coalesce(r.records, merge);
        assert_eq!(recs, want.recs, "events differ from the reference");
        assert_eq!(norm(r.error), want.error, "error differs from the reference");
        assert_eq!(sent, want.sent, "commands sent differ");
        if let Some(consumed) = want.consumed {
            assert_eq!(r.consumed, consumed);
        }
        assert!(r.done);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    let mode = match sel & 3 {
        0 | 2 => Mode::Raw,
        1 => Mode::seed_framed(),
        _ => Mode::Framed(arbitrary_config(&mut u)),
    };
    let commands = usize::from((sel >> 2) & 7) % 5;
    let quit = sel & 32 != 0;
    let chunking = Chunking::from_unstructured(&mut u);
    let stream = u.take_rest();
    if sel & 64 == 0 {
        run::<1024>(mode, stream, &chunking, commands, quit);
    } else {
        run::<8>(mode, stream, &chunking, commands, quit);
    }
});
