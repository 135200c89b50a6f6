//! A whole server session over one byte stream, through `wirekit_core::io::Conn` on an
//! in-memory transport that delivers reads and accepts writes in arbitrary sizes:
//!
//! * seed: `SeedVerifier` (demo4), then a demo3 `FileReceiver` with seed framing;
//! * mp: `MpHandshake` on the listener side (any mode/policy), then a `FileReceiver` with mp
//!   framing.
//!
//! Properties: the handshake's outcome, bytes sent and error are those of the reference
//! reading; the file is received only after `Authenticated`, and it is exactly what the
//! reference reading of the bytes after the handshake gives (so bytes read past the
//! handshake reach the receiver, none lost or duplicated, whatever the read sizes); after a
//! complete file, the unread rest (Conn buffer + transport) is exactly the rest of the
//! stream; authenticated only with the right MAC in the consumed bytes.
//!
//! Input: `[selector: bit 0 mp, bits 1-2 key, bit 3 strict, bits 4-6 mode, bit 7 small Conn
//! buffer] [random: 40 bytes] [size byte: file size limit] [k] [k read/write sizes]
//! [peer stream...]`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::auth::{
    AuthError, Handshake, MpHandshake, MpPolicy, Order, Outcome, SeedVerifier,
};
use wirekit_core::frame::{FrameConfig, FrameError};
use wirekit_core::io::{Conn, DriveError, FileIoError, Incoming};
use wirekit_core::transfer::FileReceiver;
use wirekit_fuzz::auth_ref::{self, Half};
use wirekit_fuzz::transfer_props::{self, Rec};
use wirekit_fuzz::{coalesce, ref_frames, Chunking, RefEnd};

/// A transport over a byte slice: reads and writes in the sizes of `chunking` (at least 1).
struct Mem<'a> {
    input: &'a [u8],
    pos: usize,
    chunking: Chunking,
    reads: usize,
    writes: usize,
    written: Vec<u8>,
}

impl embedded_io::ErrorType for Mem<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Mem<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let left = self.input.len() - self.pos;
        let n = self.chunking.size(self.reads, left).max(1).min(left).min(buf.len());
        self.reads += 1;
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl embedded_io::Write for Mem<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let n = self.chunking.size(self.writes, buf.len()).max(1).min(buf.len());
        self.writes += 1;
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)] // one session's whole setup, spelled out
fn session<H: Handshake<Error = AuthError> + core::fmt::Debug, const C: usize>(
    mut handshake: H,
    want_auth: &Half,
    expect_auth: bool,
    message: Option<(&[u8], bool)>,
    key: &[u8],
    cfg: FrameConfig,
    max_size: u64,
    chunking: Chunking,
    stream: &[u8],
) {
    let mem = Mem { input: stream, pos: 0, chunking, reads: 0, writes: 0, written: Vec::new() };
    let mut conn: Conn<Mem<'_>, C> = Conn::new(mem);
    let auth = conn.authenticate(&mut handshake);
    assert_eq!(conn.get_ref().written, want_auth.sent, "handshake bytes sent differ");
    let outcome = match auth {
        Ok(o) => o,
        Err(DriveError::Protocol(err)) => {
            assert_eq!(Err(err), want_auth.result, "handshake error differs");
            return;
        }
        Err(other) => panic!("unexpected drive error {other:?}"),
    };
    assert!(want_auth.result.is_ok(), "handshake succeeded where the reference fails");
    assert_eq!(
        outcome == Outcome::Authenticated,
        expect_auth,
        "outcome {outcome:?} vs {want_auth:?}"
    );
    if outcome != Outcome::Authenticated {
        return;
    }
    // Authenticated: the right MAC is in what the handshake consumed.
    let consumed = &stream[..want_auth.end];
    match message {
        None => {
            let right =
                wirekit_fuzz::mac::hmac("md5", key, consumed_challenge(&want_auth.sent)).unwrap();
            assert_eq!(consumed, &right[..], "seed verifier accepted a wrong MAC");
        }
        Some((msg, allow_md5)) => assert!(
            auth_ref::consumed_has_valid_mp_answer(key, msg, allow_md5, consumed),
            "mp handshake accepted a wrong MAC"
        ),
    }
    let rest = &stream[want_auth.end..];
    let want = transfer_props::expected(&cfg, 4096, max_size, rest);
    let mut receiver: FileReceiver<4096> = FileReceiver::new(cfg).with_max_size(max_size);
    let mut recs = Vec::new();
    let got = conn.receive_file(&mut receiver, |inc| {
        recs.push(match inc {
            Incoming::Header(h) => Rec::Header {
                filesize: h.filesize,
                filename: h.filename.to_owned(),
                filepath: h.filepath.to_owned(),
            },
            Incoming::Body(b) => Rec::Body(b.to_vec(), 0),
        });
        Ok::<(), ()>(())
    });
    // Remaining counts are not visible through `Incoming`; compare the bytes.
    let mut want_recs: Vec<Rec> = want
        .records
        .iter()
        .filter(|r| **r != Rec::Complete)
        .cloned()
        .map(|r| match r {
            Rec::Body(b, _) => Rec::Body(b, 0),
            other => other,
        })
        .collect();
    want_recs = coalesce(want_recs, transfer_props::merge);
    let recs = coalesce(recs, transfer_props::merge);
    assert_eq!(recs, want_recs, "file events differ from the reference");
    match (got, want.error) {
        (Ok(n), None) => {
            assert_eq!(Some(n), receiver.filesize());
            // Nothing lost, nothing invented: the unread rest is the rest of the stream.
            let mut unread = conn.buffered().to_vec();
            let mem = conn.get_ref();
            unread.extend_from_slice(&mem.input[mem.pos..]);
            assert_eq!(&unread[..], &rest[want.consumed..], "bytes after the file were lost");
            frames_after(&mut conn, &cfg, &rest[want.consumed..]);
        }
        (Err(FileIoError::Drive(DriveError::Protocol(e))), Some(w)) => assert_eq!(e, w),
        (got, want) => panic!("receive_file gave {got:?}, reference {want:?}"),
    }
}

/// Whatever follows the file, read with `Conn::recv_frame` and echoed with `send_frame`:
/// the frames of the reference splitter, then the error it predicts.
fn frames_after<const C: usize>(conn: &mut Conn<Mem<'_>, C>, cfg: &FrameConfig, rest: &[u8]) {
    let (want, end) = ref_frames(cfg, rest);
    let mut buf = [0u8; 1024];
    let before = conn.get_ref().written.len();
    let mut echoed = Vec::new();
    for f in &want {
        match conn.recv_frame(cfg, &mut buf) {
            Ok(frame) => {
                assert!(f.payload.len() <= 1024);
                assert_eq!(frame, &f.payload[..], "recv_frame differs from the reference");
                let frame = frame.to_vec();
                conn.send_frame(cfg, &frame).expect("echo");
                echoed.extend(cfg.encode_prefix(frame.len() as u64).unwrap().as_bytes());
                echoed.extend(frame);
            }
            Err(DriveError::Protocol(FrameError::BufferTooSmall { len, capacity })) => {
                assert_eq!((len, capacity), (f.payload.len() as u64, buf.len()));
                return;
            }
            Err(e) => panic!("recv_frame failed on a whole frame: {e:?}"),
        }
    }
    assert_eq!(&conn.get_ref().written[before..], &echoed[..], "send_frame wrote other bytes");
    let last = conn.recv_frame(cfg, &mut buf);
    match end {
        RefEnd::Clean => assert!(matches!(last, Err(DriveError::UnexpectedEof)), "{last:?}"),
        RefEnd::Error(FrameError::TruncatedPayload { len, .. }) if len > 1024 => assert!(
            matches!(last, Err(DriveError::Protocol(FrameError::BufferTooSmall { .. }))),
            "{last:?}"
        ),
        RefEnd::Error(err) => assert_eq!(last.err(), Some(DriveError::Protocol(err))),
    }
}

/// The seed challenge is the first 32 bytes the verifier sent.
fn consumed_challenge(sent: &[u8]) -> &[u8] {
    &sent[..32]
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    let key = auth_ref::key(sel >> 1);
    let policy = if sel & 8 == 0 { MpPolicy::COMPATIBLE } else { MpPolicy::STRICT };
    let mode = auth_ref::mode(sel >> 4);
    let random = auth_ref::random(&mut u);
    let max_size = match u.arbitrary::<u8>().unwrap_or(0) {
        0 => 0,
        n if n < 128 => u64::from(n) * 100,
        _ => u64::MAX,
    };
    let chunking = Chunking::from_unstructured(&mut u);
    let stream = u.take_rest();
    let small = sel & 128 != 0;

    macro_rules! go {
        ($hs:expr, $want:expr, $auth:expr, $msg:expr, $cfg:expr) => {
            if small {
                session::<_, 64>($hs, &$want, $auth, $msg, key, $cfg, max_size, chunking, stream)
            } else {
                session::<_, 4096>($hs, &$want, $auth, $msg, key, $cfg, max_size, chunking, stream)
            }
        };
    }
    if sel & 1 == 0 {
        let mut challenge = [0u8; 32];
        challenge.copy_from_slice(&random[..32]);
        let want = auth_ref::seed_verifier(key, &challenge, stream);
        let auth = want.result == Ok(true);
        go!(SeedVerifier::new(key, challenge), want, auth, None, FrameConfig::seed());
    } else {
        let message = auth_ref::message(mode, &random);
        let d = auth_ref::deliver(key, &message, policy, stream, 0);
        let want = if d.result == Ok(true) {
            let a = auth_ref::answer(key, policy, stream, d.end);
            Half {
                events: [d.events.clone(), a.events.clone()].concat(),
                sent: [d.sent.clone(), a.sent.clone()].concat(),
                end: a.end,
                result: a.result,
            }
        } else {
            d
        };
        let hs = MpHandshake::new(key, Order::ListenerSide, mode, policy, random);
        let auth = want.result == Ok(true) && want.events.len() == 3;
        go!(hs, want, auth, Some((&message[..], policy.allow_md5)), FrameConfig::mp());
    }
});
