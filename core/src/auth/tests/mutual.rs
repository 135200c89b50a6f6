//! `SeedMutual` and role keys: both orders, right and wrong keys, any split, no oracle.

use std::vec::Vec;

use proptest::prelude::*;

use crate::auth::keys::{Role, RoleKeys};
use crate::auth::seed::{MutualOrder, SeedMutual, SeedProver, SeedVerifier};
use crate::auth::{hmac, AuthError, AuthEvent, Awaiting, MacAlgorithm, Outcome, RejectReason};
use crate::pair::{self, Options, Sizes};
use crate::Machine;

const SHARED: &[u8] = b"0123456789abcdef0123456789abcdef";

/// Accepting side `a` (a listening exec agent), connecting side `b` (a controller).
fn run_mutual(
    a_shared: &[u8],
    b_shared: &[u8],
    sizes: Vec<usize>,
) -> (
    Option<Outcome>,
    Option<Outcome>,
    Vec<AuthEvent>,
    Vec<AuthEvent>,
    pair::Transcript<AuthError, AuthError>,
) {
    let ka = RoleKeys::for_role(a_shared, Role::ExecAgent);
    let kb = RoleKeys::for_role(b_shared, Role::ExecController);
    let mut a = SeedMutual::new(
        ka.verify.as_bytes(),
        ka.prove.as_bytes(),
        MutualOrder::AcceptingSide,
        [0xa1; 32],
    );
    let mut b = SeedMutual::new(
        kb.verify.as_bytes(),
        kb.prove.as_bytes(),
        MutualOrder::ConnectingSide,
        [0xb2; 32],
    );
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    let t = pair::run(
        &mut a,
        &mut b,
        &mut Sizes::new(sizes.clone()),
        &mut Sizes::new(sizes),
        Options::default(),
        |_, e| ea.push(e),
        |_, e| eb.push(e),
    );
    (a.outcome(), b.outcome(), ea, eb, t)
}

#[test]
fn both_sides_authenticate_with_the_same_shared_key() {
    let (oa, ob, ea, eb, t) = run_mutual(SHARED, SHARED, Vec::new());
    assert_eq!(oa, Some(Outcome::Authenticated));
    assert_eq!(ob, Some(Outcome::Authenticated));
    assert_eq!(ea, [AuthEvent::PeerVerified, AuthEvent::Answered]);
    assert_eq!(eb, [AuthEvent::Answered, AuthEvent::PeerVerified]);
    // Wire: A's challenge; B's answer then B's challenge; A's answer.
    assert_eq!(t.a_sent.len(), 32 + 16);
    assert_eq!(t.b_sent.len(), 16 + 32);
    assert_eq!(&t.a_sent[..32], &[0xa1; 32]);
    assert_eq!(&t.b_sent[16..], &[0xb2; 32]);
    assert!(t.a_error.is_none() && t.b_error.is_none());
}

#[test]
fn a_wrong_key_is_rejected_first_and_the_accepting_side_answers_nothing() {
    let (oa, ob, _, _, t) = run_mutual(SHARED, b"another key entirely", Vec::new());
    assert_eq!(oa, Some(Outcome::PeerRejected(RejectReason::WrongMac)));
    // The accepting side sent its challenge and nothing else: no answer to B's challenge.
    assert_eq!(t.a_sent, [0xa1; 32]);
    assert_eq!(
        t.b_error,
        Some(AuthError::UnexpectedEof { awaiting: Awaiting::Answer, received: 0, expected: 16 })
    );
    assert!(!ob.is_some_and(|o| o.peer_authenticated()));
}

#[test]
fn the_accepting_side_is_no_oracle_for_any_role() {
    // An attacker connects and sends a challenge of its own instead of an answer: the 16
    // bytes it sends are checked as an answer (and fail); no HMAC of attacker bytes comes out.
    let keys = RoleKeys::for_role(SHARED, Role::FileReceiver);
    let mut a = SeedMutual::new(
        keys.verify.as_bytes(),
        keys.prove.as_bytes(),
        MutualOrder::AcceptingSide,
        [1; 32],
    );
    let attacker_bytes = [0x55u8; 48];
    let step = a.handle_input(&attacker_bytes).unwrap();
    assert_eq!(step.consumed, 16);
    assert_eq!(step.event, Some(AuthEvent::PeerRejected(RejectReason::WrongMac)));
    let out = a.output_buf();
    assert_eq!(out, &[1u8; 32][..], "only our own challenge goes out");
    assert!(a.is_done());
}

#[test]
fn role_key_answers_do_not_pass_a_raw_key_or_other_role_verifier() {
    // A connecting sender answers a relayed challenge; neither a demo4 verifier (raw key)
    // nor an exec agent (controller role key) accepts that answer.
    let relayed = [9u8; 32];
    let sender = RoleKeys::for_role(SHARED, Role::FileSender);
    let mut prover = SeedProver::new(sender.prove.as_bytes());
    prover.handle_input(&relayed).unwrap();
    let answer: Vec<u8> = prover.output_buf().to_vec();
    let agent = RoleKeys::for_role(SHARED, Role::ExecAgent);
    for verify_key in [SHARED, agent.verify.as_bytes().as_slice()] {
        let mut v = SeedVerifier::new(verify_key, relayed);
        let step = v.handle_input(&answer).unwrap();
        assert_eq!(step.event, Some(AuthEvent::PeerRejected(RejectReason::WrongMac)));
    }
    // And the answer is the role key's HMAC, not the raw key's.
    let raw = hmac(MacAlgorithm::Md5, SHARED, &[&relayed]);
    assert_ne!(answer.as_slice(), raw.as_bytes());
}

#[test]
fn reflecting_the_challenge_back_fails() {
    // A peer that plays our own role (e.g. our own answers or challenges reflected back)
    // never passes: each side checks answers under the *other* role's key.
    let k = RoleKeys::for_role(SHARED, Role::ExecAgent);
    let mut a = SeedMutual::new(
        k.verify.as_bytes(),
        k.prove.as_bytes(),
        MutualOrder::AcceptingSide,
        [3; 32],
    );
    let mut b = SeedMutual::new(
        k.verify.as_bytes(),
        k.prove.as_bytes(),
        MutualOrder::ConnectingSide,
        [3; 32],
    );
    let t = pair::run(
        &mut a,
        &mut b,
        &mut pair::whole,
        &mut pair::whole,
        Options::default(),
        |_, _| {},
        |_, _| {},
    );
    // Two agents (same role) never authenticate each other.
    assert_eq!(a.outcome(), Some(Outcome::PeerRejected(RejectReason::WrongMac)));
    assert_eq!(t.a_sent.len(), 32, "no answer from the accepting side");
}

proptest! {
    #[test]
    fn any_split_gives_the_same_run(sizes in proptest::collection::vec(1usize..50, 0..8)) {
        let whole = run_mutual(SHARED, SHARED, Vec::new());
        let split = run_mutual(SHARED, SHARED, sizes);
        prop_assert_eq!(whole.0, split.0);
        prop_assert_eq!(whole.1, split.1);
        prop_assert_eq!(whole.2, split.2);
        prop_assert_eq!(whole.3, split.3);
        prop_assert_eq!(whole.4, split.4);
    }
}
