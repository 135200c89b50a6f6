//! The one pump: the core's blocking [`Conn`] over a `std` stream.
//!
//! [`StdIo`] lends any `std::io::{Read, Write}` stream the `embedded_io` traits the core's
//! [`Conn`] is written against (`std::io::Error` is an `embedded_io::Error` with the `std`
//! feature), so handshakes, commands and file headers run through the same
//! [`Conn::drive`] as on a device. Read timeouts stay `io::Error`s of kind `WouldBlock` /
//! `TimedOut`, which [`drive_error`] turns into "peer sent nothing for N s".

use std::io;
use std::net::TcpStream;
use std::time::Duration;

use wirekit_core::frame::{FrameConfig, FrameError};
use wirekit_core::io::{Conn, DriveError};

use crate::error::{CoreError, Error};
use crate::secure::SecureIo;

/// Receive buffer of a [`Link`]: large enough for any handshake frame or command reply chunk.
/// File bodies bypass it (see [`crate::file`]).
pub const LINK_BUF: usize = 64 * 1024;

/// A TCP connection driven by the core's pump; under `--profile secure` the pump reads and
/// writes the plaintext of the secure channel ([`Wire::Secure`]).
pub type Link<'b> = Conn<StdIo<Wire<'b>>, LINK_BUF>;

/// What the exchanges read and write: the TCP stream itself, or the plaintext of a secure
/// channel on it (`--profile secure`; its buffers live as long as `'b`).
#[derive(Debug)]
pub enum Wire<'b> {
    /// Seed and mp: the bytes are the TCP stream's.
    Plain(TcpStream),
    /// The secure profile: a Noise channel on the TCP stream.
    Secure(Box<SecureIo<'b>>),
}

impl Wire<'_> {
    /// The TCP connection (for socket options, shutdown, the peer's address).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(stream) => stream,
            Self::Secure(secure) => secure.tcp(),
        }
    }

    /// True under `--profile secure`.
    pub fn is_secure(&self) -> bool {
        matches!(self, Self::Secure(_))
    }

    /// The end of an exchange. Secure: our close_notify, then the peer's (see
    /// [`SecureIo::finish`]); returns the plaintext bytes that came unread meanwhile. Plain:
    /// nothing to do (the exchange closes the socket as the seed does).
    pub fn finish(&mut self) -> io::Result<usize> {
        match self {
            Self::Plain(_) => Ok(0),
            Self::Secure(secure) => secure.finish(),
        }
    }

    /// After a complete message (a file body), checked without waiting on a plain stream and
    /// up to the peer's close_notify on a secure one: does more data follow?
    pub fn more_follows(&mut self) -> io::Result<bool> {
        match self {
            Self::Plain(stream) => Ok(crate::net::bytes_waiting(stream)),
            Self::Secure(secure) => secure.more_follows(),
        }
    }
}

impl io::Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => io::Read::read(stream, buf),
            Self::Secure(secure) => io::Read::read(&mut **secure, buf),
        }
    }
}

impl io::Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(stream) => io::Write::write(stream, buf),
            Self::Secure(secure) => io::Write::write(&mut **secure, buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(stream) => io::Write::flush(stream),
            Self::Secure(secure) => io::Write::flush(&mut **secure),
        }
    }
}

/// A `std` stream seen through `embedded_io`. `Interrupted` is retried here, so the core
/// never sees it.
#[derive(Debug)]
pub struct StdIo<S>(pub S);

impl<S> embedded_io::ErrorType for StdIo<S> {
    type Error = io::Error;
}

impl<S: io::Read> embedded_io::Read for StdIo<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

impl<S: io::Write> embedded_io::Write for StdIo<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Wrap a connected stream.
pub fn link(stream: TcpStream) -> Link<'static> {
    Conn::new(StdIo(Wire::Plain(stream)))
}

/// Receive one whole frame into `buf`; `Ok(None)` when the peer closed cleanly between frames.
pub fn recv_frame_or_close<'b>(
    conn: &mut Link,
    config: &FrameConfig,
    buf: &'b mut [u8],
) -> Result<Option<&'b [u8]>, DriveError<io::Error, FrameError>> {
    match conn.recv_frame(config, buf) {
        Ok(frame) => Ok(Some(frame)),
        // `recv_frame` reports a cut-off frame as a protocol error; this is a clean close.
        Err(DriveError::UnexpectedEof) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whatever arrives next, buffered bytes first (like one `recv`); empty at EOF.
pub fn read_some<T: embedded_io::Read + embedded_io::Write, const N: usize>(
    conn: &mut Conn<T, N>,
) -> Result<Vec<u8>, T::Error> {
    if conn.buffered().is_empty() {
        conn.fill()?;
    }
    let data = conn.buffered().to_vec();
    conn.consume_buffered(data.len());
    Ok(data)
}

/// A frame error from the pump as the binary's error (framing problems suggest a
/// `--profile` mismatch).
pub fn frame_error(
    err: DriveError<io::Error, FrameError>,
    what: &str,
    peer: &str,
    timeout: Duration,
) -> Error {
    match err {
        DriveError::Protocol(source) => Error::Frame { peer: peer.to_owned(), source },
        other => drive_error(other, what, peer, timeout),
    }
}

/// [`drive_error`] for a pump call that only writes (`write_all`, `send_frame`,
/// `flush_output`): a write that timed out means the peer stopped reading
/// ([`Error::NotReading`]), not that it sent nothing.
pub fn send_error<E: Into<CoreError>>(
    err: DriveError<io::Error, E>,
    what: &str,
    peer: &str,
    timeout: Duration,
) -> Error {
    match err {
        DriveError::Io(e)
            if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
        {
            Error::NotReading {
                peer: peer.to_owned(),
                timeout,
                detail: format!("(sending the {what})"),
            }
        }
        other => drive_error(other, what, peer, timeout),
    }
}

/// Turn a pump error into the binary's error. `what` names the exchange ("handshake",
/// "reply", "file header") for protocol errors and early closes.
pub fn drive_error<E: Into<CoreError>>(
    err: DriveError<io::Error, E>,
    what: &str,
    peer: &str,
    timeout: Duration,
) -> Error {
    match err {
        DriveError::Io(e) => Error::net("talking to", peer, e, timeout),
        DriveError::WriteZero => {
            Error::net("sending to", peer, io::ErrorKind::WriteZero.into(), timeout)
        }
        DriveError::Protocol(e) => {
            Error::Violation { peer: peer.to_owned(), during: what.to_owned(), source: e.into() }
        }
        DriveError::UnexpectedEof => {
            Error::PeerClosed { peer: peer.to_owned(), detail: format!("during the {what}") }
        }
        DriveError::BufferFull => Error::Protocol {
            peer: peer.to_owned(),
            detail: format!("{what}: a message does not fit the {LINK_BUF}-byte buffer"),
        },
        // The adapters act on every event before driving again, so this means the peer
        // closed with bytes the exchange cannot use.
        DriveError::Stalled { buffered } => Error::Protocol {
            peer: peer.to_owned(),
            detail: format!("{what}: peer closed, leaving {buffered} bytes that were never used"),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    #[test]
    fn frames_cross_a_real_socket_and_read_ahead_stays_buffered() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // Two frames and raw bytes in one write: the second must wait in the buffer.
            s.write_all(b"\x02\0\0\0hi\x03\0\0\0yourest").unwrap();
            let mut got = [0u8; 7];
            s.read_exact(&mut got).unwrap();
            got
        });
        let mut conn = link(TcpStream::connect(addr).unwrap());
        let mut buf = [0u8; 16];
        let cfg = FrameConfig::seed();
        assert_eq!(conn.recv_frame(&cfg, &mut buf).unwrap(), b"hi");
        assert_eq!(conn.recv_frame(&cfg, &mut buf).unwrap(), b"you");
        while conn.buffered().len() < 4 {
            conn.fill().unwrap();
        }
        assert_eq!(conn.buffered(), b"rest");
        conn.send_frame(&cfg, b"ok").unwrap();
        conn.write_all(b"!").unwrap();
        assert_eq!(&peer.join().unwrap(), b"\x02\0\0\0ok!");
    }

    #[test]
    fn a_silent_peer_becomes_a_timeout_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let _held = listener.accept().unwrap();
        let mut conn = link(stream);
        let mut buf = [0u8; 16];
        let err = conn.recv_frame(&FrameConfig::seed(), &mut buf).unwrap_err();
        let err = drive_error(err, "reply", "p", Duration::from_secs(7));
        assert!(
            matches!(err, Error::Timeout { timeout, .. } if timeout == Duration::from_secs(7)),
            "{err}"
        );
        assert!(err.to_string().contains("sent nothing for 7 s"), "{err}");
    }

    /// Issue 11: a write that timed out is a peer that stopped reading, not a protocol error.
    #[test]
    fn a_peer_that_stops_reading_becomes_not_reading() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        stream.set_write_timeout(Some(Duration::from_millis(100))).unwrap();
        let _held = listener.accept().unwrap(); // never reads
        let mut conn = link(stream);
        let chunk = vec![0u8; 1 << 20];
        let err = loop {
            if let Err(e) = conn.write_all(&chunk) {
                break e;
            }
        };
        let err = send_error(err, "message", "p", Duration::from_millis(100));
        assert!(matches!(err, Error::NotReading { .. }), "{err}");
        assert!(err.to_string().contains("did not read for 0.1 s (sending the message)"), "{err}");
    }
}
