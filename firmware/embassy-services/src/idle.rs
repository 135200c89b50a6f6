//! An idle deadline on every transport call: a peer that sends nothing (or reads nothing)
//! for that long ends its connection. A wrapper, so the core's drive loop stays the only
//! loop and every wait inside it is bounded.

use embassy_time::{with_timeout, Duration, TimeoutError};
use embedded_io_async::{ErrorKind, ErrorType, Read, Write};

/// What ended a transport call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleError<E> {
    /// The transport failed (for embassy-net: the connection was reset, by the peer or by
    /// the stack's own timeout).
    Io(E),
    /// Nothing moved for the idle limit.
    Idle,
}

impl<E: core::fmt::Debug> core::fmt::Display for IdleError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "transport: {e:?}"),
            Self::Idle => f.write_str("peer idle past the deadline"),
        }
    }
}

impl<E: core::fmt::Debug> core::error::Error for IdleError<E> {}

impl<E: embedded_io_async::Error> embedded_io_async::Error for IdleError<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Io(e) => e.kind(),
            Self::Idle => ErrorKind::TimedOut,
        }
    }
}

/// A transport whose reads, writes and flushes each give up after `limit`.
#[derive(Debug)]
pub struct Idle<T> {
    io: T,
    limit: Duration,
}

impl<T> Idle<T> {
    /// Wrap `io`.
    pub const fn new(io: T, limit: Duration) -> Self {
        Self { io, limit }
    }
}

fn bounded<T, E>(r: Result<Result<T, E>, TimeoutError>) -> Result<T, IdleError<E>> {
    match r {
        Ok(r) => r.map_err(IdleError::Io),
        Err(TimeoutError) => Err(IdleError::Idle),
    }
}

impl<T: ErrorType> ErrorType for Idle<T> {
    type Error = IdleError<T::Error>;
}

impl<T: Read> Read for Idle<T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        bounded(with_timeout(self.limit, self.io.read(buf)).await)
    }
}

impl<T: Write> Write for Idle<T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        bounded(with_timeout(self.limit, self.io.write(buf)).await)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        bounded(with_timeout(self.limit, self.io.flush()).await)
    }
}
