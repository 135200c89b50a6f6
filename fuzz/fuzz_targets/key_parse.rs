//! `wirekit_std::keys::load_key` (from `--key`, a key file and `WIREKIT_KEY`) and the secure
//! profile's key check (`wirekit_std::session::secure_psk`).
//!
//! Properties, against a naive reading of the module docs of `std-adapter/src/keys.rs`:
//! * precedence `--key`, then the key file, then the environment; nothing given is no key;
//! * `--key` and `WIREKIT_KEY` give their bytes as they are; a key file is used byte for
//!   byte, except that UTF-8 text whose only line break is one `\n` or `\r\n` at its very end
//!   loses it; an empty result is `KeyError::Empty` naming the source that was used;
//! * an accepted key round-trips: written to a key file and loaded again it is the same bytes
//!   (a key from `--key`/`WIREKIT_KEY` that is text ending in its only line break loses it, by
//!   the file rule), and a `wirekit keygen` key
//!   (`keygen::write_key_to`) loads back as its 32 bytes;
//! * under `--profile secure` a key is refused (`SecureKeyTooShort`, exit code usage) exactly
//!   when shorter than 16 bytes, as `core::secure::MIN_KEY_LEN` documents, and the PSK is
//!   then HKDF-SHA256 of the key (computed independently here);
//! * `Debug` of a key does not print its bytes; nothing panics.
//!
//! Input: `[which] [split] [bytes...]`. `which` bit 0: `--key` given (the first part, when it
//! is UTF-8), bit 1: a key file (the second part), bit 2: `WIREKIT_KEY` (the third part), bit
//! 3: also load a `wirekit keygen` key. The bytes are cut in three at `split` and twice that.
#![no_main]

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use hmac::{KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use wirekit_std::keys::{load_key, KeyError, KeySource};

/// One scratch key file per fuzzing process, on tmpfs when there is one.
fn key_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        base.join(format!("wirekit-fuzz-key-{}", std::process::id()))
    })
}

fn write_file(bytes: &[u8]) {
    let mut f = std::fs::File::create(key_path()).unwrap();
    f.write_all(bytes).unwrap();
}

/// The docs' reading of a key file: one line break, at the very end, of UTF-8 text.
fn file_key(raw: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(raw) else { return raw.to_vec() };
    let breaks = text.matches('\n').count() + text.matches('\r').count();
    if text.ends_with("\r\n") && breaks == 2 {
        return raw[..raw.len() - 2].to_vec();
    }
    if text.ends_with('\n') && breaks == 1 {
        return raw[..raw.len() - 1].to_vec();
    }
    raw.to_vec()
}

/// HKDF-SHA256(salt "wirekit secure v1", ikm key, info "psk"), 32 bytes, by hand: one HMAC
/// for extract, one for the single expand block.
fn psk(key: &[u8]) -> [u8; 32] {
    type H = hmac::Hmac<sha2::Sha256>;
    let mut ext = <H as KeyInit>::new_from_slice(b"wirekit secure v1").unwrap();
    ext.update(key);
    let prk = ext.finalize().into_bytes();
    let mut exp = <H as KeyInit>::new_from_slice(&prk).unwrap();
    exp.update(b"psk\x01");
    exp.finalize().into_bytes().into()
}

fn check_secure(bytes: &[u8], source: KeySource) {
    let key = wirekit_std::keys::Key::new(bytes.to_vec(), source);
    match wirekit_std::session::secure_psk(&key) {
        Ok(p) => {
            assert!(bytes.len() >= 16, "secure accepted a {}-byte key", bytes.len());
            assert_eq!(p.as_bytes(), &psk(bytes), "PSK is not HKDF-SHA256 of the key");
        }
        Err(e) => {
            assert!(bytes.len() < 16, "secure refused a {}-byte key: {e}", bytes.len());
            assert!(
                matches!(e, wirekit_std::Error::SecureKeyTooShort(s) if s.len == bytes.len()),
                "{e:?}"
            );
            assert_eq!(e.exit(), wirekit_std::Exit::Usage);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Some((&split, rest)) = rest.split_first() else { return };
    let a = usize::from(split).min(rest.len());
    let b = (2 * usize::from(split)).clamp(a, rest.len());
    let (arg_raw, file_raw, env_raw) = (&rest[..a], &rest[a..b], &rest[b..]);

    let arg = if which & 1 != 0 { std::str::from_utf8(arg_raw).ok() } else { None };
    let file = which & 2 != 0;
    let env = (which & 4 != 0).then(|| OsString::from_vec(env_raw.to_vec()));
    if file {
        write_file(file_raw);
    }

    let want: Option<(Vec<u8>, KeySource)> = if let Some(text) = arg {
        Some((text.as_bytes().to_vec(), KeySource::Arg))
    } else if file {
        Some((file_key(file_raw), KeySource::File(key_path().clone())))
    } else {
        env.clone().map(|e| (e.into_vec(), KeySource::Env))
    };
    let got = load_key(arg, file.then(|| key_path().as_path()), env);
    match (want, got) {
        (None, Ok(None)) => {}
        (Some((bytes, source)), Ok(Some(key))) => {
            assert!(!bytes.is_empty(), "empty key from {source} accepted");
            assert_eq!(key.bytes(), &bytes[..], "key bytes from {source}");
            assert_eq!(key.source(), &source);
            // Length and source only, never the bytes.
            assert_eq!(format!("{key:?}"), format!("Key({} bytes from {source})", bytes.len()));
            // Round trip through a key file: a key loaded from a file is loaded again as it
            // is; one from `--key` or the environment is too unless it looks like `echo`
            // output (then the file rule drops its line break, as documented).
            write_file(key.bytes());
            let again = load_key(None, Some(key_path()), None);
            let want_again = file_key(key.bytes());
            if matches!(source, KeySource::File(_)) {
                assert_eq!(want_again, key.bytes(), "the file rule is not idempotent");
            }
            match again {
                Ok(Some(again)) => {
                    assert_eq!(again.bytes(), &want_again[..], "key file round trip")
                }
                Err(KeyError::Empty(_)) => assert!(want_again.is_empty()),
                other => panic!("key file round trip: {other:?}"),
            }
            check_secure(key.bytes(), source);
        }
        (Some((bytes, source)), Err(KeyError::Empty(s))) => {
            assert!(bytes.is_empty(), "non-empty key from {source} refused as empty");
            assert_eq!(s, source);
        }
        (want, got) => panic!("want {want:?}, got {got:?}"),
    }

    if which & 8 != 0 {
        let mut out = Vec::new();
        wirekit_std::keygen::write_key_to(&mut out).unwrap();
        assert_eq!(out.len(), 32);
        write_file(&out);
        let key = load_key(None, Some(key_path()), None).unwrap().unwrap();
        assert_eq!(key.bytes(), &out[..], "a keygen key was altered on loading");
        check_secure(key.bytes(), KeySource::Arg);
    }
});
