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
use wirekit_bench::codec::{
    exchange, memcpy_chunks, memcpy_encode, memcpy_payloads, stream, tokio_decode, tokio_encode,
    wirekit_decode, wirekit_encode, HEADER, STREAM_BYTES,
};
use wirekit_core::auth::{ChallengeMode, MpHandshake, MpPolicy, Order, SeedProver, SeedVerifier};
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::FileHeader;

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
