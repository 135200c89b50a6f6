//! Frame decode/encode: wirekit's streaming decoder next to tokio-util's
//! `LengthDelimitedCodec` on the same bytes, and next to a plain copy of the payload bytes.
use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tokio_util::codec::{Decoder, LengthDelimitedCodec};
use wirekit_core::frame::{FrameConfig, FrameDecoder, FrameEvent};

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

fn tokio_decode(input: &[u8], chunk: usize, buf: &mut BytesMut, sink: &mut [u8]) -> usize {
    let mut codec = LengthDelimitedCodec::builder()
        .little_endian()
        .length_field_length(4)
        .max_frame_length(1 << 24)
        .new_codec();
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
        group.finish();
    }
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

criterion_group!(benches, decode, encode);
criterion_main!(benches);
