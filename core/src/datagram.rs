//! UDP datagrams: one message per datagram, so there is nothing to frame, only a size to check.
//!
//! A UDP payload over IPv4 is at most 65,535 − 20 (IP header) − 8 (UDP header) = 65,507
//! bytes; over IPv6 (without jumbograms) 65,535 − 8 = 65,527. A larger message cannot be
//! sent as one datagram, and a socket would either fail or, worse, a receiver with a short
//! buffer would silently truncate: this check makes that a clear error up front.

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("message of {len} bytes does not fit one UDP datagram (at most {max} bytes)")]
pub struct DatagramTooLarge {
    /// The message length.
    pub len: usize,
    /// The limit it exceeds.
    pub max: usize,
}

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

/// Replies a UDP server may send: a token bucket, so that one spoofed datagram cannot start an
/// endless reply loop between two servers (a loop needs every datagram answered; once the
/// bucket is empty the server stays silent and the loop ends). Time is an argument, in
/// milliseconds from any fixed origin; no clock is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyBudget {
    /// Tokens in thousandths (integer math, no floats on a device).
    millitokens: u64,
    updated_ms: u64,
}

/// How fast a [`ReplyBudget`] refills and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyRate {
    /// Replies per second, sustained. 0 means no limit.
    pub per_second: u32,
    /// Replies at once (the bucket's size); at least 1 is used.
    pub burst: u32,
}

impl ReplyRate {
    /// 100 replies per second, 100 at once: far above a client that waits for each reply,
    /// and a loop with another server ends after at most 100 exchanges.
    pub const DEFAULT: Self = Self { per_second: 100, burst: 100 };

    fn capacity(self) -> u64 {
        u64::from(self.burst.max(1)) * 1000
    }
}

impl ReplyBudget {
    /// A full budget at `now_ms`.
    pub fn new(rate: ReplyRate, now_ms: u64) -> Self {
        Self { millitokens: rate.capacity(), updated_ms: now_ms }
    }

    /// Take one reply at `now_ms`: true when one was left.
    pub fn take(&mut self, rate: ReplyRate, now_ms: u64) -> bool {
        if rate.per_second == 0 {
            return true;
        }
        self.refill(rate, now_ms);
        if self.millitokens >= 1000 {
            self.millitokens -= 1000;
            true
        } else {
            false
        }
    }

    /// True when the budget would be full at `now_ms` (its owner has been idle).
    pub fn is_full(&self, rate: ReplyRate, now_ms: u64) -> bool {
        let mut copy = *self;
        copy.refill(rate, now_ms);
        copy.millitokens >= rate.capacity()
    }

    fn refill(&mut self, rate: ReplyRate, now_ms: u64) {
        // One token per second is one millitoken per millisecond, per unit of rate.
        let elapsed = now_ms.saturating_sub(self.updated_ms);
        let gained = elapsed.saturating_mul(u64::from(rate.per_second));
        self.millitokens = self.millitokens.saturating_add(gained).min(rate.capacity());
        self.updated_ms = self.updated_ms.max(now_ms);
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

    #[test]
    fn a_reply_budget_holds_its_burst_and_refills_at_its_rate() {
        let rate = ReplyRate { per_second: 2, burst: 3 };
        let mut budget = ReplyBudget::new(rate, 1_000);
        assert!((0..3).all(|_| budget.take(rate, 1_000)));
        assert!(!budget.take(rate, 1_000), "the burst is used up");
        assert!(!budget.take(rate, 1_499), "half a second gives one token at 2/s; not yet");
        assert!(budget.take(rate, 1_500));
        assert!(!budget.is_full(rate, 1_500));
        assert!(budget.is_full(rate, 3_000));
        // Time going backwards never adds tokens.
        assert!(!budget.take(rate, 0));
    }

    #[test]
    fn a_zero_rate_is_no_limit_and_a_zero_burst_still_allows_one() {
        let open = ReplyRate { per_second: 0, burst: 0 };
        let mut budget = ReplyBudget::new(open, 0);
        assert!((0..10_000).all(|_| budget.take(open, 0)));
        let tight = ReplyRate { per_second: 1, burst: 0 };
        let mut budget = ReplyBudget::new(tight, 0);
        assert!(budget.take(tight, 0));
        assert!(!budget.take(tight, 0));
        assert!(budget.take(tight, u64::MAX), "no overflow at the end of time");
    }
}
