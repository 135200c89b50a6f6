//! Hostile-input catalogue (tests/hostile/README.md), rows h60–h79: attacks on the handshake of
//! a real `wirekit auth server --key egg`, seed (demo4) and mp (CPython
//! `multiprocessing.connection`). Recorded answers come from a real `wirekit auth client`. Every
//! row ends with [`Target::finish`] (a good client is still served, memory bounded).

use std::net::{SocketAddr, TcpListener};

use wirekit_core::auth::{hmac, MacAlgorithm};
use wirekit_tests::hostile::{Attack, Kind, Target, ILLEGITIMATE, IO_LIMIT, KEY, LEGIT};
use wirekit_tests::{args, wirekit, Child};

const MP: [&str; 2] = ["--profile", "mp"];
const CHALLENGE: &[u8] = b"#CHALLENGE#";
const WELCOME: &[u8] = b"#WELCOME#";
const FAILURE: &[u8] = b"#FAILURE#";

fn md5(key: &str, msg: &[u8]) -> Vec<u8> {
    hmac(MacAlgorithm::Md5, key.as_bytes(), &[msg]).as_bytes().to_vec()
}

fn seed(row: &str) -> Target {
    Target::start(row, Kind::Auth, &[], &[])
}

fn mp(row: &str) -> Target {
    Target::start(row, Kind::Auth, &MP, &[])
}

/// The mp challenge message (after `#CHALLENGE#`).
fn mp_challenge(a: &mut Attack) -> Vec<u8> {
    let frame = a.read_mp_frame();
    assert!(frame.starts_with(CHALLENGE), "{frame:?}");
    frame[CHALLENGE.len()..].to_vec()
}

/// Seed: take the challenge, send `answer(challenge)`, close; the server judges it
/// illegitimate for `reason`.
fn seed_rejects(row: &str, answer: impl FnOnce(&[u8]) -> Vec<u8>, reason: &str) {
    let t = seed(row);
    let mut a = t.attack();
    let challenge = a.read_n(32);
    a.send(&answer(&challenge));
    let peer = a.local;
    a.finish();
    t.expect_stdout_lines(ILLEGITIMATE, 1);
    assert!(t.server.stdout_now().contains(reason), "{row}: the verdict line gives the reason");
    t.expect_error(peer, reason);
    t.finish(&[], &[]);
}

/// Mp: take the challenge, send one answer frame, get `#FAILURE#`.
fn mp_rejects(row: &str, answer: impl FnOnce(&[u8]) -> Vec<u8>, reason: &str) {
    let t = mp(row);
    let mut a = t.attack();
    let msg = mp_challenge(&mut a);
    a.send_mp_frame(&answer(&msg));
    assert_eq!(a.read_mp_frame(), FAILURE, "{row}");
    let peer = a.local;
    // Nothing after the verdict: the server proves nothing to a peer that failed.
    assert!(a.finish().is_empty(), "{row}");
    t.expect_error(peer, reason);
    t.finish(&[], &[]);
}

/// Mp: send `wire` (no answer at all); the server ends the exchange with an error line.
fn mp_protocol_error(row: &str, wire: &[u8], reason: &str) {
    let t = mp(row);
    let mut a = t.attack();
    let _ = mp_challenge(&mut a);
    a.send(wire);
    let peer = a.local;
    let rest = a.finish();
    assert!(!rest.windows(WELCOME.len()).any(|w| w == WELCOME), "{row}");
    t.expect_error(peer, reason);
    t.finish(&[], &[]);
}

/// A real `wirekit auth client` (right key) answers `challenge_wire` sent by a fake server;
/// returns what it sent back (seed: 16 bytes; mp: the answer frame's payload).
fn record_answer(challenge_wire: &[u8], mp: bool) -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let a = addr.to_string();
    let mut c = vec!["auth", "client", "--connect", &a, "--key", KEY, "--timeout", "5"];
    if mp {
        c.extend(MP);
    }
    let client = Child::spawn(args(wirekit(), c), "recorded client");
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    let local = stream.local_addr().unwrap();
    let mut fake = Attack { stream, local };
    fake.send(challenge_wire);
    let answer = if mp { fake.read_mp_frame() } else { fake.read_n(16) };
    drop(fake);
    let _ = client.wait_output(IO_LIMIT);
    answer
}

#[test]
fn h60_seed_wrong_key() {
    seed_rejects("h60", |c| md5("spam", c), "wrong MAC");
}

#[test]
fn h61_mp_wrong_key() {
    mp_rejects("h61", |m| md5("spam", m), "wrong MAC");
}

#[test]
fn h62_seed_empty_answer() {
    seed_rejects("h62", |_| Vec::new(), "0 of 16 bytes");
}

#[test]
fn h63_mp_empty_answer() {
    mp_rejects("h63", |_| Vec::new(), "unrecognized 0-byte answer");
}

#[test]
fn h64_seed_15_byte_answer() {
    seed_rejects("h64", |c| md5(KEY, c)[..15].to_vec(), "15 of 16 bytes");
}

#[test]
fn h65_seed_17_byte_answer() {
    // 17 bytes whose first 16 are not the MAC: the verifier judges the first 16.
    seed_rejects("h65", |c| [&[0u8][..], &md5(KEY, c)].concat(), "wrong MAC");
}

#[test]
fn h66_mp_15_byte_answer() {
    mp_rejects("h66", |m| md5(KEY, m)[..15].to_vec(), "unrecognized 15-byte answer");
}

#[test]
fn h67_mp_17_byte_answer() {
    mp_rejects("h67", |m| [&md5(KEY, m)[..], &[0u8]].concat(), "unrecognized 17-byte answer");
}

#[test]
fn h68_seed_replay_of_a_recorded_answer() {
    let t = seed("h68");
    // A real client's answer to the challenge of connection 1, relayed: accepted (demo4
    // authenticates the start of a connection, whoever carries the bytes).
    let mut first = t.attack();
    let challenge_a = first.read_n(32);
    let recorded = record_answer(&challenge_a, false);
    first.send(&recorded);
    first.finish();
    t.expect_stdout_lines(LEGIT, 2);
    // The same answer to a new challenge: refused.
    let mut a = t.attack();
    let challenge_b = a.read_n(32);
    assert_ne!(challenge_a, challenge_b, "challenges must be fresh");
    a.send(&recorded);
    let peer = a.local;
    a.finish();
    t.expect_stdout_lines(ILLEGITIMATE, 1);
    t.expect_error(peer, "wrong MAC");
    t.finish(&[], &[]);
}

#[test]
fn h69_mp_replay_of_a_recorded_answer() {
    let t = mp("h69");
    let mut first = t.attack();
    let frame_a = first.read_mp_frame();
    let recorded = record_answer(&wirekit_tests::hostile::mp_prefixed(&frame_a), true);
    // Check the recording: it is the right answer to challenge A.
    first.send_mp_frame(&recorded);
    assert_eq!(first.read_mp_frame(), WELCOME);
    drop(first);
    let mut a = t.attack();
    let frame_b = a.read_mp_frame();
    assert_ne!(frame_a, frame_b, "challenges must be fresh");
    a.send_mp_frame(&recorded);
    assert_eq!(a.read_mp_frame(), FAILURE);
    let peer = a.local;
    a.finish();
    t.expect_error(peer, "wrong MAC");
    t.finish(&[], &[]);
}

#[test]
fn h70_seed_answer_before_challenge() {
    let t = seed("h70");
    let mut a = t.attack();
    a.send(&md5(KEY, &[0u8; 32]));
    let _challenge = a.read_n(32);
    let peer = a.local;
    a.finish();
    t.expect_stdout_lines(ILLEGITIMATE, 1);
    t.expect_error(peer, "wrong MAC");
    t.finish(&[], &[]);
}

#[test]
fn h71_mp_answer_before_challenge() {
    let t = mp("h71");
    let mut a = t.attack();
    a.send_mp_frame(&md5(KEY, &[0u8; 20]));
    let _ = mp_challenge(&mut a);
    assert_eq!(a.read_mp_frame(), FAILURE);
    let peer = a.local;
    a.finish();
    t.expect_error(peer, "wrong MAC");
    t.finish(&[], &[]);
}

#[test]
fn h72_mp_oversize_pre_auth_frame() {
    let mut wire = 257i32.to_be_bytes().to_vec();
    wire.extend_from_slice(&[0u8; 257]);
    mp_protocol_error("h72", &wire, "pre-authentication frame of 257 bytes exceeds 256");
}

#[test]
fn h73_mp_reflection_of_the_servers_own_challenge() {
    let t = mp("h73");
    let mut a = t.attack();
    let frame = a.read_mp_frame();
    // Send the challenge back, as if asking the server to answer it for us.
    a.send_mp_frame(&frame);
    assert_eq!(a.read_mp_frame(), FAILURE);
    let peer = a.local;
    // The server never computed anything over its own challenge for us: nothing follows.
    assert!(a.finish().is_empty());
    t.expect_error(peer, "unrecognized");
    t.finish(&[], &[]);
}

#[test]
fn h74_mp_md5_answer_where_sha256_is_required() {
    // Control: a default server with a {sha256} challenge takes a bare HMAC-MD5 answer (as
    // CPython 3.12 does), so the attack's answer is right in every way but the digest.
    let lax = Target::start(
        "h74-control",
        Kind::Auth,
        &["--profile", "mp", "--mp-digest", "sha256"],
        &[],
    );
    let mut a = lax.attack();
    let msg = mp_challenge(&mut a);
    a.send_mp_frame(&md5(KEY, &msg));
    assert_eq!(a.read_mp_frame(), WELCOME);
    drop(a);
    drop(lax);

    let strict = ["--profile", "mp", "--mp-require-sha256"];
    let t = Target::start("h74", Kind::Auth, &strict, &[]);
    let mut a = t.attack();
    let msg = mp_challenge(&mut a);
    assert!(msg.starts_with(b"{sha256}"), "{msg:?}");
    a.send_mp_frame(&md5(KEY, &msg));
    assert_eq!(a.read_mp_frame(), FAILURE);
    let peer = a.local;
    assert!(a.finish().is_empty());
    t.expect_error(peer, "MD5 answer refused by policy");
    t.finish(&[], &[]);
}

#[test]
fn h75_mp_md5_prefixed_answer_where_sha256_is_required() {
    let strict = ["--profile", "mp", "--mp-require-sha256"];
    let t = Target::start("h75", Kind::Auth, &strict, &[]);
    let mut a = t.attack();
    let msg = mp_challenge(&mut a);
    a.send_mp_frame(&[&b"{md5}"[..], &md5(KEY, &msg)].concat());
    assert_eq!(a.read_mp_frame(), FAILURE);
    let peer = a.local;
    a.finish();
    t.expect_error(peer, "MD5 answer refused by policy");
    t.finish(&[], &[]);
}

#[test]
fn h76_seed_reflection_of_the_servers_own_challenge() {
    seed_rejects("h76", |c| c.to_vec(), "wrong MAC");
}

#[test]
fn h77_mp_minus_one_marker_with_an_absurd_u64_pre_auth() {
    let mut wire = (-1i32).to_be_bytes().to_vec();
    wire.extend_from_slice(&u64::MAX.to_be_bytes());
    mp_protocol_error("h77", &wire, "exceeds 256");
}

#[test]
fn h78_mp_http_probe() {
    // A port scanner's HTTP request: "GET " read as a length is about 1.2 GB.
    mp_protocol_error("h78", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "exceeds 256");
}

#[test]
fn h79_mp_negative_pre_auth_length() {
    mp_protocol_error("h79", &(-5i32).to_be_bytes(), "negative");
}
