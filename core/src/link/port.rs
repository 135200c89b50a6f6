//! [`LinkPort`]: a [`Link`] on a blocking serial port, as an `embedded_io` byte stream, so
//! [`io::Conn`](crate::io::Conn) (and with it every exchange: seed, mp, secure) runs over a
//! UART unchanged. The port needs a read that gives up after a time ([`Serial`]) and a
//! clock ([`Clock`]); a PC serial port with a read timeout has both.
//!
//! * `read` returns delivered stream bytes, pumping the link (sending what is due, waiting
//!   for line bytes or the next deadline) until some arrive; `Ok(0)` is the peer's close.
//! * `write` queues bytes in the link and sends the frames the window allows;
//!   `flush` sends what the window allows and does not wait for acknowledgements (waiting
//!   on every flush would make the link stop-and-wait).
//! * [`LinkPort::finish`] closes our stream and waits until the peer acknowledged every
//!   byte, then lingers to answer the peer's retransmissions of its own last frames (best
//!   effort: a port error while lingering ends it without an error; it ends early once the
//!   peer closed its stream too and went quiet).

use core::time::Duration;

use super::{Link, LinkError};

/// A serial port for [`LinkPort`].
pub trait Serial {
    /// The port's error.
    type Error: core::fmt::Debug;
    /// Read line bytes into `buf`, waiting at most `timeout` for the first (`None`: as long as
    /// it takes); `Ok(0)` when the time passed with nothing.
    fn read(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize, Self::Error>;
    /// Write all of `bytes` to the line.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
}

/// Time since an epoch of the caller's choice (boot, the program's start).
pub trait Clock {
    /// Now.
    fn now(&mut self) -> Duration;
}

/// Why a [`LinkPort`] call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PortError<E: core::fmt::Debug> {
    /// The serial port failed.
    #[error("serial port: {0:?}")]
    Serial(E),
    /// The link failed (peer reset, retry budget, no peer).
    #[error("{0}")]
    Link(LinkError),
}

impl<E: core::fmt::Debug> embedded_io::Error for PortError<E> {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            Self::Serial(_) => embedded_io::ErrorKind::Other,
            Self::Link(LinkError::PeerReset) => embedded_io::ErrorKind::ConnectionReset,
            Self::Link(_) => embedded_io::ErrorKind::TimedOut,
        }
    }
}

/// A [`Link`] on a serial port; `'b` is the caller's frame buffer (at least
/// [`Link::MAX_WIRE_FRAME`] bytes).
#[derive(Debug)]
pub struct LinkPort<'b, S, C, const F: usize = 256, const W: usize = 16, const TX: usize = 4096> {
    link: Link<F, W, TX>,
    serial: S,
    clock: C,
    out: &'b mut [u8],
}

impl<'b, S: Serial, C: Clock, const F: usize, const W: usize, const TX: usize>
    LinkPort<'b, S, C, F, W, TX>
{
    /// `link` on `serial`, frames built in `out` (at least [`Link::MAX_WIRE_FRAME`] bytes).
    pub fn new(link: Link<F, W, TX>, serial: S, clock: C, out: &'b mut [u8]) -> Self {
        Self { link, serial, clock, out }
    }

    /// The link, e.g. for its stats.
    pub const fn link(&self) -> &Link<F, W, TX> {
        &self.link
    }

    /// The link and the port back.
    pub fn into_parts(self) -> (Link<F, W, TX>, S) {
        (self.link, self.serial)
    }

    /// One turn: deadlines, frames due, then (with `wait`) line bytes until the next
    /// deadline.
    fn pump(&mut self, wait: bool) -> Result<(), PortError<S::Error>> {
        let now = self.send_due()?;
        if !wait {
            return Ok(());
        }
        let timeout = self.link.poll_timeout().map(|at| at.saturating_sub(now));
        self.receive(timeout)
    }

    /// Deadlines, then every frame due now. Returns the time.
    fn send_due(&mut self) -> Result<Duration, PortError<S::Error>> {
        let now = self.clock.now();
        self.link.handle_timeout(now).map_err(PortError::Link)?;
        while let Some(n) = self.link.poll_transmit(now, self.out) {
            let frame = self.out.get(..n).unwrap_or(&[]);
            self.serial.write_all(frame).map_err(PortError::Serial)?;
        }
        Ok(now)
    }

    /// Line bytes, waiting at most `timeout` for them, into the link.
    fn receive(&mut self, timeout: Option<Duration>) -> Result<(), PortError<S::Error>> {
        let mut buf = [0u8; 256];
        let n = self.serial.read(&mut buf, timeout).map_err(PortError::Serial)?;
        let now = self.clock.now();
        self.link.handle_input(now, buf.get(..n).unwrap_or(&[])).map_err(PortError::Link)
    }

    /// Close our stream, wait until the peer acknowledged all of it, then answer the
    /// peer's frames for `linger` (its retransmissions, should our last ACK be lost).
    pub fn finish(&mut self, linger: Duration) -> Result<(), PortError<S::Error>> {
        self.link.close();
        while !self.link.is_flushed() {
            self.pump(true)?;
        }
        // Lingering is best effort: the peer may close its port (a pty then fails our
        // writes) as soon as it has everything, which is no error of ours. It ends early
        // once the peer closed its stream too and sent nothing for 8 timeouts, counting at
        // least the first timeout of the configuration, which a peer with fewer round-trip
        // samples uses (time enough for it to repeat, up to three times, a FIN whose ACK
        // was lost).
        let until = self.clock.now().saturating_add(linger);
        let mut heard = self.clock.now();
        loop {
            let Ok(now) = self.send_due() else { return Ok(()) };
            let rto = self.link.retransmission_timeout().max(self.link.config().rto);
            let quiet = rto.saturating_mul(8);
            if now >= until || (self.link.peer_closed() && now >= heard.saturating_add(quiet)) {
                return Ok(());
            }
            let received = self.link.stats().frames_received;
            match self.receive(Some(until.saturating_sub(now).min(quiet))) {
                Ok(()) => {}
                Err(PortError::Serial(_)) => return Ok(()),
                Err(e) => return Err(e),
            }
            if self.link.stats().frames_received != received {
                heard = self.clock.now();
            }
            // Delivered bytes after our exchange ended are not ours to keep.
            while !self.link.readable().is_empty() {
                let n = self.link.readable().len();
                self.link.consume(n);
            }
        }
    }
}

impl<S: Serial, C, const F: usize, const W: usize, const TX: usize> embedded_io::ErrorType
    for LinkPort<'_, S, C, F, W, TX>
{
    type Error = PortError<S::Error>;
}

impl<S: Serial, C: Clock, const F: usize, const W: usize, const TX: usize> embedded_io::Read
    for LinkPort<'_, S, C, F, W, TX>
{
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.link.read(buf);
            if n > 0 {
                // A window update this frees goes out on the next pump: a port error now
                // must not lose the bytes just read.
                return Ok(n);
            }
            if self.link.peer_closed() {
                return Ok(0);
            }
            self.pump(true)?;
        }
    }
}

impl<S: Serial, C: Clock, const F: usize, const W: usize, const TX: usize> embedded_io::Write
    for LinkPort<'_, S, C, F, W, TX>
{
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.link.write(buf);
            if n > 0 {
                self.pump(false)?;
                return Ok(n);
            }
            self.pump(true)?;
        }
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.pump(false)
    }
}
