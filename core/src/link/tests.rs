#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

//! Tests of the serial link: codec edge cases, the handshake, the ARQ machine over a
//! simulated faulty line (proptest), a peer reboot, and existing exchanges run over it.

use core::time::Duration;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::codec::*;
use super::sim::{At, Clean, CutAt, Fault, Faults, MachineApp, Random, Recv, Send, Sim};
use super::*;

type L = Link<256, 16, 4096>;

const MS: Duration = Duration::from_millis(1);
/// 115,200 baud 8N1.
const BYTE_115200: Duration = Duration::from_nanos(86_806);

fn sim(a: L, b: L) -> Sim<256, 16, 4096> {
    Sim::new(a, b, BYTE_115200, MS)
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

// ---- codec ----

fn encode(repr: &Repr<'_>, sessions: (u32, u32)) -> Vec<u8> {
    let mut scratch = [0u8; 2048];
    let mut out = [0u8; 2100];
    let n = repr.emit(sessions, &mut scratch, &mut out).unwrap();
    out[..n].to_vec()
}

fn decode_one<const F: usize>(bytes: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut d = Deframer::<F>::new();
    let (taken, frame) = d.push(bytes);
    assert_eq!(taken, bytes.len());
    frame.unwrap().map(<[u8]>::to_vec)
}

#[test]
fn codec_round_trips_every_frame_type() {
    let s = (0x1111_2222, 0x3333_4444);
    let hello = Hello { session: 7, peer: 9, max_payload: 248, window: 16 };
    let payload = pattern(248);
    let reprs = [
        Repr::Hello(hello),
        Repr::HelloAck(hello),
        Repr::Data { seq: 200, fin: false, payload: &payload },
        Repr::Data { seq: 0, fin: true, payload: &[] },
        Repr::Data { seq: 1, fin: false, payload: &[0, 0, 0] },
        Repr::Ack { ack: 5, window: 3, sack: 0x8000_0001, request: false },
        Repr::Ack { ack: 255, window: 0, sack: 0, request: true },
    ];
    for repr in reprs {
        let wire = encode(&repr, s);
        assert_eq!(*wire.last().unwrap(), 0);
        assert!(!wire[..wire.len() - 1].contains(&0), "no zero inside a frame");
        let decoded = decode_one::<256>(&wire).unwrap();
        assert_eq!(decoded.len(), repr.buffer_len());
        assert_eq!(Repr::parse(&decoded, Some(s)).unwrap(), repr);
    }
}

/// `COBS(body ‖ CRC-32(prefix ‖ body)) 0x00`, written out by hand.
fn wire_of(prefix: &[u8], body: &[u8]) -> Vec<u8> {
    let mut decoded = body.to_vec();
    decoded.extend_from_slice(&super::crc::checksum(prefix, body).to_be_bytes());
    let mut wire = vec![0u8; 64];
    let n = cobs::encode(&decoded, &mut wire);
    wire.truncate(n);
    wire.push(0);
    wire
}

#[test]
fn codec_fixed_bytes_of_a_hello_and_a_data_frame() {
    // The bytes docs/protocol.md section 7 shows.
    let hello = Repr::Hello(Hello { session: 0x0102_0304, peer: 0, max_payload: 248, window: 16 });
    let body = [3, 1, 1, 2, 3, 4, 0, 0, 0, 0, 0, 248, 16];
    let expected = wire_of(&[], &body);
    assert_eq!(encode(&hello, (0, 0)), expected);
    assert_eq!(&expected[..7], &[7, 3, 1, 1, 2, 3, 4]);

    let data = Repr::Data { seq: 9, fin: false, payload: b"hi" };
    let body = [1, 9, b'h', b'i'];
    let expected = wire_of(&[0, 0, 0, 1, 0, 0, 0, 2], &body);
    assert_eq!(encode(&data, (1, 2)), expected);

    // The hex in docs/protocol.md section 7, written out.
    let hex =
        |s: &str| -> Vec<u8> { s.split(' ').map(|b| u8::from_str_radix(b, 16).unwrap()).collect() };
    assert_eq!(
        encode(&hello, (0, 0)),
        hex("07 03 01 01 02 03 04 01 01 01 01 07 f8 10 90 75 20 30 00")
    );
    assert_eq!(encode(&data, (1, 2)), hex("09 01 09 68 69 38 49 e5 f5 00"));
    let ack = Repr::Ack { ack: 10, window: 15, sack: 1, request: false };
    assert_eq!(encode(&ack, (2, 1)), hex("04 02 0a 0f 01 01 06 01 34 11 08 ee 00"));
    // A link's HELLO goes behind a delimiter.
    let mut link = L::new(LinkConfig::new(), 0x0102_0304);
    let mut out = [0u8; L::MAX_WIRE_FRAME];
    let n = link.poll_transmit(Duration::ZERO, &mut out).unwrap();
    assert_eq!(&out[..n], &hex("00 07 03 01 01 02 03 04 01 01 01 01 07 f8 10 90 75 20 30 00")[..]);
}

#[test]
fn codec_rejects_bad_frames() {
    let s = (1, 2);
    let wire = encode(&Repr::Data { seq: 1, fin: false, payload: b"abc" }, s);
    let decoded = decode_one::<256>(&wire).unwrap();
    // Bad CRC: one bit flipped anywhere, or the wrong sessions.
    for i in 0..decoded.len() {
        let mut bad = decoded.clone();
        bad[i] ^= 0x10;
        assert!(Repr::parse(&bad, Some(s)).is_err(), "flip at {i}");
    }
    assert_eq!(Repr::parse(&decoded, Some((1, 3))), Err(CodecError::BadCrc));
    assert_eq!(Repr::parse(&decoded, None), Err(CodecError::NoSession));
    // Truncated: empty, CRC only, a DATA header cut.
    assert_eq!(Repr::parse(&[], Some(s)), Err(CodecError::Truncated { len: 0 }));
    assert_eq!(Repr::parse(&[1, 2, 3, 4], Some(s)), Err(CodecError::Truncated { len: 4 }));
    let mut one = vec![TYPE_DATA];
    one.extend_from_slice(
        &super::crc::checksum(&super::crc::session_prefix(1, 2), &one).to_be_bytes(),
    );
    assert_eq!(Repr::parse(&one, Some(s)), Err(CodecError::Truncated { len: 5 }));
    // Unknown type, wrong HELLO length and version.
    assert_eq!(Repr::parse(&[9, 0, 0, 0, 0], Some(s)), Err(CodecError::UnknownType(9)));
    let mut hello =
        encode(&Repr::Hello(Hello { session: 1, peer: 0, max_payload: 9, window: 1 }), s);
    let mut h = decode_one::<256>(&hello).unwrap();
    h[1] = 2;
    let n = h.len() - 4;
    let crc = super::crc::checksum(&[], &h[..n]).to_be_bytes();
    h[n..].copy_from_slice(&crc);
    assert_eq!(Repr::parse(&h, None), Err(CodecError::Version(2)));
    // Bad COBS: a code byte pointing past the frame.
    assert_eq!(decode_one::<256>(&[5, 1, 0]), Err(CodecError::Cobs));
    // A frame of exactly the buffer passes; one byte more is dropped unbuffered.
    hello.pop();
    let mut d = Deframer::<16>::new();
    let (_, f) = d.push(&[1; 17]);
    assert!(f.is_none());
    assert_eq!(d.push(&[0]), (1, Some(Err(CodecError::Oversize { max: 16 }))));
    let (_, f) = d.push(&[2, 1, 0]);
    assert_eq!(f, Some(Ok(&[1][..])), "back in step after an oversize frame");
    let (_, f) = d.push(&[[1u8; 16].as_slice(), &[0]].concat());
    assert_eq!(f.map(|r| r.map(<[u8]>::len)), Some(Ok(15)));
    // Empty frames (delimiters in a row) are skipped.
    assert_eq!(d.push(&[0, 0, 0]), (3, None));
}

#[test]
fn codec_max_payload_fits_the_frame_buffer() {
    assert_eq!(max_payload(256), 248);
    for f in [32usize, 64, 100, 256, 257, 260, 600, 1024] {
        let p = max_payload(f);
        let payload = vec![0xAA; p];
        let wire = encode(&Repr::Data { seq: 0, fin: false, payload: &payload }, (1, 2));
        assert!(wire.len() - 1 <= f, "{f}: {}", wire.len());
        // One byte more may not fit (in the worst case of COBS's overhead).
        assert!(cobs::max_encoding_length(p + 1 + DATA_HEADER_LEN + CRC_LEN) > f, "{f}");
    }
    assert_eq!(L::MAX_PAYLOAD, 248);
}

#[test]
fn deframer_resyncs_after_garbage() {
    let good = encode(&Repr::Data { seq: 3, fin: false, payload: b"ok" }, (1, 2));
    let mut stream = vec![0x55, 0x13, 0xFF, 0x00, 0x42];
    stream.extend_from_slice(&[0]);
    stream.extend_from_slice(&good);
    let mut d = Deframer::<256>::new();
    let mut frames = Vec::new();
    let mut rest = &stream[..];
    while !rest.is_empty() {
        let (n, f) = d.push(rest);
        rest = &rest[n..];
        if let Some(Ok(f)) = f {
            if let Ok(r) = Repr::parse(f, Some((1, 2))) {
                frames.push(std::format!("{r:?}"));
            }
        }
    }
    assert_eq!(frames.len(), 1);
    assert!(frames[0].contains("seq: 3"));
}

// ---- the machine ----

fn transfer(
    data: &[u8],
    ab: &mut dyn Faults,
    ba: &mut dyn Faults,
) -> (Vec<u8>, super::sim::Outcome) {
    let mut s =
        sim(L::new(LinkConfig::for_baud(115_200), 0xA), L::new(LinkConfig::for_baud(115_200), 0xB));
    let mut send = Send::new(data.to_vec());
    let mut recv = Recv::default();
    let out = s.run(&mut send, &mut recv, ab, ba, Duration::from_secs(600));
    (recv.got, out)
}

#[test]
fn link_delivers_a_stream_on_a_clean_line() {
    let data = pattern(20_000);
    let (got, out) = transfer(&data, &mut Clean, &mut Clean);
    assert!(out.done, "{out:?}");
    assert_eq!(got, data);
    // 20,000 bytes at 11,520 B/s take 1.74 s; framing costs a few percent.
    assert!(out.elapsed < Duration::from_millis(1_900), "{:?}", out.elapsed);
}

#[test]
fn link_delivers_an_empty_stream() {
    let (got, out) = transfer(&[], &mut Clean, &mut Clean);
    assert!(out.done);
    assert!(got.is_empty());
}

#[test]
fn link_survives_one_percent_byte_errors() {
    let data = pattern(30_000);
    let (got, out) = transfer(&data, &mut Random::new(10_000, 1), &mut Random::new(10_000, 2));
    assert!(out.done, "{out:?}");
    assert_eq!(got, data);
}

#[test]
fn cut_line_is_a_clear_error_and_a_prefix() {
    let data = pattern(10_000);
    let (got, out) = transfer(&data, &mut CutAt(3_000), &mut Clean);
    assert!(!out.done);
    assert_eq!(out.a_error, Some(LinkError::RetriesExhausted { retries: 10 }));
    assert!(got.len() < data.len() && data.starts_with(&got));
}

#[test]
fn no_peer_is_a_clear_error() {
    let (got, out) = transfer(b"x", &mut CutAt(0), &mut CutAt(0));
    assert_eq!(out.a_error, Some(LinkError::NoPeer { retries: 10 }));
    assert!(got.is_empty());
}

#[test]
fn a_rebooted_peer_is_a_reset_not_spliced_bytes() {
    let data = pattern(8_000);
    let mut s = sim(L::new(LinkConfig::new(), 0xA), L::new(LinkConfig::new(), 0xB));
    let mut send = Send::new(data.clone());
    let mut recv = Recv::default();
    // Run for a while, then B reboots: a new link with a new session, the old stream gone.
    let out = s.run(&mut send, &mut recv, &mut Clean, &mut Clean, Duration::from_millis(300));
    assert!(!out.done && !recv.got.is_empty() && recv.got.len() < data.len());
    assert!(data.starts_with(&recv.got));
    s.b = L::new(LinkConfig::new(), 0xC);
    let mut recv2 = Recv::default();
    let out = s.run(&mut send, &mut recv2, &mut Clean, &mut Clean, Duration::from_secs(10));
    assert_eq!(out.a_error, Some(LinkError::PeerReset));
    assert!(recv2.got.is_empty(), "no byte of the old stream in the new session");
    // A restarts and the new session carries a new stream.
    s.a.restart(0xD);
    let mut send = Send::new(b"fresh".to_vec());
    let out = s.run(&mut send, &mut recv2, &mut Clean, &mut Clean, Duration::from_secs(20));
    assert!(out.done, "{out:?}");
    assert_eq!(recv2.got, b"fresh");
}

#[test]
fn window_and_flow_control_with_a_slow_reader() {
    // B reads nothing until A has filled B's window: A must stop, not fail.
    struct Lazy {
        inner: Recv,
        polls: usize,
    }
    impl super::sim::App<256, 16, 4096> for Lazy {
        fn pump(&mut self, link: &mut L) -> bool {
            self.polls += 1;
            if self.polls < 20_000 {
                return false;
            }
            super::sim::App::pump(&mut self.inner, link)
        }
        fn done(&self, link: &L) -> bool {
            super::sim::App::done(&self.inner, link)
        }
    }
    let data = pattern(12_000);
    let mut s = sim(L::new(LinkConfig::new(), 1), L::new(LinkConfig::new(), 2));
    let mut send = Send::new(data.clone());
    let mut lazy = Lazy { inner: Recv::default(), polls: 0 };
    let out = s.run(&mut send, &mut lazy, &mut Clean, &mut Clean, Duration::from_secs(600));
    assert!(out.done, "{out:?}");
    assert_eq!(lazy.inner.got, data);
}

fn fault_strategy() -> impl Strategy<Value = (u64, Fault)> {
    (
        0u64..6_000,
        prop_oneof![
            Just(Fault::Drop),
            (1u8..=255).prop_map(Fault::Corrupt),
            Just(Fault::Duplicate),
            any::<u8>().prop_map(Fault::Insert),
            (1u64..400).prop_map(|ms| Fault::Delay(Duration::from_millis(ms))),
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Fewer faults than the retry budget, anywhere, either way: the same bytes arrive.
    #[test]
    fn faults_below_the_budget_deliver_the_same_bytes(
        len in 0usize..4_000,
        ab in proptest::collection::vec(fault_strategy(), 0..9),
        ba in proptest::collection::vec(fault_strategy(), 0..9),
    ) {
        let data = pattern(len);
        let (got, out) = transfer(&data, &mut At(ab), &mut At(ba));
        prop_assert!(out.done, "{:?}", out);
        prop_assert_eq!(got, data);
    }

    /// Any rate of random errors, up to hopeless: the bytes that arrive are a prefix of the
    /// stream, and a link that does not finish says why.
    #[test]
    fn heavy_errors_never_deliver_wrong_bytes(
        len in 1usize..3_000,
        per_million in 0u32..300_000,
        seed in any::<u64>(),
    ) {
        let data = pattern(len);
        let (got, out) = transfer(
            &data,
            &mut Random::new(per_million, seed),
            &mut Random::new(per_million, seed ^ 0x5555),
        );
        prop_assert!(data.starts_with(&got), "wrong bytes delivered");
        if !out.done {
            prop_assert!(out.a_error.is_some() || out.b_error.is_some(), "{:?}", out);
        } else {
            prop_assert_eq!(got, data);
        }
    }

    /// The receiving end reboots at any moment of a transfer: the sender stops with a peer
    /// reset (unless it had finished), and not one byte reaches the new session.
    #[test]
    fn a_reboot_at_any_time_is_a_reset(at_ms in 1u64..2_500, len in 1usize..6_000) {
        let data = pattern(len);
        let mut s = sim(L::new(LinkConfig::new(), 0xA), L::new(LinkConfig::new(), 0xB));
        let mut send = Send::new(data.clone());
        let mut recv = Recv::default();
        let out = s.run(&mut send, &mut recv, &mut Clean, &mut Clean, Duration::from_millis(at_ms));
        prop_assert!(data.starts_with(&recv.got));
        if !out.done {
            s.b = L::new(LinkConfig::new(), 0xC);
            let mut fresh = Recv::default();
            let out = s.run(&mut send, &mut fresh, &mut Clean, &mut Clean, Duration::from_secs(60));
            prop_assert_eq!(out.a_error, Some(LinkError::PeerReset));
            prop_assert!(fresh.got.is_empty());
        }
    }

    /// Any garbage fed to a link, then a real peer: no panic, and nothing delivered that the
    /// peer did not send.
    #[test]
    fn garbage_input_never_delivers_bytes(garbage in proptest::collection::vec(any::<u8>(), 0..2_000)) {
        let mut link = L::new(LinkConfig::new(), 5);
        let _ = link.handle_input(Duration::ZERO, &garbage);
        prop_assert!(link.readable().is_empty());
        let mut out = [0u8; L::MAX_WIRE_FRAME];
        let _ = link.poll_transmit(Duration::ZERO, &mut out);
    }
}

// ---- existing exchanges over the link ----

mod exchanges {
    use super::*;
    use crate::frame::FrameConfig;
    use crate::header::FileHeader;
    use crate::transfer::in_memory::SendFile;
    use crate::transfer::{FileReceiver, FileSender, ReceiveEvent};

    fn file_over_link(
        body: &[u8],
        faults_ab: &mut dyn Faults,
        faults_ba: &mut dyn Faults,
    ) -> Vec<u8> {
        let header =
            FileHeader { filename: "报告 😀.txt", filepath: "", filesize: body.len() as u64 };
        let sender =
            SendFile::new(FileSender::new(FrameConfig::seed(), &header).unwrap(), body.to_vec());
        let mut a = MachineApp::new(sender, |_: &mut SendFile, e| match e {}, 4096);
        let mut got = Vec::new();
        let mut complete = false;
        let receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
        let mut b = MachineApp::new(
            receiver,
            |r: &mut FileReceiver, e: ReceiveEvent<'_>| match e {
                ReceiveEvent::Header { .. } => {
                    assert_eq!(r.header().unwrap().filename, "报告 😀.txt")
                }
                ReceiveEvent::Body { chunk, .. } => got.extend_from_slice(chunk),
                ReceiveEvent::Complete => complete = true,
            },
            512,
        );
        let mut s = sim(
            L::new(LinkConfig::for_baud(115_200), 11),
            L::new(LinkConfig::for_baud(115_200), 22),
        );
        let out = s.run(&mut a, &mut b, faults_ab, faults_ba, Duration::from_secs(600));
        assert!(out.done, "{out:?} a: {:?} b: {:?}", a.error, b.error);
        assert!(a.error.is_none() && b.error.is_none(), "{:?} {:?}", a.error, b.error);
        drop(b);
        assert!(complete);
        got
    }

    #[test]
    fn seed_file_transfer_over_a_lossy_link() {
        let body = pattern(40_000);
        assert_eq!(file_over_link(&body, &mut Clean, &mut Clean), body);
        let got = file_over_link(&body, &mut Random::new(10_000, 7), &mut Random::new(10_000, 8));
        assert_eq!(got, body);
    }

    /// The secure profile's file exchange (a Noise channel around the same transfer) over a
    /// link with 1 % byte errors both ways: handshake, records and close_notify all ride the
    /// link's stream unchanged.
    #[test]
    fn secure_file_transfer_over_a_lossy_link() {
        use crate::secure::{
            on_event, rx_buf_len, Buffers, ChannelEvent, Config, Psk, Role, SecureChannel,
        };
        let body = pattern(20_000);
        let psk = Psk::derive(b"0123456789abcdef0123456789abcdef").unwrap();
        let header = FileHeader { filename: "f.bin", filepath: "", filesize: body.len() as u64 };
        let sender =
            SendFile::new(FileSender::new(FrameConfig::seed(), &header).unwrap(), body.clone());
        let limit = 1024u16;
        let (mut a_rx, mut a_tx) = (vec![0u8; rx_buf_len(limit)], vec![0u8; 2048]);
        let (mut b_rx, mut b_tx) = (vec![0u8; rx_buf_len(limit)], vec![0u8; 2048]);
        let config = |role| Config { role, service: b"file", max_plaintext: limit };
        let a = SecureChannel::new(
            &config(Role::Initiator),
            &psk,
            [0x11; 32],
            Buffers { rx: &mut a_rx, tx: &mut a_tx },
            sender,
            on_event(|_: &mut SendFile, e| match e {}),
        )
        .unwrap();
        let receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
        let b = SecureChannel::new(
            &config(Role::Responder),
            &psk,
            [0x22; 32],
            Buffers { rx: &mut b_rx, tx: &mut b_tx },
            receiver,
            on_event(|_: &mut FileReceiver, e: ReceiveEvent<'_>| match e {
                ReceiveEvent::Body { chunk, .. } => Some(chunk.to_vec()),
                _ => None,
            }),
        )
        .unwrap();
        let mut got = Vec::new();
        let (mut a_closed, mut b_closed) = (false, false);
        let mut a = MachineApp::new(
            a,
            |m: &mut SecureChannel<'_, _, _>, e: ChannelEvent<()>| match e {
                ChannelEvent::InnerDone => m.close(),
                ChannelEvent::PeerClosed => a_closed = true,
                _ => {}
            },
            4096,
        );
        let mut b = MachineApp::new(
            b,
            |m: &mut SecureChannel<'_, _, _>, e: ChannelEvent<Vec<u8>>| match e {
                ChannelEvent::Inner(chunk) => got.extend_from_slice(&chunk),
                ChannelEvent::InnerDone => m.close(),
                ChannelEvent::PeerClosed => b_closed = true,
                _ => {}
            },
            4096,
        );
        let mut s = sim(
            L::new(LinkConfig::for_baud(115_200), 0x51),
            L::new(LinkConfig::for_baud(115_200), 0x52),
        );
        let out = s.run(
            &mut a,
            &mut b,
            &mut Random::new(10_000, 3),
            &mut Random::new(10_000, 4),
            Duration::from_secs(600),
        );
        assert!(out.done, "{out:?} a: {:?} b: {:?}", a.error, b.error);
        assert!(a.error.is_none() && b.error.is_none(), "{:?} {:?}", a.error, b.error);
        assert!(s.a.stats().retransmits > 0, "the line did lose frames");
        drop((a, b));
        assert!(a_closed && b_closed, "both close_notify arrived");
        assert_eq!(got, body);
    }
}

// ---- io::Conn over a LinkPort, two threads, a lossy channel between them ----

mod port {
    use super::*;
    use crate::frame::FrameConfig;
    use crate::header::FileHeader;
    use crate::io::{Conn, Incoming};
    use crate::link::port::{Clock, LinkPort, Serial};
    use crate::transfer::{FileReceiver, FileSender};
    use std::sync::mpsc;
    use std::time::Instant;

    /// One end of an in-memory serial line; what it writes is corrupted per byte by `faults`.
    struct ChanSerial {
        tx: mpsc::Sender<Vec<u8>>,
        rx: mpsc::Receiver<Vec<u8>>,
        pending: Vec<u8>,
        faults: Random,
    }

    impl Serial for ChanSerial {
        type Error = ();
        fn read(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize, ()> {
            if self.pending.is_empty() {
                let got = match timeout {
                    Some(t) => self.rx.recv_timeout(t).ok(),
                    None => self.rx.recv_timeout(Duration::from_millis(50)).ok(),
                };
                match got {
                    Some(bytes) => self.pending = bytes,
                    None => return Ok(0),
                }
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            Ok(n)
        }
        fn write_all(&mut self, bytes: &[u8]) -> Result<(), ()> {
            let line: Vec<u8> = bytes
                .iter()
                .map(|&b| match self.faults.fault(0) {
                    Fault::Corrupt(m) => b ^ m,
                    _ => b,
                })
                .collect();
            // A peer that has gone is a line to nowhere.
            let _ = self.tx.send(line);
            Ok(())
        }
    }

    struct Wall(Instant);
    impl Clock for Wall {
        fn now(&mut self) -> Duration {
            self.0.elapsed()
        }
    }

    fn line(per_million: u32) -> (ChanSerial, ChanSerial) {
        let (a_tx, b_rx) = mpsc::channel();
        let (b_tx, a_rx) = mpsc::channel();
        (
            ChanSerial {
                tx: a_tx,
                rx: a_rx,
                pending: Vec::new(),
                faults: Random::new(per_million, 5),
            },
            ChanSerial {
                tx: b_tx,
                rx: b_rx,
                pending: Vec::new(),
                faults: Random::new(per_million, 6),
            },
        )
    }

    #[test]
    fn conn_send_file_and_receive_file_over_link_ports() {
        let body = pattern(30_000);
        let (sa, sb) = line(10_000);
        let start = Instant::now();
        let sent = body.clone();
        let sender = std::thread::spawn(move || {
            let mut out = [0u8; L::MAX_WIRE_FRAME];
            let port = LinkPort::new(L::new(LinkConfig::new(), 0x5E), sa, Wall(start), &mut out);
            let mut conn: Conn<_, 1024> = Conn::new(port);
            let header =
                FileHeader { filename: "f.bin", filepath: "", filesize: sent.len() as u64 };
            let mut s = FileSender::new(FrameConfig::seed(), &header).unwrap();
            let mut scratch = [0u8; 1000];
            let n = conn.send_file(&mut s, &mut &sent[..], &mut scratch).unwrap();
            // The last to finish must outlast the other's FIN; the linger ends early then.
            conn.get_mut().finish(Duration::from_secs(10)).unwrap();
            (n, conn.get_ref().link().stats())
        });
        let mut out = [0u8; L::MAX_WIRE_FRAME];
        let port = LinkPort::new(L::new(LinkConfig::new(), 0xEC), sb, Wall(start), &mut out);
        let mut conn: Conn<_, 1024> = Conn::new(port);
        let mut receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
        let mut got = Vec::new();
        let n = conn
            .receive_file(&mut receiver, |incoming| {
                if let Incoming::Body(chunk) = incoming {
                    got.extend_from_slice(chunk);
                }
                Ok::<(), ()>(())
            })
            .unwrap();
        conn.get_mut().finish(Duration::from_secs(10)).unwrap();
        let (sent_n, stats) = sender.join().unwrap();
        assert_eq!((n, sent_n), (body.len() as u64, body.len() as u64));
        assert_eq!(got, body);
        assert!(stats.retransmits > 0, "the line lost frames: {stats:?}");
    }
}
