//! Errors that name their cause and exit codes that follow the README table (issue 12 items 7
//! and 8): a key or profile mismatch is reported as one, with the key's source and the fix.

use wirekit_tests::{args, run, wirekit, wirekit_server, Output, CHILD_LIMIT};

/// Start `server` (listening), run `client` against it; (server, client) outputs.
fn against(server: &[&str], client: &[&str]) -> (Output, Output) {
    let (server, addr) = wirekit_server(server, "wirekit server");
    let a = addr.to_string();
    let mut c = client.to_vec();
    c.extend(["--connect", &a, "--timeout", "5"]);
    let client = run(args(wirekit(), c), "wirekit client");
    (server.wait_output(CHILD_LIMIT), client)
}

#[test]
fn a_seed_auth_client_against_an_mp_server_names_the_profile_and_fails() {
    let (_, client) = against(
        &["auth", "server", "--profile", "mp", "--key", "egg"],
        &["auth", "client", "--key", "egg"],
    );
    assert_eq!(client.code(), 1, "{client}");
    assert!(client.stderr.contains("--profile mp"), "{client}");
    assert!(!client.stdout.contains("answered"), "{client}");
}

#[test]
fn a_wrong_key_file_is_named_on_the_connecting_side() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("wrong.key");
    std::fs::write(&key_file, b"spam").unwrap();
    let key_arg = key_file.to_str().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, b"abc").unwrap();
    let recv_dir = dir.path().join("in");
    std::fs::create_dir(&recv_dir).unwrap();
    let server = ["file", "recv", "--dir", recv_dir.to_str().unwrap(), "--key", "egg"];
    let client = ["file", "send", file.to_str().unwrap(), "--key-file", key_arg];
    let (server, client) = against(&server, &client);
    assert_eq!((server.code(), client.code()), (5, 5), "{server}\n{client}");
    assert!(client.stderr.contains(&format!("key file {key_arg}")), "{client}");
    assert!(client.stderr.contains("rejected our answer"), "{client}");
    assert!(std::fs::read_dir(&recv_dir).unwrap().next().is_none());
}

#[test]
fn a_key_on_one_side_only_is_named_on_the_side_without() {
    // `WIREKIT_KEY` on the sender only: the receiver read its challenge as a header length.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, b"abc").unwrap();
    let (server, addr) = {
        let mut cmd = args(
            wirekit(),
            ["file", "send", file.to_str().unwrap(), "--listen", "127.0.0.1:0", "--once"],
        );
        cmd.env("WIREKIT_KEY", "egg").args(["--timeout", "3"]);
        wirekit_tests::Child::server(cmd, "keyed file send")
    };
    let a = addr.to_string();
    let d = dir.path().to_str().unwrap();
    let mut cmd = args(wirekit(), ["file", "recv", "--connect", &a, "--dir", d, "--timeout", "3"]);
    cmd.env_remove("WIREKIT_KEY");
    let client = run(cmd, "unkeyed file recv");
    let server = server.wait_output(CHILD_LIMIT);
    assert_ne!(client.code(), 0, "{client}");
    assert!(client.stderr.contains("give this side the same key"), "{client}");
    // The keyed side names its key source and the likely cause.
    assert!(server.stderr.contains("WIREKIT_KEY"), "{server}");
}

#[test]
fn require_sha256_against_an_md5_only_peer_is_exit_5() {
    // A strict client, a server that sends Python 3.11's legacy (MD5) challenge.
    let (_, client) = against(
        &["auth", "server", "--profile", "mp", "--key", "egg"],
        &["auth", "client", "--profile", "mp", "--key", "egg", "--mp-require-sha256"],
    );
    assert_eq!(client.code(), 5, "{client}");
    assert!(client.stderr.contains("drop --mp-require-sha256"), "{client}");
}

#[test]
fn an_empty_key_is_a_usage_error() {
    let out = run(args(wirekit(), ["auth", "client", "--key", ""]), "wirekit");
    assert_eq!(out.code(), 2, "{out}");
    let mut cmd = args(wirekit(), ["auth", "client"]);
    cmd.env("WIREKIT_KEY", "");
    let out = run(cmd, "wirekit");
    assert_eq!(out.code(), 2, "{out}");
    assert!(out.stderr.contains("WIREKIT_KEY is empty"), "{out}");
}

#[test]
fn an_address_without_a_port_is_a_usage_error() {
    let out = run(args(wirekit(), ["tcp", "client", "--connect", "no-port-here", "hi"]), "wirekit");
    assert_eq!(out.code(), 2, "{out}");
}

#[test]
fn a_wrong_key_on_the_tcp_client_is_exit_5_and_says_so() {
    let (server, client) =
        against(&["tcp", "server", "--key", "egg"], &["tcp", "client", "--key", "spam", "hello"]);
    assert_eq!((server.code(), client.code()), (5, 5), "{server}\n{client}");
    assert!(client.stderr.contains("its key is not ours (ours is from --key)"), "{client}");
    assert!(client.stdout.is_empty(), "{client}");
}
