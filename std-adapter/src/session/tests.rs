#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use wirekit_core::auth::RejectReason;

use crate::exit::Exit;
use crate::keys::KeySource;

/// A connected pair of sessions: (accepting, connecting).
pub(crate) fn pair() -> (Session<'static>, Session<'static>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (
        Session::start(server, Duration::from_secs(5)).unwrap(),
        Session::start(client, Duration::from_secs(5)).unwrap(),
    )
}

fn key(text: &str) -> Key {
    crate::keys::load_key(Some(text), None, None).unwrap().unwrap()
}

/// Run both handshakes at once; returns (accepting outcome, connecting outcome).
fn both(accept: (&str, Plan), connect: (&str, Plan)) -> (Result<Outcome>, Result<Outcome>) {
    let (mut a, mut c) = pair();
    let accept_key = key(accept.0);
    let t = thread::spawn(move || a.handshake(&accept_key, accept.1));
    let client = c.handshake(&key(connect.0), connect.1);
    // Close our end first, so a server still waiting on a client that gave up sees EOF now.
    drop(c);
    (t.join().unwrap(), client)
}

#[test]
fn seed_auth_right_and_wrong_key() {
    let (a, c) =
        (Plan::new(Profile::Seed, Side::Accepting), Plan::new(Profile::Seed, Side::Connecting));
    let (server, client) = both(("egg", a), ("egg", c));
    assert_eq!(server.unwrap(), Outcome::Authenticated);
    assert_eq!(client.unwrap(), Outcome::Answered);
    let (server, client) = both(("egg", a), ("spam", c));
    assert_eq!(server.unwrap(), Outcome::PeerRejected(RejectReason::WrongMac));
    // demo4 sends no verdict: the prover cannot know.
    assert_eq!(client.unwrap(), Outcome::Answered);
}

#[test]
fn only_auth_and_mp_tcp_keep_the_shared_key() {
    for profile in [Profile::Seed, Profile::Mp] {
        assert_eq!(Keying::of(profile, None), Keying::Shared);
        for role in [Role::ExecController, Role::ExecAgent, Role::FileSender, Role::FileReceiver] {
            assert_eq!(Keying::of(profile, Some(role)), Keying::Role(role));
        }
    }
    assert_eq!(Keying::of(Profile::Seed, Some(Role::TcpClient)), Keying::Role(Role::TcpClient));
    assert_eq!(Keying::of(Profile::Mp, Some(Role::TcpServer)), Keying::Shared);
}

/// Both ends of every role-keyed exchange, either side listening: (listener, (connector,
/// its role)).
fn role_pairs(profile: Profile) -> Vec<(Plan, (Plan, Option<Role>))> {
    let mut pairs = Vec::new();
    // `tcp --profile mp` keeps the shared key for CPython peers.
    let roles = if profile == Profile::Mp { &Role::ALL[..4] } else { &Role::ALL[..] };
    for &role in roles {
        pairs.push((
            Plan::for_role(profile, Side::Accepting, role),
            (Plan::for_role(profile, Side::Connecting, role.peer()), Some(role.peer())),
        ));
    }
    pairs
}

#[test]
fn role_keyed_exchanges_are_mutual_with_the_right_key_and_fail_on_both_sides_with_a_wrong_one() {
    for profile in [Profile::Seed, Profile::Mp] {
        for (a, (c, _)) in role_pairs(profile) {
            let (server, client) = both(("egg", a), ("egg", c));
            assert_eq!(
                (server.unwrap(), client.unwrap()),
                (Outcome::Authenticated, Outcome::Authenticated),
                "{a:?}"
            );
            let (server, client) = both(("egg", a), ("spam", c));
            assert_eq!(server.unwrap(), Outcome::PeerRejected(RejectReason::WrongMac), "{a:?}");
            // Seed: the listener closes instead of answering; mp: #FAILURE#. Either way the
            // connecting side learns it (a file receiver never takes a file, item 2).
            let refused = match client {
                Ok(outcome) => require_trust(outcome, "p", &KeySource::Arg).unwrap_err(),
                Err(e) => e,
            };
            assert_eq!(refused.exit(), Exit::AuthFailed, "{a:?}: {refused}");
            assert!(refused.to_string().contains("--key"), "{refused}");
        }
    }
}

#[test]
fn a_role_keyed_listener_answers_nothing_before_the_peer_passed() {
    // Regression (h84, h90): a listener that answered first was a signing oracle.
    for (listener_plan, _) in role_pairs(Profile::Seed) {
        let (mut listener, attacker) = pair();
        let t = thread::spawn(move || listener.handshake(&key("egg"), listener_plan));
        let mut challenge = [0u8; 32];
        let stream = attacker.stream().try_clone().unwrap();
        (&stream).read_exact(&mut challenge).unwrap();
        // The attacker sends a wrong answer and its own challenge.
        (&stream).write_all(&[0u8; 48]).unwrap();
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        (&stream).read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "{listener_plan:?} answered an unproven peer");
        assert_eq!(t.join().unwrap().unwrap(), Outcome::PeerRejected(RejectReason::WrongMac));
        drop(attacker);
    }
}

/// Every keyed client (`auth client`, and each role connecting): each answers whatever
/// challenge it is sent.
fn every_keyed_client(profile: Profile) -> Vec<(Option<Role>, Plan)> {
    let mut clients = vec![(None, Plan::new(profile, Side::Connecting))]; // auth client
    for role in Role::ALL {
        clients.push((Some(role), Plan::for_role(profile, Side::Connecting, role)));
    }
    clients
}

#[test]
fn no_keyed_client_of_another_exchange_is_an_oracle_for_a_role_keyed_verifier() {
    // Issue 10 item 1, in process: the attacker connects to a listening verifier (an exec
    // agent, a file receiver...), gets its challenge, has a keyed client of *another*
    // exchange (or the other direction) answer it, and relays the answer.
    for profile in [Profile::Seed, Profile::Mp] {
        for (verifier_plan, rightful) in role_pairs(profile) {
            for (client_role, client_plan) in every_keyed_client(profile) {
                if client_role == rightful.1 {
                    continue; // the rightful peer role: that is not a relay across exchanges
                }
                let outcome = relay(verifier_plan, client_plan);
                assert!(
                    !matches!(&outcome, Ok(o) if o.peer_authenticated()),
                    "{verifier_plan:?} accepted an answer from {client_plan:?}: {outcome:?}"
                );
            }
        }
    }
}

/// The attacker in the middle: bytes from the verifier go to the victim client and back,
/// unchanged, until the verifier's handshake ends; returns the verifier's outcome (an error
/// trusts no one either).
fn relay(verifier_plan: Plan, client_plan: Plan) -> Result<Outcome> {
    let (mut verifier, to_verifier) = pair();
    let (from_client, mut client) = pair();
    let v = thread::spawn(move || verifier.handshake(&key("egg"), verifier_plan));
    let c = thread::spawn(move || client.handshake(&key("egg"), client_plan));
    let pipe = |from: &TcpStream, to: &TcpStream| {
        let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
        thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Write);
        })
    };
    let up = pipe(to_verifier.stream(), from_client.stream());
    let down = pipe(from_client.stream(), to_verifier.stream());
    let outcome = v.join().unwrap();
    drop((to_verifier, from_client));
    let _ = c.join().unwrap();
    let _ = (up.join(), down.join());
    outcome
}

#[test]
fn mp_both_digests_right_and_wrong_key() {
    for digest in [MpDigest::Legacy, MpDigest::Sha256] {
        let a = Plan::new(Profile::Mp, Side::Accepting).with_mp_digest(digest);
        let c = Plan::new(Profile::Mp, Side::Connecting).with_mp_digest(digest);
        let (server, client) = both(("egg", a), ("egg", c));
        assert_eq!(
            (server.unwrap(), client.unwrap()),
            (Outcome::Authenticated, Outcome::Authenticated)
        );
        let (server, client) = both(("egg", a), ("spam", c));
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
    let mut good =
        open(listener.accept().unwrap().0, key.as_ref(), plan, Duration::from_secs(5)).unwrap();
    while good.conn.buffered().len() < 5 {
        good.conn.fill().unwrap();
    }
    assert_eq!(good.conn.buffered(), b"after");
    let err =
        open(listener.accept().unwrap().0, key.as_ref(), plan, Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.exit(), Exit::AuthFailed, "{err}");
    assert!(err.to_string().contains("same key"), "{err}");
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
    let (server, client) = both(("egg", strict), ("egg", py312));
    assert_eq!(server.unwrap(), Outcome::Authenticated);
    assert_eq!(client.unwrap(), Outcome::Authenticated);
    // Python 3.11's client challenges with MD5: the strict server will not answer it.
    let py311 = Plan::new(Profile::Mp, Side::Connecting);
    let (server, _) = both(("egg", strict), ("egg", py311));
    let err = server.unwrap_err();
    assert!(err.to_string().contains("refused by policy"), "{err}");
    // A strict client refuses to answer a legacy (MD5) challenge.
    let legacy_server = Plan::new(Profile::Mp, Side::Accepting);
    let strict_client = Plan::new(Profile::Mp, Side::Connecting).require_sha256();
    let (_, client) = both(("egg", legacy_server), ("egg", strict_client));
    let refused = match client {
        Ok(outcome) => format!("{outcome:?}"),
        Err(err) => err.to_string(),
    };
    assert!(refused.contains("WeakDigest") || refused.contains("refused by policy"), "{refused}");
}

#[test]
fn a_seed_client_names_an_mp_server_instead_of_answering_it() {
    // Issue 12 item 7: `auth client` (seed) against an mp server printed "answered" and
    // exited 0.
    let (mut server, mut client) = pair();
    let t = thread::spawn(move || {
        server.handshake(&key("egg"), Plan::new(Profile::Mp, Side::Accepting))
    });
    let err =
        client.handshake(&key("egg"), Plan::new(Profile::Seed, Side::Connecting)).unwrap_err();
    assert!(err.to_string().contains("--profile mp"), "{err}");
    assert_eq!(err.exit(), Exit::Failure);
    drop(client);
    let _ = t.join().unwrap();
}

#[test]
fn a_keyed_client_names_a_keyless_peer_that_sends_its_traffic_at_once() {
    let (server, mut client) = pair();
    let mut header = 40u32.to_le_bytes().to_vec();
    header.extend_from_slice(br#"{"filename": "a.txt", "filesize": 3}   "#);
    server.stream().try_clone().unwrap().write_all(&header).unwrap();
    let source = KeySource::File("k.key".into());
    let with_file = Key::new("egg", source);
    let plan = Plan::for_role(Profile::Seed, Side::Connecting, Role::FileReceiver);
    let err = client.handshake(&with_file, plan).unwrap_err();
    assert_eq!(err.exit(), Exit::AuthFailed, "{err}");
    assert!(err.to_string().contains("no key") && err.to_string().contains("k.key"), "{err}");
    drop(server);
}

#[test]
fn a_keyed_side_waiting_on_a_silent_peer_suggests_a_key_on_one_side_only() {
    // Issue 12 item 7: `WIREKIT_KEY` on one side only gave a bare `sent nothing for 1 s`.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_silent_server, _) = listener.accept().unwrap();
    let mut client = Session::start(client, Duration::from_secs(1)).unwrap();
    let env_key = Key::new("egg", KeySource::Env);
    let plan = Plan::for_role(Profile::Seed, Side::Connecting, Role::TcpClient);
    let err = client.handshake(&env_key, plan).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("sent nothing for 1 s"), "{text}");
    assert!(text.contains("WIREKIT_KEY") && text.contains("without a key waits for us"), "{text}");
    assert_eq!(err.exit(), Exit::Failure);
}
