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
    let Ok(header) = decoded else { return };

    // Re-encode, decode again: equal header.
    let len = header.encoded_len();
    let mut out = vec![0u8; len];
    assert_eq!(header.encode(&mut out), Ok(len), "encoded_len is not exact");
    assert!(out.is_ascii(), "encode wrote non-ASCII");
    let mut storage2 = vec![0u8; out.len()];
    let again = FileHeader::decode_with_max(&out, &mut storage2, usize::MAX).expect("own encoding decodes");
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
    assert_eq!(obj.get("filepath").and_then(|v| v.as_str()), Some(header.filepath));
    let size = obj.get("filesize").expect("filesize");
    // `-0` is 0 for Python's int and for core; serde_json reads it as a float.
    let minus_zero = header.filesize == 0 && size.as_f64() == Some(0.0);
    assert!(size.as_u64() == Some(header.filesize) || minus_zero, "filesize {size} vs {}", header.filesize);
});
