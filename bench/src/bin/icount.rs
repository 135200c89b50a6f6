//! Runs one named workload REPS times, for `bench/icount.sh`, which counts its instructions
//! under callgrind: a figure that does not wander with the load of a shared machine.
//!
//! `icount WORKLOAD REPS`; `icount list` names the workloads.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use wirekit_bench::codec::{
    exchange, memcpy_chunks, memcpy_encode, memcpy_payloads, stream, tokio_decode, tokio_encode,
    wirekit_decode, wirekit_encode, HEADER, STREAM_BYTES,
};
use wirekit_bench::secure::{channel, pass, Bufs};
use wirekit_core::auth::{ChallengeMode, MpHandshake, MpPolicy, Order, SeedProver, SeedVerifier};
use wirekit_core::header::FileHeader;
use wirekit_core::secure::{Psk, Role};

/// Workloads: (name, what one repetition processes, in bytes; 0 when it is not a stream).
const WORKLOADS: &[(&str, usize)] = &[
    ("decode_64B/wirekit/one_piece", STREAM_BYTES),
    ("decode_64B/wirekit/1500B_chunks", STREAM_BYTES),
    ("decode_64B/tokio_util/one_piece", STREAM_BYTES),
    ("decode_64B/tokio_util/1500B_chunks", STREAM_BYTES),
    ("decode_64B/memcpy_payloads", STREAM_BYTES),
    ("decode_64KiB/wirekit/one_piece", STREAM_BYTES),
    ("decode_64KiB/wirekit/1500B_chunks", STREAM_BYTES),
    ("decode_64KiB/tokio_util/one_piece", STREAM_BYTES),
    ("decode_64KiB/tokio_util/1500B_chunks", STREAM_BYTES),
    ("decode_64KiB/memcpy_payloads", STREAM_BYTES),
    ("decode_64KiB/memcpy_1500B_chunks", STREAM_BYTES),
    ("encode_64B/wirekit", STREAM_BYTES),
    ("encode_64B/tokio_util", STREAM_BYTES),
    ("encode_64B/memcpy", STREAM_BYTES),
    ("header/encode", 0),
    ("header/decode", 0),
    ("handshake/seed_md5", 0),
    ("handshake/mp_sha256", 0),
    ("secure/handshake_both_sides", 0),
    ("secure/record_16KiB_seal_open", 16 * 1024),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| usage());
    if name == "list" {
        for (name, bytes) in WORKLOADS {
            println!("{name} {bytes}");
        }
        return;
    }
    let reps: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or_else(|| usage());
    run(&name, reps);
}

fn usage() -> ! {
    eprintln!("usage: icount WORKLOAD REPS | icount list");
    std::process::exit(2)
}

fn run(name: &str, reps: usize) {
    let (family, rest) = name.split_once('/').unwrap_or_else(|| usage());
    match family {
        "decode_64B" | "decode_64KiB" => {
            let payload = if family == "decode_64B" { 64 } else { 64 * 1024 };
            let (input, frames) = stream(payload);
            let mut sink = vec![0u8; payload];
            let mut buf = BytesMut::with_capacity(2 * payload + 4096);
            for _ in 0..reps {
                let got = match rest {
                    "wirekit/one_piece" => {
                        wirekit_decode(black_box(&input), input.len(), &mut sink)
                    }
                    "wirekit/1500B_chunks" => wirekit_decode(black_box(&input), 1500, &mut sink),
                    "tokio_util/one_piece" => {
                        tokio_decode(black_box(&input), input.len(), &mut buf, &mut sink)
                    }
                    "tokio_util/1500B_chunks" => {
                        tokio_decode(black_box(&input), 1500, &mut buf, &mut sink)
                    }
                    "memcpy_payloads" => memcpy_payloads(black_box(&input), payload, &mut sink),
                    "memcpy_1500B_chunks" => {
                        memcpy_chunks(black_box(&input), 1500, &mut sink);
                        frames
                    }
                    _ => usage(),
                };
                assert_eq!(got, frames);
            }
        }
        "encode_64B" => {
            let frames = STREAM_BYTES / 68;
            let payload: Vec<u8> = (0..64).map(|j| j as u8).collect();
            let shared = Bytes::from(payload.clone());
            let mut out = Vec::with_capacity(frames * 68);
            let mut out_bytes = BytesMut::with_capacity(frames * 68);
            for _ in 0..reps {
                black_box(match rest {
                    "wirekit" => wirekit_encode(black_box(&payload), frames, &mut out),
                    "tokio_util" => tokio_encode(black_box(&shared), frames, &mut out_bytes),
                    "memcpy" => memcpy_encode(black_box(&payload), frames, &mut out),
                    _ => usage(),
                });
            }
        }
        "header" => {
            let mut out = [0u8; 512];
            let len = HEADER.encode(&mut out).unwrap();
            let json = out[..len].to_vec();
            let mut storage = [0u8; 512];
            for _ in 0..reps {
                match rest {
                    "encode" => {
                        black_box(black_box(&HEADER).encode(black_box(&mut out)).unwrap());
                    }
                    "decode" => {
                        let h = FileHeader::decode(black_box(&json), &mut storage).unwrap();
                        black_box(h.filesize);
                    }
                    _ => usage(),
                }
            }
        }
        "handshake" => {
            let key = b"egg";
            for _ in 0..reps {
                match rest {
                    "seed_md5" => {
                        let mut verifier = SeedVerifier::new(key, black_box([7u8; 32]));
                        let mut prover = SeedProver::new(key);
                        exchange(&mut verifier, &mut prover);
                    }
                    "mp_sha256" => {
                        let (mode, policy) = (ChallengeMode::SHA256, MpPolicy::COMPATIBLE);
                        let mut listener =
                            MpHandshake::new(key, Order::ListenerSide, mode, policy, [7u8; 40]);
                        let mut client =
                            MpHandshake::new(key, Order::ClientSide, mode, policy, [9u8; 40]);
                        exchange(&mut listener, &mut client);
                    }
                    _ => usage(),
                }
            }
        }
        "secure" => {
            let psk = Psk::derive(b"a 32-byte key for the benchmarks").unwrap();
            let (mut bi, mut br) = (Bufs::new(), Bufs::new());
            match rest {
                "handshake_both_sides" => {
                    for _ in 0..reps {
                        let mut init = channel(Role::Initiator, &psk, 1, &mut bi);
                        let mut resp = channel(Role::Responder, &psk, 2, &mut br);
                        pass(&mut init, &mut resp);
                        pass(&mut resp, &mut init);
                        assert!(init.peer_authenticated());
                    }
                }
                "record_16KiB_seal_open" => {
                    let mut init = channel(Role::Initiator, &psk, 1, &mut bi);
                    let mut resp = channel(Role::Responder, &psk, 2, &mut br);
                    pass(&mut init, &mut resp);
                    pass(&mut resp, &mut init);
                    let plaintext = vec![0x5a; 16 * 1024];
                    for _ in 0..reps {
                        assert_eq!(init.write_plaintext(&plaintext).unwrap(), plaintext.len());
                        pass(&mut init, &mut resp);
                    }
                }
                _ => usage(),
            }
        }
        _ => usage(),
    }
}
