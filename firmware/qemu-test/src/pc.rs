//! The PC side of the end-to-end test: each step runs the `wirekit` binary when it can do
//! that step ([`BinarySteps`]), else the core's machines over a blocking `Conn`
//! ([`crate::peer`]). Every step says which one it used.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use wirekit_core::auth::Outcome;

use crate::peer::{self, StdConn};
use crate::{run_bounded, Forwards, Ran};

/// Which steps the `wirekit` binary drives.
#[derive(Debug, Clone, Copy)]
pub struct BinarySteps {
    /// `wirekit auth client` (seed and `--profile mp`).
    pub auth: bool,
    /// `wirekit file send PATH --connect`.
    pub file: bool,
    /// `wirekit exec controller --connect -c ...`.
    pub exec: bool,
    /// `wirekit udp client`.
    pub udp: bool,
}

impl BinarySteps {
    /// `steps`, unless `$WIREKIT_FW_TEST_BINARY` lists the steps instead (comma-separated
    /// `auth`, `file`, `exec`, `udp`; empty = none), e.g. to try a newer binary.
    pub fn from_env_or(steps: Self) -> Self {
        let Ok(list) = std::env::var("WIREKIT_FW_TEST_BINARY") else { return steps };
        let has = |name: &str| list.split(',').any(|s| s.trim() == name);
        Self { auth: has("auth"), file: has("file"), exec: has("exec"), udp: has("udp") }
    }
}

/// How a step went, in the device's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The step completed (for a seed handshake: answered; the seed sends no verdict).
    Done,
    /// The device refused (mp `#FAILURE#`, a reset connection, a session that ended early).
    Refused(String),
}

/// The PC: forwarded ports, the `wirekit` binary, and which steps it drives.
#[derive(Debug, Clone)]
pub struct Pc {
    /// Host ports forwarded to the device.
    pub fwd: Forwards,
    /// The `wirekit` binary.
    pub wirekit: PathBuf,
    /// Steps the binary drives.
    pub binary: BinarySteps,
    /// Socket timeout of the `Conn` peers.
    pub io_timeout: Duration,
    /// Time limit of one `wirekit` run (killed by PID after it).
    pub run_limit: Duration,
}

fn at(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

fn by(binary: bool) -> &'static str {
    if binary {
        "wirekit"
    } else {
        "Conn peer"
    }
}

impl Pc {
    /// Runs `wirekit ARGS`, bounded in time, and prints the command line and what it did.
    pub fn wirekit(&self, args: &[&str]) -> Ran {
        let ran = run_bounded(Command::new(&self.wirekit).args(args), self.run_limit)
            .unwrap_or_else(|e| panic!("running {}: {e}", self.wirekit.display()));
        println!(
            "  $ wirekit {}\n    -> {}",
            args.join(" "),
            ran.to_string().replace('\n', "\n       ")
        );
        ran
    }

    /// Seed handshake on the auth port. The seed sends no verdict: `Done` means answered.
    pub fn seed_auth(&self, key: &str) -> Verdict {
        println!("seed auth, key {key:?} ({})", by(self.binary.auth));
        if self.binary.auth {
            let ran =
                self.wirekit(&["auth", "client", "--connect", &at(self.fwd.auth), "--key", key]);
            return if ran.success() { Verdict::Done } else { Verdict::Refused(ran.to_string()) };
        }
        let mut conn = self.conn(self.fwd.auth);
        match peer::seed_prove(&mut conn, key.as_bytes()) {
            Ok(Outcome::Answered) => {
                until_closed(&mut conn);
                Verdict::Done
            }
            other => Verdict::Refused(format!("{other:?}")),
        }
    }

    /// mp handshake on the mp port (CPython `Client` side, legacy challenge).
    pub fn mp_auth(&self, key: &str, random: [u8; 40]) -> Verdict {
        println!("mp auth, key {key:?} ({})", by(self.binary.auth));
        if self.binary.auth {
            let args =
                ["auth", "client", "--connect", &at(self.fwd.mp), "--profile", "mp", "--key", key];
            let ran = self.wirekit(&args);
            return if ran.success() { Verdict::Done } else { Verdict::Refused(ran.to_string()) };
        }
        match peer::mp_client(self.fwd.mp, key.as_bytes(), random, self.io_timeout) {
            Ok(Outcome::Authenticated) => Verdict::Done,
            other => Verdict::Refused(format!("{other:?}")),
        }
    }

    /// Sends `path` (seed-authenticated with `key`) to the file port and waits until the
    /// device closed the connection. Returns the binary's summary line, if any.
    pub fn send_file(&self, path: &Path, key: &str) -> (Verdict, String) {
        println!("file send {}, key {key:?} ({})", path.display(), by(self.binary.file));
        if self.binary.file {
            let path = path.to_string_lossy();
            let args = ["file", "send", &path, "--connect", &at(self.fwd.file), "--key", key];
            let ran = self.wirekit(&args);
            let verdict =
                if ran.success() { Verdict::Done } else { Verdict::Refused(ran.to_string()) };
            return (verdict, ran.stdout.trim().to_owned());
        }
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut conn = self.conn(self.fwd.file);
        let sent = peer::seed_prove(&mut conn, key.as_bytes())
            .and_then(|_| peer::send_file(&mut conn, &name, &data));
        let clean_close = until_closed(&mut conn);
        let verdict = match sent {
            Ok(n) if n == data.len() as u64 && clean_close => Verdict::Done,
            Ok(n) => Verdict::Refused(format!("sent {n} B, then the device reset the connection")),
            Err(e) => Verdict::Refused(e),
        };
        (verdict, String::new())
    }

    /// Runs `commands` on the command port (seed-authenticated with `key`), then `q`.
    /// Returns each command's output.
    pub fn commands(&self, key: &str, commands: &[&str]) -> Result<Vec<String>, String> {
        println!("commands {commands:?}, key {key:?} ({})", by(self.binary.exec));
        if self.binary.exec {
            let address = at(self.fwd.command);
            let mut args = vec!["exec", "controller", "--connect", &address, "--key", key];
            for command in commands {
                args.extend(["-c", command]);
            }
            let ran = self.wirekit(&args);
            if !ran.success() {
                return Err(ran.to_string());
            }
            return split_controller_output(&ran.stdout, commands.len());
        }
        let mut conn = self.conn(self.fwd.command);
        peer::seed_prove(&mut conn, key.as_bytes())?;
        let replies = peer::run_commands(&mut conn, commands)?;
        replies
            .into_iter()
            .map(|r| String::from_utf8(r).map_err(|e| format!("reply not UTF-8: {e}")))
            .collect()
    }

    /// `wirekit auth client --profile secure` on the secure auth port (always the binary).
    pub fn secure_auth(&self, key: &str) -> Ran {
        println!("secure auth, key {key:?} (wirekit)");
        let address = at(self.fwd.secure_auth);
        self.wirekit(&[
            "auth",
            "client",
            "--connect",
            &address,
            "--profile",
            "secure",
            "--key",
            key,
        ])
    }

    /// `wirekit file send --profile secure` to the secure file port (always the binary).
    pub fn secure_send_file(&self, path: &Path, key: &str) -> Ran {
        println!("secure file send {}, key {key:?} (wirekit)", path.display());
        let path = path.to_string_lossy();
        let address = at(self.fwd.secure_file);
        let args =
            ["file", "send", &path, "--connect", &address, "--profile", "secure", "--key", key];
        self.wirekit(&args)
    }

    /// `wirekit exec controller --profile secure -c ...` on the secure command port (always
    /// the binary). Returns each command's output.
    pub fn secure_commands(&self, key: &str, commands: &[&str]) -> Result<Vec<String>, Ran> {
        println!("secure commands {commands:?}, key {key:?} (wirekit)");
        let address = at(self.fwd.secure_command);
        let mut args =
            vec!["exec", "controller", "--connect", &address, "--profile", "secure", "--key", key];
        for command in commands {
            args.extend(["-c", command]);
        }
        let ran = self.wirekit(&args);
        if !ran.success() {
            return Err(ran);
        }
        split_controller_output(&ran.stdout, commands.len()).map_err(|why| {
            println!("    {why}");
            ran
        })
    }

    /// `hello` to the UDP port; returns the reply.
    pub fn udp_hello(&self) -> Result<String, String> {
        println!("udp hello ({})", by(self.binary.udp));
        if self.binary.udp {
            let args = ["udp", "client", "--connect", &at(self.fwd.udp), "--timeout", "5", "hello"];
            let ran = self.wirekit(&args);
            return if ran.success() {
                Ok(ran.stdout.trim().to_owned())
            } else {
                Err(ran.to_string())
            };
        }
        let reply = peer::udp_exchange(self.fwd.udp, b"hello", 5, Duration::from_secs(1))?;
        String::from_utf8(reply).map_err(|e| e.to_string())
    }

    fn conn(&self, port: u16) -> StdConn {
        peer::connect(port, self.io_timeout).unwrap_or_else(|e| panic!("port {port}: {e}"))
    }
}

/// Reads until the device ends the connection; true for a clean close (FIN, nothing
/// unexpected), false for a reset or stray bytes.
pub fn until_closed(conn: &mut StdConn) -> bool {
    use std::io::Read;
    let stream = conn.get_mut().inner_mut();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).is_ok() && rest.is_empty()
}

/// The controller prints each command's output as the seed does (`print(ret.decode())`:
/// one line per reply here, its newline not doubled); cut it back into the last `n`
/// replies, each with the newline the device sent.
fn split_controller_output(stdout: &str, n: usize) -> Result<Vec<String>, String> {
    let lines: Vec<&str> = stdout.lines().collect();
    let first = lines
        .len()
        .checked_sub(n)
        .ok_or_else(|| format!("{n} replies expected, the controller printed {stdout:?}"))?;
    Ok(lines[first..].iter().map(|line| format!("{line}\n")).collect())
}
