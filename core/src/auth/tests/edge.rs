//! Malformed input, early closes, limits, reflection, and the small helpers.

use std::format;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

use rand_core::{Infallible, TryCryptoRng, TryRng};

use super::driver::{feed, whole, Log};
use crate::auth::mac::{hmac, verify, MacAlgorithm};
use crate::auth::mp::digest::{split, Split, SplitError};
use crate::auth::mp::MODERN_RANDOM_LEN;
use crate::auth::{
    AuthError, AuthEvent, Awaiting, ChallengeMode, MpHandshake, MpPolicy, MpProver, MpVerifier,
    Order, Outcome, RejectReason, SeedProver, SeedVerifier,
};
use crate::frame::FrameError;
use crate::{Handled, Machine};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const RANDOM: [u8; MODERN_RANDOM_LEN] = [0x5a; MODERN_RANDOM_LEN];

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

fn challenge(message: &[u8]) -> Vec<u8> {
    frame(&[b"#CHALLENGE#", message].concat())
}

fn legacy_verifier(policy: MpPolicy) -> MpVerifier<'static> {
    let mut v = MpVerifier::new(KEY, ChallengeMode::Legacy, policy, RANDOM);
    let n = v.output_buf().len();
    v.consume_output(n);
    v
}

fn run_one<M: Machine<Error = AuthError> + for<'i> Machine<Event<'i> = AuthEvent>>(
    m: &mut M,
    bytes: &[u8],
) -> (Log, Vec<u8>) {
    let mut pipe = bytes.to_vec();
    let mut log = Log::new();
    feed(m, &mut pipe, &mut whole(), &mut log);
    (log, pipe)
}

// --- limits ---------------------------------------------------------------------------

#[test]
fn oversize_pre_auth_frame_is_refused_before_buffering() {
    let huge_mp = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 0];
    let cases: [(&[u8], u64); 3] =
        [(&[0, 0, 1, 1], 257), (&[0x7f, 0xff, 0xff, 0xff], 0x7fff_ffff), (&huge_mp, 1 << 32)];
    for (prefix, len) in cases {
        let err = AuthError::PreAuthOversize { len };
        let mut p = MpProver::new(KEY, MpPolicy::COMPATIBLE);
        assert_eq!(p.handle_input(prefix), Err(err));
        assert_eq!(p.outcome(), Some(Outcome::Failed(err)));
        assert!(p.is_done());
        // The error sticks.
        assert_eq!(p.handle_input(b"more"), Err(err));
        assert_eq!(p.handle_eof(), Err(err));
        let mut v = legacy_verifier(MpPolicy::COMPATIBLE);
        assert_eq!(v.handle_input(prefix), Err(err));
        assert_eq!(v.output_buf(), &[] as &[u8], "CPython sends no verdict on a read error");
        let mut h = MpHandshake::new(
            KEY,
            Order::ClientSide,
            ChallengeMode::Legacy,
            MpPolicy::COMPATIBLE,
            RANDOM,
        );
        assert_eq!(h.handle_input(prefix), Err(err));
        assert_eq!(h.outcome(), Some(Outcome::Failed(err)));
    }
}

#[test]
fn a_256_byte_challenge_is_still_answered() {
    let message = [b"{sha256}".as_slice(), &[9; 256 - 11 - 8]].concat();
    let mut p = MpProver::new(KEY, MpPolicy::COMPATIBLE);
    let (log, _) = run_one(&mut p, &challenge(&message));
    assert_eq!(log, vec![Ok(AuthEvent::Answered)]);
    let mac = hmac(MacAlgorithm::Sha256, KEY, &[&message]);
    assert_eq!(p.output_buf(), frame(&[b"{sha256}", mac.as_bytes()].concat()).as_slice());
}

#[test]
fn negative_length_is_a_frame_error() {
    let mut p = MpProver::new(KEY, MpPolicy::COMPATIBLE);
    let err = AuthError::Frame(FrameError::Negative { value: -2 });
    assert_eq!(p.handle_input(&[0xff, 0xff, 0xff, 0xfe]), Err(err));
}

// --- the verifier's judgement ---------------------------------------------------------

#[test]
fn wrong_length_answers_are_rejected_with_failure() {
    let md5 = hmac(MacAlgorithm::Md5, KEY, &[&RANDOM[..20]]);
    let mut long_md5 = md5.as_bytes().to_vec();
    long_md5.push(0);
    let cases: Vec<(Vec<u8>, RejectReason)> = vec![
        (md5.as_bytes()[..15].to_vec(), RejectReason::Unrecognized { len: 15 }),
        (long_md5, RejectReason::Unrecognized { len: 17 }),
        (vec![0; 20], RejectReason::WrongMacLength { alg: MacAlgorithm::Md5, got: 20 }),
        (
            [b"{sha256}".as_slice(), &[0; 16]].concat(),
            RejectReason::WrongMacLength { alg: MacAlgorithm::Sha256, got: 16 },
        ),
        ([b"{sha512}".as_slice(), &[0; 64]].concat(), RejectReason::Unrecognized { len: 72 }),
        ([b"{SHA256}".as_slice(), &[0; 32]].concat(), RejectReason::Unrecognized { len: 40 }),
        (vec![], RejectReason::Unrecognized { len: 0 }),
        (vec![0; 16], RejectReason::WrongMac),
        ([b"{md5}".as_slice(), md5.as_bytes()].concat(), RejectReason::WeakDigest),
    ];
    for (answer, reason) in cases {
        // The last case passes under the compatible policy; the strict one says why not.
        let policy = if reason == RejectReason::WeakDigest {
            MpPolicy::STRICT
        } else {
            MpPolicy::COMPATIBLE
        };
        let mut v = legacy_verifier(policy);
        let (log, rest) = run_one(&mut v, &frame(&answer));
        assert_eq!(log, vec![Ok(AuthEvent::PeerRejected(reason))], "{answer:02x?}");
        assert!(rest.is_empty());
        assert_eq!(v.output_buf(), b"\x00\x00\x00\x09#FAILURE#");
        assert_eq!(v.outcome(), Some(Outcome::PeerRejected(reason)));
    }
    // And the right answers pass: bare MD5, {md5}, and a stronger digest the legacy
    // challenge did not ask for (CPython 3.12 lets the prover pick).
    let sha = hmac(MacAlgorithm::Sha256, KEY, &[&RANDOM[..20]]);
    for answer in [
        md5.as_bytes().to_vec(),
        [b"{md5}".as_slice(), md5.as_bytes()].concat(),
        [b"{sha256}".as_slice(), sha.as_bytes()].concat(),
    ] {
        let mut v = legacy_verifier(MpPolicy::COMPATIBLE);
        let (log, _) = run_one(&mut v, &frame(&answer));
        assert_eq!(log, vec![Ok(AuthEvent::PeerVerified)]);
        assert_eq!(v.output_buf(), b"\x00\x00\x00\x09#WELCOME#");
    }
}

#[test]
fn modern_mac_covers_the_digest_prefix() {
    let mut v = MpVerifier::new(KEY, ChallengeMode::SHA256, MpPolicy::COMPATIBLE, RANDOM);
    assert_eq!(v.message(), [b"{sha256}".as_slice(), &RANDOM].concat().as_slice());
    let without_prefix = hmac(MacAlgorithm::Sha256, KEY, &[&RANDOM]);
    let (log, _) = run_one(&mut v, &frame(&[b"{sha256}", without_prefix.as_bytes()].concat()));
    assert_eq!(log, vec![Ok(AuthEvent::PeerRejected(RejectReason::WrongMac))]);
}

#[cfg(not(feature = "sha3"))]
#[test]
fn sha3_without_the_feature_is_unsupported() {
    let mut v = legacy_verifier(MpPolicy::COMPATIBLE);
    let (log, _) = run_one(&mut v, &frame(&[b"{sha3_256}".as_slice(), &[0; 32]].concat()));
    assert_eq!(log, vec![Ok(AuthEvent::PeerRejected(RejectReason::UnsupportedDigest))]);
}

// --- the prover's side ------------------------------------------------------------------

#[test]
fn malformed_challenges_are_errors_and_nothing_is_sent() {
    let cases: Vec<(Vec<u8>, AuthError)> = vec![
        (frame(b"#WELCOME#"), AuthError::NotAChallenge),
        (frame(&[b"#CHALLENGE".as_slice(), &[0; 30]].concat()), AuthError::NotAChallenge),
        (challenge(&[0; 19]), AuthError::ChallengeTooShort { len: 19 }),
        // 16 bytes is a legacy *answer* length, never a challenge.
        (challenge(&[0; 16]), AuthError::ChallengeTooShort { len: 16 }),
        (challenge(&[0; 21]), AuthError::UnsupportedDigest),
        (challenge(&[b"{sha512}".as_slice(), &[0; 40]].concat()), AuthError::UnsupportedDigest),
        // The closing brace must be within the first 10 bytes (CPython's find window).
        (challenge(&[b"{sha256xx}".as_slice(), &[0; 40]].concat()), AuthError::UnsupportedDigest),
        (challenge(&[b"{sha256".as_slice(), &[0; 40]].concat()), AuthError::UnsupportedDigest),
    ];
    for (bytes, err) in cases {
        let mut p = MpProver::new(KEY, MpPolicy::COMPATIBLE);
        let (log, _) = run_one(&mut p, &bytes);
        assert_eq!(log, vec![Err(err)], "{bytes:02x?}");
        assert_eq!(p.output_buf(), &[] as &[u8]);
        assert_eq!(p.outcome(), Some(Outcome::Failed(err)));
    }
}

#[test]
fn only_an_exact_welcome_is_acceptance() {
    for (verdict, event) in [
        (frame(b"#WELCOME#"), AuthEvent::Accepted),
        (frame(b"#FAILURE#"), AuthEvent::Refused),
        (frame(b"#WELCOME#\n"), AuthEvent::Refused),
        (frame(b""), AuthEvent::Refused),
    ] {
        let mut p = MpProver::new(KEY, MpPolicy::COMPATIBLE);
        let input = [challenge(&[1; 20]), verdict].concat();
        let mut pipe = input.clone();
        let mut log = Log::new();
        feed(&mut p, &mut pipe, &mut whole(), &mut log);
        assert_eq!(log, vec![Ok(AuthEvent::Answered), Ok(event)]);
        let outcome =
            if event == AuthEvent::Accepted { Outcome::Accepted } else { Outcome::Refused };
        assert_eq!(p.outcome(), Some(outcome));
        // Done: further bytes are the caller's.
        assert_eq!(p.handle_input(b"app data"), Ok(Handled::consumed(0)));
        assert_eq!(p.handle_eof(), Ok(None));
    }
}

// --- early closes -------------------------------------------------------------------------

#[test]
fn seed_short_answer_then_close_says_how_many_bytes_came() {
    let mut v = SeedVerifier::new(KEY, [1; 32]);
    assert_eq!(v.handle_input(&[0; 15]), Ok(Handled::consumed(15)));
    let err = AuthError::UnexpectedEof { awaiting: Awaiting::Answer, received: 15, expected: 16 };
    assert_eq!(v.handle_eof(), Err(err));
    assert_eq!(v.outcome(), Some(Outcome::Failed(err)));
    assert!(err.to_string().contains("15 of 16"), "{err}");
    let mut p = SeedProver::new(KEY);
    p.handle_input(&[0; 10]).unwrap();
    let err =
        AuthError::UnexpectedEof { awaiting: Awaiting::Challenge, received: 10, expected: 32 };
    assert_eq!(p.handle_eof(), Err(err));
    assert_eq!(p.output_buf(), &[] as &[u8]);
}

#[test]
fn seed_takes_exactly_its_bytes() {
    let mut v = SeedVerifier::new(KEY, [1; 32]);
    let answer = hmac(MacAlgorithm::Md5, KEY, &[&[1; 32]]);
    let input = [answer.as_bytes(), b"X"].concat();
    assert_eq!(v.handle_input(&input), Ok(Handled::event(16, AuthEvent::PeerVerified)));
    assert_eq!(v.handle_input(b"X"), Ok(Handled::consumed(0)));
    assert_eq!(v.handle_eof(), Ok(None));
    let mut p = SeedProver::new(KEY);
    assert_eq!(p.handle_input(&[1; 33]), Ok(Handled::event(32, AuthEvent::Answered)));
    assert_eq!(p.output_buf(), answer.as_bytes());
}

#[test]
fn mp_close_before_or_inside_a_frame() {
    let mut p = MpProver::new(KEY, MpPolicy::COMPATIBLE);
    let err = AuthError::UnexpectedEof { awaiting: Awaiting::Challenge, received: 0, expected: 0 };
    assert_eq!(p.handle_eof(), Err(err));

    let mut p = MpProver::new(KEY, MpPolicy::COMPATIBLE);
    let bytes = challenge(&[1; 20]);
    assert_eq!(p.handle_input(&bytes[..10]), Ok(Handled::consumed(10)));
    let err = AuthError::Frame(FrameError::TruncatedPayload { len: 31, missing: 25 });
    assert_eq!(p.handle_eof(), Err(err));

    let mut p = MpProver::new(KEY, MpPolicy::COMPATIBLE);
    run_one(&mut p, &bytes);
    let err = AuthError::UnexpectedEof { awaiting: Awaiting::Verdict, received: 0, expected: 0 };
    assert_eq!(p.handle_eof(), Err(err));

    let mut v = legacy_verifier(MpPolicy::COMPATIBLE);
    let err = AuthError::UnexpectedEof { awaiting: Awaiting::Answer, received: 0, expected: 0 };
    assert_eq!(v.handle_eof(), Err(err));
    assert_eq!(v.output_buf(), &[] as &[u8]);
}

// --- reflection -----------------------------------------------------------------------

fn drain<M: Machine>(m: &mut M) -> Vec<u8> {
    let out = m.output_buf().to_vec();
    m.consume_output(out.len());
    out
}

#[test]
fn reflected_challenge_does_not_authenticate_a_keyless_attacker() {
    for mode in [ChallengeMode::Legacy, ChallengeMode::SHA256] {
        let mut server =
            MpHandshake::new(KEY, Order::ListenerSide, mode, MpPolicy::COMPATIBLE, RANDOM);
        let c1 = drain(&mut server);
        let message = server.message().to_vec();
        let wanted: Vec<Vec<u8>> = MacAlgorithm::ALL
            .iter()
            .map(|&alg| hmac(alg, KEY, &[&message]).as_bytes().to_vec())
            .collect();
        let leaks = |sent: &[u8]| {
            wanted.iter().any(|mac| sent.windows(mac.len()).any(|w| w == mac.as_slice()))
        };

        // 1. Send the challenge straight back: it is no answer.
        let (log, _) = run_one(&mut server, &c1);
        assert!(matches!(log.as_slice(), [Ok(AuthEvent::PeerRejected(_))]), "{log:?}");
        assert!(!server.outcome().unwrap().peer_authenticated());
        assert!(!leaks(&drain(&mut server)));

        // 2. Hand it to the same server on a second connection: that one also delivers
        //    its own challenge first and answers nothing until the attacker proves itself.
        let mut second = MpHandshake::new(
            KEY,
            Order::ListenerSide,
            mode,
            MpPolicy::COMPATIBLE,
            [0x11; MODERN_RANDOM_LEN],
        );
        let c2 = drain(&mut second);
        let (log, _) = run_one(&mut second, &c1);
        assert!(matches!(log.as_slice(), [Ok(AuthEvent::PeerRejected(_))]), "{log:?}");
        let sent = [c2, drain(&mut second)].concat();
        assert!(!leaks(&sent), "the second connection computed the first one's answer");
    }
}

#[test]
fn an_accepting_side_that_answers_first_is_a_reflection_oracle() {
    // Why the accepting side must use `ListenerSide`: with `ClientSide` a keyless attacker
    // gets the server to answer the server's own challenge on a second connection.
    let mut conn_a = MpHandshake::new(
        KEY,
        Order::ClientSide,
        ChallengeMode::Legacy,
        MpPolicy::COMPATIBLE,
        RANDOM,
    );
    run_one(&mut conn_a, &challenge(&[0; 20])); // any challenge: the answer is useless
    drain(&mut conn_a);
    run_one(&mut conn_a, &frame(b"#WELCOME#")); // the attacker "accepts" it
    let c_a = drain(&mut conn_a); // the server's challenge on connection A
    let mut conn_b = MpHandshake::new(
        KEY,
        Order::ClientSide,
        ChallengeMode::Legacy,
        MpPolicy::COMPATIBLE,
        [0x22; MODERN_RANDOM_LEN],
    );
    run_one(&mut conn_b, &c_a); // reflected to connection B
    let answer = drain(&mut conn_b);
    let (log, _) = run_one(&mut conn_a, &answer); // and replayed on A
    assert_eq!(log, vec![Ok(AuthEvent::PeerVerified)]);
    assert_eq!(conn_a.outcome(), Some(Outcome::Authenticated), "the attack works here");
}

// --- randomness, helpers ------------------------------------------------------------------

/// A counting "CSPRNG" for tests only.
struct Counter(u8);

impl TryRng for Counter {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for b in dst {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
        Ok(())
    }
}

impl TryCryptoRng for Counter {}

#[test]
fn rng_constructors_use_the_rng() {
    let expected: Vec<u8> = (1..=40).collect();
    let v = SeedVerifier::with_rng(KEY, &mut Counter(0));
    assert_eq!(v.challenge().as_slice(), &expected[..32]);
    assert_eq!(v.output_buf(), &expected[..32]);
    let v = MpVerifier::with_rng(KEY, ChallengeMode::Legacy, MpPolicy::COMPATIBLE, &mut Counter(0));
    assert_eq!(v.message(), &expected[..20]);
    let h = MpHandshake::with_rng(
        KEY,
        Order::ListenerSide,
        ChallengeMode::SHA256,
        MpPolicy::COMPATIBLE,
        &mut Counter(0),
    );
    assert_eq!(h.message(), [b"{sha256}".as_slice(), &expected].concat().as_slice());
    assert_eq!(h.order(), Order::ListenerSide);
    // ClientSide sends its challenge only after being accepted.
    let h = MpHandshake::with_rng(
        KEY,
        Order::ClientSide,
        ChallengeMode::SHA256,
        MpPolicy::COMPATIBLE,
        &mut Counter(0),
    );
    assert_eq!(h.output_buf(), &[] as &[u8]);
}

#[test]
fn names_match_cpython() {
    let names: Vec<&str> = MacAlgorithm::ALL.iter().map(|a| a.name()).collect();
    let mut expected = vec!["md5", "sha256"];
    if cfg!(feature = "sha384") {
        expected.push("sha384");
    }
    if cfg!(feature = "sha3") {
        expected.extend(["sha3_256", "sha3_384"]);
    }
    assert_eq!(names, expected);
    for &alg in MacAlgorithm::ALL {
        assert_eq!(MacAlgorithm::from_name(alg.name().as_bytes()), Some(alg));
        assert_eq!(hmac(alg, KEY, &[b"x"]).as_bytes().len(), alg.mac_len());
        assert_eq!(format!("{alg}"), alg.name());
    }
    for bad in [&b"SHA256"[..], b"sha512", b"sha-256", b"", b"md5 "] {
        assert_eq!(MacAlgorithm::from_name(bad), None);
    }
}

#[test]
fn hmac_parts_concatenate_and_verify_is_strict() {
    let whole_mac = hmac(MacAlgorithm::Sha256, b"key", &[b"hello world"]);
    let parts_mac = hmac(MacAlgorithm::Sha256, b"key", &[b"hello", b" ", b"world"]);
    assert_eq!(whole_mac.as_bytes(), parts_mac.as_bytes());
    // RFC 4231 test case 2.
    let rfc = hmac(MacAlgorithm::Sha256, b"Jefe", &[b"what do ya want for nothing?"]);
    assert_eq!(
        rfc.as_bytes(),
        [
            0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
            0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
            0x64, 0xec, 0x38, 0x43
        ]
    );
    assert!(verify(
        MacAlgorithm::Sha256,
        b"Jefe",
        &[b"what do ya want for nothing?"],
        rfc.as_bytes()
    ));
    assert!(!verify(
        MacAlgorithm::Sha256,
        b"Jefe",
        &[b"what do ya want for nothing?"],
        &rfc.as_bytes()[..31]
    ));
    let mut flipped = rfc.as_bytes().to_vec();
    flipped[31] ^= 1;
    assert!(!verify(MacAlgorithm::Sha256, b"Jefe", &[b"what do ya want for nothing?"], &flipped));
    // Debug never shows MAC bytes.
    assert_eq!(format!("{rfc:?}"), "Mac(32 bytes)");
}

#[test]
fn digest_split_follows_cpython() {
    assert_eq!(split(&[0; 16]), Ok(Split::Legacy(&[0; 16])));
    assert_eq!(split(&[b'{'; 20]), Ok(Split::Legacy(&[b'{'; 20])));
    assert_eq!(split(b"{sha256}abc"), Ok(Split::Named(MacAlgorithm::Sha256, b"abc")));
    assert_eq!(split(b"{md5}"), Ok(Split::Named(MacAlgorithm::Md5, b"")));
    assert_eq!(split(b"{}abc"), Err(SplitError::Unrecognized));
    assert_eq!(split(b"sha256}abc"), Err(SplitError::Unrecognized));
    assert_eq!(split(b"{sha256abc"), Err(SplitError::Unrecognized));
    // The first '}' counts, even inside what would have been the payload.
    assert_eq!(split(b"{md5}}"), Ok(Split::Named(MacAlgorithm::Md5, b"}")));
    #[cfg(feature = "sha3")]
    assert_eq!(split(b"{sha3_384}x"), Ok(Split::Named(MacAlgorithm::Sha3_384, b"x")));
    #[cfg(not(feature = "sha3"))]
    assert_eq!(split(b"{sha3_384}x"), Err(SplitError::NotCompiled));
    // A 9-character name puts '}' at index 10, outside CPython's window.
    assert_eq!(split(b"{sha3_2566}x"), Err(SplitError::Unrecognized));
}

#[test]
fn errors_and_reasons_say_what_went_wrong() {
    let shown = [
        AuthError::PreAuthOversize { len: 300 }.to_string(),
        AuthError::ChallengeTooShort { len: 19 }.to_string(),
        RejectReason::WrongMacLength { alg: MacAlgorithm::Md5, got: 20 }.to_string(),
        RejectReason::Unrecognized { len: 17 }.to_string(),
        AuthError::Frame(FrameError::Negative { value: -5 }).to_string(),
    ];
    for (text, needle) in
        shown.iter().zip(["300", "19", "16-byte md5 MAC, got 20", "17-byte", "-5"])
    {
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }
    let err: &dyn core::error::Error = &AuthError::Frame(FrameError::Negative { value: -5 });
    assert!(err.source().is_some());
    // An unknown expected length (0, mp) leaves out the "of N".
    let eof =
        |expected| AuthError::UnexpectedEof { awaiting: Awaiting::Answer, received: 3, expected };
    assert_eq!(eof(0).to_string(), "peer closed while we awaited its answer (3 bytes came)");
    assert_eq!(eof(16).to_string(), "peer closed while we awaited its answer (3 of 16 bytes came)");
}

#[test]
fn machine_sizes_stay_small() {
    // Printed with --nocapture; bounds catch an accidental big buffer.
    let sizes = [
        ("SeedVerifier", core::mem::size_of::<SeedVerifier<'_>>()),
        ("SeedProver", core::mem::size_of::<SeedProver<'_>>()),
        ("MpVerifier", core::mem::size_of::<MpVerifier<'_>>()),
        ("MpProver", core::mem::size_of::<MpProver<'_>>()),
        ("MpHandshake", core::mem::size_of::<MpHandshake<'_>>()),
    ];
    std::println!("{sizes:?}");
    for (name, size) in sizes {
        assert!(size <= 1024, "{name} is {size} bytes");
    }
}
