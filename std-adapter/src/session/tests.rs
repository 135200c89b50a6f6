#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use wirekit_core::auth::RejectReason;

use crate::exit::Exit;

/// A connected pair of sessions: (accepting, connecting).
pub(crate) fn pair() -> (Session, Session) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (Session::start(server, 5).unwrap(), Session::start(client, 5).unwrap())
}

/// Run both handshakes at once; returns (accepting outcome, connecting outcome).
fn both(
    accept: (&'static [u8], Plan),
    connect: (&'static [u8], Plan),
) -> (Result<Outcome>, Result<Outcome>) {
    let (mut a, mut c) = pair();
    let t = thread::spawn(move || a.handshake(accept.0, accept.1));
    let client = c.handshake(connect.0, connect.1);
    // Close our end first, so a server still waiting on a client that gave up sees EOF now.
    drop(c);
    (t.join().unwrap(), client)
}

#[test]
fn seed_right_and_wrong_key() {
    let (a, c) =
        (Plan::new(Profile::Seed, Side::Accepting), Plan::new(Profile::Seed, Side::Connecting));
    let (server, client) = both((b"egg", a), (b"egg", c));
    assert_eq!(server.unwrap(), Outcome::Authenticated);
    assert_eq!(client.unwrap(), Outcome::Answered);
    let (server, client) = both((b"egg", a), (b"spam", c));
    assert_eq!(server.unwrap(), Outcome::PeerRejected(RejectReason::WrongMac));
    // The seed sends no verdict: the prover cannot know.
    assert_eq!(client.unwrap(), Outcome::Answered);
}

#[test]
fn exec_plan_makes_the_connecting_side_the_seed_verifier() {
    let a = Plan::new(Profile::Seed, Side::Accepting).verifier_connects();
    let c = Plan::new(Profile::Seed, Side::Connecting).verifier_connects();
    assert!(!a.seed_verifies() && c.seed_verifies());
    let (controller, agent) = both((b"spam", a), (b"egg", c));
    assert_eq!(controller.unwrap(), Outcome::Answered);
    assert_eq!(agent.unwrap(), Outcome::PeerRejected(RejectReason::WrongMac));
}

#[test]
fn mp_both_digests_right_and_wrong_key() {
    for digest in [MpDigest::Legacy, MpDigest::Sha256] {
        let a = Plan::new(Profile::Mp, Side::Accepting).with_mp_digest(digest);
        let c = Plan::new(Profile::Mp, Side::Connecting).with_mp_digest(digest);
        let (server, client) = both((b"egg", a), (b"egg", c));
        assert_eq!(
            (server.unwrap(), client.unwrap()),
            (Outcome::Authenticated, Outcome::Authenticated)
        );
        let (server, client) = both((b"egg", a), (b"spam", c));
        assert_eq!(server.unwrap(), Outcome::PeerRejected(RejectReason::WrongMac), "{digest:?}");
        assert_eq!(client.unwrap(), Outcome::Refused, "{digest:?}");
    }
}

#[test]
fn open_with_a_wrong_key_is_exit_5_and_a_right_one_keeps_the_bytes_behind_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut challenge = [0u8; 32];
        s.read_exact(&mut challenge).unwrap();
        let mac =
            wirekit_core::auth::hmac(wirekit_core::auth::MacAlgorithm::Md5, b"egg", &[&challenge]);
        let mut out = mac.as_bytes().to_vec();
        out.extend_from_slice(b"after");
        s.write_all(&out).unwrap();
        // A second connection with a wrong key.
        let mut s = TcpStream::connect(addr).unwrap();
        s.read_exact(&mut challenge).unwrap();
        s.write_all(&[0u8; 16]).unwrap();
    });
    let key = crate::keys::load_key(Some("egg"), None, None).unwrap();
    let plan = Plan::new(Profile::Seed, Side::Accepting);
    let mut good = open(listener.accept().unwrap().0, key.as_ref(), plan, 5).unwrap();
    while good.conn.buffered().len() < 5 {
        good.conn.fill().unwrap();
    }
    assert_eq!(good.conn.buffered(), b"after");
    let err = open(listener.accept().unwrap().0, key.as_ref(), plan, 5).unwrap_err();
    assert_eq!(err.exit(), Exit::AuthFailed, "{err}");
    assert!(err.to_string().contains("same --key"), "{err}");
    client.join().unwrap();
}

#[test]
fn require_sha256_rejects_an_md5_answer_that_the_default_accepts() {
    // `--mp-require-sha256` on a server: a {sha256} challenge, and the strict policy (the
    // raw-socket MD5 answer is tests/tests/hostile_auth.rs, h74).
    let strict = Plan::new(Profile::Mp, Side::Accepting).require_sha256();
    assert_eq!(strict.mp_digest, MpDigest::Sha256);
    // A compatible client (Python 3.12's defaults) answers {sha256} with SHA-256 and is fine.
    let py312 = Plan::new(Profile::Mp, Side::Connecting).with_mp_digest(MpDigest::Sha256);
    let (server, client) = both((b"egg", strict), (b"egg", py312));
    assert_eq!(server.unwrap(), Outcome::Authenticated);
    assert_eq!(client.unwrap(), Outcome::Authenticated);
    // Python 3.11's client challenges with MD5: the strict server will not answer it.
    let py311 = Plan::new(Profile::Mp, Side::Connecting);
    let (server, _) = both((b"egg", strict), (b"egg", py311));
    let err = server.unwrap_err();
    assert!(err.to_string().contains("refused by policy"), "{err}");
    // A strict client refuses to answer a legacy (MD5) challenge.
    let legacy_server = Plan::new(Profile::Mp, Side::Accepting);
    let strict_client = Plan::new(Profile::Mp, Side::Connecting).require_sha256();
    let (_, client) = both((b"egg", legacy_server), (b"egg", strict_client));
    let refused = match client {
        Ok(outcome) => format!("{outcome:?}"),
        Err(err) => err.to_string(),
    };
    assert!(refused.contains("WeakDigest") || refused.contains("refused by policy"), "{refused}");
}

#[test]
fn the_exec_seed_handshake_uses_a_key_of_its_own() {
    // Regression (hostile catalogue h84): a listening exec controller answered challenges with
    // the raw key, so anyone could use it to pass any other seed verifier with that key.
    let (mut controller, mut attacker) = pair();
    let controller_plan = Plan::new(Profile::Seed, Side::Accepting).verifier_connects();
    let t = thread::spawn(move || controller.handshake(b"egg", controller_plan));
    let mut plain_verifier = SeedVerifier::new(b"egg", [7u8; 32]);
    let outcome = attacker.conn.authenticate(&mut plain_verifier).unwrap();
    assert_eq!(outcome, Outcome::PeerRejected(RejectReason::WrongMac));
    drop(attacker);
    let _ = t.join().unwrap();
    // The two exec ends still agree.
    let agent_plan = Plan::new(Profile::Seed, Side::Connecting).verifier_connects();
    let (controller, agent) = both((b"egg", controller_plan), (b"egg", agent_plan));
    assert_eq!(controller.unwrap(), Outcome::Answered);
    assert_eq!(agent.unwrap(), Outcome::Authenticated);
}
