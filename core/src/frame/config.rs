use super::DEFAULT_MAX_FRAME_LEN;

/// Width of the length field in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Width {
    /// 1 byte.
    One = 1,
    /// 2 bytes.
    Two = 2,
    /// 4 bytes.
    Four = 4,
    /// 8 bytes.
    Eight = 8,
}

impl Width {
    /// Number of bytes of the field.
    pub const fn bytes(self) -> usize {
        self as usize
    }
}

/// Byte order of the length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first (`struct.pack('<i')`, and `'i'` on x86/ARM).
    Little,
    /// Network order (`struct.pack('!i')`).
    Big,
}

/// How frames are delimited. Build one from a preset or [`FrameConfig::new`], then adjust
/// the limit with [`FrameConfig::with_max_frame_len`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameConfig {
    width: Width,
    endian: Endian,
    signed: bool,
    max_frame_len: u64,
    mp_extension: bool,
}

impl FrameConfig {
    /// A plain length field. The frame limit starts at [`DEFAULT_MAX_FRAME_LEN`], capped by
    /// what the field can express.
    pub const fn new(width: Width, endian: Endian, signed: bool) -> Self {
        let cfg = Self { width, endian, signed, max_frame_len: u64::MAX, mp_extension: false };
        cfg.with_max_frame_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// The seed recipe: `struct.pack('i', n)`, signed 32-bit little-endian.
    pub const fn seed() -> Self {
        Self::new(Width::Four, Endian::Little, true)
    }

    /// CPython `multiprocessing.connection`: `!i`, and `-1` + `!Q` above `0x7fffffff`.
    pub const fn mp() -> Self {
        let cfg = Self::new(Width::Four, Endian::Big, true);
        Self { mp_extension: true, ..cfg }
    }

    /// Set the largest payload accepted by the decoder and written by the encoder. Values
    /// above what the field can express are lowered to that.
    pub const fn with_max_frame_len(self, max: u64) -> Self {
        let field_max = self.field_max();
        let max_frame_len = if max < field_max { max } else { field_max };
        Self { max_frame_len, ..self }
    }

    /// Width of the length field.
    pub const fn width(&self) -> Width {
        self.width
    }
    /// Byte order of the length field.
    pub const fn endian(&self) -> Endian {
        self.endian
    }
    /// Whether the field is two's-complement signed (negative values are errors).
    pub const fn signed(&self) -> bool {
        self.signed
    }
    /// Largest payload accepted.
    pub const fn max_frame_len(&self) -> u64 {
        self.max_frame_len
    }
    /// Whether CPython's `-1` + `u64` extension is on.
    pub const fn mp_extension(&self) -> bool {
        self.mp_extension
    }

    /// Largest length the field (with the mp extension, if on) can carry.
    pub const fn field_max(&self) -> u64 {
        if self.mp_extension {
            return u64::MAX;
        }
        let bits = (self.width.bytes() * 8) as u32 - if self.signed { 1 } else { 0 };
        if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        }
    }

    /// Bytes of prefix that a payload of `len` bytes gets.
    pub const fn prefix_len(&self, len: u64) -> usize {
        if self.mp_extension && len > i32::MAX as u64 {
            4 + 8
        } else {
            self.width.bytes()
        }
    }

    /// Read an unsigned big-endian or little-endian value from `bytes` (at most 8).
    pub(super) fn read_field(&self, bytes: &[u8]) -> u64 {
        let big = matches!(self.endian, Endian::Big);
        match *bytes {
            // The seed's and CPython's width: one load instead of a byte loop.
            [a, b, c, d] if big => u64::from(u32::from_be_bytes([a, b, c, d])),
            [a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
            _ if big => bytes.iter().fold(0, |v, &b| (v << 8) | u64::from(b)),
            _ => bytes.iter().rev().fold(0, |v, &b| (v << 8) | u64::from(b)),
        }
    }

    /// Sign-extend a raw field value when the field is signed.
    pub(super) fn signed_value(&self, raw: u64) -> i64 {
        let bits = (self.width.bytes() * 8) as u32;
        if bits >= 64 {
            raw as i64
        } else {
            let shift = 64 - bits;
            ((raw << shift) as i64) >> shift
        }
    }
}
