//! Receive a file into `--dir` without ever leaving a partial file under its final name.
//!
//! [`AtomicFile::create`] checks the name ([`crate::safe_name`]), refuses a final path that
//! is an existing directory, symlink or special file, refuses a size over the limit (by default
//! the free space of `--dir`), and only then creates a temporary file
//! `.wirekit-<name>.<random>.part` in the same directory with `O_CREAT|O_EXCL` (never following
//! a symlink, never reusing a file). The body is written with [`AtomicFile::write_chunk`],
//! [`std::io::Write`] or [`AtomicFile::receive_from`] (large buffer); [`AtomicFile::commit`]
//! renames the temporary file over the final name only when exactly the announced size
//! arrived. Until then an older file of the final name stays intact; dropping an uncommitted
//! `AtomicFile` deletes the temporary file.
//!
//! The rename is atomic on one file system, which is why the temporary file lives in `--dir`.
//! There is no `fsync`: this protects against interrupted transfers, not power loss.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::safe_name::{check_file_name, NameError};

/// Buffer size for [`AtomicFile::receive_from`]: large, so a fast link is not held back by
/// per-call overhead (the seed used 1 KiB).
pub const RECEIVE_BUF_LEN: usize = 1 << 20;

/// Longest part of the final name kept in the temporary name, so that prefix, suffix and name
/// stay under 255 bytes.
const TEMP_NAME_STEM_BYTES: usize = 180;

/// The largest file accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeLimit {
    /// The free space of the target directory at the time of the check.
    FreeSpace,
    /// A fixed number of bytes (`--max-size`).
    Bytes(u64),
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
    /// The announced size is over the limit.
    #[error("refused {name:?}: {size} bytes is over the limit of {limit} bytes ({what}); raise --max-size or free some space")]
    TooLarge {
        /// The file name.
        name: String,
        /// The announced size.
        size: u64,
        /// The limit.
        limit: u64,
        /// "--max-size" or "free space".
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
    file: Option<File>,
    temp_path: PathBuf,
    final_path: PathBuf,
    expected: u64,
    written: u64,
}

impl AtomicFile {
    /// Check everything and create the temporary file; no byte of the body is written yet.
    pub fn create(
        dir: &Path,
        name: &str,
        size: u64,
        limit: SizeLimit,
    ) -> Result<Self, AtomicFileError> {
        let name = check_file_name(name)
            .map_err(|reason| AtomicFileError::Name { name: name.to_owned(), reason })?;
        let final_path = dir.join(name);
        refuse_non_regular(&final_path)?;
        let (limit, what) = match limit {
            SizeLimit::Bytes(max) => (max, "--max-size"),
            SizeLimit::FreeSpace => (free_space(dir)?, "free space"),
        };
        if size > limit {
            return Err(AtomicFileError::TooLarge { name: name.to_owned(), size, limit, what });
        }
        let (file, temp_path) = create_temp(dir, name)?;
        Ok(Self { file: Some(file), temp_path, final_path, expected: size, written: 0 })
    }

    /// Where the file will be after [`AtomicFile::commit`].
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }
    /// The temporary file being written.
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
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

    /// Copy the rest of the body (exactly [`AtomicFile::remaining`] bytes) from `reader`
    /// through a large buffer, calling `progress` with each chunk's length. Returns the bytes
    /// read; fewer than remaining means the reader ended early (the caller reports it, and
    /// dropping `self` discards the partial file).
    pub fn receive_from<R: Read>(
        &mut self,
        reader: &mut R,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, ReceiveError> {
        let mut buf = vec![0u8; RECEIVE_BUF_LEN.min(self.remaining().max(1) as usize)];
        let mut total = 0u64;
        while self.remaining() > 0 {
            let want = buf.len().min(self.remaining() as usize);
            let Some(slot) = buf.get_mut(..want) else { break };
            let n = match reader.read(slot) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReceiveError::Read(e)),
            };
            let chunk = buf.get(..n).unwrap_or(&[]);
            self.write_chunk(chunk).map_err(ReceiveError::Write)?;
            total += n as u64;
            progress(n as u64);
        }
        Ok(total)
    }

    /// Move the file into place; only when exactly the announced size arrived. Returns the
    /// final path.
    pub fn commit(mut self) -> Result<PathBuf, AtomicFileError> {
        if self.written != self.expected {
            return Err(AtomicFileError::Incomplete {
                received: self.written,
                expected: self.expected,
            });
        }
        // Close before renaming (Windows cannot rename an open file).
        drop(self.file.take());
        // Checked again right before the rename: it may have appeared while we received.
        refuse_non_regular(&self.final_path)?;
        std::fs::rename(&self.temp_path, &self.final_path).map_err(|source| {
            AtomicFileError::Io {
                what: "cannot move into place",
                path: self.final_path.clone(),
                source,
            }
        })?;
        // Committed: nothing for Drop to delete.
        self.temp_path = PathBuf::new();
        Ok(self.final_path.clone())
    }

    fn file_mut(&mut self) -> Result<&mut File, AtomicFileError> {
        let path = self.temp_path.clone();
        self.file.as_mut().ok_or_else(|| AtomicFileError::Io {
            what: "file already closed",
            path,
            source: io::Error::other("closed"),
        })
    }

    fn io_error(&self, what: &'static str, source: io::Error) -> AtomicFileError {
        AtomicFileError::Io { what, path: self.temp_path.clone(), source }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_chunk(buf).map_err(|e| match e {
            AtomicFileError::Io { source, .. } => source,
            other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
        })?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.temp_path.as_os_str().is_empty() {
            // Best effort: nothing useful to do if the temporary file is already gone.
            let _ = std::fs::remove_file(&self.temp_path);
        }
    }
}

/// Why [`AtomicFile::receive_from`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// Reading from the peer failed.
    #[error("receiving the file failed: {0}")]
    Read(io::Error),
    /// Writing to disk failed.
    #[error(transparent)]
    Write(AtomicFileError),
}

fn refuse_non_regular(path: &Path) -> Result<(), AtomicFileError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(AtomicFileError::Io { what: "cannot inspect", path: path.into(), source })
        }
    };
    let kind = meta.file_type();
    let refused = if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a directory"
    } else if !kind.is_file() {
        "a special file"
    } else {
        return Ok(());
    };
    Err(AtomicFileError::NotARegularFile { path: path.into(), kind: refused })
}

fn free_space(dir: &Path) -> Result<u64, AtomicFileError> {
    fs4::available_space(dir).map_err(|source| AtomicFileError::Io {
        what: "cannot find the free space of",
        path: dir.into(),
        source,
    })
}

fn create_temp(dir: &Path, name: &str) -> Result<(File, PathBuf), AtomicFileError> {
    let stem = truncate_at_char_boundary(name, TEMP_NAME_STEM_BYTES);
    let mut last_error = None;
    for _ in 0..8 {
        let path = dir.join(format!(".wirekit-{stem}.{}.part", random_hex()));
        // create_new = O_CREAT|O_EXCL: fails on any existing entry, symlinks included, so a
        // planted link is never followed.
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some((path, e)),
            Err(source) => {
                return Err(AtomicFileError::Io {
                    what: "cannot create a temporary file",
                    path,
                    source,
                })
            }
        }
    }
    let (path, source) = last_error.unwrap_or_else(|| (dir.into(), io::Error::other("no name")));
    Err(AtomicFileError::Io { what: "cannot create a temporary file", path, source })
}

fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
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

#[cfg(test)]
mod tests;
