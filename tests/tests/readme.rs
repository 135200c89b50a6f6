//! Every two-terminal session in README.md and std-adapter/README.md, run as written
//! (issue 12 item 13; the format is in `wirekit_tests::readme`).
//!
//! Each session runs in a fresh folder (with `tests/python` linked in, since the README runs
//! the Python peers from the repository root) with the built `wirekit` first on `PATH`:
//! terminal 1's commands start first, in the background; once its server is listening,
//! terminal 2's commands run one after another and must exit as the README states and print
//! the lines it shows; then terminal 1 must have done the same (a server that serves until
//! interrupted is stopped first). Sessions use the seed's fixed ports, so they run one at a
//! time, in this one test.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use wirekit_tests::readme::{missing_lines, sessions, Session, Step};
use wirekit_tests::{wirekit_bin, Child, Output};

/// How long any one README command may take.
const STEP_LIMIT: Duration = Duration::from_secs(60);
/// How long a terminal-1 command that the README shows ending may take to end after
/// terminal 2 is done.
const END_LIMIT: Duration = Duration::from_secs(15);

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent")
}

fn shell(step: &Step, dir: &Path, path_var: &str) -> Child {
    let mut cmd = Command::new("sh");
    // `exec`, so that stopping the child stops the command itself, not only its shell.
    cmd.arg("-c").arg(format!("exec {}", step.command)).current_dir(dir).env("PATH", path_var);
    cmd.env_remove("WIREKIT_KEY");
    let typed: String = step.typed.iter().map(|line| format!("{line}\n")).collect();
    Child::spawn_with_stdin(cmd, &step.command, typed.as_bytes())
}

fn judge(step: &Step, out: &Output, ended_by_us: bool, problems: &mut Vec<String>) {
    let all = format!("{}\n{}", out.stdout, out.stderr);
    let missing = missing_lines(&step.shows, &all);
    if !missing.is_empty() {
        problems.push(format!("`{}` did not print {missing:?}:\n{out}", step.command));
    }
    if !ended_by_us && out.code() != step.exit {
        problems.push(format!(
            "`{}` exited {} where the README says {}:\n{out}",
            step.command,
            out.code(),
            step.exit
        ));
    }
}

fn run_session(session: &Session, file: &str, path_var: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("tests")).expect("tests/");
    std::os::unix::fs::symlink(repo_root().join("tests/python"), dir.path().join("tests/python"))
        .expect("link tests/python");
    let mut problems = Vec::new();
    let Some((first, rest)) = session.terminals.split_first() else { return problems };
    // Terminal 1: every command but the last runs to its end, the last stays in the background.
    let mut background = None;
    for (index, step) in first.steps.iter().enumerate() {
        let child = shell(step, dir.path(), path_var);
        if index + 1 == first.steps.len() {
            // Ready when it says so (wirekit servers), or after a moment (Python peers).
            let says_listening =
                child.wait_until(Duration::from_secs(5), |_, err| err.contains("listening on"));
            if !says_listening {
                std::thread::sleep(Duration::from_millis(500));
            }
            // A wirekit server without --once serves until interrupted, as the README says.
            let serves_until_stopped = says_listening && !step.command.contains("--once");
            background = Some((step, child, serves_until_stopped));
        } else {
            judge(step, &child.wait_output(STEP_LIMIT), false, &mut problems);
        }
    }
    for terminal in rest {
        for step in &terminal.steps {
            let out = shell(step, dir.path(), path_var).wait_output(STEP_LIMIT);
            judge(step, &out, false, &mut problems);
        }
    }
    if let Some((step, mut child, serves_until_stopped)) = background {
        let started = std::time::Instant::now();
        while !serves_until_stopped && child.is_running() && started.elapsed() < END_LIMIT {
            std::thread::sleep(Duration::from_millis(20));
        }
        let still_running = child.is_running();
        if still_running && !serves_until_stopped {
            problems.push(format!("`{}` did not end within {END_LIMIT:?}", step.command));
        }
        let out = child.wait_output(Duration::ZERO);
        judge(step, &out, still_running, &mut problems);
    }
    problems.into_iter().map(|p| format!("{file}:{} (session): {p}", session.line)).collect()
}

#[cfg(unix)]
#[test]
fn every_readme_session_runs_as_written() {
    let bin_dir = wirekit_bin().parent().expect("bin dir").to_path_buf();
    let path_var = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut problems = Vec::new();
    let mut count = 0;
    for file in ["README.md", "std-adapter/README.md"] {
        let text = std::fs::read_to_string(repo_root().join(file)).expect("read README");
        for session in sessions(&text) {
            count += 1;
            problems.extend(run_session(&session, file, &path_var));
        }
    }
    assert!(count >= 10, "only {count} sessions found: has the README's format changed?");
    assert!(problems.is_empty(), "{} problem(s):\n\n{}", problems.len(), problems.join("\n\n"));
}
