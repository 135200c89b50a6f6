#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn limit_counts_and_frees() {
    let limit = ConnectionLimit::new(2);
    let a = limit.acquire();
    let b = limit.try_acquire().unwrap();
    assert!(limit.try_acquire().is_none());
    assert_eq!(limit.active(), 2);
    drop(a);
    assert_eq!(limit.active(), 1);
    let _c = limit.try_acquire().unwrap();
    drop(b);
    assert_eq!(limit.active(), 1);
}

#[test]
fn acquire_blocks_until_a_permit_is_dropped() {
    let limit = ConnectionLimit::new(1);
    let held = limit.acquire();
    let other = limit.clone();
    let waiter = std::thread::spawn(move || {
        let _p = other.acquire();
    });
    std::thread::sleep(Duration::from_millis(50));
    assert!(!waiter.is_finished());
    drop(held);
    waiter.join().unwrap();
}

#[test]
fn port_in_use_is_a_bind_error() {
    let first = bind_tcp("127.0.0.1:0").unwrap();
    let addr = first.local_addr().unwrap().to_string();
    let err = bind_tcp(&addr).unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err}");
    assert_eq!(err.exit(), crate::exit::Exit::Local);
}

#[test]
fn refused_connection_is_a_connect_error() {
    let port = bind_tcp("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err =
        connect_tcp(&format!("127.0.0.1:{port}"), timeout_of(Duration::from_secs(2))).unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
}

#[test]
fn bad_address_is_a_resolve_error() {
    assert!(matches!(resolve("no-port-here"), Err(Error::Resolve { .. })));
}

#[test]
fn once_serves_one_connection_and_returns_its_result() {
    let listener = bind_tcp("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"x").unwrap();
    });
    let options = ServeOptions { once: true, max_connections: 1, quiet: true, max_per_source: 0 };
    let result = serve(&listener, options, |mut s, _| {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        Err(Error::Random("test".into()))
    });
    client.join().unwrap();
    assert!(matches!(result, Err(Error::Random(ref t)) if t == "test"));
}

#[test]
fn failing_connection_does_not_stop_the_server() {
    let listener = bind_tcp("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let failures = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&failures);
    std::thread::spawn(move || {
        let options =
            ServeOptions { once: false, max_connections: 4, quiet: true, max_per_source: 0 };
        let _ = serve(&listener, options, move |mut s, _| {
            let mut first = [0u8; 1];
            s.read_exact(&mut first)
                .map_err(|e| Error::net("receiving from", "c", e, Duration::ZERO))?;
            if first == *b"x" {
                counter.fetch_add(1, Ordering::SeqCst);
                return Err(Error::Random("a failing connection".into()));
            }
            s.write_all(b"ok").map_err(|e| Error::net("sending to", "c", e, Duration::ZERO))
        });
    });
    for _ in 0..3 {
        let mut bad = TcpStream::connect(addr).unwrap();
        bad.write_all(b"x").unwrap();
        let mut rest = Vec::new();
        bad.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        bad.read_to_end(&mut rest).unwrap();
    }
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"g").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"ok");
    assert_eq!(failures.load(Ordering::SeqCst), 3);
}

#[test]
fn connections_are_served_concurrently() {
    let listener = bind_tcp("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let options =
            ServeOptions { once: false, max_connections: 8, quiet: true, max_per_source: 0 };
        let _ = serve(&listener, options, |mut s, _| {
            // Echo one byte after it arrives: a second client is served while the first waits.
            let mut b = [0u8; 1];
            s.read_exact(&mut b)
                .map_err(|e| Error::net("receiving from", "c", e, Duration::ZERO))?;
            s.write_all(&b).map_err(|e| Error::net("sending to", "c", e, Duration::ZERO))
        });
    });
    let mut first = TcpStream::connect(addr).unwrap();
    let mut second = TcpStream::connect(addr).unwrap();
    second.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    second.write_all(b"2").unwrap();
    let mut b = [0u8; 1];
    second.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"2");
    first.write_all(b"1").unwrap();
    first.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    first.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"1");
}

/// A TCP connection to `to` from the loopback address `from` (all of 127/8 is local).
pub(crate) fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    use rustix::net::{AddressFamily, SocketType};
    let fd = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    rustix::net::bind(&fd, &SocketAddr::from((from, 0))).unwrap();
    rustix::net::connect(&fd, &to).unwrap();
    TcpStream::from(fd)
}

#[test]
fn h210_max_per_source_resets_extra_connections_from_one_address_only() {
    let listener = bind_tcp("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let options =
            ServeOptions { once: false, max_connections: 8, quiet: true, max_per_source: 1 };
        let _ = serve(&listener, options, |mut s, _| {
            // Echo every byte until the client closes: the slot is held meanwhile.
            let mut b = [0u8; 1];
            while s
                .read(&mut b)
                .map_err(|e| Error::net("receiving from", "c", e, Duration::ZERO))?
                == 1
            {
                s.write_all(&b).map_err(|e| Error::net("sending to", "c", e, Duration::ZERO))?;
            }
            Ok(())
        });
    });
    let mut holder = connect_from([127, 0, 0, 2], addr);
    holder.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    holder.write_all(b"h").unwrap();
    let mut b = [0u8; 1];
    // Once it echoes, the holder is being served and keeps its slot until it closes.
    holder.read_exact(&mut b).unwrap();
    let mut second = connect_from([127, 0, 0, 2], addr);
    second.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let got = second.read(&mut b);
    assert!(
        matches!(&got, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "a second connection from 127.0.0.2 was served: {got:?}"
    );
    let mut other = connect_from([127, 0, 0, 3], addr);
    other.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    other.write_all(b"o").unwrap();
    other.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"o");
    // Once the holder is gone, 127.0.0.2 is served again.
    drop(holder);
    let served = crate::net::tests::wait_served([127, 0, 0, 2], addr);
    assert!(served, "127.0.0.2 stayed refused after its connection ended");
}

/// Whether a connection from `from` gets its byte echoed within a few tries.
fn wait_served(from: [u8; 4], addr: SocketAddr) -> bool {
    (0..50).any(|_| {
        let mut s = connect_from(from, addr);
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut b = [0u8; 1];
        let ok = s.write_all(b"x").is_ok() && s.read_exact(&mut b).is_ok();
        if !ok {
            std::thread::sleep(Duration::from_millis(20));
        }
        ok
    })
}
