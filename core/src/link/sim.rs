//! A simulated serial line between two [`Link`]s, in simulated time: each direction has a
//! byte time (the baud rate), a latency and a fault pattern (drop, corrupt, duplicate,
//! delay bytes). Apps on each end drive the links: raw streams, or any [`Machine`] through
//! a [`Driver`] exactly as a transport would. For tests, benches and fuzzing (`pair`).

use std::collections::VecDeque;
use std::string::String;
use std::vec::Vec;

use core::time::Duration;

use super::{Link, LinkError};
use crate::drive::{Action, Driver, Input, StepError};
use crate::Machine;

/// What happens to one byte on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Arrives intact.
    Pass,
    /// Never arrives.
    Drop,
    /// Arrives XORed with this (non-zero) mask.
    Corrupt(u8),
    /// Arrives twice.
    Duplicate,
    /// Arrives this much later (the bytes behind it too: a line keeps order).
    Delay(Duration),
    /// Arrives, followed by this extra byte (line noise, a relay's garbage).
    Insert(u8),
}

/// A fault pattern: the fault for the `index`-th byte sent in one direction.
pub trait Faults {
    /// The fault for byte `index`.
    fn fault(&mut self, index: u64) -> Fault;
}

/// A clean line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clean;

impl Faults for Clean {
    fn fault(&mut self, _: u64) -> Fault {
        Fault::Pass
    }
}

/// Faults at given byte indices (sorted or not), then a clean line.
#[derive(Debug, Clone, Default)]
pub struct At(pub Vec<(u64, Fault)>);

impl Faults for At {
    fn fault(&mut self, index: u64) -> Fault {
        self.0.iter().find(|(i, _)| *i == index).map_or(Fault::Pass, |(_, f)| *f)
    }
}

/// Each byte corrupted with probability `per_million / 1e6` (a xorshift PRNG, seeded).
#[derive(Debug, Clone)]
pub struct Random {
    /// Probability of corruption, per million bytes.
    pub per_million: u32,
    state: u64,
}

impl Random {
    /// `per_million` errors per million bytes, seeded.
    pub fn new(per_million: u32, seed: u64) -> Self {
        Self { per_million, state: seed | 1 }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }
}

impl Faults for Random {
    fn fault(&mut self, _: u64) -> Fault {
        let r = self.next();
        if (r % 1_000_000) < u64::from(self.per_million) {
            Fault::Corrupt(((r >> 32) as u8) | 1)
        } else {
            Fault::Pass
        }
    }
}

/// Everything from byte `from` on is lost (a cut cable).
#[derive(Debug, Clone, Copy)]
pub struct CutAt(pub u64);

impl Faults for CutAt {
    fn fault(&mut self, index: u64) -> Fault {
        if index >= self.0 {
            Fault::Drop
        } else {
            Fault::Pass
        }
    }
}

/// One direction of the line.
#[derive(Debug)]
pub struct Line {
    byte_time: Duration,
    latency: Duration,
    busy_until: Duration,
    last_arrival: Duration,
    sent: u64,
    queue: VecDeque<(Duration, u8)>,
}

impl Line {
    /// A line of `byte_time` per byte (10 / baud for 8N1) and `latency` after the byte left.
    pub fn new(byte_time: Duration, latency: Duration) -> Self {
        Self {
            byte_time,
            latency,
            busy_until: Duration::ZERO,
            last_arrival: Duration::ZERO,
            sent: 0,
            queue: VecDeque::new(),
        }
    }

    /// Bytes sent into this direction.
    pub const fn bytes_sent(&self) -> u64 {
        self.sent
    }

    fn idle(&self, now: Duration) -> bool {
        self.busy_until <= now
    }

    fn send(&mut self, now: Duration, bytes: &[u8], faults: &mut dyn Faults) {
        for &b in bytes {
            let start = self.busy_until.max(now);
            self.busy_until = start + self.byte_time;
            let mut at = (self.busy_until + self.latency).max(self.last_arrival);
            let fault = faults.fault(self.sent);
            self.sent += 1;
            match fault {
                Fault::Pass => self.queue.push_back((at, b)),
                Fault::Drop => continue,
                Fault::Corrupt(mask) => self.queue.push_back((at, b ^ mask)),
                Fault::Duplicate => {
                    self.queue.push_back((at, b));
                    self.queue.push_back((at, b));
                }
                Fault::Delay(d) => {
                    at += d;
                    self.queue.push_back((at, b));
                }
                Fault::Insert(extra) => {
                    self.queue.push_back((at, b));
                    self.queue.push_back((at, extra));
                }
            }
            self.last_arrival = at;
        }
    }

    fn deliver(&mut self, now: Duration, out: &mut Vec<u8>) {
        while let Some(&(at, b)) = self.queue.front() {
            if at > now {
                break;
            }
            out.push(b);
            self.queue.pop_front();
        }
    }

    fn next_arrival(&self) -> Option<Duration> {
        self.queue.front().map(|(at, _)| *at)
    }
}

/// What runs on one end of the link.
pub trait App<const F: usize, const W: usize, const TX: usize> {
    /// Move bytes between the app and the link; true when anything moved.
    fn pump(&mut self, link: &mut Link<F, W, TX>) -> bool;
    /// The app is finished (its last byte acknowledged, if it sends).
    fn done(&self, link: &Link<F, W, TX>) -> bool;
}

/// Writes `data`, then closes.
#[derive(Debug, Clone)]
pub struct Send {
    data: Vec<u8>,
    sent: usize,
}

impl Send {
    /// Send `data`, then the end of the stream.
    pub fn new(data: Vec<u8>) -> Self {
        Self { data, sent: 0 }
    }
}

impl<const F: usize, const W: usize, const TX: usize> App<F, W, TX> for Send {
    fn pump(&mut self, link: &mut Link<F, W, TX>) -> bool {
        let n = link.write(self.data.get(self.sent..).unwrap_or(&[]));
        self.sent += n;
        if self.sent == self.data.len() && link.write_capacity() > 0 {
            link.close();
        }
        n > 0
    }
    fn done(&self, link: &Link<F, W, TX>) -> bool {
        self.sent == self.data.len() && link.is_flushed()
    }
}

/// Reads everything until the peer's close.
#[derive(Debug, Clone, Default)]
pub struct Recv {
    /// The bytes read so far.
    pub got: Vec<u8>,
}

impl<const F: usize, const W: usize, const TX: usize> App<F, W, TX> for Recv {
    fn pump(&mut self, link: &mut Link<F, W, TX>) -> bool {
        let mut moved = false;
        loop {
            let chunk = link.readable();
            if chunk.is_empty() {
                return moved;
            }
            self.got.extend_from_slice(chunk);
            let n = chunk.len();
            link.consume(n);
            moved = true;
        }
    }
    fn done(&self, link: &Link<F, W, TX>) -> bool {
        link.peer_closed()
    }
}

/// A [`Machine`] on a [`Driver`] over the link's stream, like any transport shim: the
/// receive buffer is filled from [`Link::readable`] (at most `cap` bytes), output goes to
/// [`Link::write`] (a short write is a short send), and once the machine is finished the
/// link is closed. Events go to the handler.
pub struct MachineApp<M: Machine, H> {
    /// The machine.
    pub machine: M,
    handler: H,
    driver: Driver,
    rx: Vec<u8>,
    cap: usize,
    /// Why the drive stopped, if it failed.
    pub error: Option<String>,
    finished: bool,
}

impl<M: Machine, H> MachineApp<M, H>
where
    H: for<'i> FnMut(&mut M, M::Event<'i>),
{
    /// Drive `machine`, events to `handler`, with a `cap`-byte receive buffer.
    pub fn new(machine: M, handler: H, cap: usize) -> Self {
        Self {
            machine,
            handler,
            driver: Driver::new(),
            rx: Vec::new(),
            cap: cap.max(1),
            error: None,
            finished: false,
        }
    }

    /// The machine finished its drive.
    pub const fn finished(&self) -> bool {
        self.finished
    }
}

impl<M: Machine, H, const F: usize, const W: usize, const TX: usize> App<F, W, TX>
    for MachineApp<M, H>
where
    H: for<'i> FnMut(&mut M, M::Event<'i>),
{
    fn pump(&mut self, link: &mut Link<F, W, TX>) -> bool {
        if self.error.is_some() || self.finished {
            return false;
        }
        let mut moved = false;
        while self.rx.len() < self.cap {
            let chunk = link.readable();
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len().min(self.cap - self.rx.len());
            self.rx.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
            link.consume(n);
            moved = true;
        }
        loop {
            let closed = link.peer_closed() && link.readable().is_empty();
            let (consumed, rest) = {
                let input = Input::new(&self.rx).closed(closed).full(self.rx.len() >= self.cap);
                let step = match self.driver.step(&mut self.machine, input) {
                    Ok(step) => step,
                    Err(StepError::Machine(e)) => {
                        self.error = Some(std::format!("{e}"));
                        return true;
                    }
                    Err(StepError::UnexpectedEof) => {
                        self.error = Some(String::from("peer closed too early"));
                        return true;
                    }
                };
                let consumed = step.consumed;
                let rest = match step.action {
                    Action::Transmit(t) => {
                        let n = link.write(t.bytes());
                        t.sent(n);
                        moved |= n > 0;
                        n == 0
                    }
                    Action::Event(e) => {
                        (self.handler)(&mut self.machine, e);
                        false
                    }
                    Action::Closed(e) => {
                        (self.handler)(&mut self.machine, e);
                        false
                    }
                    Action::NeedInput | Action::WaitingForCaller { .. } => true,
                    Action::Finished => {
                        self.finished = true;
                        link.close();
                        true
                    }
                };
                (consumed, rest)
            };
            moved |= consumed > 0;
            self.rx.drain(..consumed.min(self.rx.len()));
            if rest {
                return moved;
            }
            moved = true;
        }
    }
    fn done(&self, link: &Link<F, W, TX>) -> bool {
        self.error.is_some() || (self.finished && link.is_flushed())
    }
}

/// How a simulation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Simulated time at the end.
    pub elapsed: Duration,
    /// A's link error.
    pub a_error: Option<LinkError>,
    /// B's link error.
    pub b_error: Option<LinkError>,
    /// Both apps finished.
    pub done: bool,
}

/// Two links on a simulated line.
pub struct Sim<const F: usize, const W: usize, const TX: usize> {
    /// End A.
    pub a: Link<F, W, TX>,
    /// End B.
    pub b: Link<F, W, TX>,
    /// A to B.
    pub ab: Line,
    /// B to A.
    pub ba: Line,
    /// Simulated time.
    pub now: Duration,
}

impl<const F: usize, const W: usize, const TX: usize> Sim<F, W, TX> {
    /// Two links on lines of `byte_time` per byte and `latency`.
    pub fn new(
        a: Link<F, W, TX>,
        b: Link<F, W, TX>,
        byte_time: Duration,
        latency: Duration,
    ) -> Self {
        Self {
            a,
            b,
            ab: Line::new(byte_time, latency),
            ba: Line::new(byte_time, latency),
            now: Duration::ZERO,
        }
    }

    /// Run both apps until both are done, a link fails, or `limit` of simulated time.
    pub fn run(
        &mut self,
        app_a: &mut dyn App<F, W, TX>,
        app_b: &mut dyn App<F, W, TX>,
        faults_ab: &mut dyn Faults,
        faults_ba: &mut dyn Faults,
        limit: Duration,
    ) -> Outcome {
        let mut out = std::vec![0u8; Link::<F, W, TX>::MAX_WIRE_FRAME];
        let mut arrived = Vec::new();
        let (mut a_error, mut b_error) = (self.a.error(), self.b.error());
        loop {
            let mut moved = false;
            moved |= side(
                self.now,
                &mut self.a,
                &mut self.ba,
                &mut self.ab,
                faults_ab,
                app_a,
                &mut a_error,
                &mut out,
                &mut arrived,
            );
            moved |= side(
                self.now,
                &mut self.b,
                &mut self.ab,
                &mut self.ba,
                faults_ba,
                app_b,
                &mut b_error,
                &mut out,
                &mut arrived,
            );
            let done = app_a.done(&self.a) && app_b.done(&self.b);
            if done || a_error.is_some() || b_error.is_some() || self.now >= limit {
                return Outcome { elapsed: self.now, a_error, b_error, done };
            }
            if moved {
                continue;
            }
            let mut next: Option<Duration> = None;
            let mut consider = |t: Option<Duration>| {
                if let Some(t) = t.filter(|&t| t > self.now) {
                    next = Some(next.map_or(t, |n: Duration| n.min(t)));
                }
            };
            consider(self.ab.next_arrival());
            consider(self.ba.next_arrival());
            consider(Some(self.ab.busy_until));
            consider(Some(self.ba.busy_until));
            consider(self.a.poll_timeout());
            consider(self.b.poll_timeout());
            match next {
                Some(t) => self.now = t.min(limit),
                None => return Outcome { elapsed: self.now, a_error, b_error, done },
            }
        }
    }
}

/// One turn of one end: deliver, time, app, transmit. True when anything moved.
#[allow(clippy::too_many_arguments)]
fn side<const F: usize, const W: usize, const TX: usize>(
    now: Duration,
    link: &mut Link<F, W, TX>,
    rx_line: &mut Line,
    tx_line: &mut Line,
    faults: &mut dyn Faults,
    app: &mut dyn App<F, W, TX>,
    err: &mut Option<LinkError>,
    out: &mut [u8],
    arrived: &mut Vec<u8>,
) -> bool {
    if err.is_some() {
        return false;
    }
    arrived.clear();
    rx_line.deliver(now, arrived);
    let mut moved = !arrived.is_empty();
    let mut r = link.handle_input(now, arrived);
    if r.is_ok() && link.poll_timeout().is_some_and(|t| t <= now) {
        r = link.handle_timeout(now);
    }
    if let Err(e) = r {
        *err = Some(e);
        return true;
    }
    moved |= app.pump(link);
    if tx_line.idle(now) {
        if let Some(n) = link.poll_transmit(now, out) {
            tx_line.send(now, out.get(..n).unwrap_or(&[]), faults);
            moved = true;
        }
    }
    moved
}
