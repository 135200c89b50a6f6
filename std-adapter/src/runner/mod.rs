//! Run one shell command for the exec agent: `sh -c` on Unix, `cmd /C` on Windows, with a
//! timeout (the command is killed when it expires) and a cap on the output kept (the rest is
//! read and thrown away, and a notice says so) — a runaway command never hangs or crashes the
//! agent.
//!
//! On Unix the command gets its own process group, and the whole group is killed on timeout,
//! so `sleep 100 &` or a pipeline cannot keep the pipes open behind the shell's back; on Linux
//! every process the command started is also found by a tag in its environment ([`tree`]), so
//! `setsid` or a double fork cannot escape the timeout either. When the command ends (or is
//! killed), whatever it left running is ended too: a command's processes never outlive it.
//!
//! The command's environment is the agent's without the key: [`KEY_ENV`] and every variable
//! whose value is the agent's key are removed ([`CommandEnv`]).

use std::ffi::OsString;
use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long and how much a command may run and print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// Wall-clock limit; the command is killed after it.
    pub timeout: Duration,
    /// Bytes kept per stream (stdout and stderr each).
    pub max_output: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(30), max_output: 1 << 20 }
    }
}

pub mod tree;

pub use crate::keys::KEY_ENV;

/// The environment changes of every command: variables that carry the agent's key are
/// removed (a command's output goes to the controller, and it may print its environment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandEnv {
    removed: Arc<[OsString]>,
}

impl CommandEnv {
    /// Remove [`KEY_ENV`] and every variable of `vars` whose value is `key`.
    pub fn without_key(
        key: Option<&[u8]>,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Self {
        let mut removed = vec![OsString::from(KEY_ENV)];
        if let Some(key) = key {
            removed.extend(
                vars.into_iter()
                    .filter(|(_, value)| value.as_encoded_bytes() == key)
                    .map(|(name, _)| name),
            );
        }
        Self { removed: removed.into() }
    }

    /// [`CommandEnv::without_key`] over this process's environment.
    pub fn of_process(key: Option<&[u8]>) -> Self {
        Self::without_key(key, std::env::vars_os())
    }

    /// The variables removed.
    pub fn removed(&self) -> &[OsString] {
        &self.removed
    }
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// Standard output, cut to the limit, with a notice appended when cut.
    pub stdout: Vec<u8>,
    /// Standard error, cut to the limit, with notices appended when cut or killed.
    pub stderr: Vec<u8>,
    /// The exit status; `None` when it could not be collected after a kill.
    pub status: Option<ExitStatus>,
    /// The command ran past the timeout and was killed.
    pub timed_out: bool,
    /// Some output was thrown away.
    pub truncated: bool,
}

/// The command could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the shell for {command:?}: {source}")]
pub struct RunError {
    /// The command.
    pub command: String,
    /// The I/O error.
    pub source: io::Error,
}

/// After the command exits, how long to wait for grandchildren that still hold the pipes.
const PIPE_GRACE: Duration = Duration::from_millis(500);
const POLL: Duration = Duration::from_millis(10);

/// Run `command` through the platform shell within `limits`, without the key in its
/// environment.
pub fn run_shell(command: &str, limits: RunLimits) -> Result<RunOutput, RunError> {
    run_shell_with(command, limits, &CommandEnv::of_process(None))
}

/// [`run_shell`] with the environment changes `env`.
pub fn run_shell_with(
    command: &str,
    limits: RunLimits,
    env: &CommandEnv,
) -> Result<RunOutput, RunError> {
    let tag = tree::next_tag();
    let mut child = spawn_shell(command, &tag, env)
        .map_err(|source| RunError { command: command.to_owned(), source })?;
    let output = collect(&mut child, &tag, limits);
    // Whatever the command left behind ends with it (by tag: the shell is reaped, so its pid
    // and group id may belong to someone else by now).
    tree::end_run(&tag);
    Ok(output)
}

fn collect(child: &mut Child, tag: &str, limits: RunLimits) -> RunOutput {
    let start = Instant::now();
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        spawn_reader(out, limits.max_output, Stream::Stdout, tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        spawn_reader(err, limits.max_output, Stream::Stderr, tx);
    }

    let mut timed_out = false;
    let mut status = None;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => {
                status = Some(s);
                break;
            }
            Ok(None) if start.elapsed() >= limits.timeout => {
                timed_out = true;
                kill_tree(child, tag);
                status = child.wait().ok();
                break;
            }
            Ok(None) => thread::sleep(POLL),
            Err(_) => {
                kill_tree(child, tag);
                break;
            }
        }
    }

    let mut stdout = Captured::default();
    let mut stderr = Captured::default();
    let mut pending = 2;
    let mut deadline = Instant::now() + PIPE_GRACE;
    let mut killed_stragglers = false;
    while pending > 0 {
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok((Stream::Stdout, captured)) => {
                stdout = captured;
                pending -= 1;
            }
            Ok((Stream::Stderr, captured)) => {
                stderr = captured;
                pending -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) if !killed_stragglers => {
                // Background children of the shell still hold the pipes: end them too.
                kill_tree(child, tag);
                killed_stragglers = true;
                deadline = Instant::now() + PIPE_GRACE;
            }
            // Give up on readers that still block; their threads end when the pipe closes.
            Err(_) => break,
        }
    }

    let truncated = stdout.dropped > 0 || stderr.dropped > 0;
    let mut stdout_bytes = stdout.kept;
    let mut stderr_bytes = stderr.kept;
    if stdout.dropped > 0 {
        stdout_bytes.extend_from_slice(cut_notice(limits.max_output, stdout.dropped).as_bytes());
    }
    if stderr.dropped > 0 {
        stderr_bytes.extend_from_slice(cut_notice(limits.max_output, stderr.dropped).as_bytes());
    }
    if timed_out {
        stderr_bytes.extend_from_slice(
            format!("\n[wirekit: command killed after {} s]\n", limits.timeout.as_secs_f64())
                .as_bytes(),
        );
    }
    RunOutput { stdout: stdout_bytes, stderr: stderr_bytes, status, timed_out, truncated }
}

fn cut_notice(kept: usize, dropped: u64) -> String {
    format!("\n[wirekit: output cut after {kept} bytes, {dropped} more bytes dropped]\n")
}

#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Default)]
struct Captured {
    kept: Vec<u8>,
    dropped: u64,
}

fn spawn_reader<R: Read + Send + 'static>(
    mut pipe: R,
    cap: usize,
    which: Stream,
    tx: mpsc::Sender<(Stream, Captured)>,
) {
    thread::spawn(move || {
        let mut captured = Captured::default();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let chunk = buf.get(..n).unwrap_or(&[]);
                    let room = cap.saturating_sub(captured.kept.len()).min(n);
                    let (keep, drop) = chunk.split_at(room);
                    captured.kept.extend_from_slice(keep);
                    // Keep draining past the cap, so the command never blocks on a full pipe.
                    captured.dropped += drop.len() as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        // The receiver may have given up already; nothing to do then.
        let _ = tx.send((which, captured));
    });
}

/// The shell for `command`, tagged `tag`, with `env`'s changes.
fn shell(program: &str, flag: &str, tag: &str, env: &CommandEnv) -> Command {
    let mut shell = Command::new(program);
    shell.arg(flag).env(tree::RUN_TAG_ENV, tag);
    for name in env.removed() {
        shell.env_remove(name);
    }
    shell
}

#[cfg(unix)]
fn spawn_shell(command: &str, tag: &str, env: &CommandEnv) -> io::Result<Child> {
    use std::os::unix::process::CommandExt;
    shell("sh", "-c", tag, env)
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
}

#[cfg(windows)]
fn spawn_shell(command: &str, tag: &str, env: &CommandEnv) -> io::Result<Child> {
    use std::os::windows::process::CommandExt;
    // cmd.exe parses its command line itself: pass the text verbatim, not re-quoted.
    shell("cmd", "/C", tag, env)
        .raw_arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

#[cfg(unix)]
fn kill_tree(child: &mut Child, tag: &str) {
    let pid = rustix::process::Pid::from_child(child);
    // The group id equals the shell's pid (process_group(0)); it may be gone already.
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    let _ = child.kill();
    tree::end_run(tag);
}

#[cfg(not(unix))]
fn kill_tree(child: &mut Child, _tag: &str) {
    let _ = child.kill();
}

#[cfg(test)]
mod tests;
