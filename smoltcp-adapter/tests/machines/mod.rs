//! Test machines: no protocol, just bytes, so the pump is tested on its own.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use core::fmt;

use md5::{Digest, Md5};
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::FileHeader;
use wirekit_core::{Handled, Machine};
use wirekit_smoltcp::{BodySink, SinkFull};

pub const MIB: usize = 1 << 20;
/// Test machines' only error: input where none was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unexpected;

impl fmt::Display for Unexpected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unexpected input")
    }
}
impl core::error::Error for Unexpected {}

#[derive(Debug, PartialEq, Eq)]
pub enum ByteEvent<'i> {
    Chunk(&'i [u8]),
    Eof,
}

/// Sends `data`, then is done. Receives nothing.
pub struct Source {
    pub data: Vec<u8>,
    pub sent: usize,
}

impl Machine for Source {
    type Event<'i> = ByteEvent<'i>;
    type Error = Unexpected;
    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<ByteEvent<'i>>, Unexpected> {
        if input.is_empty() {
            Ok(Handled::consumed(0))
        } else {
            Err(Unexpected)
        }
    }
    fn handle_eof(&mut self) -> Result<Option<ByteEvent<'static>>, Unexpected> {
        Ok(Some(ByteEvent::Eof))
    }
    fn output_buf(&self) -> &[u8] {
        &self.data[self.sent..]
    }
    fn consume_output(&mut self, n: usize) {
        self.sent += n;
    }
    fn is_done(&self) -> bool {
        self.sent == self.data.len()
    }
}

/// Takes every byte and reports it as a chunk borrowed from the socket's buffer; done
/// after `limit` bytes (so it leaves the rest in the socket) or at EOF.
pub struct Sink {
    pub limit: usize,
    pub taken: usize,
    pub eof: bool,
}

impl Sink {
    pub fn unlimited() -> Self {
        Self { limit: usize::MAX, taken: 0, eof: false }
    }
    pub fn take(limit: usize) -> Self {
        Self { limit, taken: 0, eof: false }
    }
}

impl Machine for Sink {
    type Event<'i> = ByteEvent<'i>;
    type Error = Unexpected;
    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<ByteEvent<'i>>, Unexpected> {
        let n = input.len().min(self.limit - self.taken);
        if n == 0 {
            // Nothing to report: the pump offers empty input after every event.
            return Ok(Handled::consumed(0));
        }
        self.taken += n;
        Ok(Handled::event(n, ByteEvent::Chunk(&input[..n])))
    }
    fn handle_eof(&mut self) -> Result<Option<ByteEvent<'static>>, Unexpected> {
        self.eof = true;
        Ok(Some(ByteEvent::Eof))
    }
    fn output_buf(&self) -> &[u8] {
        &[]
    }
    fn consume_output(&mut self, _n: usize) {}
    fn is_done(&self) -> bool {
        self.eof || self.taken == self.limit
    }
}

/// Echoes input through a small output buffer and takes only what fits, so the pump must
/// leave the rest in the socket until the output drains.
pub struct Echo {
    pub buf: Vec<u8>,
    pub capacity: usize,
    pub eof: bool,
}

impl Machine for Echo {
    type Event<'i> = ByteEvent<'i>;
    type Error = Unexpected;
    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<ByteEvent<'i>>, Unexpected> {
        let n = input.len().min(self.capacity - self.buf.len());
        self.buf.extend_from_slice(&input[..n]);
        Ok(Handled::consumed(n))
    }
    fn handle_eof(&mut self) -> Result<Option<ByteEvent<'static>>, Unexpected> {
        self.eof = true;
        Ok(Some(ByteEvent::Eof))
    }
    fn output_buf(&self) -> &[u8] {
        &self.buf
    }
    fn consume_output(&mut self, n: usize) {
        self.buf.drain(..n);
    }
    fn is_done(&self) -> bool {
        self.eof
    }
}

/// Sends `data` and records what comes back.
pub struct SourceSink {
    pub source: Source,
    pub received: Vec<u8>,
}

impl Machine for SourceSink {
    type Event<'i> = ByteEvent<'i>;
    type Error = Unexpected;
    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<ByteEvent<'i>>, Unexpected> {
        self.received.extend_from_slice(input);
        Ok(Handled::consumed(input.len()))
    }
    fn handle_eof(&mut self) -> Result<Option<ByteEvent<'static>>, Unexpected> {
        Ok(Some(ByteEvent::Eof))
    }
    fn output_buf(&self) -> &[u8] {
        self.source.output_buf()
    }
    fn consume_output(&mut self, n: usize) {
        self.source.consume_output(n)
    }
    fn is_done(&self) -> bool {
        self.received.len() == self.source.data.len()
    }
}

/// Sends frames: for each payload its prefix (from the core's encoder) then the payload.
pub struct FrameSource {
    pub config: FrameConfig,
    pub frames: Vec<Vec<u8>>,
    pub next: usize,
    /// The current frame's prefix + payload.
    pub pending: Vec<u8>,
    pub pos: usize,
}

impl FrameSource {
    pub fn new(config: FrameConfig, frames: Vec<Vec<u8>>) -> Self {
        let mut source = Self { config, frames, next: 0, pending: Vec::new(), pos: 0 };
        source.load();
        source
    }
    fn load(&mut self) {
        while self.pos == self.pending.len() && self.next < self.frames.len() {
            let payload = &self.frames[self.next];
            let prefix = self.config.encode_prefix(payload.len() as u64).unwrap();
            self.pending.clear();
            self.pending.extend_from_slice(prefix.as_bytes());
            self.pending.extend_from_slice(payload);
            self.pos = 0;
            self.next += 1;
        }
    }
}

impl Machine for FrameSource {
    type Event<'i> = ByteEvent<'i>;
    type Error = Unexpected;
    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<ByteEvent<'i>>, Unexpected> {
        if input.is_empty() {
            Ok(Handled::consumed(0))
        } else {
            Err(Unexpected)
        }
    }
    fn handle_eof(&mut self) -> Result<Option<ByteEvent<'static>>, Unexpected> {
        Ok(None)
    }
    fn output_buf(&self) -> &[u8] {
        &self.pending[self.pos..]
    }
    fn consume_output(&mut self, n: usize) {
        self.pos += n;
        self.load();
    }
    fn is_done(&self) -> bool {
        self.pos == self.pending.len() && self.next == self.frames.len()
    }
}

/// Takes a pseudo-random part of each input (at least one byte) and now and then reports
/// an event without consuming anything, like a decoder's `End`: the pump must keep the
/// untaken rest in the socket and never lose or repeat a byte.
pub struct Choppy {
    pub rng: u32,
    pub received: Vec<u8>,
    pub eof: bool,
}

impl Choppy {
    fn next(&mut self) -> u32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        self.rng
    }
}

impl Machine for Choppy {
    type Event<'i> = ByteEvent<'i>;
    type Error = Unexpected;
    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<ByteEvent<'i>>, Unexpected> {
        if input.is_empty() {
            // Empty chunks only while bytes wait: the pump offers empty input after every
            // event, and a machine with endless events for nothing would spin the loop.
            return Ok(Handled::consumed(0));
        }
        let roll = self.next();
        if roll % 5 == 0 {
            return Ok(Handled::event(0, ByteEvent::Chunk(&[])));
        }
        let n = 1 + (self.next() as usize) % input.len().max(1);
        let n = n.min(input.len());
        self.received.extend_from_slice(&input[..n]);
        Ok(Handled::event(n, ByteEvent::Chunk(&input[..n])))
    }
    fn handle_eof(&mut self) -> Result<Option<ByteEvent<'static>>, Unexpected> {
        self.eof = true;
        Ok(Some(ByteEvent::Eof))
    }
    fn output_buf(&self) -> &[u8] {
        &[]
    }
    fn consume_output(&mut self, _n: usize) {}
    fn is_done(&self) -> bool {
        self.eof
    }
}

/// Deterministic test bytes (xorshift), different per seed.
pub fn test_bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Frames of 0..=4000 bytes (zero-length ones included) until 1 MiB of payload.
pub fn test_frames(seed: u32) -> Vec<Vec<u8>> {
    let sizes = test_bytes(4096, seed ^ 0x5A5A);
    let data = test_bytes(MIB, seed);
    let mut frames = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let size = usize::from(u16::from_le_bytes([sizes[i % 4096], sizes[(i + 1) % 4096]])) % 4001
            * usize::from(i % 7 != 3);
        let end = (at + size).min(data.len());
        frames.push(data[at..end].to_vec());
        at = end;
        i += 2;
    }
    frames
}

// ---------------------------------------------------------------------------------------
// A file sink for the session tests.

/// MD5 and length of a body, and the header's name.
#[derive(Default)]
pub struct DigestSink {
    pub md5: Md5,
    pub len: u64,
    pub name: String,
    pub digest: Option<[u8; 16]>,
    pub aborted: bool,
}

impl BodySink for DigestSink {
    type Error = SinkFull;
    fn start(&mut self, header: &FileHeader<'_>) -> Result<(), SinkFull> {
        self.name = header.filename.to_string();
        Ok(())
    }
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkFull> {
        self.md5.update(chunk);
        self.len += chunk.len() as u64;
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkFull> {
        self.digest = Some(self.md5.clone().finalize().into());
        Ok(())
    }
    fn abort(&mut self) {
        self.aborted = true;
    }
}

pub fn md5_of(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}
