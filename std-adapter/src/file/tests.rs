#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use crate::atomic_file::DEFAULT_MAX_SIZE;
use crate::exit::Exit;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn opts(dir: &Path, max_size: u64) -> RecvOptions {
    RecvOptions {
        dir: Arc::new(TargetDir::open(dir).unwrap()),
        rules: ReceiveRules::with_max_size(max_size),
        min_rate: 0,
        rate_window: Duration::from_secs(10),
        profile: Profile::Seed,
        quiet: true,
    }
}

fn recv(session: Session, opts: &RecvOptions) -> Result<Received> {
    receive(session, opts, None)
}

fn outgoing(path: &Path) -> Outgoing {
    Outgoing::check(path, None, false).unwrap()
}

/// A hand-made sender: prefix + header JSON + `body`, all in one write, then close.
fn forge(filename: &str, filesize: i64, body: &[u8]) -> Session<'static> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let head =
        format!(r#"{{"filepath": "F:\\up", "filename": "{filename}", "filesize": {filesize}}}"#);
    let mut wire = (head.len() as i32).to_le_bytes().to_vec();
    wire.extend_from_slice(head.as_bytes());
    wire.extend_from_slice(body);
    thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(&wire);
    });
    Session::start(listener.accept().unwrap().0, Duration::from_secs(5)).unwrap()
}

fn send_and_receive(name: &str, body: &[u8], profile: Profile) {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let path = src.path().join(name);
    std::fs::write(&path, body).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sender = thread::spawn(move || {
        let s = Session::start(listener.accept().unwrap().0, Duration::from_secs(5)).unwrap();
        send(s, &outgoing(&path), profile, true).unwrap()
    });
    let session =
        Session::start(TcpStream::connect(addr).unwrap(), Duration::from_secs(5)).unwrap();
    let got =
        recv(session, &RecvOptions { profile, ..opts(dst.path(), DEFAULT_MAX_SIZE) }).unwrap();
    assert_eq!(sender.join().unwrap().bytes, body.len() as u64);
    assert_eq!(got.summary.bytes, body.len() as u64);
    assert_eq!(std::fs::read(dst.path().join(name)).unwrap(), body);
    assert_eq!(names(dst.path()), [name]);
}

#[test]
fn files_of_every_size_arrive_intact_in_both_profiles() {
    let big: Vec<u8> = (0..(3 * RECEIVE_BUF_LEN as u32 + 17)).map(|i| (i % 253) as u8).collect();
    for profile in [Profile::Seed, Profile::Mp] {
        send_and_receive("报告 😀.bin", &big, profile);
        send_and_receive("empty", b"", profile);
        send_and_receive("one", b"x", profile);
    }
}

#[test]
fn body_bytes_that_arrive_with_the_header_are_counted_once() {
    let dst = tempfile::tempdir().unwrap();
    let got = recv(forge("a.txt", 5, b"hello"), &opts(dst.path(), DEFAULT_MAX_SIZE)).unwrap();
    assert_eq!(std::fs::read(got.path).unwrap(), b"hello");
}

#[test]
fn more_bytes_than_announced_are_refused_and_an_older_file_stays() {
    // Regression (hostile catalogue h51): a sender that sends more than `filesize` used to get
    // the first `filesize` bytes renamed into place over the older file.
    let dst = tempfile::tempdir().unwrap();
    std::fs::write(dst.path().join("b.txt"), b"old").unwrap();
    let err = recv(forge("b.txt", 3, b"abcdef"), &opts(dst.path(), DEFAULT_MAX_SIZE)).unwrap_err();
    assert!(err.to_string().contains("more than the announced 3 bytes"), "{err}");
    assert_eq!(err.exit(), Exit::Failure);
    assert_eq!(std::fs::read(dst.path().join("b.txt")).unwrap(), b"old");
    assert_eq!(names(dst.path()), ["b.txt"]);
}

#[test]
fn a_header_error_names_the_header_once() {
    let dst = tempfile::tempdir().unwrap();
    let err =
        recv(forge("a.txt", -3, b""), &opts(dst.path(), DEFAULT_MAX_SIZE)).unwrap_err().to_string();
    assert!(err.contains("file header: header \"filesize\" is negative"), "{err}");
    assert_eq!(err.matches("file header").count(), 1, "{err}");
}

#[test]
fn a_cut_body_leaves_no_file_and_an_older_one_intact() {
    let dst = tempfile::tempdir().unwrap();
    std::fs::write(dst.path().join("keep.txt"), b"old").unwrap();
    let err = recv(forge("keep.txt", 10, b"new"), &opts(dst.path(), DEFAULT_MAX_SIZE)).unwrap_err();
    assert!(err.to_string().contains("after 3 of 10 bytes"), "{err}");
    assert_eq!(err.exit(), Exit::Failure);
    assert_eq!(std::fs::read(dst.path().join("keep.txt")).unwrap(), b"old");
    assert_eq!(names(dst.path()), ["keep.txt"]);
}

#[test]
fn refused_names_and_sizes_write_nothing() {
    let dst = tempfile::tempdir().unwrap();
    for name in ["../x", "..", ".", "/etc/passwd", "C:\\\\x", "a\\\\..\\\\b", "a\\u0000b", "a\\nb"]
    {
        let err = recv(forge(name, 3, b"abc"), &opts(dst.path(), DEFAULT_MAX_SIZE)).unwrap_err();
        assert_eq!(err.exit(), Exit::Refused, "{name}: {err}");
        assert!(err.to_string().contains("refused file name"), "{name}: {err}");
    }
    let err = recv(forge("big.bin", 11, b""), &opts(dst.path(), 10)).unwrap_err();
    assert!(err.to_string().contains("--max-size"), "{err}");
    assert_eq!(err.exit(), Exit::Refused);
    assert!(names(dst.path()).is_empty());
}

#[test]
fn negative_and_oversize_header_lengths_are_protocol_errors() {
    let dst = tempfile::tempdir().unwrap();
    for prefix in [(-1i32).to_le_bytes(), (1i32 << 30).to_le_bytes()] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            let _ = s.write_all(&prefix);
        });
        let session = Session::start(listener.accept().unwrap().0, Duration::from_secs(5)).unwrap();
        let err = recv(session, &opts(dst.path(), DEFAULT_MAX_SIZE)).unwrap_err();
        assert!(err.to_string().contains("file header"), "{err}");
        assert_eq!(err.exit(), Exit::Failure);
    }
    assert!(names(dst.path()).is_empty());
}

#[test]
fn a_receiver_that_never_reads_is_a_send_timeout_not_silence() {
    // Regression (hostile catalogue h83): a blocked body write used to be reported as
    // "PEER sent nothing for N s".
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("big.bin");
    std::fs::write(&path, vec![7u8; 32 << 20]).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_held, _) = listener.accept().unwrap();
    let err = send(
        Session::start(stream, Duration::from_secs(1)).unwrap(),
        &outgoing(&path),
        Profile::Seed,
        true,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("did not read for 1 s") && text.contains("\"big.bin\""), "{text}");
    assert_eq!(err.exit(), Exit::Failure);
}

#[test]
fn a_peer_that_closes_without_a_byte_closed_before_the_header() {
    let dst = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    drop(TcpStream::connect(listener.local_addr().unwrap()).unwrap());
    let session = Session::start(listener.accept().unwrap().0, Duration::from_secs(5)).unwrap();
    let err = recv(session, &opts(dst.path(), DEFAULT_MAX_SIZE)).unwrap_err();
    assert!(err.to_string().ends_with("closed the connection before sending a file header"));
    assert_eq!(err.exit(), Exit::Failure);
}

/// `send` of a `len`-byte file to a fake receiver that reads header and body, then does
/// `after` with the socket.
fn send_to_fake_receiver(len: usize, after: fn(TcpStream)) -> Result<Summary> {
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("data.bin");
    std::fs::write(&path, vec![1u8; len]).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let receiver = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut prefix = [0u8; 4];
        s.read_exact(&mut prefix).unwrap();
        let mut rest = vec![0u8; i32::from_le_bytes(prefix) as usize + len];
        s.read_exact(&mut rest).unwrap();
        after(s);
    });
    let sent = send(
        Session::start(stream, Duration::from_secs(1)).unwrap(),
        &outgoing(&path),
        Profile::Seed,
        true,
    );
    receiver.join().unwrap();
    sent
}

#[test]
fn h200_a_receiver_that_reads_everything_and_never_closes_is_not_a_receipt() {
    let err = send_to_fake_receiver(50_000, |s| {
        thread::sleep(Duration::from_secs(3));
        drop(s);
    })
    .unwrap_err();
    assert!(err.to_string().contains("did not close the connection within 1 s"), "{err}");
    assert_eq!(err.exit(), Exit::Failure);
}

#[test]
fn h200_a_receiver_that_answers_instead_of_closing_is_not_a_receipt() {
    let err = send_to_fake_receiver(10, |mut s| s.write_all(b"OK").unwrap()).unwrap_err();
    assert!(err.to_string().contains("instead of closing"), "{err}");
}

#[test]
fn h200_a_receiver_that_resets_after_reading_is_a_refusal() {
    let err = send_to_fake_receiver(10, |s| reset_unless_delivered(&s)).unwrap_err();
    assert!(err.to_string().contains("without confirming \"data.bin\""), "{err}");
    // And the clean close after the whole body is the receipt.
    assert_eq!(send_to_fake_receiver(10, drop).unwrap().bytes, 10);
}

#[test]
fn h202_every_refusal_resets_the_connection() {
    let dst = tempfile::tempdir().unwrap();
    std::fs::write(dst.path().join("keep.txt"), b"old").unwrap();
    let no_clobber = RecvOptions {
        rules: ReceiveRules { no_clobber: true, ..ReceiveRules::default() },
        ..opts(dst.path(), DEFAULT_MAX_SIZE)
    };
    let header = |name: &str, size: u64| {
        let head = format!(r#"{{"filepath": "", "filename": "{name}", "filesize": {size}}}"#);
        let mut wire = (head.len() as i32).to_le_bytes().to_vec();
        wire.extend_from_slice(head.as_bytes());
        wire
    };
    let cases: Vec<(Vec<u8>, RecvOptions)> = vec![
        (header("CON", 3), opts(dst.path(), DEFAULT_MAX_SIZE)),
        (header("big.bin", 11), opts(dst.path(), 10)),
        (header("keep.txt", 3), no_clobber),
        (b"\x05\x00\x00\x00[1,2]".to_vec(), opts(dst.path(), DEFAULT_MAX_SIZE)),
    ];
    for (wire, opts) in cases {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        // Only the header: the receiver refuses with nothing of ours left unread, where a
        // plain close would be a FIN that looks like a receipt.
        peer.write_all(&wire).unwrap();
        let session = Session::start(listener.accept().unwrap().0, Duration::from_secs(5)).unwrap();
        assert!(recv(session, &opts).is_err());
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let got = peer.read(&mut [0u8; 16]);
        assert!(
            matches!(&got, Err(e) if e.kind() == io::ErrorKind::ConnectionReset),
            "{wire:?}: {got:?}"
        );
    }
    assert_eq!(names(dst.path()), ["keep.txt"]);
}

#[test]
fn the_header_carries_no_directory_unless_asked() {
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("a.txt");
    std::fs::write(&path, b"abc").unwrap();
    assert_eq!(Outgoing::check(&path, None, false).unwrap().filepath, "");
    let full = Outgoing::check(&path, None, true).unwrap();
    assert_eq!(Path::new(&full.filepath), std::path::absolute(src.path()).unwrap());
    let renamed = Outgoing::check(&path, Some("b.txt"), false).unwrap();
    assert_eq!(renamed.name, "b.txt");
}

#[test]
fn h208_send_checks_the_file_and_its_name_before_the_network() {
    let src = tempfile::tempdir().unwrap();
    let fifo = src.path().join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    std::fs::write(src.path().join(".hidden.txt"), b"x").unwrap();
    std::fs::write(src.path().join("ok.txt"), b"x").unwrap();
    for (path, name, exit, needle) in [
        (src.path().to_path_buf(), None, Exit::Local, "it is a directory"),
        (fifo, None, Exit::Local, "not a regular file"),
        (src.path().join("missing"), None, Exit::Local, "cannot read"),
        (src.path().join(".hidden.txt"), None, Exit::Refused, "hidden file"),
        (src.path().join("ok.txt"), Some("CON"), Exit::Refused, "Windows device"),
    ] {
        let err = Outgoing::check(&path, name, false).unwrap_err();
        assert_eq!(err.exit(), exit, "{path:?}: {err}");
        assert!(err.to_string().contains(needle), "{path:?}: {err}");
    }
    assert!(Outgoing::check(&src.path().join(".hidden.txt"), Some("visible.txt"), false).is_ok());
}

#[test]
fn h211_a_body_under_the_minimum_rate_is_cut_off() {
    let dst = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let trickler = thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let head = r#"{"filepath": "", "filename": "slow.bin", "filesize": 1000}"#;
        s.write_all(&(head.len() as i32).to_le_bytes()).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        // One byte per 200 ms, well inside any read timeout, for up to 10 s.
        for _ in 0..50 {
            if s.write_all(b"x").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    let opts = RecvOptions {
        min_rate: 100,
        rate_window: Duration::from_secs(1),
        ..opts(dst.path(), DEFAULT_MAX_SIZE)
    };
    let started = std::time::Instant::now();
    let session = Session::start(listener.accept().unwrap().0, Duration::from_secs(5)).unwrap();
    let err = recv(session, &opts).unwrap_err();
    assert!(err.to_string().contains("under --min-rate 100 bytes/s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    trickler.join().unwrap();
    assert!(names(dst.path()).is_empty());
}

#[test]
fn h211_the_header_phase_has_a_deadline_for_the_whole_phase() {
    let dst = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        // A header trickled a byte per 300 ms: no read ever times out (5 s).
        for b in b"\x40\x00\x00\x00{\"filepath\": \"\", \"filename\": \"a\", \"filesize\": 1}" {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(300));
        }
    });
    let stream = listener.accept().unwrap().0;
    let phase = crate::net::Watchdog::global().arm(&stream, Duration::from_secs(1));
    let started = std::time::Instant::now();
    let err = receive(
        Session::start(stream, Duration::from_secs(5)).unwrap(),
        &opts(dst.path(), 10),
        phase,
    )
    .unwrap_err();
    assert!(err.to_string().contains("within 1 s (--header-deadline)"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}
