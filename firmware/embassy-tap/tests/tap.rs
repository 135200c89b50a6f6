//! The embassy services against the Linux kernel's TCP and the real `wirekit` binary.
//!
//! Topology: a network namespace `wkemb-<pid>`; in it the `wirekit-embassy-tap` binary
//! (embassy-net on embassy-net-tuntap, embassy's std executor) creates the TAP `wkemb0` and
//! serves at 10.78.0.2; the kernel's side of the TAP is 10.78.0.1/24. The `wirekit` children
//! run in the same namespace (`ip netns exec`); nothing touches the root namespace's
//! network, and deleting the namespace (a guard, also on failure) removes the TAP with it.
//!
//! Scenarios, each with the right and a wrong key: `file send` (the digest checked through
//! the device's `md5` command), `exec controller` commands, `auth client` (the seed sends no
//! verdict, so the device's `stats` tell whether it accepted), then back-to-back sessions on
//! one port. Every child is bounded in time.
//!
//! Not root, no `/dev/net/tun` or no `ip`: the test says why and passes (fails under CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[path = "../../../tests/src/skip.rs"]
mod skip;
#[path = "../../../smoltcp-adapter/tests/wirekit_cli/mod.rs"]
mod wirekit_cli;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use wirekit_cli::{wirekit_bin, Child, Output, TempDir};

const TAP: &str = "wkemb0";
const DEVICE: &str = "10.78.0.2";
const KEY: &str = "a 32-byte key, shared by both!!!";
const WRONG_KEY: &str = "a 32-byte key, but not the same!";
/// Bound on each `wirekit` child; it also gets `--timeout` below this.
const CHILD_LIMIT: Duration = Duration::from_secs(20);
const CHILD_TIMEOUT: &str = "10";

/// Why the test cannot run here, if it cannot.
fn skip_reason() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not root (network namespaces and TAP devices need CAP_NET_ADMIN)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("the `ip` tool (iproute2) is missing".into());
    }
    None
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace, deleted on drop (with the TAP in it).
struct Netns(String);

impl Netns {
    fn create() -> Self {
        let name = format!("wkemb-{}", std::process::id());
        // A leftover of a killed earlier run with the same pid.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        Self(name)
    }

    /// `program args…` inside the namespace.
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.0]).arg(program).args(args).env_remove("WIREKIT_KEY");
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        match Command::new("ip").args(["netns", "del", &self.0]).output() {
            Ok(out) if out.status.success() => {}
            other => eprintln!("could not delete netns {}: {other:?}", self.0),
        }
    }
}

/// The `wirekit` binary against the device.
struct Pc<'n> {
    ns: &'n Netns,
}

impl Pc<'_> {
    fn wirekit(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--timeout", CHILD_TIMEOUT]);
        let started = Instant::now();
        let out = Child::spawn(self.ns.command(wirekit_bin(), &all), "wirekit").wait(CHILD_LIMIT);
        println!(
            "$ wirekit {} ({:.3} s)\n  {}",
            all.join(" "),
            started.elapsed().as_secs_f64(),
            out.to_string().replace('\n', "\n  ")
        );
        out
    }

    fn at(port: u16) -> String {
        format!("{DEVICE}:{port}")
    }

    /// Each command's output line, or the failed run.
    fn commands(&self, key: &str, commands: &[&str]) -> Result<Vec<String>, Output> {
        let address = Self::at(8090);
        let mut args = vec!["exec", "controller", "--connect", &address, "--key", key];
        for command in commands {
            args.extend(["-c", command]);
        }
        let out = self.wirekit(&args);
        if out.code != Some(0) {
            return Err(out);
        }
        let lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
        assert!(lines.len() >= commands.len(), "{} replies expected:\n{out}", commands.len());
        Ok(lines[lines.len() - commands.len()..].to_vec())
    }

    /// `[auth ok, auth rejected, files, commands]` from the device's `stats` (itself one more
    /// accepted handshake).
    fn stats(&self) -> [u32; 4] {
        let reply = self.commands(KEY, &["stats"]).unwrap().remove(0);
        let numbers: Vec<u32> =
            reply.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
        numbers.try_into().unwrap_or_else(|n| panic!("stats reply {reply:?} parsed as {n:?}"))
    }

    fn send_file(&self, path: &Path, key: &str) -> Output {
        let path = path.to_string_lossy();
        self.wirekit(&["file", "send", &path, "--connect", &Self::at(8080), "--key", key])
    }

    fn seed_auth(&self, key: &str) -> Output {
        self.wirekit(&["auth", "client", "--connect", &Self::at(8066), "--key", key])
    }
}

fn test_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 7)) as u8).collect()
}

#[test]
fn embassy_services_serve_the_kernel_and_the_wirekit_binary() {
    if let Some(reason) = skip_reason() {
        skip::skip("embassy TAP test", &reason);
        return;
    }
    // Built before the clock starts: a cold build is not the test's time.
    wirekit_bin();
    let started = Instant::now();
    let ns = Netns::create();
    let mut device_cmd =
        ns.command(Path::new(env!("CARGO_BIN_EXE_wirekit-embassy-tap")), &[TAP, "10.78.0.2/24"]);
    device_cmd.env("WIREKIT_KEY", KEY);
    let mut device = Child::spawn(device_cmd, "wirekit-embassy-tap");
    let listening = device.wait_listening();
    assert_eq!(listening.to_string(), format!("{DEVICE}:8066"));
    ip(&["-n", &ns.0, "addr", "add", "10.78.0.1/24", "dev", TAP]);
    ip(&["-n", &ns.0, "link", "set", TAP, "up"]);
    ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
    let pc = Pc { ns: &ns };

    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenarios(&pc)));
    // The device serves until killed: this kill is its normal end.
    let log = device.wait(Duration::ZERO);
    if outcome.is_err() {
        eprintln!("device log:\n{log}");
    }
    drop(ns);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    println!("all scenarios: {:.2} s", started.elapsed().as_secs_f64());
}

fn scenarios(pc: &Pc<'_>) {
    let dir = TempDir::new("embassy");
    let body = test_bytes(200 * 1024);
    let path = dir.path().join("image.bin");
    std::fs::write(&path, &body).unwrap();
    let md5: String = Md5::digest(&body).iter().map(|b| format!("{b:02x}")).collect();

    // 1. A file with the right key: delivered (exit 0 is the device's clean close), and the
    //    device's digest of it is the PC's.
    let sent = pc.send_file(&path, KEY);
    assert_eq!(sent.code, Some(0), "file send, right key:\n{sent}");
    let reply = pc.commands(KEY, &["md5"]).unwrap();
    assert_eq!(reply, [format!("{md5} {}", body.len())]);

    // 2. A file with a wrong key: refused (reset), not counted, the digest unchanged.
    let [ok0, rejected0, files0, _] = pc.stats();
    let other = dir.path().join("other.bin");
    std::fs::write(&other, b"must not arrive").unwrap();
    let refused = pc.send_file(&other, WRONG_KEY);
    assert_ne!(refused.code, Some(0), "file send, wrong key, succeeded:\n{refused}");
    let [ok, rejected, files, _] = pc.stats();
    assert_eq!((ok, rejected, files), (ok0 + 1, rejected0 + 1, files0));
    assert_eq!(pc.commands(KEY, &["md5"]).unwrap(), [format!("{md5} {}", body.len())]);

    // 3. Commands: the table, a formatted reply, an unknown command; a wrong key runs none.
    let replies = pc.commands(KEY, &["ver", "uptime", "rm -rf /"]).unwrap();
    assert!(replies[0].starts_with("wirekit-embassy "), "{replies:?}");
    assert!(replies[1].starts_with("up ") && replies[1].ends_with(" s"), "{replies:?}");
    assert_eq!(replies[2], "unknown command");
    let [_, rejected0, _, commands0] = pc.stats();
    let denied = pc.commands(WRONG_KEY, &["ver"]);
    assert!(denied.is_err(), "a command ran after a wrong key: {denied:?}");
    let [_, rejected, _, commands] = pc.stats();
    assert_eq!(rejected, rejected0 + 1);
    assert_eq!(commands, commands0 + 1, "only the `stats` itself ran");

    // 4. Seed auth: the device sends no verdict (both runs answer and exit 0); its counters
    //    say which one it accepted.
    let [ok0, rejected0, ..] = pc.stats();
    let right = pc.seed_auth(KEY);
    assert_eq!(right.code, Some(0), "{right}");
    let wrong = pc.seed_auth(WRONG_KEY);
    assert_eq!(wrong.code, Some(0), "{wrong}");
    let [ok, rejected, ..] = pc.stats();
    assert_eq!(ok, ok0 + 2, "right key accepted (and the `stats` session)");
    assert_eq!(rejected, rejected0 + 1, "wrong key rejected");

    // 5. Back-to-back sessions on one port: each socket listens again after its session.
    for i in 0..6 {
        let reply = pc.commands(KEY, &["ver"]).unwrap_or_else(|e| panic!("session {i}:\n{e}"));
        assert!(reply[0].starts_with("wirekit-embassy "), "session {i}: {reply:?}");
    }
}
