//! Where a sent file body comes from on a device: flash, ROM, a slice in RAM.
//!
//! [`FileSend`](crate::FileSend) asks the source to fill the socket's transmit buffer
//! directly (smoltcp's `send(|buf| ..)`), so no intermediate buffer is needed.

use core::convert::Infallible;

/// A sequential reader of a file body.
pub trait BodySource {
    /// Why a read failed (a flash read error).
    type Error: core::error::Error + Copy + Eq;

    /// Fill the start of `buf` with the next body bytes and return how many were written.
    /// 0 means the source has nothing more (a short source is reported as an error when the
    /// header announced more).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error>;
}

impl<S: BodySource + ?Sized> BodySource for &mut S {
    type Error = S::Error;
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        (**self).read(buf)
    }
}

/// A body held in memory (a `static` in flash, a buffer in RAM).
#[derive(Debug, Clone, Copy)]
pub struct SliceSource<'a> {
    rest: &'a [u8],
}

impl<'a> SliceSource<'a> {
    /// Read `bytes` from the start.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Bytes not read yet.
    pub const fn remaining(&self) -> usize {
        self.rest.len()
    }
}

impl BodySource for SliceSource<'_> {
    type Error = Infallible;
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(self.rest.len());
        let (head, tail) = self.rest.split_at(n);
        if let Some(dst) = buf.get_mut(..n) {
            dst.copy_from_slice(head);
        }
        self.rest = tail;
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_source_hands_out_its_bytes_once_in_order() {
        let mut source = SliceSource::new(b"abcdefg");
        let mut buf = [0u8; 3];
        assert_eq!(source.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf, b"abc");
        assert_eq!(source.read(&mut buf[..0]).unwrap(), 0);
        assert_eq!(source.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf, b"def");
        assert_eq!(source.read(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], b'g');
        assert_eq!(source.read(&mut buf).unwrap(), 0);
        assert_eq!(source.remaining(), 0);
    }
}
