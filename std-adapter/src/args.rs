//! The command line's value grammar, in one place: addresses, sizes, and the rule that keeps
//! an optional `--listen`/`--connect` value from swallowing the next argument.
//!
//! * **Addresses** (`ADDR`): `host:port`, `[v6]:port`, or what socat and nc users type for a
//!   local port: `18090` or `:18090`, meaning `127.0.0.1:18090` (the same loopback address as
//!   every default).
//! * **Sizes** (`BYTES`): a number of bytes, optionally with a unit `K`, `M`, `G` or `T`
//!   (powers of 1024; `KiB`/`KB`/`k` spellings too), e.g. `10M` = 10,485,760; a fraction is
//!   allowed with a unit (`1.5G`) and rounds down to whole bytes.
//! * **Durations** (`SECS`): seconds, fractions allowed (`1.5`, `0.25`), optionally with a unit
//!   `s`, `ms`, `m` or `h` (`500ms`, `2m`). `0` keeps its documented meaning (no limit); any
//!   other value must be at least 1 ms, so that a typo like `0.0001` cannot silently become
//!   "wait forever".
//! * **Optional addresses.** In `file` and `exec`, `--listen`/`--connect` may stand alone
//!   (the role's default address, as in `--connect --key egg`). clap cannot know whether the
//!   next word is that flag's value or a positional argument (`file send --connect big.bin`
//!   used to take `big.bin` as the address), so the flags take a value only with `=`, and
//!   [`join_address_values`] turns `--connect ADDR` into `--connect=ADDR` before clap sees it
//!   when — and only when — the next word is an address by the rule above.

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

/// The flags whose value is an address.
const ADDRESS_FLAGS: [&str; 2] = ["--listen", "--connect"];

/// The address every default uses; a bare port means this host.
const LOOPBACK: &str = "127.0.0.1";

/// True when `word` is an address by this module's rule (a port, `:port`, or `host:port`).
pub fn is_address(word: &str) -> bool {
    if is_port(word) || word.strip_prefix(':').is_some_and(is_port) {
        return true;
    }
    match word.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && !host.starts_with('-') && is_port(port),
        None => false,
    }
}

fn is_port(word: &str) -> bool {
    !word.is_empty() && word.len() <= 5 && word.bytes().all(|b| b.is_ascii_digit())
}

/// clap value parser for `ADDR`: a bare port or `:port` becomes `127.0.0.1:port`.
pub fn parse_address(word: &str) -> Result<String, String> {
    let port = word.strip_prefix(':').unwrap_or(word);
    if is_port(port) {
        return match port.parse::<u16>() {
            Ok(p) => Ok(format!("{LOOPBACK}:{p}")),
            Err(_) => Err(format!("port {port} is out of range (0..=65535)")),
        };
    }
    if is_address(word) {
        Ok(word.to_owned())
    } else {
        Err(format!(
            "{word:?} is not an address: give HOST:PORT, [IPv6]:PORT, :PORT or a bare PORT"
        ))
    }
}

/// `word` split into its number (digits and dots only: `str::parse::<f64>` alone would also
/// take "inf", "1e3" and "+1") and its unit, both trimmed.
fn number_and_unit(word: &str) -> (&str, &str) {
    let trimmed = word.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    (number, unit.trim())
}

/// clap value parser for `BYTES` (see the module docs).
pub fn parse_size(word: &str) -> Result<u64, String> {
    let bad = || {
        format!("{word:?} is not a size: give bytes, or a number with K, M, G or T (powers of 1024), e.g. 10M")
    };
    let (number, unit) = number_and_unit(word);
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(bad()),
    };
    if number.is_empty() || number.matches('.').count() > 1 {
        return Err(bad());
    }
    if !number.contains('.') {
        let n: u64 = number.parse().map_err(|_| bad())?;
        return n
            .checked_shl(shift)
            .filter(|v| v >> shift == n)
            .ok_or_else(|| format!("{word:?} is too large (at most {} bytes)", u64::MAX));
    }
    if shift == 0 {
        return Err(format!("{word:?}: a fraction of a byte; give whole bytes"));
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = value * f64::from(1u32 << (shift / 2)) * f64::from(1u32 << (shift - shift / 2));
    if !(bytes.is_finite() && bytes < u64::MAX as f64) {
        return Err(format!("{word:?} is too large"));
    }
    // In range and non-negative (checked above), so the cast only drops the fraction.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(bytes as u64)
}

/// The longest duration a flag takes: a year is more than any timeout means, and keeps the
/// arithmetic of deadlines (`Instant + Duration`) far from overflow.
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// clap value parser for `SECS` (see the module docs).
pub fn parse_seconds(word: &str) -> Result<Duration, String> {
    let bad = || {
        format!("{word:?} is not a duration: give seconds (fractions allowed, e.g. 1.5) or a number with s, ms, m or h")
    };
    let (number, unit) = number_and_unit(word);
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return Err(bad());
    }
    let seconds = number.parse::<f64>().map_err(|_| bad())? * scale;
    if seconds == 0.0 {
        return Ok(Duration::ZERO);
    }
    if seconds < 0.001 {
        return Err(format!("{word:?} is shorter than 1 ms (0 means no limit)"));
    }
    if seconds > MAX_SECONDS {
        return Err(format!("{word:?} is longer than a year"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A duration as the command line writes it: `30 s`, `1.5 s`, `0.25 s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secs(pub Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() == 0 {
            write!(f, "{} s", d.as_secs())
        } else {
            // Milliseconds are the finest the grammar takes; trim trailing zeros.
            let text = format!("{:.3}", d.as_secs_f64());
            write!(f, "{} s", text.trim_end_matches('0').trim_end_matches('.'))
        }
    }
}

/// [`parse_size`] for a size held in memory (`usize`).
pub fn parse_memory_size(word: &str) -> Result<usize, String> {
    let bytes = parse_size(word)?;
    usize::try_from(bytes).map_err(|_| format!("{word:?} does not fit this machine's memory"))
}

/// Rewrite `--listen ADDR` / `--connect ADDR` as `--listen=ADDR` / `--connect=ADDR` when the
/// next word is an address, so that the optional-value flags never swallow a positional
/// argument (see the module docs). Everything after `--` is left alone.
pub fn join_address_values(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(args);
            break;
        }
        let is_flag = arg.to_str().is_some_and(|a| ADDRESS_FLAGS.contains(&a));
        let next_is_address = args.peek().and_then(|next| next.to_str()).is_some_and(is_address);
        match (is_flag, next_is_address, args.peek().cloned()) {
            (true, true, Some(value)) => {
                args.next();
                let mut joined = arg;
                joined.push("=");
                joined.push(value);
                out.push(joined);
            }
            _ => out.push(arg),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn addresses_by_the_rule() {
        for yes in ["18090", ":18090", "127.0.0.1:8090", "localhost:1", "[::1]:8080", "h:0"] {
            assert!(is_address(yes), "{yes}");
        }
        for no in ["big.bin", "-rf", "--key", "host", "a:b", "report 1.txt", "", ":", "x:123456"] {
            assert!(!is_address(no), "{no}");
        }
    }

    #[test]
    fn a_bare_port_means_loopback() {
        assert_eq!(parse_address("18090").unwrap(), "127.0.0.1:18090");
        assert_eq!(parse_address(":18090").unwrap(), "127.0.0.1:18090");
        assert_eq!(parse_address("10.0.2.15:8090").unwrap(), "10.0.2.15:8090");
        assert!(parse_address("70000").unwrap_err().contains("out of range"));
        assert!(parse_address("big.bin").unwrap_err().contains("not an address"));
    }

    #[test]
    fn sizes_with_units_are_powers_of_1024() {
        assert_eq!(parse_size("123").unwrap(), 123);
        assert_eq!(parse_size("10M").unwrap(), 10 << 20);
        assert_eq!(parse_size("10MiB").unwrap(), 10 << 20);
        assert_eq!(parse_size("4k").unwrap(), 4096);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5K").unwrap(), 1536);
        assert_eq!(parse_size("1T").unwrap(), 1 << 40);
        for bad in ["", "M", "10X", "1.5", "1..5M", "-1", "ten"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_size("99999999999T").unwrap_err().contains("too large"));
    }

    #[test]
    fn seconds_take_fractions_and_units() {
        assert_eq!(parse_seconds("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_seconds("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_seconds("0.25s").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_seconds("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_seconds("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_seconds("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_seconds("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_seconds("0.0").unwrap(), Duration::ZERO);
        assert_eq!(parse_seconds(".5").unwrap(), Duration::from_millis(500));
        for bad in ["", ".", "s", "-1", "1..5", "inf", "NaN", "1e3", "+1", "ten", "5 parsecs"] {
            assert!(parse_seconds(bad).unwrap_err().contains("not a duration"), "{bad}");
        }
        assert!(parse_seconds("0.0001").unwrap_err().contains("shorter than 1 ms"));
        assert!(parse_seconds("9999999999").unwrap_err().contains("longer than a year"));
    }

    #[test]
    fn seconds_display_as_typed() {
        assert_eq!(Secs(Duration::from_secs(30)).to_string(), "30 s");
        assert_eq!(Secs(Duration::from_millis(1500)).to_string(), "1.5 s");
        assert_eq!(Secs(Duration::from_millis(250)).to_string(), "0.25 s");
        assert_eq!(Secs(Duration::ZERO).to_string(), "0 s");
    }

    fn joined(args: &[&str]) -> Vec<String> {
        join_address_values(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn only_an_address_is_taken_as_the_flags_value() {
        assert_eq!(
            joined(&["file", "send", "--connect", "big.bin"]),
            ["file", "send", "--connect", "big.bin"]
        );
        assert_eq!(
            joined(&["file", "send", "--connect", "h:1", "big.bin"]),
            ["file", "send", "--connect=h:1", "big.bin"]
        );
        assert_eq!(
            joined(&["exec", "agent", "--listen", "18090"]),
            ["exec", "agent", "--listen=18090"]
        );
        assert_eq!(
            joined(&["file", "recv", "--connect", "--key", "egg"]),
            ["file", "recv", "--connect", "--key", "egg"]
        );
        assert_eq!(joined(&["x", "--", "--connect", "1"]), ["x", "--", "--connect", "1"]);
        assert_eq!(joined(&["x", "--connect"]), ["x", "--connect"]);
    }
}
