//! An idle deadline on every transport call: a peer that sends nothing (or reads nothing)
//! for that long ends its connection. A wrapper, so the core's drive loop stays the only
//! loop and every wait inside it is bounded.

use embassy_net::tcp::{self, TcpSocket};
use embassy_time::{with_timeout, Duration};
use embedded_io_async::{ErrorKind, ErrorType, Read, Write};

/// What ended a transport call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleError {
    /// The connection was reset (by the peer, or by the stack's own timeout).
    Reset,
    /// Nothing moved for the idle limit.
    Idle,
}

impl core::fmt::Display for IdleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Reset => "connection reset",
            Self::Idle => "peer idle past the deadline",
        })
    }
}

impl core::error::Error for IdleError {}

impl embedded_io_async::Error for IdleError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Reset => ErrorKind::ConnectionReset,
            Self::Idle => ErrorKind::TimedOut,
        }
    }
}

/// A socket whose reads, writes and flushes each give up after `limit`.
pub struct Idle<'s, 'a> {
    socket: &'s mut TcpSocket<'a>,
    limit: Duration,
}

impl<'s, 'a> Idle<'s, 'a> {
    /// Wrap `socket`.
    pub fn new(socket: &'s mut TcpSocket<'a>, limit: Duration) -> Self {
        Self { socket, limit }
    }
}

fn bounded<T>(
    r: Result<Result<T, tcp::Error>, embassy_time::TimeoutError>,
) -> Result<T, IdleError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(tcp::Error::ConnectionReset)) => Err(IdleError::Reset),
        Err(embassy_time::TimeoutError) => Err(IdleError::Idle),
    }
}

impl ErrorType for Idle<'_, '_> {
    type Error = IdleError;
}

impl Read for Idle<'_, '_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, IdleError> {
        bounded(with_timeout(self.limit, self.socket.read(buf)).await)
    }
}

impl Write for Idle<'_, '_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, IdleError> {
        bounded(with_timeout(self.limit, self.socket.write(buf)).await)
    }

    async fn flush(&mut self) -> Result<(), IdleError> {
        bounded(with_timeout(self.limit, self.socket.flush()).await)
    }
}
