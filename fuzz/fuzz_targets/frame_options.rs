//! Any `FrameConfig`: width 1/2/4/8, either byte order, signed or not, or the mp preset, with
//! limits from 0 to `u64::MAX` (so the mp `-1` + `u64` extension is reachable). Same
//! properties as the preset targets (`frame_props::check`).
//!
//! Input: `[config: 1 byte + 0..8 limit bytes] [k] [k chunk sizes] [reader cap: u16]
//! [extra length: u64] [stream...]` (see `arbitrary_config`).
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_fuzz::{arbitrary_config, frame_props};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let cfg = arbitrary_config(&mut u);
    frame_props::check(cfg, u);
});
