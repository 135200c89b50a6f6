//! `wirekit demo`: every demo against itself on 127.0.0.1 (ephemeral ports, in this process),
//! a short transcript of what each side saw, then a pass/fail summary. The raw-vs-framed pairs
//! show the sticky-packet problem next to its fix.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use wirekit_core::frame::FrameConfig;

use crate::atomic_file::{ReceiveRules, TargetDir};
use crate::cli::{MpDigest, Profile};
use crate::encoding::TextEncoding;
use crate::error::{Error, Result};
use crate::exec::{ExecWire, RAW_READ};
use crate::keys::{Key, KeySource};
use crate::runner::RunLimits;
use crate::session::{Plan, Session, Side};
use crate::{auth, console, exec, file, tcp, udp};
use wirekit_core::auth::Role;

/// Each side of a demo gives up after this long.
const DEMO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the raw server waits before reading, so that back-to-back sends pile up.
const PILE_UP: Duration = Duration::from_millis(200);

/// How one demo ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Both sides did what the demo expects.
    Passed,
    /// Something went wrong; the reason.
    Failed(String),
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
    vec![
        run("tcp basics (seed, raw)", tcp_basics),
        run("sticky packets: raw TCP", sticky_raw),
        run("the fix: length-prefixed frames", framed_apart),
        run("udp basics", udp_basics),
        run("udp: oversize message refused", udp_oversize),
        run("exec demo1: raw replies, read 500 bytes at a time", exec_raw),
        run("exec demo2: framed replies", exec_framed),
        run("file demo3: CJK + emoji name, 1 MiB", file_transfer),
        run("auth demo4 (seed HMAC-MD5): right key", |out| auth_seed(out, b"egg", true)),
        run("auth demo4 (seed HMAC-MD5): wrong key", |out| auth_seed(out, b"spam", false)),
        run("auth mp (multiprocessing.connection, legacy): right key", |out| {
            auth_mp(out, b"egg", MpDigest::Legacy, true)
        }),
        run("auth mp (multiprocessing.connection, sha256): wrong key", |out| {
            auth_mp(out, b"spam", MpDigest::Sha256, false)
        }),
        run("tcp behind an mp handshake (--key)", keyed_tcp),
        run("exec inside --profile secure (a Noise channel)", secure_exec),
        run("relay attack on --profile seed with a key: the command is rewritten", |out| {
            relay_attack(out, Profile::Seed)
        }),
        run("the same relay on --profile secure: it fails and nothing runs", |out| {
            relay_attack(out, Profile::Secure)
        }),
    ]
}

/// Print the transcripts (unless `quiet`) and the summary line; failures become the binary's
/// error.
pub fn print_and_judge(reports: &[Report], quiet: bool) -> Result<()> {
    let mut failed = 0;
    for report in reports {
        let verdict = match &report.outcome {
            Outcome::Passed => "passed".to_owned(),
            Outcome::Failed(why) => {
                failed += 1;
                format!("FAILED: {why}")
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
    let passed = reports.len() - failed;
    console::print_line(&format!("demo: {passed} passed, {failed} failed"));
    if failed > 0 {
        Err(Error::DemoFailed { failed, total: reports.len() })
    } else {
        Ok(())
    }
}

fn run(name: &'static str, demo: impl FnOnce(&mut Vec<String>) -> Result<bool, String>) -> Report {
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
        let session = Session::start(stream, DEMO_TIMEOUT).map_err(|e| e.to_string())?;
        let config = tcp::TcpServerConfig {
            replies: strings(&["hi", "吃了"]),
            profile: Profile::Seed,
            echo: false,
        };
        tcp::serve_connection(session, &config).map_err(|e| e.to_string())
    });
    let messages = strings(&["hello", "吃了吗?"]);
    let stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
    let session = Session::start(stream, DEMO_TIMEOUT).map_err(|e| e.to_string())?;
    let replies =
        tcp::run_client(session, &messages, Profile::Seed, false).map_err(|e| e.to_string())?;
    let received = join(server)?.received;
    out.push(format!("client sent {} and got {}", quoted(&messages), quoted(&replies)));
    out.push(format!("server got {}", quoted(&received)));
    Ok(received == messages && replies == strings(&["hi", "吃了"]))
}

fn sticky_raw(out: &mut Vec<String>) -> Result<bool, String> {
    let (listener, addr) = listener()?;
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(DEMO_TIMEOUT)).ok();
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
        stream.set_read_timeout(Some(DEMO_TIMEOUT)).ok();
        thread::sleep(PILE_UP);
        let mut conn = crate::link::link(stream);
        let config = FrameConfig::mp().with_max_frame_len(1 << 16);
        let mut buf = vec![0u8; 1 << 16];
        let mut got = Vec::new();
        while let Some(frame) = crate::link::recv_frame_or_close(&mut conn, &config, &mut buf)
            .map_err(|e| e.to_string())?
        {
            got.push(String::from_utf8_lossy(frame).into_owned());
        }
        Ok(got)
    });
    let stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
    let mut conn = crate::link::link(stream);
    for message in ["hello", "吃了吗?"] {
        conn.send_frame(&FrameConfig::mp(), message.as_bytes()).map_err(|e| e.to_string())?;
    }
    conn.get_ref().0.tcp().shutdown(std::net::Shutdown::Write).map_err(|e| e.to_string())?;
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
    let server = thread::spawn(move || {
        udp::serve(&socket, "bye", true, false, udp::ReplyRate::DEFAULT).map_err(|e| e.to_string())
    });
    let replies = udp::run_client(&addr, &strings(&["hello"]), DEMO_TIMEOUT, false)
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
    match udp::run_client(&addr, &[big], DEMO_TIMEOUT, false) {
        Err(err @ Error::Datagram(_)) => {
            out.push(format!("client refused to send: {err}"));
            Ok(true)
        }
        Err(other) => Err(other.to_string()),
        Ok(_) => Err("a 65,508-byte datagram was sent".into()),
    }
}

/// Commands whose first reply is longer than one raw read ([`RAW_READ`]).
fn exec_commands() -> Vec<String> {
    let long = if cfg!(windows) { "for /L %i in (1,1,200) do @echo %i" } else { "seq 1 200" };
    strings(&[long, "echo done", "echo bye"])
}

/// Controller and agent on one connection; returns the outputs the controller printed.
fn exec_pair(raw: bool, out: &mut Vec<String>) -> Result<(Vec<String>, Vec<String>), String> {
    let (listener, addr) = listener()?;
    let wire = ExecWire { raw, encoding: TextEncoding::Utf8, profile: Profile::Seed };
    let agent = thread::spawn(move || {
        let stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
        let session = Session::start(stream, DEMO_TIMEOUT).map_err(|e| e.to_string())?;
        let limits = RunLimits { timeout: DEMO_TIMEOUT, max_output: 1 << 16 };
        let ran = exec::serve_agent(session, wire, limits, |_| {}).map_err(|e| e.to_string())?;
        Ok(ran
            .iter()
            .map(|r| format!("ran {:?}, replied {} bytes", r.command, r.reply_len))
            .collect::<Vec<_>>())
    });
    let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
    let session = Session::start(stream, DEMO_TIMEOUT).map_err(|e| e.to_string())?;
    let mut commands = exec_commands().into_iter();
    let exchanges =
        exec::control(session, wire, || Ok(commands.next()), |_| {}).map_err(|e| e.to_string())?;
    let agent_lines = join(agent)?;
    for line in &agent_lines {
        out.push(format!("agent: {line}"));
    }
    let outputs: Vec<String> = exchanges.iter().map(|x| x.output.clone()).collect();
    for x in &exchanges {
        let shown: String = x.output.chars().take(24).collect();
        out.push(format!(
            "controller: {:>11} -> {} bytes: {:?}{}",
            format!("{:?}", x.command),
            x.output.len(),
            shown,
            if x.output.chars().count() > 24 { "…" } else { "" }
        ));
    }
    Ok((outputs, agent_lines))
}

fn exec_raw(out: &mut Vec<String>) -> Result<bool, String> {
    let (outputs, agent_lines) = exec_pair(true, out)?;
    let mut sent = exec_commands();
    sent.push("q".to_owned()); // the quit the controller sends last
                               // The seed's commands are unframed too: two that arrive in one read run as one.
    let merged = sent.windows(2).find_map(|pair| {
        let joined = format!("{}{}", pair[0], pair[1]);
        agent_lines.iter().any(|l| l.contains(&format!("{joined:?}"))).then_some((pair, joined))
    });
    if let Some((pair, joined)) = merged {
        out.push(format!(
            "sticky commands: {:?} and {:?} were two writes, one read at the agent got \
             both, and it ran {joined:?} as one command (demo1/demo2 commands have no frame; \
             --profile mp or secure frames each one)",
            pair[0], pair[1]
        ));
    }
    let spilled = outputs.len() == 3
        && outputs.first().is_some_and(|o| o.len() <= RAW_READ)
        && outputs.get(1).is_some_and(|o| o != "done\n");
    if spilled {
        out.push(format!(
            "sticky packets: the first reply did not fit one recv({RAW_READ}), its tail was read as \"echo done\"'s output"
        ));
    }
    Ok(spilled)
}

fn exec_framed(out: &mut Vec<String>) -> Result<bool, String> {
    let (outputs, _) = exec_pair(false, out)?;
    let expected_first: String = if cfg!(windows) {
        outputs.first().cloned().unwrap_or_default()
    } else {
        (1..=200).map(|i| format!("{i}\n")).collect()
    };
    let clean = outputs.len() == 3
        && outputs.first() == Some(&expected_first)
        && outputs.get(1).map(|o| o.trim_end()) == Some("done")
        && outputs.get(2).map(|o| o.trim_end()) == Some("bye");
    if clean {
        out.push(
            "each reply behind struct.pack('i', len): every output matches its command".into(),
        );
    }
    Ok(clean)
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("wirekit-demo-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(dir.join("in")).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(dir.join("out")).map_err(|e| e.to_string())?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn file_transfer(out: &mut Vec<String>) -> Result<bool, String> {
    let scratch = Scratch::new()?;
    let name = "报告 😀.bin";
    let body: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let src = scratch.0.join("in").join(name);
    std::fs::write(&src, &body).map_err(|e| e.to_string())?;
    let (listener, addr) = listener()?;
    let outgoing = file::Outgoing::check(&src, None, false).map_err(|e| e.to_string())?;
    let sender = thread::spawn(move || {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let session = Session::start(stream, DEMO_TIMEOUT).map_err(|e| e.to_string())?;
        file::send(session, &outgoing, Profile::Seed, true).map_err(|e| e.to_string())
    });
    let stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
    let session = Session::start(stream, DEMO_TIMEOUT).map_err(|e| e.to_string())?;
    let opts = file::RecvOptions {
        dir: Arc::new(TargetDir::open(&scratch.0.join("out")).map_err(|e| e.to_string())?),
        rules: ReceiveRules::with_max_size(1 << 30),
        min_rate: 0,
        rate_window: Duration::from_secs(10),
        profile: Profile::Seed,
        quiet: true,
    };
    let got = file::receive(session, &opts, None).map_err(|e| e.to_string())?;
    let sent = join(sender)?;
    out.push(format!("sender: {sent}"));
    out.push(format!("receiver: {}", got.summary));
    let same = std::fs::read(&got.path).map_err(|e| e.to_string())? == body;
    let leftovers = std::fs::read_dir(scratch.0.join("out")).map(|d| d.count()).unwrap_or(0);
    out.push(format!(
        "receiver wrote {:?}: {} (no temporary file left: {})",
        got.path.file_name().unwrap_or_default(),
        if same { "bytes identical" } else { "BYTES DIFFER" },
        leftovers == 1
    ));
    Ok(same && leftovers == 1 && got.path.file_name() == Some(std::ffi::OsStr::new(name)))
}

/// What a demo auth server printed, and whether it judged the client legit.
type JudgeThread = thread::JoinHandle<Result<(Vec<String>, bool), String>>;

/// Run a handshake server on one connection; returns what it printed and its result.
fn auth_server(key: &'static [u8], plan: Plan) -> Result<(String, JudgeThread), String> {
    let (listener, addr) = listener()?;
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let session = Session::start(stream, DEMO_TIMEOUT).map_err(|e| e.to_string())?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let key = Key::new(key, KeySource::Arg);
        let result = auth::judge(session, &key, plan, move |l| {
            sink.lock().map(|mut v| v.push(l.to_owned())).unwrap_or(())
        });
        let mut printed = lines.lock().map(|v| v.clone()).unwrap_or_default();
        if let Err(e) = &result {
            printed.push(format!("error: {e}"));
        }
        Ok((printed, result.is_ok()))
    });
    Ok((addr, handle))
}

fn auth_seed(out: &mut Vec<String>, client_key: &[u8], right: bool) -> Result<bool, String> {
    let (addr, server) = auth_server(b"egg", Plan::new(Profile::Seed, Side::Accepting))?;
    let stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
    let session = Session::start(stream, DEMO_TIMEOUT).map_err(|e| e.to_string())?;
    let client = auth::prove(
        session,
        &Key::new(client_key, KeySource::Arg),
        Plan::new(Profile::Seed, Side::Connecting),
    );
    let (printed, legit) = join(server)?;
    out.push(format!(
        "client (key {:?}): {}",
        String::from_utf8_lossy(client_key),
        client.as_ref().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
    ));
    for line in printed {
        out.push(format!("server (key \"egg\"): {line}"));
    }
    Ok(client.is_ok() && legit == right)
}

fn auth_mp(
    out: &mut Vec<String>,
    client_key: &[u8],
    digest: MpDigest,
    right: bool,
) -> Result<bool, String> {
    let plan = Plan::new(Profile::Mp, Side::Accepting).with_mp_digest(digest);
    let (addr, server) = auth_server(b"egg", plan)?;
    let stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
    let session = Session::start(stream, DEMO_TIMEOUT).map_err(|e| e.to_string())?;
    let plan = Plan::new(Profile::Mp, Side::Connecting).with_mp_digest(digest);
    let client = auth::prove(session, &Key::new(client_key, KeySource::Arg), plan);
    let (printed, legit) = join(server)?;
    out.push(format!(
        "client (key {:?}): {}",
        String::from_utf8_lossy(client_key),
        client.as_ref().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
    ));
    for line in printed {
        out.push(format!("server (key \"egg\"): {line}"));
    }
    // Under mp both sides learn the verdict.
    Ok(client.is_ok() == right && legit == right)
}

fn keyed_tcp(out: &mut Vec<String>) -> Result<bool, String> {
    let key = crate::keys::load_key(Some("egg"), None, None).ok().flatten().ok_or("no key")?;
    let (listener, addr) = listener()?;
    let server_key = key.clone();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let plan = Plan::new(Profile::Mp, Side::Accepting);
        let session = crate::session::open(stream, Some(&server_key), plan, DEMO_TIMEOUT)
            .map_err(|e| e.to_string())?;
        let config =
            tcp::TcpServerConfig { replies: strings(&["hi"]), profile: Profile::Mp, echo: false };
        tcp::serve_connection(session, &config).map_err(|e| e.to_string())
    });
    let stream = TcpStream::connect(&addr).map_err(|e| e.to_string())?;
    let plan = Plan::new(Profile::Mp, Side::Connecting);
    let session =
        crate::session::open(stream, Some(&key), plan, DEMO_TIMEOUT).map_err(|e| e.to_string())?;
    let replies = tcp::run_client(session, &strings(&["hello"]), Profile::Mp, false)
        .map_err(|e| e.to_string())?;
    let received = join(server)?.received;
    out.push("both sides proved the key (#CHALLENGE#/#WELCOME# both ways), then:".into());
    out.push(format!("client sent \"hello\" and got {}", quoted(&replies)));
    out.push(format!("server got {}", quoted(&received)));
    Ok(replies == strings(&["hi"]) && received == strings(&["hello"]))
}

/// The key of the secure demos (the secure profile refuses keys under 16 bytes).
const SECURE_DEMO_KEY: &str = "wirekit demo key, 16+ bytes";

/// An exec agent that accepts one connection under `profile` with `key`; what it ran (or its
/// error).
type AgentThread = thread::JoinHandle<Result<Vec<String>, String>>;

fn exec_agent(profile: Profile, key: Key) -> Result<(String, AgentThread), String> {
    let (listener, addr) = listener()?;
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let wire = ExecWire { raw: false, encoding: TextEncoding::Utf8, profile };
        let limits = RunLimits { timeout: DEMO_TIMEOUT, max_output: 1 << 16 };
        let plan = Plan::for_role(profile, Side::Accepting, Role::ExecAgent);
        crate::session::with_open(stream, Some(&key), plan, DEMO_TIMEOUT, |opened| {
            exec::serve_agent(opened?, wire, limits, |_| {})
        })
        .map(|ran| ran.into_iter().map(|r| r.command).collect())
        .map_err(|e| e.to_string())
    });
    Ok((addr, handle))
}

/// A controller connecting to `addr` under `profile` with `key`, sending `commands`: the
/// outputs it printed, or its error.
fn exec_controller(
    addr: &str,
    profile: Profile,
    key: &Key,
    commands: &[&str],
) -> Result<Vec<String>, String> {
    let stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let wire = ExecWire { raw: false, encoding: TextEncoding::Utf8, profile };
    let plan = Plan::for_role(profile, Side::Connecting, Role::ExecController);
    let mut next = strings(commands).into_iter();
    crate::session::with_open(stream, Some(key), plan, DEMO_TIMEOUT, |opened| {
        exec::control(opened?, wire, || Ok(next.next()), |_| {})
    })
    .map(|x| x.into_iter().map(|x| x.output.trim_end().to_owned()).collect())
    .map_err(|e| e.to_string())
}

fn secure_exec(out: &mut Vec<String>) -> Result<bool, String> {
    let key = Key::new(SECURE_DEMO_KEY, KeySource::Arg);
    let (addr, agent) = exec_agent(Profile::Secure, key.clone())?;
    let outputs = exec_controller(&addr, Profile::Secure, &key, &["echo hello", "echo 吃了"])?;
    let ran = join(agent)?;
    out.push(
        "Noise_NNpsk0_25519_ChaChaPoly_SHA256, prologue \"wirekit/1 exec\": both sides proved \
         the key, every later byte is encrypted and authenticated"
            .into(),
    );
    out.push(format!("agent ran {}; controller printed {}", quoted(&ran), quoted(&outputs)));
    Ok(ran == strings(&["echo hello", "echo 吃了"]) && outputs == strings(&["hello", "吃了"]))
}

/// A relay for one connection to `target` that passes everything on, letting `tamper` change
/// each chunk from the connecting side (given the chunk and its offset in that stream).
fn tampering_relay(
    target: String,
    mut tamper: impl FnMut(&mut [u8], usize) + Send + 'static,
) -> Result<(String, thread::JoinHandle<()>), String> {
    let (listener, addr) = listener()?;
    let handle = thread::spawn(move || {
        let Ok((mut client, _)) = listener.accept() else { return };
        let Ok(mut server) = TcpStream::connect(&target) else { return };
        let _ = client.set_read_timeout(Some(DEMO_TIMEOUT));
        let _ = server.set_read_timeout(Some(DEMO_TIMEOUT));
        let (Ok(mut back_from), Ok(mut back_to)) = (server.try_clone(), client.try_clone()) else {
            return;
        };
        let back = thread::spawn(move || {
            let _ = std::io::copy(&mut back_from, &mut back_to);
            let _ = back_to.shutdown(std::net::Shutdown::Both);
        });
        let (mut buf, mut offset) = (vec![0u8; 64 * 1024], 0);
        while let Ok(n @ 1..) = client.read(&mut buf) {
            let chunk = &mut buf[..n];
            tamper(chunk, offset);
            offset += n;
            if server.write_all(chunk).is_err() {
                break;
            }
        }
        let _ = server.shutdown(std::net::Shutdown::Both);
        let _ = back.join();
    });
    Ok((addr, handle))
}

/// The attack of issue 13 in front of a keyed agent: the relay passes the handshake through,
/// then rewrites the command (seed) or, unable to read it, flips a bit of its record (secure).
fn relay_attack(out: &mut Vec<String>, profile: Profile) -> Result<bool, String> {
    let key = Key::new(SECURE_DEMO_KEY, KeySource::Arg);
    let (target, agent) = exec_agent(profile, key.clone())?;
    // Handshake message 1 is 52 bytes; the first record follows it, its ciphertext at 54.
    let first_record = crate::secure::HANDSHAKE_MESSAGE_WIRE_LEN + 2;
    let (addr, relay) = tampering_relay(target, move |chunk, offset| {
        if let Some(at) = chunk.windows(10).position(|w| w == b"echo hello") {
            chunk[at..at + 10].copy_from_slice(b"echo pwned");
        }
        if profile == Profile::Secure && (offset..offset + chunk.len()).contains(&first_record) {
            chunk[first_record - offset] ^= 0x01;
        }
    })?;
    let controller = exec_controller(&addr, profile, &key, &["echo hello"]);
    let ran = join(agent);
    let _ = relay.join();
    let said = |r: &Result<Vec<String>, String>, ok: &str| match r {
        Ok(items) => format!("{ok} {} (success)", quoted(items)),
        Err(e) => format!("failed: {e}"),
    };
    out.push(format!("controller sent \"echo hello\" via the relay: {}", said(&controller, "got")));
    out.push(format!("agent: {}", said(&ran, "ran")));
    Ok(match profile {
        // The handshake authenticated the start of the connection only.
        Profile::Seed | Profile::Mp => {
            let rewritten = ran == Ok(strings(&["echo pwned"]));
            if rewritten {
                out.push(
                    "the agent ran the relay's command and both sides reported success".into(),
                );
            }
            rewritten && controller == Ok(strings(&["pwned"]))
        }
        Profile::Secure => {
            let refused = matches!(&ran, Err(e) if e.contains("authentication tag"));
            if refused {
                out.push(
                    "the altered record failed its tag: the agent ran nothing, both sides failed"
                        .into(),
                );
            }
            refused && controller.is_err()
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn every_demo_passes() {
        let reports = run_all();
        for report in &reports {
            assert_eq!(report.outcome, Outcome::Passed, "{report:#?}");
        }
    }

    #[test]
    fn a_failure_fails_the_verdict() {
        let failed = Report { name: "f", transcript: vec![], outcome: Outcome::Failed("x".into()) };
        let passed = Report { name: "ok", transcript: vec![], outcome: Outcome::Passed };
        assert!(matches!(
            print_and_judge(&[passed.clone(), failed], true),
            Err(Error::DemoFailed { failed: 1, total: 2 })
        ));
        assert!(print_and_judge(&[passed], true).is_ok());
    }
}
