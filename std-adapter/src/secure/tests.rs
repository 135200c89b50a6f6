#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use crate::error::Error;
use crate::exit::Exit;
use crate::keys::{Key, KeySource};
use crate::session::{secure_psk, Plan, Session, Side};

const KEY: &[u8] = b"unit test key, 16+ bytes";

/// Run `initiator` and `responder` on the two ends of a loopback connection, each inside a
/// finished handshake with its key.
fn pair<A, B>(
    keys: (&'static [u8], &'static [u8]),
    initiator: impl FnOnce(&mut SecureIo<'_>) -> A + Send + 'static,
    responder: impl FnOnce(&mut SecureIo<'_>) -> B + Send + 'static,
) -> (A, B)
where
    A: Send + 'static,
    B: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let psk = Psk::derive(keys.0).unwrap();
        let mut buffers = SecureBuffers::new();
        let mut io = SecureIo::handshake(stream, &psk, "tcp", Role::Initiator, &mut buffers)
            .unwrap_or_else(|e| panic!("initiator: {e:?}"));
        initiator(&mut io)
    });
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let psk = Psk::derive(keys.1).unwrap();
    let mut buffers = SecureBuffers::new();
    let mut io = SecureIo::handshake(stream, &psk, "tcp", Role::Responder, &mut buffers)
        .unwrap_or_else(|e| panic!("responder: {e:?}"));
    let b = responder(&mut io);
    (client.join().unwrap(), b)
}

#[test]
fn the_plaintext_queue_hands_bytes_out_in_order_and_discards_the_rest() {
    let mut plain = Plaintext::default();
    let _ = Deliver.on_inner_event(&mut plain, b"hello ");
    let _ = Deliver.on_inner_event(&mut plain, b"world");
    let mut buf = [0u8; 4];
    assert_eq!(plain.take(&mut buf), 4);
    assert_eq!(&buf, b"hell");
    assert_eq!(plain.discard(), 7);
    assert_eq!(plain.take(&mut buf), 0);
}

#[test]
fn bytes_cross_both_ways_and_finish_counts_what_nobody_read() {
    let sent: Vec<u8> = (0..300_000u32).map(|i| (i * 13 / 7) as u8).collect();
    let expected = sent.clone();
    let (unread, received) = pair(
        (KEY, KEY),
        move |io| {
            io.write_all(&sent).unwrap();
            io.finish().unwrap()
        },
        |io| {
            assert!(!io.peer_authenticated(), "message 1 alone proves nothing");
            let mut got = Vec::new();
            io.read_to_end(&mut got).unwrap();
            assert!(io.peer_authenticated());
            // Our direction stays open after the peer's close_notify.
            io.write_all(b"late!").unwrap();
            assert_eq!(io.finish().unwrap(), 0);
            got
        },
    );
    assert_eq!(received, expected);
    assert_eq!(unread, 5);
}

#[test]
fn more_follows_is_false_only_at_the_peers_close_notify() {
    let (_, (first, second)) = pair(
        (KEY, KEY),
        |io| {
            io.write_all(b"abcX").unwrap();
            io.finish().unwrap()
        },
        |io| {
            let mut three = [0u8; 3];
            io.read_exact(&mut three).unwrap();
            let first = io.more_follows().unwrap();
            let second = io.more_follows().unwrap();
            io.finish().unwrap();
            (first, second)
        },
    );
    assert!(first, "the X follows");
    assert!(!second, "then the close_notify");
}

#[test]
fn a_close_without_close_notify_is_truncation() {
    let (_, err) = pair(
        (KEY, KEY),
        |io| {
            io.write_all(b"half a message").unwrap();
            io.tcp().shutdown(std::net::Shutdown::Both).unwrap();
        },
        |io| {
            let mut got = Vec::new();
            io.read_to_end(&mut got).unwrap_err()
        },
    );
    assert_eq!(failure_of(&err), Some(SecureError::Truncated), "{err}");
    assert!(err.to_string().contains("without close_notify"), "{err}");
}

#[test]
fn a_wrong_key_fails_both_sides_as_authentication_exit_5() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let open = |stream: TcpStream, key: &'static [u8], side: Side| {
        let key = Key::new(key, KeySource::Arg);
        let plan =
            Plan::for_role(crate::cli::Profile::Secure, side, wirekit_core::auth::Role::FileSender);
        let mut buffers = SecureBuffers::new();
        Session::start_secure(
            stream,
            &secure_psk(&key).unwrap(),
            plan,
            Duration::from_secs(5),
            key.source(),
            &mut buffers,
        )
        .map(|_| ())
    };
    let client = thread::spawn(move || {
        open(TcpStream::connect(addr).unwrap(), b"the other key, 16+ bytes", Side::Connecting)
    });
    let server = open(listener.accept().unwrap().0, KEY, Side::Accepting).unwrap_err();
    let client = client.join().unwrap().unwrap_err();
    for err in [server, client] {
        assert!(matches!(err, Error::AuthFailed { .. }), "{err}");
        assert_eq!(err.exit(), Exit::AuthFailed);
        assert!(err.to_string().contains("`file`"), "{err}");
    }
}

#[test]
fn a_short_key_is_a_usage_error_naming_keygen() {
    let err = secure_psk(&Key::new("fifteen bytes!!", KeySource::Arg)).unwrap_err();
    assert_eq!(err.exit(), Exit::Usage);
    assert!(err.to_string().contains("wirekit keygen"), "{err}");
    assert_eq!(Error::SecureKeyMissing.exit(), Exit::Usage);
    assert!(Error::SecureKeyMissing.to_string().contains("wirekit keygen"));
}
