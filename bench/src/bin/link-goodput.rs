//! Goodput of the serial link (`wirekit_core::link`) on a simulated 8N1 line, in simulated
//! time: 64 KiB one way, clean and with random byte errors both ways, for windows 8, 16 and 32.
//! Prints BENCHMARKS.md rows. `cargo run --release -p wirekit-bench --bin link-goodput`
//! (`-- --size BYTES --seeds N`).

use std::time::Duration;

use wirekit_core::link::sim::{Clean, Faults, Random, Recv, Send, Sim};
use wirekit_core::link::{Link, LinkConfig};

/// One run: `size` bytes A → B; returns (goodput as a fraction of the line rate, retransmits).
fn run<const F: usize, const W: usize>(
    baud: u32,
    size: usize,
    per_million: u32,
    seed: u64,
    max_payload: u16,
) -> Option<(f64, u64)> {
    let mut config = LinkConfig::for_baud(baud);
    config.max_payload = max_payload;
    let a: Link<F, W, 8192> = Link::new(config, 0xA11CE ^ seed as u32);
    let b: Link<F, W, 8192> = Link::new(config, 0xB0B ^ seed as u32);
    let byte_time = Duration::from_nanos(10_000_000_000 / u64::from(baud));
    // 1 ms each way on top of the bytes' own time: a USB serial adapter's latency.
    let mut sim = Sim::new(a, b, byte_time, Duration::from_millis(1));
    let data: Vec<u8> = (0..size).map(|i| (i * 31 + i / 7) as u8).collect();
    let mut send = Send::new(data.clone());
    let mut recv = Recv::default();
    let (mut ab, mut ba): (Box<dyn Faults>, Box<dyn Faults>) = if per_million == 0 {
        (Box::new(Clean), Box::new(Clean))
    } else {
        (Box::new(Random::new(per_million, seed)), Box::new(Random::new(per_million, !seed)))
    };
    let out = sim.run(&mut send, &mut recv, &mut *ab, &mut *ba, Duration::from_secs(3_600));
    if !out.done || recv.got != data {
        eprintln!("run failed: {out:?}");
        return None;
    }
    let line_rate = f64::from(baud) / 10.0;
    let goodput = size as f64 / out.elapsed.as_secs_f64() / line_rate;
    Some((goodput, sim.a.stats().retransmits))
}

fn mean<const F: usize, const W: usize>(
    baud: u32,
    size: usize,
    per_million: u32,
    seeds: u64,
    max_payload: u16,
) -> (f64, u64) {
    let (mut sum, mut retx, mut n) = (0.0, 0, 0);
    for seed in 1..=seeds {
        if let Some((g, r)) = run::<F, W>(baud, size, per_million, seed, max_payload) {
            sum += g;
            retx += r;
            n += 1;
        }
    }
    (sum / f64::from(n.max(1)), retx / (n.max(1) as u64))
}

fn main() {
    let mut size = 64 * 1024;
    let mut seeds = 5;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size" => size = args.next().and_then(|v| v.parse().ok()).unwrap_or(size),
            "--seeds" => seeds = args.next().and_then(|v| v.parse().ok()).unwrap_or(seeds),
            _ => {
                eprintln!("usage: link-goodput [--size BYTES] [--seeds N]");
                std::process::exit(2);
            }
        }
    }
    println!(
        "| baud | byte errors | window | goodput (of line rate) | B/s | retransmits per run |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for baud in [115_200u32, 921_600, 3_000_000] {
        for per_million in [0u32, 10_000] {
            for w in [8usize, 16, 32] {
                let (g, r) = match w {
                    8 => mean::<256, 8>(baud, size, per_million, seeds, u16::MAX),
                    16 => mean::<256, 16>(baud, size, per_million, seeds, u16::MAX),
                    _ => mean::<256, 32>(baud, size, per_million, seeds, u16::MAX),
                };
                println!(
                    "| {baud} | {} % | {w} | {:.1} % | {:.0} | {r} |",
                    f64::from(per_million) / 10_000.0,
                    g * 100.0,
                    g * f64::from(baud) / 10.0
                );
            }
        }
    }
}
