//! Hostile-input catalogue (tests/hostile/README.md), rows h80–h83: connection-level attacks on
//! real `wirekit` servers: 1,000 idle connections (slowloris) with a small `--timeout`, more
//! clients than `--max-connections`, a connect-and-close storm, a client that never reads.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use wirekit_core::auth::{hmac, MacAlgorithm};
use wirekit_tests::hostile::{rss_kib, threads, wait_for, Kind, Target, KEY, LEGIT};
use wirekit_tests::{args, wirekit, Child};

#[test]
fn h80_slowloris_1000_idle_connections() {
    // All from 127.0.0.1, like a crowd of hosts: without the per-source cap (h212 covers it),
    // which would reset all but 8 of them at once.
    let server = ["--timeout", "1", "--max-connections", "128", "--max-per-source", "0"];
    let mut t = Target::start("h80", Kind::FileRecv, &[], &server);
    let rss_before = t.rss();
    let start = Instant::now();
    let mut idle: Vec<TcpStream> = Vec::new();
    let mut refused = 0;
    for _ in 0..1000 {
        // The kernel may push back (a full accept queue): that is the server holding up.
        match TcpStream::connect_timeout(&t.addr, Duration::from_secs(2)) {
            Ok(s) => idle.push(s),
            Err(_) => refused += 1,
        }
    }
    let first = idle[0].local_addr().unwrap();
    // A good client arrives behind all of them and is served once the queue drains.
    let name = "behind-the-crowd.txt";
    let src = t.src().join(name);
    std::fs::write(&src, b"served").unwrap();
    let a = t.addr.to_string();
    let p = src.to_str().unwrap();
    let good = Child::spawn(
        args(wirekit(), ["file", "send", p, "--connect", &a, "--timeout", "30"]),
        "good sender",
    );
    // Every idle connection is closed by the server after --timeout (1 s), queue round by round.
    let mut peak = t.rss();
    for (i, s) in idle.iter_mut().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = s.read(&mut [0u8; 1]);
        if i % 50 == 0 {
            peak = peak.max(t.rss());
        }
    }
    let drained = start.elapsed();
    let good = good.wait_output(Duration::from_secs(30));
    assert_eq!(good.code(), 0, "{good}");
    assert!(wait_for(Duration::from_secs(10), || t.dir().join(name).exists()));
    t.expect_error(first, "sent nothing for 1 s");
    eprintln!(
        "h80: {} idle connections ({refused} pushed back by the kernel) closed within {:.1} s; \
         VmRSS {rss_before} KiB before, {peak} KiB at the peak of the flood",
        idle.len(),
        drained.as_secs_f64()
    );
    assert!(drained < Duration::from_secs(30), "{drained:?}");
    // At the peak 128 connections are served at once: each costs its thread and buffers
    // (the 64 KiB receive buffer on the heap, the header buffer, stack pages). Debug build:
    // about 210 KiB each (780 KiB before the buffer was boxed: every move of a Session copied
    // it to a new stack slot). Bound: 256 KiB each.
    let growth = peak.saturating_sub(rss_before);
    assert!(growth < 128 * 256, "{growth} KiB for 128 connections");
    t.set_rss_limit_kib(128 * 256);
    t.finish(&[name], &[]);
}

#[test]
fn h81_more_clients_than_max_connections() {
    let t = Target::start("h81", Kind::Auth, &[], &["--max-connections", "2"]);
    let mut one = t.attack();
    let mut two = t.attack();
    assert_eq!(one.read_n(32).len(), 32);
    assert_eq!(two.read_n(32).len(), 32);
    // The third waits in the backlog: no challenge while both slots are taken.
    let mut three = t.attack();
    three.stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut byte = [0u8; 1];
    let early = three.stream.read(&mut byte);
    assert!(early.is_err(), "served beyond --max-connections: {early:?}");
    // Freeing a slot lets it in.
    let first = one.local;
    drop(one);
    three.stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut challenge = three.read_n(32);
    assert_eq!(challenge.len(), 32);
    challenge = hmac(MacAlgorithm::Md5, KEY.as_bytes(), &[&challenge]).as_bytes().to_vec();
    three.send(&challenge);
    three.finish();
    t.expect_stdout_lines(LEGIT, 2);
    t.expect_error(first, "0 of 16 bytes");
    drop(two);
    t.finish(&[], &[]);
}

#[test]
fn h82_connect_and_close_storm() {
    // As h80: many hosts' worth of connections from one address, per-source cap off.
    let t = Target::start("h82", Kind::FileRecv, &[], &["-q", "--max-per-source", "0"]);
    let threads_before = threads(t.pid());
    let storm = 1000;
    let mut last = None;
    let t0 = Instant::now();
    for _ in 0..storm {
        let s = TcpStream::connect(t.addr).unwrap();
        last = Some(s.local_addr().unwrap());
    }
    let connecting = t0.elapsed();
    // Every one is reported (peer closed during the header) and its thread ends.
    let errors = |err: &str| err.lines().filter(|l| l.starts_with("wirekit:")).count();
    assert!(
        t.server.wait_until(Duration::from_secs(20), |_, err| errors(err) >= storm),
        "{} of {storm} closes reported",
        errors(&t.server.stderr_now())
    );
    t.expect_error(last.unwrap(), "closed the connection before sending a file header");
    assert!(wait_for(Duration::from_secs(5), || threads(t.pid()) <= threads_before));
    eprintln!(
        "h82: {storm} connect-and-close in {:.1} s, threads {threads_before} before and after",
        connecting.as_secs_f64()
    );
    t.finish(&[], &[]);
}

#[test]
fn h83_a_client_that_never_reads() {
    // `file send` serves a 32 MiB file (more than loopback buffers hold); the client reads
    // nothing, so the sender's writes block until --timeout.
    let t = Target::start("h83", Kind::FileSend, &[], &["--timeout", "1"]);
    let a = t.attack();
    let peer = a.local;
    let line = t.expect_error(peer, "did not read for 1 s");
    assert!(line.contains("big.bin"), "{line}");
    drop(a);
    eprintln!("h83: VmRSS {} KiB while blocked", rss_kib(t.pid()));
    t.finish(&[], &[]);
}
