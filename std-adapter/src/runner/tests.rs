#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;

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
