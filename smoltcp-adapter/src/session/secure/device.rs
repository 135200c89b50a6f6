//! One service type for a device's secure file and exec ports: [`DeviceService`].
//!
//! Every [`SecureSession`] type is its own copy of the pump, the session's poll loop and
//! the channel's feeding of the inner machine. A firmware that serves both [`FileService`]
//! and [`ExecService`] can instead give both ports a [`SecureDevice`] session: a session of
//! either exchange, chosen when it is made ([`SecureDevice::file`], [`SecureDevice::exec`]),
//! so that code is linked once (firmware/mcu-example: 2,620 B less flash at opt-level
//! "z"). The bytes on the wire are those of
//! [`SecureFileReceive`](super::SecureFileReceive) and
//! [`SecureCommandAgent`](super::SecureCommandAgent).

use core::fmt;

use wirekit_core::command::{CommandError, DEFAULT_MAX_COMMAND_LEN};
use wirekit_core::header::MAX_HEADER_LEN;
use wirekit_core::secure::{Buffers, Psk, SecureChannel, SetupError};
use wirekit_core::transfer::{FileReceiver, ReceiveEvent, TransferError};
use wirekit_core::{Handled, Machine};

use super::{
    ExecService, FileService, FramedAgent, FramedCommandError, FramedEvent, HoldsAgent, HoldsReply,
    ReplyFailure, SecureService, SecureSession, SecureSessionError, Serve,
};
use crate::command::{CommandHandler, SliceOutput};
use crate::session::{AgentEvent, FileEvent};
use crate::sink::BodySink;
use crate::tcp::PumpError;

/// The inner machine of a [`DeviceService`]: a file receiver or a framed command agent.
#[derive(Debug)]
pub enum DeviceInner<const H: usize = MAX_HEADER_LEN, const C: usize = DEFAULT_MAX_COMMAND_LEN> {
    /// The file exchange's receiver.
    File(FileReceiver<H>),
    /// The exec exchange's agent.
    Exec(FramedAgent<C>),
}

/// An event of a [`DeviceInner`].
#[derive(Debug)]
pub enum DeviceInnerEvent<'i> {
    /// The file receiver's.
    File(ReceiveEvent<'i>),
    /// The agent's.
    Exec(FramedEvent),
}

/// Why a [`DeviceInner`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceInnerError {
    /// The file receiver's error.
    File(TransferError),
    /// The agent's error.
    Exec(FramedCommandError),
}

impl fmt::Display for DeviceInnerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(e) => write!(f, "{e}"),
            Self::Exec(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for DeviceInnerError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::File(e) => Some(e),
            Self::Exec(e) => Some(e),
        }
    }
}

impl<const H: usize, const C: usize> Machine for DeviceInner<H, C> {
    type Event<'i> = DeviceInnerEvent<'i>;
    type Error = DeviceInnerError;

    fn handle_input<'i>(
        &mut self,
        input: &'i [u8],
    ) -> Result<Handled<DeviceInnerEvent<'i>>, DeviceInnerError> {
        match self {
            Self::File(m) => {
                let Handled { consumed, event } =
                    m.handle_input(input).map_err(DeviceInnerError::File)?;
                Ok(Handled { consumed, event: event.map(DeviceInnerEvent::File) })
            }
            Self::Exec(m) => {
                let Handled { consumed, event } =
                    m.handle_input(input).map_err(DeviceInnerError::Exec)?;
                Ok(Handled { consumed, event: event.map(DeviceInnerEvent::Exec) })
            }
        }
    }

    fn handle_eof(&mut self) -> Result<Option<DeviceInnerEvent<'static>>, DeviceInnerError> {
        match self {
            Self::File(m) => {
                Ok(m.handle_eof().map_err(DeviceInnerError::File)?.map(DeviceInnerEvent::File))
            }
            Self::Exec(m) => {
                Ok(m.handle_eof().map_err(DeviceInnerError::Exec)?.map(DeviceInnerEvent::Exec))
            }
        }
    }

    fn output_buf(&self) -> &[u8] {
        match self {
            Self::File(m) => m.output_buf(),
            Self::Exec(m) => m.output_buf(),
        }
    }

    fn consume_output(&mut self, n: usize) {
        match self {
            Self::File(m) => m.consume_output(n),
            Self::Exec(m) => m.consume_output(n),
        }
    }

    fn is_done(&self) -> bool {
        match self {
            Self::File(m) => m.is_done(),
            Self::Exec(m) => m.is_done(),
        }
    }
}

impl<const H: usize, const C: usize> HoldsAgent<C> for DeviceInner<H, C> {
    fn agent(&mut self) -> Option<&mut FramedAgent<C>> {
        match self {
            Self::Exec(agent) => Some(agent),
            Self::File(_) => None,
        }
    }
}

/// What a [`SecureDevice`] session reports: its exchange's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceEvent {
    /// The file exchange's ([`FileService`]).
    File(FileEvent),
    /// The exec exchange's ([`ExecService`]).
    Exec(AgentEvent),
}

/// Why a [`SecureDevice`] session's device side refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceError<E> {
    /// The file exchange's sink.
    File(E),
    /// The exec exchange (a reply that could not be queued).
    Exec(CommandError),
}

impl<E: fmt::Display> fmt::Display for DeviceError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(e) => write!(f, "{e}"),
            Self::Exec(e) => write!(f, "{e}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for DeviceError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::File(e) => Some(e),
            Self::Exec(e) => Some(e),
        }
    }
}

/// The file service or the exec service, one type for both (see [`SecureDevice`]).
#[derive(Debug)]
pub enum DeviceService<
    'o,
    S,
    C,
    const H: usize = MAX_HEADER_LEN,
    const N: usize = DEFAULT_MAX_COMMAND_LEN,
> {
    /// `wirekit file send --profile secure` into a sink.
    File(FileService<S, H>),
    /// `wirekit exec controller --profile secure` answered by a handler.
    Exec(ExecService<'o, C, N>),
}

impl<S: BodySink, C: CommandHandler, const H: usize, const N: usize> HoldsReply
    for DeviceService<'_, S, C, H, N>
{
    fn reply_pending(&self) -> usize {
        match self {
            Self::Exec(exec) => exec.reply_pending(),
            Self::File(_) => 0,
        }
    }
    fn reply_unsent(&self) -> &[u8] {
        match self {
            Self::Exec(exec) => exec.reply_unsent(),
            Self::File(_) => &[],
        }
    }
    fn reply_sealed(&mut self, n: usize) {
        if let Self::Exec(exec) = self {
            exec.reply_sealed(n);
        }
    }
}

/// The channel of a [`SecureDevice`] session.
type DeviceChannel<'b, 'o, S, C, const H: usize, const N: usize> =
    SecureChannel<'b, DeviceInner<H, N>, Serve<DeviceService<'o, S, C, H, N>>>;

impl<'o, S: BodySink, C: CommandHandler, const H: usize, const N: usize> SecureService
    for DeviceService<'o, S, C, H, N>
{
    type Inner = DeviceInner<H, N>;
    type Event = DeviceEvent;
    type Error = DeviceError<S::Error>;

    fn name(&self) -> &'static [u8] {
        match self {
            Self::File(file) => file.name(),
            Self::Exec(exec) => exec.name(),
        }
    }

    fn on_inner_event(
        &mut self,
        inner: &mut DeviceInner<H, N>,
        event: DeviceInnerEvent<'_>,
    ) -> Option<Result<DeviceEvent, DeviceError<S::Error>>> {
        match (self, inner, event) {
            (Self::File(file), DeviceInner::File(receiver), DeviceInnerEvent::File(event)) => {
                let result = file.on_inner_event(receiver, event)?;
                Some(result.map(DeviceEvent::File).map_err(DeviceError::File))
            }
            (Self::Exec(exec), DeviceInner::Exec(agent), DeviceInnerEvent::Exec(event)) => {
                let result = exec.on_inner_event(agent, event)?;
                Some(result.map(DeviceEvent::Exec).map_err(DeviceError::Exec))
            }
            // The constructors pair each service with its own machine.
            _ => None,
        }
    }

    fn send(
        channel: &mut DeviceChannel<'_, 'o, S, C, H, N>,
    ) -> Result<usize, SecureSessionError<DeviceInnerError, DeviceError<S::Error>>> {
        ExecService::<C, N>::seal_reply(channel).map_err(|e| match e {
            ReplyFailure::Secure(e) => SecureSessionError::Pump(PumpError::Machine(e.into())),
            ReplyFailure::Command(e) => SecureSessionError::Service(DeviceError::Exec(e)),
        })
    }

    fn pending(&self) -> usize {
        self.reply_pending()
    }

    fn commit(
        channel: &mut DeviceChannel<'_, 'o, S, C, H, N>,
    ) -> Result<Option<DeviceEvent>, DeviceError<S::Error>> {
        let len = match channel.inner() {
            DeviceInner::File(receiver) => receiver.received(),
            DeviceInner::Exec(_) => return Ok(None),
        };
        match &mut channel.handler_mut().0 {
            Self::File(file) => file.finish(len).map(|e| Some(DeviceEvent::File(e))),
            Self::Exec(_) => Ok(None),
        }
        .map_err(DeviceError::File)
    }

    fn abort(&mut self) {
        match self {
            Self::File(file) => file.abort(),
            Self::Exec(exec) => exec.abort(),
        }
    }
}

/// A secure file or exec session on a device, one type for both: a firmware serving both
/// exchanges links the pump, the session and the channel's feeding of its inner machine
/// once instead of once per exchange.
pub type SecureDevice<
    'b,
    'o,
    S,
    C,
    const H: usize = MAX_HEADER_LEN,
    const N: usize = DEFAULT_MAX_COMMAND_LEN,
> = SecureSession<'b, DeviceService<'o, S, C, H, N>>;

impl<'b, 'o, S: BodySink, C: CommandHandler, const H: usize, const N: usize>
    SecureDevice<'b, 'o, S, C, H, N>
{
    /// The file responder: what
    /// [`SecureFileReceive::new`](super::SecureFileReceive::new) makes, as this type.
    pub fn file(
        max_plaintext: u16,
        psk: &Psk,
        ephemeral: [u8; 32],
        buffers: Buffers<'b>,
        receiver: FileReceiver<H>,
        sink: S,
    ) -> Result<Self, SetupError> {
        let inner = DeviceInner::File(receiver);
        let service = DeviceService::File(FileService::new(sink));
        Self::with_service(max_plaintext, psk, ephemeral, buffers, inner, service)
    }

    /// The exec responder: what
    /// [`SecureCommandAgent::new`](super::SecureCommandAgent::new) makes, as this type.
    pub fn exec(
        max_plaintext: u16,
        psk: &Psk,
        ephemeral: [u8; 32],
        buffers: Buffers<'b>,
        handler: C,
        out: SliceOutput<'o>,
    ) -> Result<Self, SetupError> {
        let inner = DeviceInner::Exec(FramedAgent::new());
        let service = DeviceService::Exec(ExecService::new(handler, out));
        Self::with_service(max_plaintext, psk, ephemeral, buffers, inner, service)
    }

    /// The file session's sink; `None` for an exec session.
    pub fn sink(&self) -> Option<&S> {
        match self.service() {
            DeviceService::File(file) => Some(file.sink()),
            DeviceService::Exec(_) => None,
        }
    }
}
