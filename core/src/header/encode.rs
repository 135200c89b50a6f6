//! Byte-exact `json.dumps` output (default settings) for a [`FileHeader`].

use super::FileHeader;

/// Why a header could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderEncodeError {
    /// The output buffer is shorter than the encoded header; nothing was written.
    #[error("header needs {needed} bytes, buffer holds {capacity}")]
    BufferTooSmall {
        /// Bytes the header needs ([`FileHeader::encoded_len`]).
        needed: usize,
        /// The buffer's length.
        capacity: usize,
    },
}

// The fixed parts, in Python's key order with its default separators.
const OPEN: &str = "{\"filename\": \"";
const AFTER_NAME: &str = "\", \"filepath\": \"";
const AFTER_PATH: &str = "\", \"filesize\": ";
const CLOSE: &str = "}";

pub(super) fn encoded_len(header: &FileHeader<'_>) -> usize {
    OPEN.len()
        + escaped_len(header.filename)
        + AFTER_NAME.len()
        + escaped_len(header.filepath)
        + AFTER_PATH.len()
        + decimal(header.filesize).1
        + CLOSE.len()
}

pub(super) fn encode(header: &FileHeader<'_>, out: &mut [u8]) -> Result<usize, HeaderEncodeError> {
    let needed = encoded_len(header);
    if out.len() < needed {
        return Err(HeaderEncodeError::BufferTooSmall { needed, capacity: out.len() });
    }
    let mut w = Writer { out, pos: 0 };
    w.put(OPEN.as_bytes());
    w.put_escaped(header.filename);
    w.put(AFTER_NAME.as_bytes());
    w.put_escaped(header.filepath);
    w.put(AFTER_PATH.as_bytes());
    let (digits, len) = decimal(header.filesize);
    w.put(digits.get(digits.len() - len..).unwrap_or(&[]));
    w.put(CLOSE.as_bytes());
    Ok(w.pos)
}

/// How Python's `ensure_ascii` escaping writes one character.
enum Escaped {
    /// Printable ASCII, as is.
    Raw(u8),
    /// `\"`, `\\`, `\n`, ...: the byte after the backslash.
    Short(u8),
    /// `\uXXXX` (BMP, controls, DEL).
    U16(u16),
    /// Astral: a `\uXXXX\uXXXX` surrogate pair.
    Pair(u16, u16),
}

fn escape(c: char) -> Escaped {
    match c {
        '"' => Escaped::Short(b'"'),
        '\\' => Escaped::Short(b'\\'),
        '\n' => Escaped::Short(b'n'),
        '\r' => Escaped::Short(b'r'),
        '\t' => Escaped::Short(b't'),
        '\u{8}' => Escaped::Short(b'b'),
        '\u{c}' => Escaped::Short(b'f'),
        // Python's ESCAPE_ASCII keeps exactly ' '..='~'; DEL and controls become \u00XX.
        ' '..='~' => Escaped::Raw(c as u8),
        _ => {
            let mut units = [0u16; 2];
            match c.encode_utf16(&mut units) {
                [hi, lo] => Escaped::Pair(*hi, *lo),
                [unit, ..] => Escaped::U16(*unit),
                [] => Escaped::U16(0),
            }
        }
    }
}

fn escaped_len(s: &str) -> usize {
    s.chars()
        .map(|c| match escape(c) {
            Escaped::Raw(_) => 1,
            Escaped::Short(_) => 2,
            Escaped::U16(_) => 6,
            Escaped::Pair(..) => 12,
        })
        .sum()
}

/// `n` in decimal, right-aligned in the array, and its digit count.
fn decimal(mut n: u64) -> ([u8; 20], usize) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    (digits, len)
}

struct Writer<'o> {
    out: &'o mut [u8],
    pos: usize,
}

impl Writer<'_> {
    /// Callers checked the total length first, so the `get_mut` never misses.
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.pos..self.pos + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.pos += bytes.len();
    }

    fn put_u16(&mut self, unit: u16) {
        const HEX: &[u8; 16] = b"0123456789abcdef"; // Python writes lowercase hex
        let nibble =
            |shift: u16| HEX.get(usize::from((unit >> shift) & 0xf)).copied().unwrap_or(b'0');
        self.put(&[b'\\', b'u', nibble(12), nibble(8), nibble(4), nibble(0)]);
    }

    fn put_escaped(&mut self, s: &str) {
        for c in s.chars() {
            match escape(c) {
                Escaped::Raw(b) => self.put(&[b]),
                Escaped::Short(b) => self.put(&[b'\\', b]),
                Escaped::U16(unit) => self.put_u16(unit),
                Escaped::Pair(hi, lo) => {
                    self.put_u16(hi);
                    self.put_u16(lo);
                }
            }
        }
    }
}
