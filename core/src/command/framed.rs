//! The agent of the secure profile's exec exchange (docs/protocol.md section 5): commands
//! arrive framed, each behind a seed prefix, and go whole to an [`Agent`], which frames the
//! reply (demo2). A machine over two machines, so that adapters drive it like any other.

use super::{Agent, AgentEvent, CommandError, Mode, DEFAULT_MAX_COMMAND_LEN};
use crate::frame::{FrameConfig, FrameError, FrameReader};
use crate::{Handled, Machine};

/// The framed agent inside the exec channel: each command arrives as one seed frame
/// (`struct.pack('i', n)`, then the bytes; section 5), is collected in `N` bytes of its own
/// (a frame may span records) and handed whole to the core's [`Agent`], which frames the
/// reply (demo2).
#[derive(Debug)]
pub struct FramedAgent<const N: usize = DEFAULT_MAX_COMMAND_LEN> {
    reader: FrameReader,
    command: [u8; N],
    command_len: usize,
    agent: Agent<N>,
}

/// What a [`FramedAgent`] reports; the command itself is [`FramedAgent::command`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramedEvent {
    /// A command arrived: run it, then `begin_reply` and the reply bytes.
    Command,
    /// `q`: the session is over.
    Quit,
    /// The controller's close_notify.
    Closed,
}

/// Why a [`FramedAgent`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramedCommandError {
    /// A bad command frame (longer than `N`, a negative length, cut by close_notify).
    #[error("command frame: {0}")]
    Frame(#[source] FrameError),
    /// The agent refused (a reply longer than announced).
    #[error(transparent)]
    Command(CommandError),
    /// A frame with no command in it.
    #[error("an empty command frame")]
    Empty,
}

impl<const N: usize> FramedAgent<N> {
    /// An agent for commands of at most `N` bytes, framed replies (demo2).
    pub const fn new() -> Self {
        let config = FrameConfig::seed().with_max_frame_len(N as u64);
        Self {
            reader: FrameReader::new(config),
            command: [0; N],
            command_len: 0,
            agent: Agent::new(Mode::seed_framed()),
        }
    }

    /// The last command.
    pub fn command(&self) -> &[u8] {
        self.command.get(..self.command_len).unwrap_or_default()
    }

    /// The core agent (reply state).
    pub const fn agent(&self) -> &Agent<N> {
        &self.agent
    }

    /// Announce a reply of `len` bytes (queues its prefix).
    pub fn begin_reply(&mut self, len: u64) -> Result<(), CommandError> {
        self.agent.begin_reply(len)
    }

    /// `n` reply bytes were sealed.
    pub fn record_reply_bytes(&mut self, n: usize) -> Result<(), CommandError> {
        self.agent.record_reply_bytes(n)
    }
}

impl<const N: usize> Default for FramedAgent<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Machine for FramedAgent<N> {
    type Event<'i> = FramedEvent;
    type Error = FramedCommandError;

    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<FramedEvent>, FramedCommandError> {
        // A reply is owed (or the session is over): the next command waits where it is.
        if self.agent.is_replying() || self.agent.is_done() || input.is_empty() {
            return Ok(Handled::consumed(0));
        }
        let step = self.reader.read_frame(input, &mut self.command);
        let Handled { consumed, event } = step.map_err(FramedCommandError::Frame)?;
        let Some(len) = event.map(<[u8]>::len) else { return Ok(Handled::consumed(consumed)) };
        if len == 0 {
            return Err(FramedCommandError::Empty);
        }
        self.command_len = len;
        let command = self.command.get(..len).unwrap_or_default();
        let event = self.agent.handle_input(command).map_err(FramedCommandError::Command)?.event;
        let event = match event {
            Some(AgentEvent::Command(_)) => FramedEvent::Command,
            Some(AgentEvent::Quit) => FramedEvent::Quit,
            Some(AgentEvent::Closed) => FramedEvent::Closed,
            // An idle agent takes any non-empty command.
            None => return Err(FramedCommandError::Empty),
        };
        Ok(Handled::event(consumed, event))
    }

    fn handle_eof(&mut self) -> Result<Option<FramedEvent>, FramedCommandError> {
        self.reader.finish().map_err(FramedCommandError::Frame)?;
        let closed = self.agent.handle_eof().map_err(FramedCommandError::Command)?;
        Ok(closed.map(|_| FramedEvent::Closed))
    }

    fn output_buf(&self) -> &[u8] {
        self.agent.output_buf()
    }

    fn consume_output(&mut self, n: usize) {
        self.agent.consume_output(n);
    }

    fn is_done(&self) -> bool {
        self.agent.is_done()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn seed_frame(bytes: &[u8]) -> std::vec::Vec<u8> {
        let mut v = (bytes.len() as i32).to_le_bytes().to_vec();
        v.extend_from_slice(bytes);
        v
    }

    #[test]
    fn a_command_split_across_inputs_arrives_whole() {
        let mut agent = FramedAgent::<16>::new();
        let wire = seed_frame(b"echo hi");
        let (first, second) = wire.split_at(3);
        let step = agent.handle_input(first).unwrap();
        assert_eq!((step.consumed, step.event), (3, None));
        let step = agent.handle_input(second).unwrap();
        assert_eq!((step.consumed, step.event), (second.len(), Some(FramedEvent::Command)));
        assert_eq!(agent.command(), b"echo hi");
        // The reply is owed: the next command waits where it is.
        let next = seed_frame(b"ls");
        assert_eq!(agent.handle_input(&next).unwrap().consumed, 0);
        agent.begin_reply(0).unwrap();
        // The reply's prefix (demo2: 0 bytes follow) goes out, then the next command is read.
        let prefix = agent.output_buf().len();
        assert!(prefix > 0);
        agent.consume_output(prefix);
        assert_eq!(agent.handle_input(&next).unwrap().event, Some(FramedEvent::Command));
    }

    #[test]
    fn quit_empty_and_oversize_frames() {
        let mut agent = FramedAgent::<4>::new();
        assert_eq!(agent.handle_input(&seed_frame(b"q")).unwrap().event, Some(FramedEvent::Quit));
        let mut agent = FramedAgent::<4>::new();
        assert_eq!(agent.handle_input(&seed_frame(b"")), Err(FramedCommandError::Empty));
        let mut agent = FramedAgent::<4>::new();
        let err = agent.handle_input(&seed_frame(b"toolong")).unwrap_err();
        assert!(matches!(err, FramedCommandError::Frame(_)), "{err:?}");
        assert!(std::format!("{err}").starts_with("command frame: "), "{err}");
    }
}
