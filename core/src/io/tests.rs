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

#[test]
fn consume_buffered_past_the_end_empties_without_overflow() {
    let mut conn: Conn<_, 16> = Conn::new(Script::new(b"abcdef", 16));
    conn.fill().unwrap();
    conn.consume_buffered(2);
    conn.consume_buffered(usize::MAX);
    assert_eq!(conn.buffered(), b"");
}

/// A transport that claims to have read more bytes than it was given.
struct Overclaim(Script);

impl ErrorType for Overclaim {
    type Error = Infallible;
}

impl Read for Overclaim {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = self.0.read(buf)?;
        Ok(if n == 0 { 0 } else { n + 100 })
    }
}

impl Write for Overclaim {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

#[test]
fn fill_never_counts_more_than_the_free_space() {
    let mut conn: Conn<_, 8> = Conn::new(Overclaim(Script::new(b"abc", 3)));
    assert_eq!(conn.fill(), Ok(8));
    assert_eq!(conn.buffered().len(), 8);
    // The pump sees a full buffer and says so, instead of spinning on a corrupt `end`.
    let mut decoder = FrameDecoder::new(FrameConfig::seed().with_max_frame_len(1));
    let res = conn.drive(&mut decoder, |_, _| ControlFlow::<()>::Continue(()));
    assert!(matches!(res, Err(DriveError::Protocol(_))), "{res:?}");
}

#[test]
fn drive_keeps_eof_back_while_the_machine_still_has_bytes_to_take() {
    use crate::command::{Agent, AgentEvent, Mode};
    // "dir" and "ls" arrive in two reads, then the controller closes. The callback defers
    // its replies (continues), so the agent takes nothing while "ls" waits in the buffer.
    let mut conn: Conn<_, 16> = Conn::new(Script::new(b"dirls", 3));
    let mut agent: Agent = Agent::new(Mode::Raw);
    let mut commands: Vec<Vec<u8>> = Vec::new();
    let res = conn.drive(&mut agent, |_, ev| {
        if let AgentEvent::Command(cmd) = ev {
            commands.push(cmd.to_vec());
        }
        ControlFlow::<()>::Continue(())
    });
    assert_eq!(res, Err(DriveError::Stalled { buffered: 2 }));
    // Not told about the close yet, so the command sent before it is still handed out.
    agent.reply_done().unwrap();
    let res = conn.drive(&mut agent, |_, ev| match ev {
        AgentEvent::Command(cmd) => {
            commands.push(cmd.to_vec());
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    });
    assert_eq!(res, Ok(Some(())));
    assert_eq!(commands, [b"dir".to_vec(), b"ls".to_vec()]);
    agent.reply_done().unwrap();
    let mut closed = false;
    let res = conn.drive(&mut agent, |_, ev| {
        closed |= ev == AgentEvent::Closed;
        ControlFlow::<()>::Continue(())
    });
    assert_eq!(res, Ok(None));
    assert!(closed && agent.is_done());
}

#[test]
fn agent_replies_framed_over_conn_prefix_first() {
    use crate::command::{Agent, AgentEvent, Mode};
    let mut conn: Conn<_, 16> = Conn::new(Script::new(b"dir", 16));
    let mut agent: Agent = Agent::new(Mode::seed_framed());
    let res = conn.drive(&mut agent, |_, ev| match ev {
        AgentEvent::Command(cmd) => ControlFlow::Break(cmd.to_vec()),
        _ => ControlFlow::Continue(()),
    });
    assert_eq!(res, Ok(Some(b"dir".to_vec())));
    let (stdout, stderr) = (b"out\n", b"err");
    agent.begin_reply_for(stdout, stderr).unwrap();
    conn.flush_output(&mut agent).unwrap();
    for part in [&stdout[..], &stderr[..]] {
        conn.write_all(part).unwrap();
        agent.record_reply_bytes(part.len()).unwrap();
    }
    assert!(!agent.is_replying());
    assert_eq!(conn.get_ref().written, b"\x07\0\0\0out\nerr");
    let res = conn.drive(&mut agent, |_, _| ControlFlow::<()>::Continue(()));
    assert_eq!(res, Ok(None), "the controller closed after its command");
}

mod file {
    use super::*;
    use crate::header::FileHeader;
    use crate::io::{FileIoError, Incoming};
    use crate::transfer::{FileReceiver, FileSender, TransferError};

    fn sent_stream(body: &[u8]) -> Vec<u8> {
        let header =
            FileHeader { filename: "数据.bin", filepath: "/tmp", filesize: body.len() as u64 };
        let mut sender = FileSender::new(FrameConfig::seed(), &header).unwrap();
        let mut conn: Conn<_, 64> = Conn::new(Script::new(b"", 1));
        let mut scratch = [0u8; 100];
        let mut source: &[u8] = body;
        assert_eq!(conn.send_file(&mut sender, &mut source, &mut scratch), Ok(body.len() as u64));
        conn.into_inner().written
    }

    fn receive(stream: &[u8], chunk: usize) -> (Result<u64, FileIoError<Infallible, ()>>, Vec<u8>) {
        let mut conn: Conn<_, 256> = Conn::new(Script::new(stream, chunk));
        let mut receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
        let mut body = Vec::new();
        let mut names = Vec::new();
        let res = conn.receive_file(&mut receiver, |incoming| {
            match incoming {
                Incoming::Header(h) => names.push(std::string::String::from(h.filename)),
                Incoming::Body(chunk) => body.extend_from_slice(chunk),
            }
            Ok(())
        });
        if res.is_ok() {
            assert_eq!(names, ["数据.bin"]);
        }
        (res, body)
    }

    #[test]
    fn file_round_trip_through_conn_in_any_read_size() {
        let body: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let stream = sent_stream(&body);
        for chunk in [1, 7, 64, 4096] {
            let (res, got) = receive(&stream, chunk);
            assert_eq!(res, Ok(5000));
            assert_eq!(got, body);
        }
    }

    #[test]
    fn empty_file_completes() {
        let stream = sent_stream(b"");
        assert_eq!(receive(&stream, 3), (Ok(0), Vec::new()));
    }

    #[test]
    fn stream_cut_in_the_body_is_an_error_not_a_short_file() {
        let body = [9u8; 300];
        let mut stream = sent_stream(&body);
        stream.truncate(stream.len() - 1);
        let (res, _) = receive(&stream, 50);
        assert_eq!(
            res,
            Err(FileIoError::Drive(DriveError::Protocol(TransferError::Truncated {
                received: 299,
                expected: 300
            })))
        );
    }

    #[test]
    fn source_shorter_than_announced_is_reported() {
        let header = FileHeader { filename: "a", filepath: "", filesize: 10 };
        let mut sender = FileSender::new(FrameConfig::seed(), &header).unwrap();
        let mut conn: Conn<_, 64> = Conn::new(Script::new(b"", 1));
        let mut source: &[u8] = b"12345";
        let mut scratch = [0u8; 4];
        assert_eq!(
            conn.send_file(&mut sender, &mut source, &mut scratch),
            Err(FileIoError::SourceShort { sent: 5, expected: 10 })
        );
    }

    #[test]
    fn send_file_refuses_an_empty_scratch_buffer_before_writing() {
        let header = FileHeader { filename: "a", filepath: "", filesize: 3 };
        let mut sender = FileSender::new(FrameConfig::seed(), &header).unwrap();
        let mut conn: Conn<_, 64> = Conn::new(Script::new(b"", 1));
        let mut source: &[u8] = b"abc";
        assert_eq!(
            conn.send_file(&mut sender, &mut source, &mut []),
            Err(FileIoError::EmptyScratch)
        );
        assert!(conn.get_ref().written.is_empty());
        // An empty file needs no scratch.
        let empty = FileHeader { filename: "a", filepath: "", filesize: 0 };
        let mut sender = FileSender::new(FrameConfig::seed(), &empty).unwrap();
        assert_eq!(conn.send_file(&mut sender, &mut source, &mut []), Ok(0));
    }

    #[test]
    fn send_file_writes_nothing_for_a_failed_sender() {
        let header = FileHeader { filename: "a", filepath: "", filesize: 3 };
        let mut sender = FileSender::new(FrameConfig::seed(), &header).unwrap();
        let err = sender.record_body(1).unwrap_err();
        let mut conn: Conn<_, 64> = Conn::new(Script::new(b"", 1));
        let mut source: &[u8] = b"abc";
        assert_eq!(
            conn.send_file(&mut sender, &mut source, &mut [0u8; 8]),
            Err(FileIoError::Drive(DriveError::Protocol(err)))
        );
        assert!(conn.get_ref().written.is_empty(), "no body byte after a failure");
        assert_eq!(source, b"abc");
    }

    #[test]
    fn sink_error_stops_the_receive() {
        let stream = sent_stream(&[1u8; 100]);
        let mut conn: Conn<_, 256> = Conn::new(Script::new(&stream, 10));
        let mut receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
        let res = conn.receive_file(&mut receiver, |incoming| match incoming {
            Incoming::Body(_) => Err("disk full"),
            Incoming::Header(_) => Ok(()),
        });
        assert_eq!(res, Err(FileIoError::Local("disk full")));
    }
}

mod handshake {
    use super::*;
    use crate::auth::{hmac, MacAlgorithm, Outcome, RejectReason, SeedVerifier};

    #[test]
    fn authenticate_leaves_data_after_the_answer_buffered() {
        let challenge = [7u8; 32];
        let answer = hmac(MacAlgorithm::Md5, b"egg", &[&challenge]);
        let mut input = answer.as_bytes().to_vec();
        input.extend_from_slice(b"\x03\x00\x00\x00app");
        for chunk in [1, 5, 64] {
            let mut conn: Conn<_, 64> = Conn::new(Script::new(&input, chunk));
            let mut verifier = SeedVerifier::new(b"egg", challenge);
            assert_eq!(conn.authenticate(&mut verifier), Ok(Outcome::Authenticated));
            assert_eq!(conn.get_ref().written, challenge);
            let mut buf = [0u8; 8];
            assert_eq!(conn.recv_frame(&FrameConfig::seed(), &mut buf).unwrap(), b"app");
        }
    }

    #[test]
    fn authenticate_reports_a_wrong_answer() {
        let answer = hmac(MacAlgorithm::Md5, b"not egg", &[&[1u8; 32]]);
        let mut conn: Conn<_, 64> = Conn::new(Script::new(answer.as_bytes(), 16));
        let mut verifier = SeedVerifier::new(b"egg", [1u8; 32]);
        assert_eq!(
            conn.authenticate(&mut verifier),
            Ok(Outcome::PeerRejected(RejectReason::WrongMac))
        );
    }
}

#[test]
fn drive_ends_cleanly_when_the_peer_closes_between_frames() {
    let stream = seed_stream(&[b"one", b"two"]);
    let mut conn: Conn<_, 16> = Conn::new(Script::new(&stream, 3));
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let mut ends = 0;
    let res = conn.drive(&mut decoder, |_, ev| {
        if ev == FrameEvent::End {
            ends += 1;
        }
        ControlFlow::<()>::Continue(())
    });
    assert_eq!(res, Ok(None));
    assert_eq!(ends, 2);
}
