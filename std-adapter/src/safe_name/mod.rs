//! File names that a peer sends (demo3's `filename`) and we are asked to write.
//!
//! A peer-controlled name is a path-traversal hole (scp CVE-2019-6111), so the rule is to
//! REFUSE anything that is not one plain name, rather than silently strip it down to its last
//! component: a peer that sends `../../.bashrc` is either broken or hostile, and the user should
//! hear about it. Refused:
//!
//! * empty names, `.` and `..`;
//! * any `/` or `\` (absolute paths, traversal, Windows paths);
//! * a drive-letter prefix such as `C:` (`C:evil` is relative to drive C's current directory);
//! * NUL and every other control character (C0, DEL, C1), and the Unicode bidirectional
//!   overrides (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F) that make `exe.txt` look like
//!   `txt.exe`;
//! * names starting with `.`: hidden files (`.bashrc`, `.ssh`) are where a write does harm,
//!   and our own temporary files start with `.wirekit-`;
//! * names ending in `.` or space, and Windows device names (`CON`, `nul.txt`, `COM1`…), which
//!   Windows silently maps to a different file or a device;
//! * names longer than 255 bytes of UTF-8 (the usual file-system limit).
//!
//! Everything else is kept as sent, including CJK text and emoji.

use std::fmt;

/// Longest accepted name in bytes (`NAME_MAX` on Linux and most file systems).
pub const MAX_NAME_BYTES: usize = 255;

/// Why a file name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is `.` or `..`.
    DotOrDotDot,
    /// The name holds a `/` or `\`, so it is a path rather than a name.
    PathSeparator {
        /// The separator found.
        separator: char,
    },
    /// The name starts with a drive letter such as `C:`.
    DriveLetter,
    /// The name holds a control or bidirectional-override character.
    ControlChar {
        /// The offending character as a code point.
        code_point: u32,
    },
    /// The name starts with `.` (a hidden file).
    Hidden,
    /// The name ends with `.` or a space, which Windows drops.
    TrailingDotOrSpace,
    /// The name is a Windows device name (`CON`, `PRN`, `AUX`, `NUL`, `COM1`–`9`, `LPT1`–`9`).
    Reserved,
    /// The name is longer than [`MAX_NAME_BYTES`].
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "the file name is empty"),
            Self::DotOrDotDot => write!(f, "the file name is `.` or `..`"),
            Self::PathSeparator { separator } => {
                write!(f, "the file name holds a path separator `{separator}`")
            }
            Self::DriveLetter => write!(f, "the file name starts with a drive letter"),
            Self::ControlChar { code_point } => {
                write!(f, "the file name holds the control character U+{code_point:04X}")
            }
            Self::Hidden => write!(f, "the file name starts with `.` (a hidden file)"),
            Self::TrailingDotOrSpace => write!(f, "the file name ends with `.` or a space"),
            Self::Reserved => write!(f, "the file name is a Windows device name"),
            Self::TooLong { len } => {
                write!(f, "the file name is {len} bytes long (at most {MAX_NAME_BYTES})")
            }
        }
    }
}

impl std::error::Error for NameError {}

/// Accept `name` only if it is one plain, visible file name; see the module docs for the rules.
pub fn check_file_name(name: &str) -> Result<&str, NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name == "." || name == ".." {
        return Err(NameError::DotOrDotDot);
    }
    if let Some(separator) = name.chars().find(|c| matches!(c, '/' | '\\')) {
        return Err(NameError::PathSeparator { separator });
    }
    if let Some(c) = name.chars().find(|&c| is_control_or_bidi(c)) {
        return Err(NameError::ControlChar { code_point: u32::from(c) });
    }
    let mut chars = name.chars();
    if let (Some(letter), Some(':')) = (chars.next(), chars.next()) {
        if letter.is_ascii_alphabetic() {
            return Err(NameError::DriveLetter);
        }
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong { len: name.len() });
    }
    if name.starts_with('.') {
        return Err(NameError::Hidden);
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err(NameError::TrailingDotOrSpace);
    }
    if is_windows_device(name) {
        return Err(NameError::Reserved);
    }
    Ok(name)
}

fn is_control_or_bidi(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Windows maps these names to devices whatever the extension (`nul.txt` is `NUL`).
fn is_windows_device(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" => true,
        _ => {
            let bytes = upper.as_bytes();
            bytes.len() == 4
                && (upper.starts_with("COM") || upper.starts_with("LPT"))
                && matches!(bytes.get(3), Some(b'1'..=b'9'))
        }
    }
}

#[cfg(test)]
mod tests;
