//! The README's sessions, read as scripts, so that a test can run every one of them as written
//! (issue 12 item 13).
//!
//! A session is a fenced block that contains `# terminal N` lines. Within it:
//! * `$ COMMAND` runs a command (a command whose quotes are still open goes on over the next
//!   lines, as a shell reads it);
//! * `>>> TEXT` lines after a command are what the user types into it (its standard input);
//! * `$ echo $?` states the exit status of the command before it (otherwise 0 is expected);
//! * any other line is output that the command prints (stdout or stderr).
//!
//! Output is compared with digits masked (ports, timings and sizes vary from run to run):
//! every line the README shows must appear among the command's output lines (stdout and
//! stderr are captured apart, so their interleaving is not compared).
//! Blocks without `# terminal` are transcripts of situations a user cannot recreate alone
//! (a hostile sender) and are not run.

/// One command of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The shell command line.
    pub command: String,
    /// What the user types into it, one line each.
    pub typed: Vec<String>,
    /// Output lines the README shows for it.
    pub shows: Vec<String>,
    /// The exit status the README states (0 when it states none).
    pub exit: i32,
}

/// One terminal of a session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Terminal {
    /// Its commands in order.
    pub steps: Vec<Step>,
}

/// A session: terminal 1 (started first, in the background) and terminal 2 (run after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The Markdown line where the block starts (for messages).
    pub line: usize,
    /// The terminals, terminal 1 first.
    pub terminals: Vec<Terminal>,
}

/// Every session of a Markdown document.
pub fn sessions(markdown: &str) -> Vec<Session> {
    let mut out = Vec::new();
    let mut block: Option<(usize, Vec<&str>)> = None;
    for (index, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            match block.take() {
                Some((start, lines)) => {
                    if lines.iter().any(|l| l.starts_with("# terminal")) {
                        out.push(parse_session(start, &lines));
                    }
                }
                None => block = Some((index + 1, Vec::new())),
            }
        } else if let Some((_, lines)) = block.as_mut() {
            lines.push(line);
        }
    }
    out
}

fn quotes_open(text: &str) -> bool {
    let (mut single, mut double) = (false, false);
    for c in text.chars() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            _ => {}
        }
    }
    single || double
}

fn parse_session(line: usize, lines: &[&str]) -> Session {
    let mut terminals: Vec<Terminal> = Vec::new();
    let mut iter = lines.iter().peekable();
    while let Some(text) = iter.next() {
        if text.starts_with("# terminal") {
            terminals.push(Terminal::default());
            continue;
        }
        let Some(terminal) = terminals.last_mut() else { continue };
        if let Some(command) = text.strip_prefix("$ ") {
            let mut command = command.to_owned();
            while quotes_open(&command) {
                match iter.next() {
                    Some(more) => {
                        command.push('\n');
                        command.push_str(more);
                    }
                    None => break,
                }
            }
            if command.trim() == "echo $?" {
                let code = iter.next().and_then(|c| c.trim().parse().ok()).unwrap_or(-1);
                if let Some(step) = terminal.steps.last_mut() {
                    step.exit = code;
                }
                continue;
            }
            terminal.steps.push(Step { command, typed: Vec::new(), shows: Vec::new(), exit: 0 });
        } else if let Some(step) = terminal.steps.last_mut() {
            if let Some(typed) = text.strip_prefix(">>> ") {
                step.typed.push(typed.to_owned());
            } else if !text.trim().is_empty() {
                step.shows.push((*text).to_owned());
            }
        }
    }
    Session { line, terminals }
}

/// `text` with every run of digits replaced by `#`, trimmed.
pub fn masked(text: &str) -> String {
    let mut out = String::new();
    let mut in_digits = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// The lines of `shows` that do not appear among `output`'s lines (digits masked; a line
/// shown twice must appear twice).
pub fn missing_lines(shows: &[String], output: &str) -> Vec<String> {
    let mut actual: Vec<Option<String>> = output.lines().map(|l| Some(masked(l))).collect();
    let mut missing = Vec::new();
    for want in shows {
        let want_masked = masked(want);
        match actual.iter_mut().find(|line| line.as_deref() == Some(want_masked.as_str())) {
            Some(line) => *line = None,
            None => missing.push(want.clone()),
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "text\n\n```\n# terminal 1\n$ wirekit tcp server\nlistening on 127.0.0.1:8090\n\n# terminal 2\n$ wirekit tcp client\nhi\n$ wirekit x\n$ echo $?\n4\n$ python3 -c \"a\nb\"\nout\n```\n\n```\n$ wirekit not a session\n```\n\n```\n# terminal 1\n$ wirekit exec controller\n>>> echo 1\n1\n```\n";

    #[test]
    fn sessions_commands_outputs_and_exit_codes() {
        let found = sessions(DOC);
        assert_eq!(found.len(), 2, "{found:?}");
        let first = &found[0];
        assert_eq!(first.line, 3);
        assert_eq!(first.terminals.len(), 2);
        assert_eq!(first.terminals[0].steps[0].command, "wirekit tcp server");
        assert_eq!(first.terminals[0].steps[0].shows, ["listening on 127.0.0.1:8090"]);
        let t2 = &first.terminals[1].steps;
        assert_eq!((t2[0].command.as_str(), t2[0].exit), ("wirekit tcp client", 0));
        assert_eq!((t2[1].command.as_str(), t2[1].exit), ("wirekit x", 4));
        assert_eq!(t2[2].command, "python3 -c \"a\nb\"");
        assert_eq!(t2[2].shows, ["out"]);
        assert_eq!(found[1].terminals[0].steps[0].typed, ["echo 1"]);
        assert_eq!(found[1].terminals[0].steps[0].shows, ["1"]);
    }

    #[test]
    fn output_is_compared_with_digits_masked() {
        let shows = ["listening on 127.0.0.1:8090".to_owned(), "hi".to_owned(), "hi".to_owned()];
        assert!(missing_lines(&shows, "listening on 127.0.0.1:40001\nhi\nx\nhi\n").is_empty());
        assert_eq!(missing_lines(&shows, "hi\nlistening on 127.0.0.1:1\n"), ["hi"]);
        assert_eq!(masked(" 6 bytes, 0.001 s "), "# bytes, #.# s");
    }
}
