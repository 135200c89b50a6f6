use super::{AgentEvent, CommandError, Mode, DEFAULT_MAX_COMMAND_LEN, QUIT};
use crate::frame::{EncodeError, Prefix};
use crate::{Handled, Machine};

/// Where the agent is in the command/reply cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a command.
    Idle,
    /// A command was handed out; no reply length announced and no reply byte reported yet.
    Running,
    /// A reply of `len` bytes was announced; `sent` of them reported.
    Announced { len: u64, sent: u64 },
    /// Raw: reply bytes are going out without an announced length; `reply_done` ends them.
    Streaming { sent: u64 },
    /// `q` arrived.
    Quit,
    /// Bytes already on the wire are wrong; reported again on every call.
    Failed(CommandError),
}

/// The side that receives commands and replies with their output (the seed's server).
///
/// One cycle: [`Machine::handle_input`] yields [`AgentEvent::Command`]; the adapter runs it,
/// then (framed mode) calls [`Agent::begin_reply`] with `len(stdout) + len(stderr)`, sends
/// [`Machine::output_buf`] (the prefix), sends stdout and stderr itself from its own buffers
/// and reports them with [`Agent::record_reply_bytes`]; the reply completes when the
/// announced length is reached. In raw mode `begin_reply` is optional (it only adds an overrun
/// check); without it the adapter ends the reply with [`Agent::reply_done`].
///
/// Each `handle_input` call's input is one command (at most `N` bytes, like the seed's
/// `recv(N)`): call it once per received segment. Until the reply is complete (prefix sent,
/// announced bytes reported) `handle_input` consumes nothing, so a next command stays with the
/// caller (e.g. in the socket's receive buffer) instead of being lost or mixed in.
///
/// Errors from `record_reply_bytes` mean bytes already sent are wrong (before the prefix,
/// past the announced length): they end the session. Refused actions that changed nothing
/// (`begin_reply` twice, `reply_done` too early) leave the state as it was.
#[derive(Debug, Clone)]
pub struct Agent<const N: usize = DEFAULT_MAX_COMMAND_LEN> {
    mode: Mode,
    phase: Phase,
    prefix: Option<Prefix>,
    prefix_sent: usize,
    peer_closed: bool,
}

impl<const N: usize> Agent<N> {
    const NONZERO_MAX: () = assert!(N > 0, "the longest command must be at least one byte");

    /// An agent waiting for its first command.
    pub const fn new(mode: Mode) -> Self {
        let () = Self::NONZERO_MAX;
        Self { mode, phase: Phase::Idle, prefix: None, prefix_sent: 0, peer_closed: false }
    }

    /// The reply mode.
    pub const fn mode(&self) -> &Mode {
        &self.mode
    }

    /// The longest command taken from one input (`N`).
    pub const fn max_command_len(&self) -> usize {
        N
    }

    /// True from a [`AgentEvent::Command`] until its reply is complete.
    pub fn is_replying(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Announced { .. } | Phase::Streaming { .. })
            || !self.output_buf().is_empty()
    }

    /// Announced reply bytes not yet reported sent.
    pub const fn reply_remaining(&self) -> Option<u64> {
        match self.phase {
            Phase::Announced { len, sent } => Some(len.saturating_sub(sent)),
            _ => None,
        }
    }

    /// The state check shared by the reply mutators: `Ok` only while a command is out.
    fn open_command(&self) -> Result<(), CommandError> {
        match self.phase {
            Phase::Failed(err) => Err(err),
            Phase::Quit => Err(CommandError::Closed),
            Phase::Idle => Err(CommandError::NoCommand),
            Phase::Running | Phase::Announced { .. } | Phase::Streaming { .. } => Ok(()),
        }
    }

    /// Announce a reply of `len` bytes (`len(stdout) + len(stderr)`). Framed mode puts the
    /// prefix in [`Machine::output_buf`]; send it before any reply byte. Raw mode sends no
    /// prefix; the length only lets the agent catch an overrun and end the reply by itself.
    pub fn begin_reply(&mut self, len: u64) -> Result<(), CommandError> {
        self.open_command()?;
        if self.phase != Phase::Running {
            return Err(CommandError::ReplyAlreadyBegun);
        }
        if let Mode::Framed(config) = &self.mode {
            let prefix = config.encode_prefix(len).map_err(|err| match err {
                EncodeError::Oversize { len, max } => CommandError::ReplyTooLong { len, max },
                // `encode_prefix` writes into its own array, so this cannot happen; report the
                // limit rather than hide it.
                EncodeError::BufferTooSmall { .. } => {
                    CommandError::ReplyTooLong { len, max: config.max_frame_len() }
                }
            })?;
            self.prefix = Some(prefix);
            self.prefix_sent = 0;
        }
        self.phase = if len == 0 { Phase::Idle } else { Phase::Announced { len, sent: 0 } };
        Ok(())
    }

    /// [`Agent::begin_reply`] for output held in two buffers.
    pub fn begin_reply_for(&mut self, stdout: &[u8], stderr: &[u8]) -> Result<(), CommandError> {
        let len = (stdout.len() as u64).saturating_add(stderr.len() as u64);
        self.begin_reply(len)
    }

    /// The adapter sent `n` more reply bytes (stdout, then stderr) from its own buffers.
    /// Reporting 0 bytes is always accepted (an empty stderr after a complete stdout). Bytes
    /// that should not have been sent end the session: ahead of the prefix, past the announced
    /// length, with no command open (also after an announced reply already completed).
    pub fn record_reply_bytes(&mut self, n: usize) -> Result<(), CommandError> {
        match self.phase {
            Phase::Failed(err) => return Err(err),
            _ if n == 0 => return Ok(()),
            Phase::Quit => return Err(CommandError::Closed),
            _ => {}
        }
        let pending = self.output_buf().len();
        let next = match self.phase {
            _ if pending > 0 => Err(CommandError::PrefixNotSent { pending }),
            Phase::Announced { len, sent } => {
                let sent = sent.saturating_add(n as u64);
                if sent > len {
                    Err(CommandError::ReplyOverrun { len, sent })
                } else if sent == len {
                    Ok(Phase::Idle)
                } else {
                    Ok(Phase::Announced { len, sent })
                }
            }
            Phase::Streaming { sent } => {
                Ok(Phase::Streaming { sent: sent.saturating_add(n as u64) })
            }
            Phase::Running => match self.mode {
                Mode::Raw => Ok(Phase::Streaming { sent: n as u64 }),
                // Bytes went out with no prefix in front of them.
                Mode::Framed(_) => Err(CommandError::ReplyNotBegun),
            },
            // Quit and Failed returned above.
            Phase::Idle | Phase::Quit | Phase::Failed(_) => Err(CommandError::NoCommand),
        };
        match next {
            Ok(phase) => {
                self.phase = phase;
                Ok(())
            }
            Err(err) => {
                self.phase = Phase::Failed(err);
                Err(err)
            }
        }
    }

    /// End the reply. Needed in raw mode when no length was announced (an empty raw reply is
    /// just `reply_done`); with an announced length the reply ends by itself, and calling this
    /// early is refused.
    pub fn reply_done(&mut self) -> Result<(), CommandError> {
        self.open_command()?;
        match (self.phase, &self.mode) {
            (Phase::Announced { len, sent }, _) => Err(CommandError::ReplyIncomplete { len, sent }),
            (Phase::Running, Mode::Framed(_)) => Err(CommandError::ReplyNotBegun),
            _ => {
                self.phase = Phase::Idle;
                Ok(())
            }
        }
    }
}

impl<const N: usize> Machine for Agent<N> {
    type Event<'i> = AgentEvent<'i>;
    type Error = CommandError;

    fn handle_input<'i>(
        &mut self,
        input: &'i [u8],
    ) -> Result<Handled<AgentEvent<'i>>, CommandError> {
        match self.phase {
            Phase::Failed(err) => return Err(err),
            Phase::Idle if !self.peer_closed && self.output_buf().is_empty() => {}
            // A reply is outstanding (or the session is over): the input is not ours yet.
            _ => return Ok(Handled::consumed(0)),
        }
        if input.is_empty() {
            return Ok(Handled::consumed(0));
        }
        let (command, _) = input.split_at(input.len().min(N));
        if command == QUIT {
            self.phase = Phase::Quit;
            return Ok(Handled::event(command.len(), AgentEvent::Quit));
        }
        self.phase = Phase::Running;
        Ok(Handled::event(command.len(), AgentEvent::Command(command)))
    }

    /// The controller closed. As [`Machine::handle_eof`] requires, call it only once every
    /// byte received before the close was taken: the agent takes no command after the close
    /// (a reply under way may still be finished), so a command still waiting in the
    /// caller's buffer would never be run.
    fn handle_eof(&mut self) -> Result<Option<AgentEvent<'static>>, CommandError> {
        if let Phase::Failed(err) = self.phase {
            return Err(err);
        }
        // A reply under way may still be finished: TCP lets us send after the peer's FIN.
        self.peer_closed = true;
        Ok(Some(AgentEvent::Closed))
    }

    fn output_buf(&self) -> &[u8] {
        self.prefix
            .as_ref()
            .and_then(|prefix| prefix.as_bytes().get(self.prefix_sent..))
            .unwrap_or(&[])
    }

    fn consume_output(&mut self, n: usize) {
        let len = self.prefix.as_ref().map_or(0, |prefix| prefix.as_bytes().len());
        self.prefix_sent = self.prefix_sent.saturating_add(n).min(len);
    }

    fn is_done(&self) -> bool {
        match self.phase {
            Phase::Quit | Phase::Failed(_) => true,
            Phase::Idle => self.peer_closed,
            Phase::Running | Phase::Announced { .. } | Phase::Streaming { .. } => false,
        }
    }
}
