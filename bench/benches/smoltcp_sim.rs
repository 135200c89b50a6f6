//! smoltcp throughput on the simulated link (smoltcp-adapter/tests/sim, no faults): a wirekit
//! file transfer (`FileSend` on one host, `FileReceive` on the other) next to a raw smoltcp
//! socket copy of the same bytes (`send_slice` / `recv`), same link, same socket buffers.
//!
//! Both receivers do the same work per byte: compare each chunk with the expected bytes (so a
//! wrong or missing byte fails the run), the wirekit one inside a `BodySink`. Printed per run:
//! bytes per simulated second (what the stack's windows and timers allow) and per CPU second
//! (what the code costs; the simulation is single-threaded, the figure is process CPU time).
//!
//! `cargo bench -p wirekit-bench --bench smoltcp_sim` (SIM_MIB=N to change the size, default 256).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[path = "../../smoltcp-adapter/tests/sim/mod.rs"]
mod sim;

use sim::{connect_tcp, Faults, Flow, Limits, Sim};
use smoltcp::socket::tcp;
use smoltcp::time::Duration;
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::FileHeader;
use wirekit_core::transfer::{FileReceiver, FileSender};
use wirekit_smoltcp::{
    BodySink, Exchange, FileEvent, FileReceive, FileSend, SinkFull, SliceSource,
};

const SOCKET_BUF: usize = 64 * 1024;
const RUNS: usize = 3;

/// Process CPU time, in seconds, from `CLOCK_PROCESS_CPUTIME_ID` (scheduler-exact;
/// `getrusage` is tick-sampled on many kernels, too coarse for runs of milliseconds).
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Compares every byte with what was sent.
struct CheckSink<'d> {
    expected: &'d [u8],
    at: usize,
}

impl BodySink for CheckSink<'_> {
    type Error = SinkFull;
    fn start(&mut self, header: &FileHeader<'_>) -> Result<(), SinkFull> {
        assert_eq!(header.filesize, self.expected.len() as u64);
        Ok(())
    }
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkFull> {
        assert_eq!(chunk, &self.expected[self.at..self.at + chunk.len()]);
        self.at += chunk.len();
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkFull> {
        assert_eq!(self.at, self.expected.len());
        Ok(())
    }
    fn abort(&mut self) {
        panic!("transfer aborted");
    }
}

#[derive(Clone, Copy)]
struct Run {
    sim_secs: f64,
    cpu_secs: f64,
    /// Packets from sender to receiver (shows the segment size: MTU 1500).
    packets: u64,
}

fn limits() -> Limits {
    Limits { max_time: Duration::from_secs(100_000), max_iterations: u64::MAX }
}

fn wirekit_run(data: &[u8], latency: Duration) -> Run {
    let mut sim = Sim::new(Faults::none()).with_latency(latency);
    let (ha, hb) = connect_tcp(&mut sim, 8080, SOCKET_BUF);
    let header = FileHeader { filename: "image.bin", filepath: "/", filesize: data.len() as u64 };
    let mut send = FileSend::new(
        FileSender::new(FrameConfig::seed(), &header).unwrap(),
        SliceSource::new(data),
    );
    let mut receive = FileReceive::new(
        FileReceiver::<256>::new(FrameConfig::seed()),
        CheckSink { expected: data, at: 0 },
    );
    let mut done = false;
    let cpu = cpu_seconds();
    let report = sim
        .run(limits(), |_, sa, sb| {
            let a = sa.get_mut::<tcp::Socket>(ha);
            send.poll(a).unwrap();
            let mut busy = !send.progress().is_idle();
            let b = sb.get_mut::<tcp::Socket>(hb);
            while let Some(event) = receive.poll(b).unwrap() {
                done |= matches!(event, FileEvent::Done { .. });
            }
            busy |= !receive.progress().is_idle();
            Ok(if done {
                Flow::Done
            } else if busy {
                Flow::Busy
            } else {
                Flow::Idle
            })
        })
        .unwrap();
    let cpu_secs = cpu_seconds() - cpu;
    assert_eq!(receive.sink_mut().at, data.len());
    Run {
        sim_secs: report.sim_time.total_micros() as f64 / 1e6,
        cpu_secs,
        packets: report.a_to_b.sent,
    }
}

fn raw_run(data: &[u8], latency: Duration) -> Run {
    let mut sim = Sim::new(Faults::none()).with_latency(latency);
    let (ha, hb) = connect_tcp(&mut sim, 8080, SOCKET_BUF);
    let (mut sent, mut got) = (0usize, 0usize);
    let cpu = cpu_seconds();
    let report = sim
        .run(limits(), |_, sa, sb| {
            let mut busy = false;
            let a = sa.get_mut::<tcp::Socket>(ha);
            if sent < data.len() && a.can_send() {
                let n = a.send_slice(&data[sent..]).unwrap();
                sent += n;
                busy |= n > 0;
            }
            let b = sb.get_mut::<tcp::Socket>(hb);
            while b.can_recv() {
                let n = b
                    .recv(|chunk| {
                        assert_eq!(chunk, &data[got..got + chunk.len()]);
                        (chunk.len(), chunk.len())
                    })
                    .unwrap();
                got += n;
                busy |= n > 0;
            }
            Ok(if got == data.len() {
                Flow::Done
            } else if busy {
                Flow::Busy
            } else {
                Flow::Idle
            })
        })
        .unwrap();
    let cpu_secs = cpu_seconds() - cpu;
    Run {
        sim_secs: report.sim_time.total_micros() as f64 / 1e6,
        cpu_secs,
        packets: report.a_to_b.sent,
    }
}

/// Best (lowest CPU) of `RUNS`; the simulated time is deterministic.
fn best(mut f: impl FnMut() -> Run) -> Run {
    (0..RUNS).map(|_| f()).min_by(|a, b| a.cpu_secs.total_cmp(&b.cpu_secs)).unwrap()
}

fn mib_per(bytes: usize, secs: f64) -> String {
    if secs <= 0.0 {
        return "∞ (no simulated time passed)".into();
    }
    if secs.is_nan() {
        return "-".into();
    }
    format!("{:.1}", bytes as f64 / 1048576.0 / secs)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run small then.
    let benching = std::env::args().any(|a| a == "--bench");
    let mib: usize = std::env::var("SIM_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 256 } else { 1 });
    let data: Vec<u8> =
        (0..mib * 1048576).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    println!(
        "smoltcp simulated link, no faults, {mib} MiB, TCP buffers {} KiB each way, best of {RUNS}",
        SOCKET_BUF / 1024
    );
    println!(
        "| link latency | copy | packets → | simulated s | MiB per simulated s | CPU s | MiB per CPU s | wirekit / raw (CPU) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for latency in [Duration::ZERO, Duration::from_millis(1)] {
        let raw = best(|| raw_run(&data, latency));
        let wk = best(|| wirekit_run(&data, latency));
        for (label, run) in [("raw smoltcp", raw), ("wirekit FileSend/FileReceive", wk)] {
            println!(
                "| {latency} | {label} | {} | {:.3} | {} | {:.3} | {} | {:.2}× |",
                run.packets,
                run.sim_secs,
                mib_per(data.len(), run.sim_secs),
                run.cpu_secs,
                mib_per(data.len(), run.cpu_secs),
                raw.cpu_secs / run.cpu_secs,
            );
        }
    }
}
