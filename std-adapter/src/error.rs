//! The one error type of the `wirekit` binary: every variant renders as one line that says what
//! happened and what to do, and maps to an [`Exit`] code.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use wirekit_core::datagram::DatagramTooLarge;
use wirekit_core::frame::{EncodeError, FrameError};

use crate::args::Secs;
use crate::atomic_file::AtomicFileError;
use crate::encoding::EncodingError;
use crate::exit::Exit;
use crate::keys::KeyError;
use crate::safe_name::NameError;

/// Everything that can go wrong in a `wirekit` command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}; {}", bind_hint(source))]
    Bind {
        /// The address asked for.
        addr: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The address did not resolve.
    #[error("cannot resolve {addr}: {source}; {}", resolve_hint(source))]
    Resolve {
        /// The address asked for.
        addr: String,
        /// The I/O error.
        source: io::Error,
    },
    /// Connecting failed.
    #[error("cannot connect to {addr}: {source}; is the server running there? (see --connect)")]
    Connect {
        /// The address.
        addr: String,
        /// The I/O error.
        source: io::Error,
    },
    /// A network operation on an established connection failed.
    #[error("{what} {peer} failed: {source}")]
    Net {
        /// What was being done ("sending to", "receiving from").
        what: &'static str,
        /// The peer.
        peer: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The peer was silent for longer than `--timeout`.
    #[error("{peer} sent nothing for {}; check the peer or raise --timeout", Secs(*timeout))]
    Timeout {
        /// The peer.
        peer: String,
        /// The `--timeout` that passed.
        timeout: Duration,
    },
    /// An exec agent did not reply to a command within `--reply-timeout`.
    #[error(
        "{peer} did not reply to {command:?} within {} (--reply-timeout); the agent kills a \
         command at its --command-timeout (default 60 s) and replies, so raise --reply-timeout \
         above the agent's --command-timeout",
        Secs(*timeout)
    )]
    ReplyTimeout {
        /// The agent.
        peer: String,
        /// The `--reply-timeout` that passed.
        timeout: Duration,
        /// The command waiting for its reply.
        command: String,
    },
    /// The peer stopped reading what we send for longer than `--timeout` (our writes blocked).
    #[error("{peer} did not read for {} {detail}; check the peer or raise --timeout", Secs(*timeout))]
    NotReading {
        /// The peer.
        peer: String,
        /// The `--timeout` that passed.
        timeout: Duration,
        /// Where in the exchange ("(after 3 of 10 bytes of \"a.bin\")").
        detail: String,
    },
    /// The peer closed the connection before the exchange was complete.
    #[error("{peer} closed the connection {detail}")]
    PeerClosed {
        /// The peer.
        peer: String,
        /// Where in the exchange ("after 3 of 10 bytes", "before replying").
        detail: String,
    },
    /// The peer broke the framing.
    #[error("bad frame from {peer}: {source}; {}", frame_hint(source))]
    Frame {
        /// The peer.
        peer: String,
        /// The decoder's error.
        source: FrameError,
    },
    /// A core machine refused the peer's bytes: the core's own error, kept typed so that a
    /// caller can match on it ([`CoreError`]).
    #[error("{peer}: {}{source}", during_prefix(during))]
    Violation {
        /// The peer.
        peer: String,
        /// The exchange it happened in ("handshake", "reply", "file header").
        during: String,
        /// The core machine's error.
        source: CoreError,
    },
    /// The peer broke the protocol in a way no core machine reports (bytes where none may
    /// come, a file longer than announced, a rate under the floor).
    #[error("{peer}: {detail}")]
    Protocol {
        /// The peer.
        peer: String,
        /// What was wrong.
        detail: String,
    },
    /// The handshake ended without trust: wrong key on one side.
    #[error("authentication with {peer} failed: {detail}")]
    AuthFailed {
        /// The peer.
        peer: String,
        /// What happened and what to check.
        detail: String,
    },
    /// A command could not be run by the exec agent's shell.
    #[error(transparent)]
    Run(#[from] crate::runner::RunError),
    /// The exec controller cannot send a command (empty, or longer than the agent reads).
    #[error("cannot send command {command:?}: {reason}")]
    CommandRefused {
        /// The command.
        command: String,
        /// Why.
        reason: wirekit_core::command::CommandError,
    },
    /// A message is too long for the framing.
    #[error("cannot send: {0}")]
    FrameEncode(#[from] EncodeError),
    /// A UDP message is larger than one datagram.
    #[error("{0}; send a shorter message, or use `wirekit tcp`")]
    Datagram(#[from] DatagramTooLarge),
    /// The key could not be loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A command needs a key and none was given.
    #[error("{0} needs a key: pass --key TEXT, --key-file PATH or set WIREKIT_KEY")]
    KeyRequired(&'static str),
    /// `--profile secure` was given no key.
    #[error(
        "--profile secure needs a key of at least 16 bytes on both ends: make one with \
             `wirekit keygen` and pass --key-file PATH (or --key TEXT, WIREKIT_KEY)"
    )]
    SecureKeyMissing,
    /// `--profile secure` was given a key under 16 bytes.
    #[error("{0}; pass it with --key-file PATH")]
    SecureKeyTooShort(wirekit_core::secure::KeyTooShort),
    /// The exec agent refuses to run commands from an unauthenticated controller.
    #[error("the exec agent runs commands from the network: give it a key (--key, --key-file, WIREKIT_KEY), or pass --insecure to accept any controller")]
    InsecureAgent,
    /// A file name was refused.
    #[error("refused file name {name:?}: {reason}")]
    Name {
        /// The name.
        name: String,
        /// Why.
        reason: NameError,
    },
    /// Receiving a file failed.
    #[error(transparent)]
    File(#[from] AtomicFileError),
    /// Command text could not be converted.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// The keygen output exists.
    #[error("{} already exists; pass --force to overwrite it, or choose another path", .0.display())]
    KeyFileExists(PathBuf),
    /// A local file operation failed.
    #[error("{what} {}: {source}", path.display())]
    LocalIo {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The secure channel refused our own buffers or limit (a bug in wirekit, not the peer).
    #[error("internal error: cannot set up the secure channel: {0}")]
    SecureSetup(wirekit_core::secure::SetupError),
    /// The operating system's random generator failed.
    #[error("the system random generator failed: {0}")]
    Random(String),
    /// Another error, with what most likely caused it and how to fix it.
    #[error("{error}; {hint}")]
    Hinted {
        /// The error.
        error: Box<Error>,
        /// The likely cause and fix.
        hint: String,
    },
    /// Some demos of `wirekit demo` failed.
    #[error("{failed} of {total} demos failed; see the transcript above")]
    DemoFailed {
        /// Demos that failed.
        failed: usize,
        /// Demos run.
        total: usize,
    },
}

/// What a bad length prefix most likely means: read in the other byte order it is often a
/// sane length (a peer of the other `--profile`); otherwise it may be a handshake.
fn frame_hint(err: &FrameError) -> String {
    let announced = match err {
        // The prefix is 4 bytes (or, mp, the -1 marker and 8); its value as read.
        FrameError::Negative { value } => i32::try_from(*value).ok().map(|v| v as u32),
        FrameError::Oversize { len, .. } => u32::try_from(*len).ok(),
        _ => None,
    };
    match announced.map(u32::swap_bytes) {
        Some(other) if other <= OTHER_ORDER_PLAUSIBLE => format!(
            "read in the other byte order that length is {other}: the peer most likely speaks \
             the other --profile (seed: little-endian prefixes, mp: big-endian)"
        ),
        _ => "is it speaking the same --profile, and using a key exactly when we do?".into(),
    }
}

/// A length read in the other byte order that is this small is taken for a real one.
const OTHER_ORDER_PLAUSIBLE: u32 = 1 << 20;

/// The hint for a side without a key whose peer's first bytes made no sense.
const WITHOUT_KEY_HINT: &str = "if the peer uses a key, these bytes may be its handshake \
     challenge: give this side the same key (--key, --key-file or WIREKIT_KEY)";

fn resolve_hint(err: &io::Error) -> &'static str {
    if err.kind() == io::ErrorKind::InvalidInput {
        "give HOST:PORT, e.g. 127.0.0.1:8090"
    } else {
        "check the host name (and this machine's DNS), or give an IP address"
    }
}

fn bind_hint(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::AddrInUse => {
            "another program uses that port; stop it or pick another --listen port"
        }
        io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges; pick a higher --listen port"
        }
        io::ErrorKind::AddrNotAvailable => "that address is not on this machine; check --listen",
        _ => "check --listen",
    }
}

impl Error {
    /// The process exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Connect { .. }
            | Self::Net { .. }
            | Self::Timeout { .. }
            | Self::ReplyTimeout { .. }
            | Self::NotReading { .. }
            | Self::PeerClosed { .. }
            | Self::Frame { .. }
            | Self::Violation { .. }
            | Self::Protocol { .. }
            | Self::DemoFailed { .. } => Exit::Failure,
            Self::AuthFailed { .. } => Exit::AuthFailed,
            // An address without a port is a bad command line; a name that does not resolve
            // (DNS) is not: the exchange could not start, as with a refused connection.
            Self::Resolve { source, .. } if source.kind() == io::ErrorKind::InvalidInput => {
                Exit::Usage
            }
            Self::Resolve { .. } => Exit::Failure,
            // `--key ""`, an empty WIREKIT_KEY or key file: the command line lacks a key.
            Self::Key(KeyError::Empty(_))
            | Self::KeyRequired(_)
            | Self::InsecureAgent
            | Self::SecureKeyMissing
            | Self::SecureKeyTooShort(_) => Exit::Usage,
            Self::Bind { .. }
            | Self::Key(_)
            | Self::KeyFileExists(_)
            | Self::LocalIo { .. }
            | Self::Random(_)
            | Self::SecureSetup(_)
            | Self::Run(_) => Exit::Local,
            Self::Datagram(_)
            | Self::FrameEncode(_)
            | Self::Name { .. }
            | Self::Encoding(_)
            | Self::CommandRefused { .. } => Exit::Refused,
            Self::Hinted { error, .. } => error.exit(),
            Self::File(e) => match e {
                AtomicFileError::Name { .. }
                | AtomicFileError::NotARegularFile { .. }
                | AtomicFileError::Exists { .. }
                | AtomicFileError::TooLarge { .. }
                | AtomicFileError::Overflow { .. } => Exit::Refused,
                AtomicFileError::Incomplete { .. } => Exit::Failure,
                AtomicFileError::Io { .. } => Exit::Local,
            },
        }
    }

    /// For a side that has no key (`keyed` false): a framing error may be a keyed peer's
    /// challenge read as a length, so say so. Unchanged otherwise.
    #[must_use]
    pub fn unless_keyed(self, keyed: bool) -> Self {
        let bad_length = match &self {
            Self::Frame { .. } => true,
            Self::Violation { source, .. } => source.is_bad_length(),
            _ => false,
        };
        if keyed || !bad_length {
            self
        } else {
            self.hinted(WITHOUT_KEY_HINT)
        }
    }

    /// This error with `hint` (the likely cause and fix) after it; same exit code.
    #[must_use]
    pub fn hinted(self, hint: impl Into<String>) -> Self {
        Self::Hinted { error: Box::new(self), hint: hint.into() }
    }

    /// Build the right error for an I/O failure while talking to `peer`: timeouts and
    /// closes get their own variants.
    pub fn net(
        what: &'static str,
        peer: impl ToString,
        source: io::Error,
        timeout: Duration,
    ) -> Self {
        let peer = peer.to_string();
        match source.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Self::Timeout { peer, timeout },
            io::ErrorKind::UnexpectedEof => Self::PeerClosed { peer, detail: "early".into() },
            _ => Self::Net { what, peer, source },
        }
    }
}

fn during_prefix(during: &str) -> String {
    if during.is_empty() {
        String::new()
    } else {
        format!("{during}: ")
    }
}

/// The core machines' errors, one variant per machine (each a small `Copy` enum), so that
/// the std adapter's [`Error::Violation`] keeps what went wrong instead of a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// The frame decoder's.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The frame encoder's (a message too long for its length field).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A file transfer's (header, body length, short stream).
    #[error(transparent)]
    Transfer(#[from] wirekit_core::transfer::TransferError),
    /// The exec agent's (a command it cannot take, a reply it cannot send).
    #[error(transparent)]
    Command(#[from] wirekit_core::command::CommandError),
    /// The exec controller's (a reply it cannot read).
    #[error(transparent)]
    Reply(#[from] wirekit_core::command::ReplyError),
    /// The seed and mp handshakes'.
    #[error(transparent)]
    Auth(#[from] wirekit_core::auth::AuthError),
    /// The secure profile's channel.
    #[error(transparent)]
    Secure(#[from] wirekit_core::secure::SecureError),
}

impl CoreError {
    /// A length prefix that made no sense (negative, over the limit, larger than the
    /// buffer): what a keyed peer's challenge, read as a length, looks like.
    pub fn is_bad_length(&self) -> bool {
        let bad = |e: &FrameError| {
            matches!(
                e,
                FrameError::Negative { .. }
                    | FrameError::Oversize { .. }
                    | FrameError::BufferTooSmall { .. }
            )
        };
        match self {
            Self::Frame(e)
            | Self::Transfer(wirekit_core::transfer::TransferError::Frame(e))
            | Self::Reply(wirekit_core::command::ReplyError::Frame(e))
            | Self::Auth(wirekit_core::auth::AuthError::Frame(e)) => bad(e),
            _ => false,
        }
    }
}

impl From<std::convert::Infallible> for CoreError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn port_in_use_says_what_to_do() {
        let err = Error::Bind {
            addr: "127.0.0.1:8090".into(),
            source: io::Error::from(io::ErrorKind::AddrInUse),
        };
        let text = err.to_string();
        assert!(text.contains("127.0.0.1:8090") && text.contains("--listen"), "{text}");
        assert_eq!(err.exit(), Exit::Local);
    }

    #[test]
    fn read_timeout_becomes_timeout() {
        let err = Error::net(
            "receiving from",
            "p",
            io::Error::from(io::ErrorKind::WouldBlock),
            Duration::from_millis(7500),
        );
        assert!(
            matches!(err, Error::Timeout { timeout, .. } if timeout == Duration::from_millis(7500))
        );
        assert!(err.to_string().contains("7.5 s"), "{err}");
        assert!(err.to_string().contains("--timeout"));
        assert_eq!(err.exit(), Exit::Failure);
    }

    #[test]
    fn exit_codes_follow_the_readme_table() {
        // Issue 12 item 8.
        let empty = Error::Key(KeyError::Empty(crate::keys::KeySource::Env));
        assert_eq!(empty.exit(), Exit::Usage);
        let no_port = crate::net::resolve("no-port-here").unwrap_err();
        assert_eq!(no_port.exit(), Exit::Usage, "{no_port}");
        let dns = Error::Resolve {
            addr: "nonexistent.invalid:80".into(),
            source: io::Error::other("failed to lookup address information"),
        };
        assert_eq!(dns.exit(), Exit::Failure);
        assert!(dns.to_string().contains("host name"), "{dns}");
        let hinted = Error::AuthFailed { peer: "p".into(), detail: "d".into() }.hinted("h");
        assert_eq!(hinted.exit(), Exit::AuthFailed);
        assert_eq!(hinted.to_string(), "authentication with p failed: d; h");
    }

    #[test]
    fn a_length_in_the_other_byte_order_names_the_other_profile() {
        // Issue 12 item 7: `negative frame length …` said nothing of the likely cause.
        let mp_read_as_seed = Error::Frame {
            peer: "p".into(),
            source: FrameError::Oversize { len: u64::from(0x2e00_0000u32), max: 4096 },
        };
        assert!(mp_read_as_seed.to_string().contains("length is 46"), "{mp_read_as_seed}");
        let seed_read_as_mp = Error::Frame {
            peer: "p".into(),
            source: FrameError::Negative { value: i64::from(0x9a00_0000u32 as i32) },
        };
        assert!(seed_read_as_mp.to_string().contains("other --profile"), "{seed_read_as_mp}");
        let random =
            Error::Frame { peer: "p".into(), source: FrameError::Negative { value: -1767466919 } };
        assert!(random.to_string().contains("using a key"), "{random}");
        let keyless = random.unless_keyed(false).to_string();
        assert!(keyless.contains("give this side the same key"), "{keyless}");
        let keyed = Error::Frame { peer: "p".into(), source: FrameError::Negative { value: -5 } };
        assert!(!keyed.unless_keyed(true).to_string().contains("same key"));
        let header = Error::Violation {
            peer: "p".into(),
            during: "file header".into(),
            source: CoreError::Transfer(wirekit_core::transfer::TransferError::Frame(
                FrameError::Oversize { len: 1818846754, max: 8 << 20 },
            )),
        };
        assert!(header.unless_keyed(false).to_string().contains("WIREKIT_KEY"));
        // Typed, so a caller can tell it from the header's JSON being wrong.
        let json = Error::Violation {
            peer: "p".into(),
            during: "file header".into(),
            source: CoreError::Transfer(wirekit_core::transfer::TransferError::Frame(
                FrameError::TruncatedPrefix { have: 1, need: 4 },
            )),
        };
        assert!(!json.unless_keyed(false).to_string().contains("WIREKIT_KEY"));
    }

    #[test]
    fn messages_are_one_line() {
        let errs = [
            Error::AuthFailed { peer: "p".into(), detail: "wrong key".into() },
            Error::InsecureAgent,
            Error::KeyRequired("wirekit auth"),
            Error::Datagram(DatagramTooLarge { len: 70_000, max: 65_507 }),
        ];
        for err in errs {
            assert!(!err.to_string().contains('\n'), "{err}");
        }
    }
}
