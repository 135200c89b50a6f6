//! The `wirekit` binary's command line: help, exit codes, one-line errors, keygen, and the
//! subcommands that are not wired yet.

use wirekit_tests::{args, run, wirekit};

#[test]
fn help_explains_commands_and_exit_codes() {
    let out = run(args(wirekit(), ["--help"]), "wirekit --help");
    assert_eq!(out.code(), 0, "{out}");
    for word in ["tcp", "udp", "exec", "file", "auth", "keygen", "demo", "Exit codes:"] {
        assert!(out.stdout.contains(word), "{word} missing:\n{out}");
    }
    for sub in [&["tcp", "server"][..], &["exec", "agent"], &["file", "recv"], &["auth", "client"]]
    {
        let mut a = sub.to_vec();
        a.push("--help");
        let out = run(args(wirekit(), a), "wirekit … --help");
        assert_eq!(out.code(), 0, "{out}");
        assert!(out.stdout.contains("Usage: wirekit"), "{out}");
    }
}

#[test]
fn bad_usage_is_exit_2() {
    let out = run(args(wirekit(), ["tcp", "server", "--no-such-option"]), "wirekit");
    assert_eq!(out.code(), 2, "{out}");
    let out = run(args(wirekit(), ["auth", "client", "--key", "a", "--key-file", "b"]), "wirekit");
    assert_eq!(out.code(), 2, "{out}");
}

#[test]
fn connection_refused_is_exit_1_with_one_line() {
    for a in [
        &["tcp", "client", "--connect", "127.0.0.1:1"][..],
        &["exec", "agent", "--insecure", "--connect", "127.0.0.1:1"],
        &["auth", "client", "--key", "egg", "--connect", "127.0.0.1:1"],
        &["file", "recv", "--connect", "127.0.0.1:1"],
    ] {
        let out = run(args(wirekit(), a), "wirekit");
        assert_eq!(out.code(), 1, "{a:?}: {out}");
        assert_eq!(out.stderr.lines().count(), 1, "{a:?}: {out}");
        assert!(out.stderr.contains("cannot connect to 127.0.0.1:1"), "{out}");
    }
}

#[test]
fn agent_without_key_or_insecure_is_refused() {
    let out = run(args(wirekit(), ["exec", "agent"]), "wirekit");
    assert_eq!(out.code(), 2, "{out}");
    assert!(out.stderr.contains("--insecure"), "{out}");
    let mut cmd = args(wirekit(), ["exec", "agent", "--connect", "127.0.0.1:1"]);
    cmd.env("WIREKIT_KEY", "egg");
    // A key from the environment counts: it gets as far as connecting.
    let out = run(cmd, "wirekit");
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stderr.contains("cannot connect"), "{out}");
}

#[test]
fn auth_without_key_is_refused() {
    let out = run(args(wirekit(), ["auth", "server"]), "wirekit");
    assert_eq!(out.code(), 2, "{out}");
    assert!(out.stderr.contains("needs a key"), "{out}");
}

#[test]
fn unreadable_key_file_is_exit_3() {
    let out = run(args(wirekit(), ["auth", "client", "--key-file", "/nonexistent/k"]), "wirekit");
    assert_eq!(out.code(), 3, "{out}");
    assert!(out.stderr.contains("/nonexistent/k"), "{out}");
}

#[test]
fn file_send_of_a_missing_file_is_exit_3() {
    let out = run(args(wirekit(), ["file", "send", "/nonexistent/file"]), "wirekit");
    assert_eq!(out.code(), 3, "{out}");
}

#[test]
fn keygen_writes_0600_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    let p = path.to_str().unwrap();
    let out = run(args(wirekit(), ["keygen", p]), "wirekit keygen");
    assert_eq!(out.code(), 0, "{out}");
    let first = std::fs::read(&path).unwrap();
    assert_eq!(first.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let out = run(args(wirekit(), ["keygen", p]), "wirekit keygen");
    assert_eq!(out.code(), 3, "{out}");
    assert!(out.stderr.contains("--force"), "{out}");
    assert_eq!(std::fs::read(&path).unwrap(), first);
    let out = run(args(wirekit(), ["keygen", "--force", p]), "wirekit keygen");
    assert_eq!(out.code(), 0, "{out}");
    assert_ne!(std::fs::read(&path).unwrap(), first);
}

#[test]
fn demo_runs_every_demo_and_exits_0() {
    let out = run(args(wirekit(), ["demo"]), "wirekit demo");
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains(r#"server's first recv returned "hello"#), "{out}");
    assert!(out.stdout.contains(r#"server's recv_bytes returned "hello", "吃了吗?""#), "{out}");
    for name in ["exec demo1", "exec demo2", "file demo3", "auth demo4", "auth mp"] {
        assert!(out.stdout.contains(name), "{name}: {out}");
    }
    assert!(out.stdout.contains("sticky packets: the first reply did not fit"), "{out}");
    // demo1's commands stick together too (which two depends on timing), and whenever the
    // agent ran a merged command the transcript says so: it is the lesson.
    let demo1 =
        out.stdout.split("== exec demo1").nth(1).and_then(|s| s.split("== exec demo2").next());
    let demo1 = demo1.expect("demo1's transcript");
    let sent = ["seq 1 200", "echo done", "echo bye", "q"].map(|c| format!("agent: ran {c:?},"));
    let merged_ran =
        demo1.lines().any(|l| l.contains("agent: ran") && !sent.iter().any(|c| l.contains(c)));
    assert_eq!(merged_ran, demo1.contains("sticky commands:"), "{out}");
    assert!(out.stdout.contains("合法的客户端 legit client"), "{out}");
    assert!(out.stdout.contains("不合法的客户端 illegitimate client"), "{out}");
    // Issue 13: a secure exchange, and the relay attack that works on seed and fails on secure.
    assert!(out.stdout.contains("agent: ran \"echo pwned\" (success)"), "{out}");
    assert!(
        out.stdout.contains("the altered record failed its tag: the agent ran nothing"),
        "{out}"
    );
    assert!(out.stdout.contains("demo: 16 passed, 0 failed"), "{out}");
    let quiet = run(args(wirekit(), ["demo", "--quiet"]), "wirekit demo --quiet");
    assert_eq!(quiet.code(), 0, "{quiet}");
    assert_eq!(quiet.lines(), ["demo: 16 passed, 0 failed"]);
}

/// Issue 12.10: `keygen -` writes the key to standard output (not to a file named `-`), and
/// `keygen DIR` says it is a directory.
#[test]
fn keygen_dash_is_stdout_and_a_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = wirekit()
        .args(["keygen", "-"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout.len(), 32);
    assert!(!dir.path().join("-").exists(), "no file named -");
    let out = run(args(wirekit(), ["keygen", dir.path().to_str().unwrap()]), "wirekit keygen");
    assert_eq!(out.code(), 3, "{out}");
    assert!(out.stderr.contains("is a directory"), "{out}");
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_warned_about_and_still_used() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    std::fs::write(&path, b"egg").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let p = path.to_str().unwrap();
    let a = ["auth", "client", "--key-file", p, "--connect", "127.0.0.1:1"];
    let out = run(args(wirekit(), a), "wirekit");
    assert!(out.stderr.contains("warning: key file") && out.stderr.contains("0644"), "{out}");
    // Still used: it gets as far as connecting.
    assert!(out.stderr.contains("cannot connect"), "{out}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(args(wirekit(), a), "wirekit");
    assert!(!out.stderr.contains("warning"), "{out}");
}

/// 12.9: `--timeout` takes fractions and units, and the message says what was given.
#[test]
fn fractional_timeouts_take_effect_and_tiny_ones_are_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Accepts and never answers: only the client's --timeout can end the exchange.
    let silent = std::thread::spawn(move || {
        let held = listener.accept();
        std::thread::sleep(std::time::Duration::from_secs(3));
        drop(held);
    });
    let out = run(
        args(wirekit(), ["tcp", "client", "--connect", &addr, "--timeout", "0.5", "hello"]),
        "wirekit tcp client --timeout 0.5",
    );
    // Rounded to 0 (no limit) it would wait for the listener's close after 3 s instead.
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stderr.contains("sent nothing for 0.5 s"), "{out}");
    silent.join().unwrap();

    for (value, why) in [("0.0001", "shorter than 1 ms"), ("1.5x", "not a duration")] {
        let out = run(
            args(wirekit(), ["tcp", "client", "--timeout", value, "hello"]),
            "wirekit tcp client --timeout",
        );
        assert_eq!(out.code(), 2, "{value}: {out}");
        assert!(out.stderr.contains(why), "{value}: {out}");
    }
}

/// Issue 12.10: `-vv` adds every cause behind an error; the first line stays the one line.
#[test]
fn very_verbose_adds_the_causes_of_an_error() {
    let out = run(args(wirekit(), ["-vv", "tcp", "client", "--connect", "127.0.0.1:1"]), "wirekit");
    assert_eq!(out.code(), 1, "{out}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(lines[0].contains("cannot connect to 127.0.0.1:1"), "{out}");
    assert!(lines.iter().any(|l| l.contains("caused by:") && l.contains("refused")), "{out}");
}
