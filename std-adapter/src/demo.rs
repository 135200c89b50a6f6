//! `wirekit demo`: every demo against itself on 127.0.0.1 (ephemeral ports, in this process),
//! a short transcript of what each side saw, then a pass/fail summary. The raw-vs-framed pair
//! shows the sticky-packet problem next to its fix. Demos whose core machines are not wired
//! yet are listed as such (and make the exit code 6).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::Duration;

use wirekit_core::frame::FrameConfig;

use crate::cli::Profile;
use crate::error::{Error, Result};
use crate::framed::Framed;
use crate::session::{open, Side};
use crate::{console, tcp, udp};

/// Each side of a demo gives up after this long.
const DEMO_TIMEOUT_SECS: u64 = 5;
/// How long the raw server waits before reading, so that back-to-back sends pile up.
const PILE_UP: Duration = Duration::from_millis(200);

/// How one demo ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Both sides did what the demo expects.
    Passed,
    /// Something went wrong; the reason.
    Failed(String),
    /// The demo needs core machines that are not wired yet.
    NotImplemented,
}

/// One demo's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Short name.
    pub name: &'static str,
    /// What each side saw, one line each.
    pub transcript: Vec<String>,
    /// How it ended.
    pub outcome: Outcome,
}

/// Run every demo.
pub fn run_all() -> Vec<Report> {
    let mut reports = vec![
        run("tcp basics (seed, raw)", tcp_basics),
        run("sticky packets: raw TCP", sticky_raw),
        run("the fix: length-prefixed frames", framed_apart),
        run("udp basics", udp_basics),
        run("udp: oversize message refused", udp_oversize),
    ];
    for name in [
        "exec demo1 (raw replies)",
        "exec demo2 (framed replies)",
        "file demo3",
        "auth demo4 (seed)",
        "auth mp (multiprocessing.connection)",
    ] {
        reports.push(Report { name, transcript: Vec::new(), outcome: Outcome::NotImplemented });
    }
    reports
}

/// Print the transcripts (unless `quiet`) and the summary line; turn failures and pending
/// demos into the binary's error.
pub fn print_and_judge(reports: &[Report], quiet: bool) -> Result<()> {
    let mut passed = 0;
    let mut failed = 0;
    let mut pending = 0;
    for report in reports {
        let verdict = match &report.outcome {
            Outcome::Passed => {
                passed += 1;
                "passed".to_owned()
            }
            Outcome::Failed(why) => {
                failed += 1;
                format!("FAILED: {why}")
            }
            Outcome::NotImplemented => {
                pending += 1;
                "not implemented yet".to_owned()
            }
        };
        if !quiet {
            console::print_line(&format!("== {} ==", report.name));
            for line in &report.transcript {
                console::print_line(&format!("   {line}"));
            }
            console::print_line(&format!("   -> {verdict}"));
        }
    }
    console::print_line(&format!(
        "demo: {passed} passed, {failed} failed, {pending} not implemented yet"
    ));
    if failed > 0 {
        Err(Error::DemoFailed { failed, total: reports.len() })
    } else if pending > 0 {
        Err(Error::NotImplemented("part of wirekit demo (exec, file, auth)"))
    } else {
        Ok(())
    }
}

fn run(name: &'static str, demo: fn(&mut Vec<String>) -> Result<bool, String>) -> Report {
    let mut transcript = Vec::new();
    let outcome = match demo(&mut transcript) {
        Ok(true) => Outcome::Passed,
        Ok(false) => Outcome::Failed("unexpected result, see the transcript".into()),
        Err(why) => Outcome::Failed(why),
    };
    Report { name, transcript, outcome }
}

fn quoted(items: &[String]) -> String {
    items.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn listener() -> Result<(TcpListener, String), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?.to_string();
    Ok((listener, addr))
}

fn join<T>(handle: thread::JoinHandle<Result<T, String>>) -> Result<T, String> {
    handle.join().map_err(|_| "a demo thread crashed".to_owned())?
}

fn tcp_basics(out: &mut Vec<String>) -> Result<bool, String> {
    let (listener, addr) = listener()?;
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let session = open(stream, None, Profile::Seed, Side::Accepting, DEMO_TIMEOUT_SECS)
            .map_err(|e| e.to_string())?;
        let config = tcp::TcpServerConfig {
            replies: strings(&["hi", "吃了"]),
            profile: Profile::Seed,
            timeout_secs: DEMO_TIMEOUT_SECS,
            echo: false,
        };
        tcp::serve_connection(session, &config).map_err(|e| e.to_string())
    });
    let messages = strings(&["hello", "吃了吗?"]);
    let stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
    let session = open(stream, None, Profile::Seed, Side::Connecting, DEMO_TIMEOUT_SECS)
        .map_err(|e| e.to_string())?;
    let replies = tcp::run_client(session, &messages, Profile::Seed, DEMO_TIMEOUT_SECS, false)
        .map_err(|e| e.to_string())?;
    let received = join(server)?.received;
    out.push(format!("client sent {} and got {}", quoted(&messages), quoted(&replies)));
    out.push(format!("server got {}", quoted(&received)));
    Ok(received == messages && replies == strings(&["hi", "吃了"]))
}

fn sticky_raw(out: &mut Vec<String>) -> Result<bool, String> {
    let (listener, addr) = listener()?;
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(DEMO_TIMEOUT_SECS))).ok();
        thread::sleep(PILE_UP);
        let mut buf = vec![0u8; 64 * 1024];
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).into_owned())
    });
    let mut stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
    stream.set_nodelay(true).ok();
    for message in ["hello", "吃了吗?"] {
        stream.write_all(message.as_bytes()).map_err(|e| e.to_string())?;
    }
    let first_read = join(server)?;
    out.push(r#"client sent "hello" and "吃了吗?" back to back, unframed"#.to_owned());
    out.push(format!("server's first recv returned {first_read:?}"));
    if first_read == "hello吃了吗?" {
        out.push("two messages stuck together: raw TCP has no message boundaries".to_owned());
    } else {
        out.push("(this time the kernel happened to keep them apart; it is not guaranteed)".into());
    }
    Ok("hello吃了吗?".starts_with(&first_read) && !first_read.is_empty())
}

fn framed_apart(out: &mut Vec<String>) -> Result<bool, String> {
    let (listener, addr) = listener()?;
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(DEMO_TIMEOUT_SECS))).ok();
        thread::sleep(PILE_UP);
        let mut framed = Framed::new(stream, FrameConfig::mp().with_max_frame_len(1 << 16));
        let mut got = Vec::new();
        while let Some(frame) = framed.recv_frame().map_err(|e| e.to_string())? {
            got.push(String::from_utf8_lossy(frame).into_owned());
        }
        Ok(got)
    });
    let stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
    let mut framed = Framed::new(stream, FrameConfig::mp());
    for message in ["hello", "吃了吗?"] {
        framed.send_frame(message.as_bytes()).map_err(|e| e.to_string())?;
    }
    framed.get_ref().shutdown(std::net::Shutdown::Write).map_err(|e| e.to_string())?;
    let got = join(server)?;
    out.push(
        r#"client sent "hello" and "吃了吗?" back to back, each behind a 4-byte length"#.into(),
    );
    out.push(format!("server's recv_bytes returned {}", quoted(&got)));
    Ok(got == strings(&["hello", "吃了吗?"]))
}

fn udp_basics(out: &mut Vec<String>) -> Result<bool, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?.to_string();
    let server =
        thread::spawn(move || udp::serve(&socket, "bye", true, false).map_err(|e| e.to_string()));
    let replies = udp::run_client(&addr, &strings(&["hello"]), DEMO_TIMEOUT_SECS, false)
        .map_err(|e| e.to_string())?;
    let received = join(server)?.map(|r| r.text).unwrap_or_default();
    out.push(format!("client sent \"hello\" and got {}", quoted(&replies)));
    out.push(format!("server got {received:?} and answered the sender"));
    Ok(received == "hello" && replies == strings(&["bye"]))
}

fn udp_oversize(out: &mut Vec<String>) -> Result<bool, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?.to_string();
    let big = "x".repeat(65_508);
    match udp::run_client(&addr, &[big], DEMO_TIMEOUT_SECS, false) {
        Err(err @ Error::Datagram(_)) => {
            out.push(format!("client refused to send: {err}"));
            Ok(true)
        }
        Err(other) => Err(other.to_string()),
        Ok(_) => Err("a 65,508-byte datagram was sent".into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn implemented_demos_pass() {
        let reports = run_all();
        for report in &reports {
            assert_ne!(
                std::mem::discriminant(&report.outcome),
                std::mem::discriminant(&Outcome::Failed(String::new())),
                "{report:?}"
            );
        }
        assert!(reports.iter().any(|r| r.outcome == Outcome::Passed));
    }

    #[test]
    fn failures_beat_pending_in_the_verdict() {
        let pending = Report { name: "p", transcript: vec![], outcome: Outcome::NotImplemented };
        let failed = Report { name: "f", transcript: vec![], outcome: Outcome::Failed("x".into()) };
        let passed = Report { name: "ok", transcript: vec![], outcome: Outcome::Passed };
        assert!(matches!(
            print_and_judge(&[pending.clone(), failed], true),
            Err(Error::DemoFailed { failed: 1, total: 2 })
        ));
        assert!(matches!(
            print_and_judge(&[pending, passed.clone()], true),
            Err(Error::NotImplemented(_))
        ));
        assert!(print_and_judge(&[passed], true).is_ok());
    }
}
