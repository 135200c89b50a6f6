//! The service's messages (docs/protocol.md section 6.1), as serde types. The variant order is
//! the wire's type number and the field order its keys (`id` is key 1, the next field key 2,
//! ...), so reordering anything here changes the protocol: `core/tests/vectors/service.txt`
//! pins every message.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most arguments in an `exec` request.
pub const MAX_ARGS: usize = 16;

/// The argument vector of an `exec` request, borrowed from the message.
pub type Argv<'a> = heapless::Vec<&'a str, MAX_ARGS>;

/// One message, either direction; `id` is the request's id in every variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// section 6.1's table documents every field; `Exec`'s argv is inline (no alloc), and a
// message lives only while it is handled, on the stack.
#[allow(missing_docs, clippy::large_enum_variant)]
pub enum Message<'a> {
    /// 0, C → S.
    Ping { id: u32 },
    /// 1, S → C.
    Pong { id: u32 },
    /// 2, C → S.
    Stat { id: u32, path: &'a str },
    /// 3, S → C: `kind` is a [`Kind`], `partial` the bytes kept of an interrupted upload.
    StatReply { id: u32, kind: u8, size: u64, partial: u64 },
    /// 4, C → S.
    List { id: u32, path: &'a str, cursor: u64 },
    /// 5, S → C.
    Entry { id: u32, name: &'a str, kind: u8, size: u64 },
    /// 6, S → C: `next` when more entries follow.
    ListEnd {
        id: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        next: Option<u64>,
    },
    /// 7, C → S.
    Remove { id: u32, path: &'a str },
    /// 8, C → S.
    Mkdir { id: u32, path: &'a str },
    /// 9, S → C.
    Done { id: u32 },
    /// 10, C → S.
    Put { id: u32, path: &'a str, size: u64, offset: u64 },
    /// 11, S → C.
    PutReady { id: u32, offset: u64, window: u64 },
    /// 12, both.
    Data {
        id: u32,
        offset: u64,
        #[serde(borrow)]
        bytes: Bytes<'a>,
    },
    /// 13, both: the whole file's SHA-256.
    End { id: u32, sha256: Digest },
    /// 14, S → C: the receipt.
    PutDone { id: u32, size: u64, sha256: Digest },
    /// 15, C → S.
    Get { id: u32, path: &'a str, offset: u64, window: u64 },
    /// 16, S → C.
    GetReady { id: u32, size: u64, offset: u64 },
    /// 17, both.
    Credit { id: u32, bytes: u64 },
    /// 18, C → S.
    Exec {
        id: u32,
        #[serde(borrow)]
        argv: Argv<'a>,
        timeout_ms: u64,
        window: u64,
    },
    /// 19, S → C: `stream` is a [`Stream`].
    Output {
        id: u32,
        stream: u8,
        #[serde(borrow)]
        bytes: Bytes<'a>,
    },
    /// 20, S → C: `kind` is an [`ExitKind`].
    Exit { id: u32, kind: u8, code: u32 },
    /// 21, C → S.
    Cancel { id: u32 },
    /// 22, S → C: `code` is an [`ErrorCode`].
    Error { id: u32, code: u32 },
}

impl Message<'_> {
    /// The request id the message belongs to.
    pub fn id(&self) -> u32 {
        match *self {
            Self::Ping { id }
            | Self::Pong { id }
            | Self::Stat { id, .. }
            | Self::StatReply { id, .. }
            | Self::List { id, .. }
            | Self::Entry { id, .. }
            | Self::ListEnd { id, .. }
            | Self::Remove { id, .. }
            | Self::Mkdir { id, .. }
            | Self::Done { id }
            | Self::Put { id, .. }
            | Self::PutReady { id, .. }
            | Self::Data { id, .. }
            | Self::End { id, .. }
            | Self::PutDone { id, .. }
            | Self::Get { id, .. }
            | Self::GetReady { id, .. }
            | Self::Credit { id, .. }
            | Self::Exec { id, .. }
            | Self::Output { id, .. }
            | Self::Exit { id, .. }
            | Self::Cancel { id }
            | Self::Error { id, .. } => id,
        }
    }
}

impl Message<'_> {
    /// A request that opens an id (section 6.2's first column): everything a client sends
    /// but `data`, `end`, `credit` and `cancel`.
    pub fn opens_request(&self) -> bool {
        matches!(
            self,
            Self::Ping { .. }
                | Self::Stat { .. }
                | Self::List { .. }
                | Self::Remove { .. }
                | Self::Mkdir { .. }
                | Self::Put { .. }
                | Self::Get { .. }
                | Self::Exec { .. }
        )
    }

    /// A server's final answer to a request (the id is free again).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Pong { .. }
                | Self::StatReply { .. }
                | Self::ListEnd { .. }
                | Self::Done { .. }
                | Self::PutDone { .. }
                | Self::End { .. }
                | Self::Exit { .. }
                | Self::Error { .. }
        )
    }
}

/// A byte string field (CBOR major type 2), borrowed from the message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Bytes<'a>(pub &'a [u8]);

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = &'de [u8];
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_borrowed_bytes<E>(self, v: &'de [u8]) -> Result<Self::Value, E> {
                Ok(v)
            }
        }
        d.deserialize_bytes(V).map(Bytes)
    }
}

/// A SHA-256 digest: a byte string of exactly 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest(pub [u8; 32]);

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Bytes(bytes) = Bytes::deserialize(d)?;
        let digest = bytes
            .try_into()
            .map_err(|_| serde::de::Error::invalid_length(bytes.len(), &"32 bytes"))?;
        Ok(Digest(digest))
    }
}

/// What a path names (`stat_reply.kind`, `entry.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Nothing under that name.
    None = 0,
    /// A file.
    File = 1,
    /// A directory.
    Dir = 2,
}

/// Which stream an `output` message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Stream {
    /// Standard output.
    Stdout = 1,
    /// Standard error.
    Stderr = 2,
}

/// How a command ended (`exit.kind` and `exit.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this status.
    Exited(u8),
    /// A signal killed it.
    Signal(u32),
    /// It ran past its timeout and was killed.
    TimedOut,
}

impl ExitStatus {
    /// `(kind, code)` as the `exit` message carries them.
    pub const fn to_wire(self) -> (u8, u32) {
        match self {
            Self::Exited(code) => (0, code as u32),
            Self::Signal(signal) => (1, signal),
            Self::TimedOut => (2, 0),
        }
    }

    /// From an `exit` message; `None` for a kind or code section 6.1 does not define.
    pub fn from_wire(kind: u8, code: u32) -> Option<Self> {
        match kind {
            0 => u8::try_from(code).ok().map(Self::Exited),
            1 => Some(Self::Signal(code)),
            2 => Some(Self::TimedOut),
            _ => None,
        }
    }
}

/// `error.code` (docs/protocol.md section 6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[repr(u32)]
#[allow(missing_docs)] // section 6.4's table
pub enum ErrorCode {
    #[error("not found")]
    NotFound = 1,
    #[error("exists")]
    Exists = 2,
    #[error("not a directory")]
    NotADirectory = 3,
    #[error("is a directory")]
    IsADirectory = 4,
    #[error("directory not empty")]
    NotEmpty = 5,
    #[error("invalid path")]
    InvalidPath = 6,
    #[error("no space left")]
    NoSpace = 7,
    #[error("storage failed")]
    Io = 8,
    #[error("busy")]
    Busy = 9,
    #[error("SHA-256 mismatch: nothing kept")]
    DigestMismatch = 10,
    #[error("bad offset")]
    BadOffset = 11,
    #[error("denied")]
    Denied = 12,
    #[error("cancelled")]
    Cancelled = 13,
    #[error("size mismatch")]
    SizeMismatch = 14,
    #[error("unsupported")]
    Unsupported = 15,
}

impl ErrorCode {
    /// Every code, in order.
    pub const ALL: [Self; 15] = [
        Self::NotFound,
        Self::Exists,
        Self::NotADirectory,
        Self::IsADirectory,
        Self::NotEmpty,
        Self::InvalidPath,
        Self::NoSpace,
        Self::Io,
        Self::Busy,
        Self::DigestMismatch,
        Self::BadOffset,
        Self::Denied,
        Self::Cancelled,
        Self::SizeMismatch,
        Self::Unsupported,
    ];

    /// The code of an `error` message, if this side knows it.
    pub fn from_wire(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| *c as u32 == code)
    }
}
