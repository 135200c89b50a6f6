//! `wirekit keygen`: 32 bytes from the operating system's CSPRNG, in a file only its owner
//! can read (0600 on Unix). Refuses to overwrite an existing file unless forced; `-` writes
//! the bytes to standard output instead (never to a terminal: they are binary).

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::keys::is_text_with_trailing_newline;

/// Length of a generated key.
pub const KEY_LEN: usize = 32;

/// 32 random bytes that the key-file loader uses whole. (A draw that happens to look like
/// `echo`-style text would lose its last byte on loading; it is drawn again.)
pub fn generate_key() -> Result<[u8; KEY_LEN]> {
    let mut key = [0u8; KEY_LEN];
    loop {
        getrandom::fill(&mut key).map_err(|e| Error::Random(e.to_string()))?;
        if !is_text_with_trailing_newline(&key) {
            return Ok(key);
        }
    }
}

/// Where `wirekit keygen PATH` puts the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDestination<'a> {
    /// `-`: standard output.
    Stdout,
    /// A file.
    File(&'a Path),
}

impl<'a> KeyDestination<'a> {
    /// `-` is standard output, anything else a file path.
    pub fn of(path: &'a Path) -> Self {
        if path.as_os_str() == "-" {
            Self::Stdout
        } else {
            Self::File(path)
        }
    }
}

/// Write a fresh key to `to` (see [`write_key_file`] for a file).
pub fn write_key(to: KeyDestination<'_>, force: bool) -> Result<()> {
    match to {
        KeyDestination::File(path) => write_key_file(path, force),
        KeyDestination::Stdout => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                return Err(local_error(
                    "cannot print a key to",
                    Path::new("the terminal"),
                    "it is 32 binary bytes; redirect it: wirekit keygen - > FILE",
                ));
            }
            write_key_to(&mut stdout.lock())
        }
    }
}

/// Write a fresh key to `out` and flush it.
pub fn write_key_to(out: &mut impl Write) -> Result<()> {
    let key = generate_key()?;
    out.write_all(&key).and_then(|()| out.flush()).map_err(|source| Error::LocalIo {
        what: "cannot write a key to",
        path: "standard output".into(),
        source,
    })
}

fn local_error(what: &'static str, path: &Path, why: &str) -> Error {
    Error::LocalIo { what, path: path.into(), source: std::io::Error::other(why.to_owned()) }
}

/// Write a fresh key to `path`. Without `force` an existing file (or link) is an error; a
/// directory always is.
pub fn write_key_file(path: &Path, force: bool) -> Result<()> {
    if path.is_dir() {
        let hint = format!(
            "it is a directory; give a file path such as {}",
            path.join("wirekit.key").display()
        );
        return Err(local_error("cannot write a key to", path, &hint));
    }
    let key = generate_key()?;
    if force {
        // Remove first, so the new file gets mode 0600 rather than the old file's mode.
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::LocalIo { what: "cannot replace", path: path.into(), source })
            }
        }
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            Error::KeyFileExists(path.into())
        } else {
            Error::LocalIo { what: "cannot create", path: path.into(), source }
        }
    })?;
    file.write_all(&key).and_then(|()| file.sync_all()).map_err(|source| Error::LocalIo {
        what: "cannot write",
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn writes_32_bytes_that_load_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        write_key_file(&path, false).unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw.len(), KEY_LEN);
        let key = crate::keys::load_key(None, Some(&path), None).unwrap().unwrap();
        assert_eq!(key.bytes(), raw);
    }

    #[test]
    fn a_directory_is_named_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_key_file(dir.path(), true).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("is a directory") && text.contains("wirekit.key"), "{text}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn dash_means_standard_output() {
        assert_eq!(KeyDestination::of(Path::new("-")), KeyDestination::Stdout);
        assert_eq!(KeyDestination::of(Path::new("./-")), KeyDestination::File(Path::new("./-")));
        let mut out = Vec::new();
        write_key_to(&mut out).unwrap();
        assert_eq!(out.len(), KEY_LEN);
    }

    #[test]
    fn keys_differ() {
        assert_ne!(generate_key().unwrap(), generate_key().unwrap());
    }

    #[test]
    fn refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, b"precious").unwrap();
        let err = write_key_file(&path, false).unwrap_err();
        assert!(matches!(err, Error::KeyFileExists(_)), "{err}");
        assert!(err.to_string().contains("--force"));
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
        write_key_file(&path, true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
    }

    #[cfg(unix)]
    #[test]
    fn mode_is_0600_even_when_replacing() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_key_file(&path, true).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
