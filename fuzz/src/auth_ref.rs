//! A plain reading of the handshakes (docs/protocol.md §1 demo4 and §2), to check the auth machines
//! against: what each half must send, consume and conclude for a given peer stream.

use arbitrary::Unstructured;
use wirekit_core::auth::{AuthError, AuthEvent, Awaiting, ChallengeMode, MacAlgorithm, MpPolicy};
use wirekit_core::frame::{FrameConfig, FrameError};

use crate::mac::{hmac, valid_mp_answers};
use crate::{mp_frame, ref_frames, RefEnd};

/// The example key of the seed (`egg`): the seed corpus carries right answers for it.
pub const EGG: &[u8] = b"egg";
/// A key that appears in no seed file, for the "the fuzzer cannot forge a MAC" runs.
pub const SECRET: &[u8] = b"\x9b\x1f\x07wirekit fuzz secret key, never in any input\x00\xfe";
/// The key of the mp vectors in core/tests/vectors/auth_vectors.txt.
pub const MP_VECTOR_KEY: &[u8] = b"wirekit key";

/// Pick a key from two bits.
pub fn key(bits: u8) -> &'static [u8] {
    match bits & 3 {
        0 => EGG,
        1 => MP_VECTOR_KEY,
        _ => SECRET,
    }
}

/// A challenge mode from three bits.
pub fn mode(bits: u8) -> ChallengeMode {
    match bits % 6 {
        0 => ChallengeMode::Legacy,
        1 => ChallengeMode::Modern(MacAlgorithm::Md5),
        2 => ChallengeMode::SHA256,
        3 => ChallengeMode::Modern(MacAlgorithm::Sha384),
        4 => ChallengeMode::Modern(MacAlgorithm::Sha3_256),
        _ => ChallengeMode::Modern(MacAlgorithm::Sha3_384),
    }
}

/// 40 random bytes from the input.
pub fn random(u: &mut Unstructured<'_>) -> [u8; 40] {
    let mut r = [0u8; 40];
    for b in r.iter_mut() {
        *b = u.arbitrary().unwrap_or(0);
    }
    r
}

/// The challenge message a verifier sends in `mode` with `random`.
pub fn message(mode: ChallengeMode, random: &[u8; 40]) -> Vec<u8> {
    match mode {
        ChallengeMode::Legacy => random[..20].to_vec(),
        ChallengeMode::Modern(alg) => {
            let mut m = format!("{{{}}}", alg.name()).into_bytes();
            m.extend_from_slice(random);
            m
        }
    }
}

/// Events, with rejection reasons left out (the reference does not model them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ev {
    /// `Answered`.
    Answered,
    /// `PeerVerified`.
    Verified,
    /// `PeerRejected(_)`.
    Rejected,
    /// `Accepted`.
    Accepted,
    /// `Refused`.
    Refused,
}

/// Drop the rejection reason.
pub fn ev(e: AuthEvent) -> Ev {
    match e {
        AuthEvent::Answered => Ev::Answered,
        AuthEvent::PeerVerified => Ev::Verified,
        AuthEvent::PeerRejected(_) => Ev::Rejected,
        AuthEvent::Accepted => Ev::Accepted,
        AuthEvent::Refused => Ev::Refused,
    }
}

/// What one half (or a whole handshake) does with a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Half {
    /// Events in order.
    pub events: Vec<Ev>,
    /// Bytes sent, in order.
    pub sent: Vec<u8>,
    /// Stream offset after the last byte consumed.
    pub end: usize,
    /// `Ok(true)`: verified / accepted; `Ok(false)`: rejected / refused; `Err`: failed.
    pub result: Result<bool, AuthError>,
}

/// The next pre-auth frame (`!i`, at most 256 bytes) at `at`.
pub fn pre_auth_frame(
    stream: &[u8],
    at: usize,
    awaiting: Awaiting,
) -> Result<(Vec<u8>, usize), AuthError> {
    let cfg = FrameConfig::mp().with_max_frame_len(256);
    let (frames, end) = ref_frames(&cfg, &stream[at..]);
    if let Some(f) = frames.into_iter().next() {
        return Ok((f.payload, at + f.end));
    }
    Err(match end {
        RefEnd::Clean => AuthError::UnexpectedEof { awaiting, received: 0, expected: 0 },
        RefEnd::Error(FrameError::Oversize { len, .. }) => AuthError::PreAuthOversize { len },
        RefEnd::Error(err) => AuthError::Frame(err),
    })
}

/// `deliver_challenge`: send `#CHALLENGE#` + message, judge the answer frame at `at`.
/// `send_challenge` is false when the challenge is already out.
pub fn deliver(key: &[u8], message: &[u8], policy: MpPolicy, stream: &[u8], at: usize) -> Half {
    let mut challenge = b"#CHALLENGE#".to_vec();
    challenge.extend_from_slice(message);
    let mut sent = mp_frame(&challenge);
    match pre_auth_frame(stream, at, Awaiting::Answer) {
        Err(err) => Half { events: vec![], sent, end: at, result: Err(err) },
        Ok((answer, end)) => {
            let ok = valid_mp_answers(key, message, policy.allow_md5).contains(&answer);
            sent.extend(mp_frame(if ok { b"#WELCOME#" } else { b"#FAILURE#" }));
            let events = vec![if ok { Ev::Verified } else { Ev::Rejected }];
            Half { events, sent, end, result: Ok(ok) }
        }
    }
}

/// CPython 3.12's `answer_challenge` reply to a challenge frame, with the MD5 policy.
pub fn answer_for(key: &[u8], frame: &[u8], policy: MpPolicy) -> Result<Vec<u8>, AuthError> {
    let message = frame.strip_prefix(b"#CHALLENGE#").ok_or(AuthError::NotAChallenge)?;
    if message.len() < 20 {
        return Err(AuthError::ChallengeTooShort { len: message.len() });
    }
    let name: &str = if message.len() == 20 {
        "md5"
    } else {
        // `{name}` with the brace at index 1..=9.
        let close = message.iter().take(10).skip(1).position(|&b| b == b'}');
        let name = match (message[0], close) {
            (b'{', Some(i)) => &message[1..1 + i],
            _ => return Err(AuthError::UnsupportedDigest),
        };
        match crate::mac::NAMES.iter().find(|n| n.as_bytes() == name) {
            Some(n) => n,
            None => return Err(AuthError::UnsupportedDigest),
        }
    };
    if name == "md5" && !policy.allow_md5 {
        return Err(AuthError::WeakDigest);
    }
    let tag = hmac(name, key, message).expect("allowed name");
    if message.len() == 20 {
        Ok(tag)
    } else {
        let mut v = format!("{{{name}}}").into_bytes();
        v.extend_from_slice(&tag);
        Ok(v)
    }
}

/// `answer_challenge`: answer the challenge frame at `at`, then read the verdict frame.
pub fn answer(key: &[u8], policy: MpPolicy, stream: &[u8], at: usize) -> Half {
    let fail = |events, sent, end, err| Half { events, sent, end, result: Err(err) };
    let (frame, end) = match pre_auth_frame(stream, at, Awaiting::Challenge) {
        Ok(x) => x,
        Err(err) => return fail(vec![], vec![], at, err),
    };
    let reply = match answer_for(key, &frame, policy) {
        Ok(r) => r,
        Err(err) => return fail(vec![], vec![], end, err),
    };
    let sent = mp_frame(&reply);
    let (verdict, end) = match pre_auth_frame(stream, end, Awaiting::Verdict) {
        Ok(x) => x,
        Err(err) => return fail(vec![Ev::Answered], sent, end, err),
    };
    let ok = verdict == b"#WELCOME#";
    let events = vec![Ev::Answered, if ok { Ev::Accepted } else { Ev::Refused }];
    Half { events, sent, end, result: Ok(ok) }
}

/// The seed verifier: 32-byte challenge out, 16-byte HMAC-MD5 in.
pub fn seed_verifier(key: &[u8], challenge: &[u8; 32], stream: &[u8]) -> Half {
    let sent = challenge.to_vec();
    if stream.len() < 16 {
        let err = AuthError::UnexpectedEof {
            awaiting: Awaiting::Answer,
            received: stream.len(),
            expected: 16,
        };
        return Half { events: vec![], sent, end: stream.len(), result: Err(err) };
    }
    let ok = stream[..16] == hmac("md5", key, challenge).expect("md5")[..];
    Half {
        events: vec![if ok { Ev::Verified } else { Ev::Rejected }],
        sent,
        end: 16,
        result: Ok(ok),
    }
}

/// The seed prover: 32-byte challenge in, 16-byte HMAC-MD5 out.
pub fn seed_prover(key: &[u8], stream: &[u8]) -> Half {
    if stream.len() < 32 {
        let err = AuthError::UnexpectedEof {
            awaiting: Awaiting::Challenge,
            received: stream.len(),
            expected: 32,
        };
        return Half { events: vec![], sent: vec![], end: stream.len(), result: Err(err) };
    }
    let sent = hmac("md5", key, &stream[..32]).expect("md5");
    Half { events: vec![Ev::Answered], sent, end: 32, result: Ok(true) }
}

/// Whether `consumed` (what a verifier took from the peer) holds, as a whole mp frame, one of
/// the answers that prove the key for `message`. The direct form of "never verified without
/// the right MAC", independent of the reference composition.
pub fn consumed_has_valid_mp_answer(
    key: &[u8],
    message: &[u8],
    allow_md5: bool,
    consumed: &[u8],
) -> bool {
    let valid = valid_mp_answers(key, message, allow_md5);
    let cfg = FrameConfig::mp().with_max_frame_len(256);
    let (frames, _) = ref_frames(&cfg, consumed);
    frames.iter().any(|f| valid.contains(&f.payload))
}
