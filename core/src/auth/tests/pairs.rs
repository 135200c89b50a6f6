//! Two of our machines against each other, in memory, in every mode, order and split.

use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::driver::{bytewise, cycle, run_pair, whole, Any, Side};
use crate::auth::mp::MODERN_RANDOM_LEN;
use crate::auth::{
    AuthError, AuthEvent, ChallengeMode, MacAlgorithm, MpHandshake, MpPolicy, MpProver, MpVerifier,
    Order, Outcome, RejectReason, SeedProver, SeedVerifier,
};
use crate::pair::Sizes;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const OTHER: &[u8] = b"not the key";
const RANDOM_A: [u8; MODERN_RANDOM_LEN] = [0xa5; MODERN_RANDOM_LEN];
const RANDOM_B: [u8; MODERN_RANDOM_LEN] = [0x3c; MODERN_RANDOM_LEN];

fn modes() -> Vec<ChallengeMode> {
    let mut out = vec![ChallengeMode::Legacy];
    out.extend(MacAlgorithm::ALL.iter().map(|&alg| ChallengeMode::Modern(alg)));
    out
}

fn run(
    mut a: Any<'_>,
    mut b: Any<'_>,
    chunk: &Sizes,
) -> (Side, Side, Option<Outcome>, Option<Outcome>) {
    let (sa, sb) = run_pair(&mut a, &mut b, chunk);
    (sa, sb, a.outcome(), b.outcome())
}

/// Everything observable of one run, to compare runs under different splits.
type Observed = (
    Vec<Result<AuthEvent, AuthError>>,
    Vec<u8>,
    Vec<Result<AuthEvent, AuthError>>,
    Vec<u8>,
    Option<Outcome>,
    Option<Outcome>,
);

fn observe(a: Any<'_>, b: Any<'_>, chunk: &Sizes) -> Observed {
    let (sa, sb, oa, ob) = run(a, b, chunk);
    (sa.log, sa.sent, sb.log, sb.sent, oa, ob)
}

/// Every pairing this file runs, right key and wrong key: (verifier-or-listener, peer).
fn scenarios() -> Vec<(&'static str, fn(&'static [u8]) -> (Any<'static>, Any<'static>))> {
    #[allow(unused_mut)]
    let mut all: Vec<(&'static str, fn(&'static [u8]) -> (Any<'static>, Any<'static>))> = vec![
        ("seed", |k| {
            (
                Any::SeedVerifier(SeedVerifier::new(KEY, [7; 32])),
                Any::SeedProver(SeedProver::new(k)),
            )
        }),
        ("mp halves legacy", |k| {
            (
                Any::Verifier(MpVerifier::new(
                    KEY,
                    ChallengeMode::Legacy,
                    MpPolicy::COMPATIBLE,
                    RANDOM_A,
                )),
                Any::Prover(MpProver::new(k, MpPolicy::COMPATIBLE)),
            )
        }),
        ("mp halves sha256", |k| {
            (
                Any::Verifier(MpVerifier::new(
                    KEY,
                    ChallengeMode::SHA256,
                    MpPolicy::STRICT,
                    RANDOM_A,
                )),
                Any::Prover(MpProver::new(k, MpPolicy::STRICT)),
            )
        }),
        ("mp handshake legacy", |k| {
            (
                Any::Handshake(MpHandshake::new(
                    KEY,
                    Order::ListenerSide,
                    ChallengeMode::Legacy,
                    MpPolicy::COMPATIBLE,
                    RANDOM_A,
                )),
                Any::Handshake(MpHandshake::new(
                    k,
                    Order::ClientSide,
                    ChallengeMode::Legacy,
                    MpPolicy::COMPATIBLE,
                    RANDOM_B,
                )),
            )
        }),
    ];
    #[cfg(feature = "sha384")]
    all.push(("mp handshake sha384", |k| {
        (
            Any::Handshake(MpHandshake::new(
                KEY,
                Order::ListenerSide,
                ChallengeMode::Modern(MacAlgorithm::Sha384),
                MpPolicy::STRICT,
                RANDOM_A,
            )),
            Any::Handshake(MpHandshake::new(
                k,
                Order::ClientSide,
                ChallengeMode::SHA256,
                MpPolicy::STRICT,
                RANDOM_B,
            )),
        )
    }));
    all
}

#[test]
fn seed_right_and_wrong_key() {
    for (key, verdict) in [
        (KEY, Ok(AuthEvent::PeerVerified)),
        (OTHER, Ok(AuthEvent::PeerRejected(RejectReason::WrongMac))),
    ] {
        let (v, p, ov, op) = run(
            Any::SeedVerifier(SeedVerifier::new(KEY, [7; 32])),
            Any::SeedProver(SeedProver::new(key)),
            &whole(),
        );
        assert_eq!(v.log, vec![verdict]);
        assert_eq!(p.log, vec![Ok(AuthEvent::Answered)]);
        assert_eq!(v.sent, [7; 32]);
        assert_eq!(p.sent.len(), 16);
        assert_eq!(ov.map(|o| o.peer_authenticated()), Some(key == KEY));
        // The prover never learns the verdict: the same outcome either way.
        assert_eq!(op, Some(Outcome::Answered));
    }
}

#[test]
fn mp_halves_every_mode_right_and_wrong_key() {
    for mode in modes() {
        for (key, right) in [(KEY, true), (OTHER, false)] {
            let (v, p, ov, op) = run(
                Any::Verifier(MpVerifier::new(KEY, mode, MpPolicy::COMPATIBLE, RANDOM_A)),
                Any::Prover(MpProver::new(key, MpPolicy::COMPATIBLE)),
                &whole(),
            );
            let ctx = (mode, right);
            if right {
                assert_eq!(v.log, vec![Ok(AuthEvent::PeerVerified)], "{ctx:?}");
                assert_eq!(
                    p.log,
                    vec![Ok(AuthEvent::Answered), Ok(AuthEvent::Accepted)],
                    "{ctx:?}"
                );
                assert_eq!((ov, op), (Some(Outcome::Authenticated), Some(Outcome::Accepted)));
                assert!(v.sent.ends_with(b"\x00\x00\x00\x09#WELCOME#"));
            } else {
                let rejected = AuthEvent::PeerRejected(RejectReason::WrongMac);
                assert_eq!(v.log, vec![Ok(rejected)], "{ctx:?}");
                assert_eq!(p.log, vec![Ok(AuthEvent::Answered), Ok(AuthEvent::Refused)], "{ctx:?}");
                assert_eq!(op, Some(Outcome::Refused));
                assert!(v.sent.ends_with(b"\x00\x00\x00\x09#FAILURE#"));
            }
            // The answer names the challenge's digest (modern) or is a bare MD5 (legacy).
            let answer = &p.sent[4..];
            match mode {
                ChallengeMode::Legacy => assert_eq!(answer.len(), 16),
                ChallengeMode::Modern(alg) => {
                    assert!(answer.starts_with(&[b"{", alg.name().as_bytes(), b"}"].concat()));
                    assert_eq!(answer.len(), 2 + alg.name().len() + alg.mac_len());
                }
            }
        }
    }
}

#[test]
fn mp_handshake_every_mode_both_orders() {
    for mode in modes() {
        for (key, right) in [(KEY, true), (OTHER, false)] {
            // The listener role on either end of the pair: the order is a parameter.
            for listener_first in [true, false] {
                let listener = Any::Handshake(MpHandshake::new(
                    KEY,
                    Order::ListenerSide,
                    mode,
                    MpPolicy::COMPATIBLE,
                    RANDOM_A,
                ));
                let client = Any::Handshake(MpHandshake::new(
                    key,
                    Order::ClientSide,
                    mode,
                    MpPolicy::COMPATIBLE,
                    RANDOM_B,
                ));
                let (l, c, ol, oc) = if listener_first {
                    run(listener, client, &whole())
                } else {
                    let (c, l, oc, ol) = run(client, listener, &whole());
                    (l, c, ol, oc)
                };
                let ctx = (mode, right, listener_first);
                if right {
                    use AuthEvent::*;
                    assert_eq!(
                        l.log,
                        vec![Ok(PeerVerified), Ok(Answered), Ok(Accepted)],
                        "{ctx:?}"
                    );
                    assert_eq!(
                        c.log,
                        vec![Ok(Answered), Ok(Accepted), Ok(PeerVerified)],
                        "{ctx:?}"
                    );
                    assert_eq!(
                        (ol, oc),
                        (Some(Outcome::Authenticated), Some(Outcome::Authenticated))
                    );
                } else {
                    // The listener checks first, so it never proves anything to a keyless peer.
                    let rejected = Outcome::PeerRejected(RejectReason::WrongMac);
                    assert_eq!(ol, Some(rejected), "{ctx:?}");
                    assert_eq!(oc, Some(Outcome::Refused), "{ctx:?}");
                    assert_eq!(l.log.len(), 1, "{ctx:?}: the listener must not answer");
                    assert_eq!(c.log, vec![Ok(AuthEvent::Answered), Ok(AuthEvent::Refused)]);
                }
            }
        }
    }
}

#[test]
fn mp_handshake_wire_order_matches_cpython() {
    // Listener: challenge, verdict, answer. Client: answer, verdict, challenge.
    let listener = Any::Handshake(MpHandshake::new(
        KEY,
        Order::ListenerSide,
        ChallengeMode::Legacy,
        MpPolicy::COMPATIBLE,
        RANDOM_A,
    ));
    let client = Any::Handshake(MpHandshake::new(
        KEY,
        Order::ClientSide,
        ChallengeMode::Legacy,
        MpPolicy::COMPATIBLE,
        RANDOM_B,
    ));
    let (l, c, _, _) = run(listener, client, &bytewise());
    let mut l_expected = b"\x00\x00\x00\x1f#CHALLENGE#".to_vec();
    l_expected.extend_from_slice(&RANDOM_A[..20]);
    l_expected.extend_from_slice(b"\x00\x00\x00\x09#WELCOME#\x00\x00\x00\x10");
    assert_eq!(&l.sent[..l_expected.len()], l_expected.as_slice());
    assert_eq!(l.sent.len(), l_expected.len() + 16);
    let mut c_tail = b"\x00\x00\x00\x09#WELCOME#".to_vec();
    c_tail.splice(0..0, RANDOM_B[..20].iter().copied());
    assert!(c.sent.starts_with(b"\x00\x00\x00\x10"));
    assert_eq!(&c.sent[20..35], b"\x00\x00\x00\x1f#CHALLENGE#");
    assert!(c.sent.ends_with(&c_tail));
}

#[test]
fn mismatched_orders_never_authenticate() {
    // Two listeners each take the other's challenge for an answer and reject it.
    let a = Any::Handshake(MpHandshake::new(
        KEY,
        Order::ListenerSide,
        ChallengeMode::Legacy,
        MpPolicy::COMPATIBLE,
        RANDOM_A,
    ));
    let b = Any::Handshake(MpHandshake::new(
        KEY,
        Order::ListenerSide,
        ChallengeMode::Legacy,
        MpPolicy::COMPATIBLE,
        RANDOM_B,
    ));
    let (_, _, oa, ob) = run(a, b, &whole());
    let reject = Some(Outcome::PeerRejected(RejectReason::Unrecognized { len: 31 }));
    assert_eq!((oa, ob), (reject, reject));
    // Two clients both wait for a challenge: nothing happens, nobody is authenticated.
    let a = Any::Handshake(MpHandshake::new(
        KEY,
        Order::ClientSide,
        ChallengeMode::Legacy,
        MpPolicy::COMPATIBLE,
        RANDOM_A,
    ));
    let b = Any::Handshake(MpHandshake::new(
        KEY,
        Order::ClientSide,
        ChallengeMode::Legacy,
        MpPolicy::COMPATIBLE,
        RANDOM_B,
    ));
    let (sa, sb, oa, ob) = run(a, b, &whole());
    assert_eq!((oa, ob), (None, None));
    assert!(sa.sent.is_empty() && sb.sent.is_empty());
}

#[test]
fn md5_refused_under_strict_policy() {
    // Strict verifier, compatible legacy prover: a bare MD5 answer is a weak digest.
    let (v, p, ov, op) = run(
        Any::Verifier(MpVerifier::new(KEY, ChallengeMode::SHA256, MpPolicy::STRICT, RANDOM_A)),
        Any::Prover(MpProver::new(KEY, MpPolicy::COMPATIBLE)),
        &whole(),
    );
    // Our compatible prover answers {sha256}, which the strict verifier takes.
    assert_eq!(v.log, vec![Ok(AuthEvent::PeerVerified)]);
    assert_eq!(p.log, vec![Ok(AuthEvent::Answered), Ok(AuthEvent::Accepted)]);
    assert_eq!((ov, op), (Some(Outcome::Authenticated), Some(Outcome::Accepted)));
    for mode in [ChallengeMode::Legacy, ChallengeMode::Modern(MacAlgorithm::Md5)] {
        let (v, p, ov, op) = run(
            Any::Verifier(MpVerifier::new(KEY, mode, MpPolicy::STRICT, RANDOM_A)),
            Any::Prover(MpProver::new(KEY, MpPolicy::COMPATIBLE)),
            &whole(),
        );
        assert_eq!(v.log, vec![Ok(AuthEvent::PeerRejected(RejectReason::WeakDigest))], "{mode:?}");
        assert_eq!(ov, Some(Outcome::PeerRejected(RejectReason::WeakDigest)));
        assert_eq!(p.log, vec![Ok(AuthEvent::Answered), Ok(AuthEvent::Refused)]);
        assert_eq!(op, Some(Outcome::Refused));
        // A strict prover does not even answer an MD5 challenge.
        let (_, p, _, op) = run(
            Any::Verifier(MpVerifier::new(KEY, mode, MpPolicy::COMPATIBLE, RANDOM_A)),
            Any::Prover(MpProver::new(KEY, MpPolicy::STRICT)),
            &whole(),
        );
        assert_eq!(p.log, vec![Err(AuthError::WeakDigest)], "{mode:?}");
        assert!(p.sent.is_empty());
        assert_eq!(op, Some(Outcome::Failed(AuthError::WeakDigest)));
    }
}

proptest! {
    #[test]
    fn any_split_gives_the_same_run(sizes in proptest::collection::vec(1usize..50, 1..10), wrong in any::<bool>()) {
        let key: &'static [u8] = if wrong { OTHER } else { KEY };
        for (name, build) in scenarios() {
            let (a, b) = build(key);
            let reference = observe(a, b, &whole());
            let (a, b) = build(key);
            prop_assert_eq!(&observe(a, b, &bytewise()), &reference, "{} bytewise", name);
            let (a, b) = build(key);
            prop_assert_eq!(&observe(a, b, &cycle(sizes.clone())), &reference, "{} {:?}", name, sizes);
            prop_assert!(reference.4.is_some() && reference.5.is_some(), "{} unfinished", name);
        }
    }
}
