//! Builds the riscv32 firmware image, boots it in QEMU with user-mode networking,
//! and checks its TCP echo (port 7000) and UDP echo (port 7001) from the host.
//!
//! Skipped (with the reason printed) when `qemu-system-riscv32` is not installed;
//! CI installs it with `firmware/qemu-riscv/install-qemu.sh`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use wirekit_fw_qemu_test::{build_image, elf32_sizes, find_qemu, free_port, Forwards, Qemu};

/// Budget for everything after the image is built.
const BUDGET: Duration = Duration::from_secs(60);
/// Bytes for the TCP correctness check.
const SMALL: usize = 4 * 1024;
/// Bytes for the throughput run.
const BULK: usize = 1024 * 1024;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed).collect()
}

/// Connects until the guest answers: slirp accepts a forwarded connection even
/// when nothing listens in the guest, and then closes it; only an echoed byte
/// proves the service is up.
fn connect_when_ready(qemu: &mut Qemu, port: u16, deadline: Instant) -> TcpStream {
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
            "no echo from the guest after {attempts} attempts\nserial:\n{}",
            qemu.serial()
        );
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut byte = [0u8; 1];
            if stream.write_all(b"?").is_ok() && matches!(stream.read(&mut byte), Ok(1)) {
                assert_eq!(&byte, b"?", "first echoed byte");
                println!("guest answered after {attempts} connection attempt(s)");
                return stream;
            }
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Sends `data` from a writer thread while reading the echo; returns the echo.
fn echo_roundtrip(stream: TcpStream, data: Vec<u8>, deadline: Instant) -> Vec<u8> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    stream.set_read_timeout(Some(remaining.max(Duration::from_secs(1)))).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let len = data.len();
    let sender = thread::spawn(move || {
        writer.write_all(&data).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut reader = stream;
    let mut echoed = Vec::with_capacity(len);
    reader
        .read_to_end(&mut echoed)
        .unwrap_or_else(|e| panic!("reading the echo after {} bytes: {e}", echoed.len()));
    sender.join().unwrap();
    echoed
}

/// Boots QEMU on ports the OS just reported free; another process may grab one
/// before QEMU binds it (QEMU then exits at once), so try a few times.
fn boot_on_free_ports(qemu: &Path, image: &Path, log_dir: &Path) -> (Forwards, Qemu) {
    for attempt in 1..=3 {
        let fwd = Forwards { tcp: free_port("tcp").unwrap(), udp: free_port("udp").unwrap() };
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

#[test]
fn qemu_boots_and_echoes() {
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
            println!("SKIPPED booting the image: {why}");
            return;
        }
    };

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

    // 1. First real reply, then a few KiB on the same connection.
    let stream = connect_when_ready(&mut qemu, fwd.tcp, deadline);
    println!("first echo {:.2}s after boot", start.elapsed().as_secs_f64());
    let small = pattern(SMALL, 0x5a);
    let echoed = echo_roundtrip(stream, small.clone(), deadline);
    assert_eq!(echoed.len(), small.len(), "TCP echo length");
    assert!(echoed == small, "TCP echo content differs");

    // 2. Back-to-back short connections (several listening sockets in the guest).
    for i in 0..3u8 {
        let stream = TcpStream::connect(("127.0.0.1", fwd.tcp)).unwrap();
        let msg = pattern(100 + usize::from(i), i);
        let echoed = echo_roundtrip(stream, msg.clone(), deadline);
        assert!(echoed == msg, "short connection {i}: echo differs");
    }

    // 3. Throughput.
    let bulk = pattern(BULK, 0xa5);
    let stream = TcpStream::connect(("127.0.0.1", fwd.tcp)).unwrap();
    let t = Instant::now();
    let echoed = echo_roundtrip(stream, bulk.clone(), deadline);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(echoed.len(), bulk.len(), "bulk TCP echo length");
    assert!(echoed == bulk, "bulk TCP echo content differs");
    println!(
        "TCP echo throughput: {} KiB each way in {:.2}s = {:.0} KiB/s",
        BULK / 1024,
        secs,
        BULK as f64 / 1024.0 / secs
    );

    // 4. UDP echo (datagrams may be lost: retry a few times).
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let datagram = pattern(512, 0x33);
    let mut reply = [0u8; 2048];
    let mut got = None;
    for _ in 0..5 {
        udp.send_to(&datagram, ("127.0.0.1", fwd.udp)).unwrap();
        if let Ok((n, _)) = udp.recv_from(&mut reply) {
            got = Some(n);
            break;
        }
    }
    let n = got.unwrap_or_else(|| panic!("no UDP echo\nserial:\n{}", qemu.serial()));
    assert_eq!(&reply[..n], &datagram[..], "UDP echo differs");

    let serial = qemu.serial();
    assert!(serial.contains("ready"), "serial log lacks 'ready':\n{serial}");
    assert!(!serial.contains("PANIC"), "guest panicked:\n{serial}");
    println!("QEMU part took {:.1}s", start.elapsed().as_secs_f64());
    println!("--- guest serial log ---\n{serial}");
}
