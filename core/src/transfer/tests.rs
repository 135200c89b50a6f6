#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::string::String;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::drive::{Action, Driver, Input, StepError};
use crate::frame::{Endian, FrameConfig, FrameError, Width};
use crate::header::{FileHeader, HeaderError, MAX_HEADER_LEN};
use crate::Machine;

const VECTORS: &str = include_str!("../../tests/vectors/transfer.txt");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The vector script's body pattern.
fn body(size: usize) -> Vec<u8> {
    (0..size).map(|i| ((i * 7 + 3) % 256) as u8).collect()
}

/// Owned copy of a receive event, to compare runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Header(u64),
    Body(Vec<u8>, u64),
    Complete,
}

/// Everything the sender puts on the wire: the header frame (drained through `output_buf`
/// in `step`-byte sends), then the body as the caller would send it.
fn send_all(config: FrameConfig, header: &FileHeader<'_>, body: &[u8], step: usize) -> Vec<u8> {
    let mut s = FileSender::new(config, header).unwrap();
    let mut wire = Vec::new();
    assert!(!s.header_sent());
    while !s.output_buf().is_empty() {
        let n = step.min(s.output_buf().len());
        wire.extend_from_slice(&s.output_buf()[..n]);
        s.consume_output(n);
    }
    assert!(s.header_sent());
    assert_eq!(wire.len(), s.header_len());
    for chunk in body.chunks(step.max(1)) {
        assert!(!s.is_done());
        wire.extend_from_slice(chunk);
        s.record_body(chunk.len() as u64).unwrap();
    }
    assert_eq!(s.body_remaining(), 0);
    assert!(s.is_done());
    assert_eq!(s.handle_eof(), Ok(None));
    wire
}

/// Feed `chunks` as they arrive, through the core's driver; then the close. Returns the
/// events and the first error.
fn receive<const N: usize>(
    r: &mut FileReceiver<N>,
    chunks: &[&[u8]],
) -> (Vec<Ev>, Option<TransferError>) {
    let mut driver = Driver::new();
    let (mut events, mut wire, mut taken) = (Vec::new(), Vec::new(), 0);
    let arrivals = chunks.iter().map(|chunk| (*chunk, false)).chain([(&[][..], true)]);
    for (chunk, closed) in arrivals {
        wire.extend_from_slice(chunk);
        loop {
            let step = match driver.step(r, Input::new(&wire[taken..]).closed(closed)) {
                Ok(step) => step,
                Err(StepError::Machine(e)) => return (events, Some(e)),
                Err(StepError::UnexpectedEof) => panic!("a receiver always answers the close"),
            };
            taken += step.consumed;
            match step.action {
                Action::Event(e) => events.push(owned(e)),
                Action::Closed(e) => events.push(owned(e)),
                Action::Transmit(_) => panic!("a receiver sends nothing"),
                Action::NeedInput | Action::WaitingForCaller { .. } | Action::Finished => break,
            }
        }
        assert!(taken == wire.len() || r.is_done(), "input left over before done");
    }
    (events, None)
}

fn owned(e: ReceiveEvent<'_>) -> Ev {
    match e {
        ReceiveEvent::Header { filesize } => Ev::Header(filesize),
        ReceiveEvent::Body { chunk, remaining } => Ev::Body(chunk.to_vec(), remaining),
        ReceiveEvent::Complete => Ev::Complete,
    }
}

/// Check the shape Header, Body*, Complete with consistent `remaining`, and return the body.
fn body_of(events: &[Ev], filesize: u64) -> Vec<u8> {
    assert_eq!(events.first(), Some(&Ev::Header(filesize)));
    assert_eq!(events.last(), Some(&Ev::Complete));
    let mut got = Vec::new();
    for e in &events[1..events.len() - 1] {
        let Ev::Body(chunk, remaining) = e else { panic!("unexpected {e:?}") };
        assert!(!chunk.is_empty());
        got.extend_from_slice(chunk);
        assert_eq!(*remaining, filesize - got.len() as u64);
    }
    got
}

fn seed_header(size: u64) -> FileHeader<'static> {
    FileHeader { filename: "中文报告.txt", filepath: "F:\\projects\\上传", filesize: size }
}

#[test]
fn python_stream_is_what_the_sender_writes_and_the_receiver_reads() {
    let mut count = 0;
    for line in VECTORS.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let (label, size) = (f[0], f[3].parse::<usize>().unwrap());
        let name = String::from_utf8(unhex(f[1])).unwrap();
        let path = String::from_utf8(unhex(f[2])).unwrap();
        let stream = unhex(f[4]);
        let header = FileHeader { filename: &name, filepath: &path, filesize: size as u64 };
        let expected_body = body(size);

        assert_eq!(send_all(FrameConfig::seed(), &header, &expected_body, 7), stream, "{label}");

        let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
        let (events, err) = receive(&mut r, &[&stream]);
        assert_eq!(err, None, "{label}");
        assert_eq!(body_of(&events, size as u64), expected_body, "{label}");
        assert_eq!(r.header(), Some(header), "{label}");
        assert!(r.is_complete() && r.is_done());
        assert_eq!((r.received(), r.remaining()), (size as u64, Some(0)));
        count += 1;
    }
    assert!(count >= 4);
}

#[test]
fn one_byte_chunks_give_the_same_file() {
    let data = body(300);
    let wire = send_all(FrameConfig::seed(), &seed_header(300), &data, 1);
    let chunks: Vec<&[u8]> = wire.chunks(1).collect();
    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let (events, err) = receive(&mut r, &chunks);
    assert_eq!(err, None);
    assert_eq!(body_of(&events, 300), data);
    assert_eq!(events.len(), 302, "one Body event per byte");
    assert_eq!(r.header(), Some(seed_header(300)));
}

#[test]
fn zero_byte_file() {
    let wire = send_all(FrameConfig::seed(), &seed_header(0), &[], 5);
    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let (events, err) = receive(&mut r, &[&wire]);
    assert_eq!((events, err), (vec![Ev::Header(0), Ev::Complete], None));

    // A driver that waits for input after `Header` still gets `Complete` from EOF.
    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let h = r.handle_input(&wire).unwrap();
    assert_eq!((h.consumed, h.event), (wire.len(), Some(ReceiveEvent::Header { filesize: 0 })));
    assert!(!r.is_done());
    assert_eq!(r.handle_eof(), Ok(Some(ReceiveEvent::Complete)));
    assert!(r.is_complete());
    assert_eq!(r.handle_eof(), Ok(None));
}

#[test]
fn header_and_body_split_at_every_point() {
    let data = body(20);
    let wire = send_all(FrameConfig::seed(), &seed_header(20), &data, 64);
    let mut whole: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let reference = receive(&mut whole, &[&wire]);
    for cut in 0..=wire.len() {
        let (a, b) = wire.split_at(cut);
        let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
        let (events, err) = receive(&mut r, &[a, b]);
        assert_eq!(err, None, "cut {cut}");
        assert_eq!(body_of(&events, 20), data, "cut {cut}");
        assert_eq!(r.header(), Some(seed_header(20)));
    }
    // Unsplit input gives Header, one Body, Complete.
    assert_eq!(reference.0.len(), 3);
}

#[test]
fn mp_framing_and_small_buffer() {
    let data = body(10);
    let header = FileHeader { filename: "a", filepath: "b", filesize: 10 };
    let wire = send_all(FrameConfig::mp(), &header, &data, 3);
    assert_eq!(&wire[..4], &(header.encoded_len() as u32).to_be_bytes());
    let mut r = FileReceiver::<64>::new(FrameConfig::mp());
    let (events, err) = receive(&mut r, &[&wire]);
    assert_eq!(err, None);
    assert_eq!(body_of(&events, 10), data);
    assert_eq!(r.header(), Some(header));
}

#[test]
fn truncated_streams_are_errors() {
    let data = body(50);
    let wire = send_all(FrameConfig::seed(), &seed_header(50), &data, 64);
    let header_len = wire.len() - 50;

    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let (events, err) = receive(&mut r, &[&wire[..wire.len() - 1]]);
    assert_eq!(err, Some(TransferError::Truncated { received: 49, expected: 50 }));
    assert_eq!(body_of(&[&events[..], &[Ev::Complete]].concat(), 50), data[..49]);
    assert!(r.is_done() && !r.is_complete());
    assert_eq!(r.error(), err);
    assert_eq!(r.header(), Some(seed_header(50)), "header stays readable");

    // Right after the header.
    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let (_, err) = receive(&mut r, &[&wire[..header_len]]);
    assert_eq!(err, Some(TransferError::Truncated { received: 0, expected: 50 }));

    // Inside the header JSON, inside the prefix, and before anything.
    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let (_, err) = receive(&mut r, &[&wire[..10]]);
    let json_len = (header_len - 4) as u64;
    assert_eq!(
        err,
        Some(TransferError::Frame(FrameError::TruncatedPayload {
            len: json_len,
            missing: json_len - 6
        }))
    );
    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let (_, err) = receive(&mut r, &[&wire[..3]]);
    assert_eq!(err, Some(TransferError::Frame(FrameError::TruncatedPrefix { have: 3, need: 4 })));
    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let (events, err) = receive(&mut r, &[]);
    assert!(events.is_empty());
    assert_eq!(err, Some(TransferError::Frame(FrameError::TruncatedPrefix { have: 0, need: 4 })));
    // Errors stick.
    assert_eq!(r.handle_input(b"x"), Err(err.unwrap()));
    assert_eq!(r.handle_eof(), Err(err.unwrap()));
}

#[test]
fn extra_bytes_are_left_unconsumed() {
    let data = body(5);
    let mut wire = send_all(FrameConfig::seed(), &seed_header(5), &data, 64);
    wire.extend_from_slice(b"JUNK");
    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let h = r.handle_input(&wire).unwrap();
    assert_eq!(h.event, Some(ReceiveEvent::Header { filesize: 5 }));
    let rest = &wire[h.consumed..];
    let h = r.handle_input(rest).unwrap();
    assert_eq!(h.consumed, 5);
    assert_eq!(h.event, Some(ReceiveEvent::Body { chunk: &data[..], remaining: 0 }));
    let rest = &rest[h.consumed..];
    assert_eq!(rest, b"JUNK");
    let h = r.handle_input(rest).unwrap();
    assert_eq!((h.consumed, h.event), (0, Some(ReceiveEvent::Complete)));
    assert_eq!(r.handle_input(rest), Err(TransferError::ExtraData { len: 4 }));
    // The file is still complete; empty input and EOF are fine.
    assert!(r.is_complete());
    assert_eq!(r.error(), None);
    assert_eq!(r.handle_input(&[]), Ok(crate::Handled::consumed(0)));
    assert_eq!(r.handle_eof(), Ok(None));
}

#[test]
fn hostile_header_frames() {
    let seed = FrameConfig::seed();
    // Announcing more than the 4096-byte buffer: refused on the prefix alone.
    let mut r: FileReceiver = FileReceiver::new(seed);
    assert_eq!(
        r.handle_input(&5000i32.to_le_bytes()),
        Err(TransferError::Frame(FrameError::BufferTooSmall { len: 5000, capacity: 4096 }))
    );
    assert!(r.is_done());
    // Over the profile's own limit.
    let mut r: FileReceiver = FileReceiver::new(seed.with_max_frame_len(100));
    assert_eq!(
        r.handle_input(&101i32.to_le_bytes()),
        Err(TransferError::Frame(FrameError::Oversize { len: 101, max: 100 }))
    );
    // i32::MAX, negative.
    let mut r: FileReceiver = FileReceiver::new(seed);
    assert!(matches!(
        r.handle_input(&i32::MAX.to_le_bytes()),
        Err(TransferError::Frame(FrameError::Oversize { .. }))
    ));
    let mut r: FileReceiver = FileReceiver::new(seed);
    assert_eq!(
        r.handle_input(&[0xff, 0xff, 0xff, 0xff]),
        Err(TransferError::Frame(FrameError::Negative { value: -1 }))
    );
    // Bad JSON and a bad header keep the cause.
    let frame = |json: &[u8]| [&(json.len() as i32).to_le_bytes()[..], json].concat();
    let mut r: FileReceiver = FileReceiver::new(seed);
    assert_eq!(
        r.handle_input(&frame(b"{\"filename\": \"a\"")),
        Err(TransferError::Header(HeaderError::Syntax { offset: 16 }))
    );
    assert_eq!(r.header(), None);
    let mut r: FileReceiver = FileReceiver::new(seed);
    assert_eq!(
        r.handle_input(&frame(br#"{"filename":"a","filepath":"b","filesize":-1}"#)),
        Err(TransferError::Header(HeaderError::NegativeSize))
    );
    let mut r: FileReceiver = FileReceiver::new(seed);
    assert_eq!(r.handle_input(&frame(b"")), Err(TransferError::Header(HeaderError::NotAnObject)));
}

#[test]
fn size_limit_refuses_before_the_body() {
    let wire = send_all(FrameConfig::seed(), &seed_header(11), &body(11), 64);
    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed()).with_max_size(10);
    assert_eq!(r.max_size(), 10);
    let err = TransferError::TooLarge { filesize: 11, max: 10 };
    assert_eq!(r.handle_input(&wire), Err(err));
    assert_eq!(r.received(), 0);
    assert_eq!(r.header(), Some(seed_header(11)), "refused header is still readable");
    assert_eq!(r.handle_input(&wire[wire.len() - 11..]), Err(err));

    let wire = send_all(FrameConfig::seed(), &seed_header(10), &body(10), 64);
    let mut r: FileReceiver = FileReceiver::new(FrameConfig::seed()).with_max_size(10);
    let (events, err) = receive(&mut r, &[&wire]);
    assert_eq!(err, None);
    assert_eq!(body_of(&events, 10), body(10));
}

#[test]
fn sender_rules() {
    let header = seed_header(10);
    let mut s = FileSender::new(FrameConfig::seed(), &header).unwrap();
    assert_eq!(s.filesize(), 10);
    assert_eq!(s.header_len(), 4 + header.encoded_len());
    // Body before the header is drained.
    s.consume_output(s.header_len() - 1);
    assert_eq!(s.record_body(0), Ok(()));
    assert_eq!(s.record_body(1), Err(TransferError::HeaderNotSent));
    assert!(s.is_done() && s.output_buf().is_empty());
    assert_eq!(s.record_body(1), Err(TransferError::HeaderNotSent));

    let mut s = FileSender::new(FrameConfig::seed(), &header).unwrap();
    assert_eq!(s.output_buf().len(), s.header_len());
    s.consume_output(usize::MAX);
    assert!(s.header_sent() && s.output_buf().is_empty());
    s.record_body(4).unwrap();
    assert_eq!((s.body_sent(), s.body_remaining()), (4, 6));
    assert_eq!(s.record_body(7), Err(TransferError::Overrun { reported: 7, remaining: 6 }));
    assert_eq!(s.error(), Some(TransferError::Overrun { reported: 7, remaining: 6 }));
    assert!(s.is_done());

    // The receiver never talks.
    let mut s = FileSender::new(FrameConfig::seed(), &header).unwrap();
    assert_eq!(s.handle_input(&[]).map(|h| h.consumed), Ok(0));
    assert_eq!(s.handle_input(b"ok"), Err(TransferError::UnexpectedInput { len: 2 }));
    assert!(s.is_done() && s.output_buf().is_empty());

    // A close before the body is complete.
    let mut s = FileSender::new(FrameConfig::seed(), &header).unwrap();
    s.consume_output(s.header_len());
    s.record_body(3).unwrap();
    assert_eq!(s.handle_eof(), Err(TransferError::PeerClosed { body_remaining: 7 }));

    // An empty file is done once the header is out.
    let mut s = FileSender::new(FrameConfig::seed(), &seed_header(0)).unwrap();
    assert!(!s.is_done());
    s.consume_output(s.header_len());
    assert!(s.is_done());
}

#[test]
fn sender_input_after_a_complete_transfer_does_not_undo_it() {
    let header = FileHeader { filename: "f", filepath: "", filesize: 2 };
    let mut s = FileSender::new(FrameConfig::seed(), &header).unwrap();
    let n = s.output_buf().len();
    s.consume_output(n);
    s.record_body(2).unwrap();
    assert!(s.is_done() && s.error().is_none());
    assert_eq!(s.handle_input(b"x"), Err(TransferError::UnexpectedInput { len: 1 }));
    assert_eq!(s.error(), None, "the file went out whole");
    assert_eq!(s.handle_eof(), Ok(None));
}

#[test]
fn sender_header_limits() {
    let long = "x".repeat(MAX_HEADER_LEN);
    let header = FileHeader { filename: &long, filepath: "", filesize: 1 };
    assert_eq!(
        FileSender::new(FrameConfig::seed(), &header).unwrap_err(),
        TransferError::HeaderTooLong { len: header.encoded_len(), max: MAX_HEADER_LEN }
    );
    // Exactly at the cap is fine.
    let fixed = FileHeader { filename: "", filepath: "", filesize: 1 }.encoded_len();
    let name = "y".repeat(MAX_HEADER_LEN - fixed);
    let header = FileHeader { filename: &name, filepath: "", filesize: 1 };
    assert_eq!(header.encoded_len(), MAX_HEADER_LEN);
    let s = FileSender::new(FrameConfig::seed(), &header).unwrap();
    assert_eq!(s.header_len(), 4 + MAX_HEADER_LEN);
    // A one-byte length field cannot carry a 300-byte header.
    let name = "z".repeat(300);
    let header = FileHeader { filename: &name, filepath: "", filesize: 1 };
    let tiny = FrameConfig::new(Width::One, Endian::Little, false);
    assert_eq!(
        FileSender::new(tiny, &header).unwrap_err(),
        TransferError::Prefix(crate::frame::EncodeError::Oversize {
            len: header.encoded_len() as u64,
            max: 255
        })
    );
}

#[test]
fn errors_display_and_keep_their_source() {
    use core::error::Error;
    use std::string::ToString;
    let err = TransferError::Header(HeaderError::NegativeSize);
    assert_eq!(err.to_string(), "file header: header \"filesize\" is negative");
    assert!(err.source().is_some());
    assert_eq!(
        TransferError::Truncated { received: 3, expected: 9 }.to_string(),
        "stream ended after 3 of 9 file bytes"
    );
}

proptest! {
    #[test]
    fn random_chunking_gives_the_same_file(
        size in 0usize..2000,
        name in "\\PC{0,40}", // at most 40 * 12 escaped bytes
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
        step in 1usize..50,
    ) {
        let data = body(size);
        let header = FileHeader { filename: &name, filepath: "F:\\d", filesize: size as u64 };
        let wire = send_all(FrameConfig::seed(), &header, &data, step);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&wire[last..p]);
            last = p;
        }
        chunks.push(&wire[last..]);
        let mut r = FileReceiver::<1024>::new(FrameConfig::seed());
        let (events, err) = receive(&mut r, &chunks);
        prop_assert_eq!(err, None);
        prop_assert_eq!(body_of(&events, size as u64), data);
        prop_assert_eq!(r.header(), Some(header));
    }

    #[test]
    fn arbitrary_streams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut r = FileReceiver::<128>::new(FrameConfig::seed());
        let _ = receive(&mut r, &[&bytes]);
        prop_assert!(r.is_done());
    }
}

#[test]
fn debug_output_is_short() {
    let s = FileSender::new(FrameConfig::seed(), &seed_header(1)).unwrap();
    let r: FileReceiver = FileReceiver::new(FrameConfig::seed());
    assert!(std::format!("{s:?}").len() < 200);
    assert!(std::format!("{r:?}").len() < 200);
}
