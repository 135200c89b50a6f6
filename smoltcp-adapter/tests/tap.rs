//! The adapter against the Linux kernel's TCP/UDP.
//!
//! Topology: the test makes a network namespace `wk-<pid>` and, from inside it, a TAP device
//! `wktap0` (10.77.0.1/24 on the kernel side). The test thread stays in that namespace; the
//! smoltcp stack (10.77.0.2, Ethernet) runs in the test process on the TAP's file
//! descriptor, and the Linux peers run in the same namespace: the core's blocking `Conn`
//! over `std::net::TcpStream` in threads, Python 3.11's `multiprocessing` client when
//! `python3` is there, and the real `wirekit` binary as child processes (built first into a
//! target directory of its own; children inherit the test thread's namespace and are killed
//! when their guard drops). Nothing touches the root namespace's network; deleting the
//! namespace (a guard does it, also on failure) removes the device with it.
//!
//! Scenarios against `Conn`: a 1 MiB file each way, seed auth each way (and a wrong key), mp
//! auth each way (`{sha256}` and legacy), CPython's own client, and a UDP hello/bye. Against
//! `wirekit`: `file send` and `file recv` (1 MiB each), `auth server` (seed) and
//! `auth server`/`auth client --profile mp`, each with the right and a wrong key. Every wait
//! is bounded.
//!
//! Not root, no `/dev/net/tun` or no `ip`: the test says why and passes.
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod machines;
#[path = "../../tests/src/skip.rs"]
mod skip;
mod wirekit_cli;

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::ops::ControlFlow;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::thread;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use embedded_io_adapters::std::FromStd;
use machines::{md5_of, test_bytes, DigestSink, MIB};
use md5::{Digest, Md5};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Medium, TunTapInterface};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, Ipv4Address};
use wirekit_cli::{wirekit, wirekit_bin, Child, TempDir};
use wirekit_core::auth::{
    ChallengeMode, Handshake, MpHandshake, MpPolicy, Order, Outcome, RejectReason, SeedProver,
    SeedVerifier,
};
use wirekit_core::command::{Agent, Controller, ControllerEvent as CoreControllerEvent, Mode};
use wirekit_core::datagram::IpVersion;
use wirekit_core::frame::{FrameConfig, FrameDecoder, FrameEvent};
use wirekit_core::header::FileHeader;
use wirekit_core::io::{Conn, Incoming};
use wirekit_core::transfer::{FileReceiver, FileSender};
use wirekit_smoltcp::{
    recv_datagram_into, send_datagram, unfragmented_max_payload, AgentEvent, Authenticate,
    CommandAgent, CommandTable, Exchange, FileEvent, FileReceive, FileSend, Session, SessionEvent,
    SliceOutput, SliceSource, TcpPump,
};

const TAP: &str = "wktap0";
const LINUX: Ipv4Address = Ipv4Address::new(10, 77, 0, 1);
const SMOL: Ipv4Address = Ipv4Address::new(10, 77, 0, 2);
const KEY: &[u8] = b"a 32-byte key, shared by both!!!";
const WRONG_KEY: &[u8] = b"a 32-byte key, but not the same!";
/// Bound on each scenario's wall time.
const SCENARIO_LIMIT: StdDuration = StdDuration::from_secs(30);
/// Read/write timeout of the Linux peers' sockets.
const IO_TIMEOUT: StdDuration = StdDuration::from_secs(20);
/// Bound on a `wirekit` child's life; it also gets `--timeout` below this.
const CHILD_LIMIT: StdDuration = StdDuration::from_secs(30);
/// `--timeout` for the `wirekit` children: they give up on a silent peer after this.
const CHILD_TIMEOUT: &str = "20";

fn linux_ip() -> Ipv4Addr {
    Ipv4Addr::from(LINUX.octets())
}

fn smol_ip() -> Ipv4Addr {
    Ipv4Addr::from(SMOL.octets())
}

// ---------------------------------------------------------------------------------------
// Namespace and device.

/// Why the test cannot run here, if it cannot.
fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (network namespaces and TAP devices need CAP_NET_ADMIN)".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("the `ip` tool (iproute2) is missing".into());
    }
    None
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace, deleted on drop (with every device in it).
struct Netns {
    name: String,
}

impl Netns {
    fn create() -> Self {
        let name = format!("wk-{}", std::process::id());
        // A leftover from a killed earlier run with the same pid: remove it first.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        Self { name }
    }

    /// Move the calling thread (and threads it spawns later) into the namespace.
    fn enter(&self) {
        let file = File::open(format!("/var/run/netns/{}", self.name)).expect("open netns");
        // SAFETY: a valid namespace fd; setns only changes this thread's namespace.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let out = Command::new("ip").args(["netns", "del", &self.name]).output();
        match out {
            Ok(out) if out.status.success() => {}
            other => eprintln!("could not delete netns {}: {other:?}", self.name),
        }
    }
}

/// The smoltcp host on the TAP.
struct Stack {
    iface: Interface,
    device: TunTapInterface,
    sockets: SocketSet<'static>,
}

/// What the application did in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Idle,
    Busy,
    Done,
}

impl Stack {
    /// Open the TAP (created in the current thread's namespace) and configure both ends.
    fn new(ns: &Netns) -> Self {
        let mut device = TunTapInterface::new(TAP, Medium::Ethernet).expect("open TAP");
        ip(&["-n", &ns.name, "addr", "add", "10.77.0.1/24", "dev", TAP]);
        ip(&["-n", &ns.name, "link", "set", TAP, "up"]);
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        let mac = EthernetAddress([0x02, 0, 0, 0x77, 0, 2]);
        let mut config = Config::new(mac.into());
        config.random_seed = u64::from(std::process::id());
        let mut iface = Interface::new(config, &mut device, Instant::now());
        iface.update_ip_addrs(|a| a.push(IpCidr::new(IpAddress::Ipv4(SMOL), 24)).unwrap());
        Self { iface, device, sockets: SocketSet::new(vec![]) }
    }

    /// Poll, call `app`, and sleep on the TAP until a packet or a timer, until `app` says
    /// `Done`; fails after [`SCENARIO_LIMIT`].
    fn run(&mut self, what: &str, mut app: impl FnMut(&mut SocketSet<'static>) -> Flow) {
        let start = StdInstant::now();
        loop {
            assert!(start.elapsed() < SCENARIO_LIMIT, "{what}: no end after {SCENARIO_LIMIT:?}");
            let now = Instant::now();
            self.iface.poll(now, &mut self.device, &mut self.sockets);
            match app(&mut self.sockets) {
                Flow::Done => break,
                Flow::Busy => continue,
                Flow::Idle => {}
            }
            let delay = self
                .iface
                .poll_delay(now, &self.sockets)
                .unwrap_or(Duration::from_millis(20))
                .min(Duration::from_millis(20));
            phy::wait(self.device.as_raw_fd(), Some(delay)).expect("wait on TAP");
        }
        println!("{what}: {:.3} s", start.elapsed().as_secs_f64());
    }

    fn tcp_socket(&mut self) -> tcp::Socket<'static> {
        let buf = || tcp::SocketBuffer::new(vec![0; 32 * 1024]);
        tcp::Socket::new(buf(), buf())
    }

    /// A smoltcp socket connecting to the Linux side.
    fn connect(&mut self, port: u16, local_port: u16) -> SocketHandle {
        let mut socket = self.tcp_socket();
        socket.connect(self.iface.context(), (LINUX, port), local_port).unwrap();
        self.sockets.add(socket)
    }

    /// A smoltcp socket listening for the Linux side.
    fn listen(&mut self, port: u16) -> SocketHandle {
        let mut socket = self.tcp_socket();
        socket.listen(port).unwrap();
        self.sockets.add(socket)
    }

    /// Run `x` on the socket until it is flushed (then close it) and `until` holds for the
    /// events; returns the events. An error fails the test.
    fn drive<X: Exchange>(
        &mut self,
        what: &str,
        handle: SocketHandle,
        x: &mut X,
        mut until: impl FnMut(&[X::Event], &tcp::Socket<'_>) -> bool,
    ) -> Vec<X::Event>
    where
        X::Error: std::fmt::Debug,
    {
        let mut events = Vec::new();
        let mut closed = false;
        self.run(what, |sockets| {
            let socket = sockets.get_mut::<tcp::Socket>(handle);
            let mut busy = false;
            if !closed {
                loop {
                    let event = x.poll(socket).unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    busy |= !x.progress().is_idle();
                    match event {
                        Some(event) => {
                            events.push(event);
                            busy = true;
                        }
                        None => break,
                    }
                }
                if x.is_flushed(socket) {
                    socket.close();
                    closed = true;
                    busy = true;
                }
            }
            // Done once our FIN is acknowledged too, so the peer sees a clean close.
            let fin_pending = matches!(
                socket.state(),
                tcp::State::FinWait1 | tcp::State::Closing | tcp::State::LastAck
            );
            if closed && !fin_pending && until(&events, socket) {
                return Flow::Done;
            }
            if busy {
                Flow::Busy
            } else {
                Flow::Idle
            }
        });
        self.sockets.remove(handle);
        events
    }
}

// ---------------------------------------------------------------------------------------
// Linux side.

type StdConn = Conn<FromStd<TcpStream>>;

fn conn(stream: TcpStream) -> StdConn {
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    Conn::new(FromStd::new(stream))
}

/// Accept one connection within [`IO_TIMEOUT`].
fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let start = StdInstant::now();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return stream;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(start.elapsed() < IO_TIMEOUT, "nobody connected");
                thread::sleep(StdDuration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn listen_linux(port: u16) -> TcpListener {
    TcpListener::bind(SocketAddr::from((linux_ip(), port))).unwrap()
}

fn connect_to_smol(port: u16) -> TcpStream {
    let addr = SocketAddr::from((smol_ip(), port));
    TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap()
}

/// Run `f` on a Linux-side thread; its panic fails the test when joined.
fn linux<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> thread::JoinHandle<T> {
    thread::spawn(f)
}

fn authenticate<H: Handshake>(conn: &mut StdConn, mut h: H) -> Outcome
where
    H::Error: std::fmt::Debug,
{
    conn.authenticate(&mut h).unwrap()
}

// ---------------------------------------------------------------------------------------
// Helpers shared by the scenarios.

fn sender_for(name: &str, data: &[u8]) -> FileSender {
    let header = FileHeader { filename: name, filepath: "/tap", filesize: data.len() as u64 };
    FileSender::new(FrameConfig::seed(), &header).unwrap()
}

fn receiver() -> FileReceiver {
    FileReceiver::new(FrameConfig::seed())
}

fn drive_handshake<H: Handshake>(
    stack: &mut Stack,
    what: &str,
    handle: SocketHandle,
    h: H,
) -> Outcome
where
    H::Error: std::fmt::Debug,
{
    let mut auth = Authenticate::new(h);
    let events = stack.drive(what, handle, &mut auth, |events, _| !events.is_empty());
    assert_eq!(events.len(), 1, "{what}: one verdict");
    events[0]
}

// ---------------------------------------------------------------------------------------
// Scenarios.

fn file_smoltcp_to_linux(stack: &mut Stack) {
    let data = test_bytes(MIB, 77);
    let listener = listen_linux(8080);
    let peer = linux(move || {
        let mut conn = conn(accept(&listener));
        let mut md5 = Md5::new();
        let mut name = String::new();
        let len = conn
            .receive_file(&mut receiver(), |incoming| {
                match incoming {
                    Incoming::Header(h) => name = h.filename.to_string(),
                    Incoming::Body(chunk) => md5.update(chunk),
                }
                Ok::<(), ()>(())
            })
            .unwrap();
        (name, len, <[u8; 16]>::from(md5.finalize()))
    });
    let handle = stack.connect(8080, 50_001);
    let mut send = FileSend::new(sender_for("to-linux.bin", &data), SliceSource::new(&data));
    let events = stack.drive("file smoltcp -> Linux, 1 MiB", handle, &mut send, |_, _| true);
    assert_eq!(events, [FileEvent::Done { len: MIB as u64 }]);
    let (name, len, digest) = peer.join().unwrap();
    assert_eq!((name.as_str(), len), ("to-linux.bin", MIB as u64));
    assert_eq!(digest, md5_of(&data), "the Linux side got different bytes");
}

fn file_linux_to_smoltcp(stack: &mut Stack) {
    let data = test_bytes(MIB, 78);
    let handle = stack.listen(8081);
    let sent = data.clone();
    let peer = linux(move || {
        let mut conn = conn(connect_to_smol(8081));
        let mut body: &[u8] = &sent;
        let n = conn.send_file(&mut sender_for("from-linux.bin", &sent), &mut body, &mut [0; 8192]);
        let n = n.unwrap();
        // The seed sender closes after the body.
        conn.get_mut().inner_mut().shutdown(std::net::Shutdown::Write).unwrap();
        n
    });
    let mut receive = FileReceive::new(receiver(), DigestSink::default());
    let events = stack.drive("file Linux -> smoltcp, 1 MiB", handle, &mut receive, |_, _| true);
    assert_eq!(peer.join().unwrap(), MIB as u64);
    let len = MIB as u64;
    assert_eq!(events, [FileEvent::Header { filesize: len }, FileEvent::Done { len }]);
    let sink = receive.sink();
    assert_eq!((sink.name.as_str(), sink.len), ("from-linux.bin", len));
    assert_eq!(sink.digest, Some(md5_of(&data)), "smoltcp got different bytes");
}

fn seed_auth(stack: &mut Stack) {
    // smoltcp verifies, Linux proves: right key, then wrong key.
    for (key, want) in
        [(KEY, Outcome::Authenticated), (WRONG_KEY, Outcome::PeerRejected(RejectReason::WrongMac))]
    {
        let handle = stack.listen(8066);
        let peer =
            linux(move || authenticate(&mut conn(connect_to_smol(8066)), SeedProver::new(key)));
        let challenge: [u8; 32] = test_bytes(32, 5).try_into().unwrap();
        let what = format!("seed auth, smoltcp verifies, {want:?}");
        let outcome = drive_handshake(stack, &what, handle, SeedVerifier::new(KEY, challenge));
        assert_eq!(outcome, want);
        assert_eq!(peer.join().unwrap(), Outcome::Answered);
    }
    // Linux verifies, smoltcp proves.
    let listener = listen_linux(8067);
    let peer = linux(move || {
        let challenge: [u8; 32] = test_bytes(32, 6).try_into().unwrap();
        authenticate(&mut conn(accept(&listener)), SeedVerifier::new(KEY, challenge))
    });
    let handle = stack.connect(8067, 50_002);
    let outcome = drive_handshake(stack, "seed auth, Linux verifies", handle, SeedProver::new(KEY));
    assert_eq!(outcome, Outcome::Answered);
    assert_eq!(peer.join().unwrap(), Outcome::Authenticated);
}

fn mp(key: &[u8], order: Order, mode: ChallengeMode, seed: u32) -> MpHandshake<'_> {
    let random: [u8; 40] = test_bytes(40, seed).try_into().unwrap();
    MpHandshake::new(key, order, mode, MpPolicy::COMPATIBLE, random)
}

fn mp_auth(stack: &mut Stack) {
    // smoltcp accepts ({sha256}), the Linux client connects.
    let handle = stack.listen(6000);
    let peer = linux(|| {
        let h = mp(KEY, Order::ClientSide, ChallengeMode::SHA256, 1);
        authenticate(&mut conn(connect_to_smol(6000)), h)
    });
    let h = mp(KEY, Order::ListenerSide, ChallengeMode::SHA256, 2);
    let outcome = drive_handshake(stack, "mp auth {sha256}, smoltcp listens", handle, h);
    assert_eq!(outcome, Outcome::Authenticated);
    assert_eq!(peer.join().unwrap(), Outcome::Authenticated);

    // The Linux side accepts (legacy), smoltcp connects; then a wrong key.
    for (key, want_smol, want_linux) in [
        (KEY, Outcome::Authenticated, Outcome::Authenticated),
        (WRONG_KEY, Outcome::Refused, Outcome::PeerRejected(RejectReason::WrongMac)),
    ] {
        let listener = listen_linux(6001);
        let peer = linux(move || {
            let h = mp(KEY, Order::ListenerSide, ChallengeMode::Legacy, 3);
            authenticate(&mut conn(accept(&listener)), h)
        });
        let handle = stack.connect(6001, 50_003);
        let h = mp(key, Order::ClientSide, ChallengeMode::Legacy, 4);
        let what = format!("mp auth legacy, Linux listens, smoltcp {want_smol:?}");
        assert_eq!(drive_handshake(stack, &what, handle, h), want_smol);
        assert_eq!(peer.join().unwrap(), want_linux);
    }
}

/// CPython's own `multiprocessing.connection.Client` (3.11 here: legacy HMAC-MD5) against
/// the smoltcp listener, then one `send_bytes` frame that must stay in the socket for the
/// next machine.
fn mp_auth_with_python(stack: &mut Stack) {
    let python = Command::new("python3").arg("--version").output();
    if !python.is_ok_and(|o| o.status.success()) {
        skip::skip("mp auth with CPython (in the TAP test)", "no python3");
        return;
    }
    let handle = stack.listen(6002);
    let script = format!(
        "from multiprocessing.connection import Client\n\
         c = Client(('{}', 6002), authkey={})\n\
         c.send_bytes(b'hello from python')\n\
         c.close()\n",
        smol_ip(),
        python_bytes(KEY)
    );
    // The child inherits this thread's namespace.
    let child = Command::new("python3").args(["-c", &script]).spawn().unwrap();
    let h = mp(KEY, Order::ListenerSide, ChallengeMode::Legacy, 7);
    let mut auth = Authenticate::new(h);
    let mut verdict = None;
    // Handshake, then the frame behind it on the same socket.
    stack.run("mp auth with CPython Client", |sockets| {
        let socket = sockets.get_mut::<tcp::Socket>(handle);
        verdict = auth.poll(socket).unwrap();
        if verdict.is_some() {
            Flow::Done
        } else if auth.progress().is_idle() {
            Flow::Idle
        } else {
            Flow::Busy
        }
    });
    assert_eq!(verdict, Some(Outcome::Authenticated));
    let mut frames = TcpPump::new(FrameDecoder::new(FrameConfig::mp()));
    let mut payload = Vec::new();
    let mut ended = false;
    stack.run("CPython frame after the handshake", |sockets| {
        let socket = sockets.get_mut::<tcp::Socket>(handle);
        let progress = frames
            .poll(socket, |_, event| match event {
                FrameEvent::Data { chunk, .. } => payload.extend_from_slice(chunk),
                FrameEvent::End => ended = true,
                FrameEvent::Start { .. } => {}
            })
            .unwrap();
        if ended {
            Flow::Done
        } else if progress.is_idle() {
            Flow::Idle
        } else {
            Flow::Busy
        }
    });
    assert_eq!(payload, b"hello from python");
    let status = wait_child(child);
    assert!(status.success(), "python3 failed: {status}");
    stack.sockets.get_mut::<tcp::Socket>(handle).abort();
    stack.run("drop", |_| Flow::Done);
    stack.sockets.remove(handle);
}

fn python_bytes(bytes: &[u8]) -> String {
    let mut s = String::from("b'");
    for b in bytes {
        s += &format!("\\x{b:02x}");
    }
    s + "'"
}

fn wait_child(mut child: std::process::Child) -> std::process::ExitStatus {
    let start = StdInstant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > IO_TIMEOUT {
            let _ = child.kill();
            panic!("python3 did not finish");
        }
        thread::sleep(StdDuration::from_millis(10));
    }
}

/// What the firmware does: seed auth, then the file right behind it on the same
/// connection (the Linux side writes answer, header and body back to back, so they arrive
/// together and the handshake must leave the file's bytes in the socket).
fn seed_auth_then_file_from_linux(stack: &mut Stack) {
    let data = test_bytes(200_000, 79);
    let handle = stack.listen(8082);
    let sent = data.clone();
    let peer = linux(move || {
        let mut conn = conn(connect_to_smol(8082));
        let outcome = authenticate(&mut conn, SeedProver::new(KEY));
        let mut body: &[u8] = &sent;
        conn.send_file(&mut sender_for("after-auth.bin", &sent), &mut body, &mut [0; 4096])
            .unwrap();
        outcome
    });
    let challenge: [u8; 32] = test_bytes(32, 8).try_into().unwrap();
    let mut session = Session::new(
        SeedVerifier::new(KEY, challenge),
        FileReceive::new(receiver(), DigestSink::default()),
    );
    let events =
        stack.drive("seed auth + 200 kB file from Linux", handle, &mut session, |_, _| true);
    assert_eq!(peer.join().unwrap(), Outcome::Answered);
    let len = data.len() as u64;
    assert_eq!(
        events,
        [
            SessionEvent::Verdict(Outcome::Authenticated),
            SessionEvent::Exchange(FileEvent::Header { filesize: len }),
            SessionEvent::Exchange(FileEvent::Done { len }),
        ]
    );
    assert_eq!(session.exchange().sink().digest, Some(md5_of(&data)));
}

/// Seed auth, then framed commands from a Linux controller (the core's `Controller` over
/// `Conn`), answered by a `CommandTable` on smoltcp, then `q`.
fn seed_auth_then_commands_from_linux(stack: &mut Stack) {
    const ENTRIES: &[(&[u8], &[u8])] = &[(b"dir", b"image.bin\n"), (b"ver", b"wirekit 0.1\n")];
    const TABLE: CommandTable<'static> = CommandTable::new(ENTRIES);
    let handle = stack.listen(8090);
    let peer = linux(|| {
        let mut conn = conn(connect_to_smol(8090));
        let outcome = authenticate(&mut conn, SeedProver::new(KEY));
        let mut controller: Controller = Controller::new(Mode::seed_framed());
        let mut replies = Vec::new();
        for command in [&b"dir"[..], b"nope", b"ver"] {
            controller.send_command(command).unwrap();
            let mut reply = Vec::new();
            conn.drive(&mut controller, |_, event| match event {
                CoreControllerEvent::ReplyData { chunk, .. } => {
                    reply.extend_from_slice(chunk);
                    ControlFlow::Continue(())
                }
                CoreControllerEvent::ReplyEnd => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            })
            .unwrap();
            replies.push(reply);
        }
        controller.send_command(b"q").unwrap();
        conn.drive(&mut controller, |_, _| ControlFlow::<()>::Continue(())).unwrap();
        (outcome, replies)
    });
    let challenge: [u8; 32] = test_bytes(32, 9).try_into().unwrap();
    let (mut stdout, mut stderr) = ([0u8; 256], [0u8; 64]);
    let agent: Agent = Agent::new(Mode::seed_framed());
    let mut session = Session::new(
        SeedVerifier::new(KEY, challenge),
        CommandAgent::new(agent, TABLE, SliceOutput::new(&mut stdout, &mut stderr)),
    );
    let events =
        stack.drive("seed auth + 3 commands from Linux", handle, &mut session, |_, _| true);
    let (outcome, replies) = peer.join().unwrap();
    assert_eq!(outcome, Outcome::Answered);
    assert_eq!(replies, [&b"image.bin\n"[..], CommandTable::UNKNOWN, b"wirekit 0.1\n"]);
    assert_eq!(events.first(), Some(&SessionEvent::Verdict(Outcome::Authenticated)));
    assert_eq!(events.last(), Some(&SessionEvent::Exchange(AgentEvent::Quit)));
    assert_eq!(events.len(), 5, "{events:?}");
}

fn udp_hello_bye(stack: &mut Stack) {
    let buf = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]);
    let mut socket = udp::Socket::new(buf(), buf());
    socket.bind(8096).unwrap();
    let handle = stack.sockets.add(socket);
    let link_max = unfragmented_max_payload(&stack.device_caps(), IpVersion::V4);
    let peer = linux(|| {
        let socket = UdpSocket::bind(SocketAddr::from((linux_ip(), 0))).unwrap();
        socket.set_read_timeout(Some(StdDuration::from_millis(200))).unwrap();
        let to = SocketAddr::from((smol_ip(), 8096));
        let mut buf = [0u8; 64];
        // UDP may be lost before ARP settles: resend until the answer comes, bounded.
        for _ in 0..50 {
            socket.send_to(b"hello", to).unwrap();
            if let Ok((n, from)) = socket.recv_from(&mut buf) {
                return (buf[..n].to_vec(), from);
            }
        }
        panic!("no answer from smoltcp");
    });
    let mut answered = 0;
    stack.run("UDP hello/bye", |sockets| {
        let socket = sockets.get_mut::<udp::Socket>(handle);
        let mut buf = [0u8; 64];
        let mut busy = false;
        while let Some((n, from)) = recv_datagram_into(socket, &mut buf).unwrap() {
            assert_eq!(&buf[..n], b"hello");
            send_datagram(socket, from, b"bye", link_max).unwrap();
            answered += 1;
            busy = true;
        }
        if answered > 0 && peer.is_finished() {
            Flow::Done
        } else if busy {
            Flow::Busy
        } else {
            Flow::Idle
        }
    });
    let (reply, from) = peer.join().unwrap();
    assert_eq!(reply, b"bye");
    assert_eq!(from, SocketAddr::from((smol_ip(), 8096)), "the reply comes from the server port");
    stack.sockets.remove(handle);
}

// ---------------------------------------------------------------------------------------
// The `wirekit` binary (Linux TCP) as the peer. Children are started from the test thread,
// which is in the namespace, so they are too; they bind the namespace-side address.

fn key_text(key: &[u8]) -> &str {
    std::str::from_utf8(key).unwrap()
}

/// `wirekit ARGS… --listen 10.77.0.1:0 --once --timeout T`, started, with its port.
fn wirekit_server(args: &[&str], name: &str) -> (Child, u16) {
    let listen = format!("{}:0", linux_ip());
    let mut all = args.to_vec();
    all.extend(["--listen", &listen, "--once", "--timeout", CHILD_TIMEOUT]);
    let mut child = Child::spawn(wirekit(&all), name);
    let addr = child.wait_listening();
    assert_eq!(addr.ip(), linux_ip(), "{name} listens on the namespace side");
    (child, addr.port())
}

/// `wirekit file send PATH --listen` → smoltcp `FileReceive`, 1 MiB, digest compared.
fn wirekit_file_send_to_smoltcp(stack: &mut Stack) {
    let data = test_bytes(MIB, 80);
    let dir = TempDir::new("send");
    let path = dir.path().join("from-wirekit.bin");
    std::fs::write(&path, &data).unwrap();
    let path = path.to_str().unwrap();
    let (server, port) = wirekit_server(&["file", "send", path], "wirekit file send");
    let handle = stack.connect(port, 50_010);
    let mut receive = FileReceive::new(receiver(), DigestSink::default());
    let events =
        stack.drive("wirekit file send -> smoltcp, 1 MiB", handle, &mut receive, |_, _| true);
    let out = server.wait(CHILD_LIMIT);
    assert_eq!(out.code, Some(0), "wirekit file send:\n{out}");
    let len = MIB as u64;
    assert_eq!(events, [FileEvent::Header { filesize: len }, FileEvent::Done { len }]);
    let sink = receive.sink();
    assert_eq!((sink.name.as_str(), sink.len), ("from-wirekit.bin", len));
    assert_eq!(sink.digest, Some(md5_of(&data)), "smoltcp got different bytes from wirekit");
}

/// smoltcp `FileSend` listening → `wirekit file recv --connect --dir D`, 1 MiB; the file is
/// in `D` under its header name (renamed into place) with the same bytes, and nothing else.
fn smoltcp_file_send_to_wirekit(stack: &mut Stack) {
    let data = test_bytes(MIB, 81);
    let dir = TempDir::new("recv");
    let handle = stack.listen(8180);
    let connect = format!("{}:8180", smol_ip());
    let dir_arg = dir.path().to_str().unwrap();
    let args = ["file", "recv", "--connect", &connect, "--dir", dir_arg];
    let client = Child::spawn(
        wirekit(&[&args[..], &["--timeout", CHILD_TIMEOUT]].concat()),
        "wirekit file recv",
    );
    let mut send = FileSend::new(sender_for("to-wirekit.bin", &data), SliceSource::new(&data));
    let events = stack.drive("smoltcp -> wirekit file recv, 1 MiB", handle, &mut send, |_, _| true);
    assert_eq!(events, [FileEvent::Done { len: MIB as u64 }]);
    let out = client.wait(CHILD_LIMIT);
    assert_eq!(out.code, Some(0), "wirekit file recv:\n{out}");
    let saved = dir.path().join("to-wirekit.bin");
    let got = std::fs::read(&saved).unwrap_or_else(|e| panic!("{}: {e}\n{out}", saved.display()));
    assert_eq!(got.len(), data.len());
    assert!(got == data, "wirekit saved different bytes");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["to-wirekit.bin"], "no temporary file left behind");
}

/// `wirekit auth server` (seed) judges smoltcp's `SeedProver`: legit with the key, exit 5
/// and `illegitimate` with another.
fn seed_auth_against_wirekit_server(stack: &mut Stack) {
    for (local_port, key, want_code) in [(50_011, KEY, 0), (50_012, WRONG_KEY, 5)] {
        let args = ["auth", "server", "--key", key_text(KEY)];
        let (server, port) = wirekit_server(&args, "wirekit auth server");
        let handle = stack.connect(port, local_port);
        let what = format!("seed auth, wirekit server judges, expects exit {want_code}");
        let outcome = drive_handshake(stack, &what, handle, SeedProver::new(key));
        assert_eq!(outcome, Outcome::Answered, "the seed prover learns no verdict");
        let out = server.wait(CHILD_LIMIT);
        assert_eq!(out.code, Some(want_code), "{what}:\n{out}");
        if want_code == 0 {
            assert!(out.has_line("合法的客户端 legit client"), "{what}:\n{out}");
        } else {
            let line = "不合法的客户端 illegitimate client";
            assert!(out.stdout.lines().any(|l| l.starts_with(line)), "{what}:\n{out}");
        }
    }
}

/// mp auth with `wirekit auth --profile mp` on both sides of the connection.
fn mp_auth_against_wirekit(stack: &mut Stack) {
    // wirekit listens ({sha256} challenge), smoltcp connects (legacy challenge).
    for (local_port, key, want_smol, want_code) in
        [(50_013, KEY, Outcome::Authenticated, 0), (50_014, WRONG_KEY, Outcome::Refused, 5)]
    {
        let args =
            ["auth", "server", "--profile", "mp", "--mp-digest", "sha256", "--key", key_text(KEY)];
        let (server, port) = wirekit_server(&args, "wirekit auth server --profile mp");
        let handle = stack.connect(port, local_port);
        let h = mp(key, Order::ClientSide, ChallengeMode::Legacy, 10);
        let what = format!("mp auth, wirekit server, smoltcp {want_smol:?}");
        assert_eq!(drive_handshake(stack, &what, handle, h), want_smol);
        let out = server.wait(CHILD_LIMIT);
        assert_eq!(out.code, Some(want_code), "{what}:\n{out}");
        if want_code == 0 {
            assert!(out.has_line("合法的客户端 legit client"), "{what}:\n{out}");
        }
    }
    // smoltcp listens ({sha256}), `wirekit auth client` connects (legacy).
    for (key, want_smol, want_code) in [
        (KEY, Outcome::Authenticated, 0),
        (WRONG_KEY, Outcome::PeerRejected(RejectReason::WrongMac), 5),
    ] {
        let handle = stack.listen(6100);
        let connect = format!("{}:6100", smol_ip());
        let args = [
            "auth",
            "client",
            "--profile",
            "mp",
            "--connect",
            &connect,
            "--key",
            key_text(key),
            "--timeout",
            CHILD_TIMEOUT,
        ];
        let client = Child::spawn(wirekit(&args), "wirekit auth client --profile mp");
        let h = mp(KEY, Order::ListenerSide, ChallengeMode::SHA256, 11);
        let what = format!("mp auth, smoltcp listens, smoltcp {want_smol:?}");
        assert_eq!(drive_handshake(stack, &what, handle, h), want_smol);
        let out = client.wait(CHILD_LIMIT);
        assert_eq!(out.code, Some(want_code), "{what}:\n{out}");
    }
}

/// Run one scenario and print its wall time (children's start and exit included).
fn timed(what: &str, scenario: impl FnOnce()) {
    let start = StdInstant::now();
    scenario();
    println!("== {what}: {:.3} s", start.elapsed().as_secs_f64());
}

impl Stack {
    fn device_caps(&self) -> phy::DeviceCapabilities {
        phy::Device::capabilities(&self.device)
    }
}

#[test]
fn against_linux_tcp_in_a_network_namespace() {
    if let Some(reason) = skip_reason() {
        skip::skip("the TAP test", &reason);
        return;
    }
    // Built before entering the namespace: cargo may need the root namespace's network.
    let start = StdInstant::now();
    let bin = wirekit_bin();
    println!("wirekit: {} ({:.1} s)", bin.display(), start.elapsed().as_secs_f64());
    let start = StdInstant::now();
    let ns = Netns::create();
    ns.enter();
    let mut stack = Stack::new(&ns);
    let stack = &mut stack;
    timed("file smoltcp -> core Conn", || file_smoltcp_to_linux(stack));
    timed("file core Conn -> smoltcp", || file_linux_to_smoltcp(stack));
    timed("seed auth vs core Conn", || seed_auth(stack));
    timed("mp auth vs core Conn", || mp_auth(stack));
    timed("mp auth vs CPython", || mp_auth_with_python(stack));
    timed("seed auth + file", || seed_auth_then_file_from_linux(stack));
    timed("seed auth + commands", || seed_auth_then_commands_from_linux(stack));
    timed("UDP", || udp_hello_bye(stack));
    timed("wirekit file send -> smoltcp", || wirekit_file_send_to_smoltcp(stack));
    timed("smoltcp -> wirekit file recv", || smoltcp_file_send_to_wirekit(stack));
    timed("seed auth vs wirekit auth server", || seed_auth_against_wirekit_server(stack));
    timed("mp auth vs wirekit auth server/client", || mp_auth_against_wirekit(stack));
    println!("tap test: all scenarios in {:.3} s", start.elapsed().as_secs_f64());
}
