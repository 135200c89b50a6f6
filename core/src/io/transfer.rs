//! File send and receive over a pump: the error type and the receive sink's steps.

use core::ops::ControlFlow;

#[cfg(doc)]
use super::Conn;
use super::DriveError;
use crate::header::FileHeader;
use crate::transfer::{FileReceiver, ReceiveEvent, TransferError};

/// Why a blocking file transfer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FileIoError<IoE, SrcE> {
    /// The connection failed, closed early, or the protocol was violated.
    #[error("{0}")]
    Drive(DriveError<IoE, TransferError>),
    /// The body source or sink failed.
    #[error("local file: {0}")]
    Local(SrcE),
    /// The body source ended before `filesize` bytes (the file shrank while being sent).
    #[error("file ended after {sent} of {expected} announced bytes")]
    SourceShort {
        /// Bytes sent.
        sent: u64,
        /// The announced size.
        expected: u64,
    },
    /// The scratch buffer for the body is empty, so no body byte could be read; nothing was
    /// sent.
    #[error("empty scratch buffer for the file body")]
    EmptyScratch,
}

/// What a receive sink is given, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// The decoded header; the body follows.
    Header(FileHeader<'a>),
    /// Body bytes.
    Body(&'a [u8]),
}

/// One receive event for [`Conn::receive_file`]'s sink; breaks at the end or on the sink's
/// error.
pub(super) fn receive_step<const H: usize, E>(
    receiver: &mut FileReceiver<H>,
    event: ReceiveEvent<'_>,
    sink: &mut impl FnMut(Incoming<'_>) -> Result<(), E>,
) -> ControlFlow<Result<(), E>> {
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
}
