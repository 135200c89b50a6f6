//! File transfer (demo3) on a socket: received into a [`BodySink`], sent from a
//! [`BodySource`].

use core::convert::Infallible;
use core::fmt;
use core::ops::ControlFlow;

use smoltcp::socket::tcp;
use wirekit_core::header::{FileHeader, MAX_HEADER_LEN};
use wirekit_core::transfer::{FileReceiver, FileSender, ReceiveEvent, TransferError};

use super::{poll_rounds, Exchange};
use crate::sink::BodySink;
use crate::source::BodySource;
use crate::tcp::{Progress, PumpError, TcpPump};

/// What a file transfer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEvent {
    /// Receiving: the header arrived and the sink accepted it (`BodySink::start`); read it
    /// with [`FileReceive::header`]. Body chunks go to the sink without events.
    Header {
        /// Body bytes that follow.
        filesize: u64,
    },
    /// Receiving: the whole body is in the sink and `BodySink::finish` succeeded.
    /// Sending: the whole body was sent and acknowledged by the peer.
    Done {
        /// Body length.
        len: u64,
    },
}

/// Why receiving a file failed. The sink's `abort` has been called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveError<E> {
    /// The transfer broke: bad header, short body, extra bytes, connection lost.
    Pump(PumpError<TransferError>),
    /// The sink refused the header, a chunk, or the final commit.
    Sink(E),
}

impl<E: fmt::Display> fmt::Display for ReceiveError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pump(err) => write!(f, "receiving file: {err}"),
            Self::Sink(err) => write!(f, "storing file: {err}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for ReceiveError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Pump(err) => Some(err),
            Self::Sink(err) => Some(err),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Running,
    Done,
    Failed,
}

/// Receives one file into a [`BodySink`]: header → `sink.start`, each body chunk →
/// `sink.write` (straight from the socket's receive buffer), complete → `sink.finish`,
/// any error → `sink.abort`. `N` is the header buffer, as for [`FileReceiver`].
#[derive(Debug)]
pub struct FileReceive<S, const N: usize = MAX_HEADER_LEN> {
    pump: TcpPump<FileReceiver<N>>,
    sink: S,
    progress: Progress,
    status: Status,
}

impl<S: BodySink, const N: usize> FileReceive<S, N> {
    /// Receive with `receiver` (its framing and size limit) into `sink`.
    pub const fn new(receiver: FileReceiver<N>, sink: S) -> Self {
        Self {
            pump: TcpPump::new(receiver),
            sink,
            progress: Progress::new(),
            status: Status::Running,
        }
    }

    /// The decoded header, once it arrived.
    pub fn header(&self) -> Option<FileHeader<'_>> {
        self.pump.machine().header()
    }

    /// The receive machine (bytes received, remaining).
    pub const fn receiver(&self) -> &FileReceiver<N> {
        self.pump.machine()
    }

    /// The sink.
    pub const fn sink(&self) -> &S {
        &self.sink
    }

    /// The sink, mutably.
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// Give back the sink.
    pub fn into_sink(self) -> S {
        self.sink
    }

    fn fail(&mut self, err: ReceiveError<S::Error>) -> ReceiveError<S::Error> {
        if self.status == Status::Running {
            self.sink.abort();
        }
        self.status = Status::Failed;
        err
    }
}

impl<S: BodySink, const N: usize> Exchange for FileReceive<S, N> {
    type Event = FileEvent;
    type Error = ReceiveError<S::Error>;

    fn poll(&mut self, socket: &mut tcp::Socket<'_>) -> Result<Option<FileEvent>, Self::Error> {
        self.progress = Progress::new();
        if self.status != Status::Running {
            return Ok(None);
        }
        let sink = &mut self.sink;
        let polled = self.pump.poll_until(socket, |receiver, event| {
            let (result, event) = match event {
                ReceiveEvent::Header { filesize } => {
                    let started = receiver.header().map_or(Ok(()), |header| sink.start(&header));
                    (started, Some(FileEvent::Header { filesize }))
                }
                ReceiveEvent::Body { chunk, .. } => (sink.write(chunk), None),
                ReceiveEvent::Complete => {
                    (sink.finish(), Some(FileEvent::Done { len: receiver.received() }))
                }
            };
            match (result, event) {
                (Err(err), _) => ControlFlow::Break(Err(err)),
                (Ok(()), Some(event)) => ControlFlow::Break(Ok(event)),
                (Ok(()), None) => ControlFlow::Continue(()),
            }
        });
        let (progress, stop) = polled.map_err(|err| self.fail(ReceiveError::Pump(err)))?;
        self.progress = progress;
        match stop {
            None => Ok(None),
            Some(Err(err)) => Err(self.fail(ReceiveError::Sink(err))),
            Some(Ok(event)) => {
                if matches!(event, FileEvent::Done { .. }) {
                    self.status = Status::Done;
                }
                Ok(Some(event))
            }
        }
    }

    fn progress(&self) -> Progress {
        self.progress
    }

    fn is_flushed(&self, socket: &tcp::Socket<'_>) -> bool {
        self.status != Status::Running && self.pump.is_flushed(socket)
    }
}

/// Why sending a file failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError<E> {
    /// The transfer broke: the receiver sent bytes or closed early, connection lost.
    Pump(PumpError<TransferError>),
    /// The source failed to read.
    Source(E),
    /// The source ended before the announced size (the file shrank).
    SourceShort {
        /// Body bytes sent.
        sent: u64,
        /// The announced size.
        expected: u64,
    },
}

impl<E: fmt::Display> fmt::Display for SendError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pump(err) => write!(f, "sending file: {err}"),
            Self::Source(err) => write!(f, "reading file: {err}"),
            Self::SourceShort { sent, expected } => {
                write!(f, "file ended after {sent} of {expected} announced bytes")
            }
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for SendError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Pump(err) => Some(err),
            Self::Source(err) => Some(err),
            Self::SourceShort { .. } => None,
        }
    }
}

/// Sends one file: the core's [`FileSender`] queues the header frame; the body is read from
/// a [`BodySource`] straight into the socket's transmit buffer (smoltcp's `send(|buf| ..)`)
/// and reported with [`FileSender::record_body`]. Reports [`FileEvent::Done`] once the peer
/// acknowledged the last byte; the seed sender then closes the socket.
#[derive(Debug)]
pub struct FileSend<Src> {
    pump: TcpPump<FileSender>,
    source: Src,
    progress: Progress,
    reported: bool,
}

impl<Src: BodySource> FileSend<Src> {
    /// Send `sender`'s header, then `sender.filesize()` bytes from `source`.
    pub const fn new(sender: FileSender, source: Src) -> Self {
        Self { pump: TcpPump::new(sender), source, progress: Progress::new(), reported: false }
    }

    /// The send machine (body bytes sent, remaining).
    pub const fn sender(&self) -> &FileSender {
        self.pump.machine()
    }

    /// Give back the source.
    pub fn into_source(self) -> Src {
        self.source
    }
}

/// Fill the transmit buffer from the source; returns the body bytes queued.
fn send_body<Src: BodySource>(
    pump: &mut TcpPump<FileSender>,
    source: &mut Src,
    socket: &mut tcp::Socket<'_>,
) -> Result<usize, SendError<Src::Error>> {
    let mut queued = 0usize;
    // The free space of the ring buffer is at most two slices.
    for _ in 0..2 {
        let sender = pump.machine();
        let remaining = sender.body_remaining();
        if !sender.header_sent() || remaining == 0 || !socket.can_send() {
            break;
        }
        let want = usize::try_from(remaining).unwrap_or(usize::MAX);
        let sent = socket.send(|buf| {
            let room = buf.len().min(want);
            let Some(window) = buf.get_mut(..room) else { return (0, Ok((0, 0))) };
            match source.read(window) {
                // A source that claims more than it was given is clamped, never trusted.
                Ok(n) => (n.min(room), Ok((n.min(room), room))),
                Err(err) => (0, Err(err)),
            }
        });
        let (n, room) = match sent {
            // Not connected (any more): the pump's connection check reports it.
            Err(_) => break,
            Ok(Err(err)) => return Err(SendError::Source(err)),
            Ok(Ok(step)) => step,
        };
        if n == 0 {
            if room > 0 {
                let sender = pump.machine();
                return Err(SendError::SourceShort {
                    sent: sender.body_sent(),
                    expected: sender.filesize(),
                });
            }
            break;
        }
        pump.machine_mut()
            .record_body(n as u64)
            .map_err(|err| SendError::Pump(PumpError::Machine(err)))?;
        queued = queued.saturating_add(n);
    }
    Ok(queued)
}

impl<Src: BodySource> Exchange for FileSend<Src> {
    type Event = FileEvent;
    type Error = SendError<Src::Error>;

    fn poll(&mut self, socket: &mut tcp::Socket<'_>) -> Result<Option<FileEvent>, Self::Error> {
        let source = &mut self.source;
        poll_rounds(&mut self.pump, socket, &mut self.progress, |pump, socket| {
            let (mut moved, _) = pump
                .poll_until(socket, |_, event: Infallible| -> ControlFlow<Infallible> {
                    match event {}
                })
                .map_err(SendError::Pump)?;
            let body = send_body(pump, source, socket)?;
            moved.sent = moved.sent.saturating_add(body);
            Ok((moved, None::<Infallible>))
        })?;
        self.pump.check(socket).map_err(SendError::Pump)?;
        if !self.reported && self.pump.is_flushed(socket) {
            self.reported = true;
            return Ok(Some(FileEvent::Done { len: self.pump.machine().body_sent() }));
        }
        Ok(None)
    }

    fn progress(&self) -> Progress {
        self.progress
    }

    fn is_flushed(&self, socket: &tcp::Socket<'_>) -> bool {
        self.pump.is_flushed(socket)
    }
}
