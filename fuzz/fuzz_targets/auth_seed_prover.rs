//! `SeedProver` (demo4 client) against arbitrary verifier bytes.
//!
//! Properties: it answers HMAC-MD5(key, first 32 bytes) (computed independently), consumes
//! exactly 32 bytes, ends at `Answered` (never `Authenticated`: no verdict exists in demo4),
//! and is chunking-invariant.
//!
//! Input: `[key selector] [k] [k chunk sizes] [verifier stream...]`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::auth::{Outcome, SeedProver};
use wirekit_fuzz::{auth_props, auth_ref, Chunking};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let key = auth_ref::key(u.arbitrary::<u8>().unwrap_or(0));
    let chunking = Chunking::from_unstructured(&mut u);
    let stream = u.take_rest();

    let want = auth_ref::seed_prover(key, stream);
    let (outcome, _) = auth_props::check(|| SeedProver::new(key), stream, &chunking, &want);
    assert!(!outcome.peer_authenticated(), "a seed prover cannot know the peer");
    if want.result.is_ok() {
        assert_eq!(outcome, Outcome::Answered);
    }
});
