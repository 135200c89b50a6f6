//! What answers remote commands on a device.
//!
//! In the seed's demo1/demo2 the agent runs the controller's command in a shell and sends
//! back stdout then stderr. A device has no shell: the application provides a
//! [`CommandHandler`] that writes its reply into a [`CommandOutput`]. The framed variant
//! announces `len(stdout) + len(stderr)` before either, so the reply is collected first
//! (into buffers the application owns, e.g. [`SliceOutput`]) and then handed to the core's
//! command machine, which frames and sends it.
//!
//! Wiring to the core's command agent comes with that machine: the event callback of
//! [`TcpPump::poll`](crate::TcpPump::poll) runs the handler on each command event.

use core::fmt;

/// The reply did not fit the space the application gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputFull {
    /// Which stream overflowed.
    pub stream: Stream,
    /// Bytes that stream would have needed.
    pub needed: usize,
    /// Its capacity.
    pub capacity: usize,
}

/// The two output streams of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output: sent first.
    Stdout,
    /// Standard error: sent after stdout.
    Stderr,
}

impl fmt::Display for OutputFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        write!(f, "{name} reply needs {} bytes, only {} available", self.needed, self.capacity)
    }
}

impl core::error::Error for OutputFull {}

/// Where a handler writes its reply. Object-safe so handlers need no generics.
pub trait CommandOutput {
    /// Append to standard output.
    fn stdout(&mut self, bytes: &[u8]) -> Result<(), OutputFull>;
    /// Append to standard error.
    fn stderr(&mut self, bytes: &[u8]) -> Result<(), OutputFull>;
}

/// Runs one command. `command` is the controller's bytes as received (GBK from the seed's
/// Windows controller, so compare bytes, do not assume UTF-8). The quit command `q` is
/// handled by the core's agent machine and never reaches the handler.
pub trait CommandHandler {
    /// Write the reply to `command` into `out`.
    fn run(&mut self, command: &[u8], out: &mut dyn CommandOutput) -> Result<(), OutputFull>;
}

impl<F> CommandHandler for F
where
    F: FnMut(&[u8], &mut dyn CommandOutput) -> Result<(), OutputFull>,
{
    fn run(&mut self, command: &[u8], out: &mut dyn CommandOutput) -> Result<(), OutputFull> {
        self(command, out)
    }
}

/// A fixed table of commands and their stdout replies, for firmware without a shell.
/// Unknown commands get [`CommandTable::UNKNOWN`] on stderr, like a shell would complain.
#[derive(Debug, Clone, Copy)]
pub struct CommandTable<'t> {
    entries: &'t [(&'t [u8], &'t [u8])],
}

impl<'t> CommandTable<'t> {
    /// The stderr reply for a command not in the table.
    pub const UNKNOWN: &'static [u8] = b"unknown command\n";

    /// A table of `(command, stdout reply)` pairs; the first match wins.
    pub const fn new(entries: &'t [(&'t [u8], &'t [u8])]) -> Self {
        Self { entries }
    }
}

impl CommandHandler for CommandTable<'_> {
    fn run(&mut self, command: &[u8], out: &mut dyn CommandOutput) -> Result<(), OutputFull> {
        match self.entries.iter().find(|(name, _)| *name == command) {
            Some((_, reply)) => out.stdout(reply),
            None => out.stderr(Self::UNKNOWN),
        }
    }
}

/// A [`CommandOutput`] over two caller-owned buffers.
#[derive(Debug)]
pub struct SliceOutput<'b> {
    stdout: &'b mut [u8],
    stdout_len: usize,
    stderr: &'b mut [u8],
    stderr_len: usize,
}

impl<'b> SliceOutput<'b> {
    /// Collect stdout into `stdout` and stderr into `stderr`.
    pub fn new(stdout: &'b mut [u8], stderr: &'b mut [u8]) -> Self {
        Self { stdout, stdout_len: 0, stderr, stderr_len: 0 }
    }
    /// What was written to stdout.
    pub fn stdout_bytes(&self) -> &[u8] {
        self.stdout.get(..self.stdout_len).unwrap_or_default()
    }
    /// What was written to stderr.
    pub fn stderr_bytes(&self) -> &[u8] {
        self.stderr.get(..self.stderr_len).unwrap_or_default()
    }
    /// Forget the reply, keep the buffers.
    pub fn clear(&mut self) {
        self.stdout_len = 0;
        self.stderr_len = 0;
    }
    /// Give back the buffers (stdout, stderr), e.g. for the next connection's session.
    pub fn into_buffers(self) -> (&'b mut [u8], &'b mut [u8]) {
        (self.stdout, self.stderr)
    }
}

/// Append `bytes` at `*len` in `buf`, all or nothing.
fn append(buf: &mut [u8], len: &mut usize, bytes: &[u8], stream: Stream) -> Result<(), OutputFull> {
    let capacity = buf.len();
    let needed = len.saturating_add(bytes.len());
    match buf.get_mut(*len..needed) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            *len = needed;
            Ok(())
        }
        None => Err(OutputFull { stream, needed, capacity }),
    }
}

impl CommandOutput for SliceOutput<'_> {
    fn stdout(&mut self, bytes: &[u8]) -> Result<(), OutputFull> {
        append(self.stdout, &mut self.stdout_len, bytes, Stream::Stdout)
    }
    fn stderr(&mut self, bytes: &[u8]) -> Result<(), OutputFull> {
        append(self.stderr, &mut self.stderr_len, bytes, Stream::Stderr)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TABLE: CommandTable<'static> =
        CommandTable::new(&[(b"dir", b"a.txt\nb.txt\n"), (b"ver", b"wirekit 0.1\n")]);

    #[test]
    fn table_answers_known_commands_on_stdout() {
        let (mut o, mut e) = ([0u8; 32], [0u8; 32]);
        let mut out = SliceOutput::new(&mut o, &mut e);
        TABLE.clone().run(b"ver", &mut out).unwrap();
        assert_eq!(out.stdout_bytes(), b"wirekit 0.1\n");
        assert_eq!(out.stderr_bytes(), b"");
    }

    #[test]
    fn table_complains_about_unknown_commands_on_stderr() {
        let (mut o, mut e) = ([0u8; 32], [0u8; 32]);
        let mut out = SliceOutput::new(&mut o, &mut e);
        let mut table = TABLE;
        table.run(b"di", &mut out).unwrap();
        assert_eq!(out.stdout_bytes(), b"");
        assert_eq!(out.stderr_bytes(), CommandTable::UNKNOWN);
    }

    #[test]
    fn output_refuses_what_does_not_fit_and_keeps_what_did() {
        let (mut o, mut e) = ([0u8; 4], [0u8; 0]);
        let mut out = SliceOutput::new(&mut o, &mut e);
        out.stdout(b"abc").unwrap();
        assert_eq!(
            out.stdout(b"de"),
            Err(OutputFull { stream: Stream::Stdout, needed: 5, capacity: 4 })
        );
        assert_eq!(out.stdout_bytes(), b"abc");
        assert_eq!(
            out.stderr(b"x"),
            Err(OutputFull { stream: Stream::Stderr, needed: 1, capacity: 0 })
        );
        out.clear();
        assert_eq!(out.stdout_bytes(), b"");
        let (stdout, stderr) = out.into_buffers();
        assert_eq!((stdout.len(), stderr.len()), (4, 0), "the same buffers come back");
    }

    #[test]
    fn closures_are_handlers() {
        let mut echo = |cmd: &[u8], out: &mut dyn CommandOutput| out.stdout(cmd);
        let (mut o, mut e) = ([0u8; 8], [0u8; 8]);
        let mut out = SliceOutput::new(&mut o, &mut e);
        echo.run(b"hi", &mut out).unwrap();
        assert_eq!(out.stdout_bytes(), b"hi");
    }
}
