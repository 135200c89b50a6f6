//! Goodput of the serial link in real time over pty pairs joined by a relay that limits each
//! direction to a baud rate (8N1: 10 bits a byte) and corrupts bytes at a given rate: issue
//! 17's setup, with threads instead of socat. 64 KiB one way per row; prints BENCHMARKS.md rows.
//!
//! `cargo run --release -p wirekit-std --example serial_goodput` (`-- --size BYTES`).
// A measuring tool: a failed run is a panic with its reason.
#![allow(clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use wirekit_std::serial::{link_port, Port, FRAME_BUF};

/// Copy `from` to `to` at `baud` (a byte reaches `to` once its 10 bits are sent), XORing a
/// byte with probability `per_million` / 1e6. Ends when `from` stays silent for 3 s.
fn relay(mut from: TTYPort, mut to: TTYPort, baud: u32, per_million: u64, seed: u64) {
    thread::spawn(move || {
        let byte_time = Duration::from_nanos(10_000_000_000 / u64::from(baud));
        let mut state = seed | 1;
        let mut line_free = Instant::now();
        let mut buf = [0u8; 64];
        let _ = from.set_timeout(Duration::from_secs(3));
        while let Ok(n) = from.read(&mut buf) {
            for b in &mut buf[..n] {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if state % 1_000_000 < per_million {
                    *b ^= (state >> 32) as u8 | 1;
                }
            }
            let now = Instant::now();
            line_free = line_free.max(now) + byte_time * n as u32;
            thread::sleep(line_free.saturating_duration_since(Instant::now()));
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
}

/// One transfer of `size` bytes at `baud` with `per_million` byte errors each way:
/// (goodput as a fraction of the line rate, sender retransmissions).
fn run(size: usize, baud: u32, per_million: u64) -> (f64, u64) {
    let (a, a_relay) = TTYPort::pair().expect("pty pair");
    let (b_relay, b) = TTYPort::pair().expect("pty pair");
    let a_relay2 = a_relay.try_clone_native().expect("clone");
    let b_relay2 = b_relay.try_clone_native().expect("clone");
    relay(a_relay, b_relay2, baud, per_million, 11);
    relay(b_relay, a_relay2, baud, per_million, 12);
    let data: Vec<u8> = (0..size).map(|i| (i * 13 + i / 253) as u8).collect();
    let sent = data.clone();
    let start = Instant::now();
    let sender = thread::spawn(move || {
        let mut frame = [0u8; FRAME_BUF];
        let mut port = link_port(Port::from_port(Box::new(a)), baud, 0xA5A5, &mut frame);
        embedded_io::Write::write_all(&mut port, &sent).expect("write");
        // Linger long enough to answer the receiver's retransmitted FIN (a pty fails writes
        // once the other end closed); the linger ends early once the receiver's FIN is in.
        port.finish(Duration::from_secs(10)).expect("sender finish");
        port.link().stats().retransmits
    });
    let mut frame = [0u8; FRAME_BUF];
    let mut port = link_port(Port::from_port(Box::new(b)), baud, 0x5A5A, &mut frame);
    let mut got = Vec::with_capacity(size);
    let mut buf = [0u8; 4096];
    loop {
        let n = embedded_io::Read::read(&mut port, &mut buf).expect("read");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let elapsed = start.elapsed();
    port.finish(Duration::from_secs(10)).expect("receiver finish");
    let retransmits = sender.join().expect("sender");
    assert_eq!(got, data, "the stream arrived intact");
    let line_rate = f64::from(baud) / 10.0;
    (size as f64 / elapsed.as_secs_f64() / line_rate, retransmits)
}

fn main() {
    let mut size = 64 * 1024;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--size", Some(v)) => size = v,
            _ => {
                eprintln!("usage: serial_goodput [--size BYTES]");
                std::process::exit(2);
            }
        }
    }
    println!("| baud | byte errors | goodput (of line rate) | B/s | retransmits |");
    println!("|---:|---:|---:|---:|---:|");
    for baud in [115_200u32, 921_600] {
        for per_million in [0u64, 10_000] {
            let (g, r) = run(size, baud, per_million);
            println!(
                "| {baud} | {} % | {:.1} % | {:.0} | {r} |",
                per_million as f64 / 10_000.0,
                g * 100.0,
                g * f64::from(baud) / 10.0
            );
        }
    }
}
