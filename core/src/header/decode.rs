//! A small recursive-descent JSON parser (RFC 8259) that extracts the three header fields,
//! skips everything else with bounded depth, and unescapes the names into storage.

use core::ops::Range;

use super::{DecodedFields, HeaderError, Key, MAX_DEPTH};

/// Where the parser reads JSON and writes unescaped names.
pub(crate) trait Buffer {
    /// The JSON (only valid before the first write for [`InPlace`]).
    fn source(&self) -> &[u8];
    /// The JSON byte at `at`. Never called for a byte already overwritten (see [`InPlace`]).
    fn byte(&self, at: usize) -> Option<u8>;
    /// Store `bytes` at `at` in the storage; false if it does not fit.
    fn write(&mut self, at: usize, bytes: &[u8]) -> bool;
    /// The storage's length, for the error.
    fn capacity(&self) -> usize;
}

/// JSON and storage are separate buffers.
pub(crate) struct Split<'j, 's> {
    pub(crate) json: &'j [u8],
    pub(crate) storage: &'s mut [u8],
}

impl Buffer for Split<'_, '_> {
    fn source(&self) -> &[u8] {
        self.json
    }
    fn byte(&self, at: usize) -> Option<u8> {
        self.json.get(at).copied()
    }
    fn write(&mut self, at: usize, bytes: &[u8]) -> bool {
        copy_at(self.storage, at, bytes)
    }
    fn capacity(&self) -> usize {
        self.storage.len()
    }
}

/// The JSON is unescaped over itself. Safe because unescaping never grows: the bytes written
/// so far never outnumber the string bytes read so far, so every write lands on JSON the
/// parser has already passed and will not read again.
pub(crate) struct InPlace<'b> {
    pub(crate) buf: &'b mut [u8],
}

impl Buffer for InPlace<'_> {
    fn source(&self) -> &[u8] {
        self.buf
    }
    fn byte(&self, at: usize) -> Option<u8> {
        self.buf.get(at).copied()
    }
    fn write(&mut self, at: usize, bytes: &[u8]) -> bool {
        copy_at(self.buf, at, bytes)
    }
    fn capacity(&self) -> usize {
        self.buf.len()
    }
}

/// Copy `bytes` into `dst` at `at`; false (nothing written) if they do not fit.
fn copy_at(dst: &mut [u8], at: usize, bytes: &[u8]) -> bool {
    match at.checked_add(bytes.len()).and_then(|end| dst.get_mut(at..end)) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

/// Parse a whole header document.
pub(crate) fn parse<B: Buffer>(buf: B) -> Result<DecodedFields, HeaderError> {
    // Validate UTF-8 once up front; the parser then only looks at ASCII structure and copies
    // whole multi-byte sequences.
    if let Err(err) = core::str::from_utf8(buf.source()) {
        return Err(HeaderError::NotUtf8 { offset: err.valid_up_to() });
    }
    let len = buf.source().len();
    Parser { buf, len, pos: 0, out: 0 }.document()
}

/// What a decoded string is for.
enum Sink<'k> {
    /// A name: append to the storage.
    Keep,
    /// An object key: collect just enough to recognise the three known keys.
    Key(&'k mut KeyBuf),
    /// An unknown value: validate only.
    Skip,
}

/// The longest known key is 8 bytes; anything longer is unknown.
#[derive(Default)]
struct KeyBuf {
    bytes: [u8; 8],
    len: usize,
    too_long: bool,
}

impl KeyBuf {
    fn push(&mut self, bytes: &[u8]) {
        match self.bytes.get_mut(self.len..self.len + bytes.len()) {
            Some(dst) if !self.too_long => {
                dst.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            _ => self.too_long = true,
        }
    }
    fn key(&self) -> Option<Key> {
        if self.too_long {
            return None;
        }
        Key::from_bytes(self.bytes.get(..self.len)?)
    }
}

/// A number's shape, as far as `filesize` cares.
struct Number {
    negative: bool,
    /// The integer digits.
    int: Range<usize>,
    /// A fraction or exponent was present.
    fractional: bool,
}

struct Parser<B> {
    buf: B,
    len: usize,
    pos: usize,
    /// Storage write position.
    out: usize,
}

impl<B: Buffer> Parser<B> {
    fn peek(&self) -> Option<u8> {
        self.buf.byte(self.pos)
    }

    fn syntax(&self) -> HeaderError {
        HeaderError::Syntax { offset: self.pos }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), HeaderError> {
        if self.peek() != Some(byte) {
            return Err(self.syntax());
        }
        self.pos += 1;
        Ok(())
    }

    fn document(&mut self) -> Result<DecodedFields, HeaderError> {
        self.ws();
        if self.peek() != Some(b'{') {
            return Err(HeaderError::NotAnObject);
        }
        self.pos += 1;
        let (mut filename, mut filepath, mut filesize) = (None, None, None);
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                self.expect(b'"')?;
                let mut key = KeyBuf::default();
                self.string_body(&mut Sink::Key(&mut key))?;
                self.ws();
                self.expect(b':')?;
                self.ws();
                match key.key() {
                    None => self.skip_value(1)?,
                    Some(k @ Key::Filename) if filename.is_some() => {
                        return Err(HeaderError::DuplicateKey(k))
                    }
                    Some(k @ Key::Filepath) if filepath.is_some() => {
                        return Err(HeaderError::DuplicateKey(k))
                    }
                    Some(k @ Key::Filesize) if filesize.is_some() => {
                        return Err(HeaderError::DuplicateKey(k))
                    }
                    Some(k @ Key::Filename) => filename = Some(self.string_value(k)?),
                    Some(k @ Key::Filepath) => filepath = Some(self.string_value(k)?),
                    Some(Key::Filesize) => filesize = Some(self.size_value()?),
                }
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.syntax()),
                }
            }
        }
        self.ws();
        if self.pos < self.len {
            return Err(HeaderError::TrailingData { offset: self.pos });
        }
        Ok(DecodedFields {
            filename: filename.ok_or(HeaderError::MissingKey(Key::Filename))?,
            // Informational only (the receiver never uses it), so a sender may leave it out.
            filepath: filepath.unwrap_or(0..0),
            filesize: filesize.ok_or(HeaderError::MissingKey(Key::Filesize))?,
        })
    }

    /// A name's value: a string kept in storage.
    fn string_value(&mut self, key: Key) -> Result<Range<usize>, HeaderError> {
        if self.peek() != Some(b'"') {
            // A malformed value is a syntax error first; a well-formed one has the wrong type.
            self.skip_value(1)?;
            return Err(HeaderError::WrongType(key));
        }
        self.pos += 1;
        let start = self.out;
        self.string_body(&mut Sink::Keep)?;
        Ok(start..self.out)
    }

    fn size_value(&mut self) -> Result<u64, HeaderError> {
        if !matches!(self.peek(), Some(b'-' | b'0'..=b'9')) {
            self.skip_value(1)?;
            return Err(HeaderError::WrongType(Key::Filesize));
        }
        let number = self.number()?;
        let mut digits = number.int.clone().filter_map(|at| self.buf.byte(at));
        let is_zero = digits.clone().all(|d| d == b'0');
        // `-0` is Python's 0; any other minus sign is a negative size.
        let minus_zero = is_zero && !number.fractional;
        if number.negative && !minus_zero {
            return Err(HeaderError::NegativeSize);
        }
        if number.fractional {
            return Err(HeaderError::FractionalSize);
        }
        digits
            .try_fold(0u64, |acc, d| acc.checked_mul(10)?.checked_add(u64::from(d - b'0')))
            .ok_or(HeaderError::SizeTooLarge)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<Number, HeaderError> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let start = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.syntax()),
        }
        let int = start..self.pos;
        let mut fractional = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.some_digits()?;
            fractional = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.some_digits()?;
            fractional = true;
        }
        Ok(Number { negative, int, fractional })
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> Result<(), HeaderError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.syntax());
        }
        self.digits();
        Ok(())
    }

    /// Validate and skip any value. `depth` is the nesting level of the container holding it.
    fn skip_value(&mut self, depth: usize) -> Result<(), HeaderError> {
        match self.peek() {
            Some(open @ (b'{' | b'[')) => {
                if depth >= MAX_DEPTH {
                    return Err(HeaderError::TooDeep { offset: self.pos });
                }
                self.pos += 1;
                let close = if open == b'{' { b'}' } else { b']' };
                self.ws();
                if self.peek() == Some(close) {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if open == b'{' {
                        self.expect(b'"')?;
                        self.string_body(&mut Sink::Skip)?;
                        self.ws();
                        self.expect(b':')?;
                        self.ws();
                    }
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b) if b == close => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.syntax()),
                    }
                }
            }
            Some(b'"') => {
                self.pos += 1;
                self.string_body(&mut Sink::Skip)
            }
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => Err(self.syntax()),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), HeaderError> {
        for &expected in word {
            self.expect(expected)?;
        }
        Ok(())
    }

    /// The rest of a string after its opening quote, through the closing quote.
    fn string_body(&mut self, sink: &mut Sink<'_>) -> Result<(), HeaderError> {
        loop {
            let at = self.pos;
            let mut utf8 = [0u8; 4];
            let len = match self.peek() {
                None => return Err(self.syntax()),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => self.escape()?.encode_utf8(&mut utf8).len(),
                Some(0..=0x1f) => return Err(HeaderError::ControlChar { offset: at }),
                Some(lead) => {
                    // Input is valid UTF-8, so the lead byte gives the sequence length.
                    let len = match lead {
                        0..=0x7f => 1,
                        0x80..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    for (i, slot) in utf8.iter_mut().take(len).enumerate() {
                        *slot = self.buf.byte(at + i).ok_or(HeaderError::NotUtf8 { offset: at })?;
                    }
                    self.pos += len;
                    len
                }
            };
            let bytes = utf8.get(..len).unwrap_or(&[]);
            match sink {
                Sink::Keep => {
                    if !self.buf.write(self.out, bytes) {
                        return Err(HeaderError::StorageTooSmall { capacity: self.buf.capacity() });
                    }
                    self.out += len;
                }
                Sink::Key(key) => key.push(bytes),
                Sink::Skip => {}
            }
        }
    }

    /// One escape sequence starting at the backslash under `pos`.
    fn escape(&mut self) -> Result<char, HeaderError> {
        let at = self.pos;
        let bad = HeaderError::BadEscape { offset: at };
        let simple = match self.buf.byte(at + 1) {
            None => return Err(HeaderError::Syntax { offset: at + 1 }),
            Some(b'u') => None,
            Some(b'"') => Some('"'),
            Some(b'\\') => Some('\\'),
            Some(b'/') => Some('/'),
            Some(b'b') => Some('\u{8}'),
            Some(b'f') => Some('\u{c}'),
            Some(b'n') => Some('\n'),
            Some(b'r') => Some('\r'),
            Some(b't') => Some('\t'),
            Some(_) => return Err(bad),
        };
        if let Some(c) = simple {
            self.pos += 2;
            return Ok(c);
        }
        let unit = self.hex4(at + 2).ok_or(bad)?;
        self.pos += 6;
        let lone = HeaderError::LoneSurrogate { offset: at };
        let code = match unit {
            0xd800..=0xdbff => {
                let low = match (self.peek(), self.buf.byte(self.pos + 1)) {
                    (Some(b'\\'), Some(b'u')) => self.hex4(self.pos + 2),
                    _ => None,
                };
                match low {
                    Some(low @ 0xdc00..=0xdfff) => {
                        self.pos += 6;
                        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    }
                    _ => return Err(lone),
                }
            }
            0xdc00..=0xdfff => return Err(lone),
            _ => unit,
        };
        char::from_u32(code).ok_or(lone)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        (at..at + 4).try_fold(0u32, |acc, i| {
            let digit = char::from(self.buf.byte(i)?).to_digit(16)?;
            Some(acc << 4 | digit)
        })
    }
}
