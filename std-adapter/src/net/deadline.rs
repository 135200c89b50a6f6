//! Deadlines for a whole phase of a connection (handshake and header), not for one read: a
//! peer that trickles one byte per `--timeout - 1` seconds never trips a read timeout, but
//! trips this. One thread serves every armed deadline; when one passes it shuts the socket
//! down, which ends whatever read the connection's thread is blocked in.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Entry {
    id: u64,
    at: Instant,
    stream: TcpStream,
    fired: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
struct Armed {
    next_id: u64,
    entries: Vec<Entry>,
}

#[derive(Debug, Default)]
struct Shared {
    armed: Mutex<Armed>,
    changed: Condvar,
}

/// The deadline thread.
#[derive(Debug)]
pub struct Watchdog {
    shared: Arc<Shared>,
}

/// One armed deadline; dropping it disarms it (the phase ended in time).
#[derive(Debug)]
pub struct PhaseDeadline {
    shared: Arc<Shared>,
    id: u64,
    fired: Arc<AtomicBool>,
    length: Duration,
}

impl PhaseDeadline {
    /// Whether the deadline passed (and the socket was shut down).
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
    /// How long the phase was given, for messages.
    pub fn length(&self) -> Duration {
        self.length
    }
}

impl Drop for PhaseDeadline {
    fn drop(&mut self) {
        lock(&self.shared).entries.retain(|e| e.id != self.id);
    }
}

impl Watchdog {
    /// The process's one watchdog (its thread starts on first use).
    pub fn global() -> &'static Watchdog {
        static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();
        WATCHDOG.get_or_init(|| {
            let shared = Arc::new(Shared::default());
            let worker = Arc::clone(&shared);
            // If the thread cannot start, deadlines do not fire; reads still time out.
            let _ =
                std::thread::Builder::new().name("deadlines".into()).spawn(move || run(&worker));
            Watchdog { shared }
        })
    }

    /// Shut `stream` down `length` from now unless the returned guard is dropped first.
    /// `None` when `length` is zero (no deadline) or the socket cannot be cloned.
    pub fn arm(&self, stream: &TcpStream, length: Duration) -> Option<PhaseDeadline> {
        if length.is_zero() {
            return None;
        }
        let stream = stream.try_clone().ok()?;
        let fired = Arc::new(AtomicBool::new(false));
        let mut armed = lock(&self.shared);
        let id = armed.next_id;
        armed.next_id += 1;
        let at = Instant::now() + length;
        armed.entries.push(Entry { id, at, stream, fired: Arc::clone(&fired) });
        drop(armed);
        self.shared.changed.notify_one();
        Some(PhaseDeadline { shared: Arc::clone(&self.shared), id, fired, length })
    }
}

fn run(shared: &Shared) {
    let mut armed = lock(shared);
    loop {
        let now = Instant::now();
        armed.entries.retain(|e| {
            if e.at > now {
                return true;
            }
            e.fired.store(true, Ordering::SeqCst);
            let _ = e.stream.shutdown(Shutdown::Both);
            false
        });
        let next = armed.entries.iter().map(|e| e.at).min();
        armed = match next {
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                shared
                    .changed
                    .wait_timeout(armed, wait)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0)
            }
            None => shared.changed.wait(armed).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Armed> {
    shared.armed.lock().unwrap_or_else(|e| e.into_inner())
}
