//! Exit codes of the `wirekit` binary. Listed in `wirekit --help`, so scripts can rely on them.

/// What a `wirekit` process exit status means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Exit {
    /// Everything worked.
    Ok = 0,
    /// The exchange failed: connection refused or reset, peer closed early, timeout,
    /// a protocol error from the peer.
    Failure = 1,
    /// The command line was wrong (clap's own code for usage errors), or lacks a key that
    /// the command requires.
    Usage = 2,
    /// A local resource is not usable: port in use, key file unreadable, directory missing,
    /// file system error.
    Local = 3,
    /// Input was refused by a safety check: unsafe file name, file too large, message over
    /// the datagram limit.
    Refused = 4,
    /// Authentication failed: wrong key, or the peer was not legitimate.
    AuthFailed = 5,
}

impl Exit {
    /// The numeric process exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// The exit-code table shown after `wirekit --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  the exchange failed (refused, reset, peer closed early, timeout, protocol error,
     a host name that does not resolve)
  2  bad command line (also: an address without a valid port, a required key, an empty
     key or --insecure is missing)
  3  local problem (port in use, key file unreadable, directory missing, disk error)
  4  refused by a safety check (unsafe file name, too large, datagram over 65,507 bytes)
  5  authentication failed (wrong key, illegitimate peer)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_code_once() {
        for exit in
            [Exit::Ok, Exit::Failure, Exit::Usage, Exit::Local, Exit::Refused, Exit::AuthFailed]
        {
            let line = format!("\n  {}  ", exit.code());
            assert_eq!(EXIT_CODES_HELP.matches(&line).count(), 1, "{exit:?}");
        }
    }
}
