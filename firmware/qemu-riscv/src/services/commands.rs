//! The device's command table: what `wirekit exec controller` can ask on port 8090.
//!
//! No shell on a device: fixed replies come from a [`CommandTable`], the few that report
//! state (`md5`, `uptime`, `stats`) are formatted here into the caller's reply buffers.

use core::fmt::{self, Write};

use wirekit_smoltcp::{md5_hex, CommandHandler, CommandOutput, CommandTable, OutputFull};

/// `ver`'s reply.
pub const VERSION: &str = concat!(
    "wirekit-fw-qemu ",
    env!("CARGO_PKG_VERSION"),
    " (riscv32imac, smoltcp 0.14, no allocator)\n"
);

/// Replies that never change.
const TABLE: CommandTable<'static> = CommandTable::new(&[
    (b"ver", VERSION.as_bytes()),
    (
        b"help",
        b"ver     firmware version\n\
          md5     MD5 and size of the last file received on port 8080\n\
          uptime  time since boot\n\
          stats   handshakes and files so far\n\
          q       end the session\n",
    ),
]);

/// The last file received (its body went into an MD5 sink, nothing is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastFile {
    /// MD5 of the body.
    pub md5: [u8; 16],
    /// Body length.
    pub len: u64,
}

/// Counters since boot, for `stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Handshakes the peer passed (any port).
    pub auth_ok: u32,
    /// Handshakes the peer failed (wrong key, broken answer).
    pub auth_rejected: u32,
    /// Files received whole.
    pub files: u32,
    /// Commands answered.
    pub commands: u32,
}

/// The handler of one command session. The service loop refreshes `now_ms`, `last_file`
/// and `stats` before each poll, so a file that arrives while a controller is connected
/// shows up in its next `md5`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Commands {
    /// Milliseconds since boot.
    pub now_ms: u64,
    /// The last file received, if any.
    pub last_file: Option<LastFile>,
    /// Counters since boot.
    pub stats: Stats,
}

impl CommandHandler for Commands {
    fn run(&mut self, command: &[u8], out: &mut dyn CommandOutput) -> Result<(), OutputFull> {
        // The seed's controller strips its input; a terminal's line ending must not matter.
        let command = command.trim_ascii();
        match command {
            b"md5" => match self.last_file {
                Some(file) => {
                    out.stdout(&md5_hex(file.md5))?;
                    formatted(out, format_args!(" {}\n", file.len))
                }
                None => out.stderr(b"no file received yet\n"),
            },
            b"uptime" => formatted(
                out,
                format_args!("up {}.{:03} s\n", self.now_ms / 1000, self.now_ms % 1000),
            ),
            b"stats" => {
                let s = self.stats;
                formatted(
                    out,
                    format_args!(
                        "auth ok {}, auth rejected {}, files {}, commands {}\n",
                        s.auth_ok, s.auth_rejected, s.files, s.commands
                    ),
                )
            }
            _ => TABLE.clone().run(command, out),
        }
    }
}

/// Writes `args` to stdout without an allocator.
fn formatted(out: &mut dyn CommandOutput, args: fmt::Arguments<'_>) -> Result<(), OutputFull> {
    struct Stdout<'o> {
        out: &'o mut dyn CommandOutput,
        full: Option<OutputFull>,
    }
    impl Write for Stdout<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.out.stdout(s.as_bytes()).map_err(|full| {
                self.full = Some(full);
                fmt::Error
            })
        }
    }
    let mut w = Stdout { out, full: None };
    match (w.write_fmt(args), w.full) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(full)) => Err(full),
        // Only our `write_str` fails, and it records why.
        (Err(_), None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wirekit_smoltcp::SliceOutput;

    fn run(commands: &mut Commands, command: &[u8]) -> (String, String) {
        let (mut o, mut e) = ([0u8; 512], [0u8; 64]);
        let mut out = SliceOutput::new(&mut o, &mut e);
        commands.run(command, &mut out).unwrap();
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        (text(out.stdout_bytes()), text(out.stderr_bytes()))
    }

    #[test]
    fn md5_reports_the_last_file_or_says_there_is_none() {
        let mut c = Commands::default();
        assert_eq!(run(&mut c, b"md5"), (String::new(), "no file received yet\n".into()));
        let mut md5 = [0u8; 16];
        md5[0] = 0xd4;
        md5[15] = 0x7e;
        c.last_file = Some(LastFile { md5, len: 262_144 });
        assert_eq!(run(&mut c, b"md5\n").0, "d400000000000000000000000000007e 262144\n");
    }

    #[test]
    fn table_and_formatted_replies() {
        let mut c = Commands { now_ms: 12_345, ..Commands::default() };
        assert_eq!(run(&mut c, b"ver").0, VERSION);
        assert_eq!(run(&mut c, b" uptime ").0, "up 12.345 s\n");
        c.stats = Stats { auth_ok: 3, auth_rejected: 2, files: 1, commands: 7 };
        assert_eq!(run(&mut c, b"stats").0, "auth ok 3, auth rejected 2, files 1, commands 7\n");
        assert_eq!(run(&mut c, b"rm -rf /"), (String::new(), "unknown command\n".into()));
    }

    #[test]
    fn a_reply_that_does_not_fit_is_an_error_not_a_panic() {
        let (mut o, mut e) = ([0u8; 8], [0u8; 8]);
        let mut out = SliceOutput::new(&mut o, &mut e);
        let err = Commands::default().run(b"uptime", &mut out).unwrap_err();
        assert_eq!(err.capacity, 8);
    }
}
