//! Remote commands (demo1/demo2) on a socket: an agent over a [`CommandHandler`], a
//! controller writing replies into a [`BodySink`].

use core::fmt;
use core::ops::ControlFlow;

use smoltcp::socket::tcp;
use wirekit_core::command::{
    Agent, AgentEvent as CoreAgentEvent, CommandError, Controller,
    ControllerEvent as CoreControllerEvent, ReplyError, DEFAULT_MAX_COMMAND_LEN,
};
use wirekit_core::Machine;

use super::{poll_rounds, Exchange};
use crate::command::{CommandHandler, OutputFull, SliceOutput};
use crate::sink::BodySink;
use crate::tcp::{Progress, PumpError, TcpPump};

/// What a [`CommandAgent`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentEvent {
    /// A command ran and its reply is queued (sent over the next polls).
    Ran {
        /// Length of the command.
        command_len: usize,
        /// Length of the reply (stdout + stderr).
        reply_len: usize,
        /// The handler's output did not fit the buffers: the reply holds what did fit.
        overflow: Option<OutputFull>,
    },
    /// The controller sent `q`: the session is over; close once flushed.
    Quit,
    /// The controller closed the connection.
    Closed,
}

/// Why a [`CommandAgent`] stopped.
pub type AgentError = PumpError<CommandError>;

/// Answers commands with a [`CommandHandler`]. The handler writes stdout and stderr into the
/// caller's buffers ([`SliceOutput`]); the core's [`Agent`] announces the length (framed
/// mode) and the reply bytes go from those buffers into the socket, reported with
/// [`Agent::record_reply_bytes`]. Until a reply is sent whole, the next command stays in
/// the socket's receive buffer.
#[derive(Debug)]
pub struct CommandAgent<'b, H, const N: usize = DEFAULT_MAX_COMMAND_LEN> {
    pump: TcpPump<Agent<N>>,
    handler: H,
    out: SliceOutput<'b>,
    /// Reply bytes (stdout then stderr) handed to the socket.
    reply_sent: usize,
    reply_len: usize,
    progress: Progress,
}

impl<'b, H: CommandHandler, const N: usize> CommandAgent<'b, H, N> {
    /// Answer commands for `agent` (its mode) with `handler`, collecting each reply in `out`.
    pub const fn new(agent: Agent<N>, handler: H, out: SliceOutput<'b>) -> Self {
        Self {
            pump: TcpPump::new(agent),
            handler,
            out,
            reply_sent: 0,
            reply_len: 0,
            progress: Progress::new(),
        }
    }

    /// The agent machine.
    pub const fn agent(&self) -> &Agent<N> {
        self.pump.machine()
    }

    /// The handler.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// Give back the handler and the reply buffers, e.g. to start the next connection's
    /// agent with the same static buffers.
    pub fn into_parts(self) -> (H, SliceOutput<'b>) {
        (self.handler, self.out)
    }

    /// Reply bytes not yet in the socket.
    pub const fn reply_pending(&self) -> usize {
        self.reply_len.saturating_sub(self.reply_sent)
    }
}

/// Copy reply bytes (stdout, then stderr, from `out`) into the transmit buffer once the
/// agent's prefix is out; `sent` of `len` are in the socket already.
fn send_reply<const N: usize>(
    pump: &mut TcpPump<Agent<N>>,
    out: &SliceOutput<'_>,
    sent: &mut usize,
    len: usize,
    socket: &mut tcp::Socket<'_>,
) -> Result<usize, AgentError> {
    let mut queued = 0usize;
    while *sent < len && socket.can_send() && pump.machine().output_buf().is_empty() {
        let stdout = out.stdout_bytes();
        let pending = match sent.checked_sub(stdout.len()) {
            None => stdout.get(*sent..),
            Some(into_stderr) => out.stderr_bytes().get(into_stderr..),
        }
        .unwrap_or_default();
        let n = match socket.send_slice(pending) {
            Ok(n) if n > 0 => n,
            // Full or not connected: the pump's connection check reports a dead socket.
            _ => break,
        };
        pump.machine_mut().record_reply_bytes(n).map_err(PumpError::Machine)?;
        *sent = sent.saturating_add(n);
        queued = queued.saturating_add(n);
    }
    Ok(queued)
}

impl<H: CommandHandler, const N: usize> Exchange for CommandAgent<'_, H, N> {
    type Event = AgentEvent;
    type Error = AgentError;

    fn poll(&mut self, socket: &mut tcp::Socket<'_>) -> Result<Option<AgentEvent>, AgentError> {
        let Self { pump, handler, out, reply_sent, reply_len, progress } = self;
        let event = poll_rounds(pump, socket, progress, |pump, socket| {
            let (mut moved, stop) = pump.poll_until(socket, |agent, event| {
                ControlFlow::Break(match event {
                    CoreAgentEvent::Command(command) => {
                        out.clear();
                        let overflow = handler.run(command, out).err();
                        let len = out.stdout_bytes().len().saturating_add(out.stderr_bytes().len());
                        agent.begin_reply(len as u64).map(|()| AgentEvent::Ran {
                            command_len: command.len(),
                            reply_len: len,
                            overflow,
                        })
                    }
                    CoreAgentEvent::Quit => Ok(AgentEvent::Quit),
                    CoreAgentEvent::Closed => Ok(AgentEvent::Closed),
                })
            })?;
            let event = stop.transpose().map_err(PumpError::Machine)?;
            if let Some(AgentEvent::Ran { reply_len: len, .. }) = event {
                *reply_len = len;
                *reply_sent = 0;
            }
            let reply = send_reply(pump, out, reply_sent, *reply_len, socket)?;
            moved.sent = moved.sent.saturating_add(reply);
            Ok((moved, event))
        })?;
        self.pump.check(socket)?;
        Ok(event)
    }

    fn progress(&self) -> Progress {
        self.progress
    }

    fn is_flushed(&self, socket: &tcp::Socket<'_>) -> bool {
        self.reply_pending() == 0 && self.pump.is_flushed(socket)
    }
}

/// What a [`CommandController`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControllerEvent {
    /// Framed: a whole reply is in the sink (`BodySink::finish` was called).
    ReplyEnd {
        /// Its length.
        len: u64,
    },
    /// The agent closed the connection at a clean point.
    Closed,
}

/// Why a [`CommandController`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControllerError<E> {
    /// Bad reply framing, a cut reply, connection lost.
    Pump(PumpError<ReplyError>),
    /// The sink refused reply bytes.
    Sink(E),
}

impl<E: fmt::Display> fmt::Display for ControllerError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pump(err) => write!(f, "command reply: {err}"),
            Self::Sink(err) => write!(f, "storing command reply: {err}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for ControllerError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Pump(err) => Some(err),
            Self::Sink(err) => Some(err),
        }
    }
}

/// Sends commands ([`CommandController::send_command`]) and writes the replies into a
/// [`BodySink`]. Raw mode (demo1) cannot see where a reply ends: every byte goes to the
/// sink and no `ReplyEnd` comes; framed mode (demo2) reports [`ControllerEvent::ReplyEnd`].
#[derive(Debug)]
pub struct CommandController<S, const N: usize = DEFAULT_MAX_COMMAND_LEN> {
    pump: TcpPump<Controller<N>>,
    sink: S,
    /// Framed: the current reply's announced length.
    reply_len: u64,
    progress: Progress,
}

impl<S: BodySink, const N: usize> CommandController<S, N> {
    /// Drive `controller` (its mode), replies into `sink`.
    pub const fn new(controller: Controller<N>, sink: S) -> Self {
        Self { pump: TcpPump::new(controller), sink, reply_len: 0, progress: Progress::new() }
    }

    /// Queue a command; it goes out on the next poll. `q` ends the session.
    pub fn send_command(&mut self, command: &[u8]) -> Result<(), CommandError> {
        self.pump.machine_mut().send_command(command)
    }

    /// The controller machine (awaiting a reply, remaining bytes).
    pub const fn controller(&self) -> &Controller<N> {
        self.pump.machine()
    }

    /// The sink.
    pub const fn sink(&self) -> &S {
        &self.sink
    }

    /// The sink, mutably (e.g. to clear it between replies).
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }
}

impl<S: BodySink, const N: usize> Exchange for CommandController<S, N> {
    type Event = ControllerEvent;
    type Error = ControllerError<S::Error>;

    fn poll(
        &mut self,
        socket: &mut tcp::Socket<'_>,
    ) -> Result<Option<ControllerEvent>, Self::Error> {
        let (sink, reply_len) = (&mut self.sink, &mut self.reply_len);
        let (progress, stop) = self
            .pump
            .poll_until(socket, |_, event| {
                let written = match event {
                    CoreControllerEvent::Output(chunk)
                    | CoreControllerEvent::ReplyData { chunk, .. } => sink.write(chunk),
                    CoreControllerEvent::ReplyStart { len } => {
                        *reply_len = len;
                        Ok(())
                    }
                    CoreControllerEvent::ReplyEnd => {
                        return ControlFlow::Break(
                            sink.finish().map(|()| ControllerEvent::ReplyEnd { len: *reply_len }),
                        )
                    }
                    CoreControllerEvent::Closed => {
                        return ControlFlow::Break(Ok(ControllerEvent::Closed))
                    }
                };
                match written {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(err) => ControlFlow::Break(Err(err)),
                }
            })
            .map_err(ControllerError::Pump)?;
        self.progress = progress;
        match stop {
            None => Ok(None),
            Some(Ok(event)) => Ok(Some(event)),
            Some(Err(err)) => {
                self.sink.abort();
                Err(ControllerError::Sink(err))
            }
        }
    }

    fn progress(&self) -> Progress {
        self.progress
    }

    fn is_flushed(&self, socket: &tcp::Socket<'_>) -> bool {
        self.pump.is_flushed(socket)
    }
}
