//! A small fixed output queue for handshake bytes.

use crate::frame::FrameConfig;

/// Bytes waiting to be sent. Capacities are sized by the callers for everything one exchange
/// can ever queue, so a push never runs out of room (tests check the largest cases).
///
/// Not `heapless::Vec`: a short write consumes from the front, which a Vec can only do by
/// shifting the rest (`drain`), and `heapless::Deque` is not one contiguous `output_buf`.
#[derive(Debug, Clone)]
pub(crate) struct OutBuf<const N: usize> {
    buf: [u8; N],
    start: usize,
    end: usize,
}

impl<const N: usize> OutBuf<N> {
    pub(crate) const fn new() -> Self {
        Self { buf: [0; N], start: 0, end: 0 }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Append the concatenation of `parts`. Returns false (appending nothing) if it does not fit.
    pub(crate) fn push(&mut self, parts: &[&[u8]]) -> bool {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let Some(end) = self.end.checked_add(total).filter(|&end| end <= N) else {
            return false;
        };
        let mut at = self.end;
        for part in parts {
            if let Some(dst) = self.buf.get_mut(at..at + part.len()) {
                dst.copy_from_slice(part);
            }
            at += part.len();
        }
        self.end = end;
        true
    }

    /// Append one mp frame (`!i` length prefix, then the concatenation of `parts`), whole or
    /// not at all.
    pub(crate) fn push_frame(&mut self, parts: &[&[u8]]) -> bool {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let Ok(prefix) = FrameConfig::mp().encode_prefix(total as u64) else {
            return false;
        };
        let room = N.saturating_sub(self.end);
        if prefix.as_bytes().len().saturating_add(total) > room {
            return false;
        }
        self.push(&[prefix.as_bytes()]) && self.push(parts)
    }
}
