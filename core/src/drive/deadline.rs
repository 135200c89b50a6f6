//! Deadlines for one connection: idle (nothing moved for a while) and phase (finished by a
//! given time). Time is passed in; see the [module docs](super#time).

use core::time::Duration;

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Expired {
    /// Nothing moved (no byte either way, no event) for the idle timeout.
    #[error("idle for {} ms", .after.as_millis())]
    Idle {
        /// The idle timeout.
        after: Duration,
    },
    /// The phase deadline passed before the machine finished.
    #[error("deadline passed before the exchange finished")]
    Deadline,
}

/// An idle timeout and a phase deadline, both optional, in the quinn-proto manner:
/// [`Deadlines::poll_timeout`] says when to call [`Deadlines::handle_timeout`]. The
/// [`Driver`](super::Driver) records activity; other pumps may too ([`Deadlines::activity`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadlines {
    idle: Option<Duration>,
    /// When the idle timeout runs out, once armed by the first `handle_timeout`.
    idle_at: Option<Duration>,
    phase_at: Option<Duration>,
    /// Something moved since the last `handle_timeout`.
    active: bool,
}

impl Deadlines {
    /// No deadlines.
    pub const fn new() -> Self {
        Self { idle: None, idle_at: None, phase_at: None, active: false }
    }

    /// Expire after `idle` without activity.
    #[must_use]
    pub const fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// Expire at `at`.
    #[must_use]
    pub const fn with_deadline(mut self, at: Duration) -> Self {
        self.phase_at = Some(at);
        self
    }

    /// Move (or, with `None`, clear) the phase deadline, e.g. when the next phase starts.
    pub fn set_deadline(&mut self, at: Option<Duration>) {
        self.phase_at = at;
    }

    /// Something moved: the idle timeout starts again at the next `handle_timeout`.
    pub fn activity(&mut self) {
        self.active = true;
    }

    /// The earliest deadline, if any is set (the idle one once armed).
    pub fn poll_timeout(&self) -> Option<Duration> {
        match (self.idle_at, self.phase_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Tell the time; `Err` names the deadline that passed. Idle time counts from the first
    /// call after the last activity, so call it on every turn of the loop.
    pub fn handle_timeout(&mut self, now: Duration) -> Result<(), Expired> {
        if self.phase_at.is_some_and(|at| now >= at) {
            return Err(Expired::Deadline);
        }
        let Some(idle) = self.idle else { return Ok(()) };
        match self.idle_at {
            Some(at) if !self.active && now >= at => Err(Expired::Idle { after: idle }),
            Some(_) if !self.active => Ok(()),
            _ => {
                self.active = false;
                self.idle_at = Some(now.saturating_add(idle));
                Ok(())
            }
        }
    }
}
