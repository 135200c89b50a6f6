//! Issue 6, part 3 over Linux TCP: SIGKILL the sender at random points of 20 transfers of an
//! 8 MiB file to a serving `wirekit file recv`. Each transfer leaves either the complete new
//! file or the old state (an older file of the same name), never a torn file, and once the
//! receiver has noticed the end of the connection no temporary file is left in `--dir`
//! (they are `.wirekit-NAME.RANDOM.part` files in `--dir`, removed when a transfer fails).
//!
//! Half the kills come after a random delay from the sender's start, half once the receiver's
//! temporary file has reached a random size (N bytes observed on the receiving side).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wirekit_tests::hostile::{listing, read, wait_for, write};
use wirekit_tests::{args, wirekit, Child};

const NAME: &str = "data.bin";
const LEN: usize = 8 << 20;
const TRANSFERS: u64 = 20;

/// Version `v` of the file: every byte says which version it belongs to, every 4 KiB block
/// also where it is, so a torn or shifted file cannot pass for either version.
fn version(v: u64) -> Vec<u8> {
    let mut body = vec![v as u8; LEN];
    for (block, at) in (0..LEN).step_by(4096).enumerate() {
        body[at] = block as u8;
        body[at + 1] = (block >> 8) as u8;
    }
    body
}

/// xorshift64*: reproducible randomness from a printed seed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

fn count(text: &str, prefix: &str) -> usize {
    text.lines().filter(|l| l.starts_with(prefix)).count()
}

/// Connections the server has seen, and those it has finished (saved or failed).
fn progress(server: &Child) -> (usize, usize) {
    let err = server.stderr_now();
    (count(&err, "connection from"), count(&err, "saved ") + count(&err, "wirekit: "))
}

/// Size of the receiver's temporary file, if one exists.
fn part_size(dir: &std::path::Path) -> Option<u64> {
    let part = listing(dir).into_iter().find(|n| n.ends_with(".part"))?;
    std::fs::metadata(dir.join(part)).ok().map(|m| m.len())
}

#[test]
fn k01_sigkill_the_sender_at_random_points_of_20_transfers() {
    let root = tempfile::tempdir().unwrap();
    let (src, dst) = (root.path().join("src"), root.path().join("dst"));
    std::fs::create_dir(&src).unwrap();
    std::fs::create_dir(&dst).unwrap();
    let d = dst.to_str().unwrap();
    let server_args = ["file", "recv", "--listen", "127.0.0.1:0", "--dir", d, "--timeout", "2"];
    let (server, addr) = Child::server(args(wirekit(), server_args), "wirekit file recv");
    let a = addr.to_string();
    let mut current = 0;
    write(&dst.join(NAME), &version(current));
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut rng = Rng(seed);
    let (mut new, mut old) = (0, 0);
    let start = Instant::now();
    for v in 1..=TRANSFERS {
        let body = version(v);
        let path = src.join(NAME);
        write(&path, &body);
        let before = progress(&server);
        let p = path.to_str().unwrap();
        let send = ["file", "send", p, "--connect", &a, "--timeout", "5", "-q"];
        let mut sender = Child::spawn(args(wirekit(), send), "wirekit file send");
        let how = if v % 2 == 0 {
            let ms = rng.below(20);
            std::thread::sleep(Duration::from_millis(ms));
            format!("after {ms} ms")
        } else {
            let n = rng.below(LEN as u64);
            wait_for(Duration::from_secs(5), || {
                part_size(&dst).is_some_and(|s| s >= n) || !sender.is_running()
            });
            format!("at {n} bytes received")
        };
        sender.kill_now();
        // The receiver notices (EOF) and finishes that connection: saved, or failed and cleaned.
        let settled = || {
            let now = progress(&server);
            now.0 - before.0 == now.1 - before.1
        };
        let mut quiet = 0;
        let noticed = wait_for(Duration::from_secs(10), || {
            quiet = if settled() { quiet + 1 } else { 0 };
            quiet >= 20
        });
        assert!(noticed, "transfer {v}: the receiver did not finish:\n{}", server.stderr_now());
        // Whole and not older than before: the new version, or the state before this kill.
        // (Identified by content rather than assumed, so that a connection the receiver
        // accepts late cannot make the next round look torn.)
        let got = read(&dst.join(NAME));
        let which = u64::from(got.get(2).copied().unwrap_or(u8::MAX));
        assert!(
            got.len() == LEN && (current..=v).contains(&which) && got == version(which),
            "transfer {v} (killed {how}): a torn file of {} bytes",
            got.len()
        );
        if which == v {
            new += 1;
        } else {
            old += 1;
        }
        current = which;
        let clean = wait_for(Duration::from_secs(5), || listing(&dst) == [NAME]);
        assert!(clean, "transfer {v} (killed {how}): leftovers {:?}", listing(&dst));
    }
    let cut = count(&server.stderr_now(), "wirekit: ");
    let mid_body = server.stderr_now().matches(" bytes of \"data.bin\"; the partial").count();
    eprintln!(
        "k01: {TRANSFERS} senders killed (seed {seed}): {new} left the complete new file, {old} \
         the old one ({cut} connections failed on the receiver, {mid_body} of them mid-body with \
         a temporary file discarded), 0 torn, no temporary files; {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let mut server = server;
    assert!(server.is_running(), "the receiver exited:\n{}", server.stderr_now());
}
