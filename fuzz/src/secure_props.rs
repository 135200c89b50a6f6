//! The secure channel (`wirekit_core::secure`) against a peer that starts honestly (the
//! handshake and records of a real peer, with the right or a wrong key or service) and then
//! does what the fuzzer says: more honest records, its close_notify, raw bytes, flipped
//! bytes, dropped, replayed or cut records. Shared by `secure_responder` and
//! `secure_initiator`.
//!
//! The honest bytes come from an independent model of the protocol (`src/noise_ref.rs`,
//! written from the Noise specification, not from core), with the shared key, service and
//! ephemeral keys of `core/tests/vectors/secure-vectors.txt`; the model reproduces the
//! vectors' messages (checked once per process), so the seeds start with the real handshake.
//! The channel under test is deterministic, so on the honest part of the stream it is in the
//! state of the model's side it replaces. The model's handshake is computed once per
//! configuration (key, service, limits): the only X25519 work per input is the channel's own.
//!
//! Properties (`check`):
//! * the plaintext the inner machine is given is exactly that of the honest records that
//!   arrived whole and unaltered, in order, before the first byte that differs from the
//!   honest stream: nothing from an altered, injected, replayed, reordered or cut record,
//!   nothing under another key or service, nothing before the peer is authenticated;
//! * a stream that is not a prefix of the honest one ends in an error; a prefix ends without
//!   one only when it holds the close_notify, else `Truncated`, `HandshakeCut` or `Refused`
//!   as the docs say; a wrong key or service is `HandshakeAuth`;
//! * `Established` / `PeerAuthenticated` / `PeerClosed` exactly when due, once each;
//! * what the channel sends is its own handshake message (byte for byte the model's)
//!   and, when closed, one close_notify record;
//! * the same for any cutting of the stream into deliveries (core's driver, with the Machine
//!   contract checks of `drive`).

use arbitrary::Unstructured;
use wirekit_core::secure::{
    on_event, record_len, rx_buf_len, Buffers, ChannelEvent, Config, Psk, Role, SecureChannel,
    SecureError, HANDSHAKE_WIRE_LEN,
};
use wirekit_core::{Handled, Machine};

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::{drive, noise_ref, Chunking};

/// The vectors' shared key (00 01 .. 1f), service and ephemeral keys.
pub const KEY: [u8; 32] = {
    let mut k = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        k[i] = i as u8;
        i += 1;
    }
    k
};
/// A 32-byte key the seeds never use.
pub const WRONG_KEY: &[u8] = b"not the key of any seed file....";
/// The vectors' service.
pub const SERVICE: &[u8] = b"file";
/// Initiator's ephemeral private key (vectors).
pub const EPH_I: [u8; 32] =
    hex32("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a");
/// Responder's ephemeral private key (vectors).
pub const EPH_R: [u8; 32] =
    hex32("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b");
/// Message 1 and 2 of the vectors (without their length prefix), for limits 65519 / 4078.
pub const VECTOR_MSG1: &str =
    "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c794445a9ba591d8f6d253de2af3c547e34151f33";
/// See [`VECTOR_MSG1`].
pub const VECTOR_MSG2: &str =
    "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884367001cde933b7331f599909b2735a14cc1ab";

const fn hex32(s: &str) -> [u8; 32] {
    const fn nib(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not hex"),
        }
    }
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nib(b[2 * i]) << 4 | nib(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// Hex decoding for the vectors.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// The inner machine: takes every byte, keeps it, reports each chunk as an event.
#[derive(Debug, Default)]
pub struct Sink {
    /// Plaintext received, in order.
    pub got: Vec<u8>,
    /// `handle_eof` was called.
    pub eof: bool,
}

/// Never happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Never;
impl core::fmt::Display for Never {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("never")
    }
}
impl core::error::Error for Never {}

impl Machine for Sink {
    type Event<'i> = &'i [u8];
    type Error = Never;
    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<&'i [u8]>, Never> {
        assert!(!self.eof || input.is_empty(), "input after the end");
        self.got.extend_from_slice(input);
        Ok(if input.is_empty() { Handled::consumed(0) } else { Handled::event(input.len(), input) })
    }
    fn handle_eof(&mut self) -> Result<Option<&'static [u8]>, Never> {
        assert!(!self.eof, "end delivered twice");
        self.eof = true;
        Ok(None)
    }
    fn output_buf(&self) -> &[u8] {
        &[]
    }
    fn consume_output(&mut self, _n: usize) {}
    fn is_done(&self) -> bool {
        self.eof
    }
}

type Handler = wirekit_core::secure::OnEvent<fn(&mut Sink, &[u8]) -> Option<usize>, usize>;

fn handler(stop: bool) -> Handler {
    // Some inputs hand every inner event to the driver (`ChannelEvent::Inner`), the others
    // handle them inside.
    let f: fn(&mut Sink, &[u8]) -> Option<usize> =
        if stop { |_, chunk| Some(chunk.len()) } else { |_, _| None };
    on_event(f)
}

/// One side's configuration.
#[derive(Debug, Clone, Copy)]
pub struct Side {
    /// Initiator or responder.
    pub role: Role,
    /// The shared key.
    pub key: &'static [u8],
    /// The service in the prologue.
    pub service: &'static [u8],
    /// Our stated plaintext limit.
    pub limit: u16,
    /// Ephemeral private key.
    pub eph: [u8; 32],
}

fn channel<'b>(
    side: &Side,
    rx: &'b mut [u8],
    tx: &'b mut [u8],
    stop: bool,
) -> SecureChannel<'b, Sink, Handler> {
    let psk = Psk::derive(side.key).unwrap();
    let config = Config { role: side.role, service: side.service, max_plaintext: side.limit };
    SecureChannel::new(&config, &psk, side.eph, Buffers { rx, tx }, Sink::default(), handler(stop))
        .unwrap()
}

/// The honest stream, record by record.
#[derive(Debug, Default)]
pub struct Honest {
    /// Every byte the honest peer sent, in order.
    pub bytes: Vec<u8>,
    /// Every plaintext byte it sealed, in order.
    pub plain: Vec<u8>,
    /// Per message: (end offset in `bytes`, plaintext bytes sealed up to it, close_notify).
    pub ends: Vec<(usize, usize, bool)>,
    /// The peer's handshake message's end, if the handshake went through.
    pub handshake_end: Option<usize>,
}

impl Honest {
    /// Append sent bytes, split into their messages by the length prefixes.
    fn push(&mut self, bytes: &[u8], handshake: bool) -> std::ops::Range<usize> {
        let start = self.bytes.len();
        let mut at = 0;
        while at + 2 <= bytes.len() {
            let len = usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
            at += 2 + len;
            assert!(at <= bytes.len(), "honest peer sent half a message");
            let plain = if handshake { 0 } else { len - 16 };
            let before = self.ends.last().map_or(0, |e| e.1);
            self.ends.push((start + at, before + plain, !handshake && plain == 0));
        }
        assert_eq!(at, bytes.len());
        self.bytes.extend_from_slice(bytes);
        start..self.bytes.len()
    }
}

/// Fuzzer's script for the peer after its handshake message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Data,
    Close,
    Raw,
    Flip,
    Skip,
    Replay,
    Cut,
}

/// Which of the pair the channel under test replaces, and how the pair is set up.
pub struct Setup {
    /// The side under test.
    pub sut: Side,
    /// The peer's side (its key and service may differ from the SUT's).
    pub peer: Side,
    /// Inner events go to the driver (`ChannelEvent::Inner`) instead of being handled inside.
    pub stop: bool,
    /// The side under test closes once the peer's close_notify came.
    pub close: bool,
    /// The side under test has the smallest send buffer allowed.
    pub small_tx: bool,
}

/// Read the setup from the config byte: bit 0 wrong key, bit 1 wrong service (both on the
/// honest pair, the side under test keeps the right ones), bits 2-3 limits (the vectors'
/// 65519/4078, or 64 on either side), bit 4: inner events to the driver, bit 5: the side
/// under test closes after the peer's close_notify, bit 6: a send buffer of the minimum.
pub fn setup(sut_role: Role, config: u8) -> Setup {
    let (li, lr) = match (config >> 2) & 3 {
        0 => (65_519, 4078),
        1 => (64, 4078),
        2 => (65_519, 64),
        _ => (64, 64),
    };
    let init = Side { role: Role::Initiator, key: &KEY, service: SERVICE, limit: li, eph: EPH_I };
    let resp = Side { role: Role::Responder, key: &KEY, service: SERVICE, limit: lr, eph: EPH_R };
    let (sut, mut peer) = match sut_role {
        Role::Initiator => (init, resp),
        Role::Responder => (resp, init),
    };
    if config & 1 != 0 {
        peer.key = WRONG_KEY;
    }
    if config & 2 != 0 {
        peer.service = b"exec";
    }
    Setup { sut, peer, stop: config & 16 != 0, close: config & 32 != 0, small_tx: config & 64 != 0 }
}

/// The model's handshake of the pair for this setup, computed once per configuration.
fn transcript(setup: &Setup) -> &'static noise_ref::Transcript {
    static CACHE: OnceLock<Mutex<HashMap<Vec<u8>, &'static noise_ref::Transcript>>> =
        OnceLock::new();
    let (init, resp) = match setup.peer.role {
        Role::Initiator => (setup.peer, setup.sut),
        Role::Responder => (setup.sut, setup.peer),
    };
    let id =
        [setup.peer.key, setup.peer.service, &init.limit.to_be_bytes(), &resp.limit.to_be_bytes()]
            .concat();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    cache.entry(id).or_insert_with(|| {
        // The pair shares the peer's key and service: its records exist even where the
        // side under test (with the right ones) must refuse them.
        let t = noise_ref::handshake(
            setup.peer.key,
            setup.peer.service,
            init.eph,
            resp.eph,
            init.limit,
            resp.limit,
        );
        Box::leak(Box::new(t))
    })
}

/// Build the honest stream (the model peer's bytes) and the fuzzed wire from the script in
/// `u`; also the handshake message the side under test should send.
pub fn build(setup: &Setup, u: &mut Unstructured<'_>) -> (Honest, Vec<u8>, Vec<u8>) {
    let t = transcript(setup);
    let (peer_msg, twin_msg, send_key) = match setup.peer.role {
        Role::Initiator => (&t.msg1, &t.msg2, t.i2r),
        Role::Responder => (&t.msg2, &t.msg1, t.r2i),
    };
    let mut peer = noise_ref::Sender::new(send_key);
    let mut peer_closed = false;
    let mut honest = Honest::default();
    let mut wire = Vec::new();
    let range = honest.push(peer_msg, true);
    honest.handshake_end = Some(range.end);
    wire.extend_from_slice(peer_msg);
    let mut last = range;
    let mut counter = 0u8;
    // The honest peer keeps to the limit the side under test stated.
    let max = usize::from(setup.sut.limit);
    while !u.is_empty() {
        let op = match u.arbitrary::<u8>().unwrap_or(0) % 7 {
            0 => Op::Data,
            1 => Op::Close,
            2 => Op::Raw,
            3 => Op::Flip,
            4 => Op::Skip,
            5 => Op::Replay,
            _ => Op::Cut,
        };
        let arg = usize::from(u.arbitrary::<u8>().unwrap_or(0));
        match op {
            Op::Data | Op::Skip if !peer_closed && arg > 0 => {
                // `arg` bytes of a running counter, so every record's plaintext differs.
                let plain: Vec<u8> = (0..arg)
                    .map(|_| {
                        counter = counter.wrapping_add(1);
                        counter
                    })
                    .collect();
                let sent: Vec<u8> = plain.chunks(max).flat_map(|c| peer.seal(c)).collect();
                honest.plain.extend_from_slice(&plain);
                let r = honest.push(&sent, false);
                if op == Op::Data {
                    wire.extend_from_slice(&sent);
                    last = r;
                }
            }
            Op::Data | Op::Skip => {}
            Op::Close => {
                if !peer_closed {
                    peer_closed = true;
                    let sent = peer.seal(&[]);
                    last = honest.push(&sent, false);
                    wire.extend_from_slice(&sent);
                }
            }
            Op::Raw => {
                let raw = u.bytes(arg.min(u.len())).unwrap_or(&[]);
                wire.extend_from_slice(raw);
            }
            Op::Flip => {
                let xor = u.arbitrary::<u8>().unwrap_or(1);
                let len = last.len();
                if len > 0 && len <= wire.len() {
                    let at = wire.len() - len + arg % len;
                    wire[at] ^= xor;
                }
            }
            Op::Replay => {
                // Any earlier honest message again (the handshake message included).
                let i = arg % honest.ends.len();
                let start = if i == 0 { 0 } else { honest.ends[i - 1].0 };
                wire.extend_from_slice(&honest.bytes[start..honest.ends[i].0]);
            }
            Op::Cut => {
                let n = arg.min(wire.len());
                wire.truncate(wire.len() - n);
                last = 0..0;
            }
        }
    }
    (honest, wire, twin_msg.clone())
}

/// What the side under test reported, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    /// `Established`.
    Established(u16),
    /// `PeerAuthenticated`.
    Authenticated,
    /// `Inner`.
    Inner(usize),
    /// `InnerDone`.
    InnerDone,
    /// `PeerClosed`.
    PeerClosed,
}

/// Run the side under test over `wire` and check everything against the honest stream.
pub fn check(setup: &Setup, honest: &Honest, wire: &[u8], twin_msg: &[u8], chunking: &Chunking) {
    let Setup { sut: sut_side, stop, close, small_tx, .. } = *setup;
    let mut rx = vec![0u8; rx_buf_len(sut_side.limit)];
    let mut tx = vec![0u8; if small_tx { HANDSHAKE_WIRE_LEN } else { 1 << 17 }];
    let mut sut = channel(&sut_side, &mut rx, &mut tx, stop);
    let run = drive(&mut sut, wire, chunking, |ch, ev| {
        // Nothing reaches the inner machine before the peer is authenticated.
        assert!(
            ch.inner().got.is_empty() || ch.peer_authenticated(),
            "plaintext before authentication"
        );
        match ev {
            ChannelEvent::Established { peer_limit } => Ev::Established(peer_limit),
            ChannelEvent::PeerAuthenticated => Ev::Authenticated,
            ChannelEvent::Inner(n) => Ev::Inner(n),
            ChannelEvent::InnerDone => Ev::InnerDone,
            ChannelEvent::PeerClosed => {
                if close {
                    ch.close();
                }
                Ev::PeerClosed
            }
        }
    });
    let got = &sut.inner().got;
    let matching = setup.peer.key == sut_side.key && setup.peer.service == sut_side.service;
    let lcp = wire.iter().zip(&honest.bytes).take_while(|(a, b)| a == b).count();
    let prefix = lcp == wire.len();
    let hs_end = honest.handshake_end.unwrap_or(usize::MAX);
    // Honest messages wholly on the wire before the first altered byte.
    let whole: Vec<&(usize, usize, bool)> = honest.ends.iter().filter(|e| e.0 <= lcp).collect();
    let transport_whole = whole.iter().filter(|e| e.0 > hs_end).count();
    let closed = whole.iter().any(|e| e.2);
    let want_plain = if matching { whole.last().map_or(0, |e| e.1) } else { 0 };
    assert_eq!(got.len(), want_plain, "plaintext length (lcp {lcp} of {})", wire.len());
    assert_eq!(got[..], honest.plain[..want_plain], "plaintext differs from the honest records'");

    let established = matching && hs_end <= lcp;
    let authenticated = established && (sut_side.role == Role::Initiator || transport_whole > 0);
    let count = |f: &dyn Fn(&Ev) -> bool| run.records.iter().filter(|e| f(e)).count();
    assert_eq!(
        count(&|e| matches!(e, Ev::Established(_))),
        usize::from(established),
        "{:?}",
        run.records
    );
    assert_eq!(
        count(&|e| *e == Ev::Authenticated),
        usize::from(authenticated),
        "{:?}",
        run.records
    );
    assert_eq!(sut.peer_authenticated(), authenticated);
    if established {
        assert_eq!(run.records.first(), Some(&Ev::Established(setup.peer.limit)));
    }
    let want_closed = matching && closed;
    assert_eq!(
        count(&|e| *e == Ev::PeerClosed),
        usize::from(want_closed),
        "{:?} {:?}",
        run.records,
        run.error
    );
    assert_eq!(sut.peer_closed(), want_closed);
    assert_eq!(sut.inner().eof, want_closed, "the inner machine's end is the peer's close_notify");
    if stop {
        let inner: usize =
            run.records.iter().map(|e| if let Ev::Inner(n) = e { *n } else { 0 }).sum();
        assert_eq!(inner, got.len(), "inner events do not add up to the plaintext");
    }

    let err = match run.error {
        None => None,
        Some(wirekit_core::secure::ChannelError::Secure(e)) => Some(e),
        Some(e) => panic!("inner error {e:?}"),
    };
    if !matching {
        // Under another key or service nothing is accepted; the real peer's handshake
        // message is refused as such.
        assert!(err.is_some(), "no error under the wrong key/service");
        if wire.len() >= hs_end && lcp >= hs_end {
            assert_eq!(err, Some(SecureError::HandshakeAuth));
        }
    } else if !prefix {
        // Except after both close_notifys: the channel is done and reads nothing more (the
        // bytes after it stay unread, for the adapter to notice).
        let finished = want_closed && close && run.done;
        assert!(
            err.is_some() || (finished && run.consumed <= lcp),
            "altered stream (lcp {lcp} of {}) ended without an error",
            wire.len()
        );
    } else {
        let want = if wire.is_empty() && sut_side.role == Role::Initiator {
            Some(SecureError::Refused)
        } else if wire.len() < hs_end {
            Some(SecureError::HandshakeCut)
        } else if closed {
            None
        } else {
            Some(SecureError::Truncated)
        };
        assert_eq!(err, want, "honest prefix of {} bytes", wire.len());
    }
    if let Some(e) = err {
        assert!(sut.error() == Some(e));
        assert_eq!(
            e.is_authentication_failure(),
            matches!(e, SecureError::HandshakeAuth | SecureError::Refused)
        );
    }

    // What it sent: its own handshake message first (an initiator at once, a responder
    // once message 1 checked out), then at most a close_notify.
    let sent = &run.sent;
    let sends_handshake = sut_side.role == Role::Initiator || established;
    if sends_handshake && matching {
        assert!(sent.starts_with(twin_msg), "handshake message differs from the reference side's");
        let rest = sent.len() - twin_msg.len();
        assert!(
            rest == 0 || (close && want_closed && rest == record_len(0)),
            "sent {rest} bytes after the handshake"
        );
    } else if sut_side.role == Role::Responder {
        assert!(sent.is_empty(), "responder sent {} bytes without a valid message 1", sent.len());
    } else {
        assert_eq!(sent.len(), twin_msg.len());
    }
}

/// The pair reproduces the vectors' handshake (so the seeds hold the real one).
pub fn check_vectors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let s = setup(Role::Responder, 0);
        let mut u = Unstructured::new(&[]);
        let (honest, _, twin_msg) = build(&s, &mut u);
        assert_eq!(honest.bytes[2..], unhex(VECTOR_MSG1)[..], "message 1 is not the vectors'");
        assert_eq!(twin_msg[2..], unhex(VECTOR_MSG2)[..], "message 2 is not the vectors'");
    });
}
