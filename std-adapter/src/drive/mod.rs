//! A blocking driver for any `wirekit_core::Machine` over a `std` stream: the glue through
//! which the core's handshake, transfer and command machines run on a `TcpStream`.
//!
//! Poll order (the core's contract): flush `output_buf`, feed buffered input until it is all
//! consumed or the machine is done, read more, and on a clean close call `handle_eof`. Input
//! that arrives after a machine's exchange stays in the driver for the next machine (a
//! handshake followed by framed traffic), so nothing read ahead is lost.

use std::io::{self, Read, Write};

use wirekit_core::Machine;

/// Bytes read per `read` call. Large, so a file body arrives in big chunks.
pub const DRIVE_BUF_LEN: usize = 256 * 1024;

/// Why a machine run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DriveError<E: std::error::Error + 'static> {
    /// The stream failed (including read timeouts).
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The machine refused the peer's bytes (or an early close).
    #[error(transparent)]
    Machine(E),
}

/// What ended a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The machine said it is done.
    Done,
    /// The peer closed and the machine accepted the close.
    Eof,
}

/// A stream plus the bytes read from it that no machine has consumed yet.
#[derive(Debug)]
pub struct Driver<S> {
    stream: S,
    rx: Vec<u8>,
    start: usize,
    end: usize,
}

impl<S: Read + Write> Driver<S> {
    /// Drive machines over `stream`.
    pub fn new(stream: S) -> Self {
        Self::with_leftover(stream, &[])
    }

    /// As [`Driver::new`], with bytes already read from the stream to be fed first.
    pub fn with_leftover(stream: S, leftover: &[u8]) -> Self {
        let mut rx = vec![0u8; DRIVE_BUF_LEN.max(leftover.len())];
        if let Some(dst) = rx.get_mut(..leftover.len()) {
            dst.copy_from_slice(leftover);
        }
        Self { stream, rx, start: 0, end: leftover.len() }
    }

    /// Bytes read but not consumed by any machine yet.
    pub fn leftover(&self) -> &[u8] {
        self.rx.get(self.start..self.end).unwrap_or(&[])
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably (e.g. to stream a file body with `std::io::copy`).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The stream and the unconsumed bytes.
    pub fn into_parts(self) -> (S, Vec<u8>) {
        let leftover = self.leftover().to_vec();
        (self.stream, leftover)
    }

    /// Run `machine` until it is done or the peer closes, passing each event to `on_event`
    /// (which may stop the run with an I/O error, e.g. when writing a file body fails).
    pub fn run<M, F>(
        &mut self,
        machine: &mut M,
        mut on_event: F,
    ) -> Result<Ended, DriveError<M::Error>>
    where
        M: Machine,
        F: for<'i> FnMut(M::Event<'i>) -> io::Result<()>,
    {
        loop {
            self.flush_output(machine)?;
            if machine.is_done() {
                return Ok(Ended::Done);
            }
            if self.start < self.end {
                let input = self.rx.get(self.start..self.end).unwrap_or(&[]);
                let handled = machine.handle_input(input).map_err(DriveError::Machine)?;
                self.start += handled.consumed;
                let progressed = handled.consumed > 0 || handled.event.is_some();
                if let Some(event) = handled.event {
                    on_event(event)?;
                }
                if progressed {
                    continue;
                }
            }
            // Everything buffered is consumed (or the machine needs more): read.
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            } else if self.end == self.rx.len() {
                // A partial item sits at the end of a full buffer: move it to the front.
                self.rx.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let free = self.rx.get_mut(self.end..).unwrap_or(&mut []);
            if free.is_empty() {
                // The machine wants more than a whole buffer before it consumes anything;
                // the core's machines stream, so this is a bug or a hostile peer, not a wait.
                return Err(DriveError::Io(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the peer's message does not fit the {DRIVE_BUF_LEN}-byte buffer"),
                )));
            }
            let n = loop {
                match self.stream.read(free) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n == 0 {
                let last = machine.handle_eof().map_err(DriveError::Machine)?;
                if let Some(event) = last {
                    on_event(event)?;
                }
                self.flush_output(machine)?;
                return Ok(Ended::Eof);
            }
            self.end += n;
        }
    }

    fn flush_output<M: Machine>(&mut self, machine: &mut M) -> io::Result<()> {
        let mut wrote = false;
        while !machine.output_buf().is_empty() {
            let n = self.stream.write(machine.output_buf())?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            machine.consume_output(n);
            wrote = true;
        }
        if wrote {
            self.stream.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
