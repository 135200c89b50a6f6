#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use crate::session::Session;

fn sessions() -> (Session, Session) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (Session::start(server, 5).unwrap(), Session::start(client, 5).unwrap())
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

#[test]
fn controller_reports_a_negative_reply_length() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let agent = thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let mut cmd = [0u8; 2];
        s.read_exact(&mut cmd).unwrap();
        s.write_all(&(-5i32).to_le_bytes()).unwrap();
    });
    let session = Session::start(listener.accept().unwrap().0, 5).unwrap();
    let wire = ExecWire { raw: false, encoding: TextEncoding::Utf8, profile: Profile::Seed };
    let mut commands = vec!["ls".to_string()].into_iter();
    let err = control(session, wire, || Ok(commands.next()), |_| {}).unwrap_err();
    assert!(err.to_string().contains("negative"), "{err}");
    agent.join().unwrap();
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
    let session = Session::start(listener.accept().unwrap().0, 5).unwrap();
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
