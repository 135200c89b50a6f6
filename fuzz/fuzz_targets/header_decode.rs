//! Arbitrary bytes as a demo3 header JSON.
//!
//! Properties:
//! * `decode` and `decode_in_place` agree (same header or same error);
//! * a header that decodes re-encodes to JSON that decodes to an equal header, and the
//!   re-encoding is canonical: encoding that again gives the same bytes, `encoded_len` is
//!   exact, and the bytes are ASCII (`ensure_ascii`);
//! * a smaller storage gives the same header or `StorageTooSmall`, never another header;
//! * a smaller cap gives `Oversize` exactly when the JSON is longer;
//! * whatever decodes is valid JSON to serde_json too, with the same three fields (checked
//!   below the nesting depth both accept).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirekit_core::header::{FileHeader, HeaderError, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    // The first byte picks a smaller storage / cap to probe; the rest is the JSON.
    let Some((&knob, json)) = data.split_first() else { return };

    let mut storage = vec![0u8; json.len()];
    let decoded = FileHeader::decode(json, &mut storage);

    let mut in_place = json.to_vec();
    let in_place_result = FileHeader::decode_in_place(&mut in_place, MAX_HEADER_LEN);
    assert_eq!(decoded, in_place_result, "decode and decode_in_place disagree");

    // A cap below the length refuses it unread; at or above, the same result.
    let cap = usize::from(knob) * 17 % (json.len() + 1);
    let mut cap_storage = vec![0u8; json.len()];
    let capped = FileHeader::decode_with_max(json, &mut cap_storage, cap);
    if json.len() > cap {
        assert_eq!(capped, Err(HeaderError::Oversize { len: json.len(), max: cap }));
    }

    // Too little storage: the same header, or StorageTooSmall, nothing else.
    let small = usize::from(knob) % (json.len() + 1);
    let mut small_storage = vec![0u8; small];
    match (FileHeader::decode(json, &mut small_storage), &decoded) {
        (Ok(a), Ok(b)) => assert_eq!(&a, b),
        (Err(HeaderError::StorageTooSmall { capacity }), Ok(_)) => assert_eq!(capacity, small),
        (Err(a), Err(b)) if a == *b => {}
        // A storage error can come before a later syntax error.
        (Err(HeaderError::StorageTooSmall { .. }), Err(_)) => {}
        (a, b) => panic!("small storage changed the result: {a:?} vs {b:?}"),
    }

    if json.len() > MAX_HEADER_LEN {
        assert_eq!(decoded, Err(HeaderError::Oversize { len: json.len(), max: MAX_HEADER_LEN }));
        return;
    }
    // The other direction: a header serde_json reads cleanly must decode too.
    if let Some(want) = serde_header(json) {
        match &decoded {
            Ok(h) => {
                assert_eq!(h.filename, want.0);
                assert_eq!(h.filepath, want.1);
                assert_eq!(h.filesize, want.2);
            }
            Err(e) => panic!("core rejects a header serde_json reads ({want:?}): {e:?}"),
        }
    }
    let Ok(header) = decoded else { return };

    // Re-encode, decode again: equal header.
    let len = header.encoded_len();
    let mut out = vec![0u8; len];
    assert_eq!(header.encode(&mut out), Ok(len), "encoded_len is not exact");
    assert!(out.is_ascii(), "encode wrote non-ASCII");
    let mut storage2 = vec![0u8; out.len()];
    let again =
        FileHeader::decode_with_max(&out, &mut storage2, usize::MAX).expect("own encoding decodes");
    assert_eq!(again, header, "decode(encode(h)) != h");
    let mut out2 = vec![0u8; again.encoded_len()];
    again.encode(&mut out2).expect("fits");
    assert_eq!(out, out2, "encoding is not canonical");

    // serde_json agrees on what the fields are.
    let value: serde_json::Value = match serde_json::from_slice(json) {
        Ok(v) => v,
        // serde_json reads numbers it cannot hold (1e400) as errors; core only skips them.
        Err(e) if e.to_string().contains("number out of range") => return,
        Err(e) => panic!("core accepted JSON that serde_json rejects: {e}"),
    };
    let obj = value.as_object().expect("an object");
    assert_eq!(obj.get("filename").and_then(|v| v.as_str()), Some(header.filename));
    // A header without filepath is accepted as "" (the receiver never uses it).
    let filepath = obj.get("filepath").map_or(Some(""), |v| v.as_str());
    assert_eq!(filepath, Some(header.filepath));
    let size = obj.get("filesize").expect("filesize");
    // `-0` is 0 for Python's int and for core; serde_json reads it as a float.
    let minus_zero = header.filesize == 0 && size.as_f64() == Some(0.0);
    assert!(
        size.as_u64() == Some(header.filesize) || minus_zero,
        "filesize {size} vs {}",
        header.filesize
    );
});

/// The three fields as serde_json reads them, when core is bound to accept the document:
/// valid UTF-8, an object with each known key once, string names, an integer size that fits a
/// `u64` (no fraction/exponent: `is_u64`), nesting within `MAX_DEPTH`.
fn serde_header(json: &[u8]) -> Option<(String, String, u64)> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

    struct Fields;
    impl<'de> Visitor<'de> for Fields {
        type Value = Option<(String, String, u64)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut name, mut path, mut size) = (None, None, None);
            let mut dup = false;
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "filename" => {
                        dup |= name.is_some();
                        name = Some(map.next_value::<serde_json::Value>()?);
                    }
                    "filepath" => {
                        dup |= path.is_some();
                        path = Some(map.next_value::<serde_json::Value>()?);
                    }
                    "filesize" => {
                        dup |= size.is_some();
                        size = Some(map.next_value::<serde_json::Value>()?);
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            if dup {
                return Ok(None);
            }
            let text = |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(str::to_owned));
            let size = size.filter(|v| v.is_u64()).and_then(|v| v.as_u64());
            // A missing filepath is "" (core accepts it); a non-string one is refused.
            let path = if path.is_none() { Some(String::new()) } else { text(path) };
            Ok(match (text(name), path, size) {
                (Some(n), Some(p), Some(s)) => Some((n, p, s)),
                _ => None,
            })
        }
    }

    std::str::from_utf8(json).ok()?;
    // serde_json skips ignored strings without checking surrogate pairs; core rejects a lone
    // surrogate anywhere (documented in core/src/header/mod.rs). Leave those to the other
    // direction.
    let surrogate = json.windows(3).any(|w| {
        w[0] == b'u'
            && (w[1] == b'd' || w[1] == b'D')
            && matches!(w[2], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
    });
    if surrogate || nesting(json) > wirekit_core::header::MAX_DEPTH {
        return None;
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let fields = de.deserialize_map(Fields).ok()??;
    de.end().ok()?;
    Some(fields)
}

/// Deepest bracket nesting outside strings.
fn nesting(json: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in json {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}
