//! UDP helpers over the simulated link: the seed's hello/bye, size limits as clear errors,
//! and datagrams through drops and corruption (lost ones stay lost, delivered ones are whole).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod sim;

use sim::{Faults, Flow, Limits, Sim, A_ADDR, B_ADDR};
use smoltcp::iface::SocketHandle;
use smoltcp::phy::Device;
use smoltcp::socket::udp;
use smoltcp::wire::IpEndpoint;
use wirekit_core::datagram::{DatagramTooLarge, IpVersion, MAX_IPV4_PAYLOAD};
use wirekit_smoltcp::{
    recv_datagram, recv_datagram_into, send_datagram, unfragmented_max_payload, UdpError,
};

const SERVER_PORT: u16 = 8096;
const CLIENT_PORT: u16 = 50_000;

fn udp_socket(packets: usize, bytes: usize) -> udp::Socket<'static> {
    let buffer =
        || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; packets], vec![0; bytes]);
    udp::Socket::new(buffer(), buffer())
}

fn bind(sim: &mut Sim, packets: usize, bytes: usize) -> (SocketHandle, SocketHandle) {
    let mut a = udp_socket(packets, bytes);
    a.bind(CLIENT_PORT).unwrap();
    let mut b = udp_socket(packets, bytes);
    b.bind(SERVER_PORT).unwrap();
    (sim.a.sockets.add(a), sim.b.sockets.add(b))
}

fn link_max(sim: &Sim) -> usize {
    unfragmented_max_payload(&sim.a.device.capabilities(), IpVersion::V4)
}

/// Keep the run going until `quiet` rounds in a row moved nothing (UDP has no timers, so
/// the simulated clock has nothing to jump to).
struct Quiet(u32);

impl Quiet {
    fn flow(&mut self, busy: bool, finished_sending: bool) -> Flow {
        self.0 = if busy { 0 } else { self.0 + 1 };
        if finished_sending && self.0 > 3 {
            Flow::Done
        } else {
            Flow::Busy
        }
    }
}

#[test]
fn hello_gets_bye_from_the_server_to_the_senders_address() {
    let mut sim = Sim::new(Faults::none());
    let (ha, hb) = bind(&mut sim, 4, 4096);
    let max = link_max(&sim);
    let server = IpEndpoint::new(B_ADDR.into(), SERVER_PORT);
    let mut sent = false;
    let mut reply = None;
    let mut quiet = Quiet(0);
    sim.run(Limits::default(), |_, a, b| {
        let sa = a.get_mut::<udp::Socket>(ha);
        if !sent {
            send_datagram(sa, server, b"hello", max).unwrap();
            sent = true;
        }
        let sb = b.get_mut::<udp::Socket>(hb);
        let got = recv_datagram(sb, |msg, from| (msg.to_vec(), from));
        if let Some((msg, from)) = &got {
            assert_eq!(msg, b"hello");
            assert_eq!(*from, IpEndpoint::new(A_ADDR.into(), CLIENT_PORT));
            send_datagram(sb, *from, b"bye", max).unwrap();
        }
        let mut buf = [0u8; 16];
        if let Some((n, from)) = recv_datagram_into(a.get_mut::<udp::Socket>(ha), &mut buf).unwrap()
        {
            assert_eq!(from, server);
            reply = Some(buf[..n].to_vec());
        }
        Ok(quiet.flow(got.is_some(), reply.is_some()))
    })
    .unwrap();
    assert_eq!(reply.as_deref(), Some(&b"bye"[..]));
}

#[test]
fn sizes_beyond_each_limit_are_errors_before_anything_is_queued() {
    let mut sim = Sim::new(Faults::none());
    let (ha, _) = bind(&mut sim, 4, 2048);
    let max = link_max(&sim);
    assert_eq!(max, 1500 - 20 - 8);
    let to = IpEndpoint::new(B_ADDR.into(), SERVER_PORT);
    let socket = sim.a.sockets.get_mut::<udp::Socket>(ha);
    let huge = vec![0u8; MAX_IPV4_PAYLOAD + 1];
    assert_eq!(
        send_datagram(socket, to, &huge, usize::MAX),
        Err(UdpError::TooLarge(DatagramTooLarge { len: 65_508, max: 65_507 }))
    );
    assert_eq!(
        send_datagram(socket, to, &huge[..max + 1], max),
        Err(UdpError::ExceedsLink { len: 1473, max: 1472 })
    );
    assert_eq!(
        send_datagram(socket, to, &huge[..2049], usize::MAX),
        Err(UdpError::ExceedsSocketBuffer { len: 2049, capacity: 2048 })
    );
    assert!(!socket.can_recv() && socket.can_send(), "nothing was queued");
    assert_eq!(send_datagram(socket, to, &huge[..max], max), Ok(()));
}

#[test]
fn a_datagram_longer_than_the_buffer_is_reported_with_its_length() {
    let mut sim = Sim::new(Faults::none());
    let (ha, hb) = bind(&mut sim, 4, 4096);
    let max = link_max(&sim);
    let to = IpEndpoint::new(B_ADDR.into(), SERVER_PORT);
    let mut results = Vec::new();
    let mut sent = false;
    let mut quiet = Quiet(0);
    sim.run(Limits::default(), |_, a, b| {
        if !sent {
            let sa = a.get_mut::<udp::Socket>(ha);
            send_datagram(sa, to, &[1; 1000], max).unwrap();
            send_datagram(sa, to, &[2; 10], max).unwrap();
            sent = true;
        }
        let mut buf = [0u8; 100];
        let got = recv_datagram_into(b.get_mut::<udp::Socket>(hb), &mut buf);
        let busy = !matches!(got, Ok(None));
        if busy {
            results.push(got.map(|r| r.map(|(n, _)| buf[..n].to_vec())));
        }
        Ok(quiet.flow(busy, results.len() == 2))
    })
    .unwrap();
    assert_eq!(results[0], Err(UdpError::Truncated { len: 1000, capacity: 100 }));
    assert_eq!(results[1], Ok(Some(vec![2; 10])), "the next datagram is unaffected");
}

/// Datagram `seq`: its number, then bytes derived from it; 6..=1472 bytes.
fn datagram(seq: u32, max: usize) -> Vec<u8> {
    let len = 6 + (seq as usize * 7919) % (max - 5);
    let mut d = seq.to_be_bytes().to_vec();
    let mut x = seq.wrapping_mul(2_654_435_761) | 1;
    d.extend((4..len).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    d
}

#[test]
fn datagrams_through_drops_and_corruption_arrive_whole_or_not_at_all() {
    const COUNT: u32 = 400;
    let mut corrupted_total = 0;
    for seed in [1, 7, 42, 2024] {
        let faults = Faults { drop_pct: 10, corrupt_pct: 1, seed };
        let mut sim = Sim::new(faults);
        let (ha, hb) = bind(&mut sim, 16, 16 * 1024);
        let max = link_max(&sim);
        let to = IpEndpoint::new(B_ADDR.into(), SERVER_PORT);
        let mut next = 0;
        let mut received = vec![false; COUNT as usize];
        let mut quiet = Quiet(0);
        let report = sim
            .run(Limits::default(), |_, a, b| {
                let sa = a.get_mut::<udp::Socket>(ha);
                let mut busy = false;
                while next < COUNT {
                    match send_datagram(sa, to, &datagram(next, max), max) {
                        Ok(()) => next += 1,
                        Err(UdpError::Send(udp::SendError::BufferFull)) => break,
                        Err(e) => return Err(format!("send {next}: {e}")),
                    }
                    busy = true;
                }
                let sb = b.get_mut::<udp::Socket>(hb);
                while let Some(msg) = recv_datagram(sb, |msg, _| msg.to_vec()) {
                    let seq = u32::from_be_bytes(msg[..4].try_into().unwrap());
                    assert!(msg == datagram(seq, max), "seed {seed}: datagram {seq} damaged");
                    assert!(!received[seq as usize], "seed {seed}: datagram {seq} twice");
                    received[seq as usize] = true;
                    busy = true;
                }
                Ok(quiet.flow(busy, next == COUNT))
            })
            .unwrap();
        let got = received.iter().filter(|r| **r).count() as u64;
        // Exactly the packets that crossed the wire unharmed reach the application: the
        // corrupted ones were delivered to B's stack and rejected by the checksums.
        let wire = report.a_to_b;
        assert_eq!(got, wire.delivered - wire.corrupted, "seed {seed}: {report}");
        assert!(got < u64::from(COUNT) && got > u64::from(COUNT) * 8 / 10, "seed {seed}: {got}");
        corrupted_total += wire.corrupted;
        println!("udp seed {seed:>4}: {got}/{COUNT} datagrams intact; {report}");
    }
    assert!(corrupted_total > 0, "the injector corrupted nothing: the test proves nothing");
}
