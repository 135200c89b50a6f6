#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use std::ffi::OsString;

fn limits(timeout_ms: u64, max_output: usize) -> RunLimits {
    RunLimits { timeout: Duration::from_millis(timeout_ms), max_output }
}

#[cfg(unix)]
#[test]
fn captures_stdout_stderr_and_status() {
    let out = run_shell("echo out; echo err >&2; exit 3", limits(10_000, 1024)).unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status.unwrap().code(), Some(3));
    assert!(!out.timed_out && !out.truncated);
}

#[cfg(unix)]
#[test]
fn unknown_command_reports_on_stderr() {
    let out = run_shell("definitely-not-a-command-wirekit", limits(10_000, 1024)).unwrap();
    assert!(out.stdout.is_empty());
    assert!(!out.stderr.is_empty());
    assert_eq!(out.status.unwrap().code(), Some(127));
}

#[cfg(unix)]
#[test]
fn timeout_kills_the_whole_group() {
    let start = Instant::now();
    let out = run_shell("sleep 30 & sleep 30; echo never", limits(300, 1024)).unwrap();
    assert!(out.timed_out);
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("never"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("command killed after 0.3 s"));
}

#[cfg(unix)]
#[test]
fn background_child_holding_the_pipe_does_not_hang() {
    let start = Instant::now();
    let out = run_shell("echo quick; sleep 30 &", limits(10_000, 1024)).unwrap();
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    assert_eq!(out.stdout, b"quick\n");
}

#[cfg(unix)]
#[test]
fn huge_output_is_cut_with_a_notice() {
    // 5 MB through a pipe whose reader keeps only 1000 bytes: must neither block nor crash.
    let out = run_shell("head -c 5000000 /dev/zero", limits(20_000, 1000)).unwrap();
    assert!(out.truncated && !out.timed_out);
    let (kept, notice) = out.stdout.split_at(1000);
    assert!(kept.iter().all(|&b| b == 0));
    let notice = String::from_utf8_lossy(notice);
    assert!(notice.contains("output cut after 1000 bytes, 4999000 more bytes dropped"), "{notice}");
    assert_eq!(out.status.unwrap().code(), Some(0));
}

#[cfg(unix)]
#[test]
fn command_text_goes_to_the_shell_verbatim() {
    let out = run_shell("printf '%s' \"吃了 $((1+2))\"", limits(10_000, 1024)).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "吃了 3");
}

/// Wait (bounded) until process `pid` is gone; init reaps a killed orphan a moment later.
#[cfg(target_os = "linux")]
fn is_gone(pid: &str) -> bool {
    let pid: i32 = pid.trim().parse().unwrap();
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| stat.contains(") Z "))
            .unwrap_or(true)
    };
    let start = Instant::now();
    while !gone() && start.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(20));
    }
    gone()
}

#[cfg(target_os = "linux")]
#[test]
fn a_command_that_calls_setsid_does_not_escape_the_timeout() {
    // Issue 10 item 14: `setsid` leaves the process group that the timeout used to kill.
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let command = format!("setsid sh -c 'echo $$ > {}; exec sleep 30'", pid_file.display());
    let start = Instant::now();
    let out = run_shell(&command, limits(500, 1024)).unwrap();
    assert!(out.timed_out, "{out:?}");
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert!(is_gone(&pid), "the setsid sleep {pid} outlived the timeout");
}

#[cfg(target_os = "linux")]
#[test]
fn a_detached_background_process_ends_with_its_command() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let command = format!(
        "setsid sh -c 'echo $$ > {}.tmp; mv {0}.tmp {0}; exec sleep 30' </dev/null >/dev/null 2>&1 & \
         while [ ! -e {0} ]; do sleep 0.01; done; echo started",
        pid_file.display()
    );
    let out = run_shell(&command, limits(10_000, 1024)).unwrap();
    assert_eq!(out.stdout, b"started\n");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert!(is_gone(&pid), "the detached sleep {pid} outlived its command");
}

#[test]
fn the_key_and_every_variable_holding_it_are_removed() {
    let vars = [("TOKEN", "sekrit"), ("HOME", "/home/x"), ("ALSO", "sekrit-not-quite")]
        .map(|(n, v)| (OsString::from(n), OsString::from(v)));
    let env = CommandEnv::without_key(Some(b"sekrit"), vars.clone());
    assert_eq!(env.removed(), [OsString::from(KEY_ENV), OsString::from("TOKEN")]);
    let env = CommandEnv::without_key(None, vars);
    assert_eq!(env.removed(), [OsString::from(KEY_ENV)]);
}

#[cfg(unix)]
#[test]
fn the_command_does_not_see_removed_variables() {
    // CARGO_MANIFEST_DIR (set by cargo for tests) stands in for a variable that holds the
    // key: the shell must not see it.
    let value = std::env::var_os("CARGO_MANIFEST_DIR").unwrap();
    let env = CommandEnv::without_key(Some(value.as_encoded_bytes()), std::env::vars_os());
    let show = "echo \"dir=${CARGO_MANIFEST_DIR-unset}\"";
    let out = run_shell_with(show, limits(10_000, 1024), &env).unwrap();
    assert_eq!(out.stdout, b"dir=unset\n");
    let out = run_shell(show, limits(10_000, 1024)).unwrap();
    assert_ne!(out.stdout, b"dir=unset\n");
}
