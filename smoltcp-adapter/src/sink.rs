//! Where a received file body goes on a device.
//!
//! A device has no filesystem to speak of: the application decides what a body becomes
//! (written to a flash partition, fed to a digest, only counted). The receive machine's body
//! chunks are handed to a [`BodySink`] in order; [`BodySink::finish`] comes once the last byte
//! arrived, [`BodySink::abort`] when the transfer failed, so a flash writer can mark the
//! partition invalid instead of booting half an image.
//!
//! [`FileReceive`](crate::FileReceive) drives a sink from the core's file receiver;
//! [`CommandController`](crate::CommandController) writes command replies into one.

use core::fmt;

use wirekit_core::header::FileHeader;

/// A consumer of a file body, chunk by chunk.
pub trait BodySink {
    /// Why the sink refused a chunk (flash full, write failure).
    type Error: core::error::Error + Copy + Eq;

    /// The header arrived; the body (`header.filesize` bytes) follows. A flash writer
    /// erases here or refuses a body that cannot fit. Default: accept.
    fn start(&mut self, header: &FileHeader<'_>) -> Result<(), Self::Error> {
        let _ = header;
        Ok(())
    }

    /// Store the next chunk of the body. Either all of `chunk` is taken or an error is
    /// returned: a sink that needs aligned writes buffers internally.
    fn write(&mut self, chunk: &[u8]) -> Result<(), Self::Error>;

    /// The whole body arrived; commit it (flush a page, check a digest).
    fn finish(&mut self) -> Result<(), Self::Error>;

    /// The transfer failed; drop what was written. Default: nothing to undo.
    fn abort(&mut self) {}
}

impl<S: BodySink + ?Sized> BodySink for &mut S {
    type Error = S::Error;
    fn start(&mut self, header: &FileHeader<'_>) -> Result<(), Self::Error> {
        (**self).start(header)
    }
    fn write(&mut self, chunk: &[u8]) -> Result<(), Self::Error> {
        (**self).write(chunk)
    }
    fn finish(&mut self) -> Result<(), Self::Error> {
        (**self).finish()
    }
    fn abort(&mut self) {
        (**self).abort()
    }
}

/// A sink that only counts bytes, optionally up to a limit (e.g. the partition size).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteCounter {
    written: u64,
    limit: Option<u64>,
    finished: bool,
}

/// A body outgrew the space the sink has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkFull {
    /// Bytes the body would have reached.
    pub needed: u64,
    /// The sink's capacity.
    pub capacity: u64,
}

impl fmt::Display for SinkFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "body of at least {} bytes exceeds the sink's {} bytes",
            self.needed, self.capacity
        )
    }
}

impl core::error::Error for SinkFull {}

impl ByteCounter {
    /// Count without a limit.
    pub const fn new() -> Self {
        Self { written: 0, limit: None, finished: false }
    }
    /// Refuse bodies longer than `limit` bytes.
    pub const fn with_limit(limit: u64) -> Self {
        Self { written: 0, limit: Some(limit), finished: false }
    }
    /// Bytes written so far.
    pub const fn written(&self) -> u64 {
        self.written
    }
    /// `finish` was called (and `abort` was not called after it).
    pub const fn is_finished(&self) -> bool {
        self.finished
    }
}

impl BodySink for ByteCounter {
    type Error = SinkFull;
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkFull> {
        let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        let needed = self.written.saturating_add(len);
        if let Some(capacity) = self.limit {
            if needed > capacity {
                return Err(SinkFull { needed, capacity });
            }
        }
        self.written = needed;
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkFull> {
        self.finished = true;
        Ok(())
    }
    fn abort(&mut self) {
        self.written = 0;
        self.finished = false;
    }
}

/// A sink that collects the body in a caller-owned buffer (a command reply, a small file).
#[derive(Debug)]
pub struct SliceSink<'b> {
    buf: &'b mut [u8],
    len: usize,
    finished: bool,
}

impl<'b> SliceSink<'b> {
    /// Collect into `buf`; a body longer than it is refused with [`SinkFull`].
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0, finished: false }
    }
    /// What was written.
    pub fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
    /// `finish` was called since the last [`SliceSink::clear`].
    pub const fn is_finished(&self) -> bool {
        self.finished
    }
    /// Forget the contents, keep the buffer.
    pub fn clear(&mut self) {
        self.len = 0;
        self.finished = false;
    }
}

impl BodySink for SliceSink<'_> {
    type Error = SinkFull;
    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkFull> {
        let end = self.len.saturating_add(chunk.len());
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(chunk);
                self.len = end;
                Ok(())
            }
            None => Err(SinkFull { needed: end as u64, capacity: self.buf.len() as u64 }),
        }
    }
    fn finish(&mut self) -> Result<(), SinkFull> {
        self.finished = true;
        Ok(())
    }
    fn abort(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn feed<S: BodySink>(mut sink: S, chunks: &[&[u8]]) -> Result<(), S::Error> {
        for chunk in chunks {
            sink.write(chunk)?;
        }
        sink.finish()
    }

    #[test]
    fn counter_counts_through_a_mutable_reference() {
        let mut counter = ByteCounter::new();
        feed(&mut counter, &[b"abc", b"", b"defg"]).unwrap();
        assert_eq!(counter.written(), 7);
        assert!(counter.is_finished());
    }

    #[test]
    fn slice_sink_collects_and_refuses_what_does_not_fit() {
        let mut buf = [0u8; 5];
        let mut sink = SliceSink::new(&mut buf);
        feed(&mut sink, &[b"ab", b"cd"]).unwrap();
        assert_eq!(sink.bytes(), b"abcd");
        assert!(sink.is_finished());
        assert_eq!(sink.write(b"ef"), Err(SinkFull { needed: 6, capacity: 5 }));
        assert_eq!(sink.bytes(), b"abcd", "a refused chunk leaves nothing behind");
        sink.abort();
        assert_eq!(sink.bytes(), b"");
        assert!(!sink.is_finished());
    }

    #[test]
    fn counter_refuses_the_chunk_that_crosses_the_limit() {
        let mut counter = ByteCounter::with_limit(5);
        counter.write(b"abcde").unwrap();
        assert_eq!(counter.write(b"f"), Err(SinkFull { needed: 6, capacity: 5 }));
        assert_eq!(counter.written(), 5, "a refused chunk is not counted");
        counter.abort();
        assert_eq!(counter.written(), 0);
        assert!(!counter.is_finished());
    }
}
