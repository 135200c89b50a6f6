//! The async pump gives what the blocking one gives, on a transport that is pending before
//! every read and write (so every await point is crossed with the state it must keep).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
use core::convert::Infallible;
use core::future::Future;
use core::ops::ControlFlow;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::vec::Vec;

use embedded_io::ErrorType;

use super::{AsyncConn, Conn, DriveError};
use crate::frame::{FrameConfig, FrameDecoder, FrameEvent};
use crate::header::FileHeader;
use crate::transfer::{FileReceiver, FileSender};

/// Poll `future` to completion with a waker that does nothing: the transport below wakes
/// itself at once, so polling again is always right. Counts the `Pending`s seen.
fn block_on<F: Future>(future: F) -> (F::Output, usize) {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    let mut pendings = 0;
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return (out, pendings),
            Poll::Pending => pendings += 1,
        }
    }
}

/// Pending once, then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: core::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Reads return `input` in `chunk`-byte pieces, writes take at most `write_limit` bytes;
/// each call is pending once first.
struct Pending {
    input: Vec<u8>,
    pos: usize,
    chunk: usize,
    written: Vec<u8>,
    write_limit: usize,
}

impl Pending {
    fn new(input: &[u8], chunk: usize) -> Self {
        Self { input: input.to_vec(), pos: 0, chunk, written: Vec::new(), write_limit: 3 }
    }
}

impl ErrorType for Pending {
    type Error = Infallible;
}

impl embedded_io_async::Read for Pending {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        YieldOnce(false).await;
        let n = buf.len().min(self.chunk).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl embedded_io_async::Write for Pending {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        YieldOnce(false).await;
        let n = buf.len().min(self.write_limit);
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    async fn flush(&mut self) -> Result<(), Infallible> {
        YieldOnce(false).await;
        Ok(())
    }
}

/// The same transport, blocking.
struct Ready(Pending);

impl ErrorType for Ready {
    type Error = Infallible;
}

impl embedded_io::Read for Ready {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        block_on(embedded_io_async::Read::read(&mut self.0, buf)).0
    }
}

impl embedded_io::Write for Ready {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        block_on(embedded_io_async::Write::write(&mut self.0, buf)).0
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

type Frames = Vec<Vec<u8>>;

fn collect(frames: &mut Frames, event: FrameEvent<'_>) -> ControlFlow<()> {
    match event {
        FrameEvent::Start { .. } => frames.push(Vec::new()),
        FrameEvent::Data { chunk, .. } => frames.last_mut().unwrap().extend_from_slice(chunk),
        FrameEvent::End => {}
    }
    ControlFlow::Continue(())
}

fn frame_stream() -> Vec<u8> {
    let cfg = FrameConfig::seed();
    let mut out = Vec::new();
    for payload in [&b"first"[..], b"", &[7u8; 300][..], b"last"] {
        out.extend_from_slice(cfg.encode_prefix(payload.len() as u64).unwrap().as_bytes());
        out.extend_from_slice(payload);
    }
    out
}

#[test]
fn async_drive_gives_the_frames_the_blocking_drive_gives_in_any_read_size() {
    let stream = frame_stream();
    for chunk in [1, 2, 5, 64, 1000] {
        let mut blocking_frames = Frames::new();
        let mut conn: Conn<_, 32> = Conn::new(Ready(Pending::new(&stream, chunk)));
        let mut decoder = FrameDecoder::new(FrameConfig::seed());
        let blocking = conn.drive(&mut decoder, |_, e| collect(&mut blocking_frames, e));

        let mut async_frames = Frames::new();
        let mut conn: AsyncConn<_, 32> = AsyncConn::new(Pending::new(&stream, chunk));
        let mut decoder = FrameDecoder::new(FrameConfig::seed());
        let (result, pendings) =
            block_on(conn.drive(&mut decoder, |_, e| collect(&mut async_frames, e)));

        assert_eq!(result, blocking, "chunk {chunk}");
        assert_eq!(async_frames, blocking_frames, "chunk {chunk}");
        assert_eq!(async_frames.len(), 4);
        assert!(pendings > stream.len() / chunk, "every read was pending once: {pendings}");
        assert!(conn.at_eof());
    }
}

#[test]
fn async_drive_reports_a_truncated_frame_as_the_blocking_one_does() {
    let stream = frame_stream();
    let cut = &stream[..stream.len() - 2];
    let mut conn: AsyncConn<_, 32> = AsyncConn::new(Pending::new(cut, 3));
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let (result, _) = block_on(conn.drive(&mut decoder, |_, _| ControlFlow::<()>::Continue(())));
    assert!(matches!(result, Err(DriveError::Protocol(_))), "{result:?}");
}

#[test]
fn async_file_round_trip_with_short_writes_and_pending_calls() {
    let body: Vec<u8> = (0..3000u32).map(|i| (i * 13) as u8).collect();
    let header = FileHeader { filename: "a.bin", filepath: "", filesize: body.len() as u64 };

    let mut sender = FileSender::new(FrameConfig::seed(), &header).unwrap();
    let mut conn: AsyncConn<_, 64> = AsyncConn::new(Pending::new(b"", 1));
    let mut source = Pending::new(&body, 100);
    let mut scratch = [0u8; 256];
    let (sent, _) = block_on(conn.send_file(&mut sender, &mut source, &mut scratch));
    assert_eq!(sent, Ok(3000));
    let stream = conn.into_inner().written;

    let mut receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let mut conn: AsyncConn<_, 128> = AsyncConn::new(Pending::new(&stream, 7));
    let mut got = Vec::new();
    let (received, _) = block_on(conn.receive_file(&mut receiver, |incoming| {
        match incoming {
            super::Incoming::Header(h) => assert_eq!(h.filename, "a.bin"),
            super::Incoming::Body(chunk) => got.extend_from_slice(chunk),
        }
        Ok::<(), ()>(())
    }));
    assert_eq!(received, Ok(3000));
    assert_eq!(got, body);
}

#[test]
fn async_recv_frame_keeps_the_bytes_behind_the_frame() {
    let stream = frame_stream();
    let mut conn: AsyncConn<_, 64> = AsyncConn::new(Pending::new(&stream, 4));
    let mut buf = [0u8; 16];
    let (first, _) = block_on(conn.recv_frame(&FrameConfig::seed(), &mut buf));
    assert_eq!(first.unwrap(), b"first");
    let (second, _) = block_on(conn.recv_frame(&FrameConfig::seed(), &mut buf));
    assert_eq!(second.unwrap(), b"");
    // The 300-byte frame does not fit the 16-byte buffer: refused, not truncated.
    let (third, _) = block_on(conn.recv_frame(&FrameConfig::seed(), &mut buf));
    assert!(matches!(third, Err(DriveError::Protocol(_))), "{third:?}");
}
