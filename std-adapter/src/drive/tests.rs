#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
use super::*;
use wirekit_core::frame::{FrameConfig, FrameDecoder, FrameError, FrameEvent};
use wirekit_core::Handled;

/// Reads `input` in `step`-byte pieces; records writes.
struct Script {
    input: Vec<u8>,
    pos: usize,
    step: usize,
    written: Vec<u8>,
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Short writes, to check that output is flushed in pieces.
        let n = buf.len().min(3);
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn script(input: &[u8], step: usize) -> Script {
    Script { input: input.to_vec(), pos: 0, step, written: Vec::new() }
}

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Start(u64),
    Data(Vec<u8>),
    End,
}

fn frames_through_driver(step: usize) -> Vec<Seen> {
    let stream = b"\x03\0\0\0abc\x00\0\0\0\x02\0\0\0xy";
    let mut driver = Driver::new(script(stream, step));
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let mut seen = Vec::new();
    let ended = driver
        .run(&mut decoder, |event| {
            seen.push(match event {
                FrameEvent::Start { len } => Seen::Start(len),
                FrameEvent::Data { chunk, .. } => Seen::Data(chunk.to_vec()),
                FrameEvent::End => Seen::End,
            });
            Ok(())
        })
        .unwrap();
    assert_eq!(ended, Ended::Eof);
    // Merge data chunks so any split compares equal.
    let mut merged: Vec<Seen> = Vec::new();
    for s in seen {
        match (merged.last_mut(), s) {
            (Some(Seen::Data(acc)), Seen::Data(more)) => acc.extend(more),
            (_, s) => merged.push(s),
        }
    }
    merged
}

#[test]
fn core_decoder_runs_on_a_stream_whatever_the_read_size() {
    let expected = vec![
        Seen::Start(3),
        Seen::Data(b"abc".to_vec()),
        Seen::End,
        Seen::Start(0),
        Seen::End,
        Seen::Start(2),
        Seen::Data(b"xy".to_vec()),
        Seen::End,
    ];
    for step in [1, 2, 5, 4096] {
        assert_eq!(frames_through_driver(step), expected, "step {step}");
    }
}

#[test]
fn machine_errors_and_early_eof_are_reported() {
    let mut driver = Driver::new(script(b"\xfe\xff\xff\xff", 4));
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let err = driver.run(&mut decoder, |_| Ok(())).unwrap_err();
    assert!(matches!(err, DriveError::Machine(FrameError::Negative { value: -2 })), "{err}");

    let mut driver = Driver::new(script(b"\x05\0\0\0ab", 4));
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let err = driver.run(&mut decoder, |_| Ok(())).unwrap_err();
    assert!(matches!(err, DriveError::Machine(FrameError::TruncatedPayload { missing: 3, .. })));
}

#[test]
fn event_handler_errors_stop_the_run() {
    let mut driver = Driver::new(script(b"\x01\0\0\0a", 8));
    let mut decoder = FrameDecoder::new(FrameConfig::seed());
    let err = driver.run(&mut decoder, |_| Err(io::Error::other("disk full"))).unwrap_err();
    assert!(matches!(err, DriveError::Io(_)));
}

/// A toy machine: sends a greeting, then takes one line and is done; bytes after the line
/// belong to whoever comes next.
struct Greeter {
    out: Vec<u8>,
    done: bool,
}

#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[error("closed before a line")]
struct NoLine;

impl Machine for Greeter {
    type Event<'i> = &'i [u8];
    type Error = NoLine;
    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<&'i [u8]>, NoLine> {
        match input.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.done = true;
                Ok(Handled::event(i + 1, &input[..i]))
            }
            None => Ok(Handled::consumed(0)),
        }
    }
    fn handle_eof(&mut self) -> Result<Option<&'static [u8]>, NoLine> {
        Err(NoLine)
    }
    fn output_buf(&self) -> &[u8] {
        &self.out
    }
    fn consume_output(&mut self, n: usize) {
        self.out.drain(..n);
    }
    fn is_done(&self) -> bool {
        self.done
    }
}

#[test]
fn output_is_flushed_and_read_ahead_bytes_stay_for_the_next_machine() {
    for step in [1, 3, 100] {
        let mut driver = Driver::new(script(b"alice\nNEXT", step));
        let mut greeter = Greeter { out: b"who are you?\n".to_vec(), done: false };
        let mut name = Vec::new();
        let ended = driver.run(&mut greeter, |line| {
            name = line.to_vec();
            Ok(())
        });
        assert_eq!(ended.unwrap(), Ended::Done);
        assert_eq!(name, b"alice");
        assert_eq!(driver.get_ref().written, b"who are you?\n");
        // Whatever was read past the line is kept, and the rest is still in the stream.
        let mut rest = driver.leftover().to_vec();
        let (mut stream, _) = driver.into_parts();
        stream.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"NEXT", "step {step}");
    }
}

#[test]
fn partial_item_at_the_end_of_a_full_buffer_is_kept() {
    // A line longer than what fits after the buffered data forces the compaction path.
    let mut input = vec![b'x'; DRIVE_BUF_LEN - 2];
    input.push(b'\n');
    input.extend_from_slice(b"second line\n");
    let mut driver = Driver::new(script(&input, DRIVE_BUF_LEN - 4));
    let mut first = Greeter { out: Vec::new(), done: false };
    driver.run(&mut first, |_| Ok(())).unwrap();
    let mut second = Greeter { out: Vec::new(), done: false };
    let mut line = Vec::new();
    driver
        .run(&mut second, |l| {
            line = l.to_vec();
            Ok(())
        })
        .unwrap();
    assert_eq!(line, b"second line");
}

#[test]
fn a_machine_that_needs_more_than_the_buffer_is_not_a_hang() {
    // Greeter never consumes a partial line; a line longer than the buffer is an error, not
    // a fake EOF from reading into an empty slice.
    let input = vec![b'x'; DRIVE_BUF_LEN + 10];
    let mut driver = Driver::new(script(&input, DRIVE_BUF_LEN));
    let mut greeter = Greeter { out: Vec::new(), done: false };
    let err = driver.run(&mut greeter, |_| Ok(())).unwrap_err();
    assert!(matches!(&err, DriveError::Io(e) if e.kind() == io::ErrorKind::InvalidData), "{err}");
}
