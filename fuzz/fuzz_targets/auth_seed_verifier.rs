//! `SeedVerifier` (demo4 server) against arbitrary peer bytes.
//!
//! Properties: `Authenticated` if and only if the first 16 bytes the peer sent are
//! HMAC-MD5(key, challenge) (computed independently); exactly 16 bytes consumed, the rest left
//! for the next machine; the challenge is all that is sent; chunking-invariant.
//!
//! Input: `[key selector] [challenge: 32 bytes] [k] [k chunk sizes] [peer stream...]`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::auth::{Outcome, SeedVerifier};
use wirekit_fuzz::{auth_props, auth_ref, mac, Chunking};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let key = auth_ref::key(u.arbitrary::<u8>().unwrap_or(0));
    let mut challenge = [0u8; 32];
    challenge.copy_from_slice(&auth_ref::random(&mut u)[..32]);
    let chunking = Chunking::from_unstructured(&mut u);
    let stream = u.take_rest();

    let want = auth_ref::seed_verifier(key, &challenge, stream);
    let (outcome, run) =
        auth_props::check(|| SeedVerifier::new(key, challenge), stream, &chunking, &want);
    let right = mac::hmac("md5", key, &challenge).unwrap();
    if outcome == Outcome::Authenticated {
        assert!(outcome.peer_authenticated());
        assert_eq!(&stream[..run.consumed], &right[..], "verified without the right MAC");
    } else {
        assert!(!outcome.peer_authenticated());
        assert!(!stream.starts_with(&right), "rejected the right MAC");
    }
});
