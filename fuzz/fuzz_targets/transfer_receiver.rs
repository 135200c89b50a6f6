//! `FileReceiver` over an arbitrary stream in arbitrary chunks, against a plain reading of
//! demo3 (`transfer_props::expected`).
//!
//! Properties: chunking-invariant; same events and error as the reference; `Complete` only
//! after exactly `filesize` body bytes; the sum of `Body` chunks is `received()`; nothing
//! after the body is consumed (it is `ExtraData`); the receiver never sends.
//!
//! Input: `[config] [k] [k chunk sizes] [stream...]`; config bit 0: header buffer 4096 or 64
//! bytes, bit 1: seed or mp framing, bits 2-3: no size limit / 0 / 100 / 5000 bytes.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::frame::FrameConfig;
use wirekit_fuzz::{transfer_props, Chunking};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    let chunking = Chunking::from_unstructured(&mut u);
    let stream = u.take_rest();
    let cfg = if sel & 2 == 0 { FrameConfig::seed() } else { FrameConfig::mp() };
    let max_size = match (sel >> 2) & 3 {
        0 => u64::MAX,
        1 => 0,
        2 => 100,
        _ => 5000,
    };
    if sel & 1 == 0 {
        transfer_props::check::<4096>(cfg, max_size, &chunking, stream);
    } else {
        transfer_props::check::<64>(cfg, max_size, &chunking, stream);
    }
});
