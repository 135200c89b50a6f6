//! Prefix encoding, configuration limits, and known answers from CPython's `struct`.

use std::string::ToString;
use std::vec::Vec;
use std::{format, vec};

use crate::frame::{
    EncodeError, Endian, FrameConfig, FrameDecoder, FrameError, FrameEvent, Width,
    DEFAULT_MAX_FRAME_LEN, MAX_PREFIX_LEN,
};
use crate::Handled;

/// Output of core/tests/vectors/frame_prefix.py under Python 3.11.
const PYTHON_VECTORS: &str = include_str!("../../../tests/vectors/frame_prefix.txt");

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex {s}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

// --- hard-coded Python answers ----------------------------------------------------------------

#[test]
fn encode_matches_python_struct_pack_seed() {
    // python3 -c "import struct; print(struct.pack('<i', n).hex())" (== struct.pack('i', n)
    // on x86/ARM), for each n below.
    let cases: [(u64, &[u8]); 7] = [
        (0, b"\x00\x00\x00\x00"),
        (9, b"\x09\x00\x00\x00"),
        (300, b"\x2c\x01\x00\x00"),
        (65536, b"\x00\x00\x01\x00"),
        (8 * 1024 * 1024, b"\x00\x00\x80\x00"),
        (0x7fff_ffff, b"\xff\xff\xff\x7f"),
        (32768, b"\x00\x80\x00\x00"),
    ];
    let config = FrameConfig::seed().with_max_frame_len(u64::MAX);
    for (n, bytes) in cases {
        assert_eq!(config.encode_prefix(n).unwrap().as_bytes(), bytes, "n = {n}");
    }
}

#[test]
fn encode_matches_python_struct_pack_mp() {
    // struct.pack('!i', n), and struct.pack('!i', -1) + struct.pack('!Q', n) above 0x7fffffff.
    let cases: [(u64, &[u8]); 8] = [
        (0, b"\x00\x00\x00\x00"),
        (9, b"\x00\x00\x00\x09"),
        (300, b"\x00\x00\x01\x2c"),
        (0x7fff_ffff, b"\x7f\xff\xff\xff"),
        (0x8000_0000, b"\xff\xff\xff\xff\x00\x00\x00\x00\x80\x00\x00\x00"),
        (0xffff_ffff, b"\xff\xff\xff\xff\x00\x00\x00\x00\xff\xff\xff\xff"),
        (0x1_0000_0000, b"\xff\xff\xff\xff\x00\x00\x00\x01\x00\x00\x00\x00"),
        (u64::MAX, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
    ];
    let config = FrameConfig::mp().with_max_frame_len(u64::MAX);
    for (n, bytes) in cases {
        assert_eq!(config.encode_prefix(n).unwrap().as_bytes(), bytes, "n = {n}");
    }
}

// --- the committed Python vector file ---------------------------------------------------------

/// The configuration a vector line's profile names (limit lifted to the field maximum).
fn config_for(profile: &str) -> FrameConfig {
    let config = match profile {
        "seed" => FrameConfig::seed(),
        "mp" => FrameConfig::mp(),
        fmt => {
            let mut chars = fmt.chars();
            let endian = match chars.next() {
                Some('<') => Endian::Little,
                Some('>') => Endian::Big,
                other => panic!("unknown byte order {other:?} in {fmt}"),
            };
            let code = chars.next().unwrap();
            let width = match code.to_ascii_lowercase() {
                'b' => Width::One,
                'h' => Width::Two,
                'i' => Width::Four,
                'q' => Width::Eight,
                other => panic!("unknown struct code {other}"),
            };
            FrameConfig::new(width, endian, code.is_ascii_lowercase())
        }
    };
    config.with_max_frame_len(u64::MAX)
}

fn python_vectors() -> Vec<(&'static str, i128, Vec<u8>)> {
    let vectors: Vec<_> = PYTHON_VECTORS
        .lines()
        .map(|line| {
            let mut fields = line.split(' ');
            let profile = fields.next().unwrap();
            let n: i128 = fields.next().unwrap().parse().unwrap();
            let bytes = unhex(fields.next().unwrap());
            assert_eq!(fields.next(), None, "{line}");
            (profile, n, bytes)
        })
        .collect();
    assert!(vectors.len() > 200, "vector file looks truncated");
    vectors
}

#[test]
fn encode_matches_python_vector_file() {
    let mut checked = 0;
    for (profile, n, bytes) in python_vectors() {
        let Ok(len) = u64::try_from(n) else { continue };
        let prefix = config_for(profile).encode_prefix(len).unwrap();
        assert_eq!(prefix.as_bytes(), &bytes[..], "{profile} {n}");
        checked += 1;
    }
    assert!(checked > 150);
}

#[test]
fn decode_matches_python_vector_file() {
    for (profile, n, bytes) in python_vectors() {
        let config = config_for(profile);
        let mut dec = FrameDecoder::new(config);
        let got = dec.decode(&bytes);
        match u64::try_from(n) {
            Ok(len) => assert_eq!(
                got,
                Ok(Handled::event(bytes.len(), FrameEvent::Start { len })),
                "{profile} {n}"
            ),
            Err(_) => assert_eq!(
                got,
                Err(FrameError::Negative { value: i64::try_from(n).unwrap() }),
                "{profile} {n}"
            ),
        }
    }
}

// --- encoder errors ---------------------------------------------------------------------------

#[test]
fn encode_prefix_oversize() {
    let seed = FrameConfig::seed();
    assert_eq!(
        seed.encode_prefix(DEFAULT_MAX_FRAME_LEN + 1),
        Err(EncodeError::Oversize { len: DEFAULT_MAX_FRAME_LEN + 1, max: DEFAULT_MAX_FRAME_LEN })
    );
    let small = seed.with_max_frame_len(5);
    assert_eq!(small.encode_prefix(6), Err(EncodeError::Oversize { len: 6, max: 5 }));
    // A field's own limit: an i8 field cannot say 128.
    let i8_field = FrameConfig::new(Width::One, Endian::Big, true);
    assert_eq!(i8_field.encode_prefix(128), Err(EncodeError::Oversize { len: 128, max: 127 }));
}

#[test]
fn encode_prefix_at_limit_is_accepted() {
    let small = FrameConfig::seed().with_max_frame_len(5);
    assert_eq!(small.encode_prefix(5).unwrap().as_bytes(), b"\x05\x00\x00\x00");
    let i8_field = FrameConfig::new(Width::One, Endian::Big, true);
    assert_eq!(i8_field.encode_prefix(127).unwrap().as_bytes(), b"\x7f");
    let u8_field = FrameConfig::new(Width::One, Endian::Big, false);
    assert_eq!(u8_field.encode_prefix(255).unwrap().as_bytes(), b"\xff");
}

#[test]
fn encode_prefix_into_buffer_too_small() {
    let mut out = [0xaa; 3];
    assert_eq!(
        FrameConfig::seed().encode_prefix_into(9, &mut out),
        Err(EncodeError::BufferTooSmall { needed: 4 })
    );
    assert_eq!(out, [0xaa; 3], "nothing written on error");
    let mut out = [0xaa; 11];
    assert_eq!(
        FrameConfig::mp().with_max_frame_len(u64::MAX).encode_prefix_into(0x8000_0000, &mut out),
        Err(EncodeError::BufferTooSmall { needed: 12 })
    );
    // The mp short form still fits in 4 bytes.
    let mut out = [0xaa; 4];
    assert_eq!(FrameConfig::mp().encode_prefix_into(9, &mut out), Ok(4));
    assert_eq!(out, *b"\x00\x00\x00\x09");
}

#[test]
fn encode_prefix_into_writes_only_the_prefix() {
    let mut out = [0xaa; MAX_PREFIX_LEN];
    assert_eq!(FrameConfig::seed().encode_prefix_into(300, &mut out), Ok(4));
    assert_eq!(out[..4], *b"\x2c\x01\x00\x00");
    assert!(out[4..].iter().all(|&b| b == 0xaa));
}

#[test]
fn encode_prefix_into_oversize_wins_over_small_buffer() {
    let mut out = [0u8; 0];
    assert_eq!(
        FrameConfig::seed().with_max_frame_len(1).encode_prefix_into(2, &mut out),
        Err(EncodeError::Oversize { len: 2, max: 1 })
    );
}

// --- configuration ----------------------------------------------------------------------------

#[test]
fn with_max_frame_len_clamps_to_field_max() {
    let cases = [
        (Width::One, false, u64::from(u8::MAX)),
        (Width::One, true, i8::MAX as u64),
        (Width::Two, false, u64::from(u16::MAX)),
        (Width::Two, true, i16::MAX as u64),
        (Width::Four, false, u64::from(u32::MAX)),
        (Width::Four, true, i32::MAX as u64),
        (Width::Eight, false, u64::MAX),
        (Width::Eight, true, i64::MAX as u64),
    ];
    for (width, signed, field_max) in cases {
        for endian in [Endian::Big, Endian::Little] {
            let config = FrameConfig::new(width, endian, signed);
            assert_eq!(config.field_max(), field_max, "{config:?}");
            assert_eq!(config.with_max_frame_len(u64::MAX).max_frame_len(), field_max);
            assert_eq!(config.with_max_frame_len(field_max).max_frame_len(), field_max);
            // The constructor's default is 8 MiB, or the field's max when that is smaller.
            assert_eq!(config.max_frame_len(), field_max.min(DEFAULT_MAX_FRAME_LEN));
            // Lower values are kept as given.
            assert_eq!(config.with_max_frame_len(100).max_frame_len(), 100);
            assert_eq!(config.with_max_frame_len(0).max_frame_len(), 0);
        }
    }
    assert_eq!(FrameConfig::mp().with_max_frame_len(u64::MAX).max_frame_len(), u64::MAX);
    assert_eq!(FrameConfig::seed().with_max_frame_len(u64::MAX).max_frame_len(), 0x7fff_ffff);
}

#[test]
fn raising_the_limit_after_lowering_it_works() {
    let config = FrameConfig::seed().with_max_frame_len(1).with_max_frame_len(1000);
    assert_eq!(config.max_frame_len(), 1000);
}

#[test]
fn seed_preset_shape() {
    let seed = FrameConfig::seed();
    assert_eq!(seed.width(), Width::Four);
    assert_eq!(seed.width().bytes(), 4);
    assert_eq!(seed.endian(), Endian::Little);
    assert!(seed.signed());
    assert!(!seed.mp_extension());
    assert_eq!(seed.max_frame_len(), DEFAULT_MAX_FRAME_LEN);
    assert_eq!(seed, FrameConfig::new(Width::Four, Endian::Little, true));
    assert_eq!(seed.prefix_len(0x7fff_ffff), 4);
}

#[test]
fn width_bytes() {
    assert_eq!([Width::One, Width::Two, Width::Four, Width::Eight].map(Width::bytes), [1, 2, 4, 8]);
}

#[test]
fn prefix_accessors_and_debug() {
    let prefix = FrameConfig::seed().encode_prefix(300).unwrap();
    assert_eq!(prefix.as_ref(), b"\x2c\x01\x00\x00");
    assert_eq!(format!("{prefix:?}"), "Prefix([2c, 01, 00, 00])");
}

// --- error messages keep the cause ------------------------------------------------------------

#[test]
fn error_messages_carry_the_numbers() {
    let cases = vec![
        (FrameError::Negative { value: -2 }.to_string(), "negative frame length -2"),
        (
            FrameError::Oversize { len: 9, max: 5 }.to_string(),
            "frame length 9 exceeds the maximum of 5 bytes",
        ),
        (
            FrameError::TruncatedPrefix { have: 2, need: 4 }.to_string(),
            "stream ended inside a length prefix (2 of 4 bytes)",
        ),
        (
            FrameError::TruncatedPayload { len: 9, missing: 5 }.to_string(),
            "stream ended inside a frame (4 of 9 bytes received)",
        ),
        (
            FrameError::BufferTooSmall { len: 9, capacity: 4 }.to_string(),
            "frame of 9 bytes does not fit a 4-byte buffer",
        ),
        (
            EncodeError::Oversize { len: 6, max: 5 }.to_string(),
            "frame of 6 bytes exceeds the maximum of 5 bytes",
        ),
        (
            EncodeError::BufferTooSmall { needed: 12 }.to_string(),
            "buffer too small for a 12-byte length prefix",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn display_of_inconsistent_truncated_payload_does_not_panic() {
    // The fields are public, so a caller can build one with missing > len.
    let msg = FrameError::TruncatedPayload { len: 1, missing: 2 }.to_string();
    assert!(msg.contains("of 1 bytes"), "{msg}");
}

#[test]
fn errors_are_core_errors() {
    fn is_error<E: core::error::Error + Copy + Eq>(_: E) {}
    is_error(FrameError::Negative { value: -1 });
    is_error(EncodeError::BufferTooSmall { needed: 4 });
}
