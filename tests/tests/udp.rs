//! `wirekit udp` in both roles, against itself and the seed-style Python peers.

use wirekit_tests::{args, python, run, wirekit, Child};

fn wirekit_server() -> (Child, std::net::SocketAddr) {
    Child::server(
        args(wirekit(), ["udp", "server", "--listen", "127.0.0.1:0", "--once"]),
        "wirekit udp server",
    )
}

#[test]
fn wirekit_client_to_wirekit_server() {
    let (server, addr) = wirekit_server();
    let out = run(
        args(wirekit(), ["udp", "client", "--connect", &addr.to_string(), "--timeout", "10"]),
        "wirekit udp client",
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.lines(), ["bye"]);
    assert_eq!(server.success().lines(), ["hello"]);
}

#[test]
fn wirekit_client_to_python_server() {
    let (server, addr) =
        Child::server(args(python("udp_server.py"), ["127.0.0.1", "0"]), "udp_server.py");
    let out = run(
        args(wirekit(), ["udp", "client", "--connect", &addr.to_string(), "吃了吗?"]),
        "wirekit udp client",
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.lines(), ["bye"]);
    assert_eq!(server.success().lines(), ["吃了吗?"]);
}

#[test]
fn python_client_to_wirekit_server() {
    let (server, addr) = wirekit_server();
    let out = run(
        args(python("udp_client.py"), ["127.0.0.1", &addr.port().to_string()]),
        "udp_client.py",
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.lines(), ["bye"]);
    assert_eq!(server.success().lines(), ["hello"]);
}

#[test]
fn server_without_once_answers_many_senders() {
    let (server, addr) = Child::server(
        args(wirekit(), ["udp", "server", "--listen", "127.0.0.1:0", "--reply", "再见"]),
        "wirekit udp server",
    );
    for i in 0..3 {
        let out = run(
            args(
                python("udp_client.py"),
                ["127.0.0.1", &addr.port().to_string(), &format!("m{i}")],
            ),
            "udp_client.py",
        );
        assert_eq!(out.lines(), ["再见"], "{out}");
    }
    drop(server);
}

#[test]
fn oversize_message_is_exit_4_and_nothing_is_sent() {
    let (server, addr) = wirekit_server();
    let big = "x".repeat(65_508);
    let out = run(
        args(wirekit(), ["udp", "client", "--connect", &addr.to_string(), &big]),
        "wirekit udp client",
    );
    assert_eq!(out.code(), 4, "{out}");
    assert!(out.stderr.contains("65508") && out.stderr.contains("65507"), "{out}");
    // The server still waits for its one datagram: a normal client gets through.
    let ok = run(
        args(wirekit(), ["udp", "client", "--connect", &addr.to_string(), "after"]),
        "wirekit udp client",
    );
    assert_eq!(ok.lines(), ["bye"], "{ok}");
    assert_eq!(server.success().lines(), ["after"]);
}

#[test]
fn largest_datagram_arrives_whole_at_python() {
    let (server, addr) =
        Child::server(args(python("udp_server.py"), ["127.0.0.1", "0"]), "udp_server.py");
    let big = "y".repeat(65_507);
    let out = run(
        args(wirekit(), ["udp", "client", "--connect", &addr.to_string(), &big]),
        "wirekit udp client",
    );
    assert_eq!(out.lines(), ["bye"], "{out}");
    assert_eq!(server.success().stdout.trim_end().len(), 65_507);
}

/// h300: a seed-style server (it answers every datagram, here with `ok`) aimed at `wirekit udp
/// server` by one datagram: the seed's server looped with it forever (227,890 datagrams in
/// 2 s); wirekit's stops after its burst (`--max-rate`, 100 by default), and a client is
/// answered again once the budget refills.
#[test]
fn h300_a_reply_loop_with_another_server_ends() {
    use std::net::UdpSocket;
    use std::time::{Duration, Instant};
    let (server, addr) = Child::server(
        args(wirekit(), ["udp", "server", "--listen", "127.0.0.1:0", "--max-rate", "20"]),
        "wirekit udp server",
    );
    let other = UdpSocket::bind("127.0.0.1:0").expect("bind");
    other.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
    other.send_to(b"hello", addr).expect("send");
    let (mut answered, started) = (0usize, Instant::now());
    let mut buf = [0u8; 64];
    // Bounded: at most 5 s or 100,000 datagrams, whichever comes first.
    while started.elapsed() < Duration::from_secs(5) && answered < 100_000 {
        match other.recv_from(&mut buf) {
            Ok((_, from)) => {
                answered += 1;
                other.send_to(b"ok", from).expect("answer");
            }
            Err(_) => break, // 300 ms of silence: the loop is over
        }
    }
    assert!(answered <= 21, "the server answered {answered} datagrams of a reply loop");
    assert!(answered >= 20, "the burst is answered: {answered}");
    std::thread::sleep(Duration::from_millis(1100));
    let out = run(
        args(wirekit(), ["udp", "client", "--connect", &addr.to_string(), "--timeout", "5"]),
        "wirekit udp client",
    );
    assert_eq!(out.lines(), ["bye"], "{out}");
    let stderr = server.stderr_now();
    assert!(stderr.contains("sends more than 20 datagrams/s"), "{stderr}");
    drop(server);
}
