//! Blocking file send and receive over [`Conn`].

use core::fmt;
use core::ops::ControlFlow;

use embedded_io::{Read, Write};

use super::{write_all, Conn, DriveError};
use crate::header::FileHeader;
use crate::transfer::{FileReceiver, FileSender, ReceiveEvent, TransferError};

/// Why a blocking file transfer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileIoError<IoE, SrcE> {
    /// The connection failed, closed early, or the protocol was violated.
    Drive(DriveError<IoE, TransferError>),
    /// The body source or sink failed.
    Local(SrcE),
    /// The body source ended before `filesize` bytes (the file shrank while being sent).
    SourceShort {
        /// Bytes sent.
        sent: u64,
        /// The announced size.
        expected: u64,
    },
    /// The scratch buffer for the body is empty, so no body byte could be read; nothing was
    /// sent.
    EmptyScratch,
}

impl<IoE: fmt::Display, SrcE: fmt::Display> fmt::Display for FileIoError<IoE, SrcE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Drive(e) => write!(f, "{e}"),
            Self::Local(e) => write!(f, "local file: {e}"),
            Self::SourceShort { sent, expected } => {
                write!(f, "file ended after {sent} of {expected} announced bytes")
            }
            Self::EmptyScratch => f.write_str("empty scratch buffer for the file body"),
        }
    }
}

impl<IoE: fmt::Debug + fmt::Display, SrcE: fmt::Debug + fmt::Display> core::error::Error
    for FileIoError<IoE, SrcE>
{
}

/// What a receive sink is given, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// The decoded header; the body follows.
    Header(FileHeader<'a>),
    /// Body bytes.
    Body(&'a [u8]),
}

impl<T: Read + Write, const N: usize> Conn<T, N> {
    /// Send the header, then exactly `sender.filesize()` bytes read from `body` through the
    /// scratch buffer `buf`. Returns the body bytes sent. A sender that already failed, or
    /// an empty `buf` with body bytes due, is refused before anything is written.
    pub fn send_file<R: Read>(
        &mut self,
        sender: &mut FileSender,
        body: &mut R,
        buf: &mut [u8],
    ) -> Result<u64, FileIoError<T::Error, R::Error>> {
        let drive = |e| FileIoError::Drive(e);
        if let Some(err) = sender.error() {
            return Err(drive(DriveError::Protocol(err)));
        }
        if buf.is_empty() && sender.body_remaining() > 0 {
            // `read` into an empty window returns 0, which would read as a short source.
            return Err(FileIoError::EmptyScratch);
        }
        self.flush_output(sender).map_err(drive)?;
        while sender.body_remaining() > 0 {
            let want = usize::try_from(sender.body_remaining()).unwrap_or(usize::MAX);
            let window_len = buf.len().min(want);
            let Some(window) = buf.get_mut(..window_len) else { break };
            let n = body.read(window).map_err(FileIoError::Local)?;
            if n == 0 {
                return Err(FileIoError::SourceShort {
                    sent: sender.body_sent(),
                    expected: sender.filesize(),
                });
            }
            write_all(&mut self.io, window.get(..n).unwrap_or(&[])).map_err(drive)?;
            sender
                .record_body(n as u64)
                .map_err(|e| FileIoError::Drive(DriveError::Protocol(e)))?;
        }
        self.io.flush().map_err(|e| FileIoError::Drive(DriveError::Io(e)))?;
        Ok(sender.body_sent())
    }

    /// Receive one file, handing the header and then every body chunk to `sink`. Returns the
    /// body length once all of it arrived; a short stream is an error, never a short file.
    pub fn receive_file<const H: usize, E>(
        &mut self,
        receiver: &mut FileReceiver<H>,
        mut sink: impl FnMut(Incoming<'_>) -> Result<(), E>,
    ) -> Result<u64, FileIoError<T::Error, E>> {
        let outcome = self
            .drive(receiver, |receiver, event| {
                let passed = match event {
                    ReceiveEvent::Header { .. } => match receiver.header() {
                        Some(header) => sink(Incoming::Header(header)),
                        None => Ok(()),
                    },
                    ReceiveEvent::Body { chunk, .. } => sink(Incoming::Body(chunk)),
                    ReceiveEvent::Complete => return ControlFlow::Break(Ok(())),
                };
                match passed {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => ControlFlow::Break(Err(e)),
                }
            })
            .map_err(FileIoError::Drive)?;
        match outcome {
            Some(Err(e)) => Err(FileIoError::Local(e)),
            _ if receiver.is_complete() => Ok(receiver.received()),
            _ => Err(FileIoError::Drive(DriveError::UnexpectedEof)),
        }
    }
}
