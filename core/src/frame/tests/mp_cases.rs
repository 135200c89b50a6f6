//! CPython `multiprocessing.connection` framing: `!i`, and `-1` + `!Q` above 0x7fffffff.

use std::vec;
use std::vec::Vec;

use super::{cat, mp_long_prefix, run_bytewise, run_chunks, run_whole, Ev};
use crate::frame::{FrameConfig, FrameDecoder, FrameError, FrameEvent, DEFAULT_MAX_FRAME_LEN};
use crate::Handled;

/// The mp preset with the limit lifted, so the long form can be decoded.
fn mp_unlimited() -> FrameConfig {
    FrameConfig::mp().with_max_frame_len(u64::MAX)
}

// Bytes from Python 3.11:
//   struct.pack('!i', 0x7fffffff).hex()                          == '7fffffff'
//   (struct.pack('!i', -1) + struct.pack('!Q', 0x80000000)).hex() == 'ffffffff0000000080000000'
const SHORT_7FFFFFFF: &[u8] = b"\x7f\xff\xff\xff";
const LONG_80000000: &[u8] = b"\xff\xff\xff\xff\x00\x00\x00\x00\x80\x00\x00\x00";

#[test]
fn mp_preset_shape() {
    let mp = FrameConfig::mp();
    assert!(mp.mp_extension());
    assert!(mp.signed());
    assert_eq!(mp.max_frame_len(), DEFAULT_MAX_FRAME_LEN);
    assert_eq!(mp.field_max(), u64::MAX);
}

#[test]
fn mp_0x7fffffff_encodes_with_4_byte_prefix() {
    let config = mp_unlimited();
    assert_eq!(config.prefix_len(0x7fff_ffff), 4);
    assert_eq!(config.encode_prefix(0x7fff_ffff).unwrap().as_bytes(), SHORT_7FFFFFFF);
}

#[test]
fn mp_0x80000000_encodes_as_minus_one_and_u64() {
    let config = mp_unlimited();
    assert_eq!(config.prefix_len(0x8000_0000), 12);
    assert_eq!(config.encode_prefix(0x8000_0000).unwrap().as_bytes(), LONG_80000000);
}

#[test]
fn mp_u64_max_encodes_as_minus_one_and_u64() {
    assert_eq!(mp_unlimited().encode_prefix(u64::MAX).unwrap().as_bytes(), &[0xff; 12]);
}

#[test]
fn mp_0x7fffffff_decodes_from_4_byte_prefix() {
    let mut dec = FrameDecoder::new(mp_unlimited());
    assert_eq!(
        dec.decode(SHORT_7FFFFFFF),
        Ok(Handled::event(4, FrameEvent::Start { len: 0x7fff_ffff }))
    );
}

#[test]
fn mp_0x80000000_decodes_from_minus_one_and_u64() {
    let mut dec = FrameDecoder::new(mp_unlimited());
    // The marker alone is not a frame yet.
    assert_eq!(dec.decode(&LONG_80000000[..4]), Ok(Handled::consumed(4)));
    assert!(!dec.at_boundary());
    assert_eq!(
        dec.decode(&LONG_80000000[4..]),
        Ok(Handled::event(8, FrameEvent::Start { len: 0x8000_0000 }))
    );
    assert_eq!(dec.remaining(), Some(0x8000_0000));
    let mut dec = FrameDecoder::new(mp_unlimited());
    assert_eq!(
        dec.decode(LONG_80000000),
        Ok(Handled::event(12, FrameEvent::Start { len: 0x8000_0000 }))
    );
}

#[test]
fn mp_minus_one_marker_with_u64_over_max_is_oversize() {
    // Default limit (8 MiB): the long form's length is checked like any other.
    let run = run_whole(FrameConfig::mp(), LONG_80000000);
    assert_eq!(
        run.error,
        Some(FrameError::Oversize { len: 0x8000_0000, max: DEFAULT_MAX_FRAME_LEN })
    );
    let limited = FrameConfig::mp().with_max_frame_len(0x8000_0000 - 1);
    let run = run_whole(limited, &[0xff; 12]);
    assert_eq!(run.error, Some(FrameError::Oversize { len: u64::MAX, max: 0x7fff_ffff }));
}

#[test]
fn mp_minus_one_marker_with_u64_at_max_is_accepted() {
    let limited = FrameConfig::mp().with_max_frame_len(0x8000_0000);
    let run = run_whole(limited, LONG_80000000);
    assert_eq!(run.events, vec![Ev::Start(0x8000_0000)]);
    assert_eq!(run.error, None);
}

#[test]
fn mp_minus_one_marker_split_at_every_byte() {
    // A long-form frame (CPython accepts it for any length) carrying a real payload,
    // followed by a short-form frame, split into two feeds at every position.
    let stream = cat(&[&mp_long_prefix(3), b"abc", b"\x00\x00\x00\x01z"]);
    let expected = vec![
        Ev::Start(3),
        Ev::Data(b"abc".to_vec(), 0),
        Ev::End,
        Ev::Start(1),
        Ev::Data(b"z".to_vec(), 0),
        Ev::End,
    ];
    assert_eq!(run_whole(FrameConfig::mp(), &stream).events, expected);
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        let run = run_chunks(FrameConfig::mp(), [a, b]);
        assert_eq!(run.normalized(), super::normalize(&expected), "cut at {cut}");
        assert_eq!(run.eof, Ok(None));
    }
    let run = run_bytewise(FrameConfig::mp(), &stream);
    assert_eq!(run.normalized(), super::normalize(&expected));
}

#[test]
fn mp_oversize_long_form_split_at_every_byte() {
    for cut in 0..=LONG_80000000.len() {
        let (a, b) = LONG_80000000.split_at(cut);
        let run = run_chunks(FrameConfig::mp(), [a, b]);
        assert_eq!(
            run.error,
            Some(FrameError::Oversize { len: 0x8000_0000, max: DEFAULT_MAX_FRAME_LEN }),
            "cut at {cut}"
        );
        assert!(run.events.is_empty());
    }
}

#[test]
fn mp_minus_two_is_negative() {
    // struct.pack('!i', -2) == b'\xff\xff\xff\xfe'
    let run = run_whole(FrameConfig::mp(), b"\xff\xff\xff\xfe\0\0\0\0\0\0\0\0");
    assert_eq!(run.error, Some(FrameError::Negative { value: -2 }));
    assert!(run.events.is_empty());
}

#[test]
fn mp_i32_min_is_negative() {
    let run = run_whole(FrameConfig::mp(), b"\x80\x00\x00\x00");
    assert_eq!(run.error, Some(FrameError::Negative { value: i64::from(i32::MIN) }));
}

#[test]
fn mp_marker_is_only_special_with_the_extension() {
    // Same field without the mp extension: -1 is just negative.
    let plain = FrameConfig::new(crate::frame::Width::Four, crate::frame::Endian::Big, true);
    let run = run_whole(plain, LONG_80000000);
    assert_eq!(run.error, Some(FrameError::Negative { value: -1 }));
}

#[test]
fn mp_marker_then_eof_is_truncated_prefix_of_12() {
    let run = run_whole(FrameConfig::mp(), b"\xff\xff\xff\xff");
    assert!(run.events.is_empty());
    assert_eq!(run.eof, Err(FrameError::TruncatedPrefix { have: 4, need: 12 }));
    let run = run_whole(FrameConfig::mp(), &LONG_80000000[..7]);
    assert_eq!(run.eof, Err(FrameError::TruncatedPrefix { have: 7, need: 12 }));
    let run = run_whole(FrameConfig::mp(), &LONG_80000000[..3]);
    assert_eq!(run.eof, Err(FrameError::TruncatedPrefix { have: 3, need: 4 }));
}

#[test]
fn mp_short_form_follows_long_form() {
    // After a long-form frame the decoder must expect a 4-byte prefix again, not 12.
    let stream = cat(&[&mp_long_prefix(0), &[0, 0, 0, 2], b"hi", &mp_long_prefix(1), b"!"]);
    let run = run_whole(FrameConfig::mp(), &stream);
    assert_eq!(
        run.events,
        vec![
            Ev::Start(0),
            Ev::End,
            Ev::Start(2),
            Ev::Data(b"hi".to_vec(), 0),
            Ev::End,
            Ev::Start(1),
            Ev::Data(b"!".to_vec(), 0),
            Ev::End,
        ]
    );
    assert_eq!(run.eof, Ok(None));
}

#[test]
fn mp_encode_round_trips_through_decode() {
    for len in [0u64, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1 << 40, u64::MAX] {
        let prefix = mp_unlimited().encode_prefix(len).unwrap();
        let mut dec = FrameDecoder::new(mp_unlimited());
        assert_eq!(
            dec.decode(prefix.as_bytes()),
            Ok(Handled::event(prefix.as_bytes().len(), FrameEvent::Start { len })),
            "len {len:#x}"
        );
    }
}

#[test]
fn mp_long_form_over_default_max_is_rejected_by_encoder() {
    assert_eq!(
        FrameConfig::mp().encode_prefix(0x8000_0000),
        Err(crate::frame::EncodeError::Oversize { len: 0x8000_0000, max: DEFAULT_MAX_FRAME_LEN })
    );
}

#[test]
fn mp_long_form_bytes_are_what_cpython_reads() {
    // CPython `_recv_bytes`: unpack('!i', 4 bytes); if -1: unpack('!Q', 8 bytes).
    let bytes: Vec<u8> = mp_long_prefix(0x0102_0304_0506_0708);
    assert_eq!(bytes, b"\xff\xff\xff\xff\x01\x02\x03\x04\x05\x06\x07\x08");
    let mut dec = FrameDecoder::new(mp_unlimited());
    assert_eq!(
        dec.decode(&bytes),
        Ok(Handled::event(12, FrameEvent::Start { len: 0x0102_0304_0506_0708 }))
    );
}
