//! A [`BodySink`] that digests a file body with MD5 instead of storing it (feature `md5`).
//!
//! For firmware that proves a transfer arrived intact (it reports the digest, the sender
//! compares it with its own) or checks an image against a known digest before flashing it.

use core::fmt;

use md5::{Digest, Md5};
use wirekit_core::header::FileHeader;

use crate::sink::{BodySink, SinkFull};

/// Length of an MD5 digest.
pub const MD5_LEN: usize = 16;

/// Digests a body as it arrives; nothing is stored. Bodies over the limit are refused in
/// [`BodySink::start`] (from the header's size) and, should more bytes come, in
/// [`BodySink::write`].
#[derive(Clone)]
pub struct Md5Sink {
    md5: Md5,
    limit: u64,
    written: u64,
    digest: Option<[u8; MD5_LEN]>,
}

impl Md5Sink {
    /// Digest bodies of any size.
    pub fn new() -> Self {
        Self::with_limit(u64::MAX)
    }

    /// Refuse bodies longer than `limit` bytes.
    pub fn with_limit(limit: u64) -> Self {
        Self { md5: Md5::new(), limit, written: 0, digest: None }
    }

    /// The digest of the body, once [`BodySink::finish`] was called (and no `abort` since).
    pub const fn digest(&self) -> Option<[u8; MD5_LEN]> {
        self.digest
    }

    /// Body bytes digested so far.
    pub const fn written(&self) -> u64 {
        self.written
    }
}

impl Default for Md5Sink {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Md5Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Md5Sink")
            .field("limit", &self.limit)
            .field("written", &self.written)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl BodySink for Md5Sink {
    type Error = SinkFull;

    fn start(&mut self, header: &FileHeader<'_>) -> Result<(), SinkFull> {
        if header.filesize > self.limit {
            return Err(SinkFull { needed: header.filesize, capacity: self.limit });
        }
        self.abort();
        Ok(())
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), SinkFull> {
        let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        let needed = self.written.saturating_add(len);
        if needed > self.limit {
            return Err(SinkFull { needed, capacity: self.limit });
        }
        self.md5.update(chunk);
        self.written = needed;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkFull> {
        self.digest = Some(self.md5.clone().finalize().into());
        Ok(())
    }

    fn abort(&mut self) {
        self.md5 = Md5::new();
        self.written = 0;
        self.digest = None;
    }
}

/// A digest as lowercase hex, the way `md5sum` and Python's `hexdigest()` print it.
pub fn md5_hex(digest: [u8; MD5_LEN]) -> [u8; 2 * MD5_LEN] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'0'; 2 * MD5_LEN];
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest) {
        let high = DIGITS.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
        let low = DIGITS.get(usize::from(byte & 0xf)).copied().unwrap_or(b'0');
        pair.copy_from_slice(&[high, low]);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header(filesize: u64) -> FileHeader<'static> {
        FileHeader { filename: "a.bin", filepath: "/", filesize }
    }

    #[test]
    fn digests_what_python_digests() {
        // python3 -c "import hashlib; print(hashlib.md5(b'hello world').hexdigest())"
        let mut sink = Md5Sink::new();
        sink.start(&header(11)).unwrap();
        sink.write(b"hello").unwrap();
        sink.write(b" world").unwrap();
        assert_eq!(sink.digest(), None, "no digest before finish");
        sink.finish().unwrap();
        assert_eq!(&md5_hex(sink.digest().unwrap()), b"5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(sink.written(), 11);
    }

    #[test]
    fn refuses_bodies_over_the_limit_from_the_header_and_from_the_bytes() {
        let mut sink = Md5Sink::with_limit(4);
        assert_eq!(sink.start(&header(5)), Err(SinkFull { needed: 5, capacity: 4 }));
        sink.start(&header(4)).unwrap();
        sink.write(b"abcd").unwrap();
        assert_eq!(sink.write(b"e"), Err(SinkFull { needed: 5, capacity: 4 }));
        assert_eq!(sink.written(), 4, "a refused chunk is not digested");
    }

    #[test]
    fn abort_and_a_new_body_forget_the_old_digest() {
        let mut sink = Md5Sink::new();
        sink.write(b"x").unwrap();
        sink.finish().unwrap();
        assert!(sink.digest().is_some());
        sink.start(&header(0)).unwrap();
        assert_eq!(sink.digest(), None);
        sink.finish().unwrap();
        let empty = md5_hex(sink.digest().unwrap());
        assert_eq!(&empty, b"d41d8cd98f00b204e9800998ecf8427e", "MD5 of nothing");
        sink.abort();
        assert_eq!((sink.digest(), sink.written()), (None, 0));
    }

    #[test]
    fn hex_is_lowercase_and_ordered() {
        let mut digest = [0u8; MD5_LEN];
        digest[0] = 0xab;
        digest[15] = 0x9f;
        assert_eq!(&md5_hex(digest), b"ab00000000000000000000000000009f");
    }
}
