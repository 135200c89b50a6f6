//! Shared pieces of the wirekit fuzz targets: input layout, a driver that feeds a machine a
//! stream cut into arbitrary deliveries, reference (naive, obviously correct) decoders and
//! independent HMACs to check the machines against.
//!
//! Input layout of every stream target (so seed files are easy to write by hand):
//!
//! ```text
//! [target-specific config bytes] [k = byte % 17] [k chunk sizes, one byte each] [stream...]
//! ```
//!
//! The chunk sizes are cycled over the stream; a size of 0 is a delivery of no new bytes
//! (the machine is called again with the same input). No sizes, or only zeros, means the
//! whole stream arrives at once.

use arbitrary::Unstructured;
use wirekit_core::drive::{Action, Driver, Input, StepError};
use wirekit_core::frame::{FrameConfig, FrameError, Width};
use wirekit_core::Machine;

pub mod auth_props;
pub mod auth_ref;
pub mod frame_props;
pub mod mac;
pub mod noise_ref;
pub mod secure_props;
pub mod transfer_props;

/// How a stream is cut into deliveries.
#[derive(Debug, Clone, Default)]
pub struct Chunking {
    sizes: Vec<usize>,
}

impl Chunking {
    /// Everything at once.
    pub fn whole() -> Self {
        Self { sizes: Vec::new() }
    }

    /// One byte at a time.
    pub fn bytewise() -> Self {
        Self { sizes: vec![1] }
    }

    /// Read `k` and `k` sizes from the front of `u`.
    pub fn from_unstructured(u: &mut Unstructured<'_>) -> Self {
        let k = usize::from(u.arbitrary::<u8>().unwrap_or(0) % 17);
        let mut sizes = Vec::with_capacity(k);
        for _ in 0..k {
            sizes.push(usize::from(u.arbitrary::<u8>().unwrap_or(0)));
        }
        if sizes.iter().all(|&s| s == 0) {
            sizes.clear();
        }
        Self { sizes }
    }

    /// Size of delivery number `i`, at most `left`.
    pub fn size(&self, i: usize, left: usize) -> usize {
        if self.sizes.is_empty() {
            return left;
        }
        self.sizes[i % self.sizes.len()].min(left)
    }

    /// The encoding of this chunking, for seed files.
    pub fn encode(sizes: &[u8]) -> Vec<u8> {
        assert!(sizes.len() <= 16);
        let mut v = vec![sizes.len() as u8];
        v.extend_from_slice(sizes);
        v
    }
}

/// What a drive did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run<R, E> {
    /// The recorded events, in order.
    pub records: Vec<R>,
    /// Stream bytes the machine consumed.
    pub consumed: usize,
    /// The error that ended it, if any.
    pub error: Option<E>,
    /// Everything the machine put in `output_buf`, in order.
    pub sent: Vec<u8>,
    /// Whether `handle_eof` was called.
    pub eof: bool,
    /// Whether the machine said it was done at the end.
    pub done: bool,
}

/// Flush the machine's output into `sent` through the core's driver, in pieces of
/// `chunking`'s sizes (at least 1) to exercise partial sends.
pub fn flush<M: Machine>(m: &mut M, sent: &mut Vec<u8>, chunking: &Chunking, turn: &mut usize) {
    let mut driver = Driver::new();
    let mut guard = 0;
    while let Some(transmit) = driver.poll_transmit(m) {
        let out = transmit.bytes();
        let n = chunking.size(*turn, out.len()).max(1).min(out.len());
        *turn += 1;
        sent.extend_from_slice(&out[..n]);
        transmit.sent(n);
        guard += 1;
        assert!(guard < 1_000_000, "output_buf never drains");
    }
}

/// Drive `m` over `stream` with the core's driver (`wirekit_core::drive`, what every
/// transport uses): output is flushed whole in pieces of `chunking`'s sizes (partial
/// `consume_output`) before more input, the stream is delivered in pieces of the same sizes whenever the machine rests, and the close
/// comes once it is all delivered. Checks the [`Machine`] contract on the way (consumed
/// within the input, done after an error, errors replayed, no endless event stream).
pub fn drive<M, R>(
    m: &mut M,
    stream: &[u8],
    chunking: &Chunking,
    mut record: impl for<'i> FnMut(&mut M, M::Event<'i>) -> R,
) -> Run<R, M::Error>
where
    M: Machine + core::fmt::Debug,
{
    let mut run = Run {
        records: Vec::new(),
        consumed: 0,
        error: None,
        sent: Vec::new(),
        eof: false,
        done: false,
    };
    let mut driver = Driver::new();
    let mut avail = 0usize;
    let mut delivery = 0usize;
    let mut out_turn = 0usize;
    let mut steps = 0usize;
    // Every step consumes a byte, yields an event, sends a piece or makes a delivery.
    let step_limit = 8 * (stream.len() + 1) * (chunking.sizes.len() + 1) + 4096;
    loop {
        steps += 1;
        assert!(steps < step_limit, "machine makes no progress (livelock)");
        let input = &stream[run.consumed..avail];
        let closed = avail == stream.len();
        let step = match driver.step(m, Input::new(input).closed(closed)) {
            Ok(step) => step,
            Err(StepError::Machine(err)) => {
                run.error = Some(err);
                assert!(m.is_done(), "machine not done after error {err:?}");
                // Errors are reported again on every call.
                let again = m.handle_input(&stream[run.consumed..]);
                assert_eq!(again.err(), Some(err), "error not replayed");
                break;
            }
            Err(StepError::UnexpectedEof) => break,
        };
        assert!(step.consumed <= input.len(), "consumed more than given");
        run.consumed += step.consumed;
        match step.action {
            // All of it, in pieces, before more input: what a blocking transport does, and
            // what the reference halves expect.
            Action::Transmit(_) => flush(m, &mut run.sent, chunking, &mut out_turn),
            Action::Event(event) => run.records.push(record(m, event)),
            Action::Closed(event) => run.records.push(record(m, event)),
            Action::Finished => break,
            Action::NeedInput | Action::WaitingForCaller { .. } if closed => {
                // Output still queued behind a short send goes out before the end.
                if let Some(transmit) = driver.poll_transmit(m) {
                    run.sent.extend_from_slice(transmit.bytes());
                    transmit.sent(usize::MAX);
                    continue;
                }
                break;
            }
            Action::NeedInput | Action::WaitingForCaller { .. } => {
                avail += chunking.size(delivery, stream.len() - avail);
                delivery += 1;
            }
        }
    }
    run.eof = driver.eof_delivered();
    run.done = m.is_done();
    // Adapters log errors and machines; formatting must not panic on any state.
    if let Some(err) = &run.error {
        let _ = format!("{err} {err:?}");
    }
    let _ = format!("{m:?}");
    run
}

/// Merge neighbouring records where `merge` says so (e.g. adjacent data chunks), so runs
/// over different chunkings compare equal.
pub fn coalesce<R>(records: Vec<R>, merge: impl Fn(&mut R, &R) -> bool) -> Vec<R> {
    let mut out: Vec<R> = Vec::with_capacity(records.len());
    for r in records {
        if let Some(last) = out.last_mut() {
            if merge(last, &r) {
                continue;
            }
        }
        out.push(r);
    }
    out
}

/// Where a reference decode stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefEnd {
    /// At a frame boundary, at the end of the stream.
    Clean,
    /// With this error.
    Error(FrameError),
}

/// One frame found by [`ref_frames`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefFrame {
    /// The prefix bytes as they were on the wire.
    pub prefix: Vec<u8>,
    /// The payload.
    pub payload: Vec<u8>,
    /// Stream offset just after the frame.
    pub end: usize,
}

fn read_uint(bytes: &[u8], big: bool) -> u64 {
    let mut v = 0u64;
    if big {
        for &b in bytes {
            v = (v << 8) | u64::from(b);
        }
    } else {
        for &b in bytes.iter().rev() {
            v = (v << 8) | u64::from(b);
        }
    }
    v
}

/// A deliberately naive frame splitter: the specification of docs/protocol.md written as plainly
/// as possible, to check `FrameDecoder` against. Stops at the first error, like the decoder.
pub fn ref_frames(cfg: &FrameConfig, stream: &[u8]) -> (Vec<RefFrame>, RefEnd) {
    let width = cfg.width().bytes();
    let big = cfg.endian() == wirekit_core::frame::Endian::Big;
    let mut frames = Vec::new();
    let mut at = 0usize;
    loop {
        let rest = &stream[at..];
        if rest.is_empty() {
            return (frames, RefEnd::Clean);
        }
        if rest.len() < width {
            let err = FrameError::TruncatedPrefix { have: rest.len() as u8, need: width as u8 };
            return (frames, RefEnd::Error(err));
        }
        let raw = read_uint(&rest[..width], big);
        let mut prefix_len = width;
        let len: u64 = if cfg.signed() {
            let value: i64 = match cfg.width() {
                Width::One => i64::from(raw as u8 as i8),
                Width::Two => i64::from(raw as u16 as i16),
                Width::Four => i64::from(raw as u32 as i32),
                Width::Eight => raw as i64,
            };
            if value == -1 && cfg.mp_extension() {
                if rest.len() < 12 {
                    let err = FrameError::TruncatedPrefix { have: rest.len() as u8, need: 12 };
                    return (frames, RefEnd::Error(err));
                }
                prefix_len = 12;
                read_uint(&rest[4..12], true)
            } else if value < 0 {
                return (frames, RefEnd::Error(FrameError::Negative { value }));
            } else {
                value as u64
            }
        } else {
            raw
        };
        if len > cfg.max_frame_len() {
            let err = FrameError::Oversize { len, max: cfg.max_frame_len() };
            return (frames, RefEnd::Error(err));
        }
        let body = &rest[prefix_len..];
        if (body.len() as u64) < len {
            let missing = len - body.len() as u64;
            return (frames, RefEnd::Error(FrameError::TruncatedPayload { len, missing }));
        }
        let len = len as usize;
        frames.push(RefFrame {
            prefix: rest[..prefix_len].to_vec(),
            payload: body[..len].to_vec(),
            end: at + prefix_len + len,
        });
        at += prefix_len + len;
    }
}

/// Encode one mp frame (`!i` length, then the payload) by hand.
pub fn mp_frame(payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as i32).to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

/// A config read from `u`: any width/endianness/signedness, or the mp preset, with a limit
/// that is sometimes tiny, sometimes huge.
pub fn arbitrary_config(u: &mut Unstructured<'_>) -> FrameConfig {
    use wirekit_core::frame::Endian;
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    let width = match sel & 3 {
        0 => Width::One,
        1 => Width::Two,
        2 => Width::Four,
        _ => Width::Eight,
    };
    let endian = if sel & 4 == 0 { Endian::Little } else { Endian::Big };
    let signed = sel & 8 != 0;
    let base =
        if sel & 16 != 0 { FrameConfig::mp() } else { FrameConfig::new(width, endian, signed) };
    let max = match (sel >> 5) & 7 {
        0 => return base,
        1 => u64::from(u.arbitrary::<u8>().unwrap_or(0)),
        2 => u64::from(u.arbitrary::<u16>().unwrap_or(0)),
        3 => u64::MAX,
        4 => i32::MAX as u64,
        5 => i32::MAX as u64 + 1,
        _ => u.arbitrary::<u64>().unwrap_or(0),
    };
    base.with_max_frame_len(max)
}
