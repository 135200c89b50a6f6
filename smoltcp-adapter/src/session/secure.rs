//! The secure profile (docs/protocol.md section 5) on a device: the device's sessions (auth,
//! a file into a [`BodySink`], framed commands for a [`CommandHandler`]) inside the core's
//! [`SecureChannel`], as the responder, over one smoltcp socket.
//!
//! The channel is the machine the [`TcpPump`] drives (through the core's driver, like every
//! other session); the exchange's own core machine runs inside it and sees only plaintext
//! that decrypted, and only once the initiator proved the key with its first transport
//! record ([`SecureEvent::Authenticated`]). The buffers are the caller's (`Buffers`: a
//! receive buffer of one record of the stated limit, [`rx_buf_len`], and a send buffer of at
//! least [`MIN_TX_BUF`](wirekit_core::secure::MIN_TX_BUF)); a device states
//! [`DEVICE_PLAINTEXT_LIMIT`] (1,024 plaintext bytes per record), so the PC never sends it a
//! record larger than about 1 KiB.
//!
//! The ends, as section 5 says ("a side that receives work sends [close_notify] only once
//! the work is committed"): the session commits (a file: `BodySink::finish`) when the inner
//! exchange is done **and** the initiator's close_notify arrived, then queues its own
//! close_notify; the pump is finished when that is sent. A connection that ends without
//! the initiator's close_notify is [`SecureError::Truncated`]: nothing is committed (the
//! sink's `abort`), nothing reported done.
//!
//! Keys: [`Psk::derive`] refuses keys under 16 bytes, so a session cannot be built with one.
//! The ephemeral key is 32 bytes from the device's TRNG, fresh for every connection.

use core::convert::Infallible;
use core::fmt;
use core::marker::PhantomData;
use core::ops::ControlFlow;

use smoltcp::socket::tcp;
use wirekit_core::command::{CommandError, DEFAULT_MAX_COMMAND_LEN};
use wirekit_core::header::MAX_HEADER_LEN;
use wirekit_core::secure::{
    Buffers, ChannelError, ChannelEvent, Config, InnerHandler, Psk, Role, SecureChannel,
    SecureError, SetupError,
};
use wirekit_core::transfer::{FileReceiver, ReceiveEvent};
use wirekit_core::{Handled, Machine};

use super::{poll_rounds, AgentEvent, Exchange, FileEvent};
use crate::command::{CommandHandler, SliceOutput};
use crate::sink::BodySink;
use crate::tcp::{Progress, PumpError, TcpPump};

pub use wirekit_core::secure::rx_buf_len;

mod device;
pub use device::{
    DeviceError, DeviceEvent, DeviceInner, DeviceInnerError, DeviceInnerEvent, DeviceService,
    SecureDevice,
};

/// The plaintext limit a device states in its handshake: records to it carry at most this
/// much, so its receive buffer is [`rx_buf_len`]`(1024)` = 1,042 bytes.
pub const DEVICE_PLAINTEXT_LIMIT: u16 = 1024;

/// What one secure exchange does besides its inner machine. Implemented by
/// [`AuthService`], [`FileService`] and [`ExecService`]; the session ([`SecureSession`])
/// is the same for all three.
pub trait SecureService {
    /// The core machine inside the channel.
    type Inner: Machine;
    /// What the application is told about the exchange.
    type Event: Copy;
    /// Why the device side refused (a sink error).
    type Error: Copy;
    /// The prologue's service name (`auth`, `file`, `exec`). A method, not a constant, so
    /// one service type can serve several exchanges ([`DeviceService`]).
    fn name(&self) -> &'static [u8];

    /// One event of the inner machine (it borrows the channel's receive buffer, so it is
    /// handled here): `Some` stops the pump and reports it.
    fn on_inner_event(
        &mut self,
        inner: &mut Self::Inner,
        event: <Self::Inner as Machine>::Event<'_>,
    ) -> Option<Result<Self::Event, Self::Error>>;

    /// Seal what the service sends beside its inner machine (a command reply); returns the
    /// plaintext bytes sealed. Default: nothing.
    fn send(
        channel: &mut SecureChannel<'_, Self::Inner, Serve<Self>>,
    ) -> Result<usize, SecureSessionError<<Self::Inner as Machine>::Error, Self::Error>>
    where
        Self: Sized,
    {
        let _ = channel;
        Ok(0)
    }

    /// Bytes [`SecureService::send`] still owes (a reply not yet sealed).
    fn pending(&self) -> usize {
        0
    }

    /// The inner machine is done and the initiator's close_notify arrived: commit the work
    /// (then the session queues its close_notify). Default: nothing to commit.
    fn commit(
        channel: &mut SecureChannel<'_, Self::Inner, Serve<Self>>,
    ) -> Result<Option<Self::Event>, Self::Error>
    where
        Self: Sized,
    {
        let _ = channel;
        Ok(None)
    }

    /// The session failed before [`SecureService::commit`]: drop what was received.
    fn abort(&mut self) {}
}

/// The [`InnerHandler`] of a [`SecureService`] (the channel's handler type).
#[derive(Debug)]
pub struct Serve<S>(pub S);

impl<S: SecureService> InnerHandler<S::Inner> for Serve<S> {
    type Output = Result<S::Event, S::Error>;
    fn on_inner_event(
        &mut self,
        inner: &mut S::Inner,
        event: <S::Inner as Machine>::Event<'_>,
    ) -> Option<Self::Output> {
        self.0.on_inner_event(inner, event)
    }
}

/// What a [`SecureSession`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecureEvent<E> {
    /// The initiator proved the key in this session (its first transport record
    /// decrypted): the exchange sees its first byte only now. Count the peer as
    /// authenticated here, not at the handshake (a replayed message 1 never gets this far).
    Authenticated,
    /// An event of the exchange inside.
    Exchange(E),
}

/// Why a [`SecureSession`] failed. The service's `abort` has been called unless the work
/// was committed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecureSessionError<IE, SE> {
    /// The channel (a failed handshake or tag, a truncation), the exchange inside, or the
    /// connection.
    Pump(PumpError<ChannelError<IE>>),
    /// The device side refused (a sink error, a reply that could not be queued).
    Service(SE),
}

impl<IE, SE> SecureSessionError<IE, SE> {
    /// The channel's own error, if that is what failed.
    pub fn secure_error(&self) -> Option<SecureError> {
        match self {
            Self::Pump(PumpError::Machine(ChannelError::Secure(e))) => Some(*e),
            _ => None,
        }
    }

    /// A wrong key, or a handshake meant for another service: the peer is not who it
    /// should be (the seed's "illegitimate client").
    pub fn is_authentication_failure(&self) -> bool {
        self.secure_error().is_some_and(|e| e.is_authentication_failure())
    }
}

impl<IE: fmt::Display, SE: fmt::Display> fmt::Display for SecureSessionError<IE, SE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pump(err) => write!(f, "{err}"),
            Self::Service(err) => write!(f, "{err}"),
        }
    }
}

impl<IE, SE> core::error::Error for SecureSessionError<IE, SE>
where
    IE: core::error::Error + 'static,
    SE: core::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Pump(err) => Some(err),
            Self::Service(err) => Some(err),
        }
    }
}

/// The channel a [`SecureSession`] drives.
pub type ChannelOf<'b, S> = SecureChannel<'b, <S as SecureService>::Inner, Serve<S>>;
/// The error of a [`SecureSession`] with service `S`.
pub type ErrorOf<S> = SecureSessionError<
    <<S as SecureService>::Inner as Machine>::Error,
    <S as SecureService>::Error,
>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Running,
    /// The work is committed (our close_notify is queued).
    Committed,
    Failed,
}

/// One secure exchange as the responder on one socket; see the [module docs](self).
pub struct SecureSession<'b, S: SecureService> {
    pump: TcpPump<ChannelOf<'b, S>>,
    progress: Progress,
    inner_done: bool,
    peer_closed: bool,
    status: Status,
}

impl<S: SecureService> fmt::Debug for SecureSession<'_, S>
where
    S::Inner: fmt::Debug,
    <S::Inner as Machine>::Error: 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecureSession")
            .field("channel", self.pump.machine())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl<'b, S: SecureService> SecureSession<'b, S>
where
    <S::Inner as Machine>::Error: 'static,
{
    /// The responder for `service` around `inner`, stating `max_plaintext`
    /// ([`DEVICE_PLAINTEXT_LIMIT`] suits a device). `ephemeral`: 32 fresh bytes from a
    /// TRNG, never reused.
    pub fn with_service(
        max_plaintext: u16,
        psk: &Psk,
        ephemeral: [u8; 32],
        buffers: Buffers<'b>,
        inner: S::Inner,
        service: S,
    ) -> Result<Self, SetupError> {
        let config = Config { role: Role::Responder, service: service.name(), max_plaintext };
        let channel = SecureChannel::new(&config, psk, ephemeral, buffers, inner, Serve(service))?;
        Ok(Self {
            pump: TcpPump::new(channel),
            progress: Progress::new(),
            inner_done: false,
            peer_closed: false,
            status: Status::Running,
        })
    }

    /// The channel (its state: authenticated, peer's limit, handshake hash).
    pub fn channel(&self) -> &ChannelOf<'b, S> {
        self.pump.machine()
    }

    /// The core machine inside.
    pub fn inner(&self) -> &S::Inner {
        self.pump.machine().inner()
    }

    /// The service (a sink, a command handler).
    pub fn service(&self) -> &S {
        &self.pump.machine().handler().0
    }

    /// The service, mutably (e.g. state a command handler reports).
    pub fn service_mut(&mut self) -> &mut S {
        &mut self.pump.machine_mut().handler_mut().0
    }

    /// The service and the channel's buffers back (zeroed), e.g. to reuse static buffers
    /// for the next connection.
    pub fn into_parts(self) -> (S, Buffers<'b>) {
        let (_, Serve(service), buffers) = self.pump.into_machine().into_parts();
        (service, buffers)
    }

    /// True once the initiator proved the key ([`SecureEvent::Authenticated`]).
    pub fn is_authenticated(&self) -> bool {
        self.pump.machine().peer_authenticated()
    }

    fn fail(&mut self, err: ErrorOf<S>) -> ErrorOf<S> {
        if self.status == Status::Running {
            self.service_mut().abort();
        }
        self.status = Status::Failed;
        err
    }
}

/// Commit once the inner machine is done and the initiator's close_notify is in, then
/// queue ours; `Some` when that produced something to report.
fn commit_if_due<S: SecureService>(
    channel: &mut ChannelOf<'_, S>,
    inner_done: bool,
    peer_closed: bool,
    status: &mut Status,
) -> Option<Result<SecureEvent<S::Event>, S::Error>>
where
    <S::Inner as Machine>::Error: 'static,
{
    if !(inner_done && peer_closed) || *status != Status::Running {
        return None;
    }
    match S::commit(channel) {
        Ok(event) => {
            *status = Status::Committed;
            channel.close();
            event.map(|e| Ok(SecureEvent::Exchange(e)))
        }
        Err(e) => Some(Err(e)),
    }
}

impl<S: SecureService> Exchange for SecureSession<'_, S>
where
    <S::Inner as Machine>::Error: 'static,
{
    type Event = SecureEvent<S::Event>;
    type Error = ErrorOf<S>;

    fn poll(&mut self, socket: &mut tcp::Socket<'_>) -> Result<Option<Self::Event>, Self::Error> {
        if self.status == Status::Failed {
            self.progress = Progress::new();
            return Ok(None);
        }
        let Self { pump, progress, inner_done, peer_closed, status } = self;
        let polled = poll_rounds(pump, socket, progress, |pump, socket| {
            let (mut moved, stop) = pump
                .poll_until(socket, |channel, event| {
                    let reported = match event {
                        ChannelEvent::Established { .. } => None,
                        ChannelEvent::PeerAuthenticated => Some(Ok(SecureEvent::Authenticated)),
                        ChannelEvent::Inner(result) => Some(result.map(SecureEvent::Exchange)),
                        ChannelEvent::InnerDone => {
                            *inner_done = true;
                            commit_if_due::<S>(channel, *inner_done, *peer_closed, status)
                        }
                        ChannelEvent::PeerClosed => {
                            *peer_closed = true;
                            commit_if_due::<S>(channel, *inner_done, *peer_closed, status)
                        }
                    };
                    match reported {
                        None => ControlFlow::Continue(()),
                        Some(r) => ControlFlow::Break(r),
                    }
                })
                .map_err(SecureSessionError::Pump)?;
            let event = stop.transpose().map_err(SecureSessionError::Service)?;
            let sealed = S::send(pump.machine_mut())?;
            if sealed > 0 {
                // The inner machine may now take plaintext the channel holds already (the
                // next command, behind a reply that was just finished): no new byte need
                // arrive for it, so the driver must call it anyway.
                pump.wake();
                moved.sent = moved.sent.saturating_add(sealed);
            }
            Ok((moved, event))
        });
        let event = polled.map_err(|err| self.fail(err))?;
        self.pump.check(socket).map_err(|err| self.fail(SecureSessionError::Pump(err)))?;
        Ok(event)
    }

    fn progress(&self) -> Progress {
        self.progress
    }

    fn is_flushed(&self, socket: &tcp::Socket<'_>) -> bool {
        self.status != Status::Running
            && self.service().pending() == 0
            && self.pump.is_flushed(socket)
    }
}

// ---------------------------------------------------------------------------------------
// auth

/// The inner machine of the auth service: no byte is due inside the channel, only the
/// initiator's close_notify (its first record, which proves the key).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NoData {
    closed: bool,
}

/// Data arrived inside a channel where only close_notify is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnexpectedData {
    /// Bytes of the record that carried it.
    pub len: usize,
}

impl fmt::Display for UnexpectedData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes inside the auth channel, where only close_notify is due", self.len)
    }
}

impl core::error::Error for UnexpectedData {}

impl Machine for NoData {
    type Event<'i> = Infallible;
    type Error = UnexpectedData;

    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<Infallible>, UnexpectedData> {
        if input.is_empty() {
            Ok(Handled::consumed(0))
        } else {
            Err(UnexpectedData { len: input.len() })
        }
    }

    fn handle_eof(&mut self) -> Result<Option<Infallible>, UnexpectedData> {
        self.closed = true;
        Ok(None)
    }

    fn output_buf(&self) -> &[u8] {
        &[]
    }

    fn consume_output(&mut self, _: usize) {}

    fn is_done(&self) -> bool {
        self.closed
    }
}

/// The auth service (`wirekit auth client --profile secure`): the handshake is the proof
/// both ways; the initiator then sends close_notify and the device answers with its own.
/// The verdict is [`SecureEvent::Authenticated`], or an error that
/// [`SecureSessionError::is_authentication_failure`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AuthService;

impl SecureService for AuthService {
    type Inner = NoData;
    type Event = Infallible;
    type Error = Infallible;
    fn name(&self) -> &'static [u8] {
        b"auth"
    }

    fn on_inner_event(
        &mut self,
        _: &mut NoData,
        event: Infallible,
    ) -> Option<Result<Infallible, Infallible>> {
        match event {}
    }
}

/// `wirekit auth client --profile secure` on a device.
pub type SecureAuth<'b> = SecureSession<'b, AuthService>;

impl<'b> SecureAuth<'b> {
    /// The auth responder; see [`SecureSession::with_service`].
    pub fn new(
        max_plaintext: u16,
        psk: &Psk,
        ephemeral: [u8; 32],
        buffers: Buffers<'b>,
    ) -> Result<Self, SetupError> {
        Self::with_service(max_plaintext, psk, ephemeral, buffers, NoData::default(), AuthService)
    }
}

// ---------------------------------------------------------------------------------------
// file

/// The file service (`wirekit file send --profile secure`): the seed's header frame and
/// body inside the channel into a [`BodySink`]: header → `start`, body chunks → `write`,
/// and `finish` only once the sender's close_notify confirmed the end; any failure →
/// `abort`.
#[derive(Debug)]
pub struct FileService<S, const N: usize = MAX_HEADER_LEN> {
    sink: S,
    finished: bool,
    _header: PhantomData<[u8; N]>,
}

impl<S: BodySink, const N: usize> FileService<S, N> {
    /// Receive into `sink`.
    pub const fn new(sink: S) -> Self {
        Self { sink, finished: false, _header: PhantomData }
    }

    /// The sink.
    pub const fn sink(&self) -> &S {
        &self.sink
    }

    /// The sink, mutably.
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// The sink back.
    pub fn into_sink(self) -> S {
        self.sink
    }

    /// Commit the `len` bytes received (`BodySink::finish`).
    fn finish(&mut self, len: u64) -> Result<FileEvent, S::Error> {
        self.sink.finish()?;
        self.finished = true;
        Ok(FileEvent::Done { len })
    }
}

impl<S: BodySink, const N: usize> SecureService for FileService<S, N> {
    type Inner = FileReceiver<N>;
    type Event = FileEvent;
    type Error = S::Error;
    fn name(&self) -> &'static [u8] {
        b"file"
    }

    fn on_inner_event(
        &mut self,
        receiver: &mut FileReceiver<N>,
        event: ReceiveEvent<'_>,
    ) -> Option<Result<FileEvent, S::Error>> {
        match event {
            ReceiveEvent::Header { filesize } => {
                let started = receiver.header().map_or(Ok(()), |header| self.sink.start(&header));
                Some(started.map(|()| FileEvent::Header { filesize }))
            }
            ReceiveEvent::Body { chunk, .. } => self.sink.write(chunk).err().map(Err),
            // Not committed yet: that waits for the sender's close_notify.
            ReceiveEvent::Complete => None,
        }
    }

    fn commit(
        channel: &mut SecureChannel<'_, FileReceiver<N>, Serve<Self>>,
    ) -> Result<Option<FileEvent>, S::Error> {
        let len = channel.inner().received();
        channel.handler_mut().0.finish(len).map(Some)
    }

    fn abort(&mut self) {
        if !self.finished {
            self.sink.abort();
        }
    }
}

/// `wirekit file send --profile secure` on a device, into a [`BodySink`].
pub type SecureFileReceive<'b, S, const N: usize = MAX_HEADER_LEN> =
    SecureSession<'b, FileService<S, N>>;

impl<'b, S: BodySink, const N: usize> SecureFileReceive<'b, S, N> {
    /// The file responder with `receiver` (its size limit) into `sink`; see
    /// [`SecureSession::with_service`].
    pub fn new(
        max_plaintext: u16,
        psk: &Psk,
        ephemeral: [u8; 32],
        buffers: Buffers<'b>,
        receiver: FileReceiver<N>,
        sink: S,
    ) -> Result<Self, SetupError> {
        let service = FileService::new(sink);
        Self::with_service(max_plaintext, psk, ephemeral, buffers, receiver, service)
    }

    /// The decoded header, once it arrived.
    pub fn header(&self) -> Option<wirekit_core::header::FileHeader<'_>> {
        self.inner().header()
    }

    /// The sink.
    pub fn sink(&self) -> &S {
        self.service().sink()
    }
}

// ---------------------------------------------------------------------------------------
// exec

pub use wirekit_core::command::{FramedAgent, FramedCommandError, FramedEvent};

/// The exec service (`wirekit exec controller --profile secure`): each command frame is
/// run by a [`CommandHandler`] into the caller's reply buffers ([`SliceOutput`]), and the
/// reply (its demo2 prefix, stdout, stderr) is sealed straight from those buffers.
#[derive(Debug)]
pub struct ExecService<'o, C, const N: usize = DEFAULT_MAX_COMMAND_LEN> {
    handler: C,
    out: SliceOutput<'o>,
    reply_sent: usize,
    reply_len: usize,
    quit: bool,
}

impl<'o, C: CommandHandler, const N: usize> ExecService<'o, C, N> {
    /// Answer with `handler`, collecting each reply in `out`.
    pub const fn new(handler: C, out: SliceOutput<'o>) -> Self {
        Self { handler, out, reply_sent: 0, reply_len: 0, quit: false }
    }

    /// The handler.
    pub fn handler_mut(&mut self) -> &mut C {
        &mut self.handler
    }

    /// The handler and the reply buffers back.
    pub fn into_parts(self) -> (C, SliceOutput<'o>) {
        (self.handler, self.out)
    }

    /// Seal the reply still owed, straight from the reply buffers, into a channel whose
    /// handler holds this service and whose inner machine is its agent. Returns the
    /// plaintext bytes sealed: fewer than owed when the send buffer filled up.
    fn seal_reply<I, H>(channel: &mut SecureChannel<'_, I, H>) -> Result<usize, ReplyFailure>
    where
        I: Machine + HoldsAgent<N>,
        H: InnerHandler<I> + HoldsReply,
    {
        let mut sealed = 0usize;
        while channel.handler().reply_pending() > 0 {
            let n = channel
                .write_handler_plaintext(HoldsReply::reply_unsent)
                .map_err(ReplyFailure::Secure)?;
            if n == 0 {
                // The send buffer is full: the pump flushes it into the socket first.
                break;
            }
            channel
                .with_inner(|inner| inner.agent().map_or(Ok(()), |a| a.record_reply_bytes(n)))
                .map_err(ReplyFailure::Command)?;
            channel.handler_mut().reply_sealed(n);
            sealed = sealed.saturating_add(n);
        }
        Ok(sealed)
    }
}

impl<C: CommandHandler, const N: usize> SecureService for ExecService<'_, C, N> {
    type Inner = FramedAgent<N>;
    type Event = AgentEvent;
    type Error = CommandError;
    fn name(&self) -> &'static [u8] {
        b"exec"
    }

    fn on_inner_event(
        &mut self,
        agent: &mut FramedAgent<N>,
        event: FramedEvent,
    ) -> Option<Result<AgentEvent, CommandError>> {
        Some(Ok(match event {
            FramedEvent::Command => {
                self.out.clear();
                let overflow = self.handler.run(agent.command(), &mut self.out).err();
                let len =
                    self.out.stdout_bytes().len().saturating_add(self.out.stderr_bytes().len());
                if let Err(e) = agent.begin_reply(len as u64) {
                    return Some(Err(e));
                }
                self.reply_len = len;
                self.reply_sent = 0;
                AgentEvent::Ran { command_len: agent.command().len(), reply_len: len, overflow }
            }
            FramedEvent::Quit => {
                self.quit = true;
                AgentEvent::Quit
            }
            // After `q` the close_notify is expected, not news.
            FramedEvent::Closed if self.quit => return None,
            FramedEvent::Closed => AgentEvent::Closed,
        }))
    }

    fn send(
        channel: &mut SecureChannel<'_, FramedAgent<N>, Serve<Self>>,
    ) -> Result<usize, SecureSessionError<FramedCommandError, CommandError>> {
        Self::seal_reply(channel).map_err(|e| match e {
            ReplyFailure::Secure(e) => SecureSessionError::Pump(PumpError::Machine(e.into())),
            ReplyFailure::Command(e) => SecureSessionError::Service(e),
        })
    }

    fn pending(&self) -> usize {
        self.reply_pending()
    }
}

/// A channel handler that holds an [`ExecService`]'s reply (for
/// [`ExecService::seal_reply`]).
trait HoldsReply {
    /// Reply bytes not sealed yet.
    fn reply_pending(&self) -> usize;
    /// Those bytes, from where the last seal stopped.
    fn reply_unsent(&self) -> &[u8];
    /// `n` of them were sealed.
    fn reply_sealed(&mut self, n: usize);
}

impl<C, const N: usize> HoldsReply for ExecService<'_, C, N> {
    fn reply_pending(&self) -> usize {
        self.reply_len.saturating_sub(self.reply_sent)
    }
    fn reply_unsent(&self) -> &[u8] {
        let stdout = self.out.stdout_bytes();
        match self.reply_sent.checked_sub(stdout.len()) {
            None => stdout.get(self.reply_sent..),
            Some(into_stderr) => self.out.stderr_bytes().get(into_stderr..),
        }
        .unwrap_or_default()
    }
    fn reply_sealed(&mut self, n: usize) {
        self.reply_sent = self.reply_sent.saturating_add(n);
    }
}

impl<S: HoldsReply> HoldsReply for Serve<S> {
    fn reply_pending(&self) -> usize {
        self.0.reply_pending()
    }
    fn reply_unsent(&self) -> &[u8] {
        self.0.reply_unsent()
    }
    fn reply_sealed(&mut self, n: usize) {
        self.0.reply_sealed(n);
    }
}

/// An inner machine that is (or holds) a [`FramedAgent`].
trait HoldsAgent<const N: usize> {
    fn agent(&mut self) -> Option<&mut FramedAgent<N>>;
}

impl<const N: usize> HoldsAgent<N> for FramedAgent<N> {
    fn agent(&mut self) -> Option<&mut FramedAgent<N>> {
        Some(self)
    }
}

/// Why [`ExecService::seal_reply`] stopped.
enum ReplyFailure {
    Secure(SecureError),
    Command(CommandError),
}

/// `wirekit exec controller --profile secure` on a device, answered by a [`CommandHandler`].
pub type SecureCommandAgent<'b, 'o, C, const N: usize = DEFAULT_MAX_COMMAND_LEN> =
    SecureSession<'b, ExecService<'o, C, N>>;

impl<'b, 'o, C: CommandHandler, const N: usize> SecureCommandAgent<'b, 'o, C, N> {
    /// The exec responder; see [`SecureSession::with_service`].
    pub fn new(
        max_plaintext: u16,
        psk: &Psk,
        ephemeral: [u8; 32],
        buffers: Buffers<'b>,
        handler: C,
        out: SliceOutput<'o>,
    ) -> Result<Self, SetupError> {
        let service = ExecService::new(handler, out);
        Self::with_service(max_plaintext, psk, ephemeral, buffers, FramedAgent::new(), service)
    }

    /// The command handler.
    pub fn handler_mut(&mut self) -> &mut C {
        self.service_mut().handler_mut()
    }
}
