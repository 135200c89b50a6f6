//! The core's secure channel (docs/protocol.md section 5) against two independent Noise
//! implementations, in both roles: Rust's `snow` in memory, and Python's `noiseprotocol`
//! (`tests/python/noise_peer.py`) over loopback TCP, the core side driven by the core's own
//! blocking pump (`io::Conn`) over a std stream.

use std::net::{TcpListener, TcpStream};
use std::ops::ControlFlow;

use wirekit_core::io::{Conn, DriveError};
use wirekit_core::secure::{
    record_len, rx_buf_len, Buffers, ChannelError, ChannelEvent, Config, InnerHandler, Psk, Role,
    SecureChannel, SecureError, MAX_PLAINTEXT_LIMIT,
};
use wirekit_core::{Handled, Machine};
use wirekit_std::link::StdIo;
use wirekit_tests::{args, python, Child, CHILD_LIMIT};

const KEY: &str = "interop key, at least 16 bytes";
const PROTOCOL: &str = "Noise_NNpsk0_25519_ChaChaPoly_SHA256";

/// A raw byte stream as the inner exchange: sends `out`, hands each received chunk on.
#[derive(Debug, Default)]
struct Stream {
    out: Vec<u8>,
    sent: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoError {}
impl std::fmt::Display for NoError {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}
impl std::error::Error for NoError {}

impl Machine for Stream {
    type Event<'i> = &'i [u8];
    type Error = NoError;
    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<&'i [u8]>, NoError> {
        Ok(if input.is_empty() { Handled::consumed(0) } else { Handled::event(input.len(), input) })
    }
    fn handle_eof(&mut self) -> Result<Option<&'static [u8]>, NoError> {
        Ok(None)
    }
    fn output_buf(&self) -> &[u8] {
        self.out.get(self.sent..).unwrap_or(&[])
    }
    fn consume_output(&mut self, n: usize) {
        self.sent += n;
    }
    fn is_done(&self) -> bool {
        self.sent == self.out.len()
    }
}

struct Chunks;
impl InnerHandler<Stream> for Chunks {
    type Output = Vec<u8>;
    fn on_inner_event(&mut self, _: &mut Stream, chunk: &[u8]) -> Option<Vec<u8>> {
        Some(chunk.to_vec())
    }
}

fn ephemeral() -> [u8; 32] {
    let mut e = [0u8; 32];
    getrandom::fill(&mut e).unwrap();
    e
}

struct Bufs {
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl Bufs {
    fn new(limit: u16) -> Self {
        Self { rx: vec![0; rx_buf_len(limit)], tx: vec![0; record_len(MAX_PLAINTEXT_LIMIT.into())] }
    }
}

fn channel<'b>(
    role: Role,
    key: &str,
    limit: u16,
    bufs: &'b mut Bufs,
    send: &[u8],
) -> SecureChannel<'b, Stream, Chunks> {
    let psk = Psk::derive(key.as_bytes()).unwrap();
    let config = Config { role, service: b"tcp", max_plaintext: limit };
    let buffers = Buffers { rx: &mut bufs.rx, tx: &mut bufs.tx };
    let inner = Stream { out: send.to_vec(), sent: 0 };
    SecureChannel::new(&config, &psk, ephemeral(), buffers, inner, Chunks).unwrap()
}

type CoreResult = Result<(Vec<u8>, u16), DriveError<std::io::Error, ChannelError<NoError>>>;

/// Run the core side on `stream` until both close_notifys went through: what it received and
/// the peer's limit.
fn run_core(stream: TcpStream, role: Role, key: &str, limit: u16, send: &[u8]) -> CoreResult {
    let mut bufs = Bufs::new(limit);
    let mut ch = channel(role, key, limit, &mut bufs, send);
    let mut conn: Conn<StdIo<TcpStream>> = Conn::new(StdIo(stream));
    let mut got = Vec::new();
    conn.drive(&mut ch, |ch, event| {
        match event {
            ChannelEvent::Inner(chunk) => got.extend_from_slice(&chunk),
            ChannelEvent::InnerDone => ch.close(),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    })?;
    Ok((got, ch.peer_limit().unwrap_or(0)))
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `noise_peer.py` arguments; it sends `data(send_len, seed)`.
fn peer_args(
    mode: &str,
    port: &str,
    key: &str,
    limit: u16,
    send_len: usize,
    seed: u8,
) -> Vec<String> {
    let fixed = [mode, "127.0.0.1", port, "tcp", key, "--limit"].map(String::from);
    let rest = [limit.to_string(), "--send-len".into(), send_len.to_string()];
    fixed.into_iter().chain(rest).chain(["--send-seed".into(), seed.to_string()]).collect()
}

#[test]
fn python_initiator_and_core_responder() {
    if !wirekit_tests::noise_peer_can_run("python_initiator_and_core_responder") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let (to_core, to_python) = (data(70_000, 1), data(9_000, 2));
    let peer = Child::spawn(
        args(python("noise_peer.py"), peer_args("connect", &port, KEY, 1000, 70_000, 1)),
        "noise_peer.py connect",
    );
    let (stream, _) = listener.accept().unwrap();
    let (got, peer_limit) = run_core(stream, Role::Responder, KEY, 4078, &to_python).unwrap();
    assert_eq!(peer_limit, 1000);
    assert_eq!(got, to_core);
    let out = peer.wait_output(CHILD_LIMIT);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.lines(), ["peer_limit 4078", &*format!("received {}", hex(&to_python))]);
}

#[test]
fn core_initiator_and_python_responder() {
    if !wirekit_tests::noise_peer_can_run("core_initiator_and_python_responder") {
        return;
    }
    let (to_core, to_python) = (data(5_000, 3), data(100_000, 4));
    let (peer, addr) = Child::server(
        args(python("noise_peer.py"), peer_args("listen", "0", KEY, 65_519, 5_000, 3)),
        "noise_peer.py listen",
    );
    let stream = TcpStream::connect(addr).unwrap();
    let (got, peer_limit) = run_core(stream, Role::Initiator, KEY, 64, &to_python).unwrap();
    assert_eq!(peer_limit, 65_519);
    assert_eq!(got, to_core);
    let out = peer.wait_output(CHILD_LIMIT);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.lines(), ["peer_limit 64", &*format!("received {}", hex(&to_python))]);
}

#[test]
fn a_wrong_key_fails_the_handshake_against_python_in_both_roles() {
    if !wirekit_tests::noise_peer_can_run(
        "a_wrong_key_fails_the_handshake_against_python_in_both_roles",
    ) {
        return;
    }
    let other = "a different key of 16+ bytes";
    // Python initiates, the core refuses message 1 and closes: Python exits 5.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let peer = Child::spawn(
        args(python("noise_peer.py"), peer_args("connect", &port, other, 1000, 0, 0)),
        "noise_peer.py connect",
    );
    let (stream, _) = listener.accept().unwrap();
    let err = run_core(stream, Role::Responder, KEY, 1000, b"").unwrap_err();
    assert!(matches!(err, DriveError::Protocol(ChannelError::Secure(SecureError::HandshakeAuth))));
    assert_eq!(peer.wait_output(CHILD_LIMIT).code(), 5);

    // The core initiates, Python refuses: the core sees the close where message 2 should be.
    let (peer, addr) = Child::server(
        args(python("noise_peer.py"), peer_args("listen", "0", other, 1000, 0, 0)),
        "noise_peer.py listen",
    );
    let err = run_core(TcpStream::connect(addr).unwrap(), Role::Initiator, KEY, 1000, b"");
    let err = err.unwrap_err();
    assert!(
        matches!(err, DriveError::Protocol(ChannelError::Secure(SecureError::Refused))),
        "{err:?}"
    );
    assert_eq!(peer.wait_output(CHILD_LIMIT).code(), 5);
}

fn snow_builder<'a>(psk: &'a [u8; 32], prologue: &'a [u8]) -> snow::Builder<'a> {
    snow::Builder::new(PROTOCOL.parse().unwrap()).psk(0, psk).unwrap().prologue(prologue).unwrap()
}

/// The bodies of the length-prefixed messages in `wire`.
fn messages(mut wire: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        let len = usize::from(u16::from_be_bytes([wire[0], wire[1]]));
        out.push(wire[2..2 + len].to_vec());
        wire = &wire[2 + len..];
    }
    out
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn drain<M: Machine>(m: &mut M) -> Vec<u8> {
    let out = m.output_buf().to_vec();
    m.consume_output(out.len());
    out
}

/// Feed the core channel `input`, closing when its inner stream is done; the received bytes.
fn feed(ch: &mut SecureChannel<'_, Stream, Chunks>, mut input: &[u8], got: &mut Vec<u8>) {
    loop {
        let step = ch.handle_input(input).unwrap();
        input = &input[step.consumed..];
        match step.event {
            Some(ChannelEvent::Inner(chunk)) => got.extend_from_slice(&chunk),
            Some(ChannelEvent::InnerDone) => ch.close(),
            Some(_) => {}
            None if step.consumed == 0 => break,
            None => {}
        }
    }
    assert!(input.is_empty());
}

/// One session between the core (in `core_role`) and snow, in memory.
fn with_snow(core_role: Role) {
    let psk = Psk::derive(KEY.as_bytes()).unwrap();
    let prologue = b"wirekit/1 tcp";
    let (to_snow, to_core) = (data(3_000, 5), data(20_000, 6));
    let mut bufs = Bufs::new(1000);
    let mut core = channel(core_role, KEY, 1000, &mut bufs, &to_snow);
    let builder = snow_builder(psk.as_bytes(), prologue);
    let mut snow = match core_role {
        Role::Initiator => builder.build_responder().unwrap(),
        Role::Responder => builder.build_initiator().unwrap(),
    };
    let mut buf = vec![0u8; 65_535];
    let mut got = Vec::new();
    if core_role == Role::Responder {
        let n = snow.write_message(&4000u16.to_be_bytes(), &mut buf).unwrap();
        feed(&mut core, &framed(&buf[..n]), &mut got);
    }
    // A responder may send records right behind message 2; keep them for later.
    let mut msg = messages(&drain(&mut core));
    let early = msg.split_off(1);
    assert_eq!(msg[0].len(), 50);
    let n = snow.read_message(&msg[0], &mut buf).unwrap();
    assert_eq!(buf[..n], 1000u16.to_be_bytes());
    if core_role == Role::Initiator {
        let n = snow.write_message(&4000u16.to_be_bytes(), &mut buf).unwrap();
        feed(&mut core, &framed(&buf[..n]), &mut got);
    }
    assert_eq!(core.peer_limit(), Some(4000));
    assert_eq!(snow.get_handshake_hash(), core.handshake_hash().unwrap());
    let mut snow = snow.into_transport_mode().unwrap();

    // snow -> core: records of at most our limit, then close_notify.
    let mut wire = Vec::new();
    for chunk in to_core.chunks(1000).chain([&[][..]]) {
        let n = snow.write_message(chunk, &mut buf).unwrap();
        wire.extend_from_slice(&framed(&buf[..n]));
    }
    feed(&mut core, &wire, &mut got);
    assert_eq!(got, to_core);
    assert!(core.peer_closed());

    // core -> snow: everything, then close_notify (the core closed when its stream was sent).
    let mut received = Vec::new();
    let bodies = [early, messages(&drain(&mut core))].concat();
    assert!(bodies.iter().all(|b| b.len() <= 4000 + 16));
    let (last, data) = bodies.split_last().unwrap();
    for body in data {
        let n = snow.read_message(body, &mut buf).unwrap();
        assert!(n > 0);
        received.extend_from_slice(&buf[..n]);
    }
    assert_eq!(snow.read_message(last, &mut buf).unwrap(), 0, "close_notify last");
    assert_eq!(received, to_snow);
    assert!(core.is_done());
    assert_eq!(core.handle_eof(), Ok(None));
}

#[test]
fn core_initiator_and_snow_responder() {
    with_snow(Role::Initiator);
}

#[test]
fn snow_initiator_and_core_responder() {
    with_snow(Role::Responder);
}

#[test]
fn a_record_altered_in_transit_fails_against_snow() {
    let psk = Psk::derive(KEY.as_bytes()).unwrap();
    let mut bufs = Bufs::new(1000);
    let mut core = channel(Role::Responder, KEY, 1000, &mut bufs, b"");
    let mut snow = snow_builder(psk.as_bytes(), b"wirekit/1 tcp").build_initiator().unwrap();
    let mut buf = vec![0u8; 1000];
    let n = snow.write_message(&1000u16.to_be_bytes(), &mut buf).unwrap();
    let mut got = Vec::new();
    feed(&mut core, &framed(&buf[..n]), &mut got);
    snow.read_message(&messages(&drain(&mut core))[0], &mut buf).unwrap();
    let mut snow = snow.into_transport_mode().unwrap();
    let n = snow.write_message(b"echo hello", &mut buf).unwrap();
    buf[3] ^= 0x20;
    let err = core.handle_input(&framed(&buf[..n])).unwrap_err();
    assert_eq!(err, ChannelError::Secure(SecureError::RecordTag));
    assert!(!core.peer_authenticated());
}
