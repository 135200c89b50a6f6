//! Codec micro-benchmarks.
//!
//! * Frame decode/encode: wirekit's streaming decoder next to tokio-util's
//!   `LengthDelimitedCodec` on the same bytes, and next to a plain copy of the payload bytes.
//! * The demo3 JSON header: encode and decode of a typical header.
//! * Handshake machines: one whole exchange between two in-memory machines (seed HMAC-MD5,
//!   mp with a `{sha256}` challenge both ways), the cost per authenticated connection.
//!
//! `cargo bench -p wirekit-bench --bench frame`; ratios are in BENCHMARKS.md.
use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};
use wirekit_core::auth::{ChallengeMode, MpHandshake, MpPolicy, Order, SeedProver, SeedVerifier};
use wirekit_core::drive::{Action, Driver, Input};
use wirekit_core::frame::{FrameConfig, FrameDecoder, FrameEvent};
use wirekit_core::header::FileHeader;
use wirekit_core::Machine;

const STREAM_BYTES: usize = 1 << 20;

/// About 1 MiB of back-to-back seed frames of `payload` bytes each.
fn stream(payload: usize) -> (Vec<u8>, usize) {
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
fn wirekit_decode(input: &[u8], chunk: usize, sink: &mut [u8]) -> usize {
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

fn tokio_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .little_endian()
        .length_field_length(4)
        .max_frame_length(1 << 24)
        .new_codec()
}

fn tokio_decode(input: &[u8], chunk: usize, buf: &mut BytesMut, sink: &mut [u8]) -> usize {
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
fn memcpy_payloads(input: &[u8], payload: usize, sink: &mut [u8]) -> usize {
    let mut frames = 0;
    for frame in input.chunks_exact(payload + 4) {
        sink[..payload].copy_from_slice(&frame[4..]);
        frames += 1;
    }
    frames
}

/// The floor for chunked input: copy the stream as it arrives, `chunk` bytes per call, into
/// the sink (prefix bytes included: 4 per frame, noise), knowing nothing about frames.
fn memcpy_chunks(input: &[u8], chunk: usize, sink: &mut [u8]) -> usize {
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

fn decode(c: &mut Criterion) {
    for payload in [64usize, 64 * 1024] {
        let (input, frames) = stream(payload);
        let mut sink = vec![0u8; payload];
        let mut buf = BytesMut::with_capacity(2 * payload + 4096);
        let mut group = c.benchmark_group(format!("decode_{payload}B_frames"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        for (label, chunk) in [("one_piece", input.len()), ("1500B_chunks", 1500)] {
            group.bench_with_input(BenchmarkId::new("wirekit", label), &chunk, |b, &chunk| {
                b.iter(|| assert_eq!(wirekit_decode(black_box(&input), chunk, &mut sink), frames))
            });
            group.bench_with_input(BenchmarkId::new("tokio_util", label), &chunk, |b, &chunk| {
                b.iter(|| {
                    assert_eq!(tokio_decode(black_box(&input), chunk, &mut buf, &mut sink), frames)
                })
            });
        }
        group.bench_function("memcpy_payloads", |b| {
            b.iter(|| assert_eq!(memcpy_payloads(black_box(&input), payload, &mut sink), frames))
        });
        if payload >= 1500 {
            group.bench_function("memcpy_1500B_chunks", |b| {
                b.iter(|| memcpy_chunks(black_box(&input), 1500, &mut sink))
            });
        }
        group.finish();
    }
}

/// Encode `frames` frames of `payload` into `out` (prefix + payload copy, what a sender that
/// batches its writes does).
fn wirekit_encode(payload: &[u8], frames: usize, out: &mut Vec<u8>) -> usize {
    let cfg = FrameConfig::seed().with_max_frame_len(1 << 24);
    out.clear();
    for _ in 0..frames {
        out.extend_from_slice(cfg.encode_prefix(payload.len() as u64).unwrap().as_bytes());
        out.extend_from_slice(payload);
    }
    out.len()
}

fn tokio_encode(payload: &Bytes, frames: usize, out: &mut BytesMut) -> usize {
    let mut codec = tokio_codec();
    out.clear();
    for _ in 0..frames {
        codec.encode(payload.clone(), out).unwrap();
    }
    out.len()
}

fn memcpy_encode(payload: &[u8], frames: usize, out: &mut Vec<u8>) -> usize {
    out.clear();
    for _ in 0..frames {
        out.extend_from_slice(payload);
    }
    out.len()
}

fn encode_frames(c: &mut Criterion) {
    for payload_len in [64usize, 64 * 1024] {
        let frames = (STREAM_BYTES / (payload_len + 4)).max(1);
        let payload: Vec<u8> = (0..payload_len).map(|j| j as u8).collect();
        let shared = Bytes::from(payload.clone());
        let mut out = Vec::with_capacity(frames * (payload_len + 4));
        let mut out_bytes = BytesMut::with_capacity(frames * (payload_len + 4));
        let mut group = c.benchmark_group(format!("encode_{payload_len}B_frames"));
        group.throughput(Throughput::Bytes((frames * (payload_len + 4)) as u64));
        group.bench_function("wirekit", |b| {
            b.iter(|| wirekit_encode(black_box(&payload), frames, &mut out))
        });
        group.bench_function("tokio_util", |b| {
            b.iter(|| tokio_encode(black_box(&shared), frames, &mut out_bytes))
        });
        group.bench_function("memcpy_payloads", |b| {
            b.iter(|| memcpy_encode(black_box(&payload), frames, &mut out))
        });
        group.finish();
    }
}

/// A header as the seed's sender writes it for a file on a Windows desktop.
const HEADER: FileHeader<'static> = FileHeader {
    filename: "report-2024 final.pdf",
    filepath: "C:\\Users\\alice\\Documents\\projects",
    filesize: 1_234_567_890,
};

fn header(c: &mut Criterion) {
    let mut group = c.benchmark_group("header");
    let mut out = [0u8; 512];
    let len = HEADER.encode(&mut out).unwrap();
    let json = out[..len].to_vec();
    group.throughput(Throughput::Bytes(len as u64));
    group.bench_function("encode", |b| {
        b.iter(|| black_box(&HEADER).encode(black_box(&mut out)).unwrap())
    });
    let mut storage = [0u8; 512];
    group.bench_function("decode", |b| {
        b.iter(|| FileHeader::decode(black_box(&json), &mut storage).unwrap().filesize)
    });
    // Non-ASCII names travel as `\uXXXX` escapes: the decoder's slow path.
    let escaped =
        FileHeader { filename: "中文文件名 🎉.txt", filepath: "/home/用户", filesize: 42 };
    let len = escaped.encode(&mut out).unwrap();
    let json_escaped = out[..len].to_vec();
    group.bench_function("decode_escaped", |b| {
        b.iter(|| FileHeader::decode(black_box(&json_escaped), &mut storage).unwrap().filesize)
    });
    group.finish();
}

/// Move bytes between `a` and `b` with the core's driver, one per side, until both are
/// done and flushed (events are dropped: the bench wants the cost).
fn exchange<A: Machine, B: Machine>(a: &mut A, b: &mut B) {
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
fn turn<M: Machine>(
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

fn handshake(c: &mut Criterion) {
    let key = b"egg";
    let mut group = c.benchmark_group("handshake");
    group.bench_function("seed_md5", |b| {
        b.iter(|| {
            let mut verifier = SeedVerifier::new(key, black_box([7u8; 32]));
            let mut prover = SeedProver::new(key);
            exchange(&mut verifier, &mut prover);
            verifier.outcome()
        })
    });
    for (label, mode) in
        [("mp_sha256", ChallengeMode::SHA256), ("mp_legacy_md5", ChallengeMode::Legacy)]
    {
        group.bench_function(label, |b| {
            b.iter(|| {
                let policy = MpPolicy::COMPATIBLE;
                let mut listener =
                    MpHandshake::new(key, Order::ListenerSide, mode, policy, black_box([7u8; 40]));
                let mut client =
                    MpHandshake::new(key, Order::ClientSide, mode, policy, black_box([9u8; 40]));
                exchange(&mut listener, &mut client);
                listener.outcome()
            })
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let cfg = FrameConfig::seed();
    let mut group = c.benchmark_group("encode_prefix");
    group.bench_function("seed", |b| b.iter(|| cfg.encode_prefix(black_box(65_536)).unwrap()));
    let mp = FrameConfig::mp().with_max_frame_len(u64::MAX);
    group.bench_function("mp_extended", |b| {
        b.iter(|| mp.encode_prefix(black_box(5_000_000_000)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, decode, encode_frames, encode, header, handshake);
criterion_main!(benches);
