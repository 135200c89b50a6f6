//! `wirekit_embassy::Idle`, the idle deadline every service connection runs under, on
//! embassy's own executor and time driver (the ones the services run on): a call that
//! completes passes through, one that waits past the limit ends as `Idle` instead of never.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::convert::Infallible;
use std::future::pending;
use std::sync::mpsc;
use std::time::Duration as StdDuration;

use embassy_executor::Executor;
use embassy_time::{Duration, Instant};
use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
use wirekit_embassy::{Idle, IdleError};

/// Reads `data` once, then never again; takes every write; its flush never finishes.
struct Peer {
    data: &'static [u8],
}

impl ErrorType for Peer {
    type Error = Infallible;
}

impl Read for Peer {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if self.data.is_empty() {
            pending().await
        }
        let n = buf.len().min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl Write for Peer {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Infallible> {
        pending().await
    }
}

/// What the task saw, for the test thread to check.
type Seen = Vec<(&'static str, Result<usize, IdleError<Infallible>>, Duration)>;

#[embassy_executor::task]
async fn exercise(done: mpsc::Sender<Seen>) {
    let limit = Duration::from_millis(50);
    let mut io = Idle::new(Peer { data: b"abc" }, limit);
    let mut buf = [0u8; 8];
    let mut seen = Seen::new();
    let started = Instant::now();
    seen.push(("read", io.read(&mut buf).await, started.elapsed()));
    seen.push(("write", io.write(b"xy").await, started.elapsed()));
    let started = Instant::now();
    seen.push(("silent read", io.read(&mut buf).await, started.elapsed()));
    let started = Instant::now();
    seen.push(("stuck flush", io.flush().await.map(|()| 0), started.elapsed()));
    let _ = done.send(seen);
}

#[test]
fn idle_passes_completed_calls_and_ends_waiting_ones_at_the_limit() {
    let (tx, rx) = mpsc::channel();
    // The executor never returns: its thread ends with the test process.
    std::thread::spawn(move || {
        let executor: &'static mut Executor = Box::leak(Box::new(Executor::new()));
        executor.run(|spawner| spawner.spawn(exercise(tx).unwrap()));
    });
    let seen = rx.recv_timeout(StdDuration::from_secs(10)).expect("the task never finished");
    let limit = Duration::from_millis(50);
    assert_eq!(seen[0].1, Ok(3), "{seen:?}");
    assert_eq!(seen[1].1, Ok(2), "{seen:?}");
    assert!(seen[1].2 < limit, "completed calls do not wait: {seen:?}");
    for (what, result, waited) in &seen[2..] {
        assert_eq!(*result, Err(IdleError::Idle), "{what}: {seen:?}");
        assert!(*waited >= limit, "{what} ended before the limit: {waited:?}");
    }
    assert_eq!(embedded_io_async::Error::kind(&IdleError::<Infallible>::Idle), ErrorKind::TimedOut);
}
