//! A deterministic two-host network for tests: two smoltcp `Interface`s joined by an
//! in-memory IP link with seeded packet loss and corruption, and a simulated clock.
//!
//! * Each host's device is a [`QueueDevice`] (medium IP, MTU 1500) whose capabilities keep
//!   smoltcp's default `ChecksumCapabilities` (compute AND verify IPv4/TCP/UDP checksums).
//!   smoltcp's `Loopback` switches checksums off, which would let a corrupted packet reach
//!   the application; it is not used.
//! * Faults: every packet on its way from one host's transmit queue to the other's receive
//!   queue passes through `smoltcp::phy::FaultInjector::receive` (one injector per direction,
//!   each seeded). So the configured percentages apply once per packet. The receive path
//!   is used on purpose: in smoltcp 0.14 the injector's transmit path flips the bit before
//!   the stack writes the packet, so the write overwrites it and no corruption happens.
//! * Clock: time stands still while anything moves (a packet waiting to be received, a
//!   socket with data due now, the application making progress) and otherwise jumps to the
//!   earliest timer either interface reports (`poll_delay`) or to the next packet arrival
//!   when the wire has a latency ([`Sim::with_latency`], default zero): retransmit timeouts
//!   and delayed ACKs cost no wall time. Runs are bounded by simulated time and by iterations; exceeding either fails.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, FaultInjector, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Address};

/// Link MTU of the simulated devices (Ethernet-sized IP packets).
pub const MTU: usize = 1500;

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

/// A device that receives from one queue and transmits into another.
#[derive(Debug)]
pub struct QueueDevice {
    rx: Queue,
    tx: Queue,
    checksum: ChecksumCapabilities,
}

impl QueueDevice {
    fn caps(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        caps.checksum = self.checksum.clone();
        caps
    }
}

pub struct RxToken(Vec<u8>);
pub struct TxToken(Queue);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for TxToken {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let result = f(&mut packet);
        self.0.borrow_mut().push_back(packet);
        result
    }
}

impl Device for QueueDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken;

    fn capabilities(&self) -> DeviceCapabilities {
        self.caps()
    }
    fn receive(&mut self, _now: Instant) -> Option<(RxToken, TxToken)> {
        let packet = self.rx.borrow_mut().pop_front()?;
        Some((RxToken(packet), TxToken(self.tx.clone())))
    }
    fn transmit(&mut self, _now: Instant) -> Option<TxToken> {
        Some(TxToken(self.tx.clone()))
    }
}

/// One direction of the wire as a device the `FaultInjector` can receive from.
struct WireEnd {
    from: Queue,
}

/// Never used: the injector's tx path is not taken (see the module doc).
struct NoTx;

impl phy::TxToken for NoTx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        f(&mut vec![0; len])
    }
}

impl Device for WireEnd {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = NoTx;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        caps
    }
    fn receive(&mut self, _now: Instant) -> Option<(RxToken, NoTx)> {
        let packet = self.from.borrow_mut().pop_front()?;
        Some((RxToken(packet), NoTx))
    }
    fn transmit(&mut self, _now: Instant) -> Option<NoTx> {
        None
    }
}

/// Loss and corruption of the link, in percent per packet, and the seed of its RNG.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    pub drop_pct: u8,
    pub corrupt_pct: u8,
    pub seed: u32,
}

impl Faults {
    pub const fn none() -> Self {
        Self { drop_pct: 0, corrupt_pct: 0, seed: 1 }
    }
}

/// When a run gives up.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_time: Duration,
    pub max_iterations: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_time: Duration::from_secs(3600), max_iterations: 5_000_000 }
    }
}

/// What the application did in one step of [`Sim::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Nothing moved: the clock may advance.
    Idle,
    /// Something moved: poll again before advancing the clock.
    Busy,
    /// The test's goal is reached.
    Done,
}

/// One host: interface, device and sockets.
pub struct Host {
    pub iface: Interface,
    pub device: QueueDevice,
    pub sockets: SocketSet<'static>,
    pub addr: Ipv4Address,
}

impl Host {
    fn new(addr: Ipv4Address, device: QueueDevice, seed: u64) -> Self {
        let mut device = device;
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut device, Instant::ZERO);
        iface.update_ip_addrs(|addrs| addrs.push(IpCidr::new(IpAddress::Ipv4(addr), 24)).unwrap());
        Self { iface, device, sockets: SocketSet::new(vec![]), addr }
    }
}

/// Packet counters of one direction of the wire.
#[derive(Debug, Clone, Copy, Default)]
pub struct WireStats {
    /// Packets the sending host transmitted.
    pub sent: u64,
    /// Packets that reached the other host (possibly corrupted).
    pub delivered: u64,
    /// Delivered packets whose bytes the injector changed.
    pub corrupted: u64,
}

/// How a run went.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub sim_time: Duration,
    pub iterations: u64,
    pub a_to_b: WireStats,
    pub b_to_a: WireStats,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = |w: &WireStats| {
            format!("{} pkts ({} dropped, {} corrupted)", w.sent, w.sent - w.delivered, w.corrupted)
        };
        write!(
            f,
            "{:>7.3} simulated s, {} iterations, a→b {}, b→a {}",
            self.sim_time.total_millis() as f64 / 1000.0,
            self.iterations,
            dir(&self.a_to_b),
            dir(&self.b_to_a),
        )
    }
}

/// Two hosts, `a` (10.0.0.1) and `b` (10.0.0.2), on one faulty link.
pub struct Sim {
    pub now: Instant,
    pub a: Host,
    pub b: Host,
    a_out: Queue,
    a_in: Queue,
    b_out: Queue,
    b_in: Queue,
    a_to_b: FaultInjector<WireEnd>,
    b_to_a: FaultInjector<WireEnd>,
    stats_ab: WireStats,
    stats_ba: WireStats,
    /// One-way delay of the wire; packets wait in `flight_*` until due.
    latency: Duration,
    flight_ab: VecDeque<(Instant, Vec<u8>)>,
    flight_ba: VecDeque<(Instant, Vec<u8>)>,
}

pub const A_ADDR: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
pub const B_ADDR: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);

impl Sim {
    /// A link with checksums computed and verified on both hosts.
    pub fn new(faults: Faults) -> Self {
        Self::with_checksums(faults, ChecksumCapabilities::default())
    }

    /// A link with the given checksum behaviour (tests prove the faults bite by turning
    /// checksums off).
    pub fn with_checksums(faults: Faults, checksum: ChecksumCapabilities) -> Self {
        let queue = || Rc::new(RefCell::new(VecDeque::new()));
        let (a_out, a_in, b_out, b_in) = (queue(), queue(), queue(), queue());
        let a_dev = QueueDevice { rx: a_in.clone(), tx: a_out.clone(), checksum: checksum.clone() };
        let b_dev = QueueDevice { rx: b_in.clone(), tx: b_out.clone(), checksum };
        let injector = |from: &Queue, seed: u32| {
            let mut inj = FaultInjector::new(WireEnd { from: from.clone() }, seed.max(1));
            inj.set_drop_chance(faults.drop_pct);
            inj.set_corrupt_chance(faults.corrupt_pct);
            inj
        };
        let seed = faults.seed;
        Self {
            now: Instant::ZERO,
            a: Host::new(A_ADDR, a_dev, u64::from(seed) * 2 + 1),
            b: Host::new(B_ADDR, b_dev, u64::from(seed) * 2 + 2),
            a_to_b: injector(&a_out, seed),
            // A different stream for the other direction (xorshift must not start at 0).
            b_to_a: injector(&b_out, seed.wrapping_mul(2_654_435_761).wrapping_add(12_345)),
            a_out,
            a_in,
            b_out,
            b_in,
            stats_ab: WireStats::default(),
            stats_ba: WireStats::default(),
            latency: Duration::ZERO,
            flight_ab: VecDeque::new(),
            flight_ba: VecDeque::new(),
        }
    }

    /// Give the wire a one-way delay (default: none). With a delay the hosts measure a real
    /// round-trip time, and the clock also jumps to the next packet's arrival.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Move every packet waiting on the wire through its injector to the other host.
    fn deliver(&mut self) {
        let now = self.now;
        let due = now + self.latency;
        let moves = [
            (&mut self.a_to_b, &self.a_out, &mut self.flight_ab, &self.b_in, &mut self.stats_ab),
            (&mut self.b_to_a, &self.b_out, &mut self.flight_ba, &self.a_in, &mut self.stats_ba),
        ];
        for (injector, from, flight, to, stats) in moves {
            // `receive` returns None for a dropped packet, so loop on the queue, not on it.
            loop {
                // A `let` statement, so the queue's borrow ends before the injector pops.
                let Some(original) = from.borrow().front().cloned() else { break };
                stats.sent += 1;
                if let Some((rx, _)) = injector.receive(now) {
                    let packet = phy::RxToken::consume(rx, |p| p.to_vec());
                    stats.corrupted += u64::from(packet != original);
                    flight.push_back((due, packet));
                    stats.delivered += 1;
                }
            }
            while flight.front().is_some_and(|(at, _)| *at <= now) {
                let (_, packet) = flight.pop_front().unwrap();
                to.borrow_mut().push_back(packet);
            }
        }
    }

    /// The earliest arrival of a packet still on the wire.
    fn next_arrival(&self) -> Option<Instant> {
        let first = |f: &VecDeque<(Instant, Vec<u8>)>| f.front().map(|(at, _)| *at);
        first(&self.flight_ab).into_iter().chain(first(&self.flight_ba)).min()
    }

    fn link_busy(&self) -> bool {
        !self.a_in.borrow().is_empty() || !self.b_in.borrow().is_empty()
    }

    /// Poll both hosts and call `app` until it returns [`Flow::Done`]. `app` gets the time
    /// and both socket sets; an `Err` from it ends the run with that error.
    pub fn run<F>(&mut self, limits: Limits, mut app: F) -> Result<Report, String>
    where
        F: FnMut(Instant, &mut SocketSet<'static>, &mut SocketSet<'static>) -> Result<Flow, String>,
    {
        let start = self.now;
        let mut iterations = 0u64;
        let mut stuck_at_now = 0u32;
        loop {
            iterations += 1;
            if iterations > limits.max_iterations {
                return Err(format!("gave up after {iterations} iterations at {}", self.now));
            }
            if self.now - start > limits.max_time {
                return Err(format!("gave up after {} simulated", self.now - start));
            }
            let now = self.now;
            self.a.iface.poll(now, &mut self.a.device, &mut self.a.sockets);
            self.b.iface.poll(now, &mut self.b.device, &mut self.b.sockets);
            self.deliver();
            let flow = app(now, &mut self.a.sockets, &mut self.b.sockets)?;
            if flow == Flow::Done {
                return Ok(Report {
                    sim_time: self.now - start,
                    iterations,
                    a_to_b: self.stats_ab,
                    b_to_a: self.stats_ba,
                });
            }
            if flow == Flow::Busy || self.link_busy() {
                stuck_at_now = 0;
                continue;
            }
            let delays = [
                self.a.iface.poll_delay(now, &self.a.sockets),
                self.b.iface.poll_delay(now, &self.b.sockets),
                self.next_arrival().map(|at| at - now),
            ];
            let next = delays.into_iter().flatten().min().ok_or_else(|| {
                format!(
                    "deadlock at {now}: no packet, no timer, application idle; a: {}; b: {}",
                    describe(&self.a.sockets),
                    describe(&self.b.sockets)
                )
            })?;
            if next == Duration::ZERO {
                // Work is due now; poll again. Should smoltcp keep saying so without doing
                // anything, nudge the clock so the run cannot spin in place.
                stuck_at_now += 1;
                if stuck_at_now > 100 {
                    self.now += Duration::from_millis(1);
                    stuck_at_now = 0;
                }
            } else {
                self.now += next;
                stuck_at_now = 0;
            }
        }
    }
}

/// TCP socket states, for error messages.
fn describe(sockets: &SocketSet<'_>) -> String {
    let mut text = String::new();
    for (handle, socket) in sockets.iter() {
        if let smoltcp::socket::Socket::Tcp(tcp) = socket {
            text += &format!(
                "[{handle}: {} rx {} tx {}]",
                tcp.state(),
                tcp.recv_queue(),
                tcp.send_queue()
            );
        }
    }
    text
}

/// A on 10.0.0.1 connects to B on 10.0.0.2:`port`, socket buffers of `buf` bytes each way.
/// Returns (A's handle, B's handle).
pub fn connect_tcp(sim: &mut Sim, port: u16, buf: usize) -> (SocketHandle, SocketHandle) {
    let new_socket = || {
        tcp::Socket::new(tcp::SocketBuffer::new(vec![0; buf]), tcp::SocketBuffer::new(vec![0; buf]))
    };
    let mut server = new_socket();
    server.listen(port).unwrap();
    let b = sim.b.sockets.add(server);
    let mut client = new_socket();
    client.connect(sim.a.iface.context(), (B_ADDR, port), 49_152).unwrap();
    let a = sim.a.sockets.add(client);
    (a, b)
}

// ---------------------------------------------------------------------------------------
// A two-sided run: one `Peer` on each side.

/// One side: an exchange on one socket, every event recorded. Closes its socket once the
/// exchange is flushed (over, and everything acknowledged).
pub struct Peer<X: wirekit_smoltcp::Exchange> {
    pub x: X,
    pub handle: SocketHandle,
    pub events: Vec<X::Event>,
    pub error: Option<X::Error>,
    pub closed: bool,
    /// Reset the connection when the exchange fails, as a device's `Slot` does.
    reset_on_error: bool,
}

impl<X: wirekit_smoltcp::Exchange> Peer<X> {
    pub fn new(x: X, handle: SocketHandle) -> Self {
        Self { x, handle, events: Vec::new(), error: None, closed: false, reset_on_error: false }
    }

    /// Reset the connection when the exchange fails (a device's `Slot`), instead of
    /// leaving it open.
    pub fn resetting(self) -> Self {
        Self { reset_on_error: true, ..self }
    }

    /// Poll until the exchange has nothing more to say; true if anything moved.
    pub fn step(&mut self, set: &mut SocketSet<'static>) -> bool {
        if self.error.is_some() || self.closed {
            return false;
        }
        let socket = set.get_mut::<tcp::Socket>(self.handle);
        let mut busy = false;
        loop {
            match self.x.poll(socket) {
                Ok(event) => {
                    busy |= !self.x.progress().is_idle();
                    match event {
                        Some(event) => {
                            self.events.push(event);
                            busy = true;
                        }
                        None => break,
                    }
                }
                Err(err) => {
                    if self.reset_on_error {
                        socket.abort();
                    }
                    self.error = Some(err);
                    return true;
                }
            }
        }
        if self.x.is_flushed(socket) {
            socket.close();
            self.closed = true;
            busy = true;
        }
        busy
    }

    /// Closed its socket, or failed.
    pub fn finished(&self) -> bool {
        self.closed || self.error.is_some()
    }

    /// Finished, and its socket has let go of the connection.
    pub fn settled(&self, set: &SocketSet<'static>) -> bool {
        let state = set.get::<tcp::Socket>(self.handle).state();
        self.finished()
            && matches!(state, tcp::State::Closed | tcp::State::TimeWait | tcp::State::FinWait2)
    }
}
