//! Progress for file transfers: an indicatif bar (bytes, rate, ETA) when stderr is a terminal,
//! and always — unless `--quiet` — a one-line summary `name, bytes, seconds, MiB/s` on stdout.
//! One unit in both: powers of 1024 (the bar's `binary_bytes_per_sec` is MiB/s too).

use std::fmt;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A transfer in progress.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    name: String,
    done: u64,
    start: Instant,
    quiet: bool,
}

impl Progress {
    /// Start tracking `total` bytes of `name`. The bar shows only on a terminal and never
    /// with `quiet`.
    pub fn new(name: &str, total: u64, quiet: bool) -> Self {
        let show_bar = !quiet && std::io::stderr().is_terminal();
        Self::with_bar(name, total, quiet, show_bar)
    }

    /// As [`Progress::new`], choosing explicitly whether a bar is drawn.
    pub fn with_bar(name: &str, total: u64, quiet: bool, show_bar: bool) -> Self {
        let bar = show_bar.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(name.to_owned());
            bar
        });
        Self { bar, name: name.to_owned(), done: 0, start: Instant::now(), quiet }
    }

    /// `n` more bytes went through.
    pub fn advance(&mut self, n: u64) {
        self.done = self.done.saturating_add(n);
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Bytes so far.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// Close the bar and return the summary; prints it on stdout unless quiet.
    pub fn finish(self) -> Summary {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let summary =
            Summary { name: self.name.clone(), bytes: self.done, elapsed: self.start.elapsed() };
        if !self.quiet {
            crate::console::print_line(&summary.to_string());
        }
        summary
    }
}

/// The final line of a transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// File name.
    pub name: String,
    /// Bytes transferred.
    pub bytes: u64,
    /// Time taken.
    pub elapsed: Duration,
}

impl Summary {
    /// Megabytes (10^6 bytes) per second; 0 for an instant transfer of nothing.
    pub fn mib_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.bytes as f64 / (1024.0 * 1024.0) / secs
        } else {
            0.0
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {} bytes, {:.3} s, {:.1} MiB/s",
            self.name,
            self.bytes,
            self.elapsed.as_secs_f64(),
            self.mib_per_sec()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_has_name_bytes_seconds_rate() {
        let s = Summary {
            name: "数据.bin".into(),
            bytes: 20_971_520,
            elapsed: Duration::from_millis(500),
        };
        assert_eq!(s.to_string(), "数据.bin, 20971520 bytes, 0.500 s, 40.0 MiB/s");
    }

    #[test]
    fn zero_time_does_not_divide_by_zero() {
        let s = Summary { name: "e".into(), bytes: 0, elapsed: Duration::ZERO };
        assert_eq!(s.to_string(), "e, 0 bytes, 0.000 s, 0.0 MiB/s");
    }

    #[test]
    fn progress_counts_bytes_without_a_terminal() {
        let mut p = Progress::with_bar("x", 10, true, false);
        p.advance(4);
        p.advance(6);
        assert_eq!(p.done(), 10);
        assert_eq!(p.finish().bytes, 10);
    }
}
