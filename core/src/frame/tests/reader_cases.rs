//! `FrameReader`: whole frames into a caller-owned buffer.

use std::vec;
use std::vec::Vec;

use super::{cat, mp_long_prefix};
use crate::frame::{FrameConfig, FrameError, FrameReader};
use crate::Handled;

/// Feed `chunks` in order, collecting every frame; stops at the first error.
pub(super) fn read_all<'a>(
    config: FrameConfig,
    capacity: usize,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<Vec<u8>>, Option<FrameError>) {
    let mut reader = FrameReader::new(config);
    let mut buf = vec![0u8; capacity];
    let mut frames = Vec::new();
    for chunk in chunks {
        let mut rest = chunk;
        loop {
            match reader.read_frame(rest, &mut buf) {
                Err(err) => return (frames, Some(err)),
                Ok(handled) => {
                    assert!(handled.consumed <= rest.len());
                    rest = &rest[handled.consumed..];
                    match handled.event {
                        Some(frame) => frames.push(frame.to_vec()),
                        None => {
                            assert!(rest.is_empty(), "reader stalled");
                            break;
                        }
                    }
                }
            }
        }
    }
    (frames, reader.finish().err())
}

#[test]
fn reader_whole_frame_into_buffer() {
    let mut reader = FrameReader::new(FrameConfig::seed());
    let mut buf = [0u8; 16];
    let got = reader.read_frame(b"\x09\x00\x00\x00abcdefghi", &mut buf).unwrap();
    assert_eq!(got, Handled::event(13, &b"abcdefghi"[..]));
    assert!(reader.at_boundary());
    assert_eq!(reader.finish(), Ok(()));
}

#[test]
fn reader_frame_exactly_buffer_size() {
    let mut reader = FrameReader::new(FrameConfig::mp());
    let mut buf = [0u8; 3];
    let got = reader.read_frame(b"\x00\x00\x00\x03abc", &mut buf).unwrap();
    assert_eq!(got, Handled::event(7, &b"abc"[..]));
}

#[test]
fn reader_zero_length_frame() {
    let mut reader = FrameReader::new(FrameConfig::seed());
    let mut buf = [0u8; 0];
    let got = reader.read_frame(&[0; 4], &mut buf).unwrap();
    assert_eq!(got, Handled::event(4, &b""[..]));
    assert!(reader.at_boundary());
}

#[test]
fn reader_buffer_too_small_before_copying() {
    let mut reader = FrameReader::new(FrameConfig::seed());
    let mut buf = [0xaa; 4];
    // Only the prefix has arrived: the frame is refused before any payload exists.
    assert_eq!(
        reader.read_frame(b"\x09\x00\x00\x00", &mut buf),
        Err(FrameError::BufferTooSmall { len: 9, capacity: 4 })
    );
    assert_eq!(buf, [0xaa; 4], "nothing copied");
    let mut reader = FrameReader::new(FrameConfig::seed());
    assert_eq!(
        reader.read_frame(b"\x09\x00\x00\x00abcdefghi", &mut buf),
        Err(FrameError::BufferTooSmall { len: 9, capacity: 4 })
    );
    assert_eq!(buf, [0xaa; 4], "nothing copied even with the payload present");
}

#[test]
fn reader_frame_one_longer_than_buffer_rejected_before_copying() {
    // Off-by-one guard: 5 bytes into 4. The payload's first 4 bytes would fit, but must not
    // be copied: the prefix already says the frame cannot.
    let mut reader = FrameReader::new(FrameConfig::seed());
    let mut buf = [0xaa; 4];
    assert_eq!(
        reader.read_frame(b"\x05\x00\x00\x00abcd", &mut buf),
        Err(FrameError::BufferTooSmall { len: 5, capacity: 4 })
    );
    assert_eq!(buf, [0xaa; 4]);
}

#[test]
fn reader_buffer_too_small_is_sticky() {
    let mut reader = FrameReader::new(FrameConfig::seed());
    let mut small = [0u8; 4];
    let err = FrameError::BufferTooSmall { len: 9, capacity: 4 };
    assert_eq!(reader.read_frame(b"\x09\x00\x00\x00", &mut small), Err(err));
    // A bigger buffer later does not resync a stream whose payload was skipped.
    let mut big = [0u8; 64];
    assert_eq!(reader.read_frame(b"abcdefghi", &mut big), Err(err));
    assert_eq!(reader.finish(), Err(err));
}

#[test]
fn reader_buffer_shrunk_mid_frame_is_an_error_not_a_short_frame() {
    // Contract breach (the buffer must stay the same until the frame is out): the reader
    // must say so instead of returning a frame with bytes missing.
    let mut reader = FrameReader::new(FrameConfig::seed());
    let mut big = [0u8; 16];
    assert_eq!(reader.read_frame(b"\x09\x00\x00\x00abcd", &mut big), Ok(Handled::consumed(8)));
    let mut small = [0u8; 4];
    let err = FrameError::BufferTooSmall { len: 9, capacity: 4 };
    assert_eq!(reader.read_frame(b"efghi", &mut small), Err(err));
    assert_eq!(reader.read_frame(b"", &mut big), Err(err));
    assert_eq!(reader.finish(), Err(err));
}

#[test]
fn reader_back_to_back_frames_leave_rest_unconsumed() {
    let stream =
        cat(&[b"\x01\x00\x00\x00a", b"\x02\x00\x00\x00bc", b"\x00\x00\x00\x00", b"\x03\x00"]);
    let mut reader = FrameReader::new(FrameConfig::seed());
    let mut buf = [0u8; 8];
    let got = reader.read_frame(&stream, &mut buf).unwrap();
    assert_eq!(got, Handled::event(5, &b"a"[..]));
    let got = reader.read_frame(&stream[5..], &mut buf).unwrap();
    assert_eq!(got, Handled::event(6, &b"bc"[..]));
    let got = reader.read_frame(&stream[11..], &mut buf).unwrap();
    assert_eq!(got, Handled::event(4, &b""[..]));
    // A partial prefix is taken (it is the reader's now), with no frame yet.
    let got = reader.read_frame(&stream[15..], &mut buf).unwrap();
    assert_eq!(got, Handled::consumed(2));
    assert!(!reader.at_boundary());
    assert_eq!(reader.finish(), Err(FrameError::TruncatedPrefix { have: 2, need: 4 }));
}

#[test]
fn reader_frame_split_at_every_byte_position() {
    let stream = cat(&[b"\x05\x00\x00\x00hello", b"\x00\x00\x00\x00", b"\x01\x00\x00\x00!"]);
    let expected = vec![b"hello".to_vec(), vec![], b"!".to_vec()];
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(read_all(FrameConfig::seed(), 5, [a, b]), (expected.clone(), None), "cut {cut}");
    }
    assert_eq!(read_all(FrameConfig::seed(), 5, stream.chunks(1)), (expected, None));
}

#[test]
fn reader_mp_long_form_split_at_every_byte_position() {
    let stream = cat(&[&mp_long_prefix(2), b"hi", b"\x00\x00\x00\x01!"]);
    let expected = vec![b"hi".to_vec(), b"!".to_vec()];
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(read_all(FrameConfig::mp(), 2, [a, b]), (expected.clone(), None), "cut {cut}");
    }
}

#[test]
fn reader_frame_in_pieces_is_assembled() {
    let mut reader = FrameReader::new(FrameConfig::mp());
    let mut buf = [0u8; 8];
    assert_eq!(reader.read_frame(b"\x00\x00", &mut buf), Ok(Handled::consumed(2)));
    assert_eq!(reader.read_frame(b"\x00\x05he", &mut buf), Ok(Handled::consumed(4)));
    assert_eq!(reader.decoder().remaining(), Some(3));
    assert!(!reader.at_boundary());
    let got = reader.read_frame(b"llo\x00", &mut buf).unwrap();
    assert_eq!(got, Handled::event(3, &b"hello"[..]));
    assert!(reader.at_boundary());
}

#[test]
fn reader_truncated_payload_at_eof() {
    let (frames, err) = read_all(FrameConfig::seed(), 16, [&b"\x09\x00\x00\x00abcd"[..]]);
    assert!(frames.is_empty());
    assert_eq!(err, Some(FrameError::TruncatedPayload { len: 9, missing: 5 }));
}

#[test]
fn reader_clean_eof() {
    let (frames, err) = read_all(FrameConfig::seed(), 16, [&b"\x01\x00\x00\x00x"[..]]);
    assert_eq!(frames, vec![b"x".to_vec()]);
    assert_eq!(err, None);
}

#[test]
fn reader_passes_on_decoder_errors_and_they_stick() {
    let mut buf = [0u8; 16];
    let mut reader = FrameReader::new(FrameConfig::seed().with_max_frame_len(8));
    let err = FrameError::Oversize { len: 9, max: 8 };
    assert_eq!(reader.read_frame(b"\x09\x00\x00\x00", &mut buf), Err(err));
    assert_eq!(reader.read_frame(b"\x01\x00\x00\x00x", &mut buf), Err(err));
    assert_eq!(reader.finish(), Err(err));

    let mut reader = FrameReader::new(FrameConfig::mp());
    let err = FrameError::Negative { value: -2 };
    assert_eq!(reader.read_frame(b"\xff\xff\xff\xfe", &mut buf), Err(err));
    assert_eq!(reader.read_frame(b"", &mut buf), Err(err));
}

#[test]
fn reader_oversize_is_reported_before_buffer_size() {
    // The protocol limit is the peer's fault; check it first.
    let mut reader = FrameReader::new(FrameConfig::seed().with_max_frame_len(8));
    let mut buf = [0u8; 4];
    assert_eq!(
        reader.read_frame(b"\x09\x00\x00\x00", &mut buf),
        Err(FrameError::Oversize { len: 9, max: 8 })
    );
}
