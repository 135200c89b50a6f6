//! `--profile secure` on a `TcpStream` (docs/protocol.md section 5): the core's
//! [`SecureChannel`] driven by the core's own pump ([`Conn::drive`]), seen by the exchanges as
//! a plain `Read + Write` byte stream ([`SecureIo`]).
//!
//! Why a byte-stream adapter and not each exchange machine wrapped in the channel: the std
//! side of every exchange writes bytes itself (tcp's raw text, exec's command output, the
//! file body in 1 MiB slices) and reads the file body straight into large buffers, and
//! section 5 says the channel carries "the exchange's bytes exactly as the seed profile sends
//! them". With the channel under a `Read + Write`, the very same std code (and the machines
//! it drives: `FileReceiver`, `Agent`, `Controller`) runs inside it, so every receive rule
//! (names, `--max-size`, `--min-free`, `--no-clobber`, deadlines, rates, command and reply
//! limits) applies unchanged. The channel's inner machine is only [`Plaintext`], a queue of
//! what decrypted; the one extra copy per record is small next to the cipher.
//!
//! What the stream means:
//! * `read` returns bytes only after they decrypted and, on the responder, only after the
//!   initiator's first transport message decrypted ("acts on nothing"); `Ok(0)` is the
//!   peer's close_notify. A connection that ends without it, a failed tag, or data after it
//!   are `io::ErrorKind::InvalidData` errors carrying the [`SecureError`].
//! * `write` seals records (at most the peer's limit) and sends them.
//! * [`SecureIo::finish`] is the end of an exchange: our close_notify, then the peer's.

use std::convert::Infallible;
use std::io;
use std::net::TcpStream;
use std::ops::ControlFlow;

use wirekit_core::io::{Conn, DriveError};
use wirekit_core::secure::{
    record_len, rx_buf_len, Buffers, ChannelError, ChannelEvent, Config, InnerHandler, Psk, Role,
    SecureChannel, SecureError, MAX_PLAINTEXT_LIMIT,
};
use wirekit_core::{Handled, Machine};

use crate::link::StdIo;

/// Bytes of a handshake message on the wire (2-byte length, then 50).
pub const HANDSHAKE_MESSAGE_WIRE_LEN: usize = wirekit_core::secure::HANDSHAKE_WIRE_LEN;
/// The plaintext limit a PC states: the largest there is (a device states less).
pub const PLAINTEXT_LIMIT: u16 = MAX_PLAINTEXT_LIMIT;
/// Records sealed before one socket write: a 1 MiB body slice goes out in one syscall.
const TX_RECORDS: usize = 16;
/// Receive buffer of the record pump: one socket read brings up to 4 of the largest records.
/// (`Conn` holds it inline and is built on the stack before it is boxed: a connection
/// thread's 2 MiB stack must hold it, debug builds included.)
const RECORD_BUF: usize = 4 * 65_536;

/// The caller-owned buffers of one secure connection (the channel borrows them).
#[derive(Debug)]
pub struct SecureBuffers {
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl SecureBuffers {
    /// Buffers for [`PLAINTEXT_LIMIT`] both ways.
    pub fn new() -> Self {
        Self {
            rx: vec![0; rx_buf_len(PLAINTEXT_LIMIT)],
            tx: vec![0; TX_RECORDS * record_len(usize::from(MAX_PLAINTEXT_LIMIT))],
        }
    }
}

impl Default for SecureBuffers {
    fn default() -> Self {
        Self::new()
    }
}

/// The channel's inner machine: takes every decrypted byte as it comes and queues it for
/// `read`. It sends nothing itself (`write` seals bytes with
/// [`SecureChannel::write_plaintext`]) and is never done (the exchange on top decides).
#[derive(Debug, Default)]
pub struct Plaintext {
    queued: Vec<u8>,
    taken: usize,
}

impl Plaintext {
    /// Move queued bytes into `buf`; how many.
    fn take(&mut self, buf: &mut [u8]) -> usize {
        let queued = self.queued.get(self.taken..).unwrap_or(&[]);
        let n = queued.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), queued.get(..n)) {
            to.copy_from_slice(from);
        }
        self.taken += n;
        if self.taken == self.queued.len() {
            self.queued.clear();
            self.taken = 0;
        }
        n
    }

    /// Drop what is queued; how many bytes that was.
    fn discard(&mut self) -> usize {
        let n = self.queued.len() - self.taken;
        self.queued.clear();
        self.taken = 0;
        n
    }
}

impl Machine for Plaintext {
    type Event<'i> = &'i [u8];
    type Error = Infallible;

    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<&'i [u8]>, Infallible> {
        Ok(if input.is_empty() { Handled::consumed(0) } else { Handled::event(input.len(), input) })
    }

    fn handle_eof(&mut self) -> Result<Option<&'static [u8]>, Infallible> {
        Ok(None)
    }

    fn output_buf(&self) -> &[u8] {
        &[]
    }

    fn consume_output(&mut self, _: usize) {}

    fn is_done(&self) -> bool {
        false
    }
}

/// Queues each decrypted chunk and stops the drive, so that `read` returns it.
#[derive(Debug)]
pub struct Deliver;

impl InnerHandler<Plaintext> for Deliver {
    type Output = ();
    fn on_inner_event(&mut self, inner: &mut Plaintext, chunk: &[u8]) -> Option<()> {
        inner.queued.extend_from_slice(chunk);
        Some(())
    }
}

type Channel<'b> = SecureChannel<'b, Plaintext, Deliver>;
type PumpError = DriveError<io::Error, ChannelError<Infallible>>;

/// Why a secure connection could not be set up.
#[derive(Debug)]
pub enum SetupFailure {
    /// The operating system's CSPRNG failed.
    Random(String),
    /// Our own buffers or limit are wrong (a bug, not the peer).
    Setup(wirekit_core::secure::SetupError),
    /// The handshake failed (the error as the pump gives it).
    Handshake(DriveError<io::Error, SecureError>),
}

/// A secure connection seen as a byte stream; see the [module docs](self).
pub struct SecureIo<'b> {
    records: Box<Conn<StdIo<TcpStream>, RECORD_BUF>>,
    channel: Channel<'b>,
}

impl std::fmt::Debug for SecureIo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureIo").field("channel", &self.channel).finish_non_exhaustive()
    }
}

impl<'b> SecureIo<'b> {
    /// Run the handshake for `service` (the prologue's name: `tcp`, `exec`, `file`, `auth`)
    /// as `role` on `stream`. Returns once the handshake is over: for the initiator the peer
    /// is then authenticated; for the responder it is not yet (message 1 can be a replay), and
    /// `read` gives nothing until it is.
    pub fn handshake(
        stream: TcpStream,
        psk: &Psk,
        service: &str,
        role: Role,
        buffers: &'b mut SecureBuffers,
    ) -> Result<Self, SetupFailure> {
        let mut ephemeral = [0u8; 32];
        getrandom::fill(&mut ephemeral).map_err(|e| SetupFailure::Random(e.to_string()))?;
        let config = Config { role, service: service.as_bytes(), max_plaintext: PLAINTEXT_LIMIT };
        let buffers = Buffers { rx: &mut buffers.rx, tx: &mut buffers.tx };
        let inner = Plaintext::default();
        let mut channel = SecureChannel::new(&config, psk, ephemeral, buffers, inner, Deliver)
            .map_err(SetupFailure::Setup)?;
        ephemeral.fill(0);
        let mut records = Box::new(Conn::new(StdIo(stream)));
        // The initiator knows its peer at message 2; the responder only at the first record.
        let driven = records.drive(&mut channel, |_, event| {
            let over = matches!(
                (role, event),
                (Role::Initiator, ChannelEvent::PeerAuthenticated)
                    | (Role::Responder, ChannelEvent::Established { .. })
            );
            if over {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        match driven {
            Ok(Some(())) => Ok(Self { records, channel }),
            Ok(None) => Err(SetupFailure::Handshake(DriveError::UnexpectedEof)),
            Err(e) => Err(SetupFailure::Handshake(without_inner(e))),
        }
    }

    /// The TCP connection under the channel.
    pub fn tcp(&self) -> &TcpStream {
        &self.records.get_ref().0
    }

    /// True once the peer proved the key in this session.
    pub fn peer_authenticated(&self) -> bool {
        self.channel.peer_authenticated()
    }

    /// The end of the exchange: send our close_notify (behind everything written), then read
    /// until the peer's has arrived. Returns how many plaintext bytes arrived meanwhile that
    /// nobody read (the caller decides whether they were due). Data after the peer's
    /// close_notify, or a close without it, is an error.
    pub fn finish(&mut self) -> io::Result<usize> {
        // Bytes behind a close_notify that already came: fail without sending ours.
        self.nothing_after_close()?;
        let mut unread = self.channel.with_inner(Plaintext::discard);
        self.channel.close();
        self.records
            .drive(&mut self.channel, |channel, event| {
                if event == ChannelEvent::Inner(()) {
                    unread += channel.with_inner(Plaintext::discard);
                }
                ControlFlow::<()>::Continue(())
            })
            .map_err(pump_error)?;
        self.nothing_after_close()?;
        Ok(unread)
    }

    /// After a complete message (a file body): `true` when more plaintext follows, `false`
    /// when the peer's close_notify came next, with nothing after it. Blocks until one or the
    /// other (or the read timeout).
    pub fn more_follows(&mut self) -> io::Result<bool> {
        let mut one = [0u8; 1];
        if io::Read::read(self, &mut one)? > 0 {
            return Ok(true);
        }
        self.nothing_after_close()?;
        Ok(false)
    }

    /// Bytes already here behind the peer's close_notify are [`SecureError::DataAfterClose`].
    fn nothing_after_close(&self) -> io::Result<()> {
        if self.channel.peer_closed()
            && (!self.records.buffered().is_empty() || crate::net::bytes_waiting(self.tcp()))
        {
            return Err(secure_error(SecureError::DataAfterClose));
        }
        Ok(())
    }

    /// True when the pump's buffer holds a whole record, so that opening it cannot block.
    /// Called only when the channel has just handed out a record's plaintext: its assembler
    /// is then idle and the buffer starts at a record's length prefix.
    fn record_is_buffered(&self) -> bool {
        match self.records.buffered() {
            [high, low, rest @ ..] => rest.len() >= usize::from(u16::from_be_bytes([*high, *low])),
            _ => false,
        }
    }

    /// Drive the channel until plaintext decrypted or the peer's close_notify arrived.
    fn pump(&mut self) -> io::Result<()> {
        self.records
            .drive(&mut self.channel, |_, event| match event {
                ChannelEvent::Inner(()) | ChannelEvent::PeerClosed => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            })
            .map(|_| ())
            .map_err(pump_error)
    }

    fn send_records(&mut self) -> io::Result<()> {
        self.records.flush_output(&mut self.channel).map_err(pump_error)
    }
}

impl io::Read for SecureIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let mut n = self.channel.with_inner(|plain| plain.take(buf));
            if n > 0 {
                // More whole records already read from the socket: open them too, so that one
                // read (a file body chunk) gets more than one record's worth.
                while n < buf.len() && !self.channel.peer_closed() && self.record_is_buffered() {
                    self.pump()?;
                    let rest = buf.get_mut(n..).unwrap_or(&mut []);
                    n += self.channel.with_inner(|plain| plain.take(rest));
                }
                return Ok(n);
            }
            if self.channel.peer_closed() {
                return Ok(0);
            }
            self.pump()?;
        }
    }
}

impl io::Write for SecureIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // 0 taken means the send buffer is full: send it, then there is room.
        for _ in 0..2 {
            let n = self.channel.write_plaintext(buf).map_err(secure_error)?;
            self.send_records()?;
            if n > 0 {
                return Ok(n);
            }
        }
        Err(io::ErrorKind::WriteZero.into())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_records()
    }
}

/// A channel failure as an I/O error (kind `InvalidData`) that names it.
pub fn secure_error(e: SecureError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, ChannelError::<Infallible>::Secure(e))
}

/// The channel failure inside an I/O error made by [`secure_error`], if it is one.
pub fn failure_of(e: &io::Error) -> Option<SecureError> {
    match e.get_ref()?.downcast_ref::<ChannelError<Infallible>>()? {
        ChannelError::Secure(e) => Some(*e),
        ChannelError::Inner(never) => match *never {},
    }
}

fn without_inner(e: PumpError) -> DriveError<io::Error, SecureError> {
    match e {
        DriveError::Io(e) => DriveError::Io(e),
        DriveError::WriteZero => DriveError::WriteZero,
        DriveError::Protocol(ChannelError::Secure(e)) => DriveError::Protocol(e),
        DriveError::Protocol(ChannelError::Inner(never)) => match never {},
        DriveError::UnexpectedEof => DriveError::UnexpectedEof,
        DriveError::BufferFull => DriveError::BufferFull,
        DriveError::Stalled { buffered } => DriveError::Stalled { buffered },
    }
}

fn pump_error(e: PumpError) -> io::Error {
    match without_inner(e) {
        DriveError::Io(e) => e,
        DriveError::Protocol(e) => secure_error(e),
        DriveError::WriteZero => io::ErrorKind::WriteZero.into(),
        // The channel answers every close itself (Truncated); these cannot follow from it.
        DriveError::UnexpectedEof | DriveError::BufferFull | DriveError::Stalled { .. } => {
            secure_error(SecureError::Truncated)
        }
    }
}

/// The Noise role of the side that connected (initiator) or accepted (responder).
pub const fn role_of(we_connected: bool) -> Role {
    if we_connected {
        Role::Initiator
    } else {
        Role::Responder
    }
}

#[cfg(test)]
mod tests;
