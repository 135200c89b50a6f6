//! Named decoder edge cases, after tokio-util's `length_delimited.rs` tests.

use std::vec;

use super::{be_u32, cat, one_frame, run_bytewise, run_chunks, run_whole, Ev, Norm};
use crate::frame::{Endian, FrameConfig, FrameDecoder, FrameError, FrameEvent, Width};
use crate::{Handled, Machine};

// --- single frame, one packet: every width, byte order and signedness -----------------------

/// `abcdefghi` behind the hard-coded prefix decodes to one frame, and the encoder writes the
/// same prefix.
fn check_single_frame_one_packet(width: Width, endian: Endian, signed: bool, prefix: &[u8]) {
    let config = FrameConfig::new(width, endian, signed);
    let stream = cat(&[prefix, b"abcdefghi"]);
    let run = run_whole(config, &stream);
    assert_eq!(run.events, one_frame(9, b"abcdefghi"));
    assert_eq!(run.error, None);
    assert_eq!(run.eof, Ok(None));
    assert_eq!(config.encode_prefix(9).unwrap().as_bytes(), prefix);
}

macro_rules! single_frame_one_packet {
    ($($name:ident: $width:ident, $endian:ident, $signed:expr, $prefix:expr;)*) => {$(
        #[test]
        fn $name() {
            check_single_frame_one_packet(Width::$width, Endian::$endian, $signed, $prefix);
        }
    )*};
}

single_frame_one_packet! {
    single_frame_one_packet_u8_be: One, Big, false, b"\x09";
    single_frame_one_packet_u8_le: One, Little, false, b"\x09";
    single_frame_one_packet_i8_be: One, Big, true, b"\x09";
    single_frame_one_packet_i8_le: One, Little, true, b"\x09";
    single_frame_one_packet_u16_be: Two, Big, false, b"\x00\x09";
    single_frame_one_packet_u16_le: Two, Little, false, b"\x09\x00";
    single_frame_one_packet_i16_be: Two, Big, true, b"\x00\x09";
    single_frame_one_packet_i16_le: Two, Little, true, b"\x09\x00";
    single_frame_one_packet_u32_be: Four, Big, false, b"\x00\x00\x00\x09";
    single_frame_one_packet_u32_le: Four, Little, false, b"\x09\x00\x00\x00";
    single_frame_one_packet_i32_be: Four, Big, true, b"\x00\x00\x00\x09";
    single_frame_one_packet_i32_le: Four, Little, true, b"\x09\x00\x00\x00";
    single_frame_one_packet_u64_be: Eight, Big, false, b"\x00\x00\x00\x00\x00\x00\x00\x09";
    single_frame_one_packet_u64_le: Eight, Little, false, b"\x09\x00\x00\x00\x00\x00\x00\x00";
    single_frame_one_packet_i64_be: Eight, Big, true, b"\x00\x00\x00\x00\x00\x00\x00\x09";
    single_frame_one_packet_i64_le: Eight, Little, true, b"\x09\x00\x00\x00\x00\x00\x00\x00";
}

#[test]
fn single_frame_one_packet_seed_preset() {
    let run = run_whole(FrameConfig::seed(), b"\x09\x00\x00\x00abcdefghi");
    assert_eq!(run.events, one_frame(9, b"abcdefghi"));
    assert_eq!(run.eof, Ok(None));
}

#[test]
fn single_frame_one_packet_mp_preset() {
    let run = run_whole(FrameConfig::mp(), b"\x00\x00\x00\x09abcdefghi");
    assert_eq!(run.events, one_frame(9, b"abcdefghi"));
    assert_eq!(run.eof, Ok(None));
}

#[test]
fn every_length_byte_is_significant() {
    // 0x0102 would read as 0x0201 (or 0x01) if a byte were dropped or the order mixed up.
    let payload = [7u8; 0x0102];
    for (config, prefix) in [
        (FrameConfig::new(Width::Two, Endian::Big, false), &b"\x01\x02"[..]),
        (FrameConfig::new(Width::Two, Endian::Little, false), b"\x02\x01"),
        (FrameConfig::seed(), b"\x02\x01\x00\x00"),
        (FrameConfig::mp(), b"\x00\x00\x01\x02"),
        (FrameConfig::new(Width::Eight, Endian::Little, true), b"\x02\x01\0\0\0\0\0\0"),
    ] {
        let run = run_whole(config, &cat(&[prefix, &payload]));
        assert_eq!(run.events, one_frame(0x0102, &payload), "{config:?}");
    }
}

// --- several frames, packets split anywhere -------------------------------------------------

#[test]
fn multi_frames_one_packet() {
    let stream = cat(&[
        b"\x00\x00\x00\x09abcdefghi",
        b"\x00\x00\x00\x03123",
        b"\x00\x00\x00\x0bhello world",
    ]);
    let run = run_whole(be_u32(), &stream);
    assert_eq!(
        run.events,
        [one_frame(9, b"abcdefghi"), one_frame(3, b"123"), one_frame(11, b"hello world")].concat()
    );
    assert_eq!(run.eof, Ok(None));
}

#[test]
fn single_frame_across_packets() {
    let run = run_chunks(be_u32(), [&b"\x00\x00"[..], b"\x00\x09abc", b"defghi"]);
    assert_eq!(
        run.events,
        vec![Ev::Start(9), Ev::Data(b"abc".to_vec(), 6), Ev::Data(b"defghi".to_vec(), 0), Ev::End]
    );
    assert_eq!(run.eof, Ok(None));
}

#[test]
fn multi_frames_across_packets() {
    let packets: [&[u8]; 5] = [
        b"\x00\x00",
        b"\x00\x09abc",
        b"defghi",
        b"\x00\x00\x00\x0312",
        b"3\x00\x00\x00\x0bhello world",
    ];
    let run = run_chunks(be_u32(), packets);
    assert_eq!(
        run.normalized(),
        vec![
            Norm::Start(9),
            Norm::Payload(b"abcdefghi".to_vec()),
            Norm::End,
            Norm::Start(3),
            Norm::Payload(b"123".to_vec()),
            Norm::End,
            Norm::Start(11),
            Norm::Payload(b"hello world".to_vec()),
            Norm::End,
        ]
    );
    assert_eq!(run.eof, Ok(None));
}

#[test]
fn frames_fed_one_byte_at_a_time() {
    let stream = cat(&[b"\x00\x00\x00\x03123", b"\x00\x00\x00\x00", b"\x00\x00\x00\x01x"]);
    let run = run_bytewise(be_u32(), &stream);
    assert_eq!(
        run.events,
        vec![
            Ev::Start(3),
            Ev::Data(b"1".to_vec(), 2),
            Ev::Data(b"2".to_vec(), 1),
            Ev::Data(b"3".to_vec(), 0),
            Ev::End,
            Ev::Start(0),
            Ev::End,
            Ev::Start(1),
            Ev::Data(b"x".to_vec(), 0),
            Ev::End,
        ]
    );
}

#[test]
fn data_chunk_stops_at_frame_end() {
    // The next frame's prefix is in the same input; the first Data must not swallow it.
    let mut dec = FrameDecoder::new(be_u32());
    let input = b"\x00\x00\x00\x02ab\x00\x00\x00\x01c";
    let h = dec.decode(input).unwrap();
    assert_eq!(h, Handled::event(4, FrameEvent::Start { len: 2 }));
    let h = dec.decode(&input[4..]).unwrap();
    assert_eq!(h, Handled::event(2, FrameEvent::Data { chunk: b"ab", remaining: 0 }));
    let h = dec.decode(&input[6..]).unwrap();
    assert_eq!(h, Handled::event(0, FrameEvent::End));
    let h = dec.decode(&input[6..]).unwrap();
    assert_eq!(h, Handled::event(4, FrameEvent::Start { len: 1 }));
}

#[test]
fn start_consumes_only_the_prefix() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    let h = dec.decode(b"\x05\x00\x00\x00hello").unwrap();
    assert_eq!(h, Handled::event(4, FrameEvent::Start { len: 5 }));
    assert_eq!(dec.remaining(), Some(5));
    assert!(!dec.at_boundary());
}

#[test]
fn empty_input_yields_nothing() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    assert_eq!(dec.decode(&[]), Ok(Handled::consumed(0)));
    assert!(dec.at_boundary());
    assert_eq!(dec.finish(), Ok(None));
}

#[test]
fn empty_input_mid_payload_yields_nothing() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    dec.decode(b"\x02\x00\x00\x00").unwrap();
    assert_eq!(dec.decode(&[]), Ok(Handled::consumed(0)));
    assert_eq!(dec.remaining(), Some(2));
}

// --- incomplete input -------------------------------------------------------------------------

#[test]
fn incomplete_head_waits_then_fails_at_eof() {
    let mut dec = FrameDecoder::new(be_u32());
    assert_eq!(dec.decode(b"\x00\x00"), Ok(Handled::consumed(2)));
    assert!(!dec.at_boundary());
    assert_eq!(dec.remaining(), None);
    assert_eq!(dec.finish(), Err(FrameError::TruncatedPrefix { have: 2, need: 4 }));
}

#[test]
fn incomplete_head_multi() {
    let run = run_chunks(be_u32(), [&b""[..], b"\x00", b""]);
    assert!(run.events.is_empty());
    assert_eq!(run.error, None);
    assert_eq!(run.eof, Err(FrameError::TruncatedPrefix { have: 1, need: 4 }));
}

#[test]
fn incomplete_payload() {
    let run = run_chunks(be_u32(), [&b"\x00\x00\x00\x09ab"[..], b"cd"]);
    assert_eq!(
        run.events,
        vec![Ev::Start(9), Ev::Data(b"ab".to_vec(), 7), Ev::Data(b"cd".to_vec(), 5)]
    );
    assert_eq!(run.eof, Err(FrameError::TruncatedPayload { len: 9, missing: 5 }));
}

#[test]
fn truncated_prefix_at_eof() {
    for cut in 1..4 {
        let run = run_whole(FrameConfig::seed(), &b"\x09\x00\x00\x00"[..cut]);
        assert!(run.events.is_empty());
        assert_eq!(run.eof, Err(FrameError::TruncatedPrefix { have: cut as u8, need: 4 }));
    }
}

#[test]
fn truncated_payload_at_eof() {
    // Prefix complete, no payload byte yet: still a truncated payload, not a clean end.
    let run = run_whole(FrameConfig::seed(), b"\x09\x00\x00\x00");
    assert_eq!(run.events, vec![Ev::Start(9)]);
    assert_eq!(run.eof, Err(FrameError::TruncatedPayload { len: 9, missing: 9 }));
    let run = run_whole(FrameConfig::seed(), b"\x09\x00\x00\x00abcdefgh");
    assert_eq!(run.eof, Err(FrameError::TruncatedPayload { len: 9, missing: 1 }));
}

#[test]
fn clean_eof_at_frame_boundary() {
    let run = run_whole(FrameConfig::seed(), b"\x01\x00\x00\x00a\x00\x00\x00\x00");
    assert_eq!(run.events, [one_frame(1, b"a"), vec![Ev::Start(0), Ev::End]].concat());
    assert_eq!(run.eof, Ok(None));
    let run = run_whole(FrameConfig::seed(), b"");
    assert!(run.events.is_empty());
    assert_eq!(run.eof, Ok(None));
}

#[test]
fn end_pending_at_eof_after_last_data() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    dec.decode(b"\x02\x00\x00\x00").unwrap();
    let h = dec.decode(b"ok").unwrap();
    assert_eq!(h.event, Some(FrameEvent::Data { chunk: b"ok", remaining: 0 }));
    // The caller never polled for End; EOF delivers it instead of an error.
    assert_eq!(dec.finish(), Ok(Some(FrameEvent::End)));
    assert!(dec.at_boundary());
    assert_eq!(dec.finish(), Ok(None));
}

#[test]
fn end_pending_at_eof_after_zero_length_start() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    assert_eq!(dec.decode(&[0; 4]), Ok(Handled::event(4, FrameEvent::Start { len: 0 })));
    assert_eq!(dec.finish(), Ok(Some(FrameEvent::End)));
    assert_eq!(dec.finish(), Ok(None));
}

// --- zero-length frames -----------------------------------------------------------------------

#[test]
fn zero_length_frame() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    assert_eq!(dec.decode(&[0; 4]), Ok(Handled::event(4, FrameEvent::Start { len: 0 })));
    assert_eq!(dec.remaining(), Some(0));
    // End comes without input and consumes nothing; no empty Data event precedes it.
    assert_eq!(dec.decode(&[]), Ok(Handled::event(0, FrameEvent::End)));
    assert!(dec.at_boundary());
    assert_eq!(dec.decode(&[]), Ok(Handled::consumed(0)));
}

#[test]
fn back_to_back_zero_length_frames() {
    let stream = cat(&[&[0; 4], &[0; 4], &[0; 4], b"\x01\x00\x00\x00z", &[0; 4]]);
    let expected = [
        vec![Ev::Start(0), Ev::End],
        vec![Ev::Start(0), Ev::End],
        vec![Ev::Start(0), Ev::End],
        one_frame(1, b"z"),
        vec![Ev::Start(0), Ev::End],
    ]
    .concat();
    assert_eq!(run_whole(FrameConfig::seed(), &stream).events, expected);
    assert_eq!(run_bytewise(FrameConfig::seed(), &stream).events, expected);
}

#[test]
fn zero_max_frame_len_allows_only_empty_frames() {
    let config = FrameConfig::seed().with_max_frame_len(0);
    let run = run_whole(config, b"\x00\x00\x00\x00\x01\x00\x00\x00x");
    assert_eq!(run.events, vec![Ev::Start(0), Ev::End]);
    assert_eq!(run.error, Some(FrameError::Oversize { len: 1, max: 0 }));
}

// --- state getters and the Machine impl -------------------------------------------------------

#[test]
fn remaining_and_boundary_track_progress() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    assert!(dec.at_boundary());
    assert_eq!(dec.remaining(), None);
    dec.decode(b"\x03\x00").unwrap();
    assert!(!dec.at_boundary());
    assert_eq!(dec.remaining(), None);
    dec.decode(b"\x00\x00").unwrap();
    assert_eq!(dec.remaining(), Some(3));
    dec.decode(b"ab").unwrap();
    assert_eq!(dec.remaining(), Some(1));
    dec.decode(b"c").unwrap();
    assert_eq!(dec.remaining(), Some(0));
    assert!(!dec.at_boundary(), "End not yet delivered");
    assert_eq!(dec.decode(&[]).unwrap().event, Some(FrameEvent::End));
    assert!(dec.at_boundary());
    assert_eq!(dec.config(), &FrameConfig::seed());
}

#[test]
fn machine_impl_matches_decode_and_finish() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    assert_eq!(
        dec.handle_input(b"\x01\x00\x00\x00x"),
        Ok(Handled::event(4, FrameEvent::Start { len: 1 }))
    );
    assert_eq!(
        dec.handle_input(b"x"),
        Ok(Handled::event(1, FrameEvent::Data { chunk: b"x", remaining: 0 }))
    );
    assert!(!dec.is_done(), "a frame stream is not done before its end");
    assert_eq!(dec.handle_eof(), Ok(Some(FrameEvent::End)));
    assert!(dec.output_buf().is_empty());
    dec.consume_output(0);
    assert!(dec.is_done(), "a clean end is the end of a frame stream");
    assert_eq!(dec.handle_input(b"late"), Ok(Handled::consumed(0)), "input after EOF is ignored");
}

#[test]
fn machine_errors_are_done_too() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    assert_eq!(
        dec.handle_input(&[0, 0, 0, 0x80]),
        Err(FrameError::Negative { value: i64::from(i32::MIN) })
    );
    assert!(dec.is_done());
}
