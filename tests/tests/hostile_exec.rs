//! Hostile-input catalogue (tests/hostile/README.md), rows h84–h89 and h94: remote commands.
//! A hostile "agent" against a real `wirekit exec controller` (rows end with
//! [`Target::finish`]), and a hostile "controller" against a real `wirekit exec agent`, which
//! must run nothing for it (or, h94, run exactly what it was sent).

use std::net::TcpListener;
use std::time::Duration;

use wirekit_core::auth::{hmac, MacAlgorithm};
use wirekit_tests::hostile::{listing, mp_prefixed, Attack, Kind, Target, EXEC_MARK, IO_LIMIT};
use wirekit_tests::{args, wirekit, Child};

/// The controller sends its command (`echo hostile-ok`, raw, one send); read it.
fn take_command(a: &mut Attack) {
    let command = format!("echo {EXEC_MARK}");
    assert_eq!(a.read_n(command.len()), command.as_bytes());
}

fn reply_refused(row: &str, prefix: &[u8], needle: &str) {
    let t = Target::start(row, Kind::ExecController, &[], &[]);
    let mut a = t.attack();
    take_command(&mut a);
    a.send(prefix);
    a.send(&[b'x'; 64]);
    let peer = a.local;
    a.finish();
    t.expect_error(peer, needle);
    t.finish(&[], &[]);
}

#[test]
fn h84_a_keyed_seed_exec_controller_is_no_oracle_for_other_verifiers() {
    // Under seed the exec controller listens. It used to *answer* challenges (the agent
    // verified it), so anyone could make it compute an answer for another seed verifier with
    // the same key (here `auth server`). Now the listener challenges first, answers only a peer
    // that passed, and with its own role key: the attacker gets nothing to relay.
    let auth = Target::start("h84-auth", Kind::Auth, &[], &[]);
    let controller = Target::start("h84", Kind::ExecController, &["--key", "egg"], &[]);
    let mut victim = auth.attack();
    let challenge = victim.read_n(32);
    let mut oracle = controller.attack();
    let controllers_challenge = oracle.read_n(32);
    assert_ne!(controllers_challenge, challenge);
    // Hand it the auth server's challenge as if it were our answer and challenge.
    oracle.send(&challenge).send(&[0u8; 16]);
    let peer = oracle.local;
    // No answer, and no command text, reaches a peer that has not proved the key.
    assert!(oracle.finish().is_empty());
    controller.expect_error(peer, "wrong MAC");
    let victim_peer = victim.local;
    victim.finish();
    auth.expect_stdout_lines(wirekit_tests::hostile::ILLEGITIMATE, 1);
    auth.expect_error(victim_peer, "peer closed while we awaited its answer");
    controller.finish(&[], &[]);
    auth.finish(&[], &[]);
}

#[test]
fn h85_exec_reply_length_i32_max() {
    reply_refused("h85", &i32::MAX.to_le_bytes(), "exceeds");
}

#[test]
fn h86_exec_reply_negative_length() {
    reply_refused("h86", &(-1i32).to_le_bytes(), "negative");
}

#[test]
fn h87_exec_controller_mp_wrong_key_gets_no_command() {
    let t = Target::start("h87", Kind::ExecController, &["--profile", "mp", "--key", "egg"], &[]);
    let mut a = t.attack();
    let frame = a.read_mp_frame();
    let msg = frame.strip_prefix(b"#CHALLENGE#".as_slice()).unwrap().to_vec();
    a.send_mp_frame(hmac(MacAlgorithm::Md5, b"spam", &[&msg]).as_bytes());
    assert_eq!(a.read_mp_frame(), b"#FAILURE#");
    let peer = a.local;
    // No command text reaches a peer that failed the handshake.
    assert!(a.finish().is_empty());
    t.expect_error(peer, "wrong MAC");
    t.finish(&[], &[]);
}

/// Start `wirekit exec agent ARGS --connect <fake controller>` in a fresh working directory;
/// returns the agent, the accepted connection and the directory.
fn agent_against_fake(extra: &[&str]) -> (Child, Attack, tempfile::TempDir) {
    let cwd = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = listener.local_addr().unwrap().to_string();
    let mut c = vec!["exec", "agent", "--connect", &a, "--timeout", "5"];
    c.extend_from_slice(extra);
    let mut cmd = args(wirekit(), c);
    cmd.current_dir(cwd.path());
    let agent = Child::spawn(cmd, "wirekit exec agent");
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    let local = stream.local_addr().unwrap();
    (agent, Attack { stream, local }, cwd)
}

#[test]
fn h88_exec_agent_runs_nothing_for_a_controller_without_the_key() {
    let (agent, mut fake, cwd) = agent_against_fake(&["--key", "egg"]);
    // The fake controller (the accepting side) sends commands instead of a challenge: the
    // agent takes their first 32 bytes as the challenge, answers with its role key and
    // challenges back; more commands in place of the answer are a wrong MAC.
    fake.send(b"touch pwned-1234touch pwned-5678");
    assert_eq!(fake.read_n(16 + 32).len(), 48);
    fake.send(b"touch pwned-9012");
    let out = agent.wait_output(IO_LIMIT);
    assert_eq!(out.code(), 5, "{out}");
    assert!(
        out.stderr.contains("authentication with") && out.stderr.contains("wrong MAC"),
        "{out}"
    );
    assert!(listing(cwd.path()).is_empty(), "the agent ran something: {:?}", listing(cwd.path()));
    assert!(fake.drain().is_empty(), "the agent sent more than its answer and challenge");
}

#[test]
fn h89_exec_agent_mp_oversize_pre_auth_frame() {
    let (agent, mut fake, cwd) = agent_against_fake(&["--key", "egg", "--profile", "mp"]);
    // As the accepting side the fake controller challenges first: with 2^31-1 bytes.
    fake.send(&i32::MAX.to_be_bytes());
    fake.send(&mp_prefixed(b"#CHALLENGE#"));
    let out = agent.wait_output(Duration::from_secs(10));
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stderr.contains("exceeds 256"), "{out}");
    assert_eq!(out.stderr.lines().filter(|l| l.starts_with("wirekit:")).count(), 1, "{out}");
    assert!(listing(cwd.path()).is_empty());
}

#[test]
fn h94_exec_agent_mp_runs_a_command_split_across_segments_whole() {
    // Issue 10 item 3: a command in two TCP segments 200 ms apart ran as two commands.
    let (agent, mut fake, cwd) = agent_against_fake(&["--insecure", "--profile", "mp"]);
    fake.stream.set_nodelay(true).unwrap();
    let frame = mp_prefixed(b"mkdir cache; mkdir DATA; touch DATA/cache-only");
    fake.send(&frame[..4 + 20]);
    std::thread::sleep(Duration::from_millis(200));
    fake.send(&frame[4 + 20..]);
    assert_eq!(fake.read_n(4), 0u32.to_be_bytes());
    fake.send(&mp_prefixed(b"q"));
    let out = agent.wait_output(IO_LIMIT);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(listing(cwd.path()), ["DATA", "cache"]);
    assert_eq!(listing(&cwd.path().join("DATA")), ["cache-only"]);
    assert_eq!(out.stderr.matches("ran ").count(), 1, "{out}");
}
