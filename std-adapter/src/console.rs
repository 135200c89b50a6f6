//! Terminal input and output for the binary: data lines on stdout that never panic (a closed
//! pipe such as `wirekit … | head -1` must not become an "internal error"), and the exec
//! controller's command source (`-c` arguments, else stdin lines with a `>>> ` prompt on a
//! terminal).

use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// `-v` count for the whole process (set once by `main`, read where detail is printed).
static VERBOSITY: AtomicU8 = AtomicU8::new(0);

/// Set the `-v` count.
pub fn set_verbosity(level: u8) {
    VERBOSITY.store(level, Ordering::Relaxed);
}

/// The `-v` count: 0 by default, 1 for `-v` (what each step did), 2 for `-vv` (and every
/// cause of an error).
pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// With `-v`: one line of detail on stderr, `wirekit: ...`. The text is built only when it
/// is printed.
pub fn detail(text: impl FnOnce() -> String) {
    if verbosity() >= 1 {
        eprintln!("wirekit: {}", text());
    }
}

/// Print one line of data on stdout. Errors (a closed pipe) are ignored: the data has nowhere
/// to go, and the exchange itself decides the exit status.
pub fn print_line(text: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Where the exec controller's commands come from.
#[derive(Debug)]
pub enum CommandSource<R> {
    /// Commands given with `-c`, in order.
    Args(std::vec::IntoIter<String>),
    /// Lines read from a reader (stdin), with a prompt when `prompt` is set.
    Lines {
        /// The reader.
        reader: R,
        /// Show `>>> ` before each line (stdin is a terminal).
        prompt: bool,
    },
}

/// The prompt the seed's controller shows.
pub const PROMPT: &str = ">>> ";

impl CommandSource<io::StdinLock<'static>> {
    /// `-c` commands if any, else stdin (prompting when it is a terminal).
    pub fn from_args_or_stdin(commands: Vec<String>) -> Self {
        if commands.is_empty() {
            let stdin = io::stdin();
            let prompt = stdin.is_terminal();
            Self::Lines { reader: stdin.lock(), prompt }
        } else {
            Self::Args(commands.into_iter())
        }
    }
}

impl<R: BufRead> CommandSource<R> {
    /// The next command; `None` at the end of the arguments or of input. Blank lines are
    /// skipped (the seed would send an empty command and hang on the reply). Trailing `\r`/`\n`
    /// are removed.
    pub fn next_command(&mut self) -> io::Result<Option<String>> {
        match self {
            Self::Args(args) => Ok(args.next()),
            Self::Lines { reader, prompt } => loop {
                if *prompt {
                    let mut err = io::stderr().lock();
                    let _ = write!(err, "{PROMPT}");
                    let _ = err.flush();
                }
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(None);
                }
                let command = line.trim_end_matches(['\r', '\n']);
                if !command.trim().is_empty() {
                    return Ok(Some(command.to_owned()));
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn args_come_out_in_order() {
        let mut src: CommandSource<&[u8]> =
            CommandSource::Args(vec!["dir".to_string(), "q".to_string()].into_iter());
        assert_eq!(src.next_command().unwrap().as_deref(), Some("dir"));
        assert_eq!(src.next_command().unwrap().as_deref(), Some("q"));
        assert_eq!(src.next_command().unwrap(), None);
    }

    #[test]
    fn lines_skip_blanks_and_strip_line_ends() {
        let input: &[u8] = b"ls -l\r\n\n   \necho \xe5\x90\x83\nlast";
        let mut src = CommandSource::Lines { reader: input, prompt: false };
        let mut got = Vec::new();
        while let Some(c) = src.next_command().unwrap() {
            got.push(c);
        }
        assert_eq!(got, ["ls -l", "echo 吃", "last"]);
    }
}
