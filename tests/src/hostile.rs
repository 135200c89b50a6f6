//! The harness of the hostile-input catalogue (`tests/hostile/README.md`): a real `wirekit`
//! server under attack with its directories and memory watched ([`Target`]), raw attacking
//! connections ([`Attack`]), hand-made wire messages, and the checks every row ends with
//! ([`Target::finish`]): the server still runs and serves a good client, nothing was written
//! outside `--dir` (nor into its working directory), no temporary or partial file is left, the
//! older file is intact, and its resident memory grew by less than [`RSS_GROWTH_LIMIT_KIB`].

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::{args, run, wirekit, Child, Output};

/// The shared key of every keyed target.
pub const KEY: &str = "egg";
/// A file that exists in `--dir` before the attack and must survive it.
pub const KEEP_NAME: &str = "keep.txt";
/// Its content.
pub const KEEP_BODY: &[u8] = b"older file, must survive every attack";
/// A file outside `--dir` (a sibling folder) that no attack may touch.
pub const SECRET_NAME: &str = "secret.txt";
/// Its content.
pub const SECRET_BODY: &[u8] = b"outside --dir";
/// The most a server's resident memory may grow during one row.
pub const RSS_GROWTH_LIMIT_KIB: u64 = 16 * 1024;
/// Bound on every wait for a reply or a server line.
pub const IO_LIMIT: Duration = Duration::from_secs(10);
/// The command an exec controller target sends.
pub const EXEC_MARK: &str = "hostile-ok";

/// `VmRSS` of a process in KiB (0 if unreadable, e.g. not Linux).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Number of threads of a process (0 if unreadable).
pub fn threads(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Which `wirekit` server is under attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `wirekit file recv --listen` into a fresh `--dir`.
    FileRecv,
    /// `wirekit auth server --key egg`.
    Auth,
    /// `wirekit tcp server`.
    Tcp,
    /// `wirekit exec controller -c "echo hostile-ok"`.
    ExecController,
    /// `wirekit file send src/big.bin --listen` ([`BIG_LEN`] bytes); good clients receive it
    /// into `root/got`.
    FileSend,
}

/// Size of the file a [`Kind::FileSend`] target serves: more than loopback socket buffers
/// hold, so a client that never reads makes the sender block.
pub const BIG_LEN: usize = 32 << 20;

/// The content of the file a [`Kind::FileSend`] target serves.
pub fn big_body() -> Vec<u8> {
    (0..BIG_LEN).map(|i| (i % 251) as u8 ^ (i >> 16) as u8).collect()
}

/// A running `wirekit` server with its folders: `root/dir` (its `--dir`, holding
/// [`KEEP_NAME`]), `root/outside` (holding [`SECRET_NAME`]), `root/cwd` (its working
/// directory, where the seed's receiver would write) and `root/src` (good clients' files).
pub struct Target {
    /// What it is.
    pub kind: Kind,
    /// The server process.
    pub server: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    row: String,
    shared: Vec<String>,
    root: tempfile::TempDir,
    goods: usize,
    saved: Vec<String>,
    rss_start: u64,
    rss_limit_kib: u64,
}

impl Target {
    /// Start a server of `kind` for catalogue row `row`. `shared` options go to the server and
    /// to the good clients (`--profile mp`, `--key`), `server_only` to the server alone
    /// (`--max-connections`, `--timeout`). Default `--timeout 2`. One good client runs first,
    /// so the memory baseline includes the buffers any connection needs.
    pub fn start(row: &str, kind: Kind, shared: &[&str], server_only: &[&str]) -> Self {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        for sub in SUBDIRS {
            std::fs::create_dir(root.path().join(sub)).unwrap_or_else(|e| panic!("{sub}: {e}"));
        }
        write(&root.path().join("dir").join(KEEP_NAME), KEEP_BODY);
        write(&root.path().join("outside").join(SECRET_NAME), SECRET_BODY);
        let dir = root.path().join("dir");
        let mut a: Vec<String> = match kind {
            Kind::FileRecv => vec!["file".into(), "recv".into(), "--dir".into(), path_str(&dir)],
            Kind::Auth => vec!["auth".into(), "server".into()],
            Kind::Tcp => vec!["tcp".into(), "server".into()],
            Kind::ExecController => {
                vec!["exec".into(), "controller".into(), "-c".into(), format!("echo {EXEC_MARK}")]
            }
            Kind::FileSend => {
                let big = root.path().join("src").join("big.bin");
                write(&big, &big_body());
                vec!["file".into(), "send".into(), path_str(&big)]
            }
        };
        a.extend(["--listen".into(), "127.0.0.1:0".into()]);
        if kind == Kind::Auth && !shared.contains(&"--key") {
            a.extend(["--key".into(), KEY.into()]);
        }
        a.extend(shared.iter().map(|s| s.to_string()));
        a.extend(server_only.iter().map(|s| s.to_string()));
        if !server_only.contains(&"--timeout") {
            a.extend(["--timeout".into(), "2".into()]);
        }
        let mut cmd = args(wirekit(), &a);
        cmd.current_dir(root.path().join("cwd"));
        let (server, addr) = Child::server(cmd, &format!("{row}: wirekit {} {}", a[0], a[1]));
        let mut target = Self {
            kind,
            server,
            addr,
            row: row.to_owned(),
            shared: shared.iter().map(|s| s.to_string()).collect(),
            root,
            goods: 0,
            saved: Vec::new(),
            rss_start: 0,
            rss_limit_kib: RSS_GROWTH_LIMIT_KIB,
        };
        target.good_client();
        target.rss_start = rss_kib(target.server.pid());
        target
    }

    /// The server's `--dir`.
    pub fn dir(&self) -> PathBuf {
        self.root.path().join("dir")
    }

    /// The folder next to `--dir` that must stay untouched.
    pub fn outside(&self) -> PathBuf {
        self.root.path().join("outside")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// Resident memory now, KiB.
    pub fn rss(&self) -> u64 {
        rss_kib(self.pid())
    }

    /// Where good clients' files and the [`Kind::FileSend`] file live.
    pub fn src(&self) -> PathBuf {
        self.root.path().join("src")
    }

    /// The row id.
    pub fn row(&self) -> &str {
        &self.row
    }

    /// Open an attacking connection.
    pub fn attack(&self) -> Attack {
        Attack::connect(self.addr)
    }

    /// Wait for the server's one-line error about `peer` (a `wirekit:` stderr line naming its
    /// address) that contains `needle`; returns the line.
    pub fn expect_error(&self, peer: SocketAddr, needle: &str) -> String {
        let peer = peer.to_string();
        let found = |err: &str| {
            err.lines()
                .find(|l| l.starts_with("wirekit:") && l.contains(&peer) && l.contains(needle))
                .map(str::to_owned)
        };
        self.server.wait_until(IO_LIMIT, |_, err| found(err).is_some());
        let err = self.server.stderr_now();
        let line = found(&err).unwrap_or_else(|| {
            panic!("{}: no `wirekit:` line naming {peer} with {needle:?}:\n{err}", self.row)
        });
        // Shown with --nocapture: the catalogue's evidence, row by row.
        eprintln!("{}: {line}", self.row);
        line
    }

    /// Wait for `count` stdout lines that start with `prefix` (auth verdicts, exec output).
    pub fn expect_stdout_lines(&self, prefix: &str, count: usize) {
        let n = |out: &str| out.lines().filter(|l| l.starts_with(prefix)).count();
        self.server.wait_until(IO_LIMIT, |out, _| n(out) >= count);
        let out = self.server.stdout_now();
        assert!(n(&out) >= count, "{}: {count} lines {prefix:?} expected:\n{out}", self.row);
    }

    /// Run one good client of the target's kind and check that it was served.
    pub fn good_client(&mut self) {
        self.goods += 1;
        let a = self.addr.to_string();
        let shared: Vec<&str> = self.shared.iter().map(String::as_str).collect();
        let keyed = shared.contains(&"--key");
        let mut c: Vec<String> = Vec::new();
        match self.kind {
            Kind::FileRecv => {
                let name = format!("good-{}.txt", self.goods);
                let path = self.root.path().join("src").join(&name);
                write(&path, name.as_bytes());
                c.extend(["file", "send"].map(String::from));
                c.push(path_str(&path));
                self.saved.push(name);
            }
            Kind::Auth => {
                c.extend(["auth", "client"].map(String::from));
                if !keyed {
                    c.extend(["--key".into(), KEY.into()]);
                }
            }
            Kind::Tcp => c.extend(["tcp", "client"].map(String::from)),
            Kind::ExecController => {
                c.extend(["exec", "agent"].map(String::from));
                if !keyed {
                    c.push("--insecure".into());
                }
            }
            Kind::FileSend => {
                let got = self.root.path().join("got");
                let _ = std::fs::remove_file(got.join("big.bin"));
                c.extend(["file".into(), "recv".into(), "--dir".into(), path_str(&got)]);
            }
        }
        c.extend(["--connect".into(), a, "--timeout".into(), "10".into()]);
        c.extend(shared.iter().map(|s| s.to_string()));
        let out = run(args(wirekit(), &c), "good client");
        assert_eq!(out.code(), 0, "{}: the good client #{} failed:\n{out}", self.row, self.goods);
        match self.kind {
            Kind::FileRecv => {
                let name = self.saved.last().cloned().unwrap_or_default();
                assert_eq!(read(&self.dir().join(&name)), name.as_bytes(), "{}", self.row);
            }
            Kind::Auth if !shared.contains(&"mp") => {
                // demo4 has no verdict: the server's line is the only evidence.
                self.expect_stdout_lines(LEGIT, self.goods);
            }
            Kind::Auth => assert!(out.stdout.contains("authenticated"), "{}: {out}", self.row),
            Kind::Tcp => assert_eq!(out.lines(), ["hi", "吃了"], "{}", self.row),
            Kind::ExecController => self.expect_stdout_lines(EXEC_MARK, self.goods),
            Kind::FileSend => {
                let got = read(&self.root.path().join("got").join("big.bin"));
                assert!(got == big_body(), "{}: the good receiver got other bytes", self.row);
            }
        }
    }

    /// A row that floods the server with connections bounds memory per served connection
    /// instead: `kib` replaces [`RSS_GROWTH_LIMIT_KIB`] in [`Target::finish`] (right after a
    /// flood the allocator has not yet handed the freed buffers back).
    pub fn set_rss_limit_kib(&mut self, kib: u64) {
        self.rss_limit_kib = kib;
    }

    /// End the row: the server still runs, a good client is served, `--dir` holds exactly
    /// [`KEEP_NAME`] (unchanged unless `changed` names it), the good clients' files and
    /// `new_files`, the other folders are untouched, and memory stayed bounded. Prints the
    /// memory figures. Returns the server's output.
    pub fn finish(mut self, new_files: &[&str], changed: &[&str]) -> Output {
        let rss_attacked = self.rss();
        self.good_client();
        let rss_end = self.rss();
        let mut expected: Vec<String> = vec![KEEP_NAME.to_owned()];
        expected.extend(self.saved.iter().cloned());
        expected.extend(new_files.iter().map(|s| s.to_string()));
        expected.sort();
        expected.dedup();
        assert_eq!(listing(&self.dir()), expected, "{}: --dir holds exactly these", self.row);
        if !changed.contains(&KEEP_NAME) {
            assert_eq!(read(&self.dir().join(KEEP_NAME)), KEEP_BODY, "{}", self.row);
        }
        let mut outside = BTreeMap::new();
        outside.insert(SECRET_NAME.to_owned(), SECRET_BODY.to_vec());
        assert_eq!(contents(&self.outside()), outside, "{}: outside --dir", self.row);
        assert!(listing(&self.root.path().join("cwd")).is_empty(), "{}: cwd", self.row);
        let mut top = listing(self.root.path());
        top.retain(|n| !SUBDIRS.contains(&n.as_str()));
        assert!(top.is_empty(), "{}: written next to --dir: {top:?}", self.row);
        let growth = rss_attacked.max(rss_end).saturating_sub(self.rss_start);
        eprintln!(
            "{}: VmRSS {} KiB before, {} KiB after the attack, {} KiB after the good client",
            self.row, self.rss_start, rss_attacked, rss_end
        );
        assert!(
            growth < self.rss_limit_kib,
            "{}: resident memory grew by {growth} KiB ({} -> {}/{})",
            self.row,
            self.rss_start,
            rss_attacked,
            rss_end
        );
        assert!(self.server.is_running(), "{}: the server exited", self.row);
        self.server.wait_output(Duration::ZERO)
    }
}

const SUBDIRS: [&str; 5] = ["dir", "outside", "cwd", "src", "got"];

/// The seed server's verdict for a good client.
pub const LEGIT: &str = "合法的客户端 legit client";
/// The seed server's verdict for a bad one.
pub const ILLEGITIMATE: &str = "不合法的客户端 illegitimate client";

/// One raw attacking connection. Every read and write is bounded by [`IO_LIMIT`]; writes
/// ignore errors (the server may reset us mid-attack, which is fine).
pub struct Attack {
    /// The socket.
    pub stream: TcpStream,
    /// Our address, which the server's error line must name.
    pub local: SocketAddr,
}

impl Attack {
    /// Connect to `addr`.
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect_timeout(&addr, IO_LIMIT)
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_read_timeout(Some(IO_LIMIT)).ok();
        stream.set_write_timeout(Some(IO_LIMIT)).ok();
        stream.set_nodelay(true).ok();
        let local = stream.local_addr().unwrap_or_else(|e| panic!("local_addr: {e}"));
        Self { stream, local }
    }

    /// Send `bytes` (errors ignored).
    pub fn send(&mut self, bytes: &[u8]) -> &mut Self {
        let _ = self.stream.write_all(bytes);
        self
    }

    /// Send one mp frame (`!i` length, then the payload).
    pub fn send_mp_frame(&mut self, payload: &[u8]) -> &mut Self {
        self.send(&mp_prefixed(payload))
    }

    /// Read exactly `n` bytes.
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        self.stream.read_exact(&mut buf).unwrap_or_else(|e| panic!("read {n} bytes: {e}"));
        buf
    }

    /// Read one mp frame of at most 4 KiB.
    pub fn read_mp_frame(&mut self) -> Vec<u8> {
        let len = u32::from_be_bytes(self.read_n(4).try_into().unwrap_or([0; 4])) as usize;
        assert!(len <= 4096, "frame of {len} bytes");
        self.read_n(len)
    }

    /// Close our sending side and read whatever the server still sends until it closes (at
    /// most 1 MiB, [`IO_LIMIT`]); a reset ends the reading too.
    pub fn finish(mut self) -> Vec<u8> {
        let _ = self.stream.shutdown(Shutdown::Write);
        self.drain()
    }

    /// Read until the server closes (it must, on its own), without closing our side.
    pub fn drain(&mut self) -> Vec<u8> {
        let start = Instant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        while start.elapsed() < IO_LIMIT && got.len() < (1 << 20) {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got
    }
}

/// A JSON string as Python's `json.dumps` writes it (ASCII only, `\uXXXX` escapes).
pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for unit in s.encode_utf16() {
        match unit {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x20..=0x7e => out.push(unit as u8 as char),
            _ => out.push_str(&format!("\\u{unit:04x}")),
        }
    }
    out.push('"');
    out
}

/// `payload` behind a seed prefix (`struct.pack('i')`, little-endian).
pub fn seed_prefixed(payload: &[u8]) -> Vec<u8> {
    let mut wire = (payload.len() as i32).to_le_bytes().to_vec();
    wire.extend_from_slice(payload);
    wire
}

/// `payload` behind an mp prefix (`!i`, big-endian).
pub fn mp_prefixed(payload: &[u8]) -> Vec<u8> {
    let mut wire = (payload.len() as i32).to_be_bytes().to_vec();
    wire.extend_from_slice(payload);
    wire
}

/// A demo3 header as `json.dumps` writes it, with `filesize` given as raw JSON text.
pub fn header_json(name: &str, filesize: &str) -> String {
    format!(r#"{{"filename": {}, "filepath": "F:\\up", "filesize": {filesize}}}"#, json_str(name))
}

/// A whole seed upload: prefix, header, then `body` (which may differ from `filesize`).
pub fn upload(name: &str, filesize: i64, body: &[u8]) -> Vec<u8> {
    let mut wire = seed_prefixed(header_json(name, &filesize.to_string()).as_bytes());
    wire.extend_from_slice(body);
    wire
}

/// Sorted names in `dir`.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()))
        .map(Iterator::collect)
        .unwrap_or_default();
    v.sort();
    v
}

/// Names and contents of the regular files in `dir`.
pub fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    listing(dir)
        .into_iter()
        .map(|n| (n.clone(), std::fs::read(dir.join(&n)).unwrap_or_default()))
        .collect()
}

/// Wait until `cond` holds, at most `limit`.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > limit {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Read a file (panics with the path).
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Write a file (panics with the path).
pub fn write(path: &Path, body: &[u8]) {
    std::fs::write(path, body).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
