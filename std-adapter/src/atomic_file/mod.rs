//! Receive a file into `--dir` without ever leaving a partial file under its final name, and
//! report it saved only once it would survive a power loss.
//!
//! `--dir` is opened once ([`TargetDir`]); everything after goes through that handle, so a
//! directory swapped for a symlink between uploads redirects nothing. [`AtomicFile::create`]
//! checks the name ([`crate::safe_name`]), refuses a final name that is a directory, symlink
//! or special file (and, with `--no-clobber`, any existing file), refuses a size over
//! `--max-size` or one that would leave less than `--min-free` bytes free (counting uploads
//! in progress), and only then creates a temporary file `.wirekit-<name>.<random>.part` in
//! the same directory with `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600 (never following a
//! symlink, never reusing a file, unreadable to others while incomplete). The body is written
//! with [`AtomicFile::write_chunk`] (never more than the announced size);
//! [`AtomicFile::commit`] gives the file its final mode (the replaced file's, else 0666 less
//! the umask), `fsync`s it, renames it over the final name and `fsync`s the directory, only
//! when exactly the announced size arrived. Until then an older file of the final name stays
//! intact; dropping an uncommitted `AtomicFile` deletes the temporary file, and so do SIGINT
//! and SIGTERM ([`remove_temp_files_on_signals`]). Temporary files a killed receiver left are
//! removed at the next start ([`TargetDir::sweep_stale_temp_files`]).

mod cleanup;
mod dir;

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use rustix::fs::{FileType, Mode};

use crate::safe_name::{check_file_name, NameError, NamePolicy};
use cleanup::Registration;

pub use cleanup::remove_temp_files_on_signals;
pub use dir::TargetDir;

/// Read size for a file body (`file::receive`): large, so a fast link is not held back by
/// per-call overhead (the seed used 1 KiB).
pub const RECEIVE_BUF_LEN: usize = 1 << 20;

/// Longest part of the final name kept in the temporary name, so that prefix, suffix and name
/// stay under 255 bytes.
const TEMP_NAME_STEM_BYTES: usize = 180;

/// `--max-size` when not given: 4 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 4 << 30;

/// Largest default `--min-free` (see [`default_min_free`]).
const DEFAULT_MIN_FREE_CAP: u64 = 2 << 30;

/// What a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveRules {
    /// The largest file accepted (`--max-size`).
    pub max_size: u64,
    /// Bytes that must stay free in `--dir` (`--min-free`); `None`: [`default_min_free`].
    pub min_free: Option<u64>,
    /// Which names are accepted (`--names`).
    pub names: NamePolicy,
    /// Refuse a name that exists (`--no-clobber`) instead of replacing the file.
    pub no_clobber: bool,
}

impl Default for ReceiveRules {
    fn default() -> Self {
        Self {
            max_size: DEFAULT_MAX_SIZE,
            min_free: None,
            names: NamePolicy::Portable,
            no_clobber: false,
        }
    }
}

impl ReceiveRules {
    /// The defaults with `max_size`.
    pub fn with_max_size(max_size: u64) -> Self {
        Self { max_size, ..Self::default() }
    }
}

/// Why a file could not be received.
#[derive(Debug, thiserror::Error)]
pub enum AtomicFileError {
    /// The peer's file name was refused.
    #[error("refused file name {name:?}: {reason}; ask the sender to rename the file")]
    Name {
        /// The name as received.
        name: String,
        /// Why it was refused.
        reason: NameError,
    },
    /// The final path exists and is not a regular file.
    #[error("refused to write {}: it exists and is {kind}; remove it or pick another --dir", path.display())]
    NotARegularFile {
        /// The final path.
        path: PathBuf,
        /// What it is instead ("a directory", "a symbolic link", "a special file").
        kind: &'static str,
    },
    /// The name exists and `--no-clobber` is on.
    #[error("refused to write {}: it exists (--no-clobber); remove it or ask the sender to rename the file", path.display())]
    Exists {
        /// The final path.
        path: PathBuf,
    },
    /// The announced size is over the limit.
    #[error("refused {name:?}: {size} bytes is over the limit of {limit} bytes ({what}); raise --max-size, lower --min-free or free some space")]
    TooLarge {
        /// The file name.
        name: String,
        /// The announced size.
        size: u64,
        /// The limit.
        limit: u64,
        /// "--max-size" or which free-space rule.
        what: &'static str,
    },
    /// The peer sent more bytes than it announced.
    #[error("the sender sent more than the announced {expected} bytes")]
    Overflow {
        /// The announced size.
        expected: u64,
    },
    /// Commit was called before the whole body arrived.
    #[error("only {received} of {expected} bytes arrived; the partial file was discarded")]
    Incomplete {
        /// Bytes written.
        received: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// A file-system operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// A file being received; see the module docs.
#[derive(Debug)]
pub struct AtomicFile {
    dir: Arc<TargetDir>,
    file: Option<File>,
    /// Empty once committed or removed.
    temp_name: String,
    name: String,
    /// Permission bits the final file gets: the replaced file's, or a new file's.
    mode: u32,
    no_clobber: bool,
    expected: u64,
    written: u64,
    _registration: Registration,
}

impl AtomicFile {
    /// Check everything and create the temporary file; no byte of the body is written yet.
    pub fn create(
        dir: &Arc<TargetDir>,
        name: &str,
        size: u64,
        rules: &ReceiveRules,
    ) -> Result<Self, AtomicFileError> {
        let name = check_file_name(name, rules.names)
            .map_err(|reason| AtomicFileError::Name { name: name.to_owned(), reason })?;
        let mode = match dir.stat(name)? {
            None => dir.new_file_mode(),
            Some(st) => {
                let kind = FileType::from_raw_mode(st.st_mode);
                refuse_non_regular(kind, || dir.path().join(name))?;
                if rules.no_clobber {
                    return Err(AtomicFileError::Exists { path: dir.path().join(name) });
                }
                // The replaced file's permission bits, without set-id bits a peer could
                // otherwise get onto a file of its choosing.
                #[allow(clippy::useless_conversion)] // st_mode is u16 on some systems
                let mode = u32::from(st.st_mode);
                mode & 0o777
            }
        };
        if size > rules.max_size {
            return Err(AtomicFileError::TooLarge {
                name: name.to_owned(),
                size,
                limit: rules.max_size,
                what: "--max-size",
            });
        }
        let (free, total) = dir.space()?;
        let keep_free = rules.min_free.unwrap_or_else(|| default_min_free(total));
        {
            let mut pending = dir.pending();
            let room = free.saturating_sub(keep_free).saturating_sub(*pending);
            if size > room {
                return Err(AtomicFileError::TooLarge {
                    name: name.to_owned(),
                    size,
                    limit: room,
                    what: "free space less --min-free and uploads in progress",
                });
            }
            *pending += size;
        }
        let stem = truncate_at_char_boundary(name, TEMP_NAME_STEM_BYTES);
        let created = dir.create_temp(stem);
        let (file, temp_name) = match created {
            Ok(made) => made,
            Err(e) => {
                *dir.pending() -= size;
                return Err(e);
            }
        };
        let registration = cleanup::register(dir, &temp_name);
        Ok(Self {
            dir: Arc::clone(dir),
            file: Some(file),
            temp_name,
            name: name.to_owned(),
            mode,
            no_clobber: rules.no_clobber,
            expected: size,
            written: 0,
            _registration: registration,
        })
    }

    /// Where the file will be after [`AtomicFile::commit`] (for messages).
    pub fn final_path(&self) -> PathBuf {
        self.dir.path().join(&self.name)
    }
    /// The temporary file being written (for messages and tests).
    pub fn temp_path(&self) -> PathBuf {
        self.dir.path().join(&self.temp_name)
    }
    /// The announced size.
    pub fn expected(&self) -> u64 {
        self.expected
    }
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
    /// Bytes still to come.
    pub fn remaining(&self) -> u64 {
        self.expected - self.written
    }

    /// Append `chunk`; more bytes than announced is an error (and nothing of `chunk` is written).
    pub fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), AtomicFileError> {
        let len = chunk.len() as u64;
        if len > self.remaining() {
            return Err(AtomicFileError::Overflow { expected: self.expected });
        }
        let file = self.file_mut()?;
        file.write_all(chunk).map_err(|source| self.io_error("cannot write", source))?;
        self.written += len;
        Ok(())
    }

    /// Move the file into place, durably; only when exactly the announced size arrived.
    /// Returns the final path. The order is what makes "saved" true after a power loss:
    /// the file's data and mode are on disk (`fsync`) before the rename makes it visible,
    /// and the rename is on disk (`fsync` of the directory) before this returns.
    pub fn commit(mut self) -> Result<PathBuf, AtomicFileError> {
        if self.written != self.expected {
            return Err(AtomicFileError::Incomplete {
                received: self.written,
                expected: self.expected,
            });
        }
        let mode = Mode::from_raw_mode(self.mode as _);
        let file = self.file_mut()?;
        let synced = rustix::fs::fchmod(&*file, mode)
            .map_err(io::Error::from)
            .and_then(|()| file.sync_all());
        synced.map_err(|source| self.io_error("cannot write", source))?;
        // Checked again right before the rename: it may have appeared while we received.
        if let Some(st) = self.dir.stat(&self.name)? {
            refuse_non_regular(FileType::from_raw_mode(st.st_mode), || self.final_path())?;
        }
        let renamed = self.dir.rename(&self.temp_name, &self.name, self.no_clobber);
        renamed.map_err(|source| match source.raw_os_error() {
            Some(code) if self.no_clobber && code == rustix::io::Errno::EXIST.raw_os_error() => {
                AtomicFileError::Exists { path: self.final_path() }
            }
            _ => AtomicFileError::Io {
                what: "cannot move into place",
                path: self.final_path(),
                source,
            },
        })?;
        // Renamed: nothing for Drop to delete.
        self.temp_name.clear();
        self.dir.sync().map_err(|source| AtomicFileError::Io {
            what: "cannot make the rename durable in",
            path: self.dir.path().into(),
            source,
        })?;
        Ok(self.final_path())
    }

    fn file_mut(&mut self) -> Result<&mut File, AtomicFileError> {
        let path = self.temp_path();
        self.file.as_mut().ok_or_else(|| AtomicFileError::Io {
            what: "file already closed",
            path,
            source: io::Error::other("closed"),
        })
    }

    fn io_error(&self, what: &'static str, source: io::Error) -> AtomicFileError {
        AtomicFileError::Io { what, path: self.temp_path(), source }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.temp_name.is_empty() {
            self.dir.unlink(&self.temp_name);
        }
        // Closed after the unlink or rename: the lock guards the name until then.
        drop(self.file.take());
        let mut pending = self.dir.pending();
        *pending = pending.saturating_sub(self.expected);
    }
}

fn refuse_non_regular(
    kind: FileType,
    path: impl FnOnce() -> PathBuf,
) -> Result<(), AtomicFileError> {
    let refused = match kind {
        FileType::RegularFile => return Ok(()),
        FileType::Symlink => "a symbolic link",
        FileType::Directory => "a directory",
        _ => "a special file",
    };
    Err(AtomicFileError::NotARegularFile { path: path(), kind: refused })
}

/// `--min-free` when not given: 5 % of the file system, at most 2 GiB.
pub fn default_min_free(fs_size: u64) -> u64 {
    (fs_size / 20).min(DEFAULT_MIN_FREE_CAP)
}

fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests;
