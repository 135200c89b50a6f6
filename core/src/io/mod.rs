//! Pumps over `embedded_io::{Read, Write}` ([`Conn`], blocking: std code through an adapter
//! type, blocking firmware) and, with the `async` feature, `embedded_io_async::{Read, Write}`
//! (`AsyncConn`: embassy-net's `TcpSocket`, a tokio stream through an adapter). Both are the
//! same shim over [`Driver`], with the same methods.
//!
//! A pump owns the transport and a receive buffer. Bytes read past the end of one exchange
//! (say, application data right behind a handshake) stay in that buffer for the next
//! machine, so nothing is ever lost between machines. [`Conn::drive`] runs any
//! [`Machine`]: flush its output, feed it input, hand its events to a callback which decides
//! whether to keep going, and tell it about EOF.

use core::ops::ControlFlow;

use embedded_io::{Read, Write};

use crate::auth::{Handshake, Outcome};
use crate::drive::{Action, Driver, Step, StepError, Transmit};
use crate::frame::{FrameConfig, FrameError, FrameReader};
use crate::transfer::{FileReceiver, FileSender};
use crate::Machine;

#[macro_use]
mod pump;
#[cfg(feature = "async")]
mod asynch;
mod rx;
mod transfer;

#[cfg(feature = "async")]
pub use asynch::AsyncConn;
use rx::RxBuf;
use transfer::receive_step;
pub use transfer::{FileIoError, Incoming};

#[cfg(all(test, feature = "async"))]
mod async_tests;
#[cfg(test)]
mod tests;

/// What stopped a drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DriveError<IoE, ME> {
    /// The transport failed.
    #[error("transport error: {0}")]
    Io(IoE),
    /// The transport accepted no bytes (`write` returned 0).
    #[error("transport accepted no bytes")]
    WriteZero,
    /// The protocol machine reported an error.
    #[error("{0}")]
    Protocol(ME),
    /// The peer closed before the machine was done, and the machine had nothing to say.
    #[error("peer closed the connection too early")]
    UnexpectedEof,
    /// The receive buffer is full and the machine consumed nothing from it.
    #[error("receive buffer full without progress")]
    BufferFull,
    /// The peer closed, and the machine takes none of the `buffered` bytes it sent before
    /// closing: it waits for a caller action (e.g. an [`Agent`](crate::command::Agent) whose
    /// reply is due). `handle_eof` was not called, so nothing is lost: act, then drive again.
    #[error("peer closed; the machine takes none of the {buffered} bytes sent before that")]
    Stalled {
        /// Bytes received before the close that the machine has not taken.
        buffered: usize,
    },
}

impl<IoE, ME> DriveError<IoE, ME> {
    fn from_step(e: StepError<ME>) -> Self {
        match e {
            StepError::Machine(e) => Self::Protocol(e),
            StepError::UnexpectedEof => Self::UnexpectedEof,
        }
    }

    /// The driver waits for the caller, but a pump can only wait for bytes: say why.
    const fn waiting(untaken: usize, peer_closed: bool) -> Self {
        match (untaken, peer_closed) {
            // It heard of the close and is not done.
            (0, _) => Self::UnexpectedEof,
            (buffered, true) => Self::Stalled { buffered },
            (_, false) => Self::BufferFull,
        }
    }
}

/// What a drive does once a step's borrow of the receive buffer has ended.
enum Next<B> {
    Flow(ControlFlow<B>),
    Fill,
    Finished,
}

/// A blocking transport plus an `N`-byte receive buffer.
#[derive(Debug)]
pub struct Conn<T, const N: usize = 4096> {
    io: T,
    rx: RxBuf<N>,
}

pump_impl!(Conn, Read, Write, [], []);
