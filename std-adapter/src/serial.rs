//! The serial link on a PC serial port: the core's [`link::port::Serial`] and
//! [`link::port::Clock`] for a `serialport` port and the monotonic clock, so a
//! [`LinkPort`] on a UART, a USB CDC-ACM port or a pty is an `embedded_io` stream the core's
//! [`Conn`](wirekit_core::io::Conn) runs any exchange over (docs/protocol.md section 7).
//!
//! Library only for now: the `--serial PATH --baud N` options of the subcommands (issue 17)
//! are not wired to it yet.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use wirekit_core::link::port::{Clock, LinkPort, Serial};
use wirekit_core::link::{Link, LinkConfig};

/// The link type the PC uses: 256-byte frames, a window of 16, 16 KiB of send buffer.
pub type PcLink = Link<256, 16, 16_384>;

/// A [`LinkPort`] on a PC serial port.
pub type PcPort<'b> = LinkPort<'b, Port, Wall, 256, 16, 16_384>;

/// Bytes [`PcPort`] needs for its frame buffer.
pub const FRAME_BUF: usize = PcLink::MAX_WIRE_FRAME;

/// A serial port through the `serialport` crate.
pub struct Port(Box<dyn serialport::SerialPort>);

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Port").field(&self.0.name()).finish()
    }
}

impl Port {
    /// Open `path` at `baud`, 8N1, no flow control.
    pub fn open(path: &str, baud: u32) -> io::Result<Self> {
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(io::Error::from)?;
        Ok(Self(port))
    }

    /// Wrap a port opened by the caller (a pty pair in tests).
    pub fn from_port(port: Box<dyn serialport::SerialPort>) -> Self {
        Self(port)
    }
}

/// The longest single wait: a link with no deadline (idle) still looks up this often.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// How long a write may wait for room in the port's buffer.
const WRITE_WAIT: Duration = Duration::from_secs(10);

impl Serial for Port {
    type Error = io::Error;

    fn read(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<usize> {
        // A zero timeout would mean "block" to some drivers: wait at least 1 ms.
        let wait = timeout.unwrap_or(IDLE_WAIT).clamp(Duration::from_millis(1), IDLE_WAIT);
        self.0.set_timeout(wait).map_err(io::Error::from)?;
        match self.0.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        // The timeout is shared with reads (set short there); a write waits for room in
        // the driver's buffer as long as the line needs to drain it.
        self.0.set_timeout(WRITE_WAIT).map_err(io::Error::from)?;
        self.0.write_all(bytes)?;
        self.0.flush()
    }
}

/// The monotonic clock, from when it was made.
#[derive(Debug, Clone, Copy)]
pub struct Wall(Instant);

impl Wall {
    /// A clock starting now.
    pub fn start() -> Self {
        Self(Instant::now())
    }
}

impl Clock for Wall {
    fn now(&mut self) -> Duration {
        self.0.elapsed()
    }
}

/// A [`PcPort`] on `port` at `baud` (deadlines paced for it) with session id `session`
/// (random: a new one each run), frames built in `frame_buf`.
pub fn link_port(port: Port, baud: u32, session: u32, frame_buf: &mut [u8]) -> PcPort<'_> {
    LinkPort::new(PcLink::new(pc_config(baud), session), port, Wall::start(), frame_buf)
}

/// The link's timing on a PC: paced for `baud`, and a timeout of at least 25 ms, since a
/// thread on a loaded host wakes that late now and then: the core's 10 ms floor made
/// spurious timeouts on a clean line, a 100 ms one slows recovery at 1 % errors
/// (BENCHMARKS.md section 10).
pub fn pc_config(baud: u32) -> LinkConfig {
    let mut config = LinkConfig::for_baud(baud);
    config.min_rto = Duration::from_millis(25);
    config
}

#[cfg(test)]
mod tests;
