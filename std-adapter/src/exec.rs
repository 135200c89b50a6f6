//! `wirekit exec`: remote commands (demo1 raw, demo2 framed) on the core's `Controller` and
//! `Agent` machines.
//!
//! The controller sends commands (it listens by default; `--connect` reaches a listening agent,
//! e.g. a device); the agent runs each command through
//! [`crate::runner`] (timeout, output cap) and replies with stdout then stderr — behind a
//! `struct.pack('i', n)` prefix in demo2, unframed in demo1. A raw controller reads at most
//! [`RAW_READ`] bytes per command, like the seed's `recv(500)`: a longer reply spills into the
//! next command's output. That is demo1's lesson (sticky packets), kept on purpose.
//!
//! Commands: under `--profile seed` a command is its bytes as they are, in one send, and the
//! agent takes each received segment as one command, as the seed does: the network may split
//! a command in two or merge two into one, and the agent then runs the pieces. Under
//! `--profile mp` each command is one mp frame (`!i` length, then the bytes) and the agent runs
//! exactly one command per frame, never a piece or a pair ([`CommandWire`]).

use std::ops::ControlFlow;
use std::time::Duration;

use wirekit_core::command::{
    Agent, AgentEvent, CommandError, Controller, ControllerEvent, Mode, ReplyError,
    DEFAULT_MAX_COMMAND_LEN, QUIT,
};
use wirekit_core::drive::{Action, Driver, Input, StepError};
use wirekit_core::frame::FrameConfig;
use wirekit_core::io::Conn;
use wirekit_core::io::DriveError;
use wirekit_core::Machine;

use crate::cli::Profile;
use crate::encoding::TextEncoding;
use crate::error::{Error, Result};
use crate::link::{drive_error, frame_error, recv_frame_or_close, send_error, Link, StdIo, Wire};
use crate::runner::{run_shell_with, CommandEnv, RunLimits};
use crate::session::Session;

/// Bytes a raw controller reads per command, as the seed's `recv(500)`.
pub const RAW_READ: usize = 500;

/// How commands and replies travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecWire {
    /// demo1 (unframed replies) instead of demo2.
    pub raw: bool,
    /// Command text (and, from our agent, output) on the wire.
    pub encoding: TextEncoding,
    /// Prefix format of demo2's replies (`'i'` under seed, `!i` under mp).
    pub profile: Profile,
}

/// How commands travel: as they are (seed), or one mp frame each (mp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandWire {
    /// The seed's: one send per command, one received segment per command.
    Segment,
    /// One `multiprocessing.connection` frame per command, at most
    /// [`DEFAULT_MAX_COMMAND_LEN`] bytes.
    MpFrame,
    /// One seed frame (`struct.pack('i', n)`, then the bytes) per command, at most
    /// [`DEFAULT_MAX_COMMAND_LEN`] bytes: the secure profile's (section 5).
    SeedFrame,
}

impl CommandWire {
    /// The framing of a command frame (`None`: commands are not framed).
    fn frame_config(self) -> Option<FrameConfig> {
        let config = match self {
            Self::Segment => return None,
            Self::MpFrame => FrameConfig::mp(),
            Self::SeedFrame => FrameConfig::seed(),
        };
        Some(config.with_max_frame_len(DEFAULT_MAX_COMMAND_LEN as u64))
    }
}

impl ExecWire {
    /// How commands travel under this wire's profile (raw or framed replies alike).
    pub const fn commands(&self) -> CommandWire {
        match self.profile {
            Profile::Seed => CommandWire::Segment,
            Profile::Mp => CommandWire::MpFrame,
            Profile::Secure => CommandWire::SeedFrame,
        }
    }

    /// The core's reply mode; framed replies are accepted up to `max_reply` bytes.
    pub fn mode(&self, max_reply: u64) -> Mode {
        if self.raw {
            return Mode::Raw;
        }
        let config = match self.profile {
            Profile::Seed | Profile::Secure => FrameConfig::seed(),
            Profile::Mp => FrameConfig::mp(),
        };
        Mode::Framed(config.with_max_frame_len(max_reply.min(config.field_max())))
    }
}

/// Largest framed reply a controller accepts.
pub const MAX_REPLY: u64 = 64 << 20;

/// What the controller saw for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The command as typed.
    pub command: String,
    /// The reply (raw: one read of at most [`RAW_READ`] bytes), decoded for display.
    pub output: String,
}

/// Controller side of one connection: send each command from `next_command` (until it returns
/// `None` or `q`), read its reply, hand it to `on_reply`; then send `q`. Returns the exchanges.
/// A reply may take as long as the session's `--timeout`; [`control_with`] gives it longer.
pub fn control(
    session: Session,
    wire: ExecWire,
    next_command: impl FnMut() -> Result<Option<String>>,
    on_reply: impl FnMut(&Exchange),
) -> Result<Vec<Exchange>> {
    let reply_timeout = session.timeout;
    control_with(session, wire, reply_timeout, next_command, on_reply)
}

/// [`control`], waiting up to `reply_timeout` for each reply (a command runs meanwhile, so
/// this is the agent's command timeout plus the reply's way back, not the idle `--timeout`
/// that bounds every other read). Zero: no limit.
pub fn control_with(
    session: Session,
    wire: ExecWire,
    reply_timeout: Duration,
    mut next_command: impl FnMut() -> Result<Option<String>>,
    mut on_reply: impl FnMut(&Exchange),
) -> Result<Vec<Exchange>> {
    let Session { mut conn, peer, timeout } = session;
    let timeouts = Timeouts { idle: timeout, reply: reply_timeout };
    let peer = peer.as_str();
    if !conn.buffered().is_empty() {
        // A correct agent sends nothing before the first command.
        return Err(Error::Protocol {
            peer: peer.to_owned(),
            detail: format!("{} unexpected bytes before the first command", conn.buffered().len()),
        });
    }
    let mut exchanges = Vec::new();
    let mut step = |command: String, output: Vec<u8>| {
        let exchange = Exchange { command, output: wire.encoding.decode_lossy(&output).into() };
        on_reply(&exchange);
        exchanges.push(exchange);
    };
    if wire.raw {
        // The seed's recv(500): a pump whose buffer holds 500 bytes (nothing is buffered yet).
        let mut raw: Conn<StdIo<Wire<'_>>, RAW_READ> = Conn::new(conn.into_inner());
        control_on(&mut raw, wire, peer, timeouts, &mut next_command, &mut step)?;
    } else {
        control_on(&mut conn, wire, peer, timeouts, &mut next_command, &mut step)?;
    }
    Ok(exchanges)
}

/// The controller's two read bounds.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    /// Every read but a reply's (`--timeout`).
    idle: Duration,
    /// Waiting for a command's reply (`--reply-timeout`).
    reply: Duration,
}

fn control_on<const N: usize>(
    conn: &mut Conn<StdIo<Wire<'_>>, N>,
    wire: ExecWire,
    peer: &str,
    timeouts: Timeouts,
    next_command: &mut impl FnMut() -> Result<Option<String>>,
    step: &mut impl FnMut(String, Vec<u8>),
) -> Result<()> {
    let timeout = timeouts.idle;
    let read_timeout = |conn: &Conn<StdIo<Wire<'_>>, N>, limit: Duration| {
        conn.get_ref()
            .0
            .tcp()
            .set_read_timeout(crate::net::timeout_of(limit))
            .map_err(|e| Error::net("configuring", peer, e, limit))
    };
    let mut controller: Controller = Controller::new(wire.mode(MAX_REPLY));
    loop {
        let command = next_command()?.unwrap_or_else(|| "q".to_owned());
        let bytes = wire.encoding.encode(&command)?;
        controller.send_command(&bytes).map_err(|e| command_refused(e, &command))?;
        if let Some(framing) = wire.commands().frame_config() {
            // The command, as the controller queued it, goes out as one frame.
            if let Some(transmit) = Driver::new().poll_transmit(&mut controller) {
                let len = transmit.bytes().len();
                conn.send_frame(&framing, transmit.bytes())
                    .map_err(|e| send_error(e, "command", peer, timeout))?;
                transmit.sent(len);
            }
        }
        let mut reply = Vec::new();
        read_timeout(conn, timeouts.reply)?;
        let replied = conn.drive(&mut controller, |_, event| match event {
            ControllerEvent::Output(bytes) => {
                // Raw: one read is one command's output, as in the seed.
                reply.extend_from_slice(bytes);
                ControlFlow::Break(())
            }
            ControllerEvent::ReplyData { chunk, .. } => {
                reply.extend_from_slice(chunk);
                ControlFlow::Continue(())
            }
            ControllerEvent::ReplyStart { .. } => ControlFlow::Continue(()),
            ControllerEvent::ReplyEnd | ControllerEvent::Closed => ControlFlow::Break(()),
        });
        read_timeout(conn, timeout)?;
        replied.map_err(|e| match e {
            // A bad length prefix: said as a frame error, which names the likely cause.
            DriveError::Protocol(ReplyError::Frame(source)) => {
                Error::Frame { peer: peer.to_owned(), source }
            }
            other => match drive_error(other, "reply", peer, timeouts.reply) {
                Error::Timeout { peer, timeout } => {
                    Error::ReplyTimeout { peer, timeout, command: command.clone() }
                }
                other => other,
            },
        })?;
        let finish = |conn: &mut Conn<StdIo<Wire<'_>>, N>| {
            // Secure: our close_notify after `q`, then the agent's (its last reply was sent).
            conn.get_mut()
                .0
                .finish()
                .map(|_| ())
                .map_err(|e| Error::net("closing", peer, e, timeout))
        };
        if bytes.as_ref() == QUIT {
            return finish(conn);
        }
        let closed = controller.is_done();
        if closed && reply.is_empty() {
            return Err(Error::PeerClosed {
                peer: peer.to_owned(),
                detail: format!("before replying to {command:?}"),
            });
        }
        step(command, reply);
        if closed {
            return finish(conn);
        }
    }
}

fn command_refused(reason: CommandError, command: &str) -> Error {
    Error::CommandRefused { command: command.to_owned(), reason }
}

/// What the agent did for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The command, decoded.
    pub command: String,
    /// Reply bytes sent (stdout + stderr, after notices).
    pub reply_len: usize,
    /// The command was killed at the timeout.
    pub timed_out: bool,
}

/// Agent side of one connection: run every command the controller sends until `q` or its
/// close, replying with the output. Waiting for the next command has no timeout (a person may
/// be typing); replies are sent as soon as the command ends. Commands run without
/// [`crate::keys::KEY_ENV`] in their environment.
pub fn serve_agent(
    session: Session,
    wire: ExecWire,
    limits: RunLimits,
    on_run: impl FnMut(&Ran),
) -> Result<Vec<Ran>> {
    serve_agent_with(session, wire, limits, &CommandEnv::of_process(None), on_run)
}

/// [`serve_agent`], the commands' environment changed by `env` (the agent's key removed).
pub fn serve_agent_with(
    session: Session,
    wire: ExecWire,
    limits: RunLimits,
    env: &CommandEnv,
    mut on_run: impl FnMut(&Ran),
) -> Result<Vec<Ran>> {
    let Session { mut conn, peer, timeout } = session;
    let peer = peer.as_str();
    let fail = |e: std::io::Error| Error::net("talking to", peer, e, timeout);
    // The reply limit: both streams at their cap plus room for the notices.
    let max_reply = (limits.max_output as u64).saturating_mul(2).saturating_add(4096);
    let mut agent: Agent = Agent::new(wire.mode(max_reply));
    conn.get_ref().0.tcp().set_read_timeout(None).map_err(fail)?;
    let mut ran = Vec::new();
    let mut frame = vec![0u8; DEFAULT_MAX_COMMAND_LEN];
    loop {
        let next = match wire.commands() {
            CommandWire::Segment => conn
                .drive(&mut agent, |_, event| {
                    ControlFlow::Break(match event {
                        AgentEvent::Command(bytes) => NextCommand::Run(bytes.to_vec()),
                        AgentEvent::Quit => NextCommand::Quit,
                        AgentEvent::Closed => NextCommand::Closed,
                    })
                })
                .map_err(|e| drive_error(e, "command", peer, timeout))?
                .unwrap_or(NextCommand::Closed),
            CommandWire::MpFrame | CommandWire::SeedFrame => {
                next_framed_command(&mut conn, &mut agent, wire, &mut frame, peer, timeout)?
            }
        };
        let bytes = match next {
            NextCommand::Run(bytes) => bytes,
            // Secure: our close_notify once the last reply went out, then the controller's.
            NextCommand::Quit => return finish_agent(&mut conn, peer, timeout).map(|_| ran),
            NextCommand::Closed if !ran.is_empty() || conn.get_ref().0.is_secure() => {
                return finish_agent(&mut conn, peer, timeout).map(|_| ran)
            }
            // Not a session: e.g. a stdin controller that already serves another agent.
            NextCommand::Closed => {
                return Err(Error::PeerClosed {
                    peer: peer.to_owned(),
                    detail: "without sending a command or `q` (is it serving another agent? \
                             see its output)"
                        .into(),
                })
            }
        };
        if ran.is_empty() && looks_like_a_handshake(&bytes) {
            // A keyed controller's challenge, read by an agent without a key: never run it.
            return Err(Error::Protocol {
                peer: peer.to_owned(),
                detail: "the first command looks like a handshake challenge (32 binary bytes, \
                         or #CHALLENGE#): the controller uses a key; give this agent the same \
                         key (--key, --key-file or WIREKIT_KEY)"
                    .into(),
            });
        }
        let command = wire.encoding.decode_lossy(&bytes).into_owned();
        let (stdout, stderr, timed_out) = match run_shell_with(&command, limits, env) {
            Ok(out) => (
                wire.encoding.from_local(&out.stdout).into_owned(),
                wire.encoding.from_local(&out.stderr).into_owned(),
                out.timed_out,
            ),
            // The shell could not start: the controller still gets an answer.
            Err(e) => {
                (Vec::new(), wire.encoding.from_local(e.to_string().as_bytes()).into(), false)
            }
        };
        let protocol = |e: CommandError| Error::Violation {
            peer: peer.to_owned(),
            during: format!("reply to {command:?}"),
            source: e.into(),
        };
        if !wire.raw {
            agent.begin_reply_for(&stdout, &stderr).map_err(protocol)?;
            conn.flush_output(&mut agent).map_err(|e| send_error(e, "reply", peer, timeout))?;
        }
        for part in [&stdout, &stderr] {
            conn.write_all(part).map_err(|e| send_error(e, "reply", peer, timeout))?;
            agent.record_reply_bytes(part.len()).map_err(protocol)?;
        }
        if wire.raw {
            agent.reply_done().map_err(protocol)?;
        }
        let done = Ran { command, reply_len: stdout.len() + stderr.len(), timed_out };
        on_run(&done);
        ran.push(done);
    }
}

/// True for a seed challenge (32 bytes with control bytes no typed command has) or an mp one.
fn looks_like_a_handshake(command: &[u8]) -> bool {
    let binary = |b: &u8| (*b < 0x20 && !b"\t\n\r".contains(b)) || *b == 0x7f;
    (command.len() == wirekit_core::auth::seed::SEED_CHALLENGE_LEN && command.iter().any(binary))
        || command.starts_with(b"#CHALLENGE#")
}

/// The next command under mp: exactly one frame, handed to the agent as one input (so it is
/// one command, whatever segments carried it). `None` once the controller sent `q` or closed.
/// What the agent got from the controller next.
enum NextCommand {
    /// A command to run.
    Run(Vec<u8>),
    /// `q`: the session is over.
    Quit,
    /// The connection closed (after the last command, or instead of the first).
    Closed,
}

fn finish_agent(conn: &mut Link<'_>, peer: &str, timeout: Duration) -> Result<()> {
    conn.get_mut().0.finish().map(|_| ()).map_err(|e| Error::net("closing", peer, e, timeout))
}

fn next_framed_command(
    conn: &mut Link<'_>,
    agent: &mut Agent,
    wire: ExecWire,
    frame: &mut [u8],
    peer: &str,
    timeout: Duration,
) -> Result<NextCommand> {
    let framing = wire.commands().frame_config().unwrap_or_else(FrameConfig::seed);
    let command = recv_frame_or_close(conn, &framing, frame)
        .map_err(|e| frame_error(e, "command", peer, timeout))?;
    let Some(command) = command else { return Ok(NextCommand::Closed) };
    let refused = |detail: String| Error::Protocol { peer: peer.to_owned(), detail };
    // The whole frame is the agent's input at once, so it is one command.
    let mut driver = Driver::new();
    let step = driver.step(agent, Input::new(command)).map_err(|e| match e {
        StepError::Machine(source) => Error::Violation {
            peer: peer.to_owned(),
            during: "command".into(),
            source: source.into(),
        },
        StepError::UnexpectedEof => {
            Error::PeerClosed { peer: peer.to_owned(), detail: "during the command".into() }
        }
    })?;
    match step.action {
        Action::Event(AgentEvent::Command(bytes)) => Ok(NextCommand::Run(bytes.to_vec())),
        Action::Event(AgentEvent::Quit) => Ok(NextCommand::Quit),
        Action::Event(AgentEvent::Closed) | Action::Closed(AgentEvent::Closed) => {
            Ok(NextCommand::Closed)
        }
        _ => Err(refused("an empty command frame".into())),
    }
}

#[cfg(test)]
mod tests;
