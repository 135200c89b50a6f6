//! The command table of port 8090 (as the QEMU image's): no shell on a device, fixed
//! replies and a few formatted from the device's state, without an allocator.

use core::fmt::{self, Write};

use crate::device::{LastFile, Stats};

/// `ver`'s reply.
pub const VERSION: &str =
    concat!("wirekit-embassy ", env!("CARGO_PKG_VERSION"), " (embassy-net, no allocator)\n");

const HELP: &str = "ver     firmware version\n\
                    md5     MD5 and size of the last file received on port 8080\n\
                    uptime  time since boot\n\
                    stats   handshakes and files so far\n\
                    q       end the session\n";

/// A reply that did not fit its buffer: it is sent cut, and the log says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyFull {
    /// The buffer's size.
    pub capacity: usize,
}

/// A reply's two parts, in caller-owned buffers.
#[derive(Debug)]
pub struct Reply<'b> {
    stdout: &'b mut [u8],
    stdout_len: usize,
    stderr: &'b mut [u8],
    stderr_len: usize,
}

impl<'b> Reply<'b> {
    /// An empty reply into `stdout` and `stderr`.
    pub fn new(stdout: &'b mut [u8], stderr: &'b mut [u8]) -> Self {
        Self { stdout, stdout_len: 0, stderr, stderr_len: 0 }
    }

    /// The stdout bytes so far.
    pub fn stdout(&self) -> &[u8] {
        self.stdout.get(..self.stdout_len).unwrap_or_default()
    }

    /// The stderr bytes so far.
    pub fn stderr(&self) -> &[u8] {
        self.stderr.get(..self.stderr_len).unwrap_or_default()
    }

    fn push(buf: &mut [u8], len: &mut usize, bytes: &[u8]) -> Result<(), ReplyFull> {
        let capacity = buf.len();
        let end = len.saturating_add(bytes.len());
        let room = buf.get_mut(*len..end).ok_or(ReplyFull { capacity })?;
        room.copy_from_slice(bytes);
        *len = end;
        Ok(())
    }

    fn out(&mut self, bytes: &[u8]) -> Result<(), ReplyFull> {
        Self::push(self.stdout, &mut self.stdout_len, bytes)
    }

    fn err(&mut self, bytes: &[u8]) -> Result<(), ReplyFull> {
        Self::push(self.stderr, &mut self.stderr_len, bytes)
    }

    /// `args` onto stdout.
    fn formatted(&mut self, args: fmt::Arguments<'_>) -> Result<(), ReplyFull> {
        struct Stdout<'r, 'b> {
            reply: &'r mut Reply<'b>,
            full: Option<ReplyFull>,
        }
        impl Write for Stdout<'_, '_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.reply.out(s.as_bytes()).map_err(|full| {
                    self.full = Some(full);
                    fmt::Error
                })
            }
        }
        let mut w = Stdout { reply: self, full: None };
        match (w.write_fmt(args), w.full) {
            (Ok(()), _) => Ok(()),
            (Err(_), full) => Err(full.unwrap_or(ReplyFull { capacity: 0 })),
        }
    }
}

/// What the commands report on: the device's state when the command arrived.
#[derive(Debug, Clone, Copy, Default)]
pub struct Commands {
    /// Milliseconds since boot.
    pub now_ms: u64,
    /// The last file received, if any.
    pub last_file: Option<LastFile>,
    /// Counters since boot.
    pub stats: Stats,
}

impl Commands {
    /// Run `command` into `reply`. Unknown commands get `unknown command` on stderr, as a
    /// shell would; `q` never gets here (the core's agent ends the session on it).
    pub fn run(&self, command: &[u8], reply: &mut Reply<'_>) -> Result<(), ReplyFull> {
        // The seed's controller strips its input; a terminal's line ending must not matter.
        match command.trim_ascii() {
            b"ver" => reply.out(VERSION.as_bytes()),
            b"help" => reply.out(HELP.as_bytes()),
            b"md5" => match self.last_file {
                Some(file) => {
                    let md5 = Hex(file.md5);
                    reply.formatted(format_args!("{md5} {}\n", file.len))
                }
                None => reply.err(b"no file received yet\n"),
            },
            b"uptime" => reply.formatted(format_args!(
                "up {}.{:03} s\n",
                self.now_ms / 1000,
                self.now_ms % 1000
            )),
            b"stats" => {
                let s = self.stats;
                reply.formatted(format_args!(
                    "auth ok {}, auth rejected {}, files {}, commands {}\n",
                    s.auth_ok, s.auth_rejected, s.files, s.commands
                ))
            }
            _ => reply.err(b"unknown command\n"),
        }
    }
}

/// Lower-case hex, as `md5sum` prints.
struct Hex([u8; 16]);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    extern crate std;
    use std::string::String;

    use super::*;

    fn run(commands: &Commands, command: &[u8]) -> (String, String) {
        let (mut o, mut e) = ([0u8; 512], [0u8; 64]);
        let mut reply = Reply::new(&mut o, &mut e);
        commands.run(command, &mut reply).unwrap();
        let text = |b: &[u8]| String::from_utf8(b.into()).unwrap();
        (text(reply.stdout()), text(reply.stderr()))
    }

    #[test]
    fn md5_reports_the_last_file_or_says_there_is_none() {
        let mut c = Commands::default();
        assert_eq!(run(&c, b"md5"), (String::new(), "no file received yet\n".into()));
        let mut md5 = [0u8; 16];
        md5[0] = 0xd4;
        md5[15] = 0x7e;
        c.last_file = Some(LastFile { md5, len: 262_144 });
        assert_eq!(run(&c, b"md5\n").0, "d400000000000000000000000000007e 262144\n");
    }

    #[test]
    fn fixed_and_formatted_replies_and_unknown_commands() {
        let mut c = Commands { now_ms: 12_345, ..Commands::default() };
        assert_eq!(run(&c, b"ver").0, VERSION);
        assert_eq!(run(&c, b" uptime ").0, "up 12.345 s\n");
        c.stats = Stats { auth_ok: 3, auth_rejected: 2, files: 1, commands: 7 };
        assert_eq!(run(&c, b"stats").0, "auth ok 3, auth rejected 2, files 1, commands 7\n");
        assert_eq!(run(&c, b"rm -rf /"), (String::new(), "unknown command\n".into()));
    }

    #[test]
    fn a_reply_that_does_not_fit_is_an_error_not_a_panic() {
        let (mut o, mut e) = ([0u8; 8], [0u8; 8]);
        let mut reply = Reply::new(&mut o, &mut e);
        let err = Commands::default().run(b"uptime", &mut reply).unwrap_err();
        assert_eq!(err, ReplyFull { capacity: 8 });
        let err = Commands::default().run(b"what is this", &mut reply).unwrap_err();
        assert_eq!(err, ReplyFull { capacity: 8 });
    }
}
