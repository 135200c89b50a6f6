//! The Python peers against each other and against raw sockets, so that the peers the
//! wirekit tests rely on are themselves known to speak docs/protocol.md byte for byte.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use wirekit_tests::{args, python, run, Child, CHILD_LIMIT};

fn port(addr: std::net::SocketAddr) -> String {
    addr.port().to_string()
}

#[test]
fn exec_framed_pair_runs_commands() {
    let (controller, addr) = Child::server(
        args(python("exec_controller.py"), ["127.0.0.1", "0", "echo 吃了", "echo err >&2"]),
        "exec_controller.py",
    );
    let agent = run(args(python("exec_agent.py"), ["127.0.0.1", &port(addr)]), "exec_agent.py");
    assert_eq!(agent.code(), 0, "{agent}");
    let out = controller.success();
    // The command text travelled as GBK, the output comes back as the shell printed it.
    assert!(out.stdout.contains("err"), "{out}");
}

#[test]
fn exec_agent_frames_with_struct_pack_i() {
    // Play the controller by hand: demo2's prefix is little-endian len(stdout)+len(stderr).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let agent = Child::spawn(args(python("exec_agent.py"), ["127.0.0.1", &port(addr)]), "agent");
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    conn.write_all(b"printf abc; printf de >&2").unwrap();
    let mut reply = [0u8; 9];
    conn.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"\x05\x00\x00\x00abcde");
    conn.write_all(b"q").unwrap();
    assert_eq!(agent.wait_output(CHILD_LIMIT).code(), 0);
}

#[test]
fn file_header_is_json_dumps_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("数据 📦.txt");
    std::fs::write(&path, b"body").unwrap();
    let (sender, addr) = Child::server(
        args(python("file_send.py"), ["listen", "127.0.0.1", "0", path.to_str().unwrap()]),
        "file_send.py",
    );
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut all = Vec::new();
    conn.read_to_end(&mut all).unwrap();
    let (prefix, rest) = all.split_at(4);
    let head_len = i32::from_le_bytes(prefix.try_into().unwrap()) as usize;
    let (head, body) = rest.split_at(head_len);
    let head = std::str::from_utf8(head).unwrap();
    let dir_json = dir.path().to_str().unwrap().replace('\\', "\\\\");
    let expected = format!(
        r#"{{"filepath": "{dir_json}", "filename": "\u6570\u636e \ud83d\udce6.txt", "filesize": 4}}"#
    );
    assert_eq!(head, expected);
    assert_eq!(body, b"body");
    sender.success();
}

fn file_pair(name: &str, body: &[u8], sender_listens: bool) {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let path = src.path().join(name);
    std::fs::write(&path, body).unwrap();
    let path = path.to_str().unwrap();
    let dst_s = dst.path().to_str().unwrap();
    let (server, client) = if sender_listens {
        let (s, addr) = Child::server(
            args(python("file_send.py"), ["listen", "127.0.0.1", "0", path]),
            "file_send.py",
        );
        let c = run(
            args(python("file_recv.py"), ["connect", "127.0.0.1", &port(addr), dst_s]),
            "file_recv.py",
        );
        (s, c)
    } else {
        let (s, addr) = Child::server(
            args(python("file_recv.py"), ["listen", "127.0.0.1", "0", dst_s]),
            "file_recv.py",
        );
        let c = run(
            args(python("file_send.py"), ["connect", "127.0.0.1", &port(addr), path]),
            "file_send.py",
        );
        (s, c)
    };
    assert_eq!(client.code(), 0, "{client}");
    server.success();
    assert_eq!(std::fs::read(dst.path().join(name)).unwrap(), body);
}

#[test]
fn file_pair_cjk_emoji_name() {
    file_pair("数据 📦.bin", b"hello file", true);
}

#[test]
fn file_pair_zero_bytes() {
    file_pair("empty", b"", false);
}

#[test]
fn file_pair_20_mib() {
    let body: Vec<u8> =
        (0..20 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    file_pair("big.bin", &body, true);
}

#[test]
fn file_recv_reports_a_cut_body() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let path = src.path().join("cut.bin");
    std::fs::write(&path, vec![7u8; 5000]).unwrap();
    let (sender, addr) = Child::server(
        args(
            python("file_send.py"),
            ["listen", "127.0.0.1", "0", path.to_str().unwrap(), "--cut", "3000"],
        ),
        "file_send.py",
    );
    let out = run(
        args(
            python("file_recv.py"),
            ["connect", "127.0.0.1", &port(addr), dst.path().to_str().unwrap()],
        ),
        "file_recv.py",
    );
    assert_ne!(out.code(), 0, "{out}");
    assert!(out.stderr.contains("short file: 3000 of 5000"), "{out}");
    sender.success();
}

fn auth_pair(server_key: &str, client_key: &str) -> (i32, String) {
    let (server, addr) = Child::server(
        args(python("auth_server.py"), ["127.0.0.1", "0", server_key]),
        "auth_server.py",
    );
    let client =
        run(args(python("auth_client.py"), ["127.0.0.1", &port(addr), client_key]), "auth_client");
    assert_eq!(client.code(), 0, "{client}");
    let out = server.wait_output(CHILD_LIMIT);
    (out.code(), out.stdout)
}

#[test]
fn auth_pair_right_and_wrong_key() {
    let (code, text) = auth_pair("egg", "egg");
    assert_eq!((code, text.trim()), (0, "合法的客户端 legit client"));
    let (code, text) = auth_pair("egg", "spam");
    assert_eq!((code, text.trim()), (1, "不合法的客户端 illegitimate client"));
}

#[test]
fn auth_client_answers_hmac_md5() {
    // Known answer: HMAC-MD5(b"egg", 32 zero bytes), from Python's hmac module.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = Child::spawn(
        args(python("auth_client.py"), ["127.0.0.1", &port(addr), "egg"]),
        "auth_client.py",
    );
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    conn.write_all(&[0u8; 32]).unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).unwrap();
    assert_eq!(answer.len(), 16);
    let expected = run(
        args(
            std::process::Command::new("python3"),
            ["-c", "import hmac;print(hmac.new(b'egg', bytes(32), 'md5').hexdigest())"],
        ),
        "python3 -c",
    );
    let hex: String = answer.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, expected.stdout.trim());
    client.success();
}

fn mp_pair(listener_key: &str, client_key: &str) -> (wirekit_tests::Output, wirekit_tests::Output) {
    let (listener, addr) = Child::server(
        args(python("mp_listener.py"), ["127.0.0.1", "0", "--key", listener_key]),
        "mp_listener.py",
    );
    let client = run(
        args(python("mp_client.py"), ["127.0.0.1", &port(addr), "--key", client_key, "ping"]),
        "mp_client.py",
    );
    (listener.wait_output(CHILD_LIMIT), client)
}

#[test]
fn mp_pair_right_key_then_traffic() {
    let (listener, client) = mp_pair("egg", "egg");
    assert_eq!(client.code(), 0, "{client}");
    assert_eq!(client.lines(), ["hi"]);
    assert_eq!(listener.code(), 0, "{listener}");
    assert_eq!(listener.lines(), ["legit client", "ping"]);
}

#[test]
fn mp_pair_wrong_key_fails_both_sides() {
    let (listener, client) = mp_pair("egg", "spam");
    assert_eq!(listener.code(), 2, "{listener}");
    assert_eq!(client.code(), 2, "{client}");
    assert!(client.stdout.contains("authentication failed"), "{client}");
}

#[test]
fn exec_raw_pair_runs_commands() {
    let (controller, addr) = Child::server(
        args(
            python("exec_controller.py"),
            ["127.0.0.1", "0", "--raw", "--encoding", "utf-8", "echo 吃了"],
        ),
        "exec_controller.py --raw",
    );
    let agent = run(
        args(python("exec_agent.py"), ["127.0.0.1", &port(addr), "--raw", "--encoding", "utf-8"]),
        "exec_agent.py --raw",
    );
    assert_eq!(agent.code(), 0, "{agent}");
    assert_eq!(controller.success().lines(), ["吃了", ""]);
}
