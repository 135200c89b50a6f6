//! The std receive path, `wirekit_std::file::receive` (the loop of `file.rs` on
//! `atomic_file`), over a real loopback TCP connection whose peer writes arbitrary bytes in
//! fuzzer-chosen deliveries, into a scratch directory (on tmpfs when there is one).
//!
//! Properties, against the reference reading of demo3 in `src/transfer_props.rs` (first frame
//! = header JSON, then exactly `filesize` raw bytes) and the name rule:
//! * never a panic, never a temporary file (`.wirekit-*.part`) left behind, never any file
//!   but the one announced (and the pre-existing `keep` of some inputs);
//! * a file appears only when the header decodes, its name is accepted, its size is within
//!   `--max-size` and the whole body arrived; its bytes are exactly the body, the summary
//!   counts them and the returned path is `dir/name`;
//! * exactly such a stream (nothing after the body) always gives the file, whatever the
//!   deliveries; any other stream never does, except that bytes after a complete body may
//!   arrive too late to be seen (the seed's wire has no end marker; `file.rs` says so), and
//!   then the file is the body all the same. With no chunk sizes the peer writes the whole
//!   stream and closes before the receiver accepts, so there bytes after the body are always
//!   seen and always refused;
//! * a refused transfer leaves an older file of the same name (`keep`) untouched.
//!
//! Input: `[config] [k] [k chunk sizes] [peer stream...]`. Config bit 0: mp framing (`!i`)
//! instead of seed; bits 1-2: `--max-size` 0 / 16 / 4096 / 1 MiB; bit 3: `--names
//! permissive`; bit 4: a file `keep` (contents `old`) exists before.
#![no_main]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::header::MAX_HEADER_LEN;
use wirekit_fuzz::transfer_props::{expected, Rec};
use wirekit_fuzz::Chunking;
use wirekit_std::atomic_file::{ReceiveRules, TargetDir};
use wirekit_std::cli::Profile;
use wirekit_std::file::{framing, receive, RecvOptions};
use wirekit_std::safe_name::{check_file_name, NamePolicy};
use wirekit_std::session::Session;

struct Fixture {
    listener: TcpListener,
    dir_path: PathBuf,
    dir: Arc<TargetDir>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir_path = base.join(format!("wirekit-fuzz-recv-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir_path);
        std::fs::create_dir_all(&dir_path).unwrap();
        let dir = Arc::new(TargetDir::open(&dir_path).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        Fixture { listener, dir_path, dir }
    })
}

fn entries(f: &Fixture) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(&f.dir_path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut u = Unstructured::new(data);
    let config = u.arbitrary::<u8>().unwrap_or(0);
    let profile = if config & 1 != 0 { Profile::Mp } else { Profile::Seed };
    let max_size = [0, 16, 4096, 1 << 20][usize::from(config >> 1) & 3];
    let names = if config & 8 != 0 { NamePolicy::Permissive } else { NamePolicy::Portable };
    let keep = config & 16 != 0;
    let chunking = Chunking::from_unstructured(&mut u);
    let stream = u.take_rest().to_vec();

    // What the stream should give: Some((name, body, bytes after it)) for a file.
    let cfg = framing(profile);
    let want = expected(&cfg, MAX_HEADER_LEN, u64::MAX, &stream);
    let file: Option<(String, Vec<u8>, bool)> = match (&want.error, want.records.first()) {
        (None, Some(Rec::Header { filename, filesize, .. }))
            if *filesize <= max_size && check_file_name(filename, names).is_ok() =>
        {
            let body = stream[want.consumed - *filesize as usize..want.consumed].to_vec();
            Some((filename.clone(), body, stream.len() > want.consumed))
        }
        _ => None,
    };

    if keep {
        std::fs::write(f.dir_path.join("keep"), b"old").unwrap();
    }

    let addr = f.listener.local_addr().unwrap();
    let sizes = chunking.clone();
    // Whole: the peer writes everything and closes before the receiver accepts, so every
    // byte is there at its first read and the outcome is exact (bytes after the body are
    // seen). Otherwise the deliveries race the receiver, as on a real network.
    let whole = chunking.size(0, usize::MAX) == usize::MAX;
    let (written_tx, written) = std::sync::mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.set_nodelay(true);
        if whole {
            s.write_all(&stream).unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let _ = written_tx.send(());
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.read(&mut [0u8; 64]);
            return;
        }
        let mut at = 0;
        let mut turn = 0;
        while at < stream.len() {
            let n = sizes.size(turn, stream.len() - at);
            turn += 1;
            if n == 0 {
                std::thread::yield_now();
                continue;
            }
            // A refusal resets the connection: stop writing then.
            if s.write_all(&stream[at..at + n]).is_err() {
                return;
            }
            at += n;
        }
        let _ = s.shutdown(Shutdown::Write);
        // Until the receiver closes (a FIN after a saved file, a reset on refusal).
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = s.read(&mut [0u8; 64]);
    });
    if whole {
        written.recv().unwrap();
    }
    let (conn, _) = f.listener.accept().unwrap();
    let opts = RecvOptions {
        dir: Arc::clone(&f.dir),
        rules: ReceiveRules { names, ..ReceiveRules::with_max_size(max_size) },
        min_rate: 0,
        rate_window: Duration::from_secs(10),
        profile,
        quiet: true,
    };
    let got = receive(Session::start(conn, Duration::from_secs(5)).unwrap(), &opts, None);
    peer.join().unwrap();

    let list = entries(f);
    assert!(
        !list.iter().any(|n| n.starts_with(".wirekit-") || n.ends_with(".part")),
        "temporary file left: {list:?}"
    );
    match (&got, &file) {
        (Ok(received), Some((_, _, true))) if whole => {
            panic!("saved {:?} although bytes followed the body", received.path)
        }
        (Ok(received), Some((name, body, _))) => {
            assert_eq!(received.path, f.dir_path.join(name));
            assert_eq!(&std::fs::read(&received.path).unwrap(), body, "saved bytes differ");
            assert_eq!(received.summary.bytes, body.len() as u64);
        }
        (Ok(received), None) => panic!("saved {:?}, but the stream holds no file", received.path),
        (Err(e), Some((name, _, false))) => {
            panic!("a complete transfer of {name:?} was refused: {e}")
        }
        (Err(e), _) => {
            let _ = e.to_string();
        }
    }
    let saved = got.as_ref().ok().and_then(|_| file.as_ref().map(|(n, _, _)| n.clone()));
    let mut allowed: Vec<String> = saved.iter().cloned().collect();
    if keep {
        allowed.push("keep".into());
        if saved.as_deref() != Some("keep") {
            assert_eq!(std::fs::read(f.dir_path.join("keep")).unwrap(), b"old", "keep changed");
        }
    }
    allowed.sort();
    allowed.dedup();
    assert_eq!(list, allowed, "unexpected directory contents");
    for name in list {
        std::fs::remove_file(f.dir_path.join(name)).unwrap();
    }
});
