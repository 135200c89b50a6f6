//! `wirekit file`: demo3 on the core's `FileSender` / `FileReceiver`.
//!
//! Send: the header (prefix + `json.dumps`-style JSON) goes out of the `FileSender`, the body
//! from the file in 1 MiB reads and writes ([`crate::body`]); every body byte is recorded with
//! the sender. Receive: the header arrives through the pump; the name is checked and the size
//! refused over the limit before anything is written ([`AtomicFile::create`]); then bytes the
//! pump already holds go to the file first, and the rest is read straight from the socket in
//! large chunks. Every chunk passes through the `FileReceiver`, which counts it and insists on
//! exactly `filesize` bytes: a short stream leaves no file under the final name.

use std::fs::File;
use std::io::{self, Read};
use std::net::TcpStream;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wirekit_core::drive::{Action, Driver, Input, StepError};
use wirekit_core::frame::{FrameConfig, FrameError};
use wirekit_core::header::FileHeader;
use wirekit_core::io::DriveError;
use wirekit_core::transfer::{FileReceiver, FileSender, ReceiveEvent, TransferError};

use crate::args::Secs;
use crate::atomic_file::{AtomicFile, AtomicFileError, ReceiveRules, TargetDir, RECEIVE_BUF_LEN};
use crate::body::{send_file_to, SendBodyError};
use crate::cli::Profile;
use crate::error::{Error, Result};
use crate::link::{drive_error, send_error};
use crate::net::PhaseDeadline;
use crate::progress::{Progress, Summary};
use crate::safe_name::NamePolicy;
use crate::session::Session;

/// The header's framing: `struct.pack('i')` under seed, `!i` under mp.
pub fn framing(profile: Profile) -> FrameConfig {
    match profile {
        Profile::Seed | Profile::Secure => FrameConfig::seed(),
        Profile::Mp => FrameConfig::mp(),
    }
}

/// A file checked for sending before any connection: a regular, readable file whose name
/// (or `--name`) our own receiver accepts.
#[derive(Debug, Clone)]
pub struct Outgoing {
    path: PathBuf,
    name: String,
    filepath: String,
}

impl Outgoing {
    /// Check `path` now. `name` replaces its file name on the wire (`--name`); the header's
    /// `filepath` is empty unless `full_dir` (`--header-dir`: the seed's sender put its
    /// absolute directory there; receivers never use it).
    pub fn check(path: &Path, name: Option<&str>, full_dir: bool) -> Result<Self> {
        let local = |what: &'static str, source: io::Error| Error::LocalIo {
            what,
            path: path.to_path_buf(),
            source,
        };
        // Before opening: opening a FIFO for reading would block until a writer comes.
        let meta = std::fs::metadata(path).map_err(|e| local("cannot read", e))?;
        if !meta.is_file() {
            let kind = if meta.is_dir() { "a directory" } else { "not a regular file" };
            return Err(local("cannot send", io::Error::other(format!("it is {kind}"))));
        }
        File::open(path).map_err(|e| local("cannot read", e))?;
        let name = match name {
            Some(name) => name.to_owned(),
            None => path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| {
                    local(
                        "cannot send",
                        io::Error::other("the file name is not UTF-8; pass --name"),
                    )
                })?
                .to_owned(),
        };
        if let Err(reason) = crate::safe_name::check_file_name(&name, NamePolicy::Portable) {
            return Err(Error::Name { name, reason });
        }
        let filepath = if full_dir {
            let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            abs.parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Self { path: path.to_path_buf(), name, filepath })
    }
}

/// Send `file` on `session`: header, then exactly its size in bytes. Waits for the receiver to
/// close (the seed's receiver does once it has everything) so that success means delivered.
pub fn send(session: Session, file: &Outgoing, profile: Profile, quiet: bool) -> Result<Summary> {
    let Session { mut conn, peer, timeout } = session;
    let peer = peer.as_str();
    let path = file.path.as_path();
    let local = |what: &'static str, source: io::Error| Error::LocalIo {
        what,
        path: path.to_path_buf(),
        source,
    };
    let filename = file.name.as_str();
    let mut file_handle = File::open(path).map_err(|e| local("cannot read", e))?;
    let meta = file_handle.metadata().map_err(|e| local("cannot read", e))?;
    if !meta.is_file() {
        return Err(local("cannot send", io::Error::other("not a regular file")));
    }
    let filesize = meta.len();
    let header = FileHeader { filename, filepath: &file.filepath, filesize };
    let mut sender = FileSender::new(framing(profile), &header)
        .map_err(|e| local("cannot send", io::Error::other(e.to_string())))?;
    conn.flush_output(&mut sender).map_err(|e| send_error(e, "file header", peer, timeout))?;

    let mut progress = Progress::new(filename, filesize, quiet);
    let mut recorded: std::result::Result<(), TransferError> = Ok(());
    let sent = send_file_to(&mut file_handle, &mut conn.get_mut().0, filesize, |n| {
        progress.advance(n);
        if recorded.is_ok() {
            recorded = sender.record_body(n);
        }
    });
    match sent {
        Ok(_) => {}
        Err(SendBodyError::Write(e)) => {
            return Err(match e.kind() {
                io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted => Error::PeerClosed {
                    peer: peer.to_owned(),
                    detail: format!(
                        "after {} of {filesize} bytes of {filename:?} (did it refuse the file? see its output)",
                        progress.done()
                    ),
                },
                // A send timeout: the receiver stopped reading (not "sent nothing").
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::NotReading {
                    peer: peer.to_owned(),
                    timeout,
                    detail: format!(
                        "(after {} of {filesize} bytes of {filename:?})",
                        progress.done()
                    ),
                },
                _ => Error::net("sending to", peer, e, timeout),
            });
        }
        Err(SendBodyError::Read(e)) => return Err(local("cannot read", e)),
        Err(e @ SendBodyError::FileShrank { .. }) => {
            return Err(local("cannot send", io::Error::other(e.to_string())))
        }
    }
    recorded.map_err(|e| Error::Violation {
        peer: peer.to_owned(),
        during: "file body".into(),
        source: e.into(),
    })?;
    if conn.get_ref().0.is_secure() {
        // The receipt is the receiver's close_notify, which it sends only once the file is
        // durable under its final name; a refusal is a reset or a close without it.
        let unread = conn.get_mut().0.finish().map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                not_confirmed(peer, timeout, filename)
            }
            _ => Error::net("waiting for the receipt from", peer, e, timeout),
        })?;
        if unread > 0 {
            return Err(bytes_instead_of_receipt(peer, filename));
        }
        return Ok(progress.finish());
    }
    // Done sending. Under the seed there is no acknowledgement: the receipt is the
    // receiver's clean close (FIN) once it has the whole file on disk. A reset means it
    // refused or failed (wirekit's receiver resets on every refusal, and a kernel resets a
    // socket closed with our bytes unread); silence past --timeout, or bytes where none are
    // due, are not a receipt either. Exit 0 must mean delivered.
    let socket = conn.get_ref().0.tcp();
    let _ = socket.shutdown(std::net::Shutdown::Write);
    await_receipt(socket, peer, timeout, filename)?;
    Ok(progress.finish())
}

/// Wait for the receiver's clean close after the whole body; see [`send`].
fn await_receipt(socket: &TcpStream, peer: &str, timeout: Duration, filename: &str) -> Result<()> {
    let mut sink = [0u8; 256];
    let mut reader = socket;
    let refused = || Error::PeerClosed {
        peer: peer.to_owned(),
        detail: format!("without confirming {filename:?} (it refused or failed; see its output)"),
    };
    loop {
        return match reader.read(&mut sink) {
            Ok(0) => match socket.take_error() {
                Ok(None) => Ok(()),
                _ => Err(refused()),
            },
            Ok(_) => Err(bytes_instead_of_receipt(peer, filename)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Err(not_confirmed(peer, timeout, filename))
            }
            Err(_) => Err(refused()),
        };
    }
}

fn bytes_instead_of_receipt(peer: &str, filename: &str) -> Error {
    Error::Protocol {
        peer: peer.to_owned(),
        detail: format!(
            "sent bytes after {filename:?} instead of closing; a file receiver sends nothing, \
             so the file is not known to be saved"
        ),
    }
}

fn not_confirmed(peer: &str, timeout: Duration, filename: &str) -> Error {
    Error::Protocol {
        peer: peer.to_owned(),
        detail: format!(
            "took all of {filename:?} but did not close the connection within {}, so it \
             is not known to be saved; check its output or raise --timeout",
            Secs(timeout)
        ),
    }
}

/// `--min-rate` is averaged over windows of this many seconds.
pub const RATE_WINDOW_SECS: u64 = 10;

/// Where and how much to receive.
#[derive(Debug, Clone)]
pub struct RecvOptions {
    /// The directory to write into, opened once.
    pub dir: Arc<TargetDir>,
    /// Names, sizes, free space, clobbering.
    pub rules: ReceiveRules,
    /// The slowest body accepted, in bytes per second over each [`RecvOptions::rate_window`]
    /// (`--min-rate`; 0: none).
    pub min_rate: u64,
    /// How long the body rate is averaged over.
    pub rate_window: Duration,
    /// Header framing.
    pub profile: Profile,
    /// No progress bar or summary.
    pub quiet: bool,
}

/// What was received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The file's final path.
    pub path: PathBuf,
    /// The transfer summary.
    pub summary: Summary,
}

/// Receive one file on `session` into `opts.dir`.
///
/// The seed protocol sends the sender no verdict, so a refusal (unsafe name, too large, bad
/// header, short body, disk full) resets the connection instead of closing it: a plain close
/// can reach the sender before its body reaches us, and then looks exactly like success to
/// it. Call [`reset_unless_delivered`] on the stream before the handshake, so that a refused
/// key resets too; only a committed file ends in a clean close.
///
/// `header_phase` (armed at accept, see [`crate::net::Watchdog`]) is disarmed once the header
/// is in; if it fired, the error says so.
pub fn receive(
    session: Session,
    opts: &RecvOptions,
    header_phase: Option<PhaseDeadline>,
) -> Result<Received> {
    let socket = session.stream().try_clone().ok();
    if let Some(socket) = &socket {
        reset_unless_delivered(socket);
    }
    let received = receive_into_dir(session, opts, header_phase);
    if let (Ok(_), Some(socket)) = (&received, socket) {
        // Saved and durable: the clean close that follows is the sender's receipt.
        let _ = rustix::net::sockopt::set_socket_linger(&socket, None);
    }
    received
}

/// `opened`, or the deadline's own error if `phase` fired (the handshake then fails in
/// whatever way a shut-down socket makes it fail, which would not name the cause).
pub fn explain_deadline<T>(opened: Result<T>, phase: Option<&PhaseDeadline>) -> Result<T> {
    opened.map_err(|e| match phase {
        Some(phase) if phase.fired() => header_too_slow(e, phase),
        _ => e,
    })
}

fn header_too_slow(e: Error, phase: &PhaseDeadline) -> Error {
    let peer = match e {
        Error::Net { peer, .. }
        | Error::Timeout { peer, .. }
        | Error::PeerClosed { peer, .. }
        | Error::Frame { peer, .. }
        | Error::Protocol { peer, .. }
        | Error::Violation { peer, .. }
        | Error::AuthFailed { peer, .. } => peer,
        other => return other,
    };
    Error::Protocol {
        peer,
        detail: format!(
            "did not finish the handshake and file header within {} (--header-deadline); \
             the connection was closed",
            Secs(phase.length())
        ),
    }
}

/// Make the close of `stream` a reset (SO_LINGER 0) until [`receive`] has saved a file: every
/// refusal or failure, a handshake's included, reaches the sender as a reset.
pub fn reset_unless_delivered(stream: &TcpStream) {
    let _ = rustix::net::sockopt::set_socket_linger(stream, Some(Duration::ZERO));
}

fn receive_into_dir(
    session: Session,
    opts: &RecvOptions,
    header_phase: Option<PhaseDeadline>,
) -> Result<Received> {
    let Session { mut conn, peer, timeout } = session;
    let peer = peer.as_str();
    let mut receiver: FileReceiver = FileReceiver::new(framing(opts.profile));
    let header = conn
        .drive(&mut receiver, |_, event| match event {
            ReceiveEvent::Header { .. } => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        })
        .map_err(|e| match e {
            // Said once: "file header: header is not a JSON object", not "file header: file header: …".
            DriveError::Protocol(e @ TransferError::Header(_)) => {
                Error::Violation { peer: peer.to_owned(), during: String::new(), source: e.into() }
            }
            // Not a byte came (a port probe, a client that gave up): say so plainly.
            DriveError::Protocol(TransferError::Frame(FrameError::TruncatedPrefix {
                have: 0,
                ..
            })) => Error::PeerClosed {
                peer: peer.to_owned(),
                detail: "before sending a file header".into(),
            },
            other => drive_error(other, "file header", peer, timeout),
        });
    let header = explain_deadline(header, header_phase.as_ref());
    // In time (or failed anyway): the body is bounded by --min-rate from here.
    drop(header_phase);
    header?;
    let (name, filesize) = match receiver.header() {
        Some(h) => (h.filename.to_owned(), h.filesize),
        None => {
            return Err(Error::Protocol { peer: peer.to_owned(), detail: "no file header".into() })
        }
    };
    // Name and size are checked before any byte is written.
    let mut file = AtomicFile::create(&opts.dir, &name, filesize, &opts.rules)?;
    let mut progress = Progress::new(&name, filesize, opts.quiet);
    let buf_len = usize::try_from(filesize).unwrap_or(usize::MAX).clamp(1, RECEIVE_BUF_LEN);
    let mut buf = vec![0u8; buf_len];
    let transfer = |e: StepError<TransferError>| match e {
        StepError::Machine(TransferError::Truncated { received, expected }) => Error::PeerClosed {
            peer: peer.to_owned(),
            detail: format!(
                "after {received} of {expected} bytes of {name:?}; the partial file was discarded"
            ),
        },
        StepError::Machine(other) => {
            Error::Violation { peer: peer.to_owned(), during: String::new(), source: other.into() }
        }
        StepError::UnexpectedEof => {
            Error::PeerClosed { peer: peer.to_owned(), detail: "early".into() }
        }
    };
    let mut rate = RateFloor::new(opts.min_rate, opts.rate_window);
    let mut on_body = |chunk: &[u8]| -> Result<()> {
        file.write_chunk(chunk)?;
        progress.advance(chunk.len() as u64);
        rate.record(chunk.len() as u64);
        rate.check().map_err(|got| Error::Protocol {
            peer: peer.to_owned(),
            detail: format!(
                "sent {got} bytes of {name:?} in {} s, under --min-rate {} bytes/s; \
                 the partial file was discarded",
                opts.rate_window.as_secs_f64(),
                opts.min_rate
            ),
        })
    };
    // The body through the core's driver: first the bytes the pump read along with the
    // header, then straight from the socket into `buf` (large reads, no second copy).
    let mut driver = Driver::new();
    let (used, mut finished) =
        feed_body(&mut driver, &mut receiver, conn.buffered(), false, &mut on_body, &transfer)?;
    conn.consume_buffered(used);
    while !finished {
        let want = usize::try_from(receiver.remaining().unwrap_or(0)).unwrap_or(usize::MAX);
        let slot = buf.get_mut(..want.clamp(1, buf_len)).unwrap_or(&mut []);
        let n = embedded_io::Read::read(conn.get_mut(), slot)
            .map_err(|e| Error::net("receiving from", peer, e, timeout))?;
        let input = buf.get(..n).unwrap_or(&[]);
        // n == 0 is the peer's close: the driver tells the receiver, which calls it short.
        let (_, done) =
            feed_body(&mut driver, &mut receiver, input, n == 0, &mut on_body, &transfer)?;
        finished = done;
    }
    // Exactly `filesize` bytes, not more: body bytes already here past the announced size mean
    // a sender that lied about it (the seed's sender closes after the body), so nothing is
    // put in place. Bytes that come later are never read.
    if !conn.buffered().is_empty()
        || conn
            .get_mut()
            .0
            .more_follows()
            .map_err(|e| Error::net("receiving from", peer, e, timeout))?
    {
        return Err(Error::Protocol {
            peer: peer.to_owned(),
            detail: format!(
                "{name:?}: {}; the older file (if any) is untouched",
                AtomicFileError::Overflow { expected: filesize }
            ),
        });
    }
    if !receiver.is_complete() {
        return Err(Error::Protocol {
            peer: peer.to_owned(),
            detail: "the transfer did not complete".into(),
        });
    }
    let path = file.commit()?;
    crate::console::detail(|| {
        format!(
            "{peer}: {} is durable ({filesize} bytes; file and directory synced)",
            path.display()
        )
    });
    // Secure: durable under its final name, so now the close_notify that is the receipt.
    conn.get_mut().0.finish().map_err(|e| Error::net("confirming to", peer, e, timeout))?;
    Ok(Received { path, summary: progress.finish() })
}

/// Step `receiver` over `input` until it needs more bytes or is finished, handing body
/// chunks to `on_body`. Returns the bytes it took and whether it finished (header, body and
/// its `Complete`). Reads never ask for more than the body's remainder, so bytes past the
/// body can only be in the pump's buffer, where the caller finds them unconsumed.
fn feed_body(
    driver: &mut Driver,
    receiver: &mut FileReceiver,
    input: &[u8],
    peer_closed: bool,
    on_body: &mut impl FnMut(&[u8]) -> Result<()>,
    fail: &impl Fn(StepError<TransferError>) -> Error,
) -> Result<(usize, bool)> {
    let mut used = 0;
    loop {
        let rest = input.get(used..).unwrap_or(&[]);
        let step = driver.step(receiver, Input::new(rest).closed(peer_closed)).map_err(fail)?;
        used += step.consumed;
        match step.action {
            Action::Event(ReceiveEvent::Body { chunk, .. }) => on_body(chunk)?,
            Action::Event(_) | Action::Closed(_) => {}
            // A receiver sends nothing; were it to, nobody reads it.
            Action::Transmit(transmit) => {
                let len = transmit.bytes().len();
                transmit.sent(len);
            }
            Action::NeedInput | Action::WaitingForCaller { .. } => return Ok((used, false)),
            Action::Finished => return Ok((used, true)),
        }
    }
}

/// The body's minimum rate: at least `min_rate * window` bytes in every window (a trickle of
/// one byte per read timeout would otherwise hold a connection slot for ever).
#[derive(Debug)]
struct RateFloor {
    min_rate: u64,
    window: Duration,
    started: std::time::Instant,
    bytes: u64,
}

impl RateFloor {
    fn new(min_rate: u64, window: Duration) -> Self {
        Self { min_rate, window, started: std::time::Instant::now(), bytes: 0 }
    }

    fn record(&mut self, n: u64) {
        self.bytes += n;
    }

    /// `Err(bytes)` when a window ended with too few bytes; then a new window starts.
    fn check(&mut self) -> std::result::Result<(), u64> {
        let elapsed = self.started.elapsed();
        if self.min_rate == 0 || elapsed < self.window {
            return Ok(());
        }
        let needed = (self.min_rate as f64 * elapsed.as_secs_f64()) as u64;
        let got = self.bytes;
        if got < needed {
            return Err(got);
        }
        *self = Self::new(self.min_rate, self.window);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
