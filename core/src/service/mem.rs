//! An in-memory [`Storage`] and a [`Commands`] table, for tests here and in other crates
//! (the `pair` feature). Uploads live in a map of partial files until committed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::string::{String, ToString};
use std::vec::Vec;

use super::storage::{Commands, Listed, Poll, Stat, Storage};
use super::wire::{ErrorCode, ExitStatus, Kind, Stream};

/// Files, directories and partial uploads in memory. The root always exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemStorage {
    /// Committed files.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Directories (not the root).
    pub dirs: BTreeSet<String>,
    /// Partial uploads, by final path.
    pub partials: BTreeMap<String, Vec<u8>>,
    /// Bytes the store holds at most (files and partials); `None`: no limit.
    pub capacity: Option<usize>,
    /// Commits made, in order.
    pub commits: Vec<String>,
}

/// An upload's final path.
#[derive(Debug)]
pub struct MemUpload(String);

/// A download's path.
#[derive(Debug)]
pub struct MemDownload(String);

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

impl MemStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || self.dirs.contains(path)
    }

    fn used(&self) -> usize {
        self.files.values().chain(self.partials.values()).map(Vec::len).sum()
    }

    fn children(&self, dir: &str) -> Vec<(String, Kind, u64)> {
        let mut out: Vec<(String, Kind, u64)> = Vec::new();
        let entries = self.files.iter().map(|(p, d)| (p, Kind::File, d.len() as u64));
        let dirs = self.dirs.iter().map(|p| (p, Kind::Dir, 0));
        for (path, kind, size) in entries.chain(dirs) {
            if parent(path) == dir {
                let name = path.rsplit('/').next().unwrap_or(path);
                out.push((name.to_string(), kind, size));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

impl Storage for MemStorage {
    type Upload = MemUpload;
    type Download = MemDownload;

    fn stat(&mut self, path: &str) -> Result<Stat, ErrorCode> {
        let partial = self.partials.get(path).map_or(0, |p| p.len() as u64);
        let (kind, size) = match self.files.get(path) {
            Some(data) => (Kind::File, data.len() as u64),
            None if self.is_dir(path) => (Kind::Dir, 0),
            None => (Kind::None, 0),
        };
        Ok(Stat { kind, size, partial })
    }

    fn list(
        &mut self,
        dir: &str,
        cursor: u64,
        name: &mut [u8],
    ) -> Result<Option<Listed>, ErrorCode> {
        if self.files.contains_key(dir) {
            return Err(ErrorCode::NotADirectory);
        }
        if !self.is_dir(dir) {
            return Err(ErrorCode::NotFound);
        }
        let children = self.children(dir);
        let Some((entry, kind, size)) = usize::try_from(cursor).ok().and_then(|c| children.get(c))
        else {
            return Ok(None);
        };
        let dst = name.get_mut(..entry.len()).ok_or(ErrorCode::Io)?;
        dst.copy_from_slice(entry.as_bytes());
        Ok(Some(Listed { name_len: entry.len(), kind: *kind, size: *size, next: cursor + 1 }))
    }

    fn remove(&mut self, path: &str) -> Result<(), ErrorCode> {
        if self.files.remove(path).is_some() {
            return Ok(());
        }
        if !self.dirs.contains(path) {
            return Err(ErrorCode::NotFound);
        }
        if !self.children(path).is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        self.dirs.remove(path);
        Ok(())
    }

    fn mkdir(&mut self, path: &str) -> Result<(), ErrorCode> {
        if self.files.contains_key(path) || self.dirs.contains(path) {
            return Err(ErrorCode::Exists);
        }
        if !self.is_dir(parent(path)) {
            return Err(ErrorCode::NotFound);
        }
        self.dirs.insert(path.to_string());
        Ok(())
    }

    fn begin_upload(
        &mut self,
        path: &str,
        size: u64,
        resume: u64,
    ) -> Result<(MemUpload, u64), ErrorCode> {
        if self.is_dir(path) {
            return Err(ErrorCode::IsADirectory);
        }
        if !self.is_dir(parent(path)) {
            return Err(ErrorCode::NotFound);
        }
        if let Some(cap) = self.capacity {
            let kept = self.partials.get(path).map_or(0, Vec::len);
            if self.used() - kept + size as usize > cap {
                return Err(ErrorCode::NoSpace);
            }
        }
        let partial = self.partials.entry(path.to_string()).or_default();
        partial.truncate(resume.min(size) as usize);
        Ok((MemUpload(path.to_string()), partial.len() as u64))
    }

    fn read_upload(
        &mut self,
        upload: &mut MemUpload,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, ErrorCode> {
        let data = self.partials.get(&upload.0).ok_or(ErrorCode::Io)?;
        Ok(copy_from(data, offset, buf))
    }

    fn write_upload(
        &mut self,
        upload: &mut MemUpload,
        offset: u64,
        data: &[u8],
    ) -> Result<(), ErrorCode> {
        let partial = self.partials.get_mut(&upload.0).ok_or(ErrorCode::Io)?;
        if partial.len() as u64 != offset {
            return Err(ErrorCode::Io);
        }
        partial.extend_from_slice(data);
        Ok(())
    }

    fn commit_upload(&mut self, upload: MemUpload) -> Result<(), ErrorCode> {
        let data = self.partials.remove(&upload.0).ok_or(ErrorCode::Io)?;
        self.files.insert(upload.0.clone(), data);
        self.commits.push(upload.0);
        Ok(())
    }

    fn keep_upload(&mut self, _upload: MemUpload) {}

    fn discard_upload(&mut self, upload: MemUpload) {
        self.partials.remove(&upload.0);
    }

    fn open(&mut self, path: &str) -> Result<(MemDownload, u64), ErrorCode> {
        if self.is_dir(path) {
            return Err(ErrorCode::IsADirectory);
        }
        let size = self.files.get(path).ok_or(ErrorCode::NotFound)?.len() as u64;
        Ok((MemDownload(path.to_string()), size))
    }

    fn read(
        &mut self,
        file: &mut MemDownload,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, ErrorCode> {
        let data = self.files.get(&file.0).ok_or(ErrorCode::Io)?;
        Ok(copy_from(data, offset, buf))
    }

    fn close(&mut self, _file: MemDownload) {}
}

fn copy_from(data: &[u8], offset: u64, buf: &mut [u8]) -> usize {
    let rest = usize::try_from(offset).ok().and_then(|o| data.get(o..)).unwrap_or_default();
    let n = rest.len().min(buf.len());
    if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
        dst.copy_from_slice(src);
    }
    n
}

/// A command table: `echo ARGS…` (stdout, exit 0), `fail CODE` (stderr, exit CODE),
/// `kill SIGNAL` (killed by that signal), `hang` (times out), `spew N` (N bytes alternating
/// between stdout and stderr in 700-byte pieces, exit 0). Anything else is not found.
#[derive(Debug, Default)]
pub struct MemCommands {
    /// Commands killed (cancelled or cut off), by first argument.
    pub killed: Vec<String>,
}

/// A run: its output still to hand out, then how it ends.
#[derive(Debug)]
pub struct MemRun {
    name: String,
    output: VecDeque<(Stream, Vec<u8>)>,
    status: ExitStatus,
}

impl Commands for MemCommands {
    type Run = MemRun;

    fn start(&mut self, argv: &[&str], _timeout_ms: u64) -> Result<MemRun, ErrorCode> {
        let (name, args) = argv.split_first().ok_or(ErrorCode::NotFound)?;
        let arg = |i: usize| args.get(i).and_then(|a| a.parse::<u32>().ok()).unwrap_or(0);
        let mut output = VecDeque::new();
        let status = match *name {
            "echo" => {
                output.push_back((Stream::Stdout, (args.join(" ") + "\n").into_bytes()));
                ExitStatus::Exited(0)
            }
            "fail" => {
                output.push_back((Stream::Stderr, b"failed\n".to_vec()));
                ExitStatus::Exited(arg(0) as u8)
            }
            "kill" => ExitStatus::Signal(arg(0)),
            "hang" => ExitStatus::TimedOut,
            "spew" => {
                let all: Vec<u8> = (0..arg(0)).map(|i| (i % 251) as u8).collect();
                for (i, piece) in all.chunks(700).enumerate() {
                    let stream = if i % 2 == 0 { Stream::Stdout } else { Stream::Stderr };
                    output.push_back((stream, piece.to_vec()));
                }
                ExitStatus::Exited(0)
            }
            _ => return Err(ErrorCode::NotFound),
        };
        Ok(MemRun { name: name.to_string(), output, status })
    }

    fn poll(&mut self, run: &mut MemRun, buf: &mut [u8]) -> Poll {
        let Some((stream, bytes)) = run.output.front_mut() else {
            return Poll::Exited(run.status);
        };
        let stream = *stream;
        let n = copy_from(bytes, 0, buf);
        bytes.drain(..n);
        if bytes.is_empty() {
            run.output.pop_front();
        }
        Poll::Output { stream, len: n }
    }

    fn kill(&mut self, run: MemRun) {
        self.killed.push(run.name);
    }
}
