//! HMACs computed straight from the RustCrypto crates, independent of `wirekit_core::auth::mac`,
//! so a bug there cannot hide a bug in the verifiers.

use hmac::{Hmac, KeyInit, Mac, SimpleHmac};

fn run<M: KeyInit + Mac>(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// HMAC-`name`(key, msg) for CPython's allowed digest names; `None` for other names.
pub fn hmac(name: &str, key: &[u8], msg: &[u8]) -> Option<Vec<u8>> {
    Some(match name {
        "md5" => run::<Hmac<md5::Md5>>(key, msg),
        "sha256" => run::<Hmac<sha2::Sha256>>(key, msg),
        "sha384" => run::<Hmac<sha2::Sha384>>(key, msg),
        "sha3_256" => run::<SimpleHmac<sha3::Sha3_256>>(key, msg),
        "sha3_384" => run::<SimpleHmac<sha3::Sha3_384>>(key, msg),
        _ => return None,
    })
}

/// CPython's allowed names.
pub const NAMES: [&str; 5] = ["md5", "sha256", "sha384", "sha3_256", "sha3_384"];

/// Every answer CPython 3.12's `deliver_challenge` accepts for `message` under `key`: the
/// bare HMAC-MD5 (if `allow_md5`) and `{name}` + HMAC-name for each allowed name.
pub fn valid_mp_answers(key: &[u8], message: &[u8], allow_md5: bool) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for name in NAMES {
        if name == "md5" && !allow_md5 {
            continue;
        }
        let tag = hmac(name, key, message).unwrap_or_default();
        if name == "md5" {
            v.push(tag.clone());
        }
        let mut named = format!("{{{name}}}").into_bytes();
        named.extend_from_slice(&tag);
        v.push(named);
    }
    v
}
