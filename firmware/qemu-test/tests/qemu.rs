//! End to end: builds the riscv32 firmware image, boots it in QEMU with user-mode
//! networking (host ports forwarded to the device's services), and talks to it from the PC:
//! seed and mp handshakes (right and wrong key), a 256 KiB file whose MD5 the device
//! reports back, commands from the device's table, and a UDP exchange.
//!
//! The PC side is the `wirekit` binary (built with `cargo build -p wirekit-std --release`
//! into `target/fw-wirekit`), plus the core's machines on a blocking `Conn`
//! (`wirekit_fw_qemu_test::peer`) for the readiness probe and the burst of back-to-back
//! sessions (see `BINARY`).
//!
//! Skipped (with the reason printed) when `qemu-system-riscv32` is not installed;
//! CI installs it with `firmware/qemu-riscv/install-qemu.sh`, and under `CI` a skip fails.

#[path = "../../../tests/src/skip.rs"]
mod skip;

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use wirekit_core::auth::Outcome;
use wirekit_fw_qemu_test::pc::{BinarySteps, Pc, Verdict};
use wirekit_fw_qemu_test::peer;
use wirekit_fw_qemu_test::{
    build_image, build_wirekit, elf32_sizes, find_qemu, run_bounded, Forwards, Qemu, KEY,
};

/// Budget for everything after the image and the binary are built.
const BUDGET: Duration = Duration::from_secs(90);
/// Per-operation socket timeout.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Time limit of one `wirekit` run.
const RUN_LIMIT: Duration = Duration::from_secs(20);
/// The file: 256 KiB, the device's limit.
const FILE_LEN: usize = 256 * 1024;
const WRONG_KEY: &str = "not-the-key";
/// A wrong key the secure profile accepts as a key (16 bytes or more).
const SECURE_WRONG_KEY: &str = "not the key, but 16+ bytes long";
/// The secure file: not a multiple of the device's 1,024-byte record limit.
const SECURE_FILE_LEN: usize = 200_003;
/// `wirekit`'s exit code for an authentication failure (a wrong key).
const EXIT_AUTH: i32 = 5;
/// Steps the `wirekit` binary drives (all of them; `WIREKIT_FW_TEST_BINARY` can hand some to
/// the core's machines over `Conn` instead). The readiness probe and the back-to-back burst
/// always use `Conn` peers: many sessions in milliseconds, and exact replies.
const BINARY: BinarySteps = BinarySteps { auth: true, file: true, exec: true, udp: true };

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed).collect()
}

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Boots QEMU on ports the OS just reported free; another process may grab one
/// before QEMU binds it (QEMU then exits at once), so try a few times.
fn boot_on_free_ports(qemu: &Path, image: &Path, log_dir: &Path) -> (Forwards, Qemu) {
    for attempt in 1..=3 {
        let fwd = Forwards::free().unwrap();
        let mut guest = Qemu::boot(qemu, image, fwd, log_dir).unwrap();
        thread::sleep(Duration::from_millis(300));
        match guest.exited() {
            None => return (fwd, guest),
            Some(status) => {
                println!("QEMU exited at once ({status}), attempt {attempt}:\n{}", guest.stderr())
            }
        }
    }
    panic!("QEMU did not stay up in 3 attempts");
}

/// Connects to the seed auth port until the device sends its challenge: slirp accepts a
/// forwarded connection even when nothing listens in the guest, and then closes it; only
/// a challenge proves the services are up. Answers it with the right key.
fn wait_until_ready(qemu: &mut Qemu, port: u16, deadline: Instant) {
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        if let Some(status) = qemu.exited() {
            panic!(
                "QEMU exited ({status}) before the guest answered\nstderr:\n{}\nserial:\n{}",
                qemu.stderr(),
                qemu.serial()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no challenge from the guest after {attempts} attempts\nserial:\n{}",
            qemu.serial()
        );
        let answered = peer::connect(port, Duration::from_secs(2))
            .and_then(|mut conn| peer::seed_prove(&mut conn, KEY.as_bytes()));
        if answered == Ok(Outcome::Answered) {
            println!("guest answered after {attempts} connection attempt(s)");
            return;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn qemu_firmware_serves_the_pc() {
    // The image is built and measured even without QEMU: that part needs only
    // the riscv32imac-unknown-none-elf target.
    let build_start = Instant::now();
    let image = build_image().unwrap();
    println!("image {} built in {:.1}s", image.display(), build_start.elapsed().as_secs_f64());
    let sizes = elf32_sizes(&std::fs::read(&image).unwrap()).unwrap();
    println!("image sizes: {sizes}");
    assert!(sizes.text > 0 && sizes.bss > 0, "implausible sizes {sizes:?}");

    let qemu_bin = match find_qemu() {
        Ok(path) => path,
        Err(why) => {
            skip::skip("booting the QEMU image", &why.to_string());
            return;
        }
    };
    let build_start = Instant::now();
    let wk = build_wirekit().unwrap();
    println!("wirekit {} built in {:.1}s", wk.display(), build_start.elapsed().as_secs_f64());

    let start = Instant::now();
    let deadline = start + BUDGET;
    let log_dir = image.with_file_name("qemu-test");
    let (fwd, mut qemu) = boot_on_free_ports(&qemu_bin, &image, &log_dir);
    println!(
        "QEMU pid {} ({}), forwards {fwd:?}, serial log {}",
        qemu.pid(),
        qemu_bin.display(),
        qemu.serial_log.display()
    );
    // QEMU is killed at the deadline even if a step hangs; dropped before `qemu` (declared
    // after it), so it never signals a PID that was already reaped.
    let watchdog = qemu.watchdog(deadline);
    wait_until_ready(&mut qemu, fwd.auth, deadline);
    println!("services up {:.2}s after boot", start.elapsed().as_secs_f64());
    let binary = BinarySteps::from_env_or(BINARY);
    println!("PC side: {binary:?} by `wirekit`, the rest by the core's machines over `Conn`");
    let pc = Pc { fwd, wirekit: wk, binary, io_timeout: IO_TIMEOUT, run_limit: RUN_LIMIT };
    let stats = || -> [u32; 4] {
        let reply = pc.commands(KEY, &["stats"]).unwrap().remove(0);
        let numbers: Vec<u32> = reply
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        numbers.try_into().unwrap_or_else(|n| panic!("stats reply {reply:?} parsed as {n:?}"))
    };

    // 1. Seed handshake on 8066. The device sends no verdict, so whether it accepted shows
    //    only in its own count (`stats`, itself one more accepted handshake).
    let [ok0, rejected0, ..] = stats();
    assert_eq!(pc.seed_auth(KEY), Verdict::Done, "seed, right key");
    assert_eq!(pc.seed_auth(WRONG_KEY), Verdict::Done, "seed, wrong key: answered, no verdict");
    let [ok, rejected, ..] = stats();
    assert_eq!(ok, ok0 + 2, "seed, right key: accepted (and the `stats` session)");
    assert_eq!(rejected, rejected0 + 1, "seed, wrong key: rejected by the device");

    // 2. mp handshake on 8067: both sides learn the verdict.
    let random = |seed: u8| -> [u8; 40] { pattern(40, seed).try_into().unwrap() };
    // The PC's challenges for the device on the command port (fixed: a test, not a secret).
    let challenge = |seed: u8| -> [u8; 32] { pattern(32, seed).try_into().unwrap() };
    assert_eq!(pc.mp_auth(KEY, random(1)), Verdict::Done, "mp, right key");
    let refused = pc.mp_auth(WRONG_KEY, random(2));
    assert!(matches!(refused, Verdict::Refused(_)), "mp, wrong key: {refused:?}");
    python_mp_client(fwd.mp);

    // 3. A 256 KiB file into the device's MD5 sink, then its `md5` command.
    let data = pattern(FILE_LEN, 0x5a);
    let file = log_dir.join("qemu-test.bin");
    std::fs::write(&file, &data).unwrap();
    let t = Instant::now();
    let (verdict, summary) = pc.send_file(&file, KEY);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(verdict, Verdict::Done, "file, right key");
    println!(
        "file transfer: {} KiB in {secs:.3}s = {:.0} KiB/s (PC -> QEMU slirp -> smoltcp -> MD5, \
         until the device closed){}",
        FILE_LEN / 1024,
        FILE_LEN as f64 / 1024.0 / secs,
        if summary.is_empty() { String::new() } else { format!("; wirekit: {summary}") }
    );
    let expected = format!("{} {FILE_LEN}\n", md5_hex(&data));
    let md5 = pc.commands(KEY, &["md5"]).unwrap();
    assert_eq!(md5[0], expected, "device MD5 vs PC MD5");

    // 4. After a wrong key, no file is taken and no command runs.
    let intruder = log_dir.join("intruder.bin");
    std::fs::write(&intruder, pattern(FILE_LEN, 0x11)).unwrap();
    let [_, rejected0, files0, _] = stats();
    let (refused, _) = pc.send_file(&intruder, WRONG_KEY);
    // The seed has no verdict; the device resets the connection, which the PC sees as a
    // failed send. What counts is that the device took nothing:
    assert!(matches!(refused, Verdict::Refused(_)), "file after a wrong key: {refused:?}");
    let denied = pc.commands(WRONG_KEY, &["md5"]);
    assert!(denied.is_err(), "a command after a wrong key was answered: {denied:?}");
    assert_eq!(pc.commands(KEY, &["md5"]).unwrap()[0], expected, "the refused file left no trace");
    let [_, rejected, files, _] = stats();
    assert_eq!((rejected, files), (rejected0 + 2, files0), "two rejections, no file taken");

    // 5. Commands from the table.
    let replies = pc.commands(KEY, &["ver", "uptime", "no-such-command"]).unwrap();
    assert!(replies[0].starts_with("wirekit-fw-qemu "), "ver: {:?}", replies[0]);
    let up = replies[1].strip_prefix("up ").and_then(|r| r.strip_suffix(" s\n"));
    let up: f64 =
        up.and_then(|u| u.parse().ok()).unwrap_or_else(|| panic!("uptime: {:?}", replies[1]));
    assert!(up > 0.0 && up < start.elapsed().as_secs_f64() + 1.0, "uptime {up}");
    assert_eq!(replies[2], "unknown command\n");

    // 6. Back-to-back and concurrent sessions on one port (4 listening sockets; a socket
    //    whose session the device closed must not sit 10 s in TIME-WAIT).
    let t = Instant::now();
    for i in 0..12u8 {
        let reply = peer::connect(fwd.command, IO_TIMEOUT).and_then(|mut conn| {
            peer::controller_handshake(&mut conn, KEY.as_bytes(), challenge(10 + i))?;
            peer::run_commands(&mut conn, &["ver"])
        });
        assert!(reply.is_ok(), "back-to-back session {i}: {reply:?}");
    }
    let workers: Vec<_> = (0..3u8)
        .map(|i| {
            thread::spawn(move || {
                let mut conn = peer::connect(fwd.command, IO_TIMEOUT)?;
                peer::controller_handshake(&mut conn, KEY.as_bytes(), challenge(30 + i))?;
                peer::run_commands(&mut conn, &["uptime", "ver"])
            })
        })
        .collect();
    for worker in workers {
        let replies = worker.join().unwrap().unwrap();
        assert!(replies[1].starts_with(b"wirekit-fw-qemu "), "concurrent session: {replies:?}");
    }
    println!(
        "12 back-to-back + 3 concurrent command sessions in {:.2}s",
        t.elapsed().as_secs_f64()
    );

    // 7. UDP hello -> bye.
    assert_eq!(pc.udp_hello().unwrap(), "bye");

    let [_, _, files, _] = stats();
    assert_eq!(files, 1, "only the authenticated file was taken");

    // 8. The secure profile (ports 8166, 8180, 8190), all through `wirekit --profile secure`.
    secure_steps(&pc, &log_dir, &stats);

    let [ok, rejected, files, commands] = stats();
    println!("device stats: auth ok {ok}, rejected {rejected}, files {files}, commands {commands}");
    assert_eq!(files, 2, "the plaintext file and the secure one");

    let serial = qemu.serial();
    assert!(serial.contains("ready"), "serial log lacks 'ready':\n{serial}");
    // QEMU was given `-device virtio-rng-device`: the image must have used it, not the
    // timer hash.
    assert!(serial.contains("entropy: virtio-rng"), "the image did not find virtio-rng:\n{serial}");
    assert!(serial.contains("secure profile: auth :8166"), "secure ports off:\n{serial}");
    assert!(!serial.contains("PANIC"), "guest panicked:\n{serial}");
    assert!(Instant::now() < deadline, "over the time budget");
    println!("QEMU part took {:.1}s", start.elapsed().as_secs_f64());
    println!("--- guest serial log ---\n{serial}");
    drop(watchdog);
    drop(qemu);
}

/// CPython's own `multiprocessing.connection.Client` (Python 3.11 answers and sends the
/// legacy challenge) against the device's mp port: right key accepted both ways, wrong key
/// refused with `AuthenticationError`. Skipped when `python3` is missing.
fn python_mp_client(port: u16) {
    const SCRIPT: &str = "
import sys
from multiprocessing.connection import Client
from multiprocessing import AuthenticationError
port, key = int(sys.argv[1]), sys.argv[2].encode()
try:
    Client(('127.0.0.1', port), authkey=key).close()
    print('WELCOME', sys.version.split()[0])
except AuthenticationError as e:
    print('REFUSED', e)
";
    for (key, want) in [(KEY, "WELCOME"), (WRONG_KEY, "REFUSED")] {
        let mut cmd = Command::new("python3");
        cmd.args(["-c", SCRIPT, &port.to_string(), key]);
        let ran = match run_bounded(&mut cmd, RUN_LIMIT) {
            Ok(ran) => ran,
            Err(e) => {
                skip::skip("python3 mp client against the QEMU image", &e.to_string());
                return;
            }
        };
        println!("python3 Client(authkey={key:?}) -> {}", ran.stdout.trim());
        assert!(ran.success() && ran.stdout.starts_with(want), "python3 mp client: {ran}");
    }
}

/// Step 8: the secure profile through the `wirekit` binary, checked on the device: its
/// `stats` counters for the handshakes, its `md5` (asked over the secure command port) for
/// the file.
fn secure_steps(pc: &Pc, log_dir: &Path, stats: &dyn Fn() -> [u32; 4]) {
    let exit_code = |ran: &wirekit_fw_qemu_test::Ran| ran.status.and_then(|s| s.code());

    // auth: both sides prove the key; a wrong key is refused (exit 5) and counted.
    let [ok0, rejected0, ..] = stats();
    let ran = pc.secure_auth(KEY);
    assert!(ran.success(), "secure auth, right key: {ran}");
    let ran = pc.secure_auth(SECURE_WRONG_KEY);
    assert_eq!(exit_code(&ran), Some(EXIT_AUTH), "secure auth, wrong key: {ran}");
    let [ok, rejected, ..] = stats();
    assert_eq!(ok, ok0 + 2, "secure auth accepted once (and the `stats` session)");
    assert_eq!(rejected, rejected0 + 1, "secure auth, wrong key: rejected by the device");

    // file: a file into the device's MD5 sink; the digest comes back over the secure
    // command port.
    let data = pattern(SECURE_FILE_LEN, 0x77);
    let file = log_dir.join("qemu-secure.bin");
    std::fs::write(&file, &data).unwrap();
    let [_, _, files0, _] = stats();
    let t = Instant::now();
    let ran = pc.secure_send_file(&file, KEY);
    let secs = t.elapsed().as_secs_f64();
    assert!(ran.success(), "secure file send: {ran}");
    println!(
        "secure file transfer: {SECURE_FILE_LEN} B in {secs:.3}s = {:.0} KiB/s (records of at \
         most 1,024 B to the device; until its close_notify)",
        SECURE_FILE_LEN as f64 / 1024.0 / secs
    );
    let expected = format!("{} {SECURE_FILE_LEN}\n", md5_hex(&data));
    let md5 = pc.secure_commands(KEY, &["md5"]).unwrap_or_else(|ran| panic!("secure md5: {ran}"));
    assert_eq!(md5[0], expected, "device MD5 of the secure file vs PC MD5");

    // A wrong key: refused before any byte of the file counts; no file, same digest.
    let intruder = log_dir.join("qemu-secure-intruder.bin");
    std::fs::write(&intruder, pattern(4096, 0x13)).unwrap();
    let ran = pc.secure_send_file(&intruder, SECURE_WRONG_KEY);
    assert_eq!(exit_code(&ran), Some(EXIT_AUTH), "secure file send, wrong key: {ran}");
    let ran = pc.secure_commands(SECURE_WRONG_KEY, &["md5"]);
    let refused = ran.expect_err("a secure command after a wrong key was answered");
    assert_eq!(exit_code(&refused), Some(EXIT_AUTH), "secure exec, wrong key: {refused}");
    let [_, _, files, _] = stats();
    assert_eq!(files, files0 + 1, "one secure file taken, the intruder's not");

    // exec: several commands in one session, an unknown one included.
    let replies = pc
        .secure_commands(KEY, &["ver", "md5", "no-such-command", "uptime"])
        .unwrap_or_else(|ran| panic!("secure exec: {ran}"));
    assert!(replies[0].starts_with("wirekit-fw-qemu "), "ver: {:?}", replies[0]);
    assert_eq!(replies[1], expected, "the intruder left no trace");
    assert_eq!(replies[2], "unknown command\n");
    assert!(replies[3].starts_with("up "), "uptime: {:?}", replies[3]);
}
