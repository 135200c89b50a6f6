//! The two buffers both ends share: [`Reader`] gathers one length-prefixed message (refusing
//! an oversize length before buffering any of it), [`Out`] queues encoded messages to send.

use super::codec::{self, EncodeError, PREFIX};
use super::wire::Message;

/// Room in front of a chunk's bytes for its prefix and header (map, type, id, offset or
/// stream, the byte string's head): at most 2 + 23 bytes.
pub(crate) const HEADROOM: usize = 32;

/// Gathers one message in a caller-owned buffer.
#[derive(Debug)]
pub(crate) struct Reader<'b> {
    buf: &'b mut [u8],
    have: usize,
}

impl<'b> Reader<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, have: 0 }
    }

    /// Take bytes of `input` towards the next message: how many were taken, and whether a
    /// whole message is buffered ([`Reader::body`]). `Err(len)`: a length prefix of 0, above
    /// [`codec::MAX_MESSAGE`] or above this buffer.
    pub(crate) fn read(&mut self, input: &[u8]) -> Result<(usize, bool), usize> {
        let mut taken = 0;
        loop {
            let want = match self.body_len()? {
                Some(len) => PREFIX + len,
                None => PREFIX,
            };
            if self.have == want && want > PREFIX {
                return Ok((taken, true));
            }
            let rest = input.get(taken..).unwrap_or_default();
            let n = want.saturating_sub(self.have).min(rest.len());
            if n == 0 {
                return Ok((taken, false));
            }
            let (Some(dst), Some(src)) =
                (self.buf.get_mut(self.have..self.have + n), rest.get(..n))
            else {
                return Err(want);
            };
            dst.copy_from_slice(src);
            self.have += n;
            taken += n;
        }
    }

    /// The announced body length, once the prefix is in.
    fn body_len(&self) -> Result<Option<usize>, usize> {
        let Some(&[a, b]) = self.buf.get(..PREFIX).filter(|_| self.have >= PREFIX) else {
            return Ok(None);
        };
        let len = codec::body_len([a, b])?;
        if PREFIX + len > self.buf.len() {
            return Err(len);
        }
        Ok(Some(len))
    }

    /// The buffered message's body (valid after [`Reader::read`] said it is whole).
    pub(crate) fn body(&self) -> &[u8] {
        self.buf.get(PREFIX..self.have).unwrap_or_default()
    }

    /// Start on the next message.
    pub(crate) fn clear(&mut self) {
        self.have = 0;
    }

    /// Bytes of a message not yet whole.
    pub(crate) fn partial(&self) -> usize {
        self.have
    }
}

/// Encoded messages waiting to be sent, in a caller-owned buffer.
#[derive(Debug)]
pub(crate) struct Out<'b> {
    buf: &'b mut [u8],
    start: usize,
    end: usize,
}

impl<'b> Out<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, start: 0, end: 0 }
    }

    pub(crate) fn pending(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Bytes free (after moving the pending bytes to the front).
    pub(crate) fn room(&self) -> usize {
        self.buf.len() - (self.end - self.start)
    }

    fn tail(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.buf.get_mut(self.end..).unwrap_or_default()
    }

    /// Queue one message.
    pub(crate) fn push(&mut self, message: &Message<'_>) -> Result<(), EncodeError> {
        let n = codec::encode(message, self.tail())?;
        self.end += n;
        Ok(())
    }

    /// Queue a `data` or `output` message whose bytes `fill` writes in place (at most `max`
    /// of them, read straight from storage or a command): `fill` returns the message with
    /// empty `bytes` and how many bytes it wrote, or `None` for nothing to send. Returns what
    /// `fill` returned and the queued bytes.
    pub(crate) fn push_chunk<'m, E>(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<Option<(Message<'m>, usize)>, E>,
    ) -> Result<Option<(Message<'m>, &[u8])>, E> {
        let tail = self.tail();
        let room = tail.len().saturating_sub(HEADROOM).min(max);
        let Some(space) = tail.get_mut(HEADROOM..HEADROOM + room) else { return Ok(None) };
        let Some((message, n)) = fill(space)? else { return Ok(None) };
        let n = n.min(room);
        // The message with no bytes ends in 0x40 (an empty byte string): its head is all
        // but that byte, then the head of an n-byte string; the bytes move up behind it.
        let mut head = [0u8; HEADROOM];
        let Ok(h) = codec::encode_body(&message, &mut head[PREFIX..]) else { return Ok(None) };
        let (string_head, string_len) = bytes_head(n);
        let len = PREFIX + h - 1 + string_len;
        let body = len - PREFIX + n;
        let (Some(at), Some(string_head), Ok(prefix)) =
            (head.get_mut(PREFIX + h - 1..len), string_head.get(..string_len), u16::try_from(body))
        else {
            return Ok(None);
        };
        at.copy_from_slice(string_head);
        if let Some(p) = head.get_mut(..PREFIX) {
            p.copy_from_slice(&prefix.to_be_bytes());
        }
        let tail = self.tail();
        tail.copy_within(HEADROOM..HEADROOM + n, len);
        let (Some(dst), Some(head)) = (tail.get_mut(..len), head.get(..len)) else {
            return Ok(None);
        };
        dst.copy_from_slice(head);
        let start = self.end;
        self.end += len + n;
        let chunk = self.buf.get(start + len..self.end).unwrap_or_default();
        Ok(Some((message, chunk)))
    }
}

/// The head of a CBOR byte string of `n` bytes (n < 65,536), shortest form, and its length.
fn bytes_head(n: usize) -> ([u8; 3], usize) {
    let [hi, lo] = (n as u16).to_be_bytes();
    match n {
        0..24 => ([0x40 | lo, 0, 0], 1),
        24..256 => ([0x58, lo, 0], 2),
        _ => ([0x59, hi, lo], 3),
    }
}
