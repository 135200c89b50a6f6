//! Hostile-input catalogue (tests/hostile/README.md), rows h90–h93: the signing oracle of
//! issue 10 (a keyed client of one exchange answering a challenge relayed from a verifier of
//! another) and keyed peers that must verify before they act (item 2).

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::thread;
use std::time::Duration;

use wirekit_tests::hostile::{listing, upload, Attack, IO_LIMIT, KEY};
use wirekit_tests::{args, wirekit, Child};

/// `wirekit exec agent --listen --key egg ARGS` in a fresh working directory.
fn listening_agent(extra: &[&str]) -> (Child, SocketAddr, tempfile::TempDir) {
    let cwd = tempfile::tempdir().unwrap();
    let mut a = vec!["exec", "agent", "--listen", "127.0.0.1:0", "--key", KEY, "--timeout", "5"];
    a.extend_from_slice(extra);
    let mut cmd = args(wirekit(), a);
    cmd.current_dir(cwd.path());
    let (agent, addr) = Child::server(cmd, "wirekit exec agent --listen");
    (agent, addr, cwd)
}

/// Start the keyed client `wirekit ARGS --connect <attacker> --key egg` and accept its
/// connection on the attacker's side.
fn victim(a: &[&str]) -> (Child, Attack) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = listener.local_addr().unwrap().to_string();
    let mut all = a.to_vec();
    all.extend_from_slice(&["--connect", &at, "--key", KEY, "--timeout", "5"]);
    let child = Child::spawn(args(wirekit(), &all), &format!("victim wirekit {}", a.join(" ")));
    let (stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    let local = stream.local_addr().unwrap();
    (child, Attack { stream, local })
}

/// Every keyed seed client of another exchange than exec (each answers whatever challenge it
/// is sent).
fn seed_victims(files: &Path) -> Vec<Vec<String>> {
    let path = files.join("victim.txt");
    std::fs::write(&path, b"victim").unwrap();
    let recv_dir = files.join("recv");
    std::fs::create_dir_all(&recv_dir).unwrap();
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        s(&["auth", "client"]),
        s(&["tcp", "client"]),
        s(&["file", "recv", "--dir", recv_dir.to_str().unwrap()]),
        s(&["file", "send", path.to_str().unwrap()]),
    ]
}

/// The agent still runs commands for the rightful controller.
fn rightful_controller_is_served(agent_addr: SocketAddr, extra: &[&str]) {
    let a = agent_addr.to_string();
    let mut c = vec!["exec", "controller", "--connect", &a, "--key", KEY, "-c", "echo rightful"];
    c.extend_from_slice(extra);
    let out = Child::spawn(args(wirekit(), c), "rightful controller").wait_output(IO_LIMIT);
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("rightful"), "{out}");
}

#[test]
fn h90_seed_agent_challenge_relayed_through_keyed_clients_of_other_exchanges_runs_nothing() {
    let (agent, agent_addr, cwd) = listening_agent(&[]);
    let files = tempfile::tempdir().unwrap();
    for (i, victim_args) in seed_victims(files.path()).iter().enumerate() {
        let refs: Vec<&str> = victim_args.iter().map(String::as_str).collect();
        let mut to_agent = Attack::connect(agent_addr);
        let challenge = to_agent.read_n(32);
        let (victim_child, mut to_victim) = victim(&refs);
        to_victim.send(&challenge);
        let answer = to_victim.read_n(16);
        to_agent.send(&answer);
        // What a one-way agent that trusted the relayed answer would run.
        thread::sleep(Duration::from_millis(100));
        to_agent.send(format!("touch pwned-{i}").as_bytes());
        let peer = to_agent.local;
        to_agent.finish();
        let line = format!("wirekit: authentication with {peer} failed");
        assert!(
            agent.wait_until(IO_LIMIT, |_, err| err.contains(&line) && err.contains("wrong MAC")),
            "{refs:?}: {}",
            agent.stderr_now()
        );
        drop((victim_child, to_victim));
    }
    assert!(listing(cwd.path()).is_empty(), "the agent ran: {:?}", listing(cwd.path()));
    rightful_controller_is_served(agent_addr, &[]);
}

#[test]
fn h91_mp_agent_challenge_relayed_through_an_mp_auth_or_tcp_client_gets_failure() {
    let (agent, agent_addr, cwd) = listening_agent(&["--profile", "mp"]);
    for victim_args in [["auth", "client", "--profile", "mp"], ["tcp", "client", "--profile", "mp"]]
    {
        let mut to_agent = Attack::connect(agent_addr);
        let challenge = to_agent.read_mp_frame();
        assert!(challenge.starts_with(b"#CHALLENGE#"));
        // We play the victim's Listener: its challenge is the agent's.
        let (victim_child, mut to_victim) = victim(&victim_args);
        to_victim.send_mp_frame(&challenge);
        let answer = to_victim.read_mp_frame();
        to_agent.send_mp_frame(&answer);
        // A CPython-keyed answer (the shared key) never passes the agent's role-key check.
        assert_eq!(to_agent.read_mp_frame(), b"#FAILURE#", "{victim_args:?}");
        to_agent.send(b"touch pwned");
        let peer = to_agent.local;
        assert!(to_agent.finish().is_empty());
        let line = format!("wirekit: authentication with {peer} failed");
        assert!(agent.wait_until(IO_LIMIT, |_, err| err.contains(&line)), "{}", agent.stderr_now());
        drop((victim_child, to_victim));
    }
    assert!(listing(cwd.path()).is_empty(), "the agent ran: {:?}", listing(cwd.path()));
    rightful_controller_is_served(agent_addr, &["--profile", "mp"]);
}

#[test]
fn h92_keyed_file_recv_saves_nothing_from_a_sender_without_the_key() {
    // Issue 10 item 2: 32 random bytes as a "challenge", the answer ignored, a file pushed.
    let dir = tempfile::tempdir().unwrap();
    let (receiver, mut fake) = victim(&["file", "recv", "--dir", dir.path().to_str().unwrap()]);
    let mut bytes = [0x5au8; 32].to_vec();
    bytes.extend_from_slice(&upload("pushed.txt", 5, b"owned"));
    fake.send(&bytes);
    let out = receiver.wait_output(IO_LIMIT);
    assert_eq!(out.code(), 5, "{out}");
    assert!(out.stderr.contains("wrong MAC"), "{out}");
    assert!(listing(dir.path()).is_empty(), "saved {:?}", listing(dir.path()));
}

#[test]
fn h93_keyed_file_send_sends_nothing_to_a_receiver_without_the_key() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("secret.txt");
    std::fs::write(&path, b"not for strangers").unwrap();
    let (sender, mut fake) = victim(&["file", "send", path.to_str().unwrap()]);
    fake.send(&[0x5a; 32]);
    // The sender answers and challenges back (16 + 32 bytes), then waits for our answer.
    assert_eq!(fake.read_n(48).len(), 48);
    fake.send(&[0u8; 16]);
    let rest = fake.drain();
    let out = sender.wait_output(IO_LIMIT);
    assert_eq!(out.code(), 5, "{out}");
    assert!(rest.is_empty(), "the sender sent {} more bytes (its header?)", rest.len());
}
