//! Replays of transcripts recorded from real CPython 3.12 (the modern `{sha256}` protocol):
//! `Listener.accept` and `Client` against each other, so both of our orders are checked
//! against the real thing, byte for byte, in any split.

use std::vec::Vec;

use proptest::prelude::*;

use super::driver::{bytewise, cycle, whole, Any};
use super::vectors::{expected, parse, replay, Case};
use crate::auth::{ChallengeMode, MpHandshake, MpPolicy, Order};
use crate::pair::Chunker;
use crate::Machine;

const VECTORS: &str = include_str!("../../../tests/vectors/auth_vectors_py312.txt");

/// 3.12 peers never use MD5 with each other, so even the strict policy must pass.
fn machine<'c>(c: &'c Case, role: &str, policy: MpPolicy) -> Any<'c> {
    let (key, order) = match role {
        "listener" => (&c.key[..], Order::ListenerSide),
        _ => (c.peer_key(), Order::ClientSide),
    };
    Any::Handshake(MpHandshake::new(key, order, ChallengeMode::SHA256, policy, c.random40(role)))
}

fn check(c: &Case, role: &str, policy: MpPolicy, chunk: &mut dyn Chunker) {
    let mut m = machine(c, role, policy);
    let (log, rest) = replay(&mut m, c, role, b"after", chunk);
    let (want_log, want_outcome) = expected(c, role);
    assert_eq!(log, want_log, "{} as {role}", c.name);
    assert_eq!(m.outcome(), Some(want_outcome), "{} as {role}", c.name);
    assert!(m.is_done());
    assert_eq!(rest, b"after", "{} as {role}: bytes after the handshake", c.name);
}

fn plays() -> Vec<(Case, &'static str)> {
    let cases = parse(VECTORS);
    assert_eq!(cases.len(), 2);
    cases.into_iter().flat_map(|c| [(c.clone(), "listener"), (c, "client")]).collect()
}

#[test]
fn python312_transcripts_replay_whole_and_bytewise() {
    for (c, role) in plays() {
        for policy in [MpPolicy::COMPATIBLE, MpPolicy::STRICT] {
            check(&c, role, policy, &mut whole());
            check(&c, role, policy, &mut bytewise());
        }
    }
}

proptest! {
    #[test]
    fn python312_transcripts_any_split(sizes in proptest::collection::vec(1usize..70, 1..12)) {
        for (c, role) in plays() {
            check(&c, role, MpPolicy::STRICT, &mut cycle(sizes.clone()));
        }
    }
}
