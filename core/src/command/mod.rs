//! Remote commands (the seed's demo1 and demo2), sans-IO.
//!
//! A [`Controller`] sends a command; an [`Agent`] receives it, the adapter runs it (a process
//! on a PC, a handler function on a device: running is never the core's job) and the agent
//! side sends back stdout then stderr. Text encoding (GBK on a Chinese Windows console, UTF-8
//! elsewhere) is the adapter's business too: the core moves bytes.
//!
//! ## The two modes
//!
//! * [`Mode::Raw`] (demo1): the reply is stdout then stderr with no framing. The controller
//!   cannot tell where a reply ends, so it reports whatever arrives as
//!   [`ControllerEvent::Output`]. A reply that is longer than one read spills into the next
//!   command's output, and two replies arriving together read as one: TCP's "sticky packets".
//!   An empty reply sends nothing at all, so a controller waiting for it waits forever.
//! * [`Mode::Framed`] (demo2): the agent sends `prefix(len(stdout) + len(stderr))` first
//!   ([`FrameConfig::seed`] is `struct.pack('i', n)`), so the controller knows exactly where
//!   each reply ends: [`ControllerEvent::ReplyStart`], `ReplyData`…, `ReplyEnd`.
//!
//! ## Commands are never framed
//!
//! In both modes the controller sends a command's bytes as they are, in one send, exactly as
//! the seed does; only demo2's *reply* carries a prefix. The seed agent treats each
//! `recv(1024)` as one command. A sans-IO machine cannot see where one receive ended, so the
//! [`Agent`] treats the input of each [`Machine::handle_input`] call as one command (at most
//! `N` bytes of it, like `recv(N)`): the adapter must call it once per received segment.
//! This is ambiguous by nature: two commands that TCP delivers in one segment are read as one
//! command, and a command longer than `N` bytes is read as several. The controller keeps its
//! side small by refusing empty commands (an empty send is indistinguishable from nothing)
//! and commands longer than its buffer.
//!
//! ## Quitting
//!
//! A command that is exactly [`QUIT`] (`q`, nothing around it; trimming a typed line is the
//! adapter's job) ends the session: the controller sends it and is done, the agent receiving
//! it reports [`AgentEvent::Quit`] without running anything and is done.
//!
//! ## One framed exchange
//!
//! ```
//! use wirekit_core::command::{Agent, AgentEvent, Controller, ControllerEvent, Mode};
//! use wirekit_core::Machine;
//!
//! let mut controller: Controller = Controller::new(Mode::seed_framed());
//! let mut agent: Agent = Agent::new(Mode::seed_framed());
//!
//! controller.send_command(b"dir").unwrap();
//! let segment = controller.output_buf().to_vec(); // one `send`
//! controller.consume_output(segment.len());
//!
//! // Agent adapter: one received segment is one command.
//! let handled = agent.handle_input(&segment).unwrap();
//! let Some(AgentEvent::Command(cmd)) = handled.event else { unreachable!() };
//! let (stdout, stderr) = (b"hello\n".to_vec(), b"".to_vec()); // run `cmd` somehow
//! # let _ = cmd;
//! agent.begin_reply_for(&stdout, &stderr).unwrap();
//! let mut wire = agent.output_buf().to_vec(); // the prefix, sent first
//! agent.consume_output(wire.len());
//! wire.extend_from_slice(&stdout); // sent from the adapter's own buffers
//! agent.record_reply_bytes(stdout.len()).unwrap();
//! wire.extend_from_slice(&stderr);
//! agent.record_reply_bytes(stderr.len()).unwrap();
//! assert_eq!(wire, b"\x06\0\0\0hello\n");
//!
//! // Controller adapter: feed what arrives until it is consumed.
//! let mut input = &wire[..];
//! let mut reply = Vec::new();
//! loop {
//!     let handled = controller.handle_input(input).unwrap();
//!     input = &input[handled.consumed..];
//!     match handled.event {
//!         Some(ControllerEvent::ReplyData { chunk, .. }) => reply.extend_from_slice(chunk),
//!         Some(ControllerEvent::ReplyEnd) => break,
//!         _ => {}
//!     }
//! }
//! assert_eq!(reply, b"hello\n");
//! ```
//!
//! The sizes `N` of [`Agent`] and [`Controller`] must be at least 1:
//!
//! ```compile_fail,E0080
//! let agent = wirekit_core::command::Agent::<0>::new(wirekit_core::command::Mode::Raw);
//! ```
//!
//! [`Machine::handle_input`]: crate::Machine::handle_input
//! [`FrameConfig::seed`]: crate::frame::FrameConfig::seed

mod agent;
mod controller;
mod framed;

pub use agent::Agent;
pub use controller::Controller;
pub use framed::{FramedAgent, FramedCommandError, FramedEvent};

use crate::frame::{FrameConfig, FrameError};

/// The command that ends a session.
pub const QUIT: &[u8] = b"q";

/// The seed agent's `recv(1024)`: the default longest command, on both sides.
pub const DEFAULT_MAX_COMMAND_LEN: usize = 1024;

/// How replies travel. Commands are raw in both modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// demo1: stdout then stderr, unframed; the controller cannot see where a reply ends.
    Raw,
    /// demo2: a length prefix for `len(stdout) + len(stderr)`, then stdout, then stderr. The
    /// configuration's `max_frame_len` is the longest reply accepted (controller) or sent
    /// (agent).
    Framed(FrameConfig),
}

impl Mode {
    /// demo2 exactly as the seed: [`FrameConfig::seed`], `struct.pack('i', n)`.
    pub const fn seed_framed() -> Self {
        Self::Framed(FrameConfig::seed())
    }

    /// The framing of replies, if any.
    pub const fn frame_config(&self) -> Option<&FrameConfig> {
        match self {
            Self::Raw => None,
            Self::Framed(config) => Some(config),
        }
    }
}

/// A caller action that the session refused (or, for the agent, the failure that ended it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// An empty command: sending nothing cannot be told apart from not sending.
    #[error("empty command")]
    Empty,
    /// The command is longer than the controller's buffer (and the agent's `recv`).
    #[error("command of {len} bytes exceeds the maximum of {max} bytes")]
    TooLong {
        /// The command's length.
        len: usize,
        /// The longest command accepted.
        max: usize,
    },
    /// The previous command is still waiting to be sent, or (framed) its reply is not
    /// complete yet.
    #[error("the previous command is not finished")]
    Busy,
    /// The session is over: `q` was sent or received, or the peer closed the connection.
    #[error("the command session is closed")]
    Closed,
    /// The agent has no command waiting for a reply.
    #[error("no command is waiting for a reply")]
    NoCommand,
    /// `begin_reply` was called twice for one command.
    #[error("the reply was already begun")]
    ReplyAlreadyBegun,
    /// Framed mode: reply bytes were reported before `begin_reply` announced the length.
    #[error("reply bytes sent before the reply was begun")]
    ReplyNotBegun,
    /// Reply bytes were reported while the length prefix was still in `output_buf`, so they
    /// went out ahead of it.
    #[error("reply bytes sent while {pending} prefix bytes were still unsent")]
    PrefixNotSent {
        /// Prefix bytes still unsent.
        pending: usize,
    },
    /// The announced reply is longer than the framing allows.
    #[error("reply of {len} bytes exceeds the maximum of {max} bytes")]
    ReplyTooLong {
        /// The announced length.
        len: u64,
        /// The configured limit.
        max: u64,
    },
    /// More reply bytes were sent than announced: the peer will read them as the next reply.
    #[error("{sent} reply bytes sent but only {len} announced")]
    ReplyOverrun {
        /// The announced length.
        len: u64,
        /// Bytes reported sent, including the excess.
        sent: u64,
    },
    /// `reply_done` was called before the announced length was sent.
    #[error("reply finished after {sent} of {len} announced bytes")]
    ReplyIncomplete {
        /// The announced length.
        len: u64,
        /// Bytes sent so far.
        sent: u64,
    },
}

/// Why the controller could not read a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// Framed: the length prefix was invalid (negative, over the limit) or cut off.
    #[error("bad reply framing: {0}")]
    Frame(#[source] FrameError),
    /// Framed: the agent closed the connection in the middle of a reply.
    #[error("connection closed inside a reply ({} of {len} bytes received)", .len.saturating_sub(*.missing))]
    Truncated {
        /// The reply's announced length.
        len: u64,
        /// Bytes that never arrived.
        missing: u64,
    },
    /// Framed: the agent closed the connection before replying to a command.
    #[error("connection closed before the reply")]
    NoReply,
    /// Framed: reply bytes arrived while no command was waiting for one.
    #[error("{len} reply bytes arrived while no command was pending")]
    Unsolicited {
        /// Bytes that arrived.
        len: usize,
    },
}

/// What the controller received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControllerEvent<'i> {
    /// Raw: output bytes as they arrived, borrowed from the input. Where one reply ends and
    /// the next begins is unknowable.
    Output(&'i [u8]),
    /// Framed: a reply of `len` bytes (stdout then stderr) begins.
    ReplyStart {
        /// Reply length.
        len: u64,
    },
    /// Framed: reply bytes, borrowed from the input.
    ReplyData {
        /// The bytes.
        chunk: &'i [u8],
        /// Reply bytes still to come after `chunk`.
        remaining: u64,
    },
    /// Framed: the reply is complete; the next command may be sent.
    ReplyEnd,
    /// The agent closed the connection at a clean point.
    Closed,
}

/// What the agent received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentEvent<'i> {
    /// A command to run, borrowed from the input. Reply with `begin_reply` /
    /// `record_reply_bytes` / `reply_done`.
    Command(&'i [u8]),
    /// The controller sent `q`: the session is over, nothing is run.
    Quit,
    /// The controller closed the connection.
    Closed,
}

#[cfg(test)]
mod tests;
