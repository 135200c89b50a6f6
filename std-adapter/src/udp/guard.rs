//! Which datagrams the UDP server answers.
//!
//! The seed's server answers every datagram, so one spoofed datagram whose source is the
//! server itself, or another server, starts a loop that never ends (hostile row h300: 227,890
//! datagrams in 2 s). A loop needs every side to answer every datagram, so the guard breaks it
//! by answering less:
//! * never its own address (a datagram "from" our own port on one of our own addresses);
//! * never a datagram that is exactly our reply: that is another server's answer, not a
//!   request (two wirekit servers aimed at each other stop after one datagram);
//! * at most `burst` replies at once and `rate` per second per source IP address (the core's
//!   [`ReplyBudget`], which the firmware uses too): a loop with any other server drains the bucket in a moment and then ends,
//!   because the other side only ever answers what we send. The seed client's one
//!   datagram per message stays far below it.
//!
//! Time is an argument, so the policy is tested without sleeping.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use wirekit_core::datagram::{ReplyBudget, ReplyRate};

/// The most source addresses whose buckets are remembered; beyond it, buckets that have
/// refilled (idle peers) are forgotten first, and while none has, new sources get no reply.
pub const MAX_TRACKED_PEERS: usize = 4096;

/// What the server does with one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send the reply.
    Answer,
    /// It came from our own address: answering would talk to ourselves forever.
    FromOurselves,
    /// It is exactly our reply: an answer from another server, not a request.
    IsAReply,
    /// This source used up its replies for now.
    RateLimited {
        /// True for the first datagram dropped since this source was last answered, so the
        /// server reports each episode once instead of once per datagram.
        first: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    budget: ReplyBudget,
    /// Dropping since the last answer (so each episode is reported once).
    dropping: bool,
}

/// The reply policy of one server socket (see the module docs).
#[derive(Debug)]
pub struct ReplyGuard {
    local: SocketAddr,
    reply: Vec<u8>,
    rate: ReplyRate,
    buckets: HashMap<IpAddr, Bucket>,
    /// The origin of the budgets' millisecond clock.
    start: Instant,
}

impl ReplyGuard {
    /// The guard of a socket bound to `local` that answers with `reply`.
    pub fn new(local: SocketAddr, reply: &[u8], rate: ReplyRate) -> Self {
        Self { local, reply: reply.to_vec(), rate, buckets: HashMap::new(), start: Instant::now() }
    }

    /// Decide about `payload` from `from`, received at `now`.
    pub fn handle_datagram(&mut self, from: SocketAddr, payload: &[u8], now: Instant) -> Verdict {
        if self.is_ourselves(from) {
            return Verdict::FromOurselves;
        }
        if payload == self.reply.as_slice() {
            return Verdict::IsAReply;
        }
        self.take_token(from.ip(), now)
    }

    /// Source addresses currently remembered (for tests and memory bounds).
    pub fn tracked_peers(&self) -> usize {
        self.buckets.len()
    }

    fn is_ourselves(&self, from: SocketAddr) -> bool {
        if from.port() != self.local.port() {
            return false;
        }
        if from.ip() == self.local.ip() {
            return true;
        }
        // Bound to a wildcard address, any of this host's addresses is ours; binding a
        // socket to an address succeeds exactly when the address is local.
        self.local.ip().is_unspecified()
            && (from.ip().is_loopback() || std::net::UdpSocket::bind((from.ip(), 0)).is_ok())
    }

    fn take_token(&mut self, ip: IpAddr, now: Instant) -> Verdict {
        let (rate, now_ms) = (self.rate, self.millis(now));
        if rate.per_second == 0 {
            return Verdict::Answer;
        }
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= MAX_TRACKED_PEERS {
            // Idle sources' budgets are full again: forgetting them loses nothing.
            self.buckets.retain(|_, b| !b.budget.is_full(rate, now_ms));
            if self.buckets.len() >= MAX_TRACKED_PEERS {
                return Verdict::RateLimited { first: false };
            }
        }
        let bucket = self
            .buckets
            .entry(ip)
            .or_insert(Bucket { budget: ReplyBudget::new(rate, now_ms), dropping: false });
        if bucket.budget.take(rate, now_ms) {
            bucket.dropping = false;
            Verdict::Answer
        } else {
            let first = !bucket.dropping;
            bucket.dropping = true;
            Verdict::RateLimited { first }
        }
    }

    fn millis(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }
}
