//! Cross-crate test helpers: find (and build) the `wirekit` binary, run it and the Python peers
//! in `tests/python/` as child processes with bounded time, and parse the `listening on ADDR`
//! line that servers print for `--listen 127.0.0.1:0`.
//!
//! Every child is killed when its [`Child`] guard drops, so a failing test never leaves a
//! process behind or hangs.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

pub mod hostile;
pub mod readme;
pub mod skip;

/// Longest any single child may run in a test.
pub const CHILD_LIMIT: Duration = Duration::from_secs(60);
/// How long a server may take to print `listening on ADDR`.
pub const START_LIMIT: Duration = Duration::from_secs(20);

/// The `wirekit` binary of this build profile. Built on first use with the same cargo, target
/// directory and profile as the test binary, so `cargo test -p wirekit-tests` alone also works.
pub fn wirekit_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap_or_default();
        // target/<profile>/deps/<test-binary>
        let profile_dir = exe.parent().and_then(Path::parent).map(Path::to_path_buf);
        let profile_dir = profile_dir.unwrap_or_else(|| PathBuf::from("target/debug"));
        let bin = profile_dir.join(format!("wirekit{}", std::env::consts::EXE_SUFFIX));
        build_wirekit(&profile_dir);
        assert!(bin.exists(), "wirekit binary not found at {}", bin.display());
        bin
    })
    .clone()
}

fn build_wirekit(profile_dir: &Path) {
    let Some(target_dir) = profile_dir.parent() else { return };
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(name) => name.to_string(),
    };
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "wirekit-std", "--bin", "wirekit", "--profile"])
        .arg(&profile)
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    // Best effort: when the build cannot run (offline, locked), an existing binary is used.
    if let Ok(child) = cmd.spawn() {
        let _ = Child::wrap(child, "cargo build").wait_output(Duration::from_secs(300));
    }
}

/// The folder of the Python peers.
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// `python3 tests/python/<script> args…`, without writing `__pycache__`.
pub fn python(script: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(python_dir().join(script))
        .current_dir(python_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8");
    cmd
}

/// True when `python3` can import `module`.
pub fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// For a test that runs a Python peer needing `module` (from PyPI `package`): true when it
/// can run; otherwise the test is skipped with the reason printed, or fails under CI
/// ([`skip::skip`]), and the caller returns.
pub fn python_peer_can_run(what: &str, module: &str, package: &str) -> bool {
    if python_has(module) {
        return true;
    }
    skip::skip(
        what,
        &format!("python3 cannot import `{module}`: `python3 -m pip install {package}` to run it"),
    );
    false
}

/// [`python_peer_can_run`] for the Noise peer (`tests/python/noise_peer.py`).
pub fn noise_peer_can_run(what: &str) -> bool {
    python_peer_can_run(what, "noise", "noiseprotocol")
}

/// `wirekit args…`, with `WIREKIT_KEY` removed so the caller's environment cannot leak in.
pub fn wirekit() -> Command {
    let mut cmd = Command::new(wirekit_bin());
    cmd.env_remove("WIREKIT_KEY");
    cmd
}

/// A child process that is killed on drop, with its stdout and stderr collected.
pub struct Child {
    child: std::process::Child,
    name: String,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<thread::JoinHandle<()>>,
    listening: Option<mpsc::Receiver<SocketAddr>>,
}

/// What a finished child left.
#[derive(Debug)]
pub struct Output {
    /// Exit status; `None` when it was killed for running too long.
    pub status: Option<ExitStatus>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Output {
    /// The exit code, or -1 when killed.
    pub fn code(&self) -> i32 {
        self.status.and_then(|s| s.code()).unwrap_or(-1)
    }
    /// Stdout lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code(), self.stdout, self.stderr)
    }
}

impl Child {
    /// Start `cmd` with piped output.
    pub fn spawn(mut cmd: Command, name: &str) -> Self {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self::wrap(child, name)
    }

    /// Start `cmd` with `input` written to its stdin (then closed).
    pub fn spawn_with_stdin(mut cmd: Command, name: &str, input: &[u8]) -> Self {
        use std::io::Write;
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        if let Some(mut stdin) = child.stdin.take() {
            let input = input.to_vec();
            thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        Self::wrap(child, name)
    }

    fn wrap(mut child: std::process::Child, name: &str) -> Self {
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            let sink = Arc::clone(&stdout);
            readers.push(thread::spawn(move || {
                // Chunk by chunk, so a test can watch a server's output while it runs.
                let mut buf = [0u8; 8192];
                while let Ok(n) = out.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&buf[..n]);
                }
            }));
        }
        let (tx, rx) = mpsc::channel();
        if let Some(err) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            readers.push(thread::spawn(move || {
                // Line by line, so `listening on ADDR` is seen while the server runs.
                let mut reader = BufReader::new(err);
                let mut line = Vec::new();
                while reader.read_until(b'\n', &mut line).map(|n| n > 0).unwrap_or(false) {
                    let text = String::from_utf8_lossy(&line);
                    if let Some(addr) = text.trim().strip_prefix("listening on ") {
                        if let Ok(addr) = addr.parse() {
                            let _ = tx.send(addr);
                        }
                    }
                    sink.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&line);
                    line.clear();
                }
            }));
        }
        Self { child, name: name.to_owned(), stdout, stderr, readers, listening: Some(rx) }
    }

    /// Start a server and wait for its `listening on ADDR` line.
    pub fn server(cmd: Command, name: &str) -> (Self, SocketAddr) {
        let mut child = Self::spawn(cmd, name);
        let addr = child.wait_listening();
        (child, addr)
    }

    /// Wait for `listening on ADDR` on stderr.
    pub fn wait_listening(&mut self) -> SocketAddr {
        let rx = self.listening.take().unwrap_or_else(|| panic!("{}: already waited", self.name));
        match rx.recv_timeout(START_LIMIT) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = self.child.kill();
                let out = self.collect(None);
                panic!("{} never printed `listening on ADDR`:\n{out}", self.name)
            }
        }
    }

    /// The child's process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Standard output so far (a running server's lines).
    pub fn stdout_now(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Standard error so far.
    pub fn stderr_now(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// True while the child has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Send SIGKILL now (no clean-up in the child) and reap it.
    pub fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait until `done(stdout, stderr)` holds for the output so far (a running server's
    /// lines), at most `limit`. Returns whether it did.
    pub fn wait_until(&self, limit: Duration, mut done: impl FnMut(&str, &str) -> bool) -> bool {
        let start = Instant::now();
        loop {
            let text = |buf: &Arc<Mutex<Vec<u8>>>| {
                String::from_utf8_lossy(&buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
            };
            if done(&text(&self.stdout), &text(&self.stderr)) {
                return true;
            }
            if start.elapsed() > limit {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait for the child to exit (killing it after `limit`) and collect its output.
    pub fn wait_output(mut self, limit: Duration) -> Output {
        let start = Instant::now();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if start.elapsed() < limit => thread::sleep(Duration::from_millis(10)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        self.collect(status)
    }

    /// As [`Child::wait_output`] with [`CHILD_LIMIT`], asserting a zero exit.
    pub fn success(self) -> Output {
        let name = self.name.clone();
        let out = self.wait_output(CHILD_LIMIT);
        assert_eq!(out.code(), 0, "{name} failed:\n{out}");
        out
    }

    fn collect(&mut self, status: Option<ExitStatus>) -> Output {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let text = |buf: &Arc<Mutex<Vec<u8>>>| {
            String::from_utf8_lossy(&buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
        };
        Output { status, stdout: text(&self.stdout), stderr: text(&self.stderr) }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Run `cmd` to completion within [`CHILD_LIMIT`].
pub fn run(cmd: Command, name: &str) -> Output {
    Child::spawn(cmd, name).wait_output(CHILD_LIMIT)
}

/// `wirekit ARGS… --listen 127.0.0.1:0 --once --timeout 10`, started, with its address.
pub fn wirekit_server(a: &[&str], name: &str) -> (Child, SocketAddr) {
    let mut all: Vec<&str> = a.to_vec();
    all.extend(["--listen", "127.0.0.1:0"]);
    if !a.contains(&"--serve-many") {
        all.push("--once");
    }
    all.retain(|x| *x != "--serve-many");
    if !a.contains(&"--timeout") {
        all.extend(["--timeout", "10"]);
    }
    Child::server(args(wirekit(), all), name)
}

/// Build a command from a program and arguments.
pub fn args<I, S>(mut cmd: Command, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    cmd.args(args);
    cmd
}
