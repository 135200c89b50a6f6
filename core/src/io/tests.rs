#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
use core::convert::Infallible;
use core::ops::ControlFlow;
use std::vec::Vec;

use embedded_io::{ErrorType, Read, Write};

use super::*;
use crate::frame::{FrameConfig, FrameDecoder, FrameError, FrameEvent};

/// A scripted transport: reads return the input in `chunk`-byte pieces, writes collect.
struct Script {
    input: Vec<u8>,
    pos: usize,
    chunk: usize,
    written: Vec<u8>,
    write_limit: usize,
}

impl Script {
    fn new(input: &[u8], chunk: usize) -> Self {
        Self { input: input.to_vec(), pos: 0, chunk, written: Vec::new(), write_limit: usize::MAX }
    }
}

impl ErrorType for Script {
    type Error = Infallible;
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(self.chunk).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(self.write_limit);
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

fn seed_stream(frames: &[&[u8]]) -> Vec<u8> {
    let cfg = FrameConfig::seed();
    let mut out = Vec::new();
    for f in frames {
        out.extend_from_slice(cfg.encode_prefix(f.len() as u64).unwrap().as_bytes());
        out.extend_from_slice(f);
    }
    out
}

#[test]
fn recv_frame_keeps_bytes_after_the_frame_for_the_next_call() {
    let stream = seed_stream(&[b"first", b"", b"third frame"]);
    for chunk in [1, 3, 64] {
        let mut conn: Conn<_, 64> = Conn::new(Script::new(&stream, chunk));
        let mut buf = [0u8; 32];
        let cfg = FrameConfig::seed();
        assert_eq!(conn.recv_frame(&cfg, &mut buf).unwrap(), b"first");
        assert_eq!(conn.recv_frame(&cfg, &mut buf).unwrap(), b"");
        assert_eq!(conn.recv_frame(&cfg, &mut buf).unwrap(), b"third frame");
        assert_eq!(conn.recv_frame(&cfg, &mut buf), Err(DriveError::UnexpectedEof));
    }
}

#[test]
fn recv_frame_reports_truncated_payload_at_eof() {
    let mut stream = seed_stream(&[b"abcdef"]);
    stream.truncate(7);
    let mut conn: Conn<_, 64> = Conn::new(Script::new(&stream, 2));
    let mut buf = [0u8; 32];
    assert_eq!(
        conn.recv_frame(&FrameConfig::seed(), &mut buf),
        Err(DriveError::Protocol(FrameError::TruncatedPayload { len: 6, missing: 3 }))
    );
}

#[test]
fn recv_frame_refuses_a_frame_larger_than_the_buffer() {
    let stream = seed_stream(&[&[7u8; 100]]);
    let mut conn: Conn<_, 64> = Conn::new(Script::new(&stream, 64));
    let mut buf = [0u8; 32];
    assert_eq!(
        conn.recv_frame(&FrameConfig::seed(), &mut buf),
        Err(DriveError::Protocol(FrameError::BufferTooSmall { len: 100, capacity: 32 }))
    );
}

#[test]
fn send_frame_writes_prefix_then_payload_even_with_short_writes() {
    let mut script = Script::new(b"", 1);
    script.write_limit = 3;
    let mut conn: Conn<_, 16> = Conn::new(script);
    conn.send_frame(&FrameConfig::mp(), b"hello").unwrap();
    assert_eq!(conn.get_ref().written, [0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o']);
}

#[test]
fn send_frame_refuses_oversize_payload_before_writing() {
    let mut conn: Conn<_, 16> = Conn::new(Script::new(b"", 1));
    let cfg = FrameConfig::seed().with_max_frame_len(4);
    assert_eq!(
        conn.send_frame(&cfg, b"hello"),
        Err(DriveError::Protocol(crate::frame::EncodeError::Oversize { len: 5, max: 4 }))
    );
    assert!(conn.get_ref().written.is_empty());
}

#[test]
fn drive_streams_a_frame_larger_than_the_receive_buffer() {
    let payload: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let stream = seed_stream(&[&payload]);
    let mut conn: Conn<_, 64> = Conn::new(Script::new(&stream, 1000));
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let mut got = Vec::new();
    let ended = conn
        .drive(&mut decoder, |_, ev| match ev {
            FrameEvent::Data { chunk, .. } => {
                got.extend_from_slice(chunk);
                ControlFlow::Continue(())
            }
            FrameEvent::End => ControlFlow::Break("end"),
            FrameEvent::Start { .. } => ControlFlow::Continue(()),
        })
        .unwrap();
    assert_eq!(ended, Some("end"));
    assert_eq!(got, payload);
}

#[test]
fn drive_reports_eof_mid_frame_as_protocol_error() {
    let mut stream = seed_stream(&[b"0123456789"]);
    stream.truncate(9);
    let mut conn: Conn<_, 64> = Conn::new(Script::new(&stream, 4));
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let res = conn.drive(&mut decoder, |_, _| ControlFlow::<()>::Continue(()));
    assert_eq!(
        res,
        Err(DriveError::Protocol(FrameError::TruncatedPayload { len: 10, missing: 5 }))
    );
}
