//! `--profile secure` through the `wirekit` binary (docs/protocol.md section 5): every
//! exchange in both roles between two wirekits and against Python's `noiseprotocol`
//! (`tests/python/noise_peer.py`), then the hostile rows h400–h408 (tests/hostile/README.md):
//! relays that alter, swap, cut or redirect records, data after close_notify, short keys,
//! limits inside the channel and a replayed message 1.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::thread::{self, JoinHandle};

use wirekit_tests::hostile::{listing, seed_prefixed, upload, IO_LIMIT};
use wirekit_tests::{args, python, run, wirekit, Child, Output, CHILD_LIMIT};

const KEY: &str = "secure cli key, 16+ bytes";
const OTHER_KEY: &str = "another key of 16+ bytes";

/// `wirekit A... --profile secure --key KEY --timeout 10`.
fn secure(a: &[&str]) -> Command {
    secure_with(a, KEY)
}

fn secure_with(a: &[&str], key: &str) -> Command {
    let mut all = a.to_vec();
    all.extend_from_slice(&["--profile", "secure", "--key", key, "--timeout", "10"]);
    args(wirekit(), all)
}

/// A wirekit server on a free port serving one connection.
fn server(a: &[&str], key: &str, cwd: &Path) -> (Child, SocketAddr) {
    let mut all = a.to_vec();
    all.extend_from_slice(&["--listen=127.0.0.1:0", "--once"]);
    let mut cmd = secure_with(&all, key);
    cmd.current_dir(cwd);
    Child::server(cmd, &format!("wirekit {}", a.join(" ")))
}

/// The bytes `noise_peer.py` printed as `received HEX`.
fn python_received(out: &Output) -> Vec<u8> {
    let line = out.lines().into_iter().find_map(|l| l.strip_prefix("received ")).unwrap_or("");
    (0..line.len() / 2).map(|i| u8::from_str_radix(&line[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// `noise_peer.py MODE 127.0.0.1 PORT SERVICE KEY --send-stdin EXTRA...` with `send` on its
/// stdin, running.
fn noise_peer(mode: &str, port: u16, service: &str, send: &[u8], extra: &[&str]) -> Child {
    let port = port.to_string();
    let mut a = vec![mode, "127.0.0.1", &port, service, KEY, "--send-stdin"];
    a.extend_from_slice(extra);
    Child::spawn_with_stdin(args(python("noise_peer.py"), a), "noise_peer.py", send)
}

/// [`noise_peer`] connecting to `port`, to its end.
fn noise_connect(port: u16, service: &str, send: &[u8], extra: &[&str]) -> Output {
    noise_peer("connect", port, service, send, extra).wait_output(CHILD_LIMIT)
}

fn addr_arg(addr: SocketAddr) -> String {
    format!("--connect={addr}")
}

/// What a relay does with one message from the initiator.
enum Forward {
    /// Pass these bytes on (the message, changed or not, or nothing to hold it back).
    Pass(Vec<u8>),
    /// Close both connections without passing it on.
    Cut,
}

/// A relay for one connection to `target`: each Noise message from the connecting side (the
/// initiator), with its 2-byte length, goes through `tamper(index, message)` (index 0 is
/// handshake message 1); the other direction is copied as it is. Returns the messages seen.
fn relay(
    target: SocketAddr,
    mut tamper: impl FnMut(usize, Vec<u8>) -> Forward + Send + 'static,
) -> (SocketAddr, JoinHandle<Vec<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        let mut server = TcpStream::connect(target).unwrap();
        for s in [&client, &server] {
            s.set_read_timeout(Some(IO_LIMIT)).unwrap();
        }
        let (mut from_server, mut to_client) =
            (server.try_clone().unwrap(), client.try_clone().unwrap());
        let back = thread::spawn(move || {
            let _ = std::io::copy(&mut from_server, &mut to_client);
            let _ = to_client.shutdown(Shutdown::Write);
        });
        let mut seen = Vec::new();
        loop {
            let mut message = vec![0u8; 2];
            if client.read_exact(&mut message).is_err() {
                let _ = server.shutdown(Shutdown::Write);
                break;
            }
            let len = usize::from(u16::from_be_bytes([message[0], message[1]]));
            message.resize(2 + len, 0);
            if client.read_exact(&mut message[2..]).is_err() {
                let _ = server.shutdown(Shutdown::Write);
                break;
            }
            seen.push(message.clone());
            match tamper(seen.len() - 1, message) {
                Forward::Pass(bytes) => {
                    if server.write_all(&bytes).is_err() {
                        break;
                    }
                }
                Forward::Cut => {
                    let _ = server.shutdown(Shutdown::Both);
                    let _ = client.shutdown(Shutdown::Both);
                    break;
                }
            }
        }
        let _ = back.join();
        seen
    });
    (addr, handle)
}

/// Flip one bit of the ciphertext of initiator message `index`.
fn flip(index: usize) -> impl FnMut(usize, Vec<u8>) -> Forward + Send + 'static {
    move |i, mut message| {
        if i == index {
            message[2] ^= 0x01;
        }
        Forward::Pass(message)
    }
}

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn tcp_both_roles_between_wirekits() {
    let cwd = tempfile::tempdir().unwrap();
    let (srv, addr) = server(&["tcp", "server"], KEY, cwd.path());
    let client = run(secure(&["tcp", "client", &addr_arg(addr), "hello", "吃了吗?"]), "client");
    assert_eq!(client.code(), 0, "{client}");
    assert_eq!(client.lines(), ["hi", "吃了"]);
    let srv = srv.wait_output(CHILD_LIMIT);
    assert_eq!(srv.code(), 0, "{srv}");
    assert_eq!(srv.lines(), ["hello", "吃了吗?"]);
}

#[test]
fn auth_both_roles_and_a_wrong_key_exits_5_on_both_sides() {
    let cwd = tempfile::tempdir().unwrap();
    let (srv, addr) = server(&["auth", "server"], KEY, cwd.path());
    let client = run(secure(&["auth", "client", &addr_arg(addr)]), "auth client");
    assert_eq!(client.code(), 0, "{client}");
    assert!(client.stdout.contains("authenticated"), "{client}");
    let srv = srv.wait_output(CHILD_LIMIT);
    assert_eq!((srv.code(), srv.lines()), (0, vec!["合法的客户端 legit client"]), "{srv}");

    let (srv, addr) = server(&["auth", "server"], KEY, cwd.path());
    let client = run(secure_with(&["auth", "client", &addr_arg(addr)], OTHER_KEY), "client");
    assert_eq!(client.code(), 5, "{client}");
    let srv = srv.wait_output(CHILD_LIMIT);
    assert_eq!(srv.code(), 5, "{srv}");
    assert!(srv.stdout.contains("illegitimate client"), "{srv}");
    assert!(!srv.stdout.contains(" legit client"), "{srv}");
}

#[test]
fn exec_runs_commands_with_framed_replies_and_both_sides_exit_0() {
    let cwd = tempfile::tempdir().unwrap();
    let (agent, addr) = server(&["exec", "agent"], KEY, cwd.path());
    let controller = run(
        secure(&["exec", "controller", &addr_arg(addr), "-c", "echo 吃了", "-c", "echo err >&2"]),
        "controller",
    );
    assert_eq!(controller.code(), 0, "{controller}");
    assert_eq!(controller.lines(), ["吃了", "err"]);
    let agent = agent.wait_output(CHILD_LIMIT);
    assert_eq!(agent.code(), 0, "{agent}");
}

#[test]
fn exec_with_the_agent_connecting_and_commands_typed_on_stdin() {
    // The controller listens (the Noise responder) and reads its commands from stdin; the
    // agent connects (the initiator).
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = secure(&["exec", "controller", "--listen=127.0.0.1:0"]);
    cmd.current_dir(cwd.path());
    let mut controller = Child::spawn_with_stdin(cmd, "controller", "echo typed\nq\n".as_bytes());
    let addr = controller.wait_listening();
    let mut cmd = secure(&["exec", "agent", &addr_arg(addr)]);
    cmd.current_dir(cwd.path());
    let agent = run(cmd, "exec agent --connect");
    assert_eq!(agent.code(), 0, "{agent}");
    assert!(agent.stderr.contains("ran \"echo typed\""), "{agent}");
    let controller = controller.wait_output(CHILD_LIMIT);
    assert_eq!((controller.code(), controller.lines()), (0, vec!["typed"]), "{controller}");
}

#[test]
fn no_clobber_applies_inside_the_channel() {
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("dst");
    std::fs::create_dir_all(&dst).unwrap();
    std::fs::write(dst.join("keep.txt"), b"older").unwrap();
    let path = dir.path().join("keep.txt");
    std::fs::write(&path, b"newer").unwrap();
    let dst_arg = dst.to_str().unwrap();
    let (recv, addr) = server(&["file", "recv", "--dir", dst_arg, "--no-clobber"], KEY, dir.path());
    let send = run(secure(&["file", "send", "-q", &addr_arg(addr), path.to_str().unwrap()]), "s");
    assert_eq!(send.code(), 1, "{send}");
    assert_eq!(recv.wait_output(CHILD_LIMIT).code(), 4);
    assert_eq!(std::fs::read(dst.join("keep.txt")).unwrap(), b"older");
    assert_eq!(listing(&dst), ["keep.txt"]);
}

#[test]
fn file_both_directions_arrive_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&dst).unwrap();
    let data = body(3 << 20 | 12_345);
    std::fs::write(src.join("数据.bin"), &data).unwrap();
    let path = src.join("数据.bin");
    let path = path.to_str().unwrap();
    let dst_arg = dst.to_str().unwrap();

    // The receiver listens (and is the Noise responder).
    let (recv, addr) = server(&["file", "recv", "--dir", dst_arg], KEY, dir.path());
    let send = run(secure(&["file", "send", "-q", &addr_arg(addr), path]), "file send");
    assert_eq!(send.code(), 0, "{send}");
    assert_eq!(recv.wait_output(CHILD_LIMIT).code(), 0);
    assert_eq!(std::fs::read(dst.join("数据.bin")).unwrap(), data);
    std::fs::remove_file(dst.join("数据.bin")).unwrap();

    // The sender listens (and is the Noise responder).
    let (send, addr) = server(&["file", "send", "-q", path], KEY, dir.path());
    let recv = run(secure(&["file", "recv", "-q", "--dir", dst_arg, &addr_arg(addr)]), "recv");
    assert_eq!(recv.code(), 0, "{recv}");
    assert_eq!(send.wait_output(CHILD_LIMIT).code(), 0);
    assert_eq!(std::fs::read(dst.join("数据.bin")).unwrap(), data);
}

#[test]
fn python_initiators_against_wirekit_servers_of_each_exchange() {
    if !wirekit_tests::noise_peer_can_run(
        "python_initiators_against_wirekit_servers_of_each_exchange",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();

    // tcp: raw text inside; the server answers and closes after our close_notify.
    let (srv, addr) = server(&["tcp", "server"], KEY, cwd);
    let py = noise_connect(addr.port(), "tcp", b"hello", &[]);
    assert_eq!(py.code(), 0, "{py}");
    assert_eq!(python_received(&py), "hi".as_bytes());
    assert_eq!(srv.wait_output(CHILD_LIMIT).lines(), ["hello"]);

    // auth: close_notify as the first transport message.
    let (srv, addr) = server(&["auth", "server"], KEY, cwd);
    let py = noise_connect(addr.port(), "auth", b"", &[]);
    assert_eq!(py.code(), 0, "{py}");
    let srv = srv.wait_output(CHILD_LIMIT);
    assert_eq!((srv.code(), srv.lines()), (0, vec!["合法的客户端 legit client"]), "{srv}");

    // exec: seed-framed commands, `q` framed, demo2-framed replies.
    let (agent, addr) = server(&["exec", "agent"], KEY, cwd);
    let commands = [seed_prefixed(b"printf abc; printf de >&2"), seed_prefixed(b"q")].concat();
    let py = noise_connect(addr.port(), "exec", &commands, &[]);
    assert_eq!(py.code(), 0, "{py}");
    assert_eq!(python_received(&py), seed_prefixed(b"abcde"));
    assert_eq!(agent.wait_output(CHILD_LIMIT).code(), 0);

    // file: a demo3 upload inside; the receiver's close_notify comes after the commit.
    let dst = cwd.join("in");
    std::fs::create_dir_all(&dst).unwrap();
    let (recv, addr) = server(&["file", "recv", "--dir", dst.to_str().unwrap()], KEY, cwd);
    let data = body(200_000);
    let py = noise_connect(addr.port(), "file", &upload("py.bin", data.len() as i64, &data), &[]);
    assert_eq!(py.code(), 0, "{py}");
    assert_eq!(python_received(&py), b"");
    assert_eq!(recv.wait_output(CHILD_LIMIT).code(), 0);
    assert_eq!(std::fs::read(dst.join("py.bin")).unwrap(), data);
}

#[test]
fn wirekit_initiators_against_python_responders_of_each_exchange() {
    if !wirekit_tests::noise_peer_can_run(
        "wirekit_initiators_against_python_responders_of_each_exchange",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let listen = |service: &str, send: &[u8]| {
        let mut peer = noise_peer("listen", 0, service, send, &[]);
        let addr = peer.wait_listening();
        (peer, addr)
    };

    let (py, addr) = listen("tcp", b"hi");
    let client = run(secure(&["tcp", "client", &addr_arg(addr), "hello"]), "tcp client");
    assert_eq!((client.code(), client.lines()), (0, vec!["hi"]), "{client}");
    assert_eq!(python_received(&py.wait_output(CHILD_LIMIT)), b"hello");

    let (py, addr) = listen("auth", b"");
    let client = run(secure(&["auth", "client", &addr_arg(addr)]), "auth client");
    assert_eq!(client.code(), 0, "{client}");
    let py = py.wait_output(CHILD_LIMIT);
    assert_eq!((py.code(), python_received(&py)), (0, vec![]), "{py}");

    // A canned agent: the demo2 reply to the one command, sent up front.
    let (py, addr) = listen("exec", &seed_prefixed(b"ok\n"));
    let controller = run(secure(&["exec", "controller", &addr_arg(addr), "-c", "echo ok"]), "ctl");
    assert_eq!((controller.code(), controller.lines()), (0, vec!["ok"]), "{controller}");
    let py = py.wait_output(CHILD_LIMIT);
    assert_eq!(python_received(&py), [seed_prefixed(b"echo ok"), seed_prefixed(b"q")].concat());

    let path = dir.path().join("to-python.bin");
    let data = body(100_000);
    std::fs::write(&path, &data).unwrap();
    let (py, addr) = listen("file", b"");
    let send =
        run(secure(&["file", "send", "-q", &addr_arg(addr), path.to_str().unwrap()]), "file send");
    assert_eq!(send.code(), 0, "{send}");
    let py = py.wait_output(CHILD_LIMIT);
    let header = r#"{"filename": "to-python.bin", "filepath": "", "filesize": 100000}"#;
    assert_eq!(python_received(&py), [seed_prefixed(header.as_bytes()), data].concat());
}

#[test]
fn h400_a_relay_that_alters_a_command_record_runs_nothing_and_both_sides_exit_1() {
    let cwd = tempfile::tempdir().unwrap();
    let (agent, target) = server(&["exec", "agent"], KEY, cwd.path());
    let (addr, relayed) = relay(target, flip(1));
    let controller =
        run(secure(&["exec", "controller", &addr_arg(addr), "-c", "touch PWNED; echo hello"]), "c");
    assert_eq!(controller.code(), 1, "{controller}");
    let agent = agent.wait_output(CHILD_LIMIT);
    assert_eq!(agent.code(), 1, "{agent}");
    assert!(agent.stderr.contains("authentication tag"), "{agent}");
    relayed.join().unwrap();
    assert!(!cwd.path().join("PWNED").exists());
    assert!(!agent.stderr.contains("ran "), "{agent}");
}

/// A file sender through `relay` to a listening receiver; returns (sender, receiver, dir).
fn file_through(
    tamper: impl FnMut(usize, Vec<u8>) -> Forward + Send + 'static,
    data: &[u8],
) -> (Output, Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("dst");
    std::fs::create_dir_all(&dst).unwrap();
    let path = dir.path().join("up.bin");
    std::fs::write(&path, data).unwrap();
    let (recv, target) = server(&["file", "recv", "--dir", dst.to_str().unwrap()], KEY, dir.path());
    let (addr, relayed) = relay(target, tamper);
    let send = run(secure(&["file", "send", "-q", &addr_arg(addr), path.to_str().unwrap()]), "s");
    let recv = recv.wait_output(CHILD_LIMIT);
    relayed.join().unwrap();
    (send, recv, dir)
}

#[test]
fn h401_a_relay_that_alters_a_body_byte_saves_nothing_and_the_sender_exits_1() {
    let (send, recv, dir) = file_through(flip(2), &body(50_000));
    assert_eq!(send.code(), 1, "{send}");
    assert_eq!(recv.code(), 1, "{recv}");
    assert!(recv.stderr.contains("authentication tag"), "{recv}");
    assert!(listing(&dir.path().join("dst")).is_empty());
}

#[test]
fn h402_a_relay_that_swaps_the_header_and_body_records_saves_nothing() {
    let mut held = None;
    let swap = move |i, message: Vec<u8>| match i {
        1 => {
            held = Some(message);
            Forward::Pass(Vec::new())
        }
        2 => Forward::Pass([message, held.take().unwrap_or_default()].concat()),
        _ => Forward::Pass(message),
    };
    let (send, recv, dir) = file_through(swap, &body(50_000));
    assert_eq!(send.code(), 1, "{send}");
    assert_eq!(recv.code(), 1, "{recv}");
    assert!(listing(&dir.path().join("dst")).is_empty());
}

#[test]
fn h403_a_transfer_cut_before_close_notify_commits_nothing_and_the_sender_exits_1() {
    // The whole body passes; only the sender's close_notify (18 bytes with its length) is
    // withheld, then both connections close.
    let cut = |i, message: Vec<u8>| {
        if i > 0 && message.len() == 2 + 16 {
            Forward::Cut
        } else {
            Forward::Pass(message)
        }
    };
    let (send, recv, dir) = file_through(cut, &body(50_000));
    assert_eq!(send.code(), 1, "{send}");
    assert_eq!(recv.code(), 1, "{recv}");
    assert!(recv.stderr.contains("without close_notify"), "{recv}");
    assert!(listing(&dir.path().join("dst")).is_empty());
}

#[test]
fn h404_a_relay_into_another_service_fails_the_handshake_with_exit_5() {
    let cwd = tempfile::tempdir().unwrap();
    // An exec controller relayed into a file receiver.
    let (recv, target) = server(&["file", "recv", "--dir", "."], KEY, cwd.path());
    let (addr, relayed) = relay(target, |_, m| Forward::Pass(m));
    let controller = run(secure(&["exec", "controller", &addr_arg(addr), "-c", "true"]), "ctl");
    assert_eq!(controller.code(), 5, "{controller}");
    assert_eq!(recv.wait_output(CHILD_LIMIT).code(), 5);
    relayed.join().unwrap();
    // A file sender relayed into an exec agent.
    let path = cwd.path().join("x.bin");
    std::fs::write(&path, b"touch PWNED").unwrap();
    let (agent, target) = server(&["exec", "agent"], KEY, cwd.path());
    let (addr, relayed) = relay(target, |_, m| Forward::Pass(m));
    let send = run(secure(&["file", "send", &addr_arg(addr), path.to_str().unwrap()]), "send");
    assert_eq!(send.code(), 5, "{send}");
    assert_eq!(agent.wait_output(CHILD_LIMIT).code(), 5);
    relayed.join().unwrap();
    assert_eq!(listing(cwd.path()), ["x.bin"]);
}

#[test]
fn h405_data_after_close_notify_saves_nothing_and_ends_the_tcp_server_with_exit_1() {
    if !wirekit_tests::noise_peer_can_run(
        "h405_data_after_close_notify_saves_nothing_and_ends_the_tcp_server_with_exit_1",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("in");
    std::fs::create_dir_all(&dst).unwrap();
    let (recv, addr) = server(&["file", "recv", "--dir", dst.to_str().unwrap()], KEY, dir.path());
    let data = body(10_000);
    let wire = upload("late.bin", data.len() as i64, &data);
    let py = noise_connect(addr.port(), "file", &wire, &["--junk-after-close"]);
    assert_ne!(py.code(), 0, "{py}");
    let recv = recv.wait_output(CHILD_LIMIT);
    assert_eq!(recv.code(), 1, "{recv}");
    assert!(recv.stderr.contains("after the peer's close_notify"), "{recv}");
    assert!(listing(&dst).is_empty());

    let (srv, addr) = server(&["tcp", "server"], KEY, dir.path());
    let py = noise_connect(addr.port(), "tcp", b"hello", &["--junk-after-close"]);
    assert_ne!(py.code(), 0, "{py}");
    let srv = srv.wait_output(CHILD_LIMIT);
    assert_eq!(srv.code(), 1, "{srv}");
}

#[test]
fn h406_a_short_or_missing_key_is_refused_at_start_naming_keygen() {
    // Nothing listens on the port: exit 2 (not 1) shows that no connection was tried.
    let nobody = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    drop(TcpListener::bind(nobody));
    let to = addr_arg(nobody);
    let short = "fifteen bytes!!";
    assert_eq!(short.len(), 15);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    let roles: [&[&str]; 8] = [
        &["tcp", "client", &to],
        &["tcp", "server", "--listen=127.0.0.1:0"],
        &["auth", "client", &to],
        &["auth", "server", "--listen=127.0.0.1:0"],
        &["exec", "controller", &to, "-c", "true"],
        &["exec", "agent", &to],
        &["file", "send", &to, file.to_str().unwrap()],
        &["file", "recv", &to, "--dir", dir.path().to_str().unwrap()],
    ];
    for role in roles {
        let out = run(secure_with(role, short), "short key");
        assert_eq!(out.code(), 2, "{role:?}: {out}");
        assert!(out.stderr.contains("wirekit keygen") && out.stderr.contains("got 15"), "{out}");
        let mut none = role.to_vec();
        none.extend_from_slice(&["--profile", "secure"]);
        let out = run(args(wirekit(), none), "no key");
        assert_eq!(out.code(), 2, "{role:?}: {out}");
        assert!(out.stderr.contains("wirekit keygen"), "{out}");
    }
}

#[test]
fn h407_the_receivers_limits_apply_inside_the_channel() {
    if !wirekit_tests::noise_peer_can_run("h407_the_receivers_limits_apply_inside_the_channel") {
        return;
    }
    // A file over --max-size: refused (exit 4), nothing saved, the sender exits 1.
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("in");
    std::fs::create_dir_all(&dst).unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, body(20_000)).unwrap();
    let dst_arg = dst.to_str().unwrap();
    let (recv, addr) =
        server(&["file", "recv", "--dir", dst_arg, "--max-size", "10K"], KEY, dir.path());
    let send = run(secure(&["file", "send", "-q", &addr_arg(addr), path.to_str().unwrap()]), "s");
    assert_eq!(send.code(), 1, "{send}");
    assert_eq!(recv.wait_output(CHILD_LIMIT).code(), 4);
    assert!(listing(&dst).is_empty());

    // A command over the agent's 1024-byte limit: refused before anything runs.
    let (agent, addr) = server(&["exec", "agent"], KEY, dir.path());
    let long = format!("touch PWNED; echo {}", "x".repeat(1100));
    let py = noise_connect(addr.port(), "exec", &seed_prefixed(long.as_bytes()), &[]);
    assert_ne!(py.code(), 0, "{py}");
    let agent = agent.wait_output(CHILD_LIMIT);
    assert_eq!(agent.code(), 1, "{agent}");
    assert!(!dir.path().join("PWNED").exists());
}

#[test]
fn h408_a_replayed_message_1_runs_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    // Record a real controller's message 1 on its way to an agent.
    let (agent, target) = server(&["exec", "agent"], KEY, cwd.path());
    let (addr, relayed) = relay(target, |_, m| Forward::Pass(m));
    let ok = run(secure(&["exec", "controller", &addr_arg(addr), "-c", "echo first"]), "ctl");
    assert_eq!(ok.code(), 0, "{ok}");
    assert_eq!(agent.wait_output(CHILD_LIMIT).code(), 0);
    let seen = relayed.join().unwrap();
    // Replay it, and the recorded command record, to a fresh agent.
    let (agent, addr) = server(&["exec", "agent"], KEY, cwd.path());
    let mut attacker = TcpStream::connect(addr).unwrap();
    attacker.set_read_timeout(Some(IO_LIMIT)).unwrap();
    attacker.write_all(&seen[0]).unwrap();
    let mut message_2 = [0u8; 52];
    attacker.read_exact(&mut message_2).unwrap();
    attacker.write_all(&seen[1]).unwrap();
    let agent = agent.wait_output(CHILD_LIMIT);
    assert_eq!(agent.code(), 1, "{agent}");
    assert!(!agent.stderr.contains("ran "), "{agent}");
}
