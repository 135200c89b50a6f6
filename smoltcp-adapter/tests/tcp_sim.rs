//! The TCP pump over the simulated lossy link (see `sim/mod.rs`): 1 MiB raw, echoed and
//! framed, at 0 %, 10 % drop and 10 % drop + 1 % corruption, several seeds. Every byte must
//! arrive intact. Run with `--nocapture` to see the simulated time each run took.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod machines;
mod sim;

use core::fmt;

use machines::*;
use sim::{Faults, Flow, Limits, Report, Sim, B_ADDR};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::phy::{Checksum, ChecksumCapabilities};
use smoltcp::socket::tcp;
use wirekit_core::frame::{FrameConfig, FrameDecoder, FrameEvent};
use wirekit_core::Machine;
use wirekit_smoltcp::{PumpError, TcpPump};

const PORT: u16 = 8080;
const SEEDS: [u32; 4] = [1, 7, 42, 2024];
const FAULT_LEVELS: [(u8, u8); 3] = [(0, 0), (10, 0), (10, 1)];

// ---------------------------------------------------------------------------------------
// Helpers.

/// A on 10.0.0.1 connects to B on 10.0.0.2:8080. Socket buffers of `buf` bytes each way.
fn connect(sim: &mut Sim, buf: usize) -> (SocketHandle, SocketHandle) {
    let new_socket = || {
        tcp::Socket::new(tcp::SocketBuffer::new(vec![0; buf]), tcp::SocketBuffer::new(vec![0; buf]))
    };
    let mut server = new_socket();
    server.listen(PORT).unwrap();
    let b = sim.b.sockets.add(server);
    let mut client = new_socket();
    client.connect(sim.a.iface.context(), (B_ADDR, PORT), 49_152).unwrap();
    let a = sim.a.sockets.add(client);
    (a, b)
}

fn sock<'s>(set: &'s mut SocketSet<'static>, h: SocketHandle) -> &'s mut tcp::Socket<'static> {
    set.get_mut::<tcp::Socket>(h)
}

fn flow_of(busy: bool) -> Flow {
    if busy {
        Flow::Busy
    } else {
        Flow::Idle
    }
}

fn show<E: fmt::Debug>(who: &str, err: PumpError<E>) -> String {
    format!("{who}: {err:?}")
}

fn label(faults: Faults) -> String {
    format!(
        "drop {:>2} % corrupt {} % seed {:>4}",
        faults.drop_pct, faults.corrupt_pct, faults.seed
    )
}

fn matrix() -> impl Iterator<Item = Faults> {
    FAULT_LEVELS.into_iter().flat_map(|(drop_pct, corrupt_pct)| {
        SEEDS.into_iter().map(move |seed| Faults { drop_pct, corrupt_pct, seed })
    })
}

// ---------------------------------------------------------------------------------------
// Scenarios.

/// When the sender closes its socket.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    /// Once the peer acknowledged all data (`TcpPump::is_flushed`): what applications do.
    WhenFlushed,
    /// As soon as the machine's output is in the socket: exposes a smoltcp 0.14 bug.
    WhenQueued,
}

/// A sends `data` raw and closes; B records every chunk until EOF.
fn raw_copy(
    sim: &mut Sim,
    data: &[u8],
    limits: Limits,
    close: Close,
) -> Result<(Vec<u8>, Report), String> {
    let (ha, hb) = connect(sim, 16 * 1024);
    let mut tx = TcpPump::new(Source { data: data.to_vec(), sent: 0 });
    let mut rx = TcpPump::new(Sink::unlimited());
    let mut received = Vec::with_capacity(data.len());
    let mut eofs = 0;
    let mut closed = false;
    let report = sim.run(limits, |_, a, b| {
        let sa = sock(a, ha);
        let pa = tx.poll(sa, |_, _| {}).map_err(|e| show("sender", e))?;
        let ready = match close {
            Close::WhenFlushed => tx.is_flushed(sa),
            Close::WhenQueued => tx.is_finished(),
        };
        if ready && !closed {
            sa.close();
            closed = true;
        }
        let pb = rx
            .poll(sock(b, hb), |_, event| match event {
                ByteEvent::Chunk(chunk) => {
                    assert_eq!(eofs, 0, "a chunk after EOF");
                    received.extend_from_slice(chunk)
                }
                ByteEvent::Eof => eofs += 1,
            })
            .map_err(|e| show("receiver", e))?;
        if rx.eof_seen() {
            return Ok(Flow::Done);
        }
        Ok(flow_of(!pa.is_idle() || !pb.is_idle()))
    })?;
    assert_eq!(eofs, 1, "the EOF event is delivered exactly once");
    Ok((received, report))
}

/// Packets the injector corrupted in either direction.
fn corrupted(report: &Report) -> u64 {
    report.a_to_b.corrupted + report.b_to_a.corrupted
}

#[test]
fn raw_mebibyte_arrives_intact_at_every_fault_level() {
    let mut corrupted_total = 0;
    for faults in matrix() {
        let data = test_bytes(MIB, faults.seed);
        let mut sim = Sim::new(faults);
        let (received, report) = raw_copy(&mut sim, &data, Limits::default(), Close::WhenFlushed)
            .unwrap_or_else(|e| panic!("{}: {e}", label(faults)));
        assert_eq!(received.len(), data.len(), "{}", label(faults));
        assert!(received == data, "{}: contents differ", label(faults));
        println!("raw    1 MiB  {}: {report}", label(faults));
        corrupted_total += corrupted(&report);
    }
    assert!(corrupted_total > 0, "nothing was corrupted: the 1 % runs prove nothing");
}

#[test]
fn echoed_mebibyte_returns_intact_through_a_backpressured_machine() {
    for faults in matrix() {
        let data = test_bytes(MIB, faults.seed.wrapping_add(99));
        let mut sim = Sim::new(faults);
        let (ha, hb) = connect(&mut sim, 8 * 1024);
        let mut a = TcpPump::new(SourceSink {
            source: Source { data: data.clone(), sent: 0 },
            received: Vec::new(),
        });
        // 700 bytes of room: most polls take only part of what the socket holds.
        let mut b = TcpPump::new(Echo { buf: Vec::new(), capacity: 700, eof: false });
        let report = sim
            .run(Limits::default(), |_, sa, sb| {
                let pa = a.poll(sock(sa, ha), |_, _| {}).map_err(|e| show("A", e))?;
                let pb = b.poll(sock(sb, hb), |_, _| {}).map_err(|e| show("B", e))?;
                if a.machine().is_done() {
                    return Ok(Flow::Done);
                }
                Ok(flow_of(!pa.is_idle() || !pb.is_idle()))
            })
            .unwrap_or_else(|e| panic!("{}: {e}", label(faults)));
        assert!(a.machine().received == data, "{}: echo differs", label(faults));
        println!("echo   1 MiB  {}: {report}", label(faults));
    }
}

/// A sends frames; B decodes them with the core's `FrameDecoder` as the pump's machine.
fn framed_copy(faults: Faults, config: FrameConfig) -> Report {
    let frames = test_frames(faults.seed);
    let mut sim = Sim::new(faults);
    let (ha, hb) = connect(&mut sim, 16 * 1024);
    let mut tx = TcpPump::new(FrameSource::new(config, frames.clone()));
    let mut rx = TcpPump::new(FrameDecoder::new(config));
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut open = false;
    let mut closed = false;
    let report = sim
        .run(Limits::default(), |_, a, b| {
            let sa = sock(a, ha);
            let pa = tx.poll(sa, |_, _| {}).map_err(|e| show("sender", e))?;
            if tx.is_flushed(sa) && !closed {
                sa.close();
                closed = true;
            }
            let pb = rx
                .poll(sock(b, hb), |_, event| match event {
                    FrameEvent::Start { len } => {
                        assert!(!open, "Start inside a frame");
                        open = true;
                        got.push(Vec::with_capacity(len as usize));
                    }
                    FrameEvent::Data { chunk, remaining } => {
                        let frame = got.last_mut().unwrap();
                        frame.extend_from_slice(chunk);
                        assert_eq!(frame.len() as u64 + remaining, frame.capacity() as u64);
                    }
                    FrameEvent::End => {
                        assert!(open, "End outside a frame");
                        open = false;
                    }
                })
                .map_err(|e| show("receiver", e))?;
            if rx.eof_seen() {
                return Ok(Flow::Done);
            }
            Ok(flow_of(!pa.is_idle() || !pb.is_idle()))
        })
        .unwrap_or_else(|e| panic!("{}: {e}", label(faults)));
    assert!(!open, "{}: stream ended inside a frame", label(faults));
    assert_eq!(got.len(), frames.len(), "{}: frame count", label(faults));
    for (i, (got, want)) in got.iter().zip(&frames).enumerate() {
        assert!(got == want, "{}: frame {i} differs", label(faults));
    }
    report
}

#[test]
fn seed_framed_mebibyte_arrives_intact_at_every_fault_level() {
    let mut corrupted_total = 0;
    for faults in matrix() {
        let report = framed_copy(faults, FrameConfig::seed());
        println!("seed-framed    {}: {report}", label(faults));
        corrupted_total += corrupted(&report);
    }
    assert!(corrupted_total > 0, "nothing was corrupted: the 1 % runs prove nothing");
}

#[test]
fn mp_framed_mebibyte_arrives_intact_with_drops_and_corruption() {
    for seed in [3, 5] {
        let faults = Faults { drop_pct: 10, corrupt_pct: 1, seed };
        let report = framed_copy(faults, FrameConfig::mp());
        println!("mp-framed      {}: {report}", label(faults));
    }
}

#[test]
fn bytes_a_finished_machine_did_not_take_stay_for_the_next_one() {
    let faults = Faults { drop_pct: 10, corrupt_pct: 1, seed: 11 };
    let data = test_bytes(100_000, 11);
    let mut sim = Sim::new(faults);
    let (ha, hb) = connect(&mut sim, 4 * 1024);
    let mut tx = TcpPump::new(Source { data: data.clone(), sent: 0 });
    // First a machine that wants exactly 10 bytes (a "handshake"), then one for the rest.
    let mut first = Some(TcpPump::new(Sink::take(10)));
    let mut second = TcpPump::new(Sink::unlimited());
    let (mut head, mut rest) = (Vec::new(), Vec::new());
    let mut closed = false;
    let mut handed_over_with = None;
    sim.run(Limits::default(), |_, a, b| {
        let sa = sock(a, ha);
        let pa = tx.poll(sa, |_, _| {}).map_err(|e| show("sender", e))?;
        if tx.is_flushed(sa) && !closed {
            sa.close();
            closed = true;
        }
        let sb = sock(b, hb);
        if let Some(pump) = first.as_mut() {
            let p = pump
                .poll(sb, |_, e| {
                    if let ByteEvent::Chunk(c) = e {
                        head.extend_from_slice(c)
                    }
                })
                .map_err(|e| show("first", e))?;
            if !pump.is_finished() {
                return Ok(flow_of(!pa.is_idle() || !p.is_idle()));
            }
            handed_over_with = Some(sb.recv_queue());
            first = None;
        }
        let p = second
            .poll(sb, |_, e| {
                if let ByteEvent::Chunk(c) = e {
                    rest.extend_from_slice(c)
                }
            })
            .map_err(|e| show("second", e))?;
        if second.eof_seen() {
            return Ok(Flow::Done);
        }
        Ok(flow_of(!pa.is_idle() || !p.is_idle()))
    })
    .unwrap();
    assert_eq!(head, data[..10]);
    assert!(rest == data[10..], "the second machine must see exactly the bytes after the first");
    println!("handover: {:?} bytes were waiting in the socket", handed_over_with);
}

#[test]
fn an_early_close_is_reported_by_the_machine_not_swallowed() {
    // A frame announces 1000 bytes, the sender closes after 10: the decoder's EOF error
    // must come out of the pump.
    let mut sim = Sim::new(Faults { drop_pct: 10, corrupt_pct: 0, seed: 5 });
    let (ha, hb) = connect(&mut sim, 4 * 1024);
    let mut wire = FrameConfig::seed().encode_prefix(1000).unwrap().as_bytes().to_vec();
    wire.extend_from_slice(&[7; 10]);
    let mut tx = TcpPump::new(Source { data: wire, sent: 0 });
    let mut rx = TcpPump::new(FrameDecoder::new(FrameConfig::seed()));
    let mut closed = false;
    let mut error = None;
    sim.run(Limits::default(), |_, a, b| {
        let sa = sock(a, ha);
        tx.poll(sa, |_, _| {}).map_err(|e| show("sender", e))?;
        if tx.is_flushed(sa) && !closed {
            sa.close();
            closed = true;
        }
        match rx.poll(sock(b, hb), |_, _| {}) {
            Ok(p) => Ok(flow_of(!p.is_idle())),
            Err(e) => {
                error = Some(e);
                Ok(Flow::Done)
            }
        }
    })
    .unwrap();
    assert_eq!(
        error,
        Some(PumpError::Machine(wirekit_core::frame::FrameError::TruncatedPayload {
            len: 1000,
            missing: 990
        }))
    );
}

#[test]
fn a_reset_connection_is_an_error_not_an_idle_pump() {
    let mut sim = Sim::new(Faults::none());
    let (ha, hb) = connect(&mut sim, 4 * 1024);
    let mut tx = TcpPump::new(Source { data: test_bytes(1000, 1), sent: 0 });
    let mut rx = TcpPump::new(Sink::unlimited());
    let mut aborted = false;
    let mut error = None;
    sim.run(Limits::default(), |_, a, b| {
        let sa = sock(a, ha);
        tx.poll(sa, |_, _| {}).map_err(|e| show("sender", e))?;
        let got = rx.machine().taken;
        if got > 0 && !aborted {
            sa.abort(); // sends RST
            aborted = true;
        }
        match rx.poll(sock(b, hb), |_, _| {}) {
            Ok(p) => Ok(flow_of(!p.is_idle() || aborted)),
            Err(e) => {
                error = Some(e);
                Ok(Flow::Done)
            }
        }
    })
    .unwrap();
    assert_eq!(error, Some(PumpError::ConnectionLost { unsent: 0 }));
}

#[test]
fn without_checksums_the_same_faults_corrupt_the_data() {
    // The control experiment: proves the injector really corrupts packets and that the
    // checksums are what keeps the other tests' data intact.
    let faults = Faults { drop_pct: 0, corrupt_pct: 5, seed: 1 };
    let mut off = ChecksumCapabilities::default();
    off.ipv4 = Checksum::None;
    off.tcp = Checksum::None;
    let data = test_bytes(MIB, 1);
    let mut sim = Sim::with_checksums(faults, off);
    let limits = Limits { max_time: smoltcp::time::Duration::from_secs(120), ..Limits::default() };
    match raw_copy(&mut sim, &data, limits, Close::WhenFlushed) {
        Ok((received, _)) => assert!(received != data, "corruption went unnoticed by the test"),
        Err(e) => println!("without checksums the run failed as expected: {e}"),
    }
}

#[test]
fn smoltcp_0_14_loses_a_fin_that_rides_on_retransmitted_data() {
    // Upstream bug, pinned so we notice when a smoltcp upgrade fixes it: with the FIN queued
    // behind unacknowledged data, this seed makes the receiver drop the retransmitted
    // segment carrying the FIN ("not in receive window"), its challenge ACKs trigger a fast
    // retransmit with nothing left to send, the sender's timer goes idle and the FIN is
    // never sent again. `TcpPump::is_flushed` is the workaround the other tests use.
    let faults = Faults { drop_pct: 10, corrupt_pct: 0, seed: 2024 };
    let data = test_bytes(MIB, faults.seed);
    let err = raw_copy(&mut Sim::new(faults), &data, Limits::default(), Close::WhenQueued)
        .map(|(_, report)| report.to_string())
        .expect_err("smoltcp no longer hangs here: drop this test and the is_flushed advice");
    assert!(err.contains("deadlock") && err.contains("FIN-WAIT-1"), "{err}");
    let (received, _) =
        raw_copy(&mut Sim::new(faults), &data, Limits::default(), Close::WhenFlushed).unwrap();
    assert!(received == data);
}

#[test]
fn a_machine_taking_random_parts_sees_every_byte_once_in_order() {
    // Odd socket buffer sizes move the ring buffers' wrap point around.
    for (seed, buf) in [(1u32, 1021usize), (2, 3001), (3, 16 * 1024), (4, 65_535)] {
        let faults = Faults { drop_pct: 10, corrupt_pct: 1, seed };
        let data = test_bytes(256 * 1024, seed);
        let mut sim = Sim::new(faults);
        let (ha, hb) = connect(&mut sim, buf);
        let mut tx = TcpPump::new(Source { data: data.clone(), sent: 0 });
        let mut rx = TcpPump::new(Choppy { rng: seed * 7 + 1, received: Vec::new(), eof: false });
        let mut via_events = Vec::new();
        let mut closed = false;
        let report = sim
            .run(Limits::default(), |_, a, b| {
                let sa = sock(a, ha);
                let pa = tx.poll(sa, |_, _| {}).map_err(|e| show("sender", e))?;
                if tx.is_flushed(sa) && !closed {
                    sa.close();
                    closed = true;
                }
                let pb = rx
                    .poll(sock(b, hb), |_, e| {
                        if let ByteEvent::Chunk(c) = e {
                            via_events.extend_from_slice(c)
                        }
                    })
                    .map_err(|e| show("receiver", e))?;
                if rx.eof_seen() {
                    return Ok(Flow::Done);
                }
                Ok(flow_of(!pa.is_idle() || !pb.is_idle()))
            })
            .unwrap_or_else(|e| panic!("{}: {e}", label(faults)));
        assert!(rx.machine().received == data, "{}: machine's view differs", label(faults));
        assert!(via_events == data, "{}: events' view differs", label(faults));
        println!("choppy 256 KiB, {buf:>5}-byte buffers, {}: {report}", label(faults));
    }
}

#[test]
fn raw_mebibyte_over_a_link_with_latency() {
    // 5 ms each way: the hosts measure a real RTT and the congestion window matters.
    let latency = smoltcp::time::Duration::from_millis(5);
    let mut corrupted_total = 0;
    for faults in matrix().filter(|f| f.seed <= 7) {
        let data = test_bytes(MIB, faults.seed);
        let mut sim = Sim::new(faults).with_latency(latency);
        let (received, report) = raw_copy(&mut sim, &data, Limits::default(), Close::WhenFlushed)
            .unwrap_or_else(|e| panic!("{}: {e}", label(faults)));
        assert!(received == data, "{}: contents differ", label(faults));
        corrupted_total += corrupted(&report);
        println!("raw 1 MiB, 5 ms latency, {}: {report}", label(faults));
    }
    assert!(corrupted_total > 0);
}

#[test]
fn closing_the_socket_under_pending_output_is_reported() {
    let mut sim = Sim::new(Faults::none());
    let (ha, hb) = connect(&mut sim, 4 * 1024);
    let mut tx = TcpPump::new(Source { data: test_bytes(64 * 1024, 3), sent: 0 });
    let mut error = None;
    sim.run(Limits::default(), |_, a, b| {
        let sa = sock(a, ha);
        if sa.state() == tcp::State::Established && sa.send_queue() > 0 {
            sa.close(); // the application's mistake: 60 KiB are still in the machine
        }
        if let Err(e) = tx.poll(sa, |_, _| {}) {
            error = Some(e);
            return Ok(Flow::Done);
        }
        let _ = sock(b, hb).recv(|buf| (buf.len(), ()));
        Ok(Flow::Idle)
    })
    .unwrap();
    match error {
        Some(PumpError::SendClosed { state, unsent }) => {
            assert_eq!(state, tcp::State::FinWait1);
            assert_eq!(unsent, 64 * 1024 - 4 * 1024, "what did not fit the 4 KiB buffer");
        }
        other => panic!("expected SendClosed, got {other:?}"),
    }
}
