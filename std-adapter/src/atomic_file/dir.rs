//! `--dir`, opened once: every later create, rename, stat, fsync and unlink is relative to
//! this handle (`openat`/`renameat`/`statat`), so replacing the directory by a symlink (or
//! moving it) while the receiver runs cannot redirect a later upload.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};

use super::AtomicFileError;

/// Prefix and suffix of our temporary files: `.wirekit-NAME.HEX16.part`.
pub(super) const TEMP_PREFIX: &str = ".wirekit-";
pub(super) const TEMP_SUFFIX: &str = ".part";
/// Hex digits of the random part of a temporary name.
const TEMP_RANDOM_HEX: usize = 16;

/// The receive directory, opened once.
#[derive(Debug)]
pub struct TargetDir {
    fd: OwnedFd,
    path: PathBuf,
    /// Permission bits a new file gets (0666 minus the umask read at open).
    new_file_mode: u32,
    /// Bytes announced by uploads in progress and not yet written: counted against the free
    /// space, so that concurrent uploads cannot each pass the check and together fill the disk.
    pending: Mutex<u64>,
}

impl TargetDir {
    /// Open `path` as a directory (following a symlink the user gave, once, now).
    pub fn open(path: &Path) -> Result<Self, AtomicFileError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| AtomicFileError::Io {
            what: "cannot open the directory",
            path: path.into(),
            source: e.into(),
        })?;
        Ok(Self { fd, path: path.into(), new_file_mode: 0o666 & !umask(), pending: Mutex::new(0) })
    }

    /// The path given at open (for messages only; never used to reach files).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Create and remove a temporary file, so that an unwritable directory is reported at
    /// start-up, naming the directory, instead of after a peer connected.
    pub fn check_writable(&self) -> Result<(), AtomicFileError> {
        let (file, name) = self.create_temp("write-check").map_err(|e| match e {
            AtomicFileError::Io { source, .. } => {
                AtomicFileError::Io { what: "cannot write into", path: self.path.clone(), source }
            }
            other => other,
        })?;
        drop(file);
        self.unlink(&name);
        Ok(())
    }

    /// Remove temporary files of our own naming that no live receiver holds (each receiver
    /// keeps an exclusive `flock` on its temporary file until it is renamed or removed, and
    /// a killed process loses its locks). Returns how many were removed.
    pub fn sweep_stale_temp_files(&self) -> io::Result<usize> {
        let mut removed = 0;
        for entry in rustix::fs::Dir::read_from(&self.fd)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().to_str() else { continue };
            if !is_our_temp_name(name) {
                continue;
            }
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
            let Ok(fd) = rustix::fs::openat(&self.fd, name, flags, Mode::empty()) else {
                continue;
            };
            let regular = rustix::fs::fstat(&fd)
                .map(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
                .unwrap_or(false);
            if regular && rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok() {
                // Still holding the lock: no receiver can be writing it.
                if rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Create `.wirekit-<stem>.<random>.part` with `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600,
    /// and lock it (see [`TargetDir::sweep_stale_temp_files`]).
    ///
    /// Hand-written rather than `tempfile`: `tempfile` creates by path, and everything here
    /// must go through the directory handle.
    pub(super) fn create_temp(&self, stem: &str) -> Result<(File, String), AtomicFileError> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut last_error = None;
        for _ in 0..8 {
            let name = format!("{TEMP_PREFIX}{stem}.{}{TEMP_SUFFIX}", random_hex());
            match rustix::fs::openat(&self.fd, name.as_str(), flags, Mode::from_raw_mode(0o600)) {
                Ok(fd) => {
                    // Best effort: without flock (some network file systems) only the
                    // start-up sweep loses its guard.
                    let _ = rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive);
                    return Ok((File::from(fd), name));
                }
                Err(rustix::io::Errno::EXIST) => last_error = Some(name),
                Err(e) => {
                    return Err(AtomicFileError::Io {
                        what: "cannot create a temporary file in",
                        path: self.path.clone(),
                        source: e.into(),
                    })
                }
            }
        }
        Err(AtomicFileError::Io {
            what: "cannot create a temporary file in",
            path: self.path.clone(),
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("8 random names taken (last {last_error:?})"),
            ),
        })
    }

    /// What is at `name` now (not following a symlink): `None` when nothing is.
    pub(super) fn stat(&self, name: &str) -> Result<Option<rustix::fs::Stat>, AtomicFileError> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(AtomicFileError::Io {
                what: "cannot inspect",
                path: self.path.join(name),
                source: e.into(),
            }),
        }
    }

    /// Rename `from` to `to` in this directory; with `no_clobber`, never over an existing
    /// entry (`RENAME_NOREPLACE`, so a file appearing meanwhile is not replaced either).
    pub(super) fn rename(&self, from: &str, to: &str, no_clobber: bool) -> io::Result<()> {
        if no_clobber {
            rustix::fs::renameat_with(
                &self.fd,
                from,
                &self.fd,
                to,
                rustix::fs::RenameFlags::NOREPLACE,
            )?;
        } else {
            rustix::fs::renameat(&self.fd, from, &self.fd, to)?;
        }
        Ok(())
    }

    /// Make the directory's entries (a rename) durable.
    pub(super) fn sync(&self) -> io::Result<()> {
        Ok(rustix::fs::fsync(&self.fd)?)
    }

    /// Remove `name`; best effort (it may be gone already).
    pub(super) fn unlink(&self, name: &str) {
        let _ = rustix::fs::unlinkat(&self.fd, name, AtFlags::empty());
    }

    pub(super) fn new_file_mode(&self) -> u32 {
        self.new_file_mode
    }

    /// Free bytes for an unprivileged writer, and the file system's size.
    pub(super) fn space(&self) -> Result<(u64, u64), AtomicFileError> {
        let st = rustix::fs::fstatvfs(&self.fd).map_err(|e| AtomicFileError::Io {
            what: "cannot find the free space of",
            path: self.path.clone(),
            source: e.into(),
        })?;
        Ok((st.f_bavail.saturating_mul(st.f_frsize), st.f_blocks.saturating_mul(st.f_frsize)))
    }

    pub(super) fn pending(&self) -> MutexGuard<'_, u64> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `.wirekit-` + anything + `.` + 16 lowercase hex digits + `.part`: ours, and nothing a
/// peer can name (names starting with `.` are refused).
pub(super) fn is_our_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(TEMP_PREFIX).and_then(|r| r.strip_suffix(TEMP_SUFFIX))
    else {
        return false;
    };
    let Some((_, random)) = rest.rsplit_once('.') else { return false };
    random.len() == TEMP_RANDOM_HEX
        && random.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The process umask. Read by setting it and putting it back: done when `--dir` is opened,
/// at start-up, before any other thread creates files.
fn umask() -> u32 {
    let old = rustix::process::umask(Mode::from_raw_mode(0o077));
    rustix::process::umask(old);
    old.as_raw_mode()
}

fn random_hex() -> String {
    let mut bytes = [0u8; TEMP_RANDOM_HEX / 2];
    if getrandom::fill(&mut bytes).is_err() {
        // Uniqueness, not secrecy, is what matters here; O_EXCL catches any clash.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = (nanos as u64 ^ u64::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
