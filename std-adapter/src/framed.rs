//! Whole frames over a blocking stream, using the core's framing (`wirekit_core::frame`):
//! the seed's `struct.pack('i', n)` or CPython's `!i` (`send_bytes`/`recv_bytes`).
//!
//! For control messages and the demos' small payloads. A file body does not go through here:
//! it is streamed in large chunks straight to disk (see [`crate::atomic_file`]).

use std::io::{self, Read, Write};

use wirekit_core::frame::{EncodeError, FrameConfig, FrameError, FrameReader};

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FramedError {
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The peer broke the framing (negative or oversize length, cut-off frame).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// Our payload does not fit the framing.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

const RX_CHUNK: usize = 64 * 1024;

/// A stream that sends and receives whole frames.
#[derive(Debug)]
pub struct Framed<S> {
    stream: S,
    config: FrameConfig,
    reader: FrameReader,
    rx: Vec<u8>,
    rx_start: usize,
    rx_end: usize,
    frame: Vec<u8>,
}

impl<S: Read + Write> Framed<S> {
    /// Frame `stream` with `config`; frames longer than `config.max_frame_len()` are refused
    /// as soon as their prefix arrives.
    pub fn new(stream: S, config: FrameConfig) -> Self {
        Self::with_leftover(stream, config, &[])
    }

    /// As [`Framed::new`], with bytes already read from the stream (left over after a
    /// handshake) to be decoded first.
    pub fn with_leftover(stream: S, config: FrameConfig, leftover: &[u8]) -> Self {
        let mut rx = vec![0u8; RX_CHUNK.max(leftover.len())];
        if let Some(dst) = rx.get_mut(..leftover.len()) {
            dst.copy_from_slice(leftover);
        }
        let frame_cap = usize::try_from(config.max_frame_len()).unwrap_or(usize::MAX);
        Self {
            stream,
            config,
            reader: FrameReader::new(config),
            rx,
            rx_start: 0,
            rx_end: leftover.len(),
            frame: vec![0u8; frame_cap],
        }
    }

    /// The framing in use.
    pub fn config(&self) -> FrameConfig {
        self.config
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Send one frame: prefix and payload, in one write when small.
    pub fn send_frame(&mut self, payload: &[u8]) -> Result<(), FramedError> {
        let prefix = self.config.encode_prefix(payload.len() as u64)?;
        if payload.len() <= 16 * 1024 {
            let mut msg = Vec::with_capacity(prefix.as_bytes().len() + payload.len());
            msg.extend_from_slice(prefix.as_bytes());
            msg.extend_from_slice(payload);
            self.stream.write_all(&msg)?;
        } else {
            self.stream.write_all(prefix.as_bytes())?;
            self.stream.write_all(payload)?;
        }
        self.stream.flush()?;
        Ok(())
    }

    /// Receive one whole frame; `Ok(None)` when the peer closed cleanly between frames.
    pub fn recv_frame(&mut self) -> Result<Option<&[u8]>, FramedError> {
        loop {
            if self.rx_start < self.rx_end {
                let input = self.rx.get(self.rx_start..self.rx_end).unwrap_or(&[]);
                let step = self.reader.read_frame(input, &mut self.frame)?;
                self.rx_start += step.consumed;
                if let Some(frame) = step.event {
                    let len = frame.len();
                    return Ok(Some(self.frame.get(..len).unwrap_or(&[])));
                }
                continue;
            }
            self.rx_start = 0;
            self.rx_end = 0;
            let n = loop {
                match self.stream.read(&mut self.rx) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n == 0 {
                self.reader.finish()?;
                return Ok(None);
            }
            self.rx_end = n;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// In-memory duplex: reads from `input` in small pieces, writes into `output`.
    struct Pipe {
        input: Vec<u8>,
        pos: usize,
        step: usize,
        output: Vec<u8>,
    }

    impl Read for Pipe {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.input.len() - self.pos);
            buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }
    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn pipe(input: &[u8], step: usize) -> Pipe {
        Pipe { input: input.to_vec(), pos: 0, step, output: Vec::new() }
    }

    #[test]
    fn seed_frames_are_little_endian_and_mp_big_endian() {
        let mut f = Framed::new(pipe(b"", 1), FrameConfig::seed());
        f.send_frame(b"abc").unwrap();
        assert_eq!(f.get_ref().output, b"\x03\x00\x00\x00abc");
        let mut f = Framed::new(pipe(b"", 1), FrameConfig::mp());
        f.send_frame(b"abc").unwrap();
        assert_eq!(f.get_ref().output, b"\x00\x00\x00\x03abc");
    }

    #[test]
    fn frames_split_anywhere_come_out_whole() {
        let stream = b"\x00\x00\x00\x02hi\x00\x00\x00\x00\x00\x00\x00\x05hello";
        for step in [1, 3, 7, 1000] {
            let mut f = Framed::new(pipe(stream, step), FrameConfig::mp());
            assert_eq!(f.recv_frame().unwrap().unwrap(), b"hi");
            assert_eq!(f.recv_frame().unwrap().unwrap(), b"");
            assert_eq!(f.recv_frame().unwrap().unwrap(), b"hello");
            assert!(f.recv_frame().unwrap().is_none());
        }
    }

    #[test]
    fn leftover_is_decoded_first() {
        let mut f = Framed::with_leftover(pipe(b"lo", 1), FrameConfig::seed(), b"\x05\0\0\0hel");
        assert_eq!(f.recv_frame().unwrap().unwrap(), b"hello");
    }

    #[test]
    fn negative_oversize_and_cut_frames_are_errors() {
        let mut f = Framed::new(pipe(b"\xff\xff\xff\xff", 4), FrameConfig::seed());
        assert!(matches!(f.recv_frame(), Err(FramedError::Frame(FrameError::Negative { .. }))));
        let small = FrameConfig::seed().with_max_frame_len(4);
        let mut f = Framed::new(pipe(b"\x05\0\0\0hello", 9), small);
        assert!(matches!(f.recv_frame(), Err(FramedError::Frame(FrameError::Oversize { .. }))));
        let mut f = Framed::new(pipe(b"\x05\0\0\0hel", 9), FrameConfig::seed());
        assert!(matches!(
            f.recv_frame(),
            Err(FramedError::Frame(FrameError::TruncatedPayload { .. }))
        ));
    }
}
