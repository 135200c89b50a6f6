//! Secure profile (docs/protocol.md section 5) costs.
//!
//! * Handshake: both sides of one `NNpsk0` handshake in memory (three X25519 operations per
//!   side plus hashing), the cost per secure connection.
//! * Records: one record sealed by one channel and opened by the other, at 16 KiB and at the
//!   largest plaintext (65,519 B), through the public `SecureChannel` API (copy into the send
//!   buffer, seal, open in place, hand to the inner machine).
//! * Raw ChaCha20-Poly1305 (encrypt + decrypt, one core) on the same sizes: the bound.
//!
//! `cargo bench -p wirekit-bench --bench secure`; figures are in BENCHMARKS.md.
use std::hint::black_box;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wirekit_bench::secure::{channel, pass, Bufs};
use wirekit_core::secure::{Psk, Role, MAX_PLAINTEXT_LIMIT};

fn handshake(c: &mut Criterion) {
    let psk = Psk::derive(b"a 32-byte key for the benchmarks").unwrap();
    let (mut bi, mut br) = (Bufs::new(), Bufs::new());
    c.bench_function("secure/handshake, both sides", |b| {
        b.iter(|| {
            let mut init = channel(Role::Initiator, &psk, 1, &mut bi);
            let mut resp = channel(Role::Responder, &psk, 2, &mut br);
            pass(&mut init, &mut resp);
            pass(&mut resp, &mut init);
            assert!(init.peer_authenticated());
            black_box(init.handshake_hash())
        })
    });
}

fn records(c: &mut Criterion) {
    let psk = Psk::derive(b"a 32-byte key for the benchmarks").unwrap();
    let (mut bi, mut br) = (Bufs::new(), Bufs::new());
    let mut init = channel(Role::Initiator, &psk, 1, &mut bi);
    let mut resp = channel(Role::Responder, &psk, 2, &mut br);
    pass(&mut init, &mut resp);
    pass(&mut resp, &mut init);
    let mut group = c.benchmark_group("secure/record seal+open");
    for size in [16 * 1024, usize::from(MAX_PLAINTEXT_LIMIT)] {
        let plaintext = vec![0x5a; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &plaintext, |b, p| {
            b.iter(|| {
                assert_eq!(init.write_plaintext(p).unwrap(), p.len());
                pass(&mut init, &mut resp);
            })
        });
    }
    group.finish();
}

fn raw_cipher(c: &mut Criterion) {
    let cipher = ChaCha20Poly1305::new(&Key::from([7u8; 32]));
    let mut group = c.benchmark_group("secure/raw chacha20poly1305 encrypt+decrypt");
    for size in [16 * 1024, usize::from(MAX_PLAINTEXT_LIMIT)] {
        let mut buf = vec![0x5a; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            let nonce = Nonce::from([0u8; 12]);
            b.iter(|| {
                let tag =
                    cipher.encrypt_inout_detached(&nonce, &[], buf.as_mut_slice().into()).unwrap();
                cipher
                    .decrypt_inout_detached(&nonce, &[], buf.as_mut_slice().into(), &tag)
                    .unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, handshake, records, raw_cipher);
criterion_main!(benches);
