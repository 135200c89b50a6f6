//! Skipping a test that cannot run on this machine, visibly, and never under CI.
//!
//! Included by path (`#[path = ".../tests/src/skip.rs"] mod skip;`) from the test crates that
//! cannot depend on `wirekit-tests` (the smoltcp adapter's TAP test, the QEMU test), so that
//! all of them follow one rule: a skip is printed where a user sees it (straight to the
//! terminal's stderr, which `cargo test` does not capture, unlike `println!`), and when the
//! `CI` environment variable is set (as `.ci/run` sets it, like most CI services) a skip is a
//! failure, so CI cannot pass with its most important tests not run.

use std::io::Write;

/// What to do about a test that cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipAction {
    /// Print the reason and pass.
    Skip,
    /// Fail: under CI every test must run.
    Fail,
}

/// The action for a `CI` variable of `ci` (unset, empty, `0` and `false` are "not CI").
pub fn skip_action(ci: Option<&str>) -> SkipAction {
    match ci.map(str::trim) {
        None | Some("" | "0") => SkipAction::Skip,
        Some(v) if v.eq_ignore_ascii_case("false") => SkipAction::Skip,
        Some(_) => SkipAction::Fail,
    }
}

/// Skip the test `what` because of `reason`: print it to the real stderr, or panic under CI.
/// Returns only when skipping is allowed (the caller then returns).
#[allow(clippy::panic)]
pub fn skip(what: &str, reason: &str) {
    let ci = std::env::var("CI").ok();
    match skip_action(ci.as_deref()) {
        SkipAction::Fail => panic!("{what} cannot run under CI (CI={ci:?}): {reason}"),
        SkipAction::Skip => {
            let line = format!("\n{what} SKIPPED: {reason}\n");
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_values_that_mean_ci_fail_the_skip() {
        for ci in ["true", "1", "yes", "TRUE"] {
            assert_eq!(skip_action(Some(ci)), SkipAction::Fail, "{ci}");
        }
        for not_ci in [None, Some(""), Some("0"), Some("false"), Some("False")] {
            assert_eq!(skip_action(not_ci), SkipAction::Skip, "{not_ci:?}");
        }
    }
}
