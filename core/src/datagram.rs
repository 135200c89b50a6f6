//! UDP datagrams: one message per datagram, so there is nothing to frame, only a size to check.
//!
//! A UDP payload over IPv4 is at most 65,535 − 20 (IP header) − 8 (UDP header) = 65,507
//! bytes; over IPv6 (without jumbograms) 65,535 − 8 = 65,527. A larger message cannot be
//! sent as one datagram, and a socket would either fail or, worse, a receiver with a short
//! buffer would silently truncate: this check makes that a clear error up front.

use core::fmt;

/// Largest UDP payload over IPv4.
pub const MAX_IPV4_PAYLOAD: usize = 65_507;
/// Largest UDP payload over IPv6 without jumbograms.
pub const MAX_IPV6_PAYLOAD: usize = 65_527;

/// The IP version a datagram travels over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpVersion {
    /// IPv4: 65,507-byte limit.
    V4,
    /// IPv6: 65,527-byte limit.
    V6,
}

impl IpVersion {
    /// The payload limit for this version.
    pub const fn max_payload(self) -> usize {
        match self {
            Self::V4 => MAX_IPV4_PAYLOAD,
            Self::V6 => MAX_IPV6_PAYLOAD,
        }
    }
}

/// A message does not fit one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatagramTooLarge {
    /// The message length.
    pub len: usize,
    /// The limit it exceeds.
    pub max: usize,
}

impl fmt::Display for DatagramTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "message of {} bytes does not fit one UDP datagram (at most {} bytes)",
            self.len, self.max
        )
    }
}

impl core::error::Error for DatagramTooLarge {}

/// Check that `message` fits one datagram over `ip`; returns it unchanged if so.
pub fn check_datagram(message: &[u8], ip: IpVersion) -> Result<&[u8], DatagramTooLarge> {
    check_datagram_len(message.len(), ip).map(|()| message)
}

/// Check a datagram length against the limit for `ip`.
pub fn check_datagram_len(len: usize, ip: IpVersion) -> Result<(), DatagramTooLarge> {
    let max = ip.max_payload();
    if len > max {
        Err(DatagramTooLarge { len, max })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_limit_is_inclusive() {
        assert!(check_datagram_len(MAX_IPV4_PAYLOAD, IpVersion::V4).is_ok());
        assert_eq!(
            check_datagram_len(MAX_IPV4_PAYLOAD + 1, IpVersion::V4),
            Err(DatagramTooLarge { len: 65_508, max: 65_507 })
        );
    }

    #[test]
    fn ipv6_allows_twenty_more_bytes() {
        assert!(check_datagram_len(65_527, IpVersion::V6).is_ok());
        assert!(check_datagram_len(65_528, IpVersion::V6).is_err());
        assert!(check_datagram_len(65_508, IpVersion::V6).is_ok());
    }

    #[test]
    fn empty_datagram_is_fine() {
        assert_eq!(check_datagram(b"", IpVersion::V4), Ok(&b""[..]));
    }

    #[test]
    fn error_message_names_both_numbers() {
        let err = DatagramTooLarge { len: 70_000, max: MAX_IPV4_PAYLOAD };
        let text = std::format!("{err}");
        assert!(text.contains("70000") && text.contains("65507"), "{text}");
    }
}
