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
//! Those are the whole rule under `--names permissive` ([`NamePolicy::Permissive`], the rule
//! before the portable one). The default, [`NamePolicy::Portable`], refuses as well what is
//! harmless on Linux but dangerous where the file goes next (a Windows share, a shell, a
//! reviewer's eyes):
//!
//! * `:` anywhere (NTFS alternate data streams: `report.txt:hidden`, `keep.txt::$DATA`) and
//!   `< > | ? * "` (invalid on Windows);
//! * every Windows device name, any case, with or without an extension: `CON`, `PRN`, `AUX`,
//!   `NUL`, `COM0`–`COM9`, `LPT0`–`LPT9`, `COM¹`–`COM³`, `LPT¹`–`LPT³`, `CONIN$`, `CONOUT$`,
//!   `CLOCK$`;
//! * a leading `-` (`-rf`, `--checkpoint-action=…` become options in `cmd *`);
//! * invisible and line-breaking characters that make one name look like another: the Arabic
//!   letter mark U+061C, zero-width U+200B–U+200D, word joiner U+2060, BOM U+FEFF, line and
//!   paragraph separators U+2028/U+2029 (the bidi controls above are refused by both rules);
//! * names not in Unicode NFC, so that the NFC and NFD spellings of one name (`é` as one code
//!   point or as `e` + U+0301) cannot land as two files that look the same (macOS and Windows
//!   users would see a clash).
//!
//! Everything else is kept as sent, including CJK text and emoji.

use std::fmt;

/// Longest accepted name in bytes (`NAME_MAX` on Linux and most file systems).
pub const MAX_NAME_BYTES: usize = 255;

/// Which names a receiver accepts (`--names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NamePolicy {
    /// Names that are safe on Linux, Windows and macOS and in a shell (the default).
    #[default]
    Portable,
    /// The rule before the portable one: safe to write on Linux, nothing more.
    Permissive,
}

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
    /// The name holds a character Windows forbids (`:` also opens an alternate data stream).
    WindowsChar {
        /// The character.
        found: char,
    },
    /// The name starts with `-`, so a shell command given it sees an option.
    LeadingDash,
    /// The name holds an invisible or line-breaking character.
    Invisible {
        /// The character as a code point.
        code_point: u32,
    },
    /// The name is not in Unicode NFC (another spelling of it could land as a second file).
    NotNfc,
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
            Self::WindowsChar { found } => write!(
                f,
                "the file name holds `{found}`, which Windows forbids{}",
                if *found == ':' { " (an alternate data stream)" } else { "" }
            ),
            Self::LeadingDash => {
                write!(f, "the file name starts with `-` (a shell would take it for an option)")
            }
            Self::Invisible { code_point } => write!(
                f,
                "the file name holds the invisible or line-breaking character U+{code_point:04X}"
            ),
            Self::NotNfc => write!(
                f,
                "the file name is not in Unicode NFC (normalize it, e.g. `é` as one code point)"
            ),
            Self::TooLong { len } => {
                write!(f, "the file name is {len} bytes long (at most {MAX_NAME_BYTES})")
            }
        }
    }
}

impl std::error::Error for NameError {}

/// Accept `name` only if it is one plain, visible file name under `policy`; see the module
/// docs for the rules.
pub fn check_file_name(name: &str, policy: NamePolicy) -> Result<&str, NameError> {
    check_permissive(name)?;
    if policy == NamePolicy::Portable {
        check_portable(name)?;
    }
    Ok(name)
}

fn check_permissive(name: &str) -> Result<(), NameError> {
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
    if is_windows_device(name, &["CON", "PRN", "AUX", "NUL"], '1'..='9', &[]) {
        return Err(NameError::Reserved);
    }
    Ok(())
}

fn check_portable(name: &str) -> Result<(), NameError> {
    if let Some(found) = name.chars().find(|c| matches!(c, ':' | '<' | '>' | '|' | '?' | '*' | '"'))
    {
        return Err(NameError::WindowsChar { found });
    }
    if let Some(c) = first_invisible(name) {
        return Err(NameError::Invisible { code_point: u32::from(c) });
    }
    if name.starts_with('-') {
        return Err(NameError::LeadingDash);
    }
    let devices = ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"];
    if is_windows_device(name, &devices, '0'..='9', &['¹', '²', '³']) {
        return Err(NameError::Reserved);
    }
    if !unicode_normalization::is_nfc(name) {
        return Err(NameError::NotNfc);
    }
    Ok(())
}

fn is_control_or_bidi(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The first Arabic letter mark, zero-width space/non-joiner/joiner, word joiner, BOM, line
/// or paragraph separator. A zero-width joiner between two emoji is how emoji sequences are
/// spelled (`👨‍👩‍👧`) and is visible as one picture, so it passes there and nowhere else.
fn first_invisible(name: &str) -> Option<char> {
    let chars: Vec<char> = name.chars().collect();
    chars.iter().enumerate().find_map(|(i, &c)| {
        let invisible = matches!(
            c,
            '\u{061C}' | '\u{200B}'
                ..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}'
        );
        let emoji_joiner = c == '\u{200D}'
            && i.checked_sub(1).and_then(|p| chars.get(p)).is_some_and(|&p| is_emoji(p))
            && chars.get(i + 1).is_some_and(|&n| is_emoji(n));
        (invisible && !emoji_joiner).then_some(c)
    })
}

/// Pictographs, symbols and the emoji variation selector (which ends `❤️` before a joiner).
fn is_emoji(c: char) -> bool {
    matches!(c, '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{FE0F}')
}

/// Windows maps these names to devices whatever the extension (`nul.txt` is `NUL`, and so is
/// `NUL .txt`): `names` exactly, or `COM`/`LPT` followed by one of `digits` or `superscripts`.
fn is_windows_device(
    name: &str,
    names: &[&str],
    digits: std::ops::RangeInclusive<char>,
    superscripts: &[char],
) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_uppercase();
    if names.contains(&upper.as_str()) {
        return true;
    }
    let Some(last) = upper.strip_prefix("COM").or_else(|| upper.strip_prefix("LPT")) else {
        return false;
    };
    let mut rest = last.chars();
    match (rest.next(), rest.next()) {
        (Some(c), None) => digits.contains(&c) || superscripts.contains(&c),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
