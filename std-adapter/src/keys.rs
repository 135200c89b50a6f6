//! The shared key for the handshakes: from `--key`, `--key-file` or `WIREKIT_KEY`.
//!
//! Precedence: `--key TEXT`, then `--key-file PATH`, then the `WIREKIT_KEY` environment
//! variable (the command line beats the environment; passing both `--key` and `--key-file` is
//! a usage error caught by the CLI). Whichever is used must not be empty.
//!
//! `--key` and `WIREKIT_KEY` give the UTF-8 bytes of the text (the seed's `b'egg'` is
//! `--key egg`). A key file is used byte for byte, with one exception so that
//! `echo egg > key.txt` works: a file that is UTF-8 text with a single line break, at its end,
//! has that line break (`\n` or `\r\n`) dropped. `wirekit keygen` never writes such a file,
//! so its 32 random bytes are always used whole.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// Name of the environment variable that holds a key.
pub const KEY_ENV: &str = "WIREKIT_KEY";

/// Where a key came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `--key TEXT`.
    Arg,
    /// `--key-file PATH`.
    File(PathBuf),
    /// The `WIREKIT_KEY` environment variable.
    Env,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Arg => write!(f, "--key"),
            Self::File(path) => write!(f, "key file {}", path.display()),
            Self::Env => write!(f, "{KEY_ENV}"),
        }
    }
}

/// A shared secret. `Debug` does not print the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    bytes: Vec<u8>,
    source: KeySource,
}

impl Key {
    /// A key of `bytes` from `source` (the caller checked it is not empty).
    pub fn new(bytes: impl Into<Vec<u8>>, source: KeySource) -> Self {
        Self { bytes: bytes.into(), source }
    }

    /// The key bytes, as given to HMAC.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Where the key came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({} bytes from {})", self.bytes.len(), self.source)
    }
}

/// Why no usable key could be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key given is empty.
    #[error("the key from {0} is empty; give a non-empty key (wirekit keygen writes one)")]
    Empty(KeySource),
    /// The key file could not be read.
    #[error("cannot read key file {}: {source}; check the path and its permissions", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `WIREKIT_KEY` is not valid Unicode (only possible on Windows).
    #[error("{KEY_ENV} is not valid Unicode; use --key-file instead")]
    EnvNotUnicode,
}

/// The warning for a key file that other users may read (as ssh warns about a private key
/// readable by group or others); `None` when only its owner can, or off Unix.
pub fn loose_permissions_warning(path: &Path) -> Option<String> {
    let mode = file_mode(path)?;
    (mode & 0o077 != 0).then(|| {
        format!(
            "wirekit: warning: key file {} is readable or writable by group or others (mode \
             {:04o}); anyone who can read it has the key: chmod 600 {0}",
            path.display(),
            mode & 0o7777
        )
    })
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> Option<u32> {
    None
}

/// Pick the key by precedence (`arg`, then `file`, then `env`); `Ok(None)` when none is given.
pub fn load_key(
    arg: Option<&str>,
    file: Option<&Path>,
    env: Option<OsString>,
) -> Result<Option<Key>, KeyError> {
    let (bytes, source) = if let Some(text) = arg {
        (text.as_bytes().to_vec(), KeySource::Arg)
    } else if let Some(path) = file {
        let raw = std::fs::read(path)
            .map_err(|source| KeyError::Unreadable { path: path.to_path_buf(), source })?;
        (strip_single_trailing_newline(raw), KeySource::File(path.to_path_buf()))
    } else if let Some(value) = env {
        (env_bytes(value)?, KeySource::Env)
    } else {
        return Ok(None);
    };
    if bytes.is_empty() {
        return Err(KeyError::Empty(source));
    }
    Ok(Some(Key { bytes, source }))
}

/// [`load_key`] with the environment read from the process.
pub fn load_key_from_process(
    arg: Option<&str>,
    file: Option<&Path>,
) -> Result<Option<Key>, KeyError> {
    load_key(arg, file, std::env::var_os(KEY_ENV))
}

#[cfg(unix)]
fn env_bytes(value: OsString) -> Result<Vec<u8>, KeyError> {
    use std::os::unix::ffi::OsStringExt;
    Ok(value.into_vec())
}

#[cfg(not(unix))]
fn env_bytes(value: OsString) -> Result<Vec<u8>, KeyError> {
    value.into_string().map(String::into_bytes).map_err(|_| KeyError::EnvNotUnicode)
}

/// True when `bytes` is UTF-8 text whose only line break is one at its very end; that is the
/// shape `echo TEXT > file` produces and the shape keygen avoids.
pub fn is_text_with_trailing_newline(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let body = text.strip_suffix("\r\n").or_else(|| text.strip_suffix('\n'));
    body.is_some_and(|body| !body.contains(['\n', '\r']))
}

fn strip_single_trailing_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    if is_text_with_trailing_newline(&bytes) {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        file
    }

    #[test]
    fn nothing_given_is_no_key() {
        assert!(load_key(None, None, None).unwrap().is_none());
    }

    #[test]
    fn arg_beats_file_beats_env() {
        let file = file_with(b"from-file");
        let env = Some(OsString::from("from-env"));
        let key = load_key(Some("egg"), Some(file.path()), env.clone()).unwrap().unwrap();
        assert_eq!((key.bytes(), key.source()), (&b"egg"[..], &KeySource::Arg));
        let key = load_key(None, Some(file.path()), env.clone()).unwrap().unwrap();
        assert_eq!(key.bytes(), b"from-file");
        let key = load_key(None, None, env).unwrap().unwrap();
        assert_eq!((key.bytes(), key.source()), (&b"from-env"[..], &KeySource::Env));
    }

    #[test]
    fn echo_style_file_loses_its_newline() {
        let file = file_with(b"egg\n");
        assert_eq!(load_key(None, Some(file.path()), None).unwrap().unwrap().bytes(), b"egg");
        let file = file_with(b"egg\r\n");
        assert_eq!(load_key(None, Some(file.path()), None).unwrap().unwrap().bytes(), b"egg");
    }

    #[test]
    fn other_files_are_used_byte_for_byte() {
        for raw in [&b"two\nlines\n"[..], b"\xff\xfe\n", b"no newline", b"egg\n\n"] {
            let file = file_with(raw);
            let key = load_key(None, Some(file.path()), None).unwrap().unwrap();
            assert_eq!(key.bytes(), raw);
        }
    }

    #[test]
    fn empty_keys_are_errors() {
        assert!(matches!(load_key(Some(""), None, None), Err(KeyError::Empty(KeySource::Arg))));
        let file = file_with(b"\n");
        assert!(matches!(
            load_key(None, Some(file.path()), None),
            Err(KeyError::Empty(KeySource::File(_)))
        ));
        assert!(matches!(
            load_key(None, None, Some(OsString::new())),
            Err(KeyError::Empty(KeySource::Env))
        ));
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = load_key(None, Some(Path::new("/nonexistent/wirekit.key")), None).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, KeyError::Unreadable { .. }));
        assert!(text.contains("/nonexistent/wirekit.key"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let file = file_with(b"egg");
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(loose_permissions_warning(file.path()), None);
        for mode in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(mode)).unwrap();
            let warning = loose_permissions_warning(file.path()).unwrap();
            assert!(warning.contains(&format!("{mode:04o}")) && warning.contains("chmod 600"));
        }
    }

    #[test]
    fn debug_does_not_leak_the_key() {
        let key = load_key(Some("hunter2"), None, None).unwrap().unwrap();
        assert!(!format!("{key:?}").contains("hunter2"));
    }
}
