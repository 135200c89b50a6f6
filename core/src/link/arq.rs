//! The ARQ machine: [`Link`] turns an unreliable byte link into a reliable, ordered byte
//! stream with selective repeat (see the [module docs](super) for the poll order).

use core::time::Duration;

use super::codec::{max_payload, Deframer, Hello, Repr};

/// Why a link stopped. After an error every `handle_*` call returns it again until
/// [`Link::restart`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The peer sent a HELLO with a new session id: it rebooted (or restarted its link)
    /// and the stream it was part of is gone. Nothing of the new session was delivered as
    /// part of the old one.
    #[error("peer reset the link (new session)")]
    PeerReset,
    /// A frame went unacknowledged through `retries` retransmission timeouts in a row.
    #[error("no acknowledgement after {retries} retransmissions")]
    RetriesExhausted {
        /// The retry budget.
        retries: u8,
    },
    /// No peer answered `retries` HELLOs in a row.
    #[error("no peer answered {retries} HELLOs")]
    NoPeer {
        /// The retry budget.
        retries: u8,
    },
}

/// Timing and budget of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// Retransmission timeout until the first round-trip sample, counted from when the
    /// frame's last byte leaves the line (see `byte_time`). After it: smoothed RTT + 4 ×
    /// its variation (RFC 6298, Karn's rule: no samples from retransmitted frames).
    pub rto: Duration,
    /// The timeout never goes below this (timer and scheduling granularity of the host).
    pub min_rto: Duration,
    /// The timeout doubles on each timeout in a row, up to this.
    pub max_rto: Duration,
    /// Timeouts in a row without progress before [`LinkError::RetriesExhausted`] (or
    /// [`LinkError::NoPeer`] before the handshake finished).
    pub max_retries: u8,
    /// Time one byte takes on the line (10 bit times for 8N1), so a deadline starts when the
    /// frame has left, not when it was queued; `Duration::ZERO` when the caller paces.
    pub byte_time: Duration,
    /// Payload cap for frames this side sends (also bounded by the peer's HELLO). The
    /// sender shrinks frames below it when frames are lost and grows them back.
    pub max_payload: u16,
    /// The smallest payload the sender shrinks to.
    pub min_payload: u16,
    /// Window: frames in flight (also bounded by the peer's HELLO and by `W`).
    pub window: u8,
}

impl LinkConfig {
    /// 100 ms first timeout, doubling to 2 s, 10 timeouts in a row, no line pacing.
    pub const fn new() -> Self {
        Self {
            rto: Duration::from_millis(100),
            min_rto: Duration::from_millis(10),
            max_rto: Duration::from_secs(2),
            max_retries: 10,
            byte_time: Duration::ZERO,
            max_payload: u16::MAX,
            min_payload: 16,
            window: u8::MAX,
        }
    }

    /// The defaults, with deadlines paced for `baud` 8N1 (10 bits a byte).
    pub const fn for_baud(baud: u32) -> Self {
        let mut c = Self::new();
        let baud = if baud == 0 { 1 } else { baud as u64 };
        c.byte_time = Duration::from_nanos(10_000_000_000 / baud);
        c
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Counters, for tests, benches and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames handed to `poll_transmit`'s caller.
    pub frames_sent: u64,
    /// DATA/FIN frames sent again.
    pub retransmits: u64,
    /// Of those, sent again because a later frame was acknowledged first.
    pub fast_retransmits: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Frames received with a good CRC.
    pub frames_received: u64,
    /// Frames dropped: bad COBS, bad CRC, bad length, unknown type, oversize.
    pub frames_dropped: u64,
    /// DATA frames that arrived twice (or outside the window).
    pub duplicates: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Sending HELLOs; `peer` once a HELLO or HELLO-ACK told us its session.
    Handshake {
        peer: Option<u32>,
    },
    Open {
        peer: u32,
    },
    Failed(LinkError),
}

/// One frame in flight.
#[derive(Debug, Clone, Copy, Default)]
struct TxSlot {
    /// Stream offset of its first byte.
    pos: u64,
    len: u16,
    fin: bool,
    acked: bool,
    /// Due for (re)transmission.
    resend: bool,
    /// Transmissions so far.
    sends: u8,
    /// Order of its latest transmission (for loss detection).
    order: u32,
    /// Retransmission deadline of the latest transmission.
    deadline: Option<Duration>,
    /// When the latest transmission's last byte left the line.
    left_at: Duration,
}

/// One received frame waiting for its turn or for the reader.
#[derive(Debug, Clone, Copy, Default)]
struct RxSlot {
    filled: bool,
    len: u16,
    fin: bool,
}

/// The wire bytes of one frame at most: its encoded bytes, a leading and a trailing
/// delimiter. Size `poll_transmit`'s buffer with it.
pub const fn max_wire_frame(f: usize) -> usize {
    f + 2
}

/// A serial link end: `F` bytes of frame buffer (the largest encoded frame it sends or
/// takes, delimiter excluded), a window of `W` frames (a power of two, at most 32) and `TX`
/// bytes of send buffer. RAM: about `F × (W + 2) + TX` bytes.
#[derive(Debug, Clone)]
pub struct Link<const F: usize = 256, const W: usize = 16, const TX: usize = 4096> {
    config: LinkConfig,
    local: u32,
    state: State,
    peer_max_payload: u16,
    peer_window: u8,
    deframer: Deframer<F>,
    scratch: [u8; F],
    // Handshake.
    hello_due: bool,
    hello_deadline: Option<Duration>,
    hello_ack_due: bool,
    timeouts: u8,
    /// Smoothed round-trip time and its variation, once sampled.
    srtt: Option<(Duration, Duration)>,
    /// The shortest round trip sampled.
    min_rtt: Option<Duration>,
    /// When the line is free again (with `byte_time`).
    line_free: Duration,
    // Sending.
    tx: [u8; TX],
    /// Stream offset of `tx`'s oldest byte (everything before it is acknowledged).
    tx_start: u64,
    /// Stream offset after the last byte written.
    tx_end: u64,
    /// Stream offset after the last byte put in a frame.
    tx_framed: u64,
    closing: bool,
    fin_framed: bool,
    slots: [TxSlot; W],
    snd_una: u8,
    snd_nxt: u8,
    /// Sequence numbers before this may be sent (the peer's ack + window).
    send_limit: u8,
    order: u32,
    seg: u16,
    probe_due: bool,
    probe_deadline: Option<Duration>,
    // Receiving.
    rx: [[u8; F]; W],
    rx_meta: [RxSlot; W],
    /// Oldest sequence number not yet read by the application.
    rcv_read: u8,
    /// Next sequence number expected in order.
    rcv_nxt: u8,
    read_off: usize,
    ack_due: bool,
    last_window: u8,
    peer_fin: bool,
    stats: LinkStats,
}

impl<const F: usize, const W: usize, const TX: usize> Link<F, W, TX> {
    const CHECK: () = assert!(
        W.is_power_of_two() && W <= 32 && F >= 32 && F <= 65_535 && TX > 0,
        "W must be a power of two <= 32, F in 32..=65535"
    );

    /// The largest payload this end receives (and sends).
    pub const MAX_PAYLOAD: usize = max_payload(F);

    /// Bytes `poll_transmit` needs in its buffer.
    pub const MAX_WIRE_FRAME: usize = max_wire_frame(F);

    /// A link end with session id `session` (random, from the caller's RNG; 0 is taken as
    /// 1), starting its handshake at the first `poll_transmit`.
    pub fn new(config: LinkConfig, session: u32) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CHECK;
        let max = Self::MAX_PAYLOAD.min(config.max_payload as usize) as u16;
        Self {
            config,
            local: session.max(1),
            state: State::Handshake { peer: None },
            peer_max_payload: 0,
            peer_window: 0,
            deframer: Deframer::new(),
            scratch: [0; F],
            hello_due: true,
            hello_deadline: None,
            hello_ack_due: false,
            timeouts: 0,
            srtt: None,
            min_rtt: None,
            line_free: Duration::ZERO,
            tx: [0; TX],
            tx_start: 0,
            tx_end: 0,
            tx_framed: 0,
            closing: false,
            fin_framed: false,
            slots: [TxSlot::default(); W],
            snd_una: 0,
            snd_nxt: 0,
            send_limit: 0,
            order: 0,
            seg: max,
            probe_due: false,
            probe_deadline: None,
            rx: [[0; F]; W],
            rx_meta: [RxSlot::default(); W],
            rcv_read: 0,
            rcv_nxt: 0,
            read_off: 0,
            ack_due: false,
            last_window: 0,
            peer_fin: false,
            stats: LinkStats::default(),
        }
    }

    /// Start over with a new session id (after an error, or to drop the stream): buffers
    /// are emptied and the handshake starts again; the peer sees [`LinkError::PeerReset`]
    /// if it had a session with us.
    pub fn restart(&mut self, session: u32) {
        let stats = self.stats;
        *self = Self::new(self.config, session);
        self.stats = stats;
    }

    /// Our session id.
    pub const fn session(&self) -> u32 {
        self.local
    }

    /// The handshake is over: stream bytes flow.
    pub const fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// The error that stopped the link, if any.
    pub const fn error(&self) -> Option<LinkError> {
        match self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Counters.
    pub const fn stats(&self) -> LinkStats {
        self.stats
    }

    /// The payload size new frames get now (shrinks under loss).
    pub const fn segment_size(&self) -> u16 {
        self.seg
    }

    fn check(&self) -> Result<(), LinkError> {
        match self.state {
            State::Failed(e) => Err(e),
            _ => Ok(()),
        }
    }

    fn fail(&mut self, e: LinkError) -> LinkError {
        self.state = State::Failed(e);
        e
    }

    const fn window(&self) -> usize {
        let mut w = W;
        if (self.peer_window as usize) < w {
            w = self.peer_window as usize;
        }
        if (self.config.window as usize) < w {
            w = self.config.window as usize;
        }
        if w == 0 {
            1
        } else {
            w
        }
    }

    fn max_send_payload(&self) -> u16 {
        let ours = Self::MAX_PAYLOAD.min(self.config.max_payload as usize) as u16;
        ours.min(self.peer_max_payload).max(1)
    }

    fn rto(&self) -> Duration {
        self.rto_after(0)
    }

    /// The retransmission timeout now (backoff included).
    pub fn retransmission_timeout(&self) -> Duration {
        self.rto()
    }

    /// The configuration.
    pub const fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// The timeout after `extra` more timeouts in a row.
    fn rto_after(&self, extra: u8) -> Duration {
        let base = match self.srtt {
            Some((srtt, var)) => srtt.saturating_add(var.saturating_mul(4)),
            None => self.config.rto,
        };
        let max = self.config.max_rto.max(self.config.min_rto);
        let shift = u32::from(self.timeouts.saturating_add(extra).min(16));
        base.max(self.config.min_rto).saturating_mul(1u32 << shift).min(max)
    }

    /// A round-trip sample (RFC 6298 with alpha 1/8, beta 1/4).
    fn sample_rtt(&mut self, rtt: Duration) {
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
        self.srtt = Some(match self.srtt {
            None => (rtt, rtt / 2),
            Some((srtt, var)) => {
                let diff = srtt.abs_diff(rtt);
                (srtt - srtt / 8 + rtt / 8, var - var / 4 + diff / 4)
            }
        });
    }

    // ---- the stream interface ----

    /// Queue stream bytes to send; returns how many fit in the send buffer (0 once
    /// [`Link::close`] was called, or when full: poll and try again).
    pub fn write(&mut self, bytes: &[u8]) -> usize {
        if self.closing || self.error().is_some() {
            return 0;
        }
        let used = (self.tx_end - self.tx_start) as usize;
        let n = bytes.len().min(TX - used);
        for (k, &b) in bytes.iter().take(n).enumerate() {
            let at = ((self.tx_end + k as u64) % TX as u64) as usize;
            if let Some(slot) = self.tx.get_mut(at) {
                *slot = b;
            }
        }
        self.tx_end += n as u64;
        n
    }

    /// Free room in the send buffer.
    pub fn write_capacity(&self) -> usize {
        if self.closing {
            return 0;
        }
        TX - (self.tx_end - self.tx_start) as usize
    }

    /// No more stream bytes: the peer reads the end of the stream after the last one.
    pub fn close(&mut self) {
        self.closing = true;
    }

    /// Every byte written (and the close, if any) was acknowledged by the peer.
    pub fn is_flushed(&self) -> bool {
        self.is_open()
            && self.snd_una == self.snd_nxt
            && self.tx_framed == self.tx_end
            && (!self.closing || self.fin_framed)
    }

    /// Delivered stream bytes not yet read, one frame's worth at a time (empty: none now).
    pub fn readable(&self) -> &[u8] {
        if self.rcv_read == self.rcv_nxt {
            return &[];
        }
        let i = usize::from(self.rcv_read) % W;
        let len = self.rx_meta.get(i).map_or(0, |m| usize::from(m.len));
        self.rx.get(i).and_then(|s| s.get(self.read_off..len)).unwrap_or(&[])
    }

    /// `n` bytes of [`Link::readable`] were used.
    pub fn consume(&mut self, n: usize) {
        self.read_off = self.read_off.saturating_add(n);
        self.settle();
    }

    /// Copy delivered bytes into `buf`; returns how many.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut total = 0;
        while total < buf.len() {
            let src = self.readable();
            if src.is_empty() {
                break;
            }
            let n = src.len().min(buf.len() - total);
            if let (Some(dst), Some(src)) = (buf.get_mut(total..total + n), src.get(..n)) {
                dst.copy_from_slice(src);
            }
            total += n;
            self.consume(n);
        }
        total
    }

    /// The peer closed its stream and every byte before the close was read.
    pub const fn peer_closed(&self) -> bool {
        self.peer_fin
    }

    /// Free fully read slots, note a delivered close, and owe a window update when the
    /// window reopens.
    fn settle(&mut self) {
        while self.rcv_read != self.rcv_nxt {
            let i = usize::from(self.rcv_read) % W;
            let Some(meta) = self.rx_meta.get_mut(i) else { break };
            if self.read_off < usize::from(meta.len) {
                break;
            }
            if meta.fin {
                self.peer_fin = true;
            }
            *meta = RxSlot::default();
            self.rcv_read = self.rcv_read.wrapping_add(1);
            self.read_off = 0;
            if usize::from(self.last_window) < W / 2 {
                self.ack_due = true;
            }
        }
    }

    fn rx_window(&self) -> u8 {
        let used = usize::from(self.rcv_nxt.wrapping_sub(self.rcv_read));
        (W - used.min(W)) as u8
    }

    // ---- input ----

    /// Raw bytes from the serial line, any amount, any garbage. Errors: the peer reset,
    /// or an earlier error.
    pub fn handle_input(&mut self, now: Duration, mut bytes: &[u8]) -> Result<(), LinkError> {
        self.check()?;
        while !bytes.is_empty() {
            let (taken, frame) = self.deframer.push(bytes);
            bytes = bytes.get(taken..).unwrap_or(&[]);
            let Some(frame) = frame else { continue };
            let sessions = match self.state {
                State::Handshake { peer: Some(p) } | State::Open { peer: p } => {
                    Some((p, self.local))
                }
                _ => None,
            };
            // Parse into owned fields so the deframer's buffer is free again.
            let parsed = match frame.and_then(|f| Repr::parse(f, sessions)) {
                Ok(Repr::Data { seq, fin, payload }) => {
                    let len = payload.len();
                    let mut tmp = [0u8; F];
                    if let Some(dst) = tmp.get_mut(..len) {
                        dst.copy_from_slice(payload);
                    }
                    Ok(Parsed::Data { seq, fin, len, bytes: tmp })
                }
                Ok(Repr::Ack { ack, window, sack, request }) => {
                    Ok(Parsed::Ack { ack, window, sack, request })
                }
                Ok(Repr::Hello(h)) => Ok(Parsed::Hello(h, false)),
                Ok(Repr::HelloAck(h)) => Ok(Parsed::Hello(h, true)),
                Err(e) => Err(e),
            };
            match parsed {
                Err(_) => self.stats.frames_dropped += 1,
                Ok(p) => {
                    self.stats.frames_received += 1;
                    self.on_frame(now, p)?;
                }
            }
        }
        Ok(())
    }

    fn open(&mut self, peer: u32) {
        self.state = State::Open { peer };
        self.timeouts = 0;
        self.hello_due = false;
        self.hello_deadline = None;
        self.send_limit = self.snd_una.wrapping_add(self.window() as u8);
        // Start small and grow while frames get through: a frame keeps its size through
        // every retransmission, so a long one sent into a noisy line would be stuck.
        let start = self.config.min_payload.saturating_mul(2).max(1);
        self.seg = start.min(self.max_send_payload());
    }

    fn adopt(&mut self, h: &Hello) {
        self.peer_max_payload = h.max_payload;
        self.peer_window = h.window;
    }

    fn on_frame(&mut self, now: Duration, p: Parsed<F>) -> Result<(), LinkError> {
        match (self.state, p) {
            (State::Failed(e), _) => Err(e),
            (State::Handshake { .. }, Parsed::Hello(h, is_ack)) => {
                if h.session == 0 {
                    return Ok(());
                }
                if is_ack && h.peer != self.local {
                    return Ok(());
                }
                self.adopt(&h);
                self.state = State::Handshake { peer: Some(h.session) };
                if !is_ack {
                    self.hello_ack_due = true;
                }
                if h.peer == self.local {
                    self.open(h.session);
                }
                Ok(())
            }
            (State::Handshake { peer: Some(p) }, other) => {
                // A session-bound frame whose CRC covered both ids: the peer knows us.
                self.open(p);
                self.on_frame(now, other)
            }
            (State::Handshake { peer: None }, _) => Ok(()),
            (State::Open { peer }, Parsed::Hello(h, is_ack)) => {
                if h.session == peer {
                    if !is_ack {
                        self.hello_ack_due = true;
                    }
                    Ok(())
                } else if is_ack || h.session == 0 {
                    Ok(())
                } else {
                    Err(self.fail(LinkError::PeerReset))
                }
            }
            (State::Open { .. }, Parsed::Data { seq, fin, len, bytes }) => {
                self.on_data(seq, fin, bytes.get(..len).unwrap_or(&[]));
                Ok(())
            }
            (State::Open { .. }, Parsed::Ack { ack, window, sack, request }) => {
                if request {
                    self.ack_due = true;
                }
                self.on_ack(now, ack, window, sack);
                Ok(())
            }
        }
    }

    fn on_data(&mut self, seq: u8, fin: bool, payload: &[u8]) {
        self.ack_due = true;
        let d = usize::from(seq.wrapping_sub(self.rcv_read));
        let delivered = usize::from(self.rcv_nxt.wrapping_sub(self.rcv_read));
        if d >= W || d < delivered || payload.len() > Self::MAX_PAYLOAD {
            self.stats.duplicates += 1;
            return;
        }
        let i = usize::from(seq) % W;
        let (Some(meta), Some(slot)) = (self.rx_meta.get_mut(i), self.rx.get_mut(i)) else {
            return;
        };
        if meta.filled {
            self.stats.duplicates += 1;
            return;
        }
        if let Some(dst) = slot.get_mut(..payload.len()) {
            dst.copy_from_slice(payload);
        }
        *meta = RxSlot { filled: true, len: payload.len() as u16, fin };
        while usize::from(self.rcv_nxt.wrapping_sub(self.rcv_read)) < W {
            let j = usize::from(self.rcv_nxt) % W;
            if !self.rx_meta.get(j).is_some_and(|m| m.filled) {
                break;
            }
            self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
        }
        // An empty FIN needs no reader to be consumed.
        self.settle();
    }

    fn on_ack(&mut self, now: Duration, ack: u8, window: u8, sack: u32) {
        let in_flight = self.snd_nxt.wrapping_sub(self.snd_una);
        let d = ack.wrapping_sub(self.snd_una);
        if d > in_flight {
            return; // stale or bogus
        }
        let mut progress = false;
        let mut newest = None::<u32>;
        let mut rtt = None::<(u32, Duration)>;
        let min_rtt = self.min_rtt;
        let mut note = |slot: &mut TxSlot, newest: &mut Option<u32>| {
            if !slot.acked {
                slot.acked = true;
                slot.resend = false;
                slot.deadline = None;
                // A frame sent again is evidence only if its ACK came at least the shortest
                // round trip seen after the last transmission: sooner, it is a late ACK of
                // an earlier one (a timeout that was only a slow host), which says nothing
                // about the frames sent in between (RACK's rule). RTT samples only from
                // frames sent once (Karn).
                let since = now.saturating_sub(slot.left_at);
                if slot.sends == 1 || min_rtt.is_some_and(|m| since >= m) {
                    *newest = Some(newest.map_or(slot.order, |n: u32| n.max(slot.order)));
                }
                if slot.sends == 1 && rtt.is_none_or(|(o, _)| o < slot.order) {
                    rtt = Some((slot.order, since));
                }
                true
            } else {
                false
            }
        };
        for k in 0..d {
            let i = usize::from(self.snd_una.wrapping_add(k)) % W;
            if let Some(slot) = self.slots.get_mut(i) {
                progress |= note(slot, &mut newest);
                self.tx_start = self.tx_start.max(slot.pos + u64::from(slot.len));
            }
        }
        self.snd_una = ack;
        let in_flight = self.snd_nxt.wrapping_sub(self.snd_una);
        for bit in 0..31u8 {
            if sack & (1 << bit) == 0 {
                continue;
            }
            let off = bit + 1;
            if off >= in_flight {
                break;
            }
            let i = usize::from(ack.wrapping_add(off)) % W;
            if let Some(slot) = self.slots.get_mut(i) {
                progress |= note(slot, &mut newest);
            }
        }
        if let Some((_, sample)) = rtt {
            self.sample_rtt(sample);
        }
        let window = usize::from(window).min(W) as u8;
        self.send_limit = ack.wrapping_add(window);
        if progress || self.probe_deadline.is_some() || self.probe_due {
            self.timeouts = 0;
        }
        if window > 0 {
            self.probe_deadline = None;
            self.probe_due = false;
        }
        // Loss detection: the line keeps order, so a frame sent before one that was just
        // acknowledged, and not acknowledged itself, was lost.
        let Some(newest) = newest else { return };
        let mut lost = false;
        for k in 0..in_flight {
            let i = usize::from(ack.wrapping_add(k)) % W;
            if let Some(slot) = self.slots.get_mut(i) {
                if !slot.acked && !slot.resend && slot.sends > 0 && slot.order < newest {
                    slot.resend = true;
                    slot.deadline = None;
                    self.stats.fast_retransmits += 1;
                    lost = true;
                }
            }
        }
        let successes = progress && !lost;
        if lost {
            self.shrink();
        } else if successes {
            let max = self.max_send_payload();
            self.seg = self.seg.saturating_add((self.seg / 16).max(2)).min(max);
        }
    }

    fn shrink(&mut self) {
        let min = self.config.min_payload.max(1).min(self.max_send_payload());
        self.seg = (self.seg - self.seg / 4).max(min);
    }

    // ---- time ----

    /// When [`Link::handle_timeout`] is next due (`None`: nothing waits on time).
    pub fn poll_timeout(&self) -> Option<Duration> {
        match self.state {
            State::Failed(_) => None,
            State::Handshake { .. } => self.hello_deadline,
            State::Open { .. } => {
                let mut at = self.probe_deadline;
                for slot in &self.slots {
                    if let Some(d) = slot.deadline {
                        at = Some(at.map_or(d, |a| a.min(d)));
                    }
                }
                at
            }
        }
    }

    /// Tell the link the time. Expired deadlines queue retransmissions (polled by
    /// `poll_transmit`); past the retry budget the link fails.
    pub fn handle_timeout(&mut self, now: Duration) -> Result<(), LinkError> {
        self.check()?;
        let retries = self.config.max_retries;
        if let State::Handshake { .. } = self.state {
            if self.hello_deadline.is_some_and(|d| now >= d) {
                self.hello_deadline = None;
                self.hello_due = true;
                self.timeouts = self.timeouts.saturating_add(1);
                if self.timeouts > retries {
                    return Err(self.fail(LinkError::NoPeer { retries }));
                }
            }
            return Ok(());
        }
        // A timeout sends again the oldest frame not acknowledged, and counts once against
        // the budget; the others in flight get a new deadline (with the backoff). So a
        // timeout that was only a late ACK (a loaded host) costs one frame, not a window,
        // and the frames of one window do not each spend the budget.
        let mut expired = self.slots.iter().any(|s| s.deadline.is_some_and(|d| now >= d));
        if expired {
            let rearm = now.saturating_add(self.rto_after(1));
            let in_flight = self.snd_nxt.wrapping_sub(self.snd_una);
            let mut oldest = true;
            for k in 0..in_flight {
                let i = usize::from(self.snd_una.wrapping_add(k)) % W;
                let Some(slot) = self.slots.get_mut(i) else { continue };
                if slot.acked || slot.resend {
                    continue;
                }
                if core::mem::take(&mut oldest) {
                    slot.resend = true;
                    slot.deadline = None;
                } else {
                    slot.deadline = Some(rearm);
                }
            }
        }
        if self.probe_deadline.is_some_and(|d| now >= d) {
            self.probe_deadline = None;
            self.probe_due = true;
            expired = true;
        }
        if expired {
            self.stats.timeouts += 1;
            self.timeouts = self.timeouts.saturating_add(1);
            self.shrink();
            if self.timeouts > retries {
                return Err(self.fail(LinkError::RetriesExhausted { retries }));
            }
        }
        Ok(())
    }

    // ---- output ----

    /// The next frame to send, written into `out` (at least [`Link::MAX_WIRE_FRAME`]
    /// bytes); returns its length, `None` when there is nothing to send now. `now` starts
    /// the frame's retransmission deadline. Call until `None` (pacing to the line rate as
    /// the transport can), then wait for input or [`Link::poll_timeout`].
    pub fn poll_transmit(&mut self, now: Duration, out: &mut [u8]) -> Option<usize> {
        let n = self.next_frame(now, out)?;
        self.stats.frames_sent += 1;
        let start = self.line_free.max(now);
        self.line_free = start.saturating_add(self.config.byte_time.saturating_mul(n as u32));
        Some(n)
    }

    fn deadline(&self, now: Duration, n: usize) -> Duration {
        let start = self.line_free.max(now);
        start
            .saturating_add(self.config.byte_time.saturating_mul(n as u32))
            .saturating_add(self.rto())
    }

    fn emit(&mut self, repr: &Repr<'_>, peer: u32, out: &mut [u8]) -> Option<usize> {
        repr.emit((self.local, peer), &mut self.scratch, out).ok()
    }

    fn hello(&self, peer: u32) -> Hello {
        Hello {
            session: self.local,
            peer,
            max_payload: Self::MAX_PAYLOAD.min(u16::MAX as usize) as u16,
            window: W as u8,
        }
    }

    fn next_frame(&mut self, now: Duration, out: &mut [u8]) -> Option<usize> {
        let (peer, open) = match self.state {
            State::Failed(_) => return None,
            State::Handshake { peer } => (peer.unwrap_or(0), false),
            State::Open { peer } => (peer, true),
        };
        // 1. HELLO-ACK owed.
        if self.hello_ack_due && peer != 0 {
            self.hello_ack_due = false;
            let repr = Repr::HelloAck(self.hello(peer));
            return self.emit(&repr, peer, out);
        }
        // 2. Our HELLO, behind a delimiter that ends any garbage before it.
        if !open {
            if !self.hello_due {
                return None;
            }
            let (first, rest) = out.split_first_mut()?;
            *first = 0;
            let repr = Repr::Hello(self.hello(peer));
            let n = self.emit(&repr, peer, rest)? + 1;
            self.hello_due = false;
            self.hello_deadline = Some(self.deadline(now, n));
            return Some(n);
        }
        // 3. An ACK owed (small, and it keeps the peer's window moving).
        if self.ack_due || self.probe_due {
            let request = core::mem::take(&mut self.probe_due);
            self.ack_due = false;
            let mut sack = 0u32;
            for bit in 0..31u8 {
                let i = usize::from(self.rcv_nxt.wrapping_add(bit + 1)) % W;
                let within = usize::from(bit) + 1 < W;
                if within && self.rx_meta.get(i).is_some_and(|m| m.filled) {
                    sack |= 1 << bit;
                }
            }
            let window = self.rx_window();
            self.last_window = window;
            let repr = Repr::Ack { ack: self.rcv_nxt, window, sack, request };
            let n = self.emit(&repr, peer, out)?;
            if request {
                self.probe_deadline = Some(self.deadline(now, n));
            }
            return Some(n);
        }
        // 4. A retransmission, oldest first.
        let in_flight = self.snd_nxt.wrapping_sub(self.snd_una);
        for k in 0..in_flight {
            let seq = self.snd_una.wrapping_add(k);
            let i = usize::from(seq) % W;
            let Some(slot) = self.slots.get(i).copied() else { continue };
            if slot.resend && !slot.acked {
                let n = self.emit_data(seq, slot, peer, out)?;
                self.stats.retransmits += 1;
                self.mark_sent(i, now, n);
                return Some(n);
            }
        }
        // 5. New data, within the window and the peer's limit.
        let limit = usize::from(self.send_limit.wrapping_sub(self.snd_nxt));
        let room = usize::from(in_flight) < self.window() && (1..=W).contains(&limit);
        let pending = self.tx_framed < self.tx_end || (self.closing && !self.fin_framed);
        if pending && room {
            let len = (self.tx_end - self.tx_framed).min(u64::from(self.seg)) as u16;
            let fin = self.closing && self.tx_framed + u64::from(len) == self.tx_end;
            let slot = TxSlot { pos: self.tx_framed, len, fin, ..TxSlot::default() };
            let seq = self.snd_nxt;
            let i = usize::from(seq) % W;
            let n = self.emit_data(seq, slot, peer, out)?;
            if let Some(s) = self.slots.get_mut(i) {
                *s = slot;
            }
            self.snd_nxt = seq.wrapping_add(1);
            self.tx_framed += u64::from(len);
            self.fin_framed |= fin;
            self.mark_sent(i, now, n);
            return Some(n);
        }
        // 6. Window closed with data waiting and nothing in flight: probe later.
        if pending && in_flight == 0 && self.probe_deadline.is_none() {
            self.probe_deadline = Some(self.deadline(now, 0));
        }
        None
    }

    fn mark_sent(&mut self, i: usize, now: Duration, n: usize) {
        let deadline = self.deadline(now, n);
        let left_at =
            self.line_free.max(now).saturating_add(self.config.byte_time.saturating_mul(n as u32));
        self.order = self.order.wrapping_add(1);
        let order = self.order;
        if let Some(s) = self.slots.get_mut(i) {
            s.resend = false;
            s.sends = s.sends.saturating_add(1);
            s.order = order;
            s.deadline = Some(deadline);
            s.left_at = left_at;
        }
    }

    fn emit_data(&mut self, seq: u8, slot: TxSlot, peer: u32, out: &mut [u8]) -> Option<usize> {
        let len = usize::from(slot.len);
        let mut payload = [0u8; F];
        for (k, b) in payload.iter_mut().take(len).enumerate() {
            let at = ((slot.pos + k as u64) % TX as u64) as usize;
            *b = self.tx.get(at).copied().unwrap_or(0);
        }
        let repr = Repr::Data { seq, fin: slot.fin, payload: payload.get(..len).unwrap_or(&[]) };
        self.emit(&repr, peer, out)
    }
}

/// A parsed frame, owning its payload.
enum Parsed<const F: usize> {
    Hello(Hello, bool),
    Data { seq: u8, fin: bool, len: usize, bytes: [u8; F] },
    Ack { ack: u8, window: u8, sack: u32, request: bool },
}
