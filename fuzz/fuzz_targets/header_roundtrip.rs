//! Arbitrary (filename, filepath, filesize) → `encode` → `decode` gives them back, through
//! both decoders; the encoding is ASCII and exactly `encoded_len` long, and a buffer one byte
//! short is refused without writing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirekit_core::header::{FileHeader, HeaderEncodeError};

fuzz_target!(|input: (String, String, u64)| {
    let (filename, filepath, filesize) = input;
    let header = FileHeader { filename: &filename, filepath: &filepath, filesize };
    let len = header.encoded_len();
    let mut out = vec![0u8; len];
    assert_eq!(header.encode(&mut out), Ok(len));
    assert!(out.is_ascii(), "ensure_ascii output has non-ASCII bytes");

    let mut short = vec![0xAAu8; len - 1];
    assert_eq!(
        header.encode(&mut short),
        Err(HeaderEncodeError::BufferTooSmall { needed: len, capacity: len - 1 })
    );
    assert!(short.iter().all(|&b| b == 0xAA), "a refused encode wrote bytes");

    let mut storage = vec![0u8; len];
    let back = FileHeader::decode_with_max(&out, &mut storage, usize::MAX).expect("decodes");
    assert_eq!(back, header);
    let mut buf = out.clone();
    let in_place = FileHeader::decode_in_place(&mut buf, usize::MAX).expect("decodes in place");
    assert_eq!(in_place, header);

    // Python's json.loads reads the same: serde_json as a stand-in.
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(v["filename"].as_str(), Some(filename.as_str()));
    assert_eq!(v["filepath"].as_str(), Some(filepath.as_str()));
    assert_eq!(v["filesize"].as_u64(), Some(filesize));
});
