use super::{CommandError, ControllerEvent, Mode, ReplyError, DEFAULT_MAX_COMMAND_LEN, QUIT};
use crate::frame::{FrameDecoder, FrameError, FrameEvent};
use crate::{Handled, Machine};

/// How replies are read.
#[derive(Debug, Clone)]
enum Replies {
    /// demo1: whatever arrives is output.
    Raw,
    /// demo2: `awaiting` from `send_command` until the reply's `End`.
    Framed { decoder: FrameDecoder, awaiting: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// `q` was queued: nothing more is sent or read.
    QuitSent,
    /// The agent closed the connection.
    Closed,
    Failed(ReplyError),
}

/// The side that sends commands and reads their output (the seed's client).
///
/// [`Controller::send_command`] copies the command into a fixed `N`-byte buffer that
/// [`Machine::output_buf`] hands out. [`Machine::handle_input`] turns the agent's bytes into
/// [`ControllerEvent`]s: `Output` chunks in raw mode, `ReplyStart` / `ReplyData` / `ReplyEnd`
/// in framed mode. In framed mode input after a reply's end is left unconsumed until the next
/// command is sent; bytes with no command waiting are an error.
#[derive(Debug, Clone)]
pub struct Controller<const N: usize = DEFAULT_MAX_COMMAND_LEN> {
    mode: Mode,
    replies: Replies,
    state: State,
    /// The command being sent; `sent` of its bytes are out.
    command: heapless::Vec<u8, N>,
    sent: usize,
}

impl<const N: usize> Controller<N> {
    const NONZERO_MAX: () = assert!(N > 0, "the longest command must be at least one byte");

    /// A controller with nothing sent yet.
    pub const fn new(mode: Mode) -> Self {
        let () = Self::NONZERO_MAX;
        let replies = match mode {
            Mode::Raw => Replies::Raw,
            Mode::Framed(config) => {
                Replies::Framed { decoder: FrameDecoder::new(config), awaiting: false }
            }
        };
        Self { mode, replies, state: State::Open, command: heapless::Vec::new(), sent: 0 }
    }

    /// The reply mode.
    pub const fn mode(&self) -> &Mode {
        &self.mode
    }

    /// The longest command accepted (`N`).
    pub const fn max_command_len(&self) -> usize {
        N
    }

    /// Framed: a command was sent and its reply has not ended. Raw: always false, since the
    /// end of a raw reply cannot be seen.
    pub const fn is_awaiting_reply(&self) -> bool {
        matches!(self.replies, Replies::Framed { awaiting: true, .. })
    }

    /// Framed: bytes of the current reply still to come, once its prefix has arrived.
    pub const fn reply_remaining(&self) -> Option<u64> {
        match &self.replies {
            Replies::Framed { decoder, .. } => decoder.remaining(),
            Replies::Raw => None,
        }
    }

    /// Queue a command for sending. `q` ([`super::QUIT`]) ends the session: it is sent and
    /// the controller is done.
    pub fn send_command(&mut self, command: &[u8]) -> Result<(), CommandError> {
        if self.state != State::Open {
            return Err(CommandError::Closed);
        }
        if command.is_empty() {
            return Err(CommandError::Empty);
        }
        if command.len() > N {
            return Err(CommandError::TooLong { len: command.len(), max: N });
        }
        if self.sent < self.command.len() || self.is_awaiting_reply() {
            return Err(CommandError::Busy);
        }
        // In place, not `Vec::from_slice`: that would build another N-byte buffer on the stack.
        self.command.clear();
        self.command
            .extend_from_slice(command)
            .map_err(|_| CommandError::TooLong { len: command.len(), max: N })?;
        self.sent = 0;
        if command == QUIT {
            self.state = State::QuitSent;
        } else if let Replies::Framed { awaiting, .. } = &mut self.replies {
            *awaiting = true;
        }
        Ok(())
    }

    fn fail(&mut self, err: ReplyError) -> ReplyError {
        self.state = State::Failed(err);
        err
    }
}

fn reply_event(event: FrameEvent<'_>) -> ControllerEvent<'_> {
    match event {
        FrameEvent::Start { len } => ControllerEvent::ReplyStart { len },
        FrameEvent::Data { chunk, remaining } => ControllerEvent::ReplyData { chunk, remaining },
        FrameEvent::End => ControllerEvent::ReplyEnd,
    }
}

impl<const N: usize> Machine for Controller<N> {
    type Event<'i> = ControllerEvent<'i>;
    type Error = ReplyError;

    fn handle_input<'i>(
        &mut self,
        input: &'i [u8],
    ) -> Result<Handled<ControllerEvent<'i>>, ReplyError> {
        match self.state {
            State::Failed(err) => return Err(err),
            // After `q` or the agent's close, nothing that arrives belongs to this session.
            State::QuitSent | State::Closed => return Ok(Handled::consumed(0)),
            State::Open => {}
        }
        let (decoder, awaiting) = match &mut self.replies {
            Replies::Raw if input.is_empty() => return Ok(Handled::consumed(0)),
            Replies::Raw => return Ok(Handled::event(input.len(), ControllerEvent::Output(input))),
            Replies::Framed { decoder, awaiting } => (decoder, awaiting),
        };
        if !*awaiting && decoder.at_boundary() {
            if input.is_empty() {
                return Ok(Handled::consumed(0));
            }
            return Err(self.fail(ReplyError::Unsolicited { len: input.len() }));
        }
        match decoder.decode(input) {
            Ok(Handled { consumed, event }) => {
                if event == Some(FrameEvent::End) {
                    *awaiting = false;
                }
                Ok(Handled { consumed, event: event.map(reply_event) })
            }
            Err(err) => Err(self.fail(ReplyError::Frame(err))),
        }
    }

    fn handle_eof(&mut self) -> Result<Option<ControllerEvent<'static>>, ReplyError> {
        if let State::Failed(err) = self.state {
            return Err(err);
        }
        let (decoder, awaiting) = match &mut self.replies {
            Replies::Framed { decoder, awaiting } if self.state == State::Open => {
                (decoder, awaiting)
            }
            _ => {
                self.state = State::Closed;
                return Ok(Some(ControllerEvent::Closed));
            }
        };
        let event = match decoder.finish() {
            Err(FrameError::TruncatedPayload { len, missing }) => {
                return Err(self.fail(ReplyError::Truncated { len, missing }));
            }
            Err(err) => return Err(self.fail(ReplyError::Frame(err))),
            // The last reply's end had not been polled yet; it is the final event.
            Ok(Some(_)) => {
                *awaiting = false;
                ControllerEvent::ReplyEnd
            }
            Ok(None) if *awaiting => return Err(self.fail(ReplyError::NoReply)),
            Ok(None) => ControllerEvent::Closed,
        };
        self.state = State::Closed;
        Ok(Some(event))
    }

    fn output_buf(&self) -> &[u8] {
        self.command.get(self.sent..).unwrap_or(&[])
    }

    fn consume_output(&mut self, n: usize) {
        self.sent = self.sent.saturating_add(n).min(self.command.len());
    }

    fn is_done(&self) -> bool {
        self.state != State::Open
    }
}
