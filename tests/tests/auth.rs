//! `wirekit auth` (and the handshake in front of `tcp`) in both roles: against itself, against
//! the seed-style Python peers (demo4), and against CPython's own
//! `multiprocessing.connection` Listener/Client with authkey, followed by traffic. Right and
//! wrong keys everywhere; wrong-length answers to a server that keeps serving.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use wirekit_tests::{args, python, run, wirekit, wirekit_server, Child, Output, CHILD_LIMIT};

fn client(addr: SocketAddr, key: &str, extra: &[&str]) -> Output {
    let a = addr.to_string();
    let mut all = vec!["auth", "client", "--connect", &a, "--key", key, "--timeout", "10"];
    all.extend_from_slice(extra);
    run(args(wirekit(), all), "wirekit auth client")
}

fn wirekit_pair(client_key: &str, extra: &[&str]) -> (Output, Output) {
    let mut s = vec!["auth", "server", "--key", "egg"];
    s.extend_from_slice(extra);
    let (server, addr) = wirekit_server(&s, "wirekit auth server");
    let c = client(addr, client_key, extra);
    (server.wait_output(CHILD_LIMIT), c)
}

#[test]
fn seed_pair_right_and_wrong_key() {
    let (server, client) = wirekit_pair("egg", &[]);
    assert_eq!((server.code(), client.code()), (0, 0), "{server}\n{client}");
    assert_eq!(server.lines(), ["合法的客户端 legit client"]);
    let (server, client) = wirekit_pair("spam", &[]);
    assert_eq!(server.code(), 5, "{server}");
    assert!(server.stdout.starts_with("不合法的客户端 illegitimate client"), "{server}");
    assert!(server.stderr.contains("authentication with"), "{server}");
    // demo4 sends no verdict: the prover cannot know it was refused.
    assert_eq!(client.code(), 0, "{client}");
    assert!(client.stdout.contains("no verdict"), "{client}");
}

#[test]
fn mp_pair_right_and_wrong_key_both_digests() {
    for digest in ["legacy", "sha256"] {
        let extra = ["--profile", "mp", "--mp-digest", digest];
        let (server, client) = wirekit_pair("egg", &extra);
        assert_eq!((server.code(), client.code()), (0, 0), "{server}\n{client}");
        assert!(client.stdout.contains("authenticated"), "{client}");
        let (server, client) = wirekit_pair("spam", &extra);
        assert_eq!(server.code(), 5, "{server}");
        assert!(server.stdout.contains("illegitimate client"), "{server}");
        // Under mp the client learns the verdict.
        assert_eq!(client.code(), 5, "{client}");
        assert!(client.stderr.contains("rejected our answer"), "{client}");
        assert_eq!(client.stderr.lines().count(), 1, "{client}");
    }
}

#[test]
fn wirekit_client_to_python_seed_server() {
    for (key, code, verdict) in [("egg", 0, "legit client"), ("spam", 1, "illegitimate client")] {
        let (server, addr) = Child::server(
            args(python("auth_server.py"), ["127.0.0.1", "0", "egg"]),
            "auth_server.py",
        );
        let c = client(addr, key, &[]);
        assert_eq!(c.code(), 0, "{c}");
        let out = server.wait_output(CHILD_LIMIT);
        assert_eq!(out.code(), code, "{out}");
        assert!(out.stdout.contains(verdict), "{out}");
    }
}

#[test]
fn python_seed_client_to_wirekit_server() {
    for (key, code, verdict) in
        [("egg", 0, "合法的客户端 legit client"), ("spam", 5, "不合法的客户端")]
    {
        let (server, addr) =
            wirekit_server(&["auth", "server", "--key", "egg"], "wirekit auth server");
        let py = run(
            args(python("auth_client.py"), ["127.0.0.1", &addr.port().to_string(), key]),
            "auth_client.py",
        );
        assert_eq!(py.code(), 0, "{py}");
        let out = server.wait_output(CHILD_LIMIT);
        assert_eq!(out.code(), code, "{out}");
        assert!(out.stdout.starts_with(verdict), "{out}");
    }
}

#[test]
fn python_mp_client_to_wirekit_then_traffic() {
    for digest in ["legacy", "sha256"] {
        // Right key: the handshake, then send_bytes/recv_bytes through `wirekit tcp`.
        let extra = ["--profile", "mp", "--key", "egg", "--mp-digest", digest];
        let mut s = vec!["tcp", "server"];
        s.extend_from_slice(&extra);
        let (server, addr) = wirekit_server(&s, "wirekit tcp server");
        let port = addr.port().to_string();
        let py = run(
            args(python("mp_client.py"), ["127.0.0.1", &port, "--key", "egg", "hello", "吃了吗?"]),
            "mp_client.py",
        );
        assert_eq!(py.code(), 0, "{digest}: {py}");
        assert_eq!(py.lines(), ["hi", "吃了"]);
        let out = server.wait_output(CHILD_LIMIT);
        assert_eq!(out.code(), 0, "{out}");
        assert_eq!(out.lines(), ["hello", "吃了吗?"]);

        // Wrong key: Python's Client raises AuthenticationError, the server exits 5.
        let (server, addr) = wirekit_server(&s, "wirekit tcp server");
        let port = addr.port().to_string();
        let py = run(
            args(python("mp_client.py"), ["127.0.0.1", &port, "--key", "spam"]),
            "mp_client.py",
        );
        assert_eq!(py.code(), 2, "{py}");
        assert!(py.stdout.contains("authentication failed"), "{py}");
        let out = server.wait_output(CHILD_LIMIT);
        assert_eq!(out.code(), 5, "{out}");
        assert!(out.stdout.is_empty(), "no traffic after a failed handshake: {out}");
    }
}

/// `wirekit tcp client --profile mp --key KEY` against a Python `Listener` keyed `egg`;
/// returns the client's output and the listener's.
fn mp_tcp_client_to_python_listener(key: &str, digest: &str) -> (Output, Child) {
    let (listener, addr) = Child::server(
        args(python("mp_listener.py"), ["127.0.0.1", "0", "--key", "egg"]),
        "mp_listener.py",
    );
    let a = addr.to_string();
    let c =
        ["tcp", "client", "--connect", &a, "--profile", "mp", "--key", key, "--mp-digest", digest];
    (run(args(wirekit(), c), "wirekit tcp client"), listener)
}

#[test]
fn wirekit_mp_client_to_python_listener_then_traffic() {
    for digest in ["legacy", "sha256"] {
        let (out, listener) = mp_tcp_client_to_python_listener("egg", digest);
        assert_eq!(out.code(), 0, "{digest}: {out}");
        assert_eq!(out.lines(), ["hi", "吃了"]);
        let py = listener.success();
        assert_eq!(py.lines(), ["legit client", "hello", "吃了吗?"]);

        let (out, listener) = mp_tcp_client_to_python_listener("spam", digest);
        assert_eq!(out.code(), 5, "{out}");
        assert!(out.stderr.contains("authentication with"), "{out}");
        let py = listener.wait_output(CHILD_LIMIT);
        assert_eq!(py.code(), 2, "{py}");
    }
}

#[test]
fn wirekit_auth_client_to_python_listener() {
    for (key, code) in [("egg", 0), ("spam", 5)] {
        let (listener, addr) = Child::server(
            args(python("mp_listener.py"), ["127.0.0.1", "0", "--key", "egg"]),
            "mp_listener.py",
        );
        let c = client(addr, key, &["--profile", "mp"]);
        assert_eq!(c.code(), code, "{c}");
        let py = listener.wait_output(CHILD_LIMIT);
        assert_eq!(py.code(), if code == 0 { 0 } else { 2 }, "{py}");
    }
}

fn read_mp_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut frame).unwrap();
    frame
}

/// Connect, take the challenge, send `answer` (seed: raw; mp: one frame), close.
fn answer_with(addr: SocketAddr, mp: bool, answer: &[u8]) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    if mp {
        assert!(read_mp_frame(&mut s).starts_with(b"#CHALLENGE#"));
        let mut frame = (answer.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(answer);
        s.write_all(&frame).unwrap();
        assert_eq!(read_mp_frame(&mut s), b"#FAILURE#");
    } else {
        let mut challenge = [0u8; 32];
        s.read_exact(&mut challenge).unwrap();
        s.write_all(answer).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let _ = s.read(&mut [0u8; 8]);
    }
}

#[test]
fn wrong_length_answers_are_illegitimate_and_the_server_keeps_serving() {
    for (profile, mp) in [("seed", false), ("mp", true)] {
        let (server, addr) = wirekit_server(
            &["auth", "server", "--key", "egg", "--profile", profile, "--serve-many"],
            "wirekit auth server",
        );
        answer_with(addr, mp, &[0u8; 10]);
        answer_with(addr, mp, &[0u8; 20]);
        answer_with(addr, mp, &[0u8; 17]);
        let good = client(addr, "egg", &["--profile", profile]);
        assert_eq!(good.code(), 0, "{good}");
        server.wait_until(Duration::from_secs(20), |out, _| out.lines().count() >= 4);
        let out = server.wait_output(Duration::ZERO);
        let lines = out.lines();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(
            lines[..3].iter().all(|l| l.starts_with("不合法的客户端 illegitimate client")),
            "{out}"
        );
        assert_eq!(lines[3], "合法的客户端 legit client", "{out}");
        if mp {
            assert!(out.stdout.contains("bytes"), "the reason names the length: {out}");
        } else {
            assert!(out.stdout.contains("10 of 16 bytes came"), "{out}");
        }
    }
}
