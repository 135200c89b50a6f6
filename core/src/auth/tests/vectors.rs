//! Replays of transcripts recorded from real Python 3.11 (core/tests/vectors/).

use std::string::String;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::driver::{bytewise, cycle, feed, whole, Any, AuthMachine, Log};
use crate::auth::mp::MODERN_RANDOM_LEN;
use crate::auth::{
    AuthError, AuthEvent, ChallengeMode, MacAlgorithm, MpHandshake, MpPolicy, MpProver, MpVerifier,
    Order, Outcome, RejectReason, SeedProver, SeedVerifier,
};
use crate::pair::Chunker;
use crate::Machine;

const VECTORS: &str = include_str!("../../../tests/vectors/auth_vectors.txt");

#[derive(Debug, Default, Clone)]
pub struct Case {
    pub name: String,
    pub key: Vec<u8>,
    pub peer_key: Option<Vec<u8>>,
    pub random: Vec<(String, Vec<u8>)>,
    pub sends: Vec<(String, Vec<u8>)>,
    pub results: Vec<(String, String)>,
}

impl Case {
    pub fn random(&self, side: &str) -> Vec<u8> {
        self.random.iter().find(|(s, _)| s == side).unwrap().1.clone()
    }
    /// The side's randomness padded to the 40 bytes the mp constructors take.
    pub fn random40(&self, side: &str) -> [u8; MODERN_RANDOM_LEN] {
        let mut out = [0u8; MODERN_RANDOM_LEN];
        let r = self.random(side);
        out[..r.len()].copy_from_slice(&r);
        out
    }
    pub fn peer_key(&self) -> &[u8] {
        self.peer_key.as_deref().unwrap_or(&self.key)
    }
    pub fn sent_by(&self, side: &str) -> Vec<u8> {
        self.sends.iter().filter(|(s, _)| s == side).flat_map(|(_, b)| b.clone()).collect()
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

pub fn cases() -> Vec<Case> {
    parse(VECTORS)
}

/// The cases of a transcript file in the generators' format.
pub fn parse(text: &str) -> Vec<Case> {
    let mut out = Vec::new();
    let mut case = Case::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut words = line.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("case"), Some(name), None) => {
                case = Case { name: name.into(), ..Case::default() }
            }
            (Some("key"), Some(hex), None) => case.key = unhex(hex),
            (Some("peer_key"), Some(hex), None) => case.peer_key = Some(unhex(hex)),
            (Some("random"), Some(side), Some(hex)) => case.random.push((side.into(), unhex(hex))),
            (Some("send"), Some(side), Some(hex)) => case.sends.push((side.into(), unhex(hex))),
            (Some("result"), Some(side), Some(text)) => {
                case.results.push((side.into(), text.into()))
            }
            (Some("end"), None, None) => out.push(core::mem::take(&mut case)),
            other => panic!("bad vector line {other:?}"),
        }
    }
    out
}

pub fn case(name: &str) -> Case {
    cases().into_iter().find(|c| c.name == name).unwrap()
}

/// Play `me` in `case`: our output must equal each of our recorded sends exactly, at the
/// moment it was sent; the peer's sends are fed in `chunk`-sized pieces. `trailing` is
/// appended to the peer's last send; returns the log and the peer bytes never consumed.
pub fn replay<M: AuthMachine>(
    m: &mut M,
    case: &Case,
    me: &str,
    trailing: &[u8],
    chunk: &mut dyn Chunker,
) -> (Log, Vec<u8>) {
    let mut log = Log::new();
    let mut pipe = Vec::new();
    let last_peer = case.sends.iter().rposition(|(s, _)| s != me);
    for (i, (side, bytes)) in case.sends.iter().enumerate() {
        if side == me {
            if last_peer.is_some_and(|last| i < last) {
                assert!(pipe.is_empty(), "{}: {me} sends before reading all input", case.name);
            }
            assert_eq!(
                m.output_buf().get(..bytes.len()),
                Some(bytes.as_slice()),
                "{}: {me}'s send #{i}",
                case.name
            );
            m.consume_output(bytes.len());
        } else {
            pipe.extend_from_slice(bytes);
            if Some(i) == last_peer {
                pipe.extend_from_slice(trailing);
            }
            feed(m, &mut pipe, chunk, &mut log);
            if Some(i) != last_peer {
                assert!(pipe.is_empty(), "{}: {me} left input of send #{i}", case.name);
            }
        }
    }
    assert_eq!(m.output_buf(), &[] as &[u8], "{}: {me} sent more than recorded", case.name);
    (log, pipe)
}

/// The machine that plays `role` in `case`, built from the case's key and randomness.
pub fn machine<'c>(c: &'c Case, role: &str) -> Any<'c> {
    let key = &c.key[..];
    let peer = c.peer_key();
    let modern = |alg| ChallengeMode::Modern(alg);
    let strict = MpPolicy::STRICT;
    match (c.name.as_str(), role) {
        (_, "verifier") if c.name.starts_with("seed") => {
            Any::SeedVerifier(SeedVerifier::new(key, c.random("verifier").try_into().unwrap()))
        }
        (_, "prover") if c.name.starts_with("seed") => Any::SeedProver(SeedProver::new(peer)),
        (_, "listener") => Any::Handshake(MpHandshake::new(
            key,
            Order::ListenerSide,
            ChallengeMode::Legacy,
            MpPolicy::COMPATIBLE,
            c.random40("listener"),
        )),
        (_, "client") => Any::Handshake(MpHandshake::new(
            peer,
            Order::ClientSide,
            ChallengeMode::Legacy,
            MpPolicy::COMPATIBLE,
            c.random40("client"),
        )),
        ("mp_py311_answers_modern", "verifier") => Any::Verifier(MpVerifier::new(
            key,
            ChallengeMode::SHA256,
            MpPolicy::COMPATIBLE,
            c.random40("verifier"),
        )),
        (name, "verifier") => {
            let digest = name.strip_prefix("mp_modern_").unwrap();
            let digest = digest.strip_suffix("_wrong_key").unwrap_or(digest);
            let alg = MacAlgorithm::from_name(digest.as_bytes()).unwrap();
            let policy = if alg == MacAlgorithm::Md5 { MpPolicy::COMPATIBLE } else { strict };
            Any::Verifier(MpVerifier::new(key, modern(alg), policy, c.random40("verifier")))
        }
        (name, "prover") => {
            let policy = if name == "mp_modern_md5" { MpPolicy::COMPATIBLE } else { strict };
            Any::Prover(MpProver::new(peer, policy))
        }
        other => panic!("no machine for {other:?}"),
    }
}

/// The log and outcome `role` must reach, from the Python results.
pub fn expected(c: &Case, role: &str) -> (Log, Outcome) {
    use AuthEvent::*;
    let result = &c.results.iter().find(|(s, _)| s == role).unwrap().1;
    let ok = result == "ok";
    let wrong = Outcome::PeerRejected(RejectReason::WrongMac);
    match role {
        "verifier" if ok => (vec![Ok(PeerVerified)], Outcome::Authenticated),
        "verifier" => (vec![Ok(PeerRejected(RejectReason::WrongMac))], wrong),
        "prover" if c.name.starts_with("seed") => (vec![Ok(Answered)], Outcome::Answered),
        "prover" if ok => (vec![Ok(Answered), Ok(Accepted)], Outcome::Accepted),
        "prover" => (vec![Ok(Answered), Ok(Refused)], Outcome::Refused),
        "listener" if ok => {
            (vec![Ok(PeerVerified), Ok(Answered), Ok(Accepted)], Outcome::Authenticated)
        }
        "listener" => (vec![Ok(PeerRejected(RejectReason::WrongMac))], wrong),
        "client" if ok => {
            (vec![Ok(Answered), Ok(Accepted), Ok(PeerVerified)], Outcome::Authenticated)
        }
        "client" => (vec![Ok(Answered), Ok(Refused)], Outcome::Refused),
        other => panic!("unknown role {other}"),
    }
}

/// Every (case, role) we can play. The 3.11 prover of `mp_py311_answers_modern` answers
/// differently from a 3.12 one (bare MD5), so only its verifier is replayed.
pub fn plays() -> Vec<(Case, &'static str)> {
    let mut out = Vec::new();
    for c in cases() {
        #[cfg(not(feature = "sha3"))]
        if c.name.contains("sha3_") {
            continue;
        }
        #[cfg(not(feature = "sha384"))]
        if c.name.contains("sha384") {
            continue;
        }
        let roles: &[&'static str] = if c.results.iter().any(|(s, _)| s == "listener") {
            &["listener", "client"]
        } else if c.name == "mp_py311_answers_modern" {
            &["verifier"]
        } else {
            &["verifier", "prover"]
        };
        for role in roles {
            out.push((c.clone(), *role));
        }
    }
    out
}

fn check_play(c: &Case, role: &str, trailing: &[u8], chunk: &mut dyn Chunker) {
    let mut m = machine(c, role);
    let (log, rest) = replay(&mut m, c, role, trailing, chunk);
    let (want_log, want_outcome) = expected(c, role);
    assert_eq!(log, want_log, "{} as {role}", c.name);
    assert_eq!(m.outcome(), Some(want_outcome), "{} as {role}", c.name);
    assert!(m.is_done());
    assert_eq!(rest, trailing, "{} as {role}: bytes after the handshake", c.name);
}

#[test]
fn vectors_cover_every_case() {
    let names: Vec<String> = cases().into_iter().map(|c| c.name).collect();
    assert_eq!(names.len(), 11, "{names:?}");
    // 2 seed + 2 legacy mutual + 1 py311 verifier + 6 modern: 2 roles each except one.
    let expected_plays = 21
        - if cfg!(feature = "sha3") { 0 } else { 4 }
        - if cfg!(feature = "sha384") { 0 } else { 2 };
    assert_eq!(plays().len(), expected_plays);
}

#[test]
fn python_transcripts_replay_whole() {
    for (c, role) in plays() {
        check_play(&c, role, b"", &mut whole());
    }
}

#[test]
fn python_transcripts_replay_bytewise() {
    for (c, role) in plays() {
        check_play(&c, role, b"", &mut bytewise());
    }
}

#[test]
fn python_transcripts_leave_trailing_bytes() {
    // What follows the handshake (an application frame, or the seed's first command) is
    // the caller's, whichever chunks it arrives in.
    let trailing = b"\x00\x00\x00\x05hello and more";
    for (c, role) in plays() {
        let last_is_peer = c.sends.last().unwrap().0 != role;
        if last_is_peer {
            check_play(&c, role, trailing, &mut whole());
            check_play(&c, role, trailing, &mut bytewise());
        }
    }
}

#[test]
fn seed_vector_is_python_hmac_md5() {
    // Pins the MAC itself, independently of the machines.
    let c = case("seed_demo4_egg");
    let mac = crate::auth::hmac(MacAlgorithm::Md5, b"egg", &[&c.random("verifier")]);
    assert_eq!(mac.as_bytes(), c.sent_by("prover").as_slice());
}

#[test]
fn strict_verifier_refuses_py311_md5_answer() {
    let c = case("mp_py311_answers_modern");
    let mut v =
        MpVerifier::new(&c.key, ChallengeMode::SHA256, MpPolicy::STRICT, c.random40("verifier"));
    let challenge = v.output_buf().to_vec();
    assert_eq!(challenge, c.sends[0].1);
    v.consume_output(challenge.len());
    let mut log = Log::new();
    feed(&mut v, &mut c.sends[1].1.clone(), &mut whole(), &mut log);
    assert_eq!(log, vec![Ok(AuthEvent::PeerRejected(RejectReason::WeakDigest))]);
    assert_eq!(v.output_buf(), b"\x00\x00\x00\x09#FAILURE#");
}

#[test]
fn strict_prover_refuses_md5_challenges() {
    for name in ["mp_modern_md5", "mp_legacy_mutual"] {
        let c = case(name);
        let mut p = MpProver::new(&c.key, MpPolicy::STRICT);
        let mut log = Log::new();
        feed(&mut p, &mut c.sends[0].1.clone(), &mut whole(), &mut log);
        assert_eq!(log, vec![Err(AuthError::WeakDigest)], "{name}");
        assert_eq!(p.output_buf(), &[] as &[u8], "{name}: nothing may be sent");
        assert_eq!(p.outcome(), Some(Outcome::Failed(AuthError::WeakDigest)));
    }
}

proptest! {
    #[test]
    fn python_transcripts_any_split(sizes in proptest::collection::vec(1usize..70, 1..12)) {
        for (c, role) in plays() {
            check_play(&c, role, b"", &mut cycle(sizes.clone()));
            check_play(&c, role, b"trailing", &mut cycle(sizes.clone()));
        }
    }
}
