//! A counting semaphore that bounds concurrent connections (`--max-connections`).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

#[derive(Debug)]
struct State {
    active: Mutex<usize>,
    freed: Condvar,
}

/// At most `max` permits are out at once; [`ConnectionLimit::acquire`] blocks for a free one.
#[derive(Debug, Clone)]
pub struct ConnectionLimit {
    state: Arc<State>,
    max: usize,
}

/// One connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit {
    state: Arc<State>,
}

impl ConnectionLimit {
    /// A limit of `max` (at least 1).
    pub fn new(max: usize) -> Self {
        let state = State { active: Mutex::new(0), freed: Condvar::new() };
        Self { state: Arc::new(state), max: max.max(1) }
    }

    /// Wait for a free slot and take it.
    pub fn acquire(&self) -> Permit {
        let mut active = lock(&self.state.active);
        while *active >= self.max {
            active = self.state.freed.wait(active).unwrap_or_else(|e| e.into_inner());
        }
        *active += 1;
        Permit { state: Arc::clone(&self.state) }
    }

    /// Take a slot if one is free now.
    pub fn try_acquire(&self) -> Option<Permit> {
        let mut active = lock(&self.state.active);
        (*active < self.max).then(|| {
            *active += 1;
            Permit { state: Arc::clone(&self.state) }
        })
    }

    /// Slots in use.
    pub fn active(&self) -> usize {
        *lock(&self.state.active)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut active = lock(&self.state.active);
        *active = active.saturating_sub(1);
        self.state.freed.notify_one();
    }
}

/// A panicking connection thread must not take the server down with a poisoned lock.
fn lock(m: &Mutex<usize>) -> MutexGuard<'_, usize> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
