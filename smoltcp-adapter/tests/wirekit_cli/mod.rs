//! The `wirekit` binary as a Linux-side peer of the TAP test: built once into a target
//! directory of its own, run as child processes that are killed when their guard drops, and
//! scratch directories that are removed on drop.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long the build of `wirekit` may take (a cold build on two shared cores).
const BUILD_LIMIT: Duration = Duration::from_secs(900);
/// How long a server may take to print `listening on ADDR`.
const START_LIMIT: Duration = Duration::from_secs(20);

/// The `wirekit` binary (dev profile), built on first use with the cargo that runs the test.
///
/// It goes to `<target>/tap-wirekit`, not the workspace's `target/`: the `cargo test` that
/// runs this test may still hold that directory's lock, and a nested build would wait for it.
pub fn wirekit_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // The test binary is <target>/[<triple>/]<profile>/deps/tap-<hash>.
        let exe = std::env::current_exe().expect("test binary path");
        let target = exe.ancestors().nth(3).expect("target directory").to_path_buf();
        let target_dir = target.join("tap-wirekit");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "wirekit-std", "--bin", "wirekit", "--target-dir"])
            .arg(&target_dir)
            .current_dir(workspace)
            .stdin(Stdio::null());
        let started = Instant::now();
        let out = Child::spawn(cmd, "cargo build -p wirekit-std").wait(BUILD_LIMIT);
        assert_eq!(out.code, Some(0), "building wirekit failed:\n{out}");
        println!("built wirekit in {:.1} s", started.elapsed().as_secs_f64());
        let bin = target_dir.join("debug").join(format!("wirekit{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.is_file(), "no wirekit binary at {}", bin.display());
        bin
    })
}

/// `wirekit ARGS…` with `WIREKIT_KEY` removed, so the caller's environment cannot leak in.
pub fn wirekit(args: &[&str]) -> Command {
    let mut cmd = Command::new(wirekit_bin());
    cmd.args(args).env_remove("WIREKIT_KEY");
    cmd
}

/// A child process with its stdout and stderr collected; killed on drop if still running.
pub struct Child {
    child: std::process::Child,
    name: String,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<thread::JoinHandle<()>>,
}

/// What a finished child left.
#[derive(Debug)]
pub struct Output {
    /// Exit code; `None` when it was killed for running too long (or by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Whether stdout has exactly this line.
    pub fn has_line(&self, line: &str) -> bool {
        self.stdout.lines().any(|l| l == line)
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {:?}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

fn collect(
    mut from: impl Read + Send + 'static,
    into: &Arc<Mutex<Vec<u8>>>,
) -> thread::JoinHandle<()> {
    let into = Arc::clone(into);
    thread::spawn(move || {
        // Chunk by chunk, so a running server's `listening on` line is seen at once.
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

impl Child {
    /// Start `cmd` with stdin closed and its output piped. The child inherits the calling
    /// thread's network namespace.
    pub fn spawn(mut cmd: Command, name: &str) -> Self {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let readers = vec![
            collect(child.stdout.take().expect("piped stdout"), &stdout),
            collect(child.stderr.take().expect("piped stderr"), &stderr),
        ];
        Self { child, name: name.to_owned(), stdout, stderr, readers }
    }

    /// Wait for the `listening on ADDR` line on stderr.
    pub fn wait_listening(&mut self) -> SocketAddr {
        let start = Instant::now();
        loop {
            let text = String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned();
            let addr = text.lines().find_map(|l| l.trim().strip_prefix("listening on "));
            if let Some(addr) = addr {
                return addr
                    .parse()
                    .unwrap_or_else(|e| panic!("{}: bad address {addr:?}: {e}", self.name));
            }
            let exited = self.child.try_wait().unwrap().is_some();
            if exited || start.elapsed() > START_LIMIT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let out = self.collect(None);
                panic!("{} never printed `listening on ADDR`:\n{out}", self.name);
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Wait for the child to exit, killing it after `limit`, and collect its output.
    pub fn wait(mut self, limit: Duration) -> Output {
        let start = Instant::now();
        let code = loop {
            match self.child.try_wait().unwrap() {
                Some(status) => break status.code(),
                None if start.elapsed() < limit => thread::sleep(Duration::from_millis(5)),
                None => {
                    eprintln!("{}: still running after {limit:?}, killed", self.name);
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        self.collect(code)
    }

    fn collect(&mut self, code: Option<i32>) -> Output {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let text =
            |buf: &Arc<Mutex<Vec<u8>>>| String::from_utf8_lossy(&buf.lock().unwrap()).into_owned();
        Output { code, stdout: text(&self.stdout), stderr: text(&self.stderr) }
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

/// A scratch directory under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty `wk-tap-<pid>-<name>`.
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("wk-tap-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
