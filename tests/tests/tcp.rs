//! `wirekit tcp` in both roles, against itself and against the seed-style Python peers and
//! CPython's multiprocessing.connection (`--profile mp`; with authkey: see auth.rs).

use wirekit_tests::{args, python, run, wirekit, Child};

fn wirekit_server(extra: &[&str]) -> (Child, std::net::SocketAddr) {
    let mut a = vec!["tcp", "server", "--listen", "127.0.0.1:0", "--once"];
    if !extra.contains(&"--timeout") {
        a.extend(["--timeout", "10"]);
    }
    a.extend_from_slice(extra);
    Child::server(args(wirekit(), a), "wirekit tcp server")
}

#[test]
fn wirekit_client_to_wirekit_server() {
    let (server, addr) = wirekit_server(&[]);
    let out = run(
        args(wirekit(), ["tcp", "client", "--connect", &addr.to_string(), "--timeout", "10"]),
        "wirekit tcp client",
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.lines(), ["hi", "吃了"]);
    let server = server.success();
    assert_eq!(server.lines(), ["hello", "吃了吗?"]);
    assert!(server.stderr.contains("connection from 127.0.0.1:"), "{server}");
}

#[test]
fn custom_messages_and_replies() {
    let (server, addr) = wirekit_server(&["--reply", "one", "--reply", "two"]);
    let out = run(
        args(wirekit(), ["tcp", "client", "--connect", &addr.to_string(), "a", "b", "c"]),
        "wirekit tcp client",
    );
    assert_eq!(out.lines(), ["one", "two", "two"], "{out}");
    assert_eq!(server.success().lines(), ["a", "b", "c"]);
}

#[test]
fn wirekit_client_to_python_server() {
    let (server, addr) =
        Child::server(args(python("tcp_server.py"), ["127.0.0.1", "0"]), "tcp_server.py");
    let out = run(
        args(wirekit(), ["tcp", "client", "--connect", &addr.to_string()]),
        "wirekit tcp client",
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.lines(), ["hi", "吃了"]);
    assert_eq!(server.success().lines(), ["hello", "吃了吗?"]);
}

#[test]
fn python_client_to_wirekit_server() {
    let (server, addr) = wirekit_server(&[]);
    let out = run(
        args(python("tcp_client.py"), ["127.0.0.1", &addr.port().to_string()]),
        "tcp_client.py",
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.lines(), ["hi", "吃了"]);
    assert_eq!(server.success().lines(), ["hello", "吃了吗?"]);
}

#[test]
fn mp_profile_wirekit_to_wirekit() {
    let (server, addr) = wirekit_server(&["--profile", "mp"]);
    let out = run(
        args(wirekit(), ["tcp", "client", "--profile", "mp", "--connect", &addr.to_string()]),
        "wirekit tcp client",
    );
    assert_eq!(out.lines(), ["hi", "吃了"], "{out}");
    assert_eq!(server.success().lines(), ["hello", "吃了吗?"]);
}

#[test]
fn mp_profile_wirekit_client_to_python_listener() {
    let (server, addr) =
        Child::server(args(python("mp_listener.py"), ["127.0.0.1", "0"]), "mp_listener.py");
    let out = run(
        args(
            wirekit(),
            ["tcp", "client", "--profile", "mp", "--connect", &addr.to_string(), "x", "y", "z"],
        ),
        "wirekit tcp client",
    );
    assert_eq!(out.lines(), ["hi", "吃了", "吃了"], "{out}");
    assert_eq!(server.success().lines(), ["legit client", "x", "y", "z"]);
}

#[test]
fn mp_profile_python_client_to_wirekit_server() {
    let (server, addr) = wirekit_server(&["--profile", "mp"]);
    let out =
        run(args(python("mp_client.py"), ["127.0.0.1", &addr.port().to_string()]), "mp_client.py");
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.lines(), ["hi", "吃了"]);
    assert_eq!(server.success().lines(), ["hello", "吃了吗?"]);
}

#[test]
fn server_keeps_serving_after_a_bad_connection() {
    // Without --once: a client that connects and vanishes must not stop the server.
    let (server, addr) = Child::server(
        args(wirekit(), ["tcp", "server", "--listen", "127.0.0.1:0", "--profile", "mp"]),
        "wirekit tcp server",
    );
    {
        use std::io::Write;
        let mut bad = std::net::TcpStream::connect(addr).unwrap();
        // A negative mp length: a protocol error on that connection only.
        bad.write_all(&(-5i32).to_be_bytes()).unwrap();
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut bad, &mut sink);
    }
    let out = run(
        args(wirekit(), ["tcp", "client", "--profile", "mp", "--connect", &addr.to_string()]),
        "wirekit tcp client",
    );
    assert_eq!(out.lines(), ["hi", "吃了"], "{out}");
    drop(server);
}

#[test]
fn server_reports_bad_frames_in_one_line() {
    let (server, addr) = wirekit_server(&["--profile", "mp"]);
    {
        use std::io::Write;
        let mut bad = std::net::TcpStream::connect(addr).unwrap();
        bad.write_all(&(-5i32).to_be_bytes()).unwrap();
    }
    let out = server.wait_output(wirekit_tests::CHILD_LIMIT);
    assert_eq!(out.code(), 1, "{out}");
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("wirekit: bad frame from") && last.contains("negative"), "{out}");
}

#[test]
fn concurrent_clients_are_served() {
    let (server, addr) = Child::server(
        args(wirekit(), ["tcp", "server", "--listen", "127.0.0.1:0", "--max-connections", "4"]),
        "wirekit tcp server",
    );
    let clients: Vec<_> = (0..6)
        .map(|i| {
            Child::spawn(
                args(
                    wirekit(),
                    ["tcp", "client", "--connect", &addr.to_string(), &format!("m{i}")],
                ),
                "wirekit tcp client",
            )
        })
        .collect();
    for client in clients {
        let out = client.success();
        assert_eq!(out.lines(), ["hi"]);
    }
    drop(server);
}

#[test]
fn connection_refused_is_exit_1_with_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = run(
        args(wirekit(), ["tcp", "client", "--connect", &format!("127.0.0.1:{port}")]),
        "wirekit tcp client",
    );
    assert_eq!(out.code(), 1, "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.contains("is the server running"), "{out}");
}

#[test]
fn port_in_use_is_exit_3() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(args(wirekit(), ["tcp", "server", "--listen", &addr]), "wirekit tcp server");
    assert_eq!(out.code(), 3, "{out}");
    assert!(out.stderr.contains("pick another --listen port"), "{out}");
}

#[test]
fn idle_client_times_out_on_the_server() {
    let (server, addr) = wirekit_server(&["--timeout", "1"]);
    let _idle = std::net::TcpStream::connect(addr).unwrap();
    let out = server.wait_output(wirekit_tests::CHILD_LIMIT);
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stderr.contains("sent nothing for 1 s"), "{out}");
}

#[test]
fn max_connections_bounds_concurrent_service() {
    let (server, addr) = Child::server(
        args(wirekit(), ["tcp", "server", "--listen", "127.0.0.1:0", "--max-connections", "1"]),
        "wirekit tcp server",
    );
    // The one slot is taken by a client that says nothing.
    let holder = std::net::TcpStream::connect(addr).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let waiting = run(
        args(wirekit(), ["tcp", "client", "--connect", &addr.to_string(), "--timeout", "1"]),
        "wirekit tcp client",
    );
    assert_eq!(waiting.code(), 1, "served although the only slot was taken:\n{waiting}");
    assert!(waiting.stderr.contains("sent nothing for 1 s"), "{waiting}");
    // Once the slot is free, clients are served again.
    drop(holder);
    let served = run(
        args(wirekit(), ["tcp", "client", "--connect", &addr.to_string(), "--timeout", "10"]),
        "wirekit tcp client",
    );
    assert_eq!(served.lines(), ["hi", "吃了"], "{served}");
    drop(server);
}

#[test]
fn oversize_frame_is_refused_before_reading_it() {
    let (server, addr) = wirekit_server(&["--profile", "mp"]);
    {
        use std::io::Write;
        let mut bad = std::net::TcpStream::connect(addr).unwrap();
        // 2 GiB - 1 announced: refused at the prefix, nothing reserved.
        bad.write_all(&i32::MAX.to_be_bytes()).unwrap();
    }
    let out = server.wait_output(wirekit_tests::CHILD_LIMIT);
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stderr.contains("exceeds the maximum"), "{out}");
}
