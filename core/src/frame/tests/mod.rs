//! Framing tests: named edge cases (modelled on tokio-util's `LengthDelimitedCodec` suite),
//! known-answer prefixes from CPython, and property tests proving that any split of the byte
//! stream yields the same frames.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::vec::Vec;

use std::vec;

use super::{Endian, FrameConfig, FrameDecoder, FrameError, FrameEvent, Width};

mod decode_cases;
mod encode_cases;
mod limit_cases;
mod mp_cases;
mod props;
mod reader_cases;

/// A decoder event with its chunk copied out, so runs can be stored and compared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Start(u64),
    Data(Vec<u8>, u64),
    End,
}

/// A decoder event trace with the chunking erased: consecutive `Data` chunks merged.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Norm {
    Start(u64),
    Payload(Vec<u8>),
    End,
}

/// Everything one decoder did for one stream split into chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    events: Vec<Ev>,
    /// The first error `decode` returned (feeding stops there).
    error: Option<FrameError>,
    /// What `finish` said afterwards.
    eof: Result<Option<FrameEvent<'static>>, FrameError>,
}

impl Run {
    fn normalized(&self) -> Vec<Norm> {
        normalize(&self.events)
    }
}

/// Feed one chunk until the decoder has taken all of it, recording events. Checks the
/// decoder's contract on the way: it never claims more than it was given, a `Data` chunk is
/// exactly the bytes it consumed, and "no event" means "give me more input".
fn feed(dec: &mut FrameDecoder, input: &[u8], out: &mut Vec<Ev>) -> Result<(), FrameError> {
    let mut rest = input;
    let mut events_without_progress = 0;
    loop {
        let handled = dec.decode(rest)?;
        assert!(handled.consumed <= rest.len(), "consumed more than the input");
        let (taken, after) = rest.split_at(handled.consumed);
        rest = after;
        if handled.consumed == 0 {
            events_without_progress += 1;
            assert!(events_without_progress <= 2, "decoder spins without consuming: {out:?}");
        } else {
            events_without_progress = 0;
        }
        match handled.event {
            Some(FrameEvent::Start { len }) => out.push(Ev::Start(len)),
            Some(FrameEvent::Data { chunk, remaining }) => {
                assert!(!chunk.is_empty(), "empty Data event");
                assert_eq!(chunk, taken, "Data chunk is not the consumed input");
                out.push(Ev::Data(chunk.to_vec(), remaining));
            }
            Some(FrameEvent::End) => out.push(Ev::End),
            None => {
                assert!(rest.is_empty(), "decoder stalled with {} bytes left", rest.len());
                return Ok(());
            }
        }
    }
}

/// tokio-util's default framing: u32 big-endian.
fn be_u32() -> FrameConfig {
    FrameConfig::new(Width::Four, Endian::Big, false)
}

/// The events of one frame delivered in a single `Data` chunk.
fn one_frame(len: u64, payload: &[u8]) -> Vec<Ev> {
    vec![Ev::Start(len), Ev::Data(payload.to_vec(), 0), Ev::End]
}

/// Decode `chunks` in order with a fresh decoder, then signal EOF.
fn run_chunks<'a>(config: FrameConfig, chunks: impl IntoIterator<Item = &'a [u8]>) -> Run {
    let mut dec = FrameDecoder::new(config);
    let mut events = Vec::new();
    let mut error = None;
    for chunk in chunks {
        if let Err(err) = feed(&mut dec, chunk, &mut events) {
            error = Some(err);
            break;
        }
    }
    let eof = dec.finish();
    Run { events, error, eof }
}

fn run_whole(config: FrameConfig, stream: &[u8]) -> Run {
    run_chunks(config, [stream])
}

fn run_bytewise(config: FrameConfig, stream: &[u8]) -> Run {
    run_chunks(config, stream.chunks(1))
}

/// Split `stream` into pieces whose sizes cycle through `sizes` (0 = an empty feed).
fn split_by_sizes<'a>(stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes.get(i % sizes.len().max(1)).copied().unwrap_or(1).min(rest.len());
        let (piece, after) = rest.split_at(size);
        pieces.push(piece);
        rest = after;
        i += 1;
        // Each full cycle of `sizes` takes at least one byte unless all sizes are zero.
        assert!(i <= (stream.len() + 1) * sizes.len().max(1), "sizes must not be all zero");
    }
    pieces
}

/// Merge chunks and check `remaining` counts down to 0 within each frame.
fn normalize(events: &[Ev]) -> Vec<Norm> {
    let mut out = Vec::new();
    let mut open: Option<(u64, u64)> = None; // (len, received)
    for ev in events {
        match ev {
            Ev::Start(len) => {
                assert!(open.is_none(), "Start inside a frame");
                open = Some((*len, 0));
                out.push(Norm::Start(*len));
            }
            Ev::Data(chunk, remaining) => {
                let (len, received) = open.as_mut().expect("Data outside a frame");
                *received += chunk.len() as u64;
                assert_eq!(*remaining, *len - *received, "wrong remaining count");
                match out.last_mut() {
                    Some(Norm::Payload(p)) => p.extend_from_slice(chunk),
                    _ => out.push(Norm::Payload(chunk.clone())),
                }
            }
            Ev::End => {
                let (len, received) = open.take().expect("End outside a frame");
                assert_eq!(len, received, "End before the payload was complete");
                out.push(Norm::End);
            }
        }
    }
    out
}

/// The trace a correct decoder produces for these payloads.
fn expected_trace(payloads: &[Vec<u8>]) -> Vec<Norm> {
    let mut out = Vec::new();
    for p in payloads {
        out.push(Norm::Start(p.len() as u64));
        if !p.is_empty() {
            out.push(Norm::Payload(p.clone()));
        }
        out.push(Norm::End);
    }
    out
}

/// Prefix (from the encoder under test) + payload for each frame, as one stream.
fn encode_stream(config: FrameConfig, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut stream = Vec::new();
    for p in payloads {
        let prefix = config.encode_prefix(p.len() as u64).expect("payload fits the config");
        stream.extend_from_slice(prefix.as_bytes());
        stream.extend_from_slice(p);
    }
    stream
}

/// The mp long form (`-1` marker, then `!Q` length) for any length. CPython's receiver
/// accepts it for small lengths too, so it lets tests walk the 12-byte path with real payloads.
fn mp_long_prefix(len: u64) -> Vec<u8> {
    let mut prefix = vec![0xff; 4];
    prefix.extend_from_slice(&len.to_be_bytes());
    prefix
}

/// Concatenate byte strings.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}
