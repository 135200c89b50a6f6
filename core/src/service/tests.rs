#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

//! Tests of the service: codec against the Python vectors, machines through the channel.

use std::vec::Vec;

use super::*;

fn enc(m: &Message<'_>) -> Vec<u8> {
    let mut buf = [0u8; 5000];
    let n = encode(m, &mut buf).unwrap();
    buf[..n].to_vec()
}

#[test]
fn ping_and_stat_bytes_match_the_doc() {
    assert_eq!(enc(&Message::Ping { id: 7 }), [0, 5, 0xa2, 0, 0, 1, 7]);
    let stat = enc(&Message::Stat { id: 1, path: "a.txt" });
    assert_eq!(stat, [0, 12, 0xa3, 0, 2, 1, 1, 2, 0x65, b'a', b'.', b't', b'x', b't']);
    assert_eq!(decode(&stat[2..]).unwrap(), Message::Stat { id: 1, path: "a.txt" });
}

const VECTORS: &str = include_str!("../../tests/vectors/service.txt");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// `(valid?, name, bytes)` of every vector line.
fn vectors() -> Vec<(bool, &'static str, Vec<u8>)> {
    VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut parts = l.split(' ');
            let valid = parts.next().unwrap() == "valid";
            let name = parts.next().unwrap();
            (valid, name, unhex(parts.next().unwrap()))
        })
        .collect()
}

#[test]
fn python_vectors_decode_and_reencode_byte_identically() {
    let mut valid = 0;
    for (ok, name, bytes) in vectors().into_iter().filter(|v| v.0) {
        assert!(ok);
        let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        assert_eq!(len, bytes.len() - 2, "{name}");
        let message = decode(&bytes[2..]).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(enc(&message), bytes, "{name}: {message:?}");
        valid += 1;
    }
    assert_eq!(valid, 49);
}

#[test]
fn python_invalid_vectors_are_refused() {
    use DecodeError::*;
    let expect = |name: &str| match name {
        "not_a_map" | "text_key" | "cut_short" | "bad_utf8" | "wrong_type" => Malformed,
        "empty_map" | "type_not_first" => TypeNotFirst,
        "unknown_type" => UnknownType { ty: 23 },
        "huge_type" => UnknownType { ty: 1 << 40 },
        "missing_id" | "missing_field" => MissingField,
        "negative_id" | "float_id" | "tagged_id" => Unsupported,
        "id_too_big" | "short_digest" | "stream_too_big" | "too_many_args" => InvalidValue,
        "trailing_byte" => TrailingBytes { extra: 1 },
        "duplicate_key" => DuplicateField,
        "indefinite_map" | "indefinite_text" => Indefinite,
        other => panic!("no expectation for {other}"),
    };
    let mut invalid = 0;
    for (_, name, bytes) in vectors().into_iter().filter(|v| !v.0) {
        assert_eq!(decode(&bytes), Err(expect(name)), "{name}");
        invalid += 1;
    }
    assert_eq!(invalid, 22);
}
