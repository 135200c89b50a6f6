//! The receive buffer every pump shares: bytes received and not yet consumed, and whether
//! the peer closed.

use crate::drive::Input;

/// `N` bytes of receive buffer; `start..end` holds bytes no machine has consumed yet.
///
/// Not `heapless::Vec`: machines consume from the front, and a transport reads into the spare
/// tail, which a Vec hands out only as `MaybeUninit` (filling it needs `unsafe` `set_len`).
#[derive(Debug)]
pub(crate) struct RxBuf<const N: usize> {
    bytes: [u8; N],
    start: usize,
    end: usize,
    eof: bool,
}

impl<const N: usize> RxBuf<N> {
    /// An empty buffer. A constant, not a `new()`: a debug build would build the N-byte
    /// array in that function's frame and copy it into the pump's, touching N more bytes of
    /// every connection thread's stack (hostile row h80 bounds a server's memory per idle
    /// connection).
    pub(crate) const EMPTY: Self = Self { bytes: [0; N], start: 0, end: 0, eof: false };

    pub(crate) fn buffered(&self) -> &[u8] {
        self.bytes.get(self.start..self.end).unwrap_or(&[])
    }

    /// What the driver is told: the buffered bytes, the close, a full buffer.
    pub(crate) fn input(&self) -> Input<'_> {
        let buffered = self.buffered();
        Input::new(buffered).closed(self.eof).full(buffered.len() == N)
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    pub(crate) const fn peer_closed(&self) -> bool {
        self.eof
    }

    pub(crate) const fn at_eof(&self) -> bool {
        self.eof && self.start == self.end
    }

    /// Room to read into (moving buffered bytes to the front when the tail is full), or
    /// `None` when no read may be made: the peer closed, or the buffer is full.
    pub(crate) fn spare(&mut self) -> Option<&mut [u8]> {
        if self.eof {
            return None;
        }
        if self.start > 0 && self.end == N {
            self.bytes.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.bytes.get_mut(self.end..).filter(|space| !space.is_empty())
    }

    /// A read into [`RxBuf::spare`] returned `n` (0: the peer closed). Returns the bytes
    /// counted: a transport that reports more than it was given must not push `end` past
    /// the buffer (every later read would look full and the pump would spin).
    pub(crate) fn filled(&mut self, n: usize) -> usize {
        let n = n.min(N - self.end);
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        n
    }
}
