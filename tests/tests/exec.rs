//! `wirekit exec` in both roles: against itself (framed, raw, keyed seed and mp, wrong key),
//! against the seed-style Python peers (framed and raw, GBK), and from stdin lines.

use wirekit_tests::{args, python, run, wirekit, wirekit_server, Child, CHILD_LIMIT};

fn agent(addr: std::net::SocketAddr, extra: &[&str]) -> wirekit_tests::Output {
    let a = addr.to_string();
    let mut all = vec!["exec", "agent", "--connect", &a, "--timeout", "10"];
    all.extend_from_slice(extra);
    run(args(wirekit(), all), "wirekit exec agent")
}

fn pair(
    controller_extra: &[&str],
    agent_extra: &[&str],
) -> (wirekit_tests::Output, wirekit_tests::Output) {
    let mut c = vec!["exec", "controller", "-c", "echo 吃了", "-c", "echo err >&2"];
    c.extend_from_slice(controller_extra);
    let (controller, addr) = wirekit_server(&c, "wirekit exec controller");
    let agent = agent(addr, agent_extra);
    (controller.wait_output(CHILD_LIMIT), agent)
}

#[test]
fn wirekit_pair_framed_and_raw() {
    for (c, a) in [(&[][..], &["--insecure"][..]), (&["--raw"], &["--raw", "--insecure"])] {
        let (controller, agent) = pair(c, a);
        assert_eq!(controller.code(), 0, "{controller}");
        assert_eq!(agent.code(), 0, "{agent}");
        assert_eq!(controller.lines(), ["吃了", "err"], "{controller}");
        assert!(agent.stderr.contains(r#"ran "echo 吃了""#), "{agent}");
    }
}

#[test]
fn wirekit_pair_with_keys_seed_and_mp() {
    for profile in ["seed", "mp"] {
        let keyed = ["--key", "egg", "--profile", profile];
        let (controller, agent) = pair(&keyed, &keyed);
        assert_eq!(controller.code(), 0, "{profile}: {controller}");
        assert_eq!(agent.code(), 0, "{profile}: {agent}");
        assert_eq!(controller.lines(), ["吃了", "err"], "{profile}: {controller}");
    }
}

#[test]
fn agent_with_the_wrong_key_runs_nothing() {
    for profile in ["seed", "mp"] {
        let (controller, agent) =
            pair(&["--key", "egg", "--profile", profile], &["--key", "spam", "--profile", profile]);
        assert_eq!(agent.code(), 5, "{profile}: {agent}");
        assert!(agent.stderr.contains("authentication with"), "{agent}");
        assert!(!agent.stderr.contains("ran "), "{agent}");
        // Issue 12 item 7: both sides say it is the key (was `connection closed before the
        // reply` on the controller).
        assert_eq!(controller.code(), 5, "{profile}: {controller}");
        assert!(controller.stderr.contains("authentication with"), "{controller}");
        assert!(agent.stderr.contains("--key"), "{agent}");
        assert!(controller.stdout.is_empty(), "{controller}");
    }
}

#[test]
fn controller_reads_stdin_lines_until_q() {
    let mut cmd = args(wirekit(), ["exec", "controller", "--listen", "127.0.0.1:0", "--once"]);
    cmd.args(["--timeout", "10"]);
    let mut controller =
        Child::spawn_with_stdin(cmd, "controller", b"echo one\n\n echo two\nq\necho never\n");
    let addr = controller.wait_listening();
    let agent = agent(addr, &["--insecure"]);
    assert_eq!(agent.code(), 0, "{agent}");
    let out = controller.wait_output(CHILD_LIMIT);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.lines(), ["one", "two"], "{out}");
    assert!(!out.stderr.contains(">>>"), "no prompt without a terminal: {out}");
}

#[test]
fn wirekit_controller_to_python_agent_gbk_framed_and_raw() {
    for raw in [false, true] {
        // The Python agent decodes the command as GBK and hands the shell UTF-8: `printf 吃了`
        // is 6 bytes only if the GBK text arrived intact.
        let mut c = vec!["exec", "controller", "--encoding", "gbk", "-c", "printf 吃了 | wc -c"];
        c.extend(["-c", "echo hello"]);
        if raw {
            c.push("--raw");
        }
        let (controller, addr) = wirekit_server(&c, "wirekit exec controller");
        let port = addr.port().to_string();
        let mut a = vec!["127.0.0.1", port.as_str()];
        if raw {
            a.push("--raw");
        }
        let py = run(args(python("exec_agent.py"), a), "exec_agent.py");
        assert_eq!(py.code(), 0, "{py}");
        let out = controller.wait_output(CHILD_LIMIT);
        assert_eq!(out.code(), 0, "raw={raw}: {out}");
        let lines: Vec<&str> = out.lines().iter().map(|l| l.trim()).collect();
        assert_eq!(lines, ["6", "hello"], "raw={raw}: {out}");
    }
}

#[test]
fn python_controller_to_wirekit_agent_framed_and_raw() {
    for raw in [false, true] {
        let mut a = vec!["127.0.0.1", "0", "echo 吃了", "printf abc; printf de >&2"];
        if raw {
            a.push("--raw");
        }
        let (controller, addr) =
            Child::server(args(python("exec_controller.py"), a), "exec_controller.py");
        let mut extra = vec!["--insecure", "--encoding", "gbk"];
        if raw {
            extra.push("--raw");
        }
        let agent = agent(addr, &extra);
        assert_eq!(agent.code(), 0, "{agent}");
        let out = controller.success();
        // GBK both ways: the Python controller decodes our transcoded output.
        let lines = out.lines();
        assert_eq!(lines[..2], ["吃了", ""], "raw={raw}: {out}");
        if raw {
            // demo1: stderr went in its own send and may miss the controller's one recv.
            assert!(lines[2].starts_with("abc"), "{out}");
        } else {
            assert_eq!(lines[2], "abcde", "{out}");
        }
    }
}

/// On a terminal the controller prompts `>>> ` like the seed (run under `script`, a pty).
#[cfg(target_os = "linux")]
#[test]
fn controller_prompts_on_a_terminal() {
    if std::process::Command::new("script").arg("--version").output().is_err() {
        wirekit_tests::skip::skip(
            "controller_prompts_on_a_terminal",
            "`script` (util-linux) is not installed",
        );
        return;
    }
    let bin = wirekit_tests::wirekit_bin();
    let inner =
        format!("{} exec controller --listen 127.0.0.1:0 --once --timeout 10", bin.display());
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qfec", &inner, "/dev/null"]);
    let controller = Child::spawn_with_stdin(cmd, "script wirekit", b"echo one\nq\n");
    // Through the pty, `listening on` arrives on stdout.
    let mut addr = None;
    controller.wait_until(std::time::Duration::from_secs(20), |out, _| {
        addr = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("listening on "))
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok());
        addr.is_some()
    });
    let addr = addr.expect("the controller never printed `listening on ADDR`");
    let agent = agent(addr, &["--insecure"]);
    assert_eq!(agent.code(), 0, "{agent}");
    let out = controller.wait_output(CHILD_LIMIT);
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains(">>> one"), "{out}");
}

/// A device's agent listens; the controller connects to it (`--connect`). The agent still
/// verifies the controller under seed, and a wrong key still runs nothing.
#[test]
fn controller_connects_to_a_listening_agent_and_the_agent_still_verifies() {
    for profile in ["seed", "mp"] {
        for (controller_key, ok) in [("egg", true), ("spam", false)] {
            let agent_args = ["exec", "agent", "--key", "egg", "--profile", profile];
            let (agent, addr) = wirekit_server(&agent_args, "wirekit exec agent --listen");
            let a = addr.to_string();
            let controller = run(
                args(
                    wirekit(),
                    [
                        "exec",
                        "controller",
                        "--connect",
                        &a,
                        "-c",
                        "echo 吃了",
                        "--key",
                        controller_key,
                        "--profile",
                        profile,
                        "--timeout",
                        "10",
                    ],
                ),
                "wirekit exec controller --connect",
            );
            let agent = agent.wait_output(CHILD_LIMIT);
            if ok {
                assert_eq!(controller.code(), 0, "{profile}: {controller}");
                assert_eq!(controller.lines(), ["吃了"], "{profile}: {controller}");
                assert_eq!(agent.code(), 0, "{profile}: {agent}");
            } else {
                assert_ne!(controller.code(), 0, "{profile}: {controller}");
                assert!(controller.stdout.is_empty(), "{profile}: {controller}");
                assert_eq!(agent.code(), 5, "{profile}: {agent}");
                assert!(!agent.stderr.contains("ran "), "{profile}: {agent}");
            }
        }
    }
}

#[test]
fn commands_never_see_the_agents_key() {
    // Issue 10 item 14: commands inherited WIREKIT_KEY (and any variable holding the key).
    let (controller, addr) = wirekit_server(
        &["exec", "controller", "--key", "sesame-42", "-c", "env"],
        "wirekit exec controller",
    );
    let a = addr.to_string();
    let mut cmd = args(wirekit(), ["exec", "agent", "--connect", &a, "--timeout", "10"]);
    cmd.env("WIREKIT_KEY", "sesame-42").env("DEPLOY_TOKEN", "sesame-42").env("HARMLESS", "yes");
    let agent = run(cmd, "wirekit exec agent");
    let controller = controller.wait_output(CHILD_LIMIT);
    assert_eq!((controller.code(), agent.code()), (0, 0), "{controller}\n{agent}");
    assert!(controller.stdout.contains("HARMLESS=yes"), "{controller}");
    assert!(!controller.stdout.contains("sesame-42"), "the key leaked: {controller}");
    assert!(!controller.stdout.contains("WIREKIT_KEY"), "{controller}");
}

#[cfg(target_os = "linux")]
mod signals {
    use super::*;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    fn gone(pid: &str) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
        stat.map(|s| s.contains(") Z ")).unwrap_or(true)
    }

    /// Issue 12 item 3: killing the agent orphaned its running command (`sleep 25` kept
    /// running, re-parented to init). Its commands, `setsid` ones too, end with it.
    #[test]
    fn a_terminated_agent_ends_its_running_commands() {
        for signal in ["TERM", "INT"] {
            let dir = tempfile::tempdir().unwrap();
            let pids = dir.path().join("pids");
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let a = listener.local_addr().unwrap().to_string();
            let c = ["exec", "agent", "--insecure", "--connect", &a, "--timeout", "10"];
            let agent = Child::spawn(args(wirekit(), c), "wirekit exec agent");
            let (mut fake, _) = listener.accept().unwrap();
            let command = format!(
                "setsid sh -c 'echo $$ >> {0}; exec sleep 25' & echo $$ >> {0}; exec sleep 25",
                pids.display()
            );
            std::io::Write::write_all(&mut fake, command.as_bytes()).unwrap();
            let start = Instant::now();
            let count = || std::fs::read_to_string(&pids).unwrap_or_default().lines().count();
            while count() < 2 && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let listed = std::fs::read_to_string(&pids).unwrap();
            assert_eq!(listed.lines().count(), 2, "{listed}");
            let sent = std::process::Command::new("kill")
                .args([&format!("-{signal}"), &agent.pid().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
            let out = agent.wait_output(Duration::from_secs(10));
            assert_ne!(out.code(), 0, "{out}");
            let start = Instant::now();
            while !listed.lines().all(gone) && start.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
            for pid in listed.lines() {
                assert!(gone(pid), "SIG{signal}: command process {pid} outlived the agent");
            }
        }
    }
}

/// Issue 12.12: a controller whose commands come from stdin serves one agent and ends with
/// `q` (it used to keep listening), and an agent that connects meanwhile is closed at once
/// with a line on the controller's stderr (it used to wait and get nothing).
#[cfg(unix)]
#[test]
fn a_stdin_controller_serves_one_agent_and_ends_with_q() {
    let bin = wirekit_tests::wirekit_bin();
    let script = format!(
        "(echo 'echo one'; sleep 3; echo q) | exec {} exec controller --listen 127.0.0.1:0",
        bin.display()
    );
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", &script]);
    let (controller, addr) = Child::server(sh, "stdin controller");
    let a = addr.to_string();
    let first = Child::spawn(
        args(wirekit(), ["exec", "agent", "--connect", &a, "--insecure", "--timeout", "10"]),
        "first agent",
    );
    assert!(
        controller.wait_until(std::time::Duration::from_secs(10), |out, _| out.contains("one")),
        "the first agent ran the command"
    );
    let second = agent(addr, &["--insecure"]);
    assert_ne!(second.code(), 0, "the second agent is told it was closed: {second}");
    let controller = controller.wait_output(CHILD_LIMIT);
    assert_eq!(controller.code(), 0, "the controller ends after q: {controller}");
    assert!(controller.stderr.contains("commands come from stdin"), "{controller}");
    assert_eq!(controller.lines(), ["one"], "{controller}");
    assert_eq!(first.wait_output(CHILD_LIMIT).code(), 0);
}

/// Issue 12.12: a command may run longer than the idle `--timeout`: the controller waits
/// `--reply-timeout` for its reply, and the agent's kill at `--command-timeout` ends the
/// command, not the session.
#[test]
fn a_long_command_ends_with_the_agents_kill_not_the_session() {
    let c = ["exec", "controller", "-c", "sleep 4; echo late", "--timeout", "0.5"];
    let mut c = c.to_vec();
    c.extend(["--reply-timeout", "8"]);
    let (controller, addr) = wirekit_server(&c, "wirekit exec controller");
    let agent = agent(addr, &["--insecure", "--command-timeout", "1"]);
    let controller = controller.wait_output(CHILD_LIMIT);
    assert_eq!(controller.code(), 0, "{controller}");
    assert!(controller.stdout.contains("killed after 1 s"), "{controller}");
    assert!(!controller.stdout.contains("late"), "{controller}");
    assert_eq!(agent.code(), 0, "{agent}");
    assert!(agent.stderr.contains("killed at the timeout"), "{agent}");
}

/// Issue 12.12: a reply later than `--reply-timeout` is its own error, naming the flag.
#[test]
fn a_reply_later_than_reply_timeout_names_the_flag() {
    let c = ["exec", "controller", "-c", "sleep 3", "--reply-timeout", "0.5"];
    let (controller, addr) = wirekit_server(&c, "wirekit exec controller");
    let _agent = agent(addr, &["--insecure"]);
    let controller = controller.wait_output(CHILD_LIMIT);
    assert_eq!(controller.code(), 1, "{controller}");
    assert!(controller.stderr.contains("within 0.5 s (--reply-timeout)"), "{controller}");
}
