//! Command text encodings for `wirekit exec --encoding`: the seed sends commands (and reads
//! their output) in GBK, from a Chinese Windows console; everything else here is UTF-8.

use std::borrow::Cow;

/// An encoding for command text on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TextEncoding {
    /// GBK (code page 936), as the seed's Windows console.
    Gbk,
    /// UTF-8.
    #[default]
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
}

/// Text that does not fit the encoding, or bytes that are not valid in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// A character has no representation in the encoding.
    #[error("the text holds characters that {encoding} cannot represent; use --encoding utf-8")]
    Unmappable {
        /// The encoding's name.
        encoding: &'static str,
    },
    /// The bytes are not valid in the encoding.
    #[error("the bytes are not valid {encoding}; check --encoding")]
    Malformed {
        /// The encoding's name.
        encoding: &'static str,
    },
}

impl TextEncoding {
    /// The name used in messages and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Gbk => "gbk",
            Self::Utf8 => "utf-8",
        }
    }

    fn codec(self) -> &'static encoding_rs::Encoding {
        match self {
            Self::Gbk => encoding_rs::GBK,
            Self::Utf8 => encoding_rs::UTF_8,
        }
    }

    /// Encode `text`; a character the encoding cannot hold is an error, never a silent `?`.
    pub fn encode(self, text: &str) -> Result<Cow<'_, [u8]>, EncodingError> {
        if self == Self::Utf8 {
            return Ok(Cow::Borrowed(text.as_bytes()));
        }
        let (bytes, _, had_errors) = self.codec().encode(text);
        if had_errors {
            return Err(EncodingError::Unmappable { encoding: self.name() });
        }
        Ok(bytes)
    }

    /// Decode `bytes` strictly.
    pub fn decode(self, bytes: &[u8]) -> Result<Cow<'_, str>, EncodingError> {
        self.codec()
            .decode_without_bom_handling_and_without_replacement(bytes)
            .ok_or(EncodingError::Malformed { encoding: self.name() })
    }

    /// Bytes a local program printed (UTF-8 on this machine) as this encoding, for the wire;
    /// what the encoding cannot hold becomes a numeric character reference, never an error.
    pub fn from_local<'a>(self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        match self {
            Self::Utf8 => Cow::Borrowed(bytes),
            Self::Gbk => {
                let text = String::from_utf8_lossy(bytes);
                Cow::Owned(self.codec().encode(&text).0.into_owned())
            }
        }
    }

    /// Decode `bytes` for display, replacing invalid sequences with U+FFFD.
    pub fn decode_lossy(self, bytes: &[u8]) -> Cow<'_, str> {
        self.codec().decode_without_bom_handling(bytes).0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn gbk_round_trips_chinese() {
        // "吃了吗" in GBK, as Python's "吃了吗".encode("gbk").
        let bytes = TextEncoding::Gbk.encode("吃了吗").unwrap();
        assert_eq!(&*bytes, b"\xb3\xd4\xc1\xcb\xc2\xf0");
        assert_eq!(TextEncoding::Gbk.decode(&bytes).unwrap(), "吃了吗");
    }

    #[test]
    fn ascii_is_the_same_in_both() {
        assert_eq!(&*TextEncoding::Gbk.encode("dir C:\\").unwrap(), b"dir C:\\");
        assert_eq!(&*TextEncoding::Utf8.encode("dir C:\\").unwrap(), b"dir C:\\");
    }

    #[test]
    fn emoji_is_not_gbk() {
        assert_eq!(
            TextEncoding::Gbk.encode("echo 📦"),
            Err(EncodingError::Unmappable { encoding: "gbk" })
        );
        assert_eq!(&*TextEncoding::Utf8.encode("echo 📦").unwrap(), "echo 📦".as_bytes());
    }

    #[test]
    fn local_output_becomes_gbk_for_the_wire() {
        assert_eq!(
            &*TextEncoding::Gbk.from_local("吃了吗\n".as_bytes()),
            b"\xb3\xd4\xc1\xcb\xc2\xf0\n"
        );
        assert_eq!(&*TextEncoding::Utf8.from_local(b"\xff"), b"\xff");
    }

    #[test]
    fn malformed_input_is_an_error_or_replaced() {
        assert!(TextEncoding::Utf8.decode(b"\xff").is_err());
        assert!(TextEncoding::Gbk.decode(b"\xb3").is_err());
        assert_eq!(TextEncoding::Utf8.decode_lossy(b"a\xffb"), "a\u{fffd}b");
    }
}
