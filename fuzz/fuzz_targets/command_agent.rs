//! `Agent` (demo1/demo2 server) under an arbitrary sequence of peer segments and adapter
//! calls (`begin_reply`, `begin_reply_for`, `record_reply_bytes`, `reply_done`,
//! `consume_output`, `handle_eof`), raw and framed, `N` = 1024 or 4.
//!
//! Properties:
//! * every call returns what the documented rules say (a small model of them, below);
//! * a command is the first `min(len, N)` bytes of its segment, `q` alone is `Quit`, and no
//!   input is taken while a reply is outstanding, after `q` or after the peer closed;
//! * as long as no call failed, the bytes the agent put on the wire (prefixes it handed out)
//!   plus the reply bytes the adapter reported form valid replies: in framed mode each
//!   completed reply is one frame of exactly the announced length, in raw mode there is no
//!   prefix at all;
//! * after a failure, every later call reports that failure.
//!
//! Input: `[selector: bits 0-1 mode (raw / seed framed / any config), bit 2 N = 4]
//! [config bytes if any config] [ops...]`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::command::{Agent, AgentEvent, CommandError, Mode};
use wirekit_core::{Handled, Machine};
use wirekit_fuzz::{arbitrary_config, ref_frames, RefEnd};

const FILL: u8 = 0xEE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Running,
    Announced { len: u64, sent: u64 },
    Streaming,
}

/// The documented behaviour, written out plainly.
#[derive(Debug, Default)]
struct Model {
    open: Option<Open>,
    quit: bool,
    closed: bool,
    failed: Option<CommandError>,
    pending: usize,
    /// Announced lengths of completed framed replies, in order.
    done_lens: Vec<u64>,
}

impl Model {
    fn fail(&mut self, err: CommandError) -> Result<(), CommandError> {
        self.failed = Some(err);
        Err(err)
    }
    fn gate(&self) -> Result<(), CommandError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if self.quit {
            return Err(CommandError::Closed);
        }
        Ok(())
    }
    fn begin(&mut self, mode: &Mode, len: u64) -> Result<(), CommandError> {
        self.gate()?;
        match self.open {
            None => return Err(CommandError::NoCommand),
            Some(Open::Running) => {}
            Some(_) => return Err(CommandError::ReplyAlreadyBegun),
        }
        if let Mode::Framed(cfg) = mode {
            if len > cfg.max_frame_len() {
                return Err(CommandError::ReplyTooLong { len, max: cfg.max_frame_len() });
            }
            self.pending = cfg.prefix_len(len);
        }
        if len == 0 {
            self.open = None;
            if matches!(mode, Mode::Framed(_)) {
                self.done_lens.push(0);
            }
        } else {
            self.open = Some(Open::Announced { len, sent: 0 });
        }
        Ok(())
    }
    fn record(&mut self, mode: &Mode, n: usize) -> Result<(), CommandError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if n == 0 {
            return Ok(());
        }
        if self.quit {
            return Err(CommandError::Closed);
        }
        if self.pending > 0 {
            return self.fail(CommandError::PrefixNotSent { pending: self.pending });
        }
        let n = n as u64;
        match self.open {
            Some(Open::Announced { len, sent }) => {
                if sent + n > len {
                    return self.fail(CommandError::ReplyOverrun { len, sent: sent + n });
                }
                if sent + n == len {
                    self.open = None;
                    if matches!(mode, Mode::Framed(_)) {
                        self.done_lens.push(len);
                    }
                } else {
                    self.open = Some(Open::Announced { len, sent: sent + n });
                }
                Ok(())
            }
            Some(Open::Streaming) => Ok(()),
            Some(Open::Running) => match mode {
                Mode::Raw => {
                    self.open = Some(Open::Streaming);
                    Ok(())
                }
                Mode::Framed(_) => self.fail(CommandError::ReplyNotBegun),
            },
            None => self.fail(CommandError::NoCommand),
        }
    }
    fn reply_done(&mut self, mode: &Mode) -> Result<(), CommandError> {
        self.gate()?;
        match (self.open, mode) {
            (None, _) => Err(CommandError::NoCommand),
            (Some(Open::Announced { len, sent }), _) => {
                Err(CommandError::ReplyIncomplete { len, sent })
            }
            (Some(Open::Running), Mode::Framed(_)) => Err(CommandError::ReplyNotBegun),
            _ => {
                self.open = None;
                Ok(())
            }
        }
    }
    fn replying(&self) -> bool {
        // A failure ends the reply; a prefix already handed over may still be waiting.
        (self.open.is_some() && self.failed.is_none()) || self.pending > 0
    }
    fn is_done(&self) -> bool {
        self.quit || self.failed.is_some() || (self.open.is_none() && self.closed)
    }
}

fn run<const N: usize>(mode: Mode, u: &mut Unstructured<'_>) {
    let mut agent: Agent<N> = Agent::new(mode);
    let mut model = Model::default();
    let mut wire: Vec<u8> = Vec::new();
    let mut recorded = 0u64;
    let mut ops = 0;
    while !u.is_empty() && ops < 256 {
        ops += 1;
        let op = u.arbitrary::<u8>().unwrap_or(0);
        match op % 8 {
            0 | 7 => {
                let len = usize::from(u.arbitrary::<u8>().unwrap_or(0) % 12);
                let seg: Vec<u8> = (0..len).map(|_| u.arbitrary::<u8>().unwrap_or(b'q')).collect();
                let got = agent.handle_input(&seg);
                if let Some(err) = model.failed {
                    assert_eq!(got, Err(err));
                } else if model.replying() || model.closed || model.quit || seg.is_empty() {
                    assert_eq!(got, Ok(Handled::consumed(0)), "input taken at the wrong time");
                } else {
                    let cmd = &seg[..seg.len().min(N)];
                    let h = got.expect("a command");
                    assert_eq!(h.consumed, cmd.len());
                    if cmd == b"q" {
                        assert_eq!(h.event, Some(AgentEvent::Quit));
                        model.quit = true;
                    } else {
                        assert_eq!(h.event, Some(AgentEvent::Command(cmd)));
                        model.open = Some(Open::Running);
                    }
                }
            }
            1 => {
                let len = match u.arbitrary::<u8>().unwrap_or(0) % 4 {
                    0 => 0,
                    1 => u64::from(u.arbitrary::<u8>().unwrap_or(0)),
                    2 => u64::from(u.arbitrary::<u16>().unwrap_or(0)),
                    _ => u.arbitrary::<u64>().unwrap_or(0),
                };
                assert_eq!(agent.begin_reply(len), model.begin(&mode, len), "begin_reply({len})");
            }
            2 => {
                let a = vec![FILL; usize::from(u.arbitrary::<u8>().unwrap_or(0) % 8)];
                let b = vec![FILL; usize::from(u.arbitrary::<u8>().unwrap_or(0) % 8)];
                let len = (a.len() + b.len()) as u64;
                assert_eq!(agent.begin_reply_for(&a, &b), model.begin(&mode, len));
            }
            3 => {
                let n = usize::from(u.arbitrary::<u8>().unwrap_or(0) % 16);
                let got = agent.record_reply_bytes(n);
                assert_eq!(got, model.record(&mode, n), "record({n})");
                // Refused bytes make the wire wrong; the check below only runs without them.
                if got.is_ok() {
                    wire.extend(std::iter::repeat_n(FILL, n));
                    recorded += n as u64;
                }
            }
            4 => assert_eq!(agent.reply_done(), model.reply_done(&mode)),
            5 => {
                let n = usize::from(u.arbitrary::<u8>().unwrap_or(0) % 14);
                let out = agent.output_buf();
                assert_eq!(out.len(), model.pending, "output_buf length");
                let take = n.min(out.len());
                wire.extend_from_slice(&out[..take]);
                agent.consume_output(n);
                model.pending -= take;
            }
            _ => {
                let got = agent.handle_eof();
                match model.failed {
                    Some(err) => assert_eq!(got, Err(err)),
                    None => {
                        assert_eq!(got, Ok(Some(AgentEvent::Closed)));
                        model.closed = true;
                    }
                }
            }
        }
        // Adapters log these; formatting must not panic.
        let _ = format!("{agent:?} {:?}", model.failed.map(|e| e.to_string()));
        assert_eq!(agent.is_done(), model.is_done(), "is_done");
        assert_eq!(agent.is_replying(), model.replying(), "is_replying");
        assert_eq!(agent.output_buf().len(), model.pending);
        if let (Some(Open::Announced { len, sent }), None) = (model.open, model.failed) {
            assert_eq!(agent.reply_remaining(), Some(len - sent));
        }
    }
    if model.failed.is_some() {
        return;
    }
    // The wire holds valid replies.
    match &mode {
        Mode::Raw => {
            assert!(wire.iter().all(|&b| b == FILL), "raw mode sent a prefix");
            assert_eq!(wire.len() as u64, recorded);
        }
        Mode::Framed(cfg) => {
            let (frames, end) = ref_frames(cfg, &wire);
            let lens: Vec<u64> = frames.iter().map(|f| f.payload.len() as u64).collect();
            assert!(frames.iter().all(|f| f.payload.iter().all(|&b| b == FILL)));
            assert_eq!(
                &lens[..model.done_lens.len().min(lens.len())],
                &model.done_lens[..lens.len().min(model.done_lens.len())]
            );
            if !model.replying() {
                assert_eq!(
                    lens, model.done_lens,
                    "completed replies are not the frames on the wire"
                );
                assert_eq!(end, RefEnd::Clean);
            } else {
                assert!(lens.len() <= model.done_lens.len() + 1);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    let mode = match sel & 3 {
        0 | 3 => Mode::Raw,
        1 => Mode::seed_framed(),
        _ => Mode::Framed(arbitrary_config(&mut u)),
    };
    if sel & 4 == 0 {
        run::<1024>(mode, &mut u);
    } else {
        run::<4>(mode, &mut u);
    }
});
