//! The codec workloads, shared by the criterion bench (`benches/frame.rs`) and the
//! instruction-count runner (`src/bin/icount.rs`), so both measure the same code.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};
use wirekit_core::drive::{Action, Driver, Input};
use wirekit_core::frame::{FrameConfig, FrameDecoder, FrameEvent};
use wirekit_core::header::FileHeader;
use wirekit_core::Machine;

pub const STREAM_BYTES: usize = 1 << 20;

/// About 1 MiB of back-to-back seed frames of `payload` bytes each.
pub fn stream(payload: usize) -> (Vec<u8>, usize) {
    let cfg = FrameConfig::seed();
    let frames = (STREAM_BYTES / (payload + 4)).max(1);
    let mut out = Vec::with_capacity(frames * (payload + 4));
    for i in 0..frames {
        out.extend_from_slice(cfg.encode_prefix(payload as u64).unwrap().as_bytes());
        out.extend((0..payload).map(|j| (i + j) as u8));
    }
    (out, frames)
}

/// Decode with wirekit, copying each payload into `sink` (what a receiver does with it).
pub fn wirekit_decode(input: &[u8], chunk: usize, sink: &mut [u8]) -> usize {
    let mut decoder = FrameDecoder::new(FrameConfig::seed().with_max_frame_len(1 << 24));
    let mut frames = 0;
    let mut at = 0;
    for piece in input.chunks(chunk) {
        let mut rest = piece;
        loop {
            let step = decoder.decode(rest).unwrap();
            rest = &rest[step.consumed..];
            match step.event {
                Some(FrameEvent::Data { chunk, .. }) => {
                    sink[at..at + chunk.len()].copy_from_slice(chunk);
                    at += chunk.len();
                }
                Some(FrameEvent::End) => {
                    frames += 1;
                    at = 0;
                }
                Some(FrameEvent::Start { .. }) => {}
                None => break,
            }
        }
    }
    frames
}

pub fn tokio_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .little_endian()
        .length_field_length(4)
        .max_frame_length(1 << 24)
        .new_codec()
}

pub fn tokio_decode(input: &[u8], chunk: usize, buf: &mut BytesMut, sink: &mut [u8]) -> usize {
    let mut codec = tokio_codec();
    buf.clear();
    let mut frames = 0;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(frame) = codec.decode(buf).unwrap() {
            sink[..frame.len()].copy_from_slice(&frame);
            frames += 1;
        }
    }
    frames
}

/// The floor: copy just the payload bytes, knowing where they are.
pub fn memcpy_payloads(input: &[u8], payload: usize, sink: &mut [u8]) -> usize {
    let mut frames = 0;
    for frame in input.chunks_exact(payload + 4) {
        sink[..payload].copy_from_slice(&frame[4..]);
        frames += 1;
    }
    frames
}

/// The floor for chunked input: copy the stream as it arrives, `chunk` bytes per call, into
/// the sink (prefix bytes included: 4 per frame, noise), knowing nothing about frames.
pub fn memcpy_chunks(input: &[u8], chunk: usize, sink: &mut [u8]) -> usize {
    let mut at = 0;
    for piece in input.chunks(chunk) {
        if at + piece.len() > sink.len() {
            at = 0;
        }
        sink[at..at + piece.len()].copy_from_slice(piece);
        at += piece.len();
    }
    at
}

/// Encode `frames` frames of `payload` into `out` (prefix + payload copy, what a sender that
/// batches its writes does).
pub fn wirekit_encode(payload: &[u8], frames: usize, out: &mut Vec<u8>) -> usize {
    let cfg = FrameConfig::seed().with_max_frame_len(1 << 24);
    out.clear();
    for _ in 0..frames {
        out.extend_from_slice(cfg.encode_prefix(payload.len() as u64).unwrap().as_bytes());
        out.extend_from_slice(payload);
    }
    out.len()
}

pub fn tokio_encode(payload: &Bytes, frames: usize, out: &mut BytesMut) -> usize {
    let mut codec = tokio_codec();
    out.clear();
    for _ in 0..frames {
        codec.encode(payload.clone(), out).unwrap();
    }
    out.len()
}

pub fn memcpy_encode(payload: &[u8], frames: usize, out: &mut Vec<u8>) -> usize {
    out.clear();
    for _ in 0..frames {
        out.extend_from_slice(payload);
    }
    out.len()
}

/// A header as the seed's sender writes it for a file on a Windows desktop.
pub const HEADER: FileHeader<'static> = FileHeader {
    filename: "report-2024 final.pdf",
    filepath: "C:\\Users\\alice\\Documents\\projects",
    filesize: 1_234_567_890,
};

/// Move bytes between `a` and `b` with the core's driver, one per side, until both are
/// done and flushed (events are dropped: the bench wants the cost).
pub fn exchange<A: Machine, B: Machine>(a: &mut A, b: &mut B) {
    let (mut a_to_b, mut b_to_a) = (Vec::new(), Vec::new());
    let (mut da, mut db) = (Driver::new(), Driver::new());
    for _ in 0..16 {
        let a_done = turn(&mut da, a, &mut b_to_a, &mut a_to_b);
        let b_done = turn(&mut db, b, &mut a_to_b, &mut b_to_a);
        if a_done && b_done {
            return;
        }
    }
    panic!("handshake did not finish");
}

/// Step one side until it rests: its input is `incoming` (consumed bytes are removed), its
/// output goes to `outgoing`. True when it is finished.
pub fn turn<M: Machine>(
    driver: &mut Driver,
    m: &mut M,
    incoming: &mut Vec<u8>,
    outgoing: &mut Vec<u8>,
) -> bool {
    let mut taken = 0;
    let finished = loop {
        let step = driver.step(m, Input::new(&incoming[taken..])).unwrap();
        taken += step.consumed;
        match step.action {
            Action::Transmit(t) => {
                outgoing.extend_from_slice(t.bytes());
                t.sent(usize::MAX);
            }
            Action::Event(_) | Action::Closed(_) => {}
            Action::Finished => break true,
            Action::NeedInput | Action::WaitingForCaller { .. } => break false,
        }
    };
    incoming.drain(..taken);
    finished
}
