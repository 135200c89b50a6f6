//! The serial link (`wirekit_core::link`, docs/protocol.md section 7): raw garbage into a
//! fresh link, then a real peer streaming to it over a line with fuzzer-chosen faults (drop,
//! corrupt, duplicate, delay, insert bytes, either direction), and optionally the peer
//! rebooting mid-stream into a new session that sends other bytes.
//!
//! Properties: no panic; nothing is delivered from the garbage; what the link delivers is
//! always a prefix of the peer's stream (never a wrong byte, never a byte of the rebooted
//! peer's new session); with at most 4 faults each way and no reboot the whole stream
//! arrives and the link finishes without an error; a reboot before the end is reported as
//! `PeerReset` (or the retry budget, when the faults also cut the line), never silently.
//!
//! Input: `arbitrary` of [`Script`] (the garbage, stream length, faults, reboot time).
//! The session ids are derived from a hash of the whole input, so the fuzzer cannot
//! converge on a frame whose CRC covers them (a CRC is not a MAC: forging one is possible
//! in principle, and would count as "wrong bytes" here).
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wirekit_core::link::sim::{At, Fault, Recv, Send, Sim};
use wirekit_core::link::{Link, LinkConfig, LinkError};

/// Small buffers: frames of 64 encoded bytes, a window of 8, 256 bytes of send buffer, so
/// sequence numbers, the ring and the window all wrap within a short stream.
type L = Link<64, 8, 256>;

#[derive(Arbitrary, Debug)]
enum Kind {
    Drop,
    Corrupt(u8),
    Duplicate,
    Delay(u16),
    Insert(u8),
}

#[derive(Arbitrary, Debug)]
struct Script {
    garbage: Vec<u8>,
    garbage_chunk: u8,
    len: u16,
    to_receiver: Vec<(u16, Kind)>,
    to_sender: Vec<(u16, Kind)>,
    reboot_ms: Option<u16>,
}

fn faults(list: &[(u16, Kind)]) -> At {
    At(list
        .iter()
        .map(|(at, k)| {
            let f = match *k {
                Kind::Drop => Fault::Drop,
                Kind::Corrupt(m) => Fault::Corrupt(m | 1),
                Kind::Duplicate => Fault::Duplicate,
                Kind::Delay(ms) => Fault::Delay(Duration::from_millis(u64::from(ms % 400))),
                Kind::Insert(b) => Fault::Insert(b),
            };
            (u64::from(*at), f)
        })
        .collect())
}

/// FNV-1a of the input: session ids the fuzzer cannot aim at.
fn hash(data: &[u8], salt: u64) -> u32 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ salt;
    for &b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 16) as u32 | 1
}

/// The stream: bytes that are never 0xEE, which the rebooted peer sends.
fn stream(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + i / 253) % 0xEE) as u8).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(script) = Script::arbitrary(&mut arbitrary::Unstructured::new(data)) else { return };
    let config = LinkConfig::new();
    let mut receiver = L::new(config, hash(data, 1));
    let sender = L::new(config, hash(data, 2));

    // 1. Garbage into the fresh receiver, in chunks: nothing may come out of it.
    let chunk = usize::from(script.garbage_chunk).max(1);
    for piece in script.garbage.chunks(chunk) {
        if receiver.handle_input(Duration::ZERO, piece).is_err() {
            return; // a garbage HELLO cannot reset a link that is not open; nothing to check
        }
        assert!(receiver.readable().is_empty(), "bytes delivered from garbage");
    }
    let mut out = [0u8; L::MAX_WIRE_FRAME];
    while receiver.poll_transmit(Duration::ZERO, &mut out).is_some() {}

    // 2. A real peer streams to it over the faulty line.
    let data_len = usize::from(script.len % 2048);
    let payload = stream(data_len);
    let mut sim = Sim::new(sender, receiver, Duration::from_micros(87), Duration::from_millis(1));
    let mut send = Send::new(payload.clone());
    let mut recv = Recv::default();
    let mut ab = faults(&script.to_receiver);
    let mut ba = faults(&script.to_sender);
    let limit = script
        .reboot_ms
        .map_or(Duration::from_secs(120), |ms| Duration::from_millis(u64::from(ms % 3_000)));
    let first = sim.run(&mut send, &mut recv, &mut ab, &mut ba, limit);
    assert!(payload.starts_with(&recv.got), "wrong bytes delivered");
    let few = script.to_receiver.len() <= 4 && script.to_sender.len() <= 4;
    if script.reboot_ms.is_none() {
        if few {
            assert!(first.done, "{first:?}");
            assert_eq!(recv.got, payload);
        }
        if first.done {
            assert_eq!(recv.got, payload);
        }
        return;
    }
    if first.done || first.a_error.is_some() || first.b_error.is_some() {
        return;
    }

    // 3. The sender reboots: a new session that sends other bytes.
    let was_open = sim.b.is_open();
    let before = recv.got.len();
    sim.a = L::new(config, hash(data, 3));
    let fresh = vec![0xEE; 300];
    let mut send2 = Send::new(fresh.clone());
    let second = sim.run(&mut send2, &mut recv, &mut ab, &mut ba, limit + Duration::from_secs(60));
    if !was_open {
        // The old session had not opened, so none of its bytes were delivered yet. Either
        // its frames still on the line open it now (then the new HELLO resets it), or the
        // new session is simply the first and its bytes arrive as its own stream: one
        // stream or the other, never a mix.
        assert_eq!(before, 0);
        let old = payload.starts_with(&recv.got);
        assert!(old || fresh.starts_with(&recv.got), "wrong bytes delivered");
        return;
    }
    assert!(payload.starts_with(&recv.got), "bytes of the new session spliced in");
    assert!(!second.done, "the old stream cannot end after a reboot: {second:?}");
    if let Some(e) = second.b_error {
        assert!(matches!(e, LinkError::PeerReset | LinkError::RetriesExhausted { .. }), "{e:?}");
    } else if few {
        // With few faults the new peer's HELLO must reach the receiver within a minute.
        panic!("reboot not noticed: {second:?}");
    }
});
