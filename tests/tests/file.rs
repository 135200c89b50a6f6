//! `wirekit file` in both roles and both connection directions: against itself (also keyed,
//! seed and mp), against the seed-style Python peers (a CJK + emoji name, a 0-byte file, a
//! 20 MiB file; bytes compared), and bad input against a receiver that keeps serving.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use wirekit_tests::hostile::upload;
use wirekit_tests::{args, python, run, wirekit, wirekit_server, Child, CHILD_LIMIT};

const NAME: &str = "数据 报告 😀📦.bin";

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ (i >> 12) as u8).collect()
}

/// (name, body) cases every pairing runs.
fn cases() -> Vec<(&'static str, Vec<u8>)> {
    vec![(NAME, body(100_000)), ("empty.txt", Vec::new()), ("big.bin", body(20 << 20))]
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn check_arrived(dst: &Path, name: &str, body: &[u8]) {
    let got = std::fs::read(dst.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        got == body,
        "{name}: {} bytes arrived, {} sent, contents differ",
        got.len(),
        body.len()
    );
    assert_eq!(files(dst), [name], "no temporary files left");
}

/// Both `wirekit`; `sender_listens` picks the direction; `extra` goes to both sides.
fn wirekit_pair(name: &str, body: &[u8], sender_listens: bool, extra: &[&str]) {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let path = src.path().join(name);
    std::fs::write(&path, body).unwrap();
    let (p, d) = (path.to_str().unwrap(), dst.path().to_str().unwrap());
    let (server, client) = if sender_listens {
        let mut s = vec!["file", "send", p];
        s.extend_from_slice(extra);
        let (server, addr) = wirekit_server(&s, "wirekit file send");
        let a = addr.to_string();
        let mut c = vec!["file", "recv", "--connect", &a, "--dir", d, "--timeout", "10"];
        c.extend_from_slice(extra);
        (server, run(args(wirekit(), c), "wirekit file recv"))
    } else {
        let mut s = vec!["file", "recv", "--dir", d];
        s.extend_from_slice(extra);
        let (server, addr) = wirekit_server(&s, "wirekit file recv");
        let a = addr.to_string();
        let mut c = vec!["file", "send", p, "--connect", &a, "--timeout", "10"];
        c.extend_from_slice(extra);
        (server, run(args(wirekit(), c), "wirekit file send"))
    };
    assert_eq!(client.code(), 0, "{client}");
    let server = server.wait_output(CHILD_LIMIT);
    assert_eq!(server.code(), 0, "{server}");
    check_arrived(dst.path(), name, body);
    // The summary line: name, bytes, seconds, MiB/s.
    for out in [&client, &server] {
        let summary = format!("{name}, {} bytes, ", body.len());
        assert!(out.stdout.contains(&summary) && out.stdout.contains(" MiB/s"), "{out}");
    }
}

#[test]
fn wirekit_pair_both_directions() {
    for (name, body) in cases() {
        wirekit_pair(name, &body, true, &[]);
        wirekit_pair(name, &body, false, &[]);
    }
}

#[test]
fn wirekit_pair_with_keys_seed_and_mp() {
    let small = body(5000);
    for profile in ["seed", "mp"] {
        wirekit_pair(NAME, &small, true, &["--key", "egg", "--profile", profile]);
        wirekit_pair(NAME, &small, false, &["--key", "egg", "--profile", profile]);
    }
}

#[test]
fn python_sender_to_wirekit_receiver_both_directions() {
    for (name, body) in cases() {
        for sender_listens in [true, false] {
            let src = tempfile::tempdir().unwrap();
            let dst = tempfile::tempdir().unwrap();
            let path = src.path().join(name);
            std::fs::write(&path, &body).unwrap();
            let (p, d) = (path.to_str().unwrap(), dst.path().to_str().unwrap());
            let (server, client) = if sender_listens {
                let (s, addr) = Child::server(
                    args(python("file_send.py"), ["listen", "127.0.0.1", "0", p]),
                    "file_send.py",
                );
                let a = addr.to_string();
                let c = ["file", "recv", "--connect", &a, "--dir", d, "--timeout", "10"];
                (s, run(args(wirekit(), c), "wirekit file recv"))
            } else {
                let (s, addr) = wirekit_server(&["file", "recv", "--dir", d], "wirekit file recv");
                let port = addr.port().to_string();
                let c = ["connect", "127.0.0.1", &port, p];
                (s, run(args(python("file_send.py"), c), "file_send.py"))
            };
            assert_eq!(client.code(), 0, "{client}");
            let server = server.wait_output(CHILD_LIMIT);
            assert_eq!(server.code(), 0, "{server}");
            check_arrived(dst.path(), name, &body);
        }
    }
}

#[test]
fn wirekit_sender_to_python_receiver_both_directions() {
    for (name, body) in cases() {
        for sender_listens in [true, false] {
            let src = tempfile::tempdir().unwrap();
            let dst = tempfile::tempdir().unwrap();
            let path = src.path().join(name);
            std::fs::write(&path, &body).unwrap();
            let (p, d) = (path.to_str().unwrap(), dst.path().to_str().unwrap());
            let (server, client) = if sender_listens {
                let (s, addr) = wirekit_server(&["file", "send", p], "wirekit file send");
                let port = addr.port().to_string();
                (
                    s,
                    run(
                        args(python("file_recv.py"), ["connect", "127.0.0.1", &port, d]),
                        "file_recv.py",
                    ),
                )
            } else {
                let (s, addr) = Child::server(
                    args(python("file_recv.py"), ["listen", "127.0.0.1", "0", d]),
                    "file_recv.py",
                );
                let a = addr.to_string();
                (
                    s,
                    run(
                        args(wirekit(), ["file", "send", p, "--connect", &a, "--timeout", "10"]),
                        "send",
                    ),
                )
            };
            assert_eq!(client.code(), 0, "{client}");
            let server = server.wait_output(CHILD_LIMIT);
            assert_eq!(server.code(), 0, "{server}");
            // The Python receiver writes head['filename']: our header carried the name intact.
            check_arrived(dst.path(), name, &body);
        }
    }
}

/// Send raw bytes to `addr` and close.
fn send_raw(addr: SocketAddr, bytes: &[u8]) {
    let mut s = TcpStream::connect(addr).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    // Wait for the receiver to close, so its verdict is in before the next client.
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.read(&mut [0u8; 16]);
}

#[test]
fn bad_input_is_refused_and_the_receiver_keeps_serving() {
    let dst = tempfile::tempdir().unwrap();
    std::fs::write(dst.path().join("keep.txt"), b"older file").unwrap();
    let d = dst.path().to_str().unwrap();
    let (server, addr) = wirekit_server(
        &["file", "recv", "--dir", d, "--serve-many", "--max-size", "1000"],
        "wirekit file recv",
    );
    let names = [
        "../x",
        "..",
        ".",
        "/etc/passwd",
        "C:\\x",
        "a\\..\\b",
        "a\0b",
        "a\nb",
        "",
        ".bashrc",
        "x/",
    ];
    for name in names {
        send_raw(addr, &upload(name, 3, b"abc"));
    }
    send_raw(addr, &(-1i32).to_le_bytes());
    send_raw(addr, &i32::MAX.to_le_bytes());
    send_raw(addr, &upload("big.bin", 1001, b"x"));
    send_raw(addr, &upload("keep.txt", 100, b"only 14 bytes!"));
    // A good client right after all that.
    send_raw(addr, &upload("good.txt", 4, b"good"));
    // Each connection's error is printed after its socket closed: wait for all of them.
    let expected_errors = names.len() + 4;
    server.wait_until(Duration::from_secs(20), |out, err| {
        out.contains("good.txt, 4 bytes") && err.matches("wirekit: ").count() >= expected_errors
    });
    let out = server_kill(server);
    let refused = out.stderr.lines().filter(|l| l.contains("refused file name")).count();
    assert_eq!(refused, names.len(), "{out}");
    for expected in ["negative", "file header", "--max-size", "after 14 of 100 bytes"] {
        assert!(out.stderr.contains(expected), "{expected}: {out}");
    }
    assert!(out.stdout.contains("good.txt, 4 bytes"), "{out}");
    assert_eq!(std::fs::read(dst.path().join("good.txt")).unwrap(), b"good");
    assert_eq!(std::fs::read(dst.path().join("keep.txt")).unwrap(), b"older file");
    assert_eq!(files(dst.path()), ["good.txt", "keep.txt"]);
}

/// Kill a serving child and return what it printed.
fn server_kill(server: Child) -> wirekit_tests::Output {
    server.wait_output(Duration::ZERO)
}

#[test]
fn bad_input_errors_say_what_happened() {
    let dst = tempfile::tempdir().unwrap();
    let d = dst.path().to_str().unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (upload("../x", 3, b"abc"), "refused file name \"../x\""),
        (upload("a\0b", 3, b"abc"), "control character U+0000"),
        (upload("C:\\x", 3, b"abc"), "path separator"),
        ((-1i32).to_le_bytes().to_vec(), "negative"),
        (i32::MAX.to_le_bytes().to_vec(), "file header"),
        (upload("big.bin", 1001, b""), "--max-size"),
        (upload("cut.bin", 100, b"abc"), "after 3 of 100 bytes"),
    ];
    for (wire, expected) in cases {
        let (server, addr) =
            wirekit_server(&["file", "recv", "--dir", d, "--max-size", "1000"], "recv");
        send_raw(addr, &wire);
        let out = server.wait_output(CHILD_LIMIT);
        assert_ne!(out.code(), 0, "{out}");
        assert!(out.stderr.contains(expected), "{expected}: {out}");
        let errors: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("wirekit:")).collect();
        assert_eq!(errors.len(), 1, "one line: {out}");
    }
    assert!(files(dst.path()).is_empty());
}

#[test]
fn a_cut_body_from_python_leaves_the_older_file() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    std::fs::write(dst.path().join(NAME), b"older").unwrap();
    let path = src.path().join(NAME);
    std::fs::write(&path, body(50_000)).unwrap();
    let (p, d) = (path.to_str().unwrap(), dst.path().to_str().unwrap());
    let (s, addr) = Child::server(
        args(python("file_send.py"), ["listen", "127.0.0.1", "0", p, "--cut", "20000"]),
        "file_send.py",
    );
    let a = addr.to_string();
    let out = run(args(wirekit(), ["file", "recv", "--connect", &a, "--dir", d]), "recv");
    s.success();
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stderr.contains("after 20000 of 50000 bytes"), "{out}");
    assert_eq!(std::fs::read(dst.path().join(NAME)).unwrap(), b"older");
    assert_eq!(files(dst.path()), [NAME]);
}

#[test]
fn sender_hears_about_a_refused_file() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    // A name that is fine for the sender but that the receiver refuses (--no-clobber).
    std::fs::write(dst.path().join("keep.txt"), b"old").unwrap();
    let path = src.path().join("keep.txt");
    std::fs::write(&path, body(300_000)).unwrap();
    let (p, d) = (path.to_str().unwrap(), dst.path().to_str().unwrap());
    let (sender, addr) = wirekit_server(&["file", "send", p], "wirekit file send");
    let a = addr.to_string();
    let recv =
        run(args(wirekit(), ["file", "recv", "--connect", &a, "--dir", d, "--no-clobber"]), "recv");
    assert_eq!(recv.code(), 4, "{recv}");
    assert!(recv.stderr.contains("it exists (--no-clobber)"), "{recv}");
    let sent = sender.wait_output(CHILD_LIMIT);
    assert_eq!(sent.code(), 1, "{sent}");
    assert!(sent.stderr.contains("refuse"), "{sent}");
    assert_eq!(files(dst.path()), ["keep.txt"]);
    assert_eq!(std::fs::read(dst.path().join("keep.txt")).unwrap(), b"old");
}

/// issue 12 item 1: `send && rm` must never lose data. A wrong key on the receiver's side
/// used to let the sender print its summary and exit 0 for small files (the receiver closed
/// cleanly after the failed handshake, and that FIN looked like a receipt).
#[test]
fn h200_a_receiver_that_refuses_the_key_never_lets_the_sender_exit_0() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let (d, dir) = (dst.path().to_str().unwrap(), dst.path());
    for (i, len) in [0usize, 10, 1_000, 50_000, 50_000, 300_000].into_iter().enumerate() {
        let path = src.path().join(format!("data{i}.bin"));
        std::fs::write(&path, body(len)).unwrap();
        let (recv, addr) =
            wirekit_server(&["file", "recv", "--dir", d, "--key", "egg"], "wirekit file recv");
        let a = addr.to_string();
        let p = path.to_str().unwrap();
        let sent = run(
            args(
                wirekit(),
                ["file", "send", p, "--connect", &a, "--key", "spam", "--timeout", "5"],
            ),
            "wirekit file send",
        );
        let recv = recv.wait_output(CHILD_LIMIT);
        assert_eq!(recv.code(), 5, "{recv}");
        assert_ne!(sent.code(), 0, "{len} bytes: the sender claimed delivery: {sent}");
        assert!(files(dir).is_empty());
    }
}

#[test]
fn h208_send_refuses_a_directory_a_fifo_or_a_refused_name_before_listening() {
    let src = tempfile::tempdir().unwrap();
    let hidden = src.path().join(".hidden.txt");
    std::fs::write(&hidden, b"x").unwrap();
    let fifo = src.path().join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (dir, fifo, hidden) =
        (src.path().to_str().unwrap(), fifo.to_str().unwrap(), hidden.to_str().unwrap());
    for (path, code, needle) in
        [(dir, 3, "it is a directory"), (fifo, 3, "not a regular file"), (hidden, 4, "hidden file")]
    {
        let out = run(
            args(wirekit(), ["file", "send", path, "--listen", "127.0.0.1:0"]),
            "wirekit file send",
        );
        assert_eq!(out.code(), code, "{out}");
        assert!(out.stderr.contains(needle) && !out.stderr.contains("listening on"), "{out}");
    }
}

#[test]
fn send_name_sends_under_another_name() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let path = src.path().join(".hidden.txt");
    std::fs::write(&path, b"renamed").unwrap();
    let (p, d) = (path.to_str().unwrap(), dst.path().to_str().unwrap());
    let (recv, addr) = wirekit_server(&["file", "recv", "--dir", d], "recv");
    let a = addr.to_string();
    let sent =
        run(args(wirekit(), ["file", "send", p, "--connect", &a, "--name", "visible.txt"]), "send");
    assert_eq!(sent.code(), 0, "{sent}");
    assert_eq!(recv.wait_output(CHILD_LIMIT).code(), 0);
    check_arrived(dst.path(), "visible.txt", b"renamed");
}

/// issue 12 item 2: Ctrl-C / SIGTERM during a transfer left `.wirekit-*.part` files for good;
/// now the signal removes them, and a start-up sweeps ones a SIGKILL left.
#[test]
fn h201_sigint_and_sigterm_remove_the_temporary_file_and_start_up_sweeps_stale_ones() {
    let dst = tempfile::tempdir().unwrap();
    let d = dst.path().to_str().unwrap();
    for signal in ["-INT", "-TERM"] {
        let stale = dst.path().join(".wirekit-old.bin.00112233445566ff.part");
        std::fs::write(&stale, b"left by a killed receiver").unwrap();
        let (recv, addr) = wirekit_server(&["file", "recv", "--dir", d], "recv");
        assert!(!stale.exists(), "the stale temporary file was not swept");
        let mut peer = TcpStream::connect(addr).unwrap();
        peer.write_all(&upload("big.bin", 10 << 20, &body(1 << 20))).unwrap();
        let part = || files(dst.path()).into_iter().any(|f| f.ends_with(".part"));
        assert!(wirekit_tests::hostile::wait_for(Duration::from_secs(10), part));
        let kill = std::process::Command::new("kill")
            .args([signal, &recv.pid().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = recv.wait_output(CHILD_LIMIT);
        assert_ne!(out.code(), 0, "{out}");
        assert!(files(dst.path()).is_empty(), "{signal}: {:?}", files(dst.path()));
    }
}

/// A peer from `source` that sends a header prefix and JSON whitespace, one byte per 1.5 s
/// (under `--timeout 2`), for 30 s.
fn trickler(source: &str, addr: SocketAddr) -> Child {
    let script = "import socket, sys, time\n\
        s = socket.socket(); s.bind((sys.argv[1], 0)); s.connect(('127.0.0.1', int(sys.argv[2])))\n\
        try:\n    for b in b'\\x40\\x00\\x00\\x00' + b' ' * 16:\n        s.send(bytes([b])); time.sleep(1.5)\n\
        except OSError:\n    pass\n";
    let port = addr.port().to_string();
    Child::spawn(
        args(std::process::Command::new("python3"), ["-c", script, source, &port]),
        "trickler",
    )
}

/// Send a small file to `addr` and return how long the sender took and its output.
fn timed_send(addr: SocketAddr) -> (Duration, wirekit_tests::Output) {
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("good.txt");
    std::fs::write(&path, b"good sender").unwrap();
    let (p, a) = (path.to_str().unwrap().to_owned(), addr.to_string());
    let started = std::time::Instant::now();
    let out =
        run(args(wirekit(), ["file", "send", &p, "--connect", &a, "--timeout", "20"]), "send");
    (started.elapsed(), out)
}

/// A `file recv --max-connections 2 --timeout 2` with `extra`, two tricklers from `sources`
/// (started once the server printed each of `held`), then a good sender from 127.0.0.1: it
/// must be done within `within`, and the server must have said `says`.
fn good_sender_gets_past_tricklers(
    extra: &[&str],
    sources: [&str; 2],
    held: [&str; 2],
    within: Duration,
    says: &str,
) {
    let dst = tempfile::tempdir().unwrap();
    let d = dst.path().to_str().unwrap();
    let mut a = vec!["file", "recv", "--dir", d, "--serve-many"];
    a.extend(["--max-connections", "2", "--timeout", "2"]);
    a.extend_from_slice(extra);
    let (recv, addr) = wirekit_server(&a, "recv");
    let mut slow = sources.map(|source| trickler(source, addr));
    let seen = |_: &str, err: &str| held.iter().all(|h| err.contains(h));
    assert!(recv.wait_until(Duration::from_secs(10), seen), "{}", recv.stderr_now());
    let (took, sent) = timed_send(addr);
    for t in &mut slow {
        t.kill_now();
    }
    let out = server_kill(recv);
    assert_eq!(sent.code(), 0, "{sent}\nserver: {out}");
    assert!(took < within, "the good sender waited {took:?}");
    assert!(out.stderr.contains(says), "{out}");
    assert_eq!(files(dst.path()), ["good.txt"]);
}

/// issue 10 item 5: two connections trickling a byte per 1.5 s held both slots of
/// `--max-connections 2 --timeout 2` for as long as they liked.
#[test]
fn h212_trickling_connections_do_not_keep_a_good_sender_out() {
    // From distinct addresses: the per-source cap does not help, the header deadline does.
    good_sender_gets_past_tricklers(
        &["--header-deadline", "3"],
        ["127.0.0.2", "127.0.0.3"],
        ["connection from 127.0.0.2", "connection from 127.0.0.3"],
        Duration::from_secs(10),
        "within 3 s (--header-deadline)",
    );
    // From one address: the per-source cap keeps the second slot free, no deadline needed.
    good_sender_gets_past_tricklers(
        &["--header-deadline", "0", "--max-per-source", "1"],
        ["127.0.0.2", "127.0.0.2"],
        ["connection from 127.0.0.2", "(--max-per-source)"],
        Duration::from_secs(5),
        "(--max-per-source)",
    );
}

/// Issue 12.10: `-v` says what each step did; without it, none of that is printed.
#[test]
fn verbose_says_what_each_step_did() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let path = src.path().join("v.txt");
    std::fs::write(&path, b"verbose").unwrap();
    let (p, d) = (path.to_str().unwrap(), dst.path().to_str().unwrap());
    for verbose in [false, true] {
        let mut r = vec!["file", "recv", "--dir", d, "--key", "egg", "--profile", "mp"];
        let mut s = vec!["file", "send", p, "--key", "egg", "--profile", "mp"];
        if verbose {
            r.push("-v");
            s.insert(0, "-v");
        }
        let (recv, addr) = wirekit_server(&r, "recv");
        let a = addr.to_string();
        s.extend(["--connect", &a]);
        let sent = run(args(wirekit(), s), "send");
        assert_eq!(sent.code(), 0, "{sent}");
        let recv = recv.wait_output(CHILD_LIMIT);
        assert_eq!(recv.code(), 0, "{recv}");
        let saved = format!("{} is durable (7 bytes", dst.path().join("v.txt").display());
        assert_eq!(recv.stderr.contains(&saved), verbose, "{recv}");
        assert_eq!(recv.stderr.contains("handshake (Mp profile"), verbose, "{recv}");
        assert_eq!(sent.stderr.contains(&format!("connected to {a}")), verbose, "{sent}");
    }
}
