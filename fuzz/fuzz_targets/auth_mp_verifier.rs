//! `MpVerifier` (CPython `deliver_challenge`) against arbitrary peer bytes, in every
//! challenge mode (legacy, `{md5}`, `{sha256}`, `{sha384}`, `{sha3_*}`) and both policies.
//!
//! Properties: `Authenticated` if and only if the peer's first frame is one of the answers
//! CPython accepts for our message under our key (bare HMAC-MD5 when MD5 is allowed, or
//! `{name}` + HMAC-name for an allowed name; MACs computed independently); a verifier that
//! says verified consumed a frame holding such an answer; exactly the challenge and one
//! verdict are sent (`#WELCOME#` only when verified); pre-auth frames over 256 bytes are
//! refused; chunking-invariant; nothing after the answer frame is consumed.
//!
//! Input: `[selector: key 2 bits, strict 1 bit, mode 3 bits] [random: 40 bytes] [k]
//! [k chunk sizes] [peer stream...]`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::auth::{MpPolicy, MpVerifier, Outcome};
use wirekit_fuzz::{auth_props, auth_ref, Chunking};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    let key = auth_ref::key(sel);
    let policy = if sel & 4 == 0 { MpPolicy::COMPATIBLE } else { MpPolicy::STRICT };
    let mode = auth_ref::mode(sel >> 3);
    let random = auth_ref::random(&mut u);
    let chunking = Chunking::from_unstructured(&mut u);
    let stream = u.take_rest();

    let message = auth_ref::message(mode, &random);
    let want = auth_ref::deliver(key, &message, policy, stream, 0);
    let (outcome, run) = auth_props::check(
        || {
            let v = MpVerifier::new(key, mode, policy, random);
            assert_eq!(v.message(), &message[..]);
            v
        },
        stream,
        &chunking,
        &want,
    );
    let verified = outcome == Outcome::Authenticated;
    assert_eq!(verified, want.result == Ok(true));
    if verified {
        assert!(
            auth_ref::consumed_has_valid_mp_answer(
                key,
                &message,
                policy.allow_md5,
                &stream[..run.consumed]
            ),
            "verified without the right MAC"
        );
    }
});
