//! `wirekit_core::secure::SecureChannel` as the **initiator**, against a peer that starts with
//! its real handshake (right key, or a wrong key or service) and then sends what the fuzzer
//! scripts: honest records, close_notify, raw bytes, flipped bytes, dropped, replayed and
//! cut records. See `src/secure_props.rs` for the properties: plaintext only from the
//! honest records before the first altered byte, never before the peer is authenticated,
//! errors and events exactly when due, chunking-invariant.
//!
//! Input: `[config] [k] [k chunk sizes] [script...]`, the script a list of `[op] [arg]`
//! pairs (op % 7: data of `arg` bytes, close_notify, `arg` raw bytes (that follow),
//! flip byte `arg` of the last message with the next byte, skip a record of `arg` bytes,
//! replay message `arg`, cut `arg` bytes off the end). Config bits: see
//! `secure_props::setup`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::secure::Role;
use wirekit_fuzz::secure_props::{build, check, check_vectors, setup};
use wirekit_fuzz::Chunking;

fuzz_target!(|data: &[u8]| {
    check_vectors();
    let mut u = Unstructured::new(data);
    let config = u.arbitrary::<u8>().unwrap_or(0);
    let s = setup(Role::Initiator, config);
    let chunking = Chunking::from_unstructured(&mut u);
    let (honest, wire, twin_msg) = build(&s, &mut u);
    check(&s, &honest, &wire, &twin_msg, &chunking);
});
