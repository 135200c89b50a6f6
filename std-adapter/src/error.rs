//! The one error type of the `wirekit` binary: every variant renders as one line that says what
//! happened and what to do, and maps to an [`Exit`] code.

use std::io;
use std::path::PathBuf;

use wirekit_core::datagram::DatagramTooLarge;
use wirekit_core::frame::{EncodeError, FrameError};

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
    #[error("cannot resolve {addr}: {source}; give HOST:PORT, e.g. 127.0.0.1:8090")]
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
    #[error("{peer} sent nothing for {secs} s; check the peer or raise --timeout")]
    Timeout {
        /// The peer.
        peer: String,
        /// The timeout in seconds.
        secs: u64,
    },
    /// The peer stopped reading what we send for longer than `--timeout` (our writes blocked).
    #[error("{peer} did not read for {secs} s {detail}; check the peer or raise --timeout")]
    NotReading {
        /// The peer.
        peer: String,
        /// The timeout in seconds.
        secs: u64,
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
    #[error("bad frame from {peer}: {source}; is it speaking the same --profile?")]
    Frame {
        /// The peer.
        peer: String,
        /// The decoder's error.
        source: FrameError,
    },
    /// The peer broke the protocol (a bad header, a bad reply frame, a cut-off handshake).
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
    /// The operating system's random generator failed.
    #[error("the system random generator failed: {0}")]
    Random(String),
    /// Some demos of `wirekit demo` failed.
    #[error("{failed} of {total} demos failed; see the transcript above")]
    DemoFailed {
        /// Demos that failed.
        failed: usize,
        /// Demos run.
        total: usize,
    },
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
            | Self::NotReading { .. }
            | Self::PeerClosed { .. }
            | Self::Frame { .. }
            | Self::Protocol { .. }
            | Self::DemoFailed { .. } => Exit::Failure,
            Self::AuthFailed { .. } => Exit::AuthFailed,
            Self::Resolve { .. } | Self::KeyRequired(_) | Self::InsecureAgent => Exit::Usage,
            Self::Bind { .. }
            | Self::Key(_)
            | Self::KeyFileExists(_)
            | Self::LocalIo { .. }
            | Self::Random(_)
            | Self::Run(_) => Exit::Local,
            Self::Datagram(_)
            | Self::FrameEncode(_)
            | Self::Name { .. }
            | Self::Encoding(_)
            | Self::CommandRefused { .. } => Exit::Refused,
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

    /// Build the right error for an I/O failure while talking to `peer`: timeouts and
    /// closes get their own variants.
    pub fn net(
        what: &'static str,
        peer: impl ToString,
        source: io::Error,
        timeout_secs: u64,
    ) -> Self {
        let peer = peer.to_string();
        match source.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                Self::Timeout { peer, secs: timeout_secs }
            }
            io::ErrorKind::UnexpectedEof => Self::PeerClosed { peer, detail: "early".into() },
            _ => Self::Net { what, peer, source },
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
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
        let err = Error::net("receiving from", "p", io::Error::from(io::ErrorKind::WouldBlock), 7);
        assert!(matches!(err, Error::Timeout { secs: 7, .. }));
        assert!(err.to_string().contains("--timeout"));
        assert_eq!(err.exit(), Exit::Failure);
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
