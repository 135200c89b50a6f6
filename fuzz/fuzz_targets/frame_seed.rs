//! `FrameConfig::seed()`: arbitrary bytes in arbitrary chunks. See `frame_props::check` for
//! the properties (chunking-invariant, matches a naive reference decoder, decode(encode(x))
//! == x, no Data beyond the announced length, FrameReader agrees).
//!
//! Input: `[k] [k chunk sizes] [reader cap: u16] [extra length: u64] [stream...]`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::frame::FrameConfig;
use wirekit_fuzz::frame_props;

fuzz_target!(|data: &[u8]| {
    let u = Unstructured::new(data);
    frame_props::check(FrameConfig::seed(), u);
});
