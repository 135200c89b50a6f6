//! The device connection lifecycle ([`Slot`]) over the simulated link: an idle connection is
//! reset at its idle deadline and the socket is free for the next peer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod sim;

use core::time::Duration;

use sim::{connect_tcp, Faults, Flow, Limits, Sim, B_ADDR};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use wirekit_core::auth::{Outcome, SeedProver, SeedVerifier};
use wirekit_core::drive::Expired;
use wirekit_smoltcp::{Authenticate, Exchange, Slot, SlotConfig, SlotNote};

const KEY: &[u8] = b"egg";
const PORT: u16 = 8066;
const IDLE: Duration = Duration::from_secs(5);

fn since_boot(now: Instant) -> Duration {
    Duration::from_micros(now.total_micros().unsigned_abs())
}

type Auth = Authenticate<SeedVerifier<'static>>;

#[test]
fn an_idle_connection_is_reset_at_its_deadline_and_the_slot_serves_the_next_peer() {
    let mut sim = Sim::new(Faults::none());
    // A connects and then says nothing: the device's challenge goes unanswered.
    let (idle_client, server) = connect_tcp(&mut sim, PORT, 4096);
    let config = SlotConfig { idle: Some(IDLE), keep_alive: Some(Duration::from_secs(1)) };
    let mut slot: Slot<Auth> = Slot::new(server, PORT, config);
    let mut started_at = None;
    let mut outcomes = Vec::new();
    let serve =
        |slot: &mut Slot<Auth>, now, socket: &mut tcp::Socket<'_>, outcomes: &mut Vec<Outcome>| {
            slot.serve(
                socket,
                since_boot(now),
                outcomes,
                |_, _| Some(Authenticate::new(SeedVerifier::new(KEY, [7; 32]))),
                |_, _| {},
                |outcomes, _, _, outcome| outcomes.push(outcome),
            )
        };
    let mut timed_out_at = None;
    sim.run(
        Limits { max_time: Duration::from_secs(60).into(), ..Limits::default() },
        |now, _, b| {
            let socket = b.get_mut::<tcp::Socket>(server);
            if started_at.is_none() && socket.state() == tcp::State::Established {
                started_at = Some(now);
            }
            let served = serve(&mut slot, now, socket, &mut outcomes);
            if let Some(note) = served.note {
                assert_eq!(note, SlotNote::TimedOut(Expired::Idle { after: IDLE }));
                timed_out_at = Some(now);
                return Ok(Flow::Done);
            }
            Ok(if served.busy { Flow::Busy } else { Flow::Idle })
        },
    )
    .unwrap();
    let idle_for = timed_out_at.unwrap() - started_at.unwrap();
    assert!(idle_for >= IDLE.into(), "reset after {idle_for}, before the deadline");
    assert!(idle_for < (IDLE * 2).into(), "reset after {idle_for}: far past the deadline");
    assert!(outcomes.is_empty(), "the idle peer never answered");

    // The slot listens again and the next peer gets through.
    let client = {
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 4096]),
            tcp::SocketBuffer::new(vec![0; 4096]),
        );
        socket.connect(sim.a.iface.context(), (B_ADDR, PORT), 49_153).unwrap();
        sim.a.sockets.add(socket)
    };
    let mut prover = Authenticate::new(SeedProver::new(KEY));
    sim.run(
        Limits { max_time: Duration::from_secs(60).into(), ..Limits::default() },
        |now, a, b| {
            let busy_a = prover.poll(a.get_mut::<tcp::Socket>(client)).unwrap().is_some();
            let served = serve(&mut slot, now, b.get_mut::<tcp::Socket>(server), &mut outcomes);
            assert_eq!(served.note, None);
            if !outcomes.is_empty() {
                return Ok(Flow::Done);
            }
            Ok(if busy_a || served.busy || !prover.progress().is_idle() {
                Flow::Busy
            } else {
                Flow::Idle
            })
        },
    )
    .unwrap();
    assert_eq!(outcomes, [Outcome::Authenticated]);
    // The first client's socket was reset by the device.
    assert_eq!(sim.a.sockets.get::<tcp::Socket>(idle_client).state(), tcp::State::Closed);
}
