#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use crate::session::Session;

fn sessions() -> (Session<'static>, Session<'static>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (
        Session::start(server, Duration::from_secs(5)).unwrap(),
        Session::start(client, Duration::from_secs(5)).unwrap(),
    )
}

fn limits(max_output: usize) -> RunLimits {
    RunLimits { timeout: Duration::from_secs(5), max_output }
}

fn run_pair(wire: ExecWire, commands: &[&str], max_output: usize) -> (Vec<Exchange>, Vec<Ran>) {
    let (controller, agent) = sessions();
    let agent =
        thread::spawn(move || serve_agent(agent, wire, limits(max_output), |_| {}).unwrap());
    let mut commands = commands.iter().map(|c| c.to_string()).collect::<Vec<_>>().into_iter();
    let exchanges = control(controller, wire, || Ok(commands.next()), |_| {}).unwrap();
    (exchanges, agent.join().unwrap())
}

#[cfg(unix)]
#[test]
fn framed_replies_match_their_commands_in_gbk_and_utf8() {
    for encoding in [TextEncoding::Gbk, TextEncoding::Utf8] {
        for profile in [Profile::Seed, Profile::Mp] {
            let wire = ExecWire { raw: false, encoding, profile };
            let (x, ran) = run_pair(wire, &["echo 吃了", "echo err >&2; printf out", "true"], 1024);
            let outputs: Vec<&str> = x.iter().map(|x| x.output.as_str()).collect();
            assert_eq!(outputs, ["吃了\n", "outerr\n", ""], "{encoding:?} {profile:?}");
            assert_eq!(ran.len(), 3);
            assert_eq!(ran[0].command, "echo 吃了");
        }
    }
}

#[cfg(unix)]
#[test]
fn output_over_the_cap_is_cut_with_a_notice() {
    let wire = ExecWire { raw: false, encoding: TextEncoding::Utf8, profile: Profile::Seed };
    let (x, _) = run_pair(wire, &["head -c 5000 /dev/zero | tr '\\0' a"], 100);
    assert!(x[0].output.starts_with(&"a".repeat(100)), "{:?}", x[0].output);
    assert!(x[0].output.contains("output cut after 100 bytes"), "{:?}", x[0].output);
}

#[cfg(unix)]
#[test]
fn raw_replies_spill_into_the_next_command() {
    let wire = ExecWire { raw: true, encoding: TextEncoding::Utf8, profile: Profile::Seed };
    let (x, _) = run_pair(wire, &["seq 1 200", "echo done"], 1 << 16);
    assert!(x[0].output.len() <= RAW_READ);
    assert!(x[1].output.starts_with(&"1\n2\n3".to_string()) || x[1].output != "done\n");
    assert_ne!(x[1].output, "done\n");
}

/// A seed controller sends `ls`; the fake agent answers with `reply`; the controller's error.
fn seed_controller_error_for_reply(reply: &'static [u8]) -> Error {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let agent = thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut cmd = [0u8; 2];
        s.read_exact(&mut cmd).unwrap();
        s.write_all(reply).unwrap();
    });
    let session = Session::start(listener.accept().unwrap().0, Duration::from_secs(5)).unwrap();
    let wire = ExecWire { raw: false, encoding: TextEncoding::Utf8, profile: Profile::Seed };
    let mut commands = vec!["ls".to_string()].into_iter();
    let err = control(session, wire, || Ok(commands.next()), |_| {}).unwrap_err();
    agent.join().unwrap();
    err
}

#[test]
fn controller_reports_a_negative_reply_length() {
    let err = seed_controller_error_for_reply(&[0xfb, 0xff, 0xff, 0xff]);
    assert!(err.to_string().contains("negative"), "{err}");
}

#[test]
fn a_seed_controller_names_an_mp_agents_big_endian_reply_as_the_other_profile() {
    // Issue 12 item 7: the profile mismatch was a bare "frame length … exceeds".
    let err = seed_controller_error_for_reply(b"\0\0\0\x05hello");
    let text = err.to_string();
    assert!(text.contains("length is 5") && text.contains("other --profile"), "{text}");
}

#[test]
fn controller_reports_an_agent_that_closes_before_replying() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let agent = thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut cmd = [0u8; 2];
        s.read_exact(&mut cmd).unwrap();
    });
    let session = Session::start(listener.accept().unwrap().0, Duration::from_secs(5)).unwrap();
    let wire = ExecWire { raw: false, encoding: TextEncoding::Utf8, profile: Profile::Seed };
    let mut commands = vec!["ls".to_string()].into_iter();
    let err = control(session, wire, || Ok(commands.next()), |_| {}).unwrap_err();
    agent.join().unwrap();
    assert!(err.to_string().contains("closed"), "{err}");
}

#[test]
fn a_command_longer_than_the_agent_reads_is_refused_before_sending() {
    let (controller, _agent) = sessions();
    let wire = ExecWire { raw: false, encoding: TextEncoding::Utf8, profile: Profile::Seed };
    let mut commands = vec!["x".repeat(2000)].into_iter();
    let err = control(controller, wire, || Ok(commands.next()), |_| {}).unwrap_err();
    assert_eq!(err.exit(), crate::exit::Exit::Refused, "{err}");
    assert!(err.to_string().contains("2000 bytes exceeds the maximum of 1024"), "{err}");
}

/// Serve an mp agent on one end; the test writes raw bytes on the other and reads the replies.
fn mp_agent_with_raw_controller() -> (TcpStream, thread::JoinHandle<Result<Vec<Ran>>>) {
    let (controller, agent) = sessions();
    let wire = ExecWire { raw: false, encoding: TextEncoding::Utf8, profile: Profile::Mp };
    let agent = thread::spawn(move || serve_agent(agent, wire, limits(1024), |_| {}));
    let stream = controller.stream().try_clone().unwrap();
    (stream, agent)
}

fn mp_frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

#[cfg(unix)]
#[test]
fn an_mp_command_split_in_two_segments_runs_as_one_and_two_in_one_segment_run_as_two() {
    // Issue 10 item 3: `echo cleaning cache; rm -rf DATA/cache` in two segments 200 ms apart
    // ran as two commands.
    let (mut s, agent) = mp_agent_with_raw_controller();
    s.set_nodelay(true).unwrap();
    let frame = mp_frame(b"echo one; echo piece");
    s.write_all(&frame[..12]).unwrap();
    thread::sleep(Duration::from_millis(200));
    s.write_all(&frame[12..]).unwrap();
    let mut reply = [0u8; 4 + 10];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(&reply[4..], b"one\npiece\n");
    // Two commands in one write: two frames, two runs.
    let mut two = mp_frame(b"echo a");
    two.extend_from_slice(&mp_frame(b"echo b"));
    two.extend_from_slice(&mp_frame(b"q"));
    s.write_all(&two).unwrap();
    let mut replies = [0u8; 2 * (4 + 2)];
    s.read_exact(&mut replies).unwrap();
    assert_eq!(&replies[..], b"\0\0\0\x02a\n\0\0\0\x02b\n");
    let ran = agent.join().unwrap().unwrap();
    let commands: Vec<&str> = ran.iter().map(|r| r.command.as_str()).collect();
    assert_eq!(commands, ["echo one; echo piece", "echo a", "echo b"]);
}

#[test]
fn an_mp_command_frame_over_the_limit_runs_nothing() {
    let (mut s, agent) = mp_agent_with_raw_controller();
    s.write_all(&mp_frame(&[b'x'; DEFAULT_MAX_COMMAND_LEN + 1])).unwrap();
    let err = agent.join().unwrap().unwrap_err();
    assert!(err.to_string().contains("exceeds the maximum of 1024"), "{err}");
}

#[test]
fn the_mp_controller_sends_each_command_as_one_frame() {
    let (controller, agent) = sessions();
    let wire = ExecWire { raw: false, encoding: TextEncoding::Utf8, profile: Profile::Mp };
    let mut raw = agent.stream().try_clone().unwrap();
    let peer = thread::spawn(move || {
        let mut got = [0u8; 4 + 7];
        raw.read_exact(&mut got).unwrap();
        raw.write_all(b"\0\0\0\x02ok").unwrap();
        let mut quit = [0u8; 5];
        raw.read_exact(&mut quit).unwrap();
        (got, quit)
    });
    let mut commands = vec!["echo hi".to_string()].into_iter();
    let x = control(controller, wire, || Ok(commands.next()), |_| {}).unwrap();
    assert_eq!(x[0].output, "ok");
    let (got, quit) = peer.join().unwrap();
    assert_eq!(&got, b"\0\0\0\x07echo hi");
    assert_eq!(&quit, b"\0\0\0\x01q");
    drop(agent);
}

#[test]
fn an_agent_without_a_key_never_runs_a_keyed_controllers_challenge() {
    // Issue 12 item 7: a key on the controller only made the agent run 32 random bytes.
    for profile in [Profile::Seed, Profile::Mp] {
        let (controller, agent) = sessions();
        let wire = ExecWire { raw: false, encoding: TextEncoding::Utf8, profile };
        let agent = thread::spawn(move || serve_agent(agent, wire, limits(1024), |_| {}));
        let mut s = controller.stream().try_clone().unwrap();
        match profile {
            Profile::Seed => s.write_all(&[0x01; 32]).unwrap(),
            Profile::Mp => s.write_all(&mp_frame(b"#CHALLENGE#0123456789abcdefghij")).unwrap(),
            Profile::Secure => unreachable!("seed and mp only"),
        }
        let err = agent.join().unwrap().unwrap_err();
        assert!(err.to_string().contains("give this agent the same key"), "{profile:?}: {err}");
        drop(controller);
    }
}

#[test]
fn typed_commands_are_never_taken_for_a_challenge() {
    assert!(!looks_like_a_handshake(b"echo 0123456789abcdefghijklmnopq"));
    assert!(!looks_like_a_handshake("dir \u{5403}\u{4e86}".as_bytes()));
    assert!(!looks_like_a_handshake(b"printf 'a\\tb'\n"));
}
