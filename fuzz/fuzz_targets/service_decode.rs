//! Arbitrary bytes as one device-service message body (docs/protocol.md section 6.1).
//!
//! Properties:
//! * `decode` never panics, and refuses with a typed error;
//! * a message that decodes re-encodes canonically: decoding that gives an equal message,
//!   encoding it again gives the same bytes, and the canonical form is never longer than the
//!   input (unknown keys dropped, integers and lengths shortest);
//! * the input itself is accepted exactly as written when it is canonical: if it equals
//!   its re-encoding, fine; if not, it held something the canonical form drops (checked by
//!   length only);
//! * the prefix + body form (`encode`) decodes through a length prefix of the right value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirekit_core::service::codec::{body_len, encode_body};
use wirekit_core::service::{decode, encode, MAX_MESSAGE};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = decode(data) else {
        let _ = format!("{:?}", decode(data));
        return;
    };
    let mut canonical = vec![0u8; MAX_MESSAGE + 2];
    let n = encode_body(&message, &mut canonical).expect("a decoded message encodes");
    let canonical = &canonical[..n];
    assert!(n <= data.len(), "canonical form longer than the input: {n} > {}", data.len());
    let again = decode(canonical).expect("the canonical form decodes");
    assert_eq!(again, message, "decode(encode(m)) != m");
    let mut twice = vec![0u8; MAX_MESSAGE + 2];
    let m = encode_body(&again, &mut twice).expect("encodes");
    assert_eq!(&twice[..m], canonical, "encoding is not canonical");
    if data.len() <= MAX_MESSAGE {
        let mut framed = vec![0u8; MAX_MESSAGE + 2];
        let f = encode(&message, &mut framed).expect("fits");
        assert_eq!(f, n + 2);
        assert_eq!(body_len([framed[0], framed[1]]), Ok(n));
        assert_eq!(&framed[2..f], canonical);
    }
    let _ = format!("{message:?} {}", message.id());
});
