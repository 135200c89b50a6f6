//! Every process a command starts, wherever it went: a command can leave its process group
//! (`setsid`, `setpgid`), and its parent can exit so that it is re-parented to init, and then
//! neither a group kill nor a walk of the tree reaches it. So each run gets a tag in its
//! environment, [`RUN_TAG_ENV`]` = "<agent pid>.<run number>"`, which every descendant
//! inherits, and ending a run kills every process that carries the tag (on Linux, found in
//! `/proc/PID/environ`; elsewhere only the process group is killed). A command that scrubs its
//! own environment on purpose could still hide: the agent runs commands for a controller it
//! trusts, and this is about runaway commands, not about containing a hostile one (use a
//! container or a cgroup for that).

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that tags a run's processes.
pub const RUN_TAG_ENV: &str = "WIREKIT_RUN";

static RUNS: AtomicU64 = AtomicU64::new(0);

/// A fresh tag for the next run of this process.
pub(super) fn next_tag() -> String {
    format!("{}{}", agent_prefix(), RUNS.fetch_add(1, Ordering::Relaxed))
}

/// The part of every tag this process hands out.
fn agent_prefix() -> String {
    format!("{}.", std::process::id())
}

/// Kill every process of the run tagged `tag`.
pub(super) fn end_run(tag: &str) {
    kill_tagged(|value| value == tag.as_bytes());
}

/// Kill every process of every run of this agent (its commands end with it).
pub fn end_all_runs() {
    let prefix = agent_prefix();
    kill_tagged(|value| value.starts_with(prefix.as_bytes()));
}

/// Kill the processes whose tag matches, until none is left (a process may fork while we
/// look; a few rounds catch its children too).
#[cfg(target_os = "linux")]
fn kill_tagged(matches: impl Fn(&[u8]) -> bool) {
    use rustix::process::{kill_process, Pid, Signal};
    for _ in 0..8 {
        let found = tagged_pids(&matches);
        if found.is_empty() {
            return;
        }
        for pid in found {
            if let Some(pid) = Pid::from_raw(pid) {
                let _ = kill_process(pid, Signal::KILL);
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn kill_tagged(_matches: impl Fn(&[u8]) -> bool) {}

/// Live processes (not zombies: their environment reads empty) whose tag matches.
#[cfg(target_os = "linux")]
fn tagged_pids(matches: &impl Fn(&[u8]) -> bool) -> Vec<i32> {
    let me = std::process::id();
    let key = format!("{RUN_TAG_ENV}=");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            environ
                .split(|&b| b == 0)
                .filter_map(|var| var.strip_prefix(key.as_bytes()))
                .any(matches)
        })
        .filter_map(|pid| i32::try_from(pid).ok())
        .collect()
}

/// On SIGINT, SIGTERM or SIGHUP, end every run of this agent, then exit as the signal would
/// (128 + its number). Without this, killing the agent left its running command behind,
/// re-parented to init (issue 12 item 3).
#[cfg(unix)]
pub fn end_runs_on_signal() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            end_all_runs();
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

/// Elsewhere the default handling stays.
#[cfg(not(unix))]
pub fn end_runs_on_signal() -> std::io::Result<()> {
    Ok(())
}
