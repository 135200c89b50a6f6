//! The demo3 file header: a small JSON object naming the file that follows.
//!
//! The seed sender builds it with Python's `json.dumps({'filename': ..., 'filepath': ...,
//! 'filesize': ...})` using the default settings. [`FileHeader::encode`] writes exactly those
//! bytes (ASCII only: non-ASCII as lowercase `\uXXXX`, astral characters as surrogate pairs;
//! separators `", "` and `": "`; keys in that order), so a Python receiver and a byte-compare
//! against Python both agree.
//!
//! [`FileHeader::decode`] accepts any RFC 8259 JSON object instead of only that exact shape:
//! any whitespace, keys in any order, unknown keys with any value (nesting is bounded by
//! [`MAX_DEPTH`], so a hostile header cannot exhaust the stack), raw UTF-8 or escapes. Every
//! escape is decoded into caller storage, so a name sent as `"\u4e2d\u6587.txt"` comes out as
//! `中文.txt`.
//!
//! Differences from Python's `json.loads`, on purpose:
//! * a second `filename`, `filepath` or `filesize` key is rejected as ambiguous
//!   ([`HeaderError::DuplicateKey`]); Python silently keeps the last one;
//! * `filesize` must be a non-negative integer that fits a `u64`: `1.0` and `1e3` (floats in
//!   Python) are rejected; `-0` is 0, as Python's `int` reads it;
//! * lone surrogates (`"\ud800"`, which Python accepts into a `str`) are rejected, since the
//!   names must become Rust `&str`;
//! * `NaN`/`Infinity` and a byte-order mark are rejected (not JSON);
//! * a header without `filepath` is accepted (as `""`): the receiver never uses it, and a
//!   sender need not reveal its directory (Python's receiver would raise `KeyError` only if
//!   it read the key, which the seed's does not).
//!
//! Why not serde-json-core: its encoder writes raw UTF-8 (not Python's `\uXXXX`), its
//! borrowed `&str` fields keep escapes raw, and its unescaping decoder (`from_slice_escaped`,
//! 0.7) rejects surrogate pairs, i.e. every emoji file name Python sends. A test pins that.
//!
//! The names are data as the peer sent them: nothing here makes them safe to use as a path.
//! Choosing a safe local file name is the adapter's job (see docs/protocol.md §3, file names).

mod decode;
mod encode;

use core::fmt;

pub use encode::HeaderEncodeError;

/// Default cap on a header frame's JSON length. A header carries a name and a directory,
/// so 4 KiB leaves room for long paths while bounding what a peer makes us buffer.
pub const MAX_HEADER_LEN: usize = 4096;

/// Deepest nesting of objects/arrays accepted (the header object itself is level 1). Unknown
/// values are skipped recursively, so this bounds stack use on hostile input.
pub const MAX_DEPTH: usize = 32;

/// A demo3 file header. The names borrow either the caller's strings (to encode) or the
/// decode storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileHeader<'a> {
    /// The file's name as the sender gave it (not sanitized).
    pub filename: &'a str,
    /// The sender's directory (e.g. `F:\projects`), informational; `""` when the header has
    /// none.
    pub filepath: &'a str,
    /// Number of body bytes that follow the header.
    pub filesize: u64,
}

/// One of the three keys of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// `filename`.
    Filename,
    /// `filepath`.
    Filepath,
    /// `filesize`.
    Filesize,
}

impl Key {
    /// The key as it appears in the JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Filename => "filename",
            Self::Filepath => "filepath",
            Self::Filesize => "filesize",
        }
    }

    /// The JSON type the key's value must have, for [`HeaderError::WrongType`]'s message.
    const fn json_type(self) -> &'static str {
        match self {
            Self::Filesize => "a number",
            Self::Filename | Self::Filepath => "a string",
        }
    }

    /// The key spelled by `bytes` (after unescaping), if it is one of the three.
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        [Self::Filename, Self::Filepath, Self::Filesize]
            .into_iter()
            .find(|k| k.as_str().as_bytes() == bytes)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a header could not be decoded. Offsets are byte offsets into the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The JSON is longer than the cap; nothing was parsed.
    #[error("header of {len} bytes exceeds the maximum of {max} bytes")]
    Oversize {
        /// Length of the JSON.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The bytes are not UTF-8 (RFC 8259 requires it).
    #[error("header is not UTF-8 (byte {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte (or of an incomplete sequence at the end).
        offset: usize,
    },
    /// Not well-formed JSON (unexpected byte or end of input).
    #[error("header is not valid JSON (byte {offset})")]
    Syntax {
        /// Offset of the unexpected byte (the length for an early end).
        offset: usize,
    },
    /// The JSON value is not an object (e.g. an array, a string, or empty input).
    #[error("header is not a JSON object")]
    NotAnObject,
    /// A required key is absent.
    #[error("header has no \"{0}\"")]
    MissingKey(Key),
    /// A known key appears twice; Python keeps the last, we refuse to guess.
    #[error("header has \"{0}\" more than once")]
    DuplicateKey(Key),
    /// A key's value has the wrong JSON type (names must be strings, the size a number).
    #[error("header \"{0}\" is not {json_type}", json_type = .0.json_type())]
    WrongType(Key),
    /// `filesize` is negative.
    #[error("header \"filesize\" is negative")]
    NegativeSize,
    /// `filesize` has a fraction or an exponent (`1.0`, `1e3`): a float in Python.
    #[error("header \"filesize\" is not an integer")]
    FractionalSize,
    /// `filesize` does not fit a `u64`.
    #[error("header \"filesize\" does not fit 64 bits")]
    SizeTooLarge,
    /// A `\uD800`–`\uDFFF` escape that is not half of a surrogate pair.
    #[error("header has a lone surrogate escape (byte {offset})")]
    LoneSurrogate {
        /// Offset of the escape's backslash.
        offset: usize,
    },
    /// An unknown escape (`\x`) or a `\u` without four hex digits.
    #[error("header has an invalid escape (byte {offset})")]
    BadEscape {
        /// Offset of the escape's backslash.
        offset: usize,
    },
    /// A raw control character (below U+0020) inside a string; JSON requires an escape.
    #[error("header has a raw control character in a string (byte {offset})")]
    ControlChar {
        /// Offset of the character.
        offset: usize,
    },
    /// Objects/arrays nested deeper than [`MAX_DEPTH`].
    #[error("header nests deeper than {MAX_DEPTH} levels (byte {offset})")]
    TooDeep {
        /// Offset of the bracket that went too deep.
        offset: usize,
    },
    /// Something other than whitespace follows the object.
    #[error("header has data after the object (byte {offset})")]
    TrailingData {
        /// Offset of the first such byte.
        offset: usize,
    },
    /// The decode storage cannot hold the unescaped names (a storage at least as long as the
    /// JSON always suffices).
    #[error("{capacity}-byte storage too small for the decoded header")]
    StorageTooSmall {
        /// The storage's length.
        capacity: usize,
    },
}

impl<'a> FileHeader<'a> {
    /// Exact number of bytes [`FileHeader::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        encode::encoded_len(self)
    }

    /// Write the header as Python's `json.dumps` does with default settings; returns the
    /// bytes written. Nothing is written if `out` is shorter than [`FileHeader::encoded_len`].
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, HeaderEncodeError> {
        encode::encode(self, out)
    }

    /// Decode a header, unescaping the names into `storage` (`storage.len() >= json.len()`
    /// always suffices). JSON longer than [`MAX_HEADER_LEN`] is refused unread; see
    /// [`FileHeader::decode_with_max`] for another cap.
    pub fn decode<'s>(json: &[u8], storage: &'s mut [u8]) -> Result<FileHeader<'s>, HeaderError> {
        Self::decode_with_max(json, storage, MAX_HEADER_LEN)
    }

    /// [`FileHeader::decode`] with a caller-chosen cap on the JSON length.
    pub fn decode_with_max<'s>(
        json: &[u8],
        storage: &'s mut [u8],
        max: usize,
    ) -> Result<FileHeader<'s>, HeaderError> {
        check_len(json.len(), max)?;
        let fields = decode::parse(decode::Split { json, storage: &mut *storage })?;
        fields.header(storage)
    }

    /// Decode a header held in `buf`, unescaping in place (the JSON is overwritten), so a
    /// receiver needs one buffer instead of two. Same checks as [`FileHeader::decode_with_max`].
    pub fn decode_in_place(buf: &'a mut [u8], max: usize) -> Result<Self, HeaderError> {
        let fields = DecodedFields::parse_in_place(buf, max)?;
        fields.header(buf)
    }
}

fn check_len(len: usize, max: usize) -> Result<(), HeaderError> {
    if len > max {
        return Err(HeaderError::Oversize { len, max });
    }
    Ok(())
}

/// Where a decode put the names in its storage, so an owner of the storage (the file
/// receiver) can hand out a [`FileHeader`] later without keeping a borrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodedFields {
    pub(crate) filename: core::ops::Range<usize>,
    pub(crate) filepath: core::ops::Range<usize>,
    pub(crate) filesize: u64,
}

impl DecodedFields {
    /// In-place decode of `buf` (see [`FileHeader::decode_in_place`]).
    pub(crate) fn parse_in_place(buf: &mut [u8], max: usize) -> Result<Self, HeaderError> {
        check_len(buf.len(), max)?;
        decode::parse(decode::InPlace { buf })
    }

    /// The header, borrowing the names from the storage the decode wrote.
    pub(crate) fn header<'s>(&self, storage: &'s [u8]) -> Result<FileHeader<'s>, HeaderError> {
        let text = |range: &core::ops::Range<usize>| {
            storage
                .get(range.clone())
                .and_then(|bytes| core::str::from_utf8(bytes).ok())
                // Unreachable: the decoder wrote whole UTF-8 characters there.
                .ok_or(HeaderError::StorageTooSmall { capacity: storage.len() })
        };
        Ok(FileHeader {
            filename: text(&self.filename)?,
            filepath: text(&self.filepath)?,
            filesize: self.filesize,
        })
    }
}

#[cfg(test)]
mod tests;
