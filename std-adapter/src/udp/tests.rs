#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;

#[test]
fn round_trip_and_once() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        serve(&socket, "bye", true, false, ReplyRate::DEFAULT).unwrap().unwrap()
    });
    let replies = run_client(&addr, &["hello".to_string()], Duration::from_secs(5), false).unwrap();
    assert_eq!(replies, ["bye"]);
    assert_eq!(server.join().unwrap().text, "hello");
}

#[test]
fn largest_datagram_goes_through_whole() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        serve(&socket, "bye", true, false, ReplyRate::DEFAULT).unwrap().unwrap()
    });
    let big = "x".repeat(65_507);
    assert_eq!(run_client(&addr, &[big], Duration::from_secs(5), false).unwrap(), ["bye"]);
    assert_eq!(server.join().unwrap().text.len(), 65_507);
}

#[test]
fn oversize_message_is_refused_before_sending() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    let err = run_client(&addr, &["x".repeat(65_508)], Duration::from_secs(1), false).unwrap_err();
    assert!(matches!(err, Error::Datagram(_)), "{err}");
    assert_eq!(err.exit(), crate::exit::Exit::Refused);
    socket.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 16];
    assert!(socket.recv_from(&mut buf).is_err(), "nothing was sent");
}

#[test]
fn no_server_is_a_clear_error() {
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = run_client(
        &format!("127.0.0.1:{port}"),
        &["hello".to_string()],
        Duration::from_secs(1),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Connect { .. } | Error::Timeout { .. }), "{err}");
}

/// h300: a datagram whose source is the server's own address (as a spoofer sends it) gets no
/// reply; the seed's server answered itself forever (227,890 datagrams in 2 s).
#[test]
fn a_datagram_from_our_own_address_is_not_answered() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = socket.local_addr().unwrap();
    socket.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    socket.send_to(b"hello", local).unwrap();
    let mut guard = ReplyGuard::new(local, b"bye", ReplyRate::DEFAULT);
    let mut buf = vec![0u8; RECV_BUF];
    let served = serve_one(&socket, &mut guard, "bye", &mut buf, false).unwrap();
    assert_eq!(served, Served::Dropped(local, Verdict::FromOurselves));
    // Nothing was sent to ourselves: the next receive times out.
    assert!(socket.recv_from(&mut buf).is_err(), "the server answered itself");
}

/// Runs the server loop on `socket` for a bounded number of receives (each waiting at most
/// 100 ms) and counts the datagrams it answered.
fn answered_within(socket: &UdpSocket, reply: &'static str, rate: ReplyRate) -> usize {
    socket.set_read_timeout(Some(std::time::Duration::from_millis(100))).unwrap();
    let mut guard = ReplyGuard::new(socket.local_addr().unwrap(), reply.as_bytes(), rate);
    let mut buf = vec![0u8; RECV_BUF];
    let mut answered = 0;
    for _ in 0..20_000 {
        match serve_one(socket, &mut guard, reply, &mut buf, false) {
            Ok(Served::Answered(_)) => answered += 1,
            Ok(Served::Dropped(..)) => {}
            Err(_) => break, // quiet for 100 ms: the loop is over
        }
    }
    answered
}

/// h300: two servers aimed at each other by one spoofed datagram stop instead of looping:
/// with different replies the rate limit ends it after the burst, with the same reply the
/// second server drops the first answer.
#[test]
fn two_servers_aimed_at_each_other_stop() {
    for (reply_a, reply_b, most) in [("bye", "ok", 2 * 10 + 2), ("bye", "bye", 1)] {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        // The spoofed start: a datagram to A whose source is B.
        b.try_clone().unwrap().send_to(b"hello", a.local_addr().unwrap()).unwrap();
        let rate = ReplyRate { per_second: 1, burst: 10 };
        let server_b = std::thread::spawn(move || answered_within(&b, reply_b, rate));
        let from_a = answered_within(&a, reply_a, rate);
        let from_b = server_b.join().unwrap();
        assert!(from_a + from_b <= most, "{reply_a}/{reply_b}: {from_a} + {from_b} replies");
        assert!(from_a >= 1, "A answered the first datagram");
    }
}

#[test]
fn the_rate_limit_refills_with_time_and_reports_each_episode_once() {
    let local: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let peer: SocketAddr = "127.0.0.2:5000".parse().unwrap();
    let mut guard = ReplyGuard::new(local, b"bye", ReplyRate { per_second: 2, burst: 2 });
    let t0 = Instant::now();
    assert_eq!(guard.handle_datagram(peer, b"hello", t0), Verdict::Answer);
    assert_eq!(guard.handle_datagram(peer, b"hello", t0), Verdict::Answer);
    assert_eq!(guard.handle_datagram(peer, b"hello", t0), Verdict::RateLimited { first: true });
    assert_eq!(guard.handle_datagram(peer, b"hello", t0), Verdict::RateLimited { first: false });
    let later = t0 + std::time::Duration::from_millis(500);
    assert_eq!(guard.handle_datagram(peer, b"hello", later), Verdict::Answer);
    // Another source has its own bucket.
    let other: SocketAddr = "127.0.0.3:5000".parse().unwrap();
    assert_eq!(guard.handle_datagram(other, b"hello", t0), Verdict::Answer);
    // A rate of 0 is no limit.
    let mut open = ReplyGuard::new(local, b"bye", ReplyRate { per_second: 0, burst: 0 });
    assert!((0..1000).all(|_| open.handle_datagram(peer, b"x", t0) == Verdict::Answer));
}

#[test]
fn our_own_reply_and_our_own_port_on_a_wildcard_socket_are_not_answered() {
    let wildcard: SocketAddr = "0.0.0.0:8096".parse().unwrap();
    let mut guard = ReplyGuard::new(wildcard, b"bye", ReplyRate::DEFAULT);
    let now = Instant::now();
    let me: SocketAddr = "127.0.0.1:8096".parse().unwrap();
    assert_eq!(guard.handle_datagram(me, b"hello", now), Verdict::FromOurselves);
    let client: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    assert_eq!(guard.handle_datagram(client, b"bye", now), Verdict::IsAReply);
    assert_eq!(guard.handle_datagram(client, b"hello", now), Verdict::Answer);
    // Port 8096 on an address that is not ours is someone else.
    let remote: SocketAddr = "192.0.2.1:8096".parse().unwrap();
    assert_eq!(guard.handle_datagram(remote, b"hello", now), Verdict::Answer);
}

#[test]
fn the_peer_table_is_bounded() {
    let local: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let mut guard = ReplyGuard::new(local, b"bye", ReplyRate { per_second: 1, burst: 5 });
    let now = Instant::now();
    for i in 0..(guard::MAX_TRACKED_PEERS as u32 + 100) {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
        guard.handle_datagram(SocketAddr::from((ip, 1000)), b"hello", now);
    }
    assert_eq!(guard.tracked_peers(), guard::MAX_TRACKED_PEERS);
    // Once they are idle long enough to have refilled, new sources get in again.
    let later = now + std::time::Duration::from_secs(10);
    let fresh: SocketAddr = "10.200.0.1:1000".parse().unwrap();
    assert_eq!(guard.handle_datagram(fresh, b"hello", later), Verdict::Answer);
    assert_eq!(guard.tracked_peers(), 1);
}
