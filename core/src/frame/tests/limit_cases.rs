//! Decoder limits: the frame length limit, negative lengths, and sticky errors.

use std::vec;

use super::{be_u32, cat, one_frame, run_whole, Ev};
use crate::frame::{
    Endian, FrameConfig, FrameDecoder, FrameError, FrameEvent, Width, DEFAULT_MAX_FRAME_LEN,
};
use crate::{Handled, Machine};

// --- the length limit -------------------------------------------------------------------------

#[test]
fn max_length_exceeded_rejected_at_prefix_before_payload() {
    let config = be_u32().with_max_frame_len(5);
    let mut dec = FrameDecoder::new(config);
    // Only the prefix is fed: no payload byte exists, yet the decoder refuses right away.
    assert_eq!(dec.decode(b"\x00\x00\x00\x09"), Err(FrameError::Oversize { len: 9, max: 5 }));
    assert!(dec.is_done());
    assert_eq!(dec.remaining(), None);
}

#[test]
fn max_length_exceeded_on_last_prefix_byte() {
    let config = be_u32().with_max_frame_len(5);
    let mut dec = FrameDecoder::new(config);
    for b in [0u8, 0, 0] {
        assert_eq!(dec.decode(&[b]), Ok(Handled::consumed(1)));
    }
    assert_eq!(dec.decode(b"\x09"), Err(FrameError::Oversize { len: 9, max: 5 }));
}

#[test]
fn max_length_exceeded_with_payload_present() {
    let run = run_whole(be_u32().with_max_frame_len(5), b"\x00\x00\x00\x09abcdefghi");
    assert!(run.events.is_empty());
    assert_eq!(run.error, Some(FrameError::Oversize { len: 9, max: 5 }));
}

#[test]
fn max_length_exceeded_after_good_frames() {
    let stream = cat(&[b"\x00\x00\x00\x05abcde", b"\x00\x00\x00\x06abcdef"]);
    let run = run_whole(be_u32().with_max_frame_len(5), &stream);
    assert_eq!(run.events, one_frame(5, b"abcde"));
    assert_eq!(run.error, Some(FrameError::Oversize { len: 6, max: 5 }));
}

#[test]
fn max_length_exactly_at_limit_accepted() {
    let run = run_whole(be_u32().with_max_frame_len(5), b"\x00\x00\x00\x05abcde");
    assert_eq!(run.events, one_frame(5, b"abcde"));
    assert_eq!(run.error, None);
    assert_eq!(run.eof, Ok(None));
}

#[test]
fn default_max_is_8_mib() {
    assert_eq!(DEFAULT_MAX_FRAME_LEN, 8 * 1024 * 1024);
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    // 8 MiB = 0x0080_0000, little-endian.
    assert_eq!(
        dec.decode(b"\x00\x00\x80\x00"),
        Ok(Handled::event(4, FrameEvent::Start { len: 8 * 1024 * 1024 }))
    );
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    assert_eq!(
        dec.decode(b"\x01\x00\x80\x00"),
        Err(FrameError::Oversize { len: 8 * 1024 * 1024 + 1, max: 8 * 1024 * 1024 })
    );
}

#[test]
fn u64_field_length_far_over_max_is_oversize_not_overflow() {
    let config = FrameConfig::new(Width::Eight, Endian::Big, false);
    let run = run_whole(config, &[0xff; 8]);
    assert_eq!(run.error, Some(FrameError::Oversize { len: u64::MAX, max: DEFAULT_MAX_FRAME_LEN }));
}

// --- signedness -------------------------------------------------------------------------------

fn first_error(config: FrameConfig, prefix: &[u8]) -> Option<FrameError> {
    let run = run_whole(config, prefix);
    assert!(run.events.is_empty(), "{:?}", run.events);
    run.error
}

#[test]
fn negative_length_i8() {
    let config = FrameConfig::new(Width::One, Endian::Little, true);
    assert_eq!(first_error(config, b"\xff"), Some(FrameError::Negative { value: -1 }));
    assert_eq!(first_error(config, b"\x80"), Some(FrameError::Negative { value: -128 }));
}

#[test]
fn negative_length_i16() {
    let be = FrameConfig::new(Width::Two, Endian::Big, true);
    assert_eq!(first_error(be, b"\xff\xfe"), Some(FrameError::Negative { value: -2 }));
    let le = FrameConfig::new(Width::Two, Endian::Little, true);
    assert_eq!(first_error(le, b"\x00\x80"), Some(FrameError::Negative { value: -32768 }));
}

#[test]
fn negative_length_i32() {
    let be = FrameConfig::new(Width::Four, Endian::Big, true);
    assert_eq!(first_error(be, b"\xff\xff\xff\xff"), Some(FrameError::Negative { value: -1 }));
}

#[test]
fn negative_length_i64() {
    let be = FrameConfig::new(Width::Eight, Endian::Big, true);
    assert_eq!(
        first_error(be, b"\x80\0\0\0\0\0\0\0"),
        Some(FrameError::Negative { value: i64::MIN })
    );
    let le = FrameConfig::new(Width::Eight, Endian::Little, true);
    assert_eq!(first_error(le, &[0xff; 8]), Some(FrameError::Negative { value: -1 }));
}

#[test]
fn negative_length_seed_minus_one() {
    // struct.pack('i', -1) == b'\xff\xff\xff\xff'
    assert_eq!(
        first_error(FrameConfig::seed(), b"\xff\xff\xff\xff"),
        Some(FrameError::Negative { value: -1 })
    );
}

#[test]
fn negative_length_seed_i32_min() {
    // struct.pack('i', -2**31) == b'\x00\x00\x00\x80'
    assert_eq!(
        first_error(FrameConfig::seed(), b"\x00\x00\x00\x80"),
        Some(FrameError::Negative { value: i64::from(i32::MIN) })
    );
}

#[test]
fn negative_length_is_checked_even_with_huge_max() {
    let config = FrameConfig::seed().with_max_frame_len(u64::MAX);
    assert_eq!(first_error(config, b"\xfe\xff\xff\xff"), Some(FrameError::Negative { value: -2 }));
}

#[test]
fn unsigned_u8_high_bit_is_a_length() {
    let config = FrameConfig::new(Width::One, Endian::Big, false);
    assert_eq!(config.max_frame_len(), 255);
    let payload = [1u8; 255];
    let run = run_whole(config, &cat(&[b"\xff", &payload]));
    assert_eq!(run.events, one_frame(255, &payload));
}

#[test]
fn unsigned_u16_high_bit_is_a_length() {
    let config = FrameConfig::new(Width::Two, Endian::Little, false);
    let run = run_whole(config, b"\x00\x80");
    assert_eq!(run.events, vec![Ev::Start(0x8000)]);
    assert_eq!(run.eof, Err(FrameError::TruncatedPayload { len: 0x8000, missing: 0x8000 }));
}

#[test]
fn unsigned_u32_high_bit_is_a_length() {
    let config = be_u32().with_max_frame_len(u64::MAX);
    let run = run_whole(config, b"\x80\x00\x00\x00abc");
    assert_eq!(run.events, vec![Ev::Start(0x8000_0000), Ev::Data(b"abc".to_vec(), 0x7fff_fffd)]);
    // The same bytes as a seed-style signed field are a negative length.
    let signed = FrameConfig::new(Width::Four, Endian::Big, true).with_max_frame_len(u64::MAX);
    assert_eq!(
        first_error(signed, b"\x80\x00\x00\x00"),
        Some(FrameError::Negative { value: i64::from(i32::MIN) })
    );
}

#[test]
fn unsigned_u64_high_bit_is_a_length() {
    let config = FrameConfig::new(Width::Eight, Endian::Big, false).with_max_frame_len(u64::MAX);
    let run = run_whole(config, b"\x80\0\0\0\0\0\0\0");
    assert_eq!(run.events, vec![Ev::Start(1 << 63)]);
    let run = run_whole(config, &[0xff; 8]);
    assert_eq!(run.events, vec![Ev::Start(u64::MAX)]);
}

// --- errors are sticky ------------------------------------------------------------------------

#[test]
fn error_is_sticky_oversize() {
    let mut dec = FrameDecoder::new(be_u32().with_max_frame_len(5));
    let err = FrameError::Oversize { len: 9, max: 5 };
    assert_eq!(dec.decode(b"\x00\x00\x00\x09abcdefghi"), Err(err));
    // Neither the payload, a valid frame, nor empty input revive it.
    assert_eq!(dec.decode(b"abcdefghi"), Err(err));
    assert_eq!(dec.decode(b"\x00\x00\x00\x01a"), Err(err));
    assert_eq!(dec.decode(&[]), Err(err));
    assert_eq!(dec.finish(), Err(err));
    assert_eq!(dec.finish(), Err(err));
    assert!(dec.is_done());
    assert!(!dec.at_boundary());
}

#[test]
fn error_is_sticky_negative() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    let err = FrameError::Negative { value: -1 };
    assert_eq!(dec.decode(&[0xff; 4]), Err(err));
    assert_eq!(dec.decode(&[0; 4]), Err(err));
    assert_eq!(dec.finish(), Err(err));
}

#[test]
fn error_is_sticky_after_truncated_eof() {
    let mut dec = FrameDecoder::new(FrameConfig::seed());
    dec.decode(b"\x03\x00\x00\x00a").unwrap();
    dec.decode(b"a").unwrap();
    let err = FrameError::TruncatedPayload { len: 3, missing: 2 };
    assert_eq!(dec.finish(), Err(err));
    assert_eq!(dec.finish(), Err(err));
    assert_eq!(dec.decode(b"bc"), Err(err));
    assert!(dec.is_done());

    let mut dec = FrameDecoder::new(FrameConfig::seed());
    dec.decode(b"\x03").unwrap();
    let err = FrameError::TruncatedPrefix { have: 1, need: 4 };
    assert_eq!(dec.finish(), Err(err));
    assert_eq!(dec.decode(b"\x00\x00\x00"), Err(err));
}
