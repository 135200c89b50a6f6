//! The sessions (handshakes, file transfer, commands) over the simulated lossy link: at 0 %,
//! 10 % drop and 10 % drop + 1 % corruption, several seeds. Every byte must arrive intact
//! and every verdict must be the right one. `--nocapture` prints the simulated time of each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod machines;
mod sim;

use std::fmt::Debug;

use machines::{md5_of, test_bytes, DigestSink, MIB};
use sim::{connect_tcp, Faults, Flow, Limits, Peer, Report, Sim};
use smoltcp::socket::tcp;
use wirekit_core::auth::{
    ChallengeMode, MpHandshake, MpPolicy, Order, Outcome, RejectReason, SeedProver, SeedVerifier,
};
use wirekit_core::command::{Agent, Controller, Mode};
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::FileHeader;
use wirekit_core::transfer::{FileReceiver, FileSender};
use wirekit_core::Machine;
use wirekit_smoltcp::{
    AgentEvent, Authenticate, CommandAgent, CommandController, CommandOutput, ControllerEvent,
    Exchange, FileEvent, FileReceive, FileSend, OutputFull, Session, SessionEvent, SliceOutput,
    SliceSink, SliceSource,
};

const SEEDS: [u32; 3] = [1, 42, 2024];
const FAULT_LEVELS: [(u8, u8); 3] = [(0, 0), (10, 0), (10, 1)];
const KEY: &[u8] = b"a 32-byte key, shared by both!!!";
const WRONG_KEY: &[u8] = b"a 32-byte key, but not the same!";

fn matrix() -> impl Iterator<Item = Faults> {
    FAULT_LEVELS.into_iter().flat_map(|(drop_pct, corrupt_pct)| {
        SEEDS.into_iter().map(move |seed| Faults { drop_pct, corrupt_pct, seed })
    })
}

fn label(faults: Faults) -> String {
    format!(
        "drop {:>2} % corrupt {} % seed {:>4}",
        faults.drop_pct, faults.corrupt_pct, faults.seed
    )
}

fn random<const N: usize>(seed: u32) -> [u8; N] {
    test_bytes(N, seed).try_into().unwrap()
}

// ---------------------------------------------------------------------------------------
// A generic two-sided run ([`sim::Peer`] each side).

/// Run both sides until each has closed its socket or failed.
fn run<A: Exchange, B: Exchange>(
    sim: &mut Sim,
    a: &mut Peer<A>,
    b: &mut Peer<B>,
    mut between: impl FnMut(&mut Peer<A>, &mut Peer<B>) -> bool,
) -> Report
where
    A::Error: Debug,
    B::Error: Debug,
{
    sim.run(Limits::default(), |_, sa, sb| {
        let busy_a = a.step(sa);
        let busy_b = b.step(sb);
        let busy_app = between(a, b);
        if a.finished() && b.finished() {
            return Ok(Flow::Done);
        }
        Ok(if busy_a || busy_b || busy_app { Flow::Busy } else { Flow::Idle })
    })
    .unwrap_or_else(|e| panic!("run failed: {e}"))
}

// ---------------------------------------------------------------------------------------
// Handshakes.

/// Run handshake `ha` on A (the TCP client) and `hb` on B (the TCP server); return both
/// outcomes.
fn handshake<HA, HB>(faults: Faults, ha: HA, hb: HB) -> (Outcome, Outcome, Report)
where
    HA: wirekit_core::auth::Handshake,
    HB: wirekit_core::auth::Handshake,
{
    let mut sim = Sim::new(faults);
    let (sa, sb) = connect_tcp(&mut sim, 8066, 4096);
    let mut a = Peer::new(Authenticate::new(ha), sa);
    let mut b = Peer::new(Authenticate::new(hb), sb);
    let report = run(&mut sim, &mut a, &mut b, |_, _| false);
    let only = |events: &[Outcome], err: &Option<String>, who: &str| {
        assert!(err.is_none(), "{} {who}: {err:?}", label(faults));
        assert_eq!(events.len(), 1, "{} {who}: one verdict", label(faults));
        events[0]
    };
    let (a_err, b_err) = (a.error.map(|e| format!("{e:?}")), b.error.map(|e| format!("{e:?}")));
    (only(&a.events, &a_err, "A"), only(&b.events, &b_err, "B"), report)
}

#[test]
fn seed_handshake_right_and_wrong_key_at_every_fault_level() {
    for faults in matrix() {
        let challenge = random(faults.seed);
        let (a, b, report) =
            handshake(faults, SeedProver::new(KEY), SeedVerifier::new(KEY, challenge));
        assert_eq!((a, b), (Outcome::Answered, Outcome::Authenticated), "{}", label(faults));
        println!("seed auth right key  {}: {report}", label(faults));

        let (a, b, report) =
            handshake(faults, SeedProver::new(WRONG_KEY), SeedVerifier::new(KEY, challenge));
        assert_eq!(a, Outcome::Answered, "{}: the seed prover never hears", label(faults));
        assert_eq!(b, Outcome::PeerRejected(RejectReason::WrongMac), "{}", label(faults));
        println!("seed auth wrong key  {}: {report}", label(faults));
    }
}

fn mp(key: &[u8], order: Order, mode: ChallengeMode, seed: u32) -> MpHandshake<'_> {
    MpHandshake::new(key, order, mode, MpPolicy::COMPATIBLE, random(seed))
}

#[test]
fn mp_handshake_both_orders_both_modes_right_and_wrong_key_at_every_fault_level() {
    let modes = [("legacy", ChallengeMode::Legacy), ("sha256", ChallengeMode::SHA256)];
    // Which TCP side accepts in multiprocessing's sense: the TCP server (as in CPython) or
    // the TCP client.
    let orders =
        [(Order::ClientSide, Order::ListenerSide), (Order::ListenerSide, Order::ClientSide)];
    for faults in matrix() {
        for (name, mode) in modes {
            for (order_a, order_b) in orders {
                let what = format!("{} {name} A={order_a:?}", label(faults));
                let (a, b, report) = handshake(
                    faults,
                    mp(KEY, order_a, mode, faults.seed),
                    mp(KEY, order_b, mode, faults.seed + 1),
                );
                assert_eq!((a, b), (Outcome::Authenticated, Outcome::Authenticated), "{what}");
                println!("mp {name:<6} right key {what}: {report}");

                // The listener side checks first, rejects, and the client hears #FAILURE#.
                let (a, b, _) = handshake(
                    faults,
                    mp(WRONG_KEY, order_a, mode, faults.seed),
                    mp(KEY, order_b, mode, faults.seed + 1),
                );
                let rejected = Outcome::PeerRejected(RejectReason::WrongMac);
                let (listener, client) =
                    if order_a == Order::ListenerSide { (a, b) } else { (b, a) };
                assert_eq!((listener, client), (rejected, Outcome::Refused), "{what} wrong key");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// File transfer.

fn receiver() -> FileReceiver {
    FileReceiver::new(FrameConfig::seed())
}

fn file_sender(data: &[u8]) -> FileSender {
    let header =
        FileHeader { filename: "image.bin", filepath: "/flash", filesize: data.len() as u64 };
    FileSender::new(FrameConfig::seed(), &header).unwrap()
}

fn check_received(faults: Faults, data: &[u8], sink: &DigestSink, events: &[FileEvent]) {
    let len = data.len() as u64;
    assert_eq!(
        events,
        [FileEvent::Header { filesize: len }, FileEvent::Done { len }],
        "{}",
        label(faults)
    );
    assert_eq!(sink.name, "image.bin");
    assert_eq!(sink.len, len, "{}", label(faults));
    assert_eq!(sink.digest, Some(md5_of(data)), "{}: digest differs", label(faults));
    assert!(!sink.aborted);
}

#[test]
fn mebibyte_file_arrives_intact_at_every_fault_level() {
    let mut corrupted = 0;
    for faults in matrix() {
        let data = test_bytes(MIB, faults.seed ^ 0x5a5a);
        let mut sim = Sim::new(faults);
        let (sa, sb) = connect_tcp(&mut sim, 8080, 16 * 1024);
        let mut a = Peer::new(FileSend::new(file_sender(&data), SliceSource::new(&data)), sa);
        let mut b = Peer::new(FileReceive::new(receiver(), DigestSink::default()), sb);
        let report = run(&mut sim, &mut a, &mut b, |_, _| false);
        assert!(
            a.error.is_none() && b.error.is_none(),
            "{}: {:?} {:?}",
            label(faults),
            a.error,
            b.error
        );
        assert_eq!(a.events, [FileEvent::Done { len: MIB as u64 }], "{}", label(faults));
        check_received(faults, &data, b.x.sink(), &b.events);
        println!("file 1 MiB  {}: {report}", label(faults));
        corrupted += report.a_to_b.corrupted + report.b_to_a.corrupted;
    }
    assert!(corrupted > 0, "nothing was corrupted: the 1 % runs prove nothing");
}

#[test]
fn mp_handshake_then_file_on_one_socket_keeps_the_bytes_behind_the_handshake() {
    for seed in [3, 5] {
        let faults = Faults { drop_pct: 10, corrupt_pct: 1, seed };
        let data = test_bytes(256 * 1024, seed);
        let mut sim = Sim::new(faults);
        let (sa, sb) = connect_tcp(&mut sim, 8080, 8 * 1024);
        // The sender is the mp client: it starts sending the file right after its last
        // handshake frame, so file bytes arrive together with (or before the receiver
        // finished) the handshake.
        let send = FileSend::new(file_sender(&data), SliceSource::new(&data));
        let receive = FileReceive::new(receiver(), DigestSink::default());
        let mut a =
            Peer::new(Session::new(mp(KEY, Order::ClientSide, ChallengeMode::SHA256, 9), send), sa);
        let mut b = Peer::new(
            Session::new(mp(KEY, Order::ListenerSide, ChallengeMode::SHA256, 10), receive),
            sb,
        );
        let report = run(&mut sim, &mut a, &mut b, |_, _| false);
        assert!(a.error.is_none() && b.error.is_none(), "{:?} {:?}", a.error, b.error);
        assert_eq!(a.events[0], SessionEvent::Verdict(Outcome::Authenticated));
        assert_eq!(b.events[0], SessionEvent::Verdict(Outcome::Authenticated));
        let file_events: Vec<FileEvent> = b.events[1..]
            .iter()
            .map(|e| match e {
                SessionEvent::Exchange(e) => *e,
                SessionEvent::Verdict(v) => panic!("second verdict {v:?}"),
            })
            .collect();
        check_received(faults, &data, b.x.exchange().sink(), &file_events);
        println!("mp + file 256 KiB {}: {report}", label(faults));
    }
}

#[test]
fn a_rejected_peer_gets_no_file_session() {
    let faults = Faults { drop_pct: 10, corrupt_pct: 1, seed: 8 };
    let data = test_bytes(10_000, 8);
    let mut sim = Sim::new(faults);
    let (sa, sb) = connect_tcp(&mut sim, 8080, 4096);
    let send = FileSend::new(file_sender(&data), SliceSource::new(&data));
    let receive = FileReceive::new(receiver(), DigestSink::default());
    let mut a = Peer::new(Session::new(SeedProver::new(WRONG_KEY), send), sa);
    let mut b = Peer::new(Session::new(SeedVerifier::new(KEY, random(8)), receive), sb);
    // B closes after rejecting; A (which never hears a verdict) starts sending and sees the
    // connection end under it.
    run(&mut sim, &mut a, &mut b, |_, _| false);
    assert_eq!(b.events, [SessionEvent::Verdict(Outcome::PeerRejected(RejectReason::WrongMac))]);
    assert!(b.error.is_none());
    assert_eq!(b.x.exchange().sink().len, 0, "no byte reached the sink");
    assert_eq!(a.events[0], SessionEvent::Verdict(Outcome::Answered));
    assert!(a.error.is_some(), "the sender must notice the receiver left: {:?}", a.events);
}

#[test]
fn a_sink_error_aborts_the_transfer() {
    let data = test_bytes(50_000, 2);
    let mut sim = Sim::new(Faults::none());
    let (sa, sb) = connect_tcp(&mut sim, 8080, 4096);
    let mut a = Peer::new(FileSend::new(file_sender(&data), SliceSource::new(&data)), sa);
    let mut room = vec![0u8; 20_000];
    let mut b = Peer::new(FileReceive::new(receiver(), SliceSink::new(&mut room)), sb);
    let _ = sim.run(Limits::default(), |_, s_a, s_b| {
        a.step(s_a);
        b.step(s_b);
        Ok(if b.error.is_some() { Flow::Done } else { Flow::Busy })
    });
    let err = format!("{:?}", b.error.unwrap());
    assert!(err.contains("Sink(SinkFull"), "{err}");
    assert_eq!(b.x.sink().bytes(), b"", "abort cleared the sink");
}

// ---------------------------------------------------------------------------------------
// Commands.

/// stdout: the command reversed (3000 times for `big`, a reply larger than the socket
/// buffers); stderr: its length.
fn reply_for(command: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let reps = if command == b"big" { 3000 } else { 1 };
    let reversed: Vec<u8> = command.iter().rev().copied().collect();
    (reversed.repeat(reps), format!("[{}]", command.len()).into_bytes())
}

fn handler(command: &[u8], out: &mut dyn CommandOutput) -> Result<(), OutputFull> {
    let (stdout, stderr) = reply_for(command);
    out.stdout(&stdout)?;
    out.stderr(&stderr)
}

fn expected_reply(command: &[u8]) -> Vec<u8> {
    let (mut reply, stderr) = reply_for(command);
    reply.extend_from_slice(&stderr);
    reply
}

/// Commands are never framed, so each must travel in one segment (the agent takes one
/// receive as one command, like the seed's `recv(1024)`): all are short.
fn commands() -> Vec<Vec<u8>> {
    vec![b"dir".to_vec(), "吃了吗?".as_bytes().to_vec(), b"big".to_vec(), b"ver".to_vec()]
}

fn command_round_trip(faults: Faults, mode: Mode) -> Report {
    let cmds = commands();
    let mut sim = Sim::new(faults);
    let (sa, sb) = connect_tcp(&mut sim, 8090, 4096);
    let (mut o, mut e, mut replies) = (vec![0u8; 16 * 1024], vec![0u8; 64], vec![0u8; 64 * 1024]);
    let agent: Agent = Agent::new(mode);
    let controller: Controller = Controller::new(mode);
    let mut b = Peer::new(CommandAgent::new(agent, handler, SliceOutput::new(&mut o, &mut e)), sb);
    let mut a = Peer::new(CommandController::new(controller, SliceSink::new(&mut replies)), sa);
    let mut next = 0;
    let mut expected = Vec::new();
    let report = run(&mut sim, &mut a, &mut b, |a, _| {
        // Next command once the previous reply is whole (raw: all its bytes are there).
        let got = a.x.sink().bytes().len();
        let controller = a.x.controller();
        if a.closed
            || a.error.is_some()
            || next > cmds.len()
            || got < expected.len()
            || controller.is_awaiting_reply()
            || !controller.output_buf().is_empty()
        {
            return false;
        }
        match cmds.get(next) {
            Some(cmd) => {
                a.x.send_command(cmd).unwrap();
                expected.extend(expected_reply(cmd));
            }
            None => a.x.send_command(b"q").unwrap(),
        }
        next += 1;
        true
    });
    assert!(
        a.error.is_none() && b.error.is_none(),
        "{}: {:?} {:?}",
        label(faults),
        a.error,
        b.error
    );
    assert!(a.x.sink().bytes() == expected, "{}: replies differ", label(faults));
    let ran: Vec<(usize, usize)> = b
        .events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Ran { command_len, reply_len, overflow: None } => {
                Some((*command_len, *reply_len))
            }
            AgentEvent::Ran { overflow: Some(o), .. } => panic!("overflow {o:?}"),
            _ => None,
        })
        .collect();
    let want: Vec<_> = cmds.iter().map(|c| (c.len(), expected_reply(c).len())).collect();
    assert_eq!(ran, want, "{}", label(faults));
    assert_eq!(b.events.last(), Some(&AgentEvent::Quit), "{}", label(faults));
    if matches!(mode, Mode::Framed(_)) {
        let ends: Vec<_> =
            a.events.iter().filter(|e| matches!(e, ControllerEvent::ReplyEnd { .. })).collect();
        assert_eq!(ends.len(), cmds.len(), "{}", label(faults));
    }
    report
}

#[test]
fn framed_and_raw_commands_round_trip_at_every_fault_level() {
    for faults in matrix() {
        let report = command_round_trip(faults, Mode::seed_framed());
        println!("command framed {}: {report}", label(faults));
        let report = command_round_trip(faults, Mode::Raw);
        println!("command raw    {}: {report}", label(faults));
    }
}

#[test]
fn the_receiver_completes_without_waiting_for_the_senders_close() {
    // The sender never closes: `Done` must come from the last body byte, not from a FIN
    // (the pump offers the machine empty input after each event).
    let data = test_bytes(30_000, 4);
    let mut sim = Sim::new(Faults { drop_pct: 10, corrupt_pct: 1, seed: 4 });
    let (sa, sb) = connect_tcp(&mut sim, 8080, 4096);
    let mut send = FileSend::new(file_sender(&data), SliceSource::new(&data));
    let mut receive = FileReceive::new(receiver(), DigestSink::default());
    let mut events = Vec::new();
    sim.run(Limits::default(), |_, s_a, s_b| {
        let a = s_a.get_mut::<tcp::Socket>(sa);
        send.poll(a).unwrap();
        let b = s_b.get_mut::<tcp::Socket>(sb);
        while let Some(event) = receive.poll(b).unwrap() {
            events.push(event);
        }
        assert!(!b.state().to_string().contains("CLOSE-WAIT"), "the sender closed");
        if matches!(events.last(), Some(FileEvent::Done { .. })) {
            return Ok(Flow::Done);
        }
        let busy = !send.progress().is_idle() || !receive.progress().is_idle();
        Ok(if busy { Flow::Busy } else { Flow::Idle })
    })
    .unwrap();
    check_received(Faults::none(), &data, receive.sink(), &events);
}

/// A flash image that is shorter than the header says.
struct ShortSource(usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ReadError;
impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flash read error")
    }
}
impl std::error::Error for ReadError {}

impl wirekit_smoltcp::BodySource for ShortSource {
    type Error = ReadError;
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        if self.0 == usize::MAX {
            return Err(ReadError);
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(0xa5);
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn a_short_or_failing_source_is_an_error_not_a_short_file() {
    for (source, want) in [
        (ShortSource(10_000), "SourceShort { sent: 10000, expected: 20000 }"),
        (ShortSource(usize::MAX), "Source(ReadError)"),
    ] {
        let data = vec![0xa5; 20_000];
        let mut sim = Sim::new(Faults::none());
        let (sa, sb) = connect_tcp(&mut sim, 8080, 4096);
        let mut a = Peer::new(FileSend::new(file_sender(&data), source), sa);
        let mut b = Peer::new(FileReceive::new(receiver(), DigestSink::default()), sb);
        let _ = sim.run(Limits::default(), |_, s_a, s_b| {
            let busy = a.step(s_a) | b.step(s_b);
            if a.error.is_some() {
                return Ok(Flow::Done);
            }
            Ok(if busy { Flow::Busy } else { Flow::Idle })
        });
        let err = format!("{:?}", a.error.unwrap());
        assert!(err.contains(want), "{err}");
        assert!(b.x.sink().digest.is_none(), "the receiver must not complete");
    }
}

#[test]
fn an_overflowing_command_reply_is_cut_and_reported() {
    let mut sim = Sim::new(Faults::none());
    let (sa, sb) = connect_tcp(&mut sim, 8090, 4096);
    let (mut o, mut e, mut replies) = (vec![0u8; 8], vec![0u8; 8], vec![0u8; 64]);
    let agent: Agent = Agent::new(Mode::seed_framed());
    let controller: Controller = Controller::new(Mode::seed_framed());
    let mut b = Peer::new(CommandAgent::new(agent, handler, SliceOutput::new(&mut o, &mut e)), sb);
    let mut a = Peer::new(CommandController::new(controller, SliceSink::new(&mut replies)), sa);
    // Too long a reply, then one that fits on the same connection, then quit.
    let mut script = [&b"0123456789"[..], b"ab", b"q"].into_iter();
    run(&mut sim, &mut a, &mut b, |a, _| {
        let controller = a.x.controller();
        if controller.is_awaiting_reply() || !controller.output_buf().is_empty() || a.closed {
            return false;
        }
        script.next().is_some_and(|command| a.x.send_command(command).is_ok())
    });
    assert!(a.error.is_none() && b.error.is_none(), "{:?} {:?}", a.error, b.error);
    // A write that does not fit is refused whole (the handler's `?` then skips stderr): the
    // first reply is what was written before it, here nothing, and the event says why.
    assert_eq!(
        a.events[..2],
        [ControllerEvent::ReplyEnd { len: 0 }, ControllerEvent::ReplyEnd { len: 5 }]
    );
    assert_eq!(a.x.sink().bytes(), b"ba[2]");
    let AgentEvent::Ran { reply_len: 0, overflow: Some(overflow), .. } = b.events[0] else {
        panic!("{:?}", b.events);
    };
    assert_eq!(b.events[1], AgentEvent::Ran { command_len: 2, reply_len: 5, overflow: None });
    assert_eq!(b.events[2], AgentEvent::Quit);
    assert_eq!(
        overflow,
        OutputFull { stream: wirekit_smoltcp::Stream::Stdout, needed: 10, capacity: 8 }
    );
}

/// The hostile-path soak (issue 6, part 3): 100 transfers of 1 MiB at 10 % drop + 1 %
/// corruption, checksums on, each a different seed; every one byte-identical (MD5 compared).
/// Prints the simulated time they took in total and the worst one.
#[test]
fn a_hundred_mebibyte_transfers_through_drop_and_corruption_all_arrive_intact() {
    let mut total_ms = 0u64;
    let mut worst = (0u64, 0);
    let mut corrupted = 0;
    for seed in 1000..1100u32 {
        let faults = Faults { drop_pct: 10, corrupt_pct: 1, seed };
        let data = test_bytes(MIB, seed);
        let mut sim = Sim::new(faults);
        let (sa, sb) = connect_tcp(&mut sim, 8080, 16 * 1024);
        let mut a = Peer::new(FileSend::new(file_sender(&data), SliceSource::new(&data)), sa);
        let mut b = Peer::new(FileReceive::new(receiver(), DigestSink::default()), sb);
        let report = run(&mut sim, &mut a, &mut b, |_, _| false);
        assert!(a.error.is_none() && b.error.is_none(), "seed {seed}: {:?} {:?}", a.error, b.error);
        check_received(faults, &data, b.x.sink(), &b.events);
        let took = report.sim_time.total_millis();
        total_ms += took;
        if took > worst.0 {
            worst = (took, seed);
        }
        corrupted += report.a_to_b.corrupted + report.b_to_a.corrupted;
    }
    println!(
        "100 x 1 MiB at 10 % drop + 1 % corruption: all intact; simulated {:.1} s in total, \
         worst {:.1} s (seed {}), {corrupted} corrupted packets rejected by checksums",
        total_ms as f64 / 1000.0,
        worst.0 as f64 / 1000.0,
        worst.1
    );
    assert!(corrupted > 0, "nothing was corrupted: the soak proves nothing");
}
