//! `MpProver` (CPython `answer_challenge`) against arbitrary verifier bytes, both policies.
//!
//! Properties: the answer is exactly CPython 3.12's for the challenge (bare HMAC-MD5 for a
//! 20-byte message, `{name}` + HMAC-name over the whole message otherwise; MACs computed
//! independently), refused challenges (no `#CHALLENGE#`, short, unknown digest, MD5 under the
//! strict policy) send nothing; `Accepted` only when the verdict frame is exactly
//! `#WELCOME#`; never `Authenticated` (it checks nothing about the peer); chunking-invariant.
//!
//! Input: `[selector: key 2 bits, strict 1 bit] [k] [k chunk sizes] [verifier stream...]`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::auth::{MpPolicy, MpProver, Outcome};
use wirekit_fuzz::{auth_props, auth_ref, Chunking};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    let key = auth_ref::key(sel);
    let policy = if sel & 4 == 0 { MpPolicy::COMPATIBLE } else { MpPolicy::STRICT };
    let chunking = Chunking::from_unstructured(&mut u);
    let stream = u.take_rest();

    let want = auth_ref::answer(key, policy, stream, 0);
    let (outcome, _) = auth_props::check(|| MpProver::new(key, policy), stream, &chunking, &want);
    assert!(!outcome.peer_authenticated(), "a prover alone cannot authenticate the peer");
    assert_eq!(outcome == Outcome::Accepted, want.result == Ok(true));
});
