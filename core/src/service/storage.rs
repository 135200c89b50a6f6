//! What a server serves from: the [`Storage`] a firmware's flash file system or the PC's
//! directory implements, and the [`Commands`] it runs. Both are called synchronously from the
//! server machine; errors are the section 6.4 codes the client is sent.

use super::wire::{ErrorCode, ExitStatus, Kind, Stream};

/// What `stat` reports of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// What the final name is.
    pub kind: Kind,
    /// A file's length (0 otherwise).
    pub size: u64,
    /// Bytes kept of an interrupted upload to this path (0: none).
    pub partial: u64,
}

/// One directory entry from [`Storage::list`]; its name was written to the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    /// Bytes of the name in the buffer (UTF-8, no `/`).
    pub name_len: usize,
    /// File or directory.
    pub kind: Kind,
    /// A file's length.
    pub size: u64,
    /// The cursor of the entry after this one.
    pub next: u64,
}

/// A file store with resumable uploads. Paths are already checked against section 6.2's
/// rules (relative, no `.` or `..`, at most [`MAX_PATH`](super::MAX_PATH) bytes; `""` is the
/// root, given only to `stat` and `list`).
pub trait Storage {
    /// An upload in progress: a partial file, never visible under its final name.
    type Upload;
    /// A file open for reading.
    type Download;

    /// What `path` is, and what is kept of an interrupted upload to it.
    fn stat(&mut self, path: &str) -> Result<Stat, ErrorCode>;
    /// The entry of directory `dir` at `cursor` (0: the first), its name written to `name`;
    /// `None` past the last.
    fn list(
        &mut self,
        dir: &str,
        cursor: u64,
        name: &mut [u8],
    ) -> Result<Option<Listed>, ErrorCode>;
    /// Remove a file or an empty directory.
    fn remove(&mut self, path: &str) -> Result<(), ErrorCode>;
    /// Make a directory (its parent exists).
    fn mkdir(&mut self, path: &str) -> Result<(), ErrorCode>;

    /// Begin an upload of a `size`-byte file to `path`, keeping at most `resume` bytes of a
    /// partial upload of it (0: start afresh, dropping any). Returns the upload and how many
    /// bytes it already holds (at most `resume`).
    fn begin_upload(
        &mut self,
        path: &str,
        size: u64,
        resume: u64,
    ) -> Result<(Self::Upload, u64), ErrorCode>;
    /// Read back bytes the upload holds (to hash a resumed upload's kept part).
    fn read_upload(
        &mut self,
        upload: &mut Self::Upload,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, ErrorCode>;
    /// Append `data` at `offset` (always the bytes held so far).
    fn write_upload(
        &mut self,
        upload: &mut Self::Upload,
        offset: u64,
        data: &[u8],
    ) -> Result<(), ErrorCode>;
    /// Make the upload durable under its final name (replacing a file there). Called only
    /// once every byte arrived and the whole file's SHA-256 matched.
    fn commit_upload(&mut self, upload: Self::Upload) -> Result<(), ErrorCode>;
    /// The connection ended or the upload was cancelled: keep what it holds for a resume.
    fn keep_upload(&mut self, upload: Self::Upload);
    /// The digest did not match: drop the upload and what it holds.
    fn discard_upload(&mut self, upload: Self::Upload);

    /// Open a file for reading; its size.
    fn open(&mut self, path: &str) -> Result<(Self::Download, u64), ErrorCode>;
    /// Read from `offset`; 0 only at the end.
    fn read(
        &mut self,
        file: &mut Self::Download,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, ErrorCode>;
    /// Done reading.
    fn close(&mut self, file: Self::Download);
}

/// What a running command has for the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// `len` bytes of one stream were written to the buffer.
    Output {
        /// Which stream.
        stream: Stream,
        /// How many bytes.
        len: usize,
    },
    /// It ended (all its output was handed out before).
    Exited(ExitStatus),
    /// Nothing now.
    Pending,
}

/// The commands a server runs for `exec`.
pub trait Commands {
    /// A running command.
    type Run;
    /// Start `argv` (1 ..= 16 arguments, no shell). `timeout_ms` 0: the host's default.
    fn start(&mut self, argv: &[&str], timeout_ms: u64) -> Result<Self::Run, ErrorCode>;
    /// Output (into `buf`, in the order it was produced) or the end of a run. `buf` is
    /// empty while the client's window is closed: report [`Poll::Exited`] if the run ended
    /// with all its output handed out, else [`Poll::Pending`].
    fn poll(&mut self, run: &mut Self::Run, buf: &mut [u8]) -> Poll;
    /// Stop a run (cancelled, or the connection ended).
    fn kill(&mut self, run: Self::Run);
}

/// Commands refused: a server that runs none (`error` denied).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCommands;

impl Commands for NoCommands {
    type Run = core::convert::Infallible;
    fn start(&mut self, _argv: &[&str], _timeout_ms: u64) -> Result<Self::Run, ErrorCode> {
        Err(ErrorCode::Denied)
    }
    fn poll(&mut self, run: &mut Self::Run, _buf: &mut [u8]) -> Poll {
        match *run {}
    }
    fn kill(&mut self, run: Self::Run) {
        match run {}
    }
}
