//! The device's secure sessions (auth, file into a sink, framed commands) over the simulated
//! link, against the core's own initiator (`SecureChannel` as `Role::Initiator`, driven by
//! the same pump): each service's happy path, a wrong key, a tampered record, and a stream
//! cut without close_notify (nothing committed, nothing reported done).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod machines;
mod sim;

use std::fmt::Debug;

use machines::{md5_of, test_bytes, DigestSink};
use sim::{connect_tcp, Faults, Flow, Limits, Peer, Sim};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::{FileHeader, MAX_HEADER_LEN};
use wirekit_core::secure::{
    rx_buf_len, Buffers, ChannelEvent, Config, InnerHandler, Psk, Role, SecureChannel, SecureError,
};
use wirekit_core::transfer::{FileReceiver, FileSender};
use wirekit_core::{Handled, Machine};
use wirekit_smoltcp::session::secure::{DeviceEvent, FramedCommandError};
use wirekit_smoltcp::{
    AgentEvent, CommandOutput, Exchange, FileEvent, Progress, PumpError, SecureAuth,
    SecureCommandAgent, SecureDevice, SecureEvent, SecureFileReceive, SliceOutput,
    DEVICE_PLAINTEXT_LIMIT,
};

const KEY: &[u8] = b"a 32-byte key, shared by both!!!";
const WRONG_KEY: &[u8] = b"a 32-byte key, but not the same!";
const EPH_PC: [u8; 32] = [0x5a; 32];
const EPH_DEVICE: [u8; 32] = [0xa5; 32];
const FAULTS: [Faults; 3] = [
    Faults { drop_pct: 0, corrupt_pct: 0, seed: 1 },
    Faults { drop_pct: 10, corrupt_pct: 0, seed: 42 },
    Faults { drop_pct: 10, corrupt_pct: 1, seed: 2024 },
];

fn leak(len: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; len].into_boxed_slice())
}

/// A device's buffers: one record of its limit in, a small send buffer.
fn device_buffers() -> Buffers<'static> {
    device_buffers_tx(600)
}

fn device_buffers_tx(tx: usize) -> Buffers<'static> {
    Buffers { rx: leak(rx_buf_len(DEVICE_PLAINTEXT_LIMIT)), tx: leak(tx) }
}

// ---------------------------------------------------------------------------------------
// The PC side: the core's initiator around a script of plaintext.

/// Sends `out` as plaintext and collects everything that decrypted.
#[derive(Default)]
struct Script {
    out: Vec<u8>,
    sent: usize,
}

impl Machine for Script {
    type Event<'i> = &'i [u8];
    type Error = machines::Unexpected;
    fn handle_input<'i>(
        &mut self,
        input: &'i [u8],
    ) -> Result<Handled<&'i [u8]>, machines::Unexpected> {
        Ok(if input.is_empty() { Handled::consumed(0) } else { Handled::event(input.len(), input) })
    }
    fn handle_eof(&mut self) -> Result<Option<&'static [u8]>, machines::Unexpected> {
        Ok(None)
    }
    fn output_buf(&self) -> &[u8] {
        &self.out[self.sent..]
    }
    fn consume_output(&mut self, n: usize) {
        self.sent += n;
    }
    fn is_done(&self) -> bool {
        false
    }
}

#[derive(Default)]
struct Collect(Vec<u8>);
impl InnerHandler<Script> for Collect {
    type Output = ();
    fn on_inner_event(&mut self, _: &mut Script, chunk: &[u8]) -> Option<()> {
        self.0.extend_from_slice(chunk);
        None
    }
}

type PcChannel = SecureChannel<'static, Script, Collect>;

/// The channel's records, with one bit flipped at byte `flip_at` of the stream (a relay
/// that alters a record). Takes the channel's output as soon as it is sealed.
struct Tamper {
    channel: PcChannel,
    out: Vec<u8>,
    offset: usize,
    flip_at: Option<usize>,
}

impl Tamper {
    fn refill(&mut self) {
        loop {
            let bytes = self.channel.output_buf();
            if bytes.is_empty() {
                return;
            }
            let n = bytes.len();
            self.out.extend_from_slice(bytes);
            if let Some(at) = self.flip_at.filter(|at| (self.offset..self.offset + n).contains(at))
            {
                let i = self.out.len() - n + (at - self.offset);
                self.out[i] ^= 0x01;
            }
            self.offset += n;
            self.channel.consume_output(n);
        }
    }
}

impl Machine for Tamper {
    type Event<'i> = ChannelEvent<()>;
    type Error = <PcChannel as Machine>::Error;
    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<ChannelEvent<()>>, Self::Error> {
        let handled = self.channel.handle_input(input);
        self.refill();
        handled
    }
    fn handle_eof(&mut self) -> Result<Option<ChannelEvent<()>>, Self::Error> {
        let handled = self.channel.handle_eof();
        self.refill();
        handled
    }
    fn output_buf(&self) -> &[u8] {
        &self.out
    }
    fn consume_output(&mut self, n: usize) {
        self.out.drain(..n);
        self.refill();
    }
    fn is_done(&self) -> bool {
        self.channel.is_done()
    }
}

/// How the PC ends its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// close_notify once the script is sealed, then wait for the device's.
    CloseNotify,
    /// Close the TCP connection once the script is acknowledged, without close_notify.
    Truncate,
    /// close_notify only once this many plaintext bytes came back (a controller that waits
    /// for its replies: no record of ours follows the commands until then).
    CloseAfter(usize),
}

struct Pc {
    pump: wirekit_smoltcp::TcpPump<Tamper>,
    end: End,
    progress: Progress,
}

impl Pc {
    fn new(key: &[u8], service: &[u8], script: Vec<u8>, end: End, flip_at: Option<usize>) -> Self {
        let psk = Psk::derive(key).unwrap();
        let config = Config { role: Role::Initiator, service, max_plaintext: 65_519 };
        let buffers = Buffers { rx: leak(rx_buf_len(65_519)), tx: leak(4096) };
        let script = Script { out: script, sent: 0 };
        let channel =
            SecureChannel::new(&config, &psk, EPH_PC, buffers, script, Collect::default()).unwrap();
        let mut tamper = Tamper { channel, out: Vec::new(), offset: 0, flip_at };
        tamper.refill();
        Self { pump: wirekit_smoltcp::TcpPump::new(tamper), end, progress: Progress::new() }
    }

    fn received(&self) -> &[u8] {
        &self.pump.machine().channel.handler().0
    }

    fn script_sealed(&self) -> bool {
        let channel = &self.pump.machine().channel;
        channel.is_established() && channel.inner().output_buf().is_empty()
    }
}

impl Exchange for Pc {
    type Event = ChannelEvent<()>;
    type Error = PumpError<<PcChannel as Machine>::Error>;

    fn poll(&mut self, socket: &mut tcp::Socket<'_>) -> Result<Option<Self::Event>, Self::Error> {
        let (progress, event) =
            self.pump.poll_until(socket, |_, event| std::ops::ControlFlow::Break(event))?;
        self.progress = progress;
        let due = match self.end {
            End::CloseNotify => true,
            End::CloseAfter(n) => self.received().len() >= n,
            End::Truncate => false,
        };
        if due && self.script_sealed() {
            let tamper = self.pump.machine_mut();
            if !tamper.channel.close_sent() {
                tamper.channel.close();
                tamper.refill();
                self.progress.events += 1;
            }
        }
        Ok(event)
    }

    fn progress(&self) -> Progress {
        self.progress
    }

    fn is_flushed(&self, socket: &tcp::Socket<'_>) -> bool {
        match self.end {
            End::CloseNotify | End::CloseAfter(_) => self.pump.is_flushed(socket),
            End::Truncate => {
                self.script_sealed()
                    && self.pump.machine().output_buf().is_empty()
                    && socket.send_queue() == 0
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// A two-sided run ([`sim::Peer`] each side, resetting on failure as a device does).

/// Run the PC (A, the TCP client) against the device (B) until both are done.
fn run<D: Exchange>(faults: Faults, pc: &mut Peer<Pc>, device: &mut Peer<D>) {
    let mut sim = Sim::new(faults);
    let (sa, sb) = connect_tcp(&mut sim, 8180, 4096);
    pc.handle = sa;
    device.handle = sb;
    let report = sim
        .run(Limits::default(), |_, a, b| {
            let busy = pc.step(a) | device.step(b);
            if pc.settled(a) && device.settled(b) {
                return Ok(Flow::Done);
            }
            Ok(if busy { Flow::Busy } else { Flow::Idle })
        })
        .unwrap_or_else(|e| panic!("run failed: {e}"));
    println!("{faults:?}: {report}");
}

/// One run of `pc` against `device` on a clean link; both sides back.
fn run_clean<D: Exchange>(pc: Pc, device: D) -> (Peer<Pc>, Peer<D>) {
    let (mut pc, mut device) = (peer(pc), peer(device));
    run(FAULTS[0], &mut pc, &mut device);
    (pc, device)
}

fn peer<X: Exchange>(x: X) -> Peer<X> {
    // The real handle comes from `run`.
    Peer::new(x, SocketHandle::default()).resetting()
}

// ---------------------------------------------------------------------------------------
// Scripts.

fn file_script(data: &[u8]) -> Vec<u8> {
    let header = FileHeader { filename: "image.bin", filepath: "", filesize: data.len() as u64 };
    let sender = FileSender::new(FrameConfig::seed(), &header).unwrap();
    let mut script = sender.output_buf().to_vec();
    script.extend_from_slice(data);
    script
}

fn file_device(key: &[u8]) -> SecureFileReceive<'static, DigestSink> {
    let psk = Psk::derive(key).unwrap();
    let receiver = FileReceiver::new(FrameConfig::seed()).with_max_size(1 << 20);
    SecureFileReceive::new(
        DEVICE_PLAINTEXT_LIMIT,
        &psk,
        EPH_DEVICE,
        device_buffers(),
        receiver,
        DigestSink::default(),
    )
    .unwrap()
}

/// A seed frame per command (section 5: commands are framed inside the channel).
fn command_frames(commands: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in commands {
        out.extend_from_slice(&(c.len() as i32).to_le_bytes());
        out.extend_from_slice(c);
    }
    out
}

/// demo2 replies: `struct.pack('i', n)` then n bytes each.
fn parse_replies(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut replies = Vec::new();
    while bytes.len() >= 4 {
        let len = i32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        replies.push(bytes[4..4 + len].to_vec());
        bytes = &bytes[4 + len..];
    }
    assert!(bytes.is_empty(), "a cut reply: {bytes:?}");
    replies
}

type Handler = fn(&[u8], &mut dyn CommandOutput) -> Result<(), wirekit_smoltcp::OutputFull>;

fn echo_handler(
    command: &[u8],
    out: &mut dyn CommandOutput,
) -> Result<(), wirekit_smoltcp::OutputFull> {
    if command == b"big" {
        out.stdout(&[b'b'; 400])
    } else if command == b"fail" {
        out.stderr(b"unknown command\n")
    } else {
        out.stdout(b"ran ")?;
        out.stdout(command)
    }
}

fn exec_device(key: &[u8]) -> SecureCommandAgent<'static, 'static, Handler, 256> {
    exec_device_tx(key, 600)
}

fn exec_device_tx(key: &[u8], tx: usize) -> SecureCommandAgent<'static, 'static, Handler, 256> {
    let psk = Psk::derive(key).unwrap();
    let out = SliceOutput::new(leak(512), leak(128));
    SecureCommandAgent::new(
        DEVICE_PLAINTEXT_LIMIT,
        &psk,
        EPH_DEVICE,
        device_buffers_tx(tx),
        echo_handler as Handler,
        out,
    )
    .unwrap()
}

fn auth_device(key: &[u8]) -> SecureAuth<'static> {
    let psk = Psk::derive(key).unwrap();
    SecureAuth::new(DEVICE_PLAINTEXT_LIMIT, &psk, EPH_DEVICE, device_buffers()).unwrap()
}

fn secure_error<IE: Debug, SE: Debug>(
    err: &Option<wirekit_smoltcp::SecureSessionError<IE, SE>>,
) -> SecureError {
    err.as_ref().and_then(|e| e.secure_error()).unwrap_or_else(|| panic!("{err:?}"))
}

// ---------------------------------------------------------------------------------------
// Happy paths.

#[test]
fn a_file_arrives_whole_and_is_committed_after_the_senders_close_notify() {
    // Larger than the device's socket buffer and many records of its 1,024-byte limit.
    let data = test_bytes(200_000, 7);
    for faults in FAULTS {
        let mut pc = peer(Pc::new(KEY, b"file", file_script(&data), End::CloseNotify, None));
        let mut device = peer(file_device(KEY));
        run(faults, &mut pc, &mut device);
        assert!(device.error.is_none() && pc.error.is_none(), "{:?} {:?}", device.error, pc.error);
        let sink = device.x.sink();
        assert_eq!((sink.len, sink.name.as_str()), (data.len() as u64, "image.bin"));
        assert_eq!(sink.digest, Some(md5_of(&data)));
        assert!(!sink.aborted);
        assert_eq!(
            device.events,
            [
                SecureEvent::Authenticated,
                SecureEvent::Exchange(FileEvent::Header { filesize: data.len() as u64 }),
                SecureEvent::Exchange(FileEvent::Done { len: data.len() as u64 }),
            ]
        );
        // The PC's channel heard the device's close_notify: its receipt.
        let channel = &pc.x.pump.machine().channel;
        assert!(channel.peer_closed() && channel.is_done() && channel.error().is_none());
        assert_eq!(channel.peer_limit(), Some(DEVICE_PLAINTEXT_LIMIT));
        assert!(pc.x.received().is_empty());
    }
}

#[test]
fn commands_sent_together_are_answered_in_order_and_q_ends_the_session() {
    // Three commands in one record: the second and third wait inside the channel while the
    // first reply goes out (the driver's wake feeds them).
    let script = command_frames(&[b"ver", b"fail", b"uptime", b"q"]);
    for faults in FAULTS {
        let mut pc = peer(Pc::new(KEY, b"exec", script.clone(), End::CloseNotify, None));
        let mut device = peer(exec_device(KEY));
        run(faults, &mut pc, &mut device);
        assert!(device.error.is_none() && pc.error.is_none(), "{:?} {:?}", device.error, pc.error);
        let replies = parse_replies(pc.x.received());
        assert_eq!(
            replies,
            [b"ran ver".to_vec(), b"unknown command\n".to_vec(), b"ran uptime".to_vec()]
        );
        let ran = |command_len, reply_len| {
            SecureEvent::Exchange(AgentEvent::Ran { command_len, reply_len, overflow: None })
        };
        assert_eq!(
            device.events,
            [
                SecureEvent::Authenticated,
                ran(3, 7),
                ran(4, 16),
                ran(6, 10),
                SecureEvent::Exchange(AgentEvent::Quit),
            ]
        );
        assert!(pc.x.pump.machine().channel.peer_closed());
    }
}

#[test]
fn commands_that_wait_inside_the_channel_are_run_with_no_further_record() {
    // The controller sends three commands in one record and nothing more until it has
    // every reply: the second and third sit decrypted in the channel while the first reply
    // goes out, in several records through a 200-byte send buffer, and only the driver's
    // wake feeds them once it is sealed (no new byte arrives to do it).
    let script = command_frames(&[b"big", b"two", b"big"]);
    let replies_len = 3 * 4 + 400 + b"ran two".len() + 400;
    for faults in FAULTS {
        let end = End::CloseAfter(replies_len);
        let mut pc = peer(Pc::new(KEY, b"exec", script.clone(), end, None));
        let mut device = peer(exec_device_tx(KEY, 200));
        run(faults, &mut pc, &mut device);
        assert!(device.error.is_none() && pc.error.is_none(), "{:?} {:?}", device.error, pc.error);
        assert_eq!(
            parse_replies(pc.x.received()),
            [vec![b'b'; 400], b"ran two".to_vec(), vec![b'b'; 400]]
        );
        assert_eq!(device.events.last(), Some(&SecureEvent::Exchange(AgentEvent::Closed)));
    }
}

#[test]
fn a_controllers_close_notify_without_q_ends_the_agent_cleanly() {
    let script = command_frames(&[b"ver"]);
    let (pc, device) =
        run_clean(Pc::new(KEY, b"exec", script, End::CloseNotify, None), exec_device(KEY));
    assert!(device.error.is_none() && pc.error.is_none(), "{:?} {:?}", device.error, pc.error);
    assert_eq!(parse_replies(pc.x.received()), [b"ran ver".to_vec()]);
    assert_eq!(device.events.last(), Some(&SecureEvent::Exchange(AgentEvent::Closed)));
}

#[test]
fn auth_is_the_handshake_then_both_close_notifies() {
    for faults in FAULTS {
        let mut pc = peer(Pc::new(KEY, b"auth", Vec::new(), End::CloseNotify, None));
        let mut device = peer(auth_device(KEY));
        run(faults, &mut pc, &mut device);
        assert!(device.error.is_none() && pc.error.is_none(), "{:?} {:?}", device.error, pc.error);
        assert_eq!(device.events, [SecureEvent::Authenticated]);
        assert!(device.x.is_authenticated());
        let channel = &pc.x.pump.machine().channel;
        assert!(channel.peer_authenticated() && channel.peer_closed());
    }
}

#[test]
fn data_inside_the_auth_channel_is_refused() {
    let (_, device) = run_clean(
        Pc::new(KEY, b"auth", b"hello".to_vec(), End::CloseNotify, None),
        auth_device(KEY),
    );
    let err = device.error.expect("refused");
    assert!(
        matches!(
            err,
            wirekit_smoltcp::SecureSessionError::Pump(PumpError::Machine(
                wirekit_core::secure::ChannelError::Inner(_)
            ))
        ),
        "{err:?}"
    );
    // The initiator's first record proved the key, so it was authenticated, then refused.
    assert_eq!(device.events, [SecureEvent::Authenticated]);
}

// ---------------------------------------------------------------------------------------
// Failures.

#[test]
fn a_wrong_key_fails_the_handshake_and_the_device_receives_nothing() {
    let data = test_bytes(5000, 3);
    let (pc, device) = run_clean(
        Pc::new(WRONG_KEY, b"file", file_script(&data), End::CloseNotify, None),
        file_device(KEY),
    );
    assert_eq!(secure_error(&device.error), SecureError::HandshakeAuth);
    assert!(device.error.unwrap().is_authentication_failure());
    assert!(device.events.is_empty());
    let sink = device.x.sink();
    assert_eq!((sink.len, sink.name.as_str(), sink.digest), (0, "", None));
    // The device reset where message 2 should be: the PC's side fails too.
    assert!(pc.error.is_some(), "the PC must not finish: {:?}", pc.events);

    // A handshake for another service fails the same way (the prologue).
    let (_, device) = run_clean(
        Pc::new(KEY, b"exec", command_frames(&[b"ver"]), End::CloseNotify, None),
        file_device(KEY),
    );
    assert_eq!(secure_error(&device.error), SecureError::HandshakeAuth);

    let (pc, device) = run_clean(
        Pc::new(WRONG_KEY, b"exec", command_frames(&[b"ver"]), End::CloseNotify, None),
        exec_device(KEY),
    );
    assert_eq!(secure_error(&device.error), SecureError::HandshakeAuth);
    assert!(device.events.is_empty() && pc.x.received().is_empty());
}

#[test]
fn a_tampered_record_fails_its_tag_and_nothing_of_it_is_used() {
    let data = test_bytes(5000, 4);
    // Message 1 is 52 bytes; byte 60 is inside the first transport record's ciphertext.
    let (_, device) = run_clean(
        Pc::new(KEY, b"file", file_script(&data), End::CloseNotify, Some(60)),
        file_device(KEY),
    );
    assert_eq!(secure_error(&device.error), SecureError::RecordTag);
    assert!(device.events.is_empty(), "{:?}", device.events);
    let sink = device.x.sink();
    assert_eq!((sink.len, sink.name.as_str(), sink.digest), (0, "", None));

    // A later record (the body, well past the header): the header was seen, the file is
    // aborted and never committed.
    let (_, device) = run_clean(
        Pc::new(KEY, b"file", file_script(&data), End::CloseNotify, Some(3000)),
        file_device(KEY),
    );
    assert_eq!(secure_error(&device.error), SecureError::RecordTag);
    let sink = device.x.sink();
    assert!(sink.aborted && sink.digest.is_none());
    assert!(!device
        .events
        .iter()
        .any(|e| matches!(e, SecureEvent::Exchange(FileEvent::Done { .. }))));

    // A command record altered: the command never runs.
    let (pc, device) = run_clean(
        Pc::new(KEY, b"exec", command_frames(&[b"ver"]), End::CloseNotify, Some(60)),
        exec_device(KEY),
    );
    assert_eq!(secure_error(&device.error), SecureError::RecordTag);
    assert!(device.events.is_empty() && pc.x.received().is_empty());
}

#[test]
fn a_stream_cut_without_close_notify_commits_nothing_and_reports_nothing_done() {
    // The whole file arrives, but the sender's close_notify does not: not committed.
    let data = test_bytes(20_000, 5);
    let (_, device) =
        run_clean(Pc::new(KEY, b"file", file_script(&data), End::Truncate, None), file_device(KEY));
    assert_eq!(secure_error(&device.error), SecureError::Truncated);
    let sink = device.x.sink();
    assert_eq!(sink.len, data.len() as u64, "every body byte arrived");
    assert!(sink.aborted && sink.digest.is_none(), "but nothing was committed");
    assert_eq!(
        device.events,
        [
            SecureEvent::Authenticated,
            SecureEvent::Exchange(FileEvent::Header { filesize: data.len() as u64 })
        ]
    );

    // Commands answered, then the stream cut: the agent's session ends in an error.
    let (_, device) = run_clean(
        Pc::new(KEY, b"exec", command_frames(&[b"ver"]), End::Truncate, None),
        exec_device(KEY),
    );
    assert_eq!(secure_error(&device.error), SecureError::Truncated);

    let (_, device) =
        run_clean(Pc::new(KEY, b"auth", Vec::new(), End::Truncate, None), auth_device(KEY));
    // No transport record at all: never authenticated, and the end is a truncation.
    assert_eq!(secure_error(&device.error), SecureError::Truncated);
    assert!(device.events.is_empty());
}

#[test]
fn a_command_frame_longer_than_the_agents_buffer_is_refused() {
    let long = vec![b'x'; 300];
    let (pc, device) = run_clean(
        Pc::new(KEY, b"exec", command_frames(&[&long]), End::CloseNotify, None),
        exec_device(KEY),
    );
    let err = device.error.expect("refused");
    assert!(
        matches!(
            err,
            wirekit_smoltcp::SecureSessionError::Pump(PumpError::Machine(
                wirekit_core::secure::ChannelError::Inner(FramedCommandError::Frame(_))
            ))
        ),
        "{err:?}"
    );
    assert!(pc.x.received().is_empty());
}

#[test]
fn keys_under_16_bytes_are_refused_before_any_session() {
    assert!(Psk::derive(b"fifteen bytes!!").is_err());
    assert!(Psk::derive(b"sixteen bytes!!!").is_ok());
}

// ---------------------------------------------------------------------------------------
// SecureDevice: both exchanges as one session type, the same bytes and events.

type Device = SecureDevice<'static, 'static, DigestSink, Handler, MAX_HEADER_LEN, 256>;

fn device_file(key: &[u8]) -> Device {
    let psk = Psk::derive(key).unwrap();
    let receiver = FileReceiver::new(FrameConfig::seed()).with_max_size(1 << 20);
    let sink = DigestSink::default();
    Device::file(DEVICE_PLAINTEXT_LIMIT, &psk, EPH_DEVICE, device_buffers(), receiver, sink)
        .unwrap()
}

fn device_exec(key: &[u8], tx: usize) -> Device {
    let psk = Psk::derive(key).unwrap();
    let out = SliceOutput::new(leak(512), leak(128));
    let buffers = device_buffers_tx(tx);
    Device::exec(DEVICE_PLAINTEXT_LIMIT, &psk, EPH_DEVICE, buffers, echo_handler, out).unwrap()
}

#[test]
fn a_device_session_receives_a_file_like_secure_file_receive() {
    let data = test_bytes(50_000, 8);
    for faults in FAULTS {
        let mut pc = peer(Pc::new(KEY, b"file", file_script(&data), End::CloseNotify, None));
        let mut device = peer(device_file(KEY));
        run(faults, &mut pc, &mut device);
        assert!(device.error.is_none() && pc.error.is_none(), "{:?} {:?}", device.error, pc.error);
        let sink = device.x.sink().expect("a file session");
        assert_eq!(sink.digest, Some(md5_of(&data)));
        let len = data.len() as u64;
        assert_eq!(
            device.events,
            [
                SecureEvent::Authenticated,
                SecureEvent::Exchange(DeviceEvent::File(FileEvent::Header { filesize: len })),
                SecureEvent::Exchange(DeviceEvent::File(FileEvent::Done { len })),
            ]
        );
        assert!(pc.x.pump.machine().channel.peer_closed());
    }

    // Cut before the sender's close_notify: aborted, not committed.
    let (_, device) =
        run_clean(Pc::new(KEY, b"file", file_script(&data), End::Truncate, None), device_file(KEY));
    assert_eq!(secure_error(&device.error), SecureError::Truncated);
    let sink = device.x.sink().expect("a file session");
    assert!(sink.aborted && sink.digest.is_none());

    // The prologue names the service: an exec handshake fails a file session.
    let (_, device) = run_clean(
        Pc::new(KEY, b"exec", command_frames(&[b"ver"]), End::CloseNotify, None),
        device_file(KEY),
    );
    assert_eq!(secure_error(&device.error), SecureError::HandshakeAuth);
}

#[test]
fn a_device_session_answers_commands_like_secure_command_agent() {
    // Replies in several records through a 200-byte send buffer, commands waiting inside
    // the channel.
    let script = command_frames(&[b"big", b"two", b"fail", b"q"]);
    for faults in FAULTS {
        let mut pc = peer(Pc::new(KEY, b"exec", script.clone(), End::CloseNotify, None));
        let mut device = peer(device_exec(KEY, 200));
        run(faults, &mut pc, &mut device);
        assert!(device.error.is_none() && pc.error.is_none(), "{:?} {:?}", device.error, pc.error);
        assert_eq!(
            parse_replies(pc.x.received()),
            [vec![b'b'; 400], b"ran two".to_vec(), b"unknown command\n".to_vec()]
        );
        let ran = |command_len, reply_len| {
            let ran = AgentEvent::Ran { command_len, reply_len, overflow: None };
            SecureEvent::Exchange(DeviceEvent::Exec(ran))
        };
        assert_eq!(
            device.events,
            [
                SecureEvent::Authenticated,
                ran(3, 400),
                ran(3, 7),
                ran(4, 16),
                SecureEvent::Exchange(DeviceEvent::Exec(AgentEvent::Quit)),
            ]
        );
        assert!(device.x.sink().is_none());
    }

    // A file handshake fails an exec session.
    let data = test_bytes(100, 9);
    let (_, device) = run_clean(
        Pc::new(KEY, b"file", file_script(&data), End::CloseNotify, None),
        device_exec(KEY, 600),
    );
    assert_eq!(secure_error(&device.error), SecureError::HandshakeAuth);
}
