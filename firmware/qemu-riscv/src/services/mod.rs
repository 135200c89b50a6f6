//! The wirekit agent: the seed's services on their ports, over `wirekit-smoltcp` sessions.
//!
//! | port | what |
//! | --- | --- |
//! | TCP 8066 | seed handshake (demo4): the device challenges, judges, says nothing back |
//! | TCP 8067 | mp handshake (CPython `Listener` side, legacy 20-byte challenge): both prove |
//! | TCP 8080 | seed handshake, then one demo3 file (≤ 256 KiB) into an MD5 sink |
//! | TCP 8090 | seed handshake, then demo2 (framed) commands from [`commands::Commands`] |
//! | UDP 8096 | any datagram is answered with `bye` (the seed's UDP server) |
//! | TCP 8166 | secure profile `auth`: the Noise handshake, then both close_notifies |
//! | TCP 8180 | secure profile `file`: one file (≤ 256 KiB) into an MD5 sink, committed after the sender's close_notify |
//! | TCP 8190 | secure profile `exec`: framed commands from [`commands::Commands`] |
//!
//! The secure ports (docs/protocol.md section 5) need a key of 16 bytes or more; with a
//! shorter one (the default `egg`) they reset every connection and the boot log says why.
//! Their ephemeral keys and every challenge come from [`crate::entropy::Entropy`]:
//! virtio-rng when QEMU has one, else the timer hash (NOT a CSPRNG; the boot log says which).
//!
//! Every TCP port has [`SOCKETS_PER_PORT`] listening sockets, so a new connection finds one
//! while the previous connections' sockets are still closing. Each socket goes through
//! `wirekit_smoltcp::Slot`'s lifecycle: a socket in TIME-WAIT listens again at once (smoltcp
//! would keep it 10 s); a session starts when its connection is established (its challenge
//! is drawn then); a peer that fails the handshake gets nothing (a seed prover's
//! connection is reset at once, an mp client gets `#FAILURE#` and a close); data after the
//! close is reset; a connection idle for 2 min is reset (keep-alive every 30 s).

pub mod commands;
mod storage;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpEndpoint;
use wirekit_core::auth::{
    ChallengeMode, MpHandshake, MpPolicy, MutualOrder, Order, Outcome, Role, RoleKeys, SeedMutual,
    SeedVerifier,
};
use wirekit_core::command::{Agent, Mode};
use wirekit_core::datagram::{ReplyBudget, ReplyRate};
use wirekit_core::frame::FrameConfig;
use wirekit_core::secure::{Buffers, KeyTooShort, Psk};
use wirekit_core::transfer::FileReceiver;
use wirekit_smoltcp::{
    proceeds_after, recv_datagram_into, send_datagram, AgentEvent, Authenticate, CommandAgent,
    FileEvent, FileReceive, Md5Sink, SecureAuth, SecureCommandAgent, SecureEvent,
    SecureFileReceive, SecureSessionError, Served, Session, SessionEvent, SliceOutput, Slot,
    SlotConfig, SlotNote, Turn, UdpError, DEVICE_PLAINTEXT_LIMIT,
};

use crate::entropy::Entropy;
use commands::{Commands, LastFile, Stats};
pub use storage::{Metadata, Storage};

/// The shared key, fixed at build time: `WIREKIT_FW_KEY=... cargo build ...` (default
/// `egg`, the seed's example key; a real device gets 32 random bytes of its own).
pub const KEY: &[u8] = match option_env!("WIREKIT_FW_KEY") {
    Some(key) => key.as_bytes(),
    None => b"egg",
};
const _: () = assert!(!KEY.is_empty(), "WIREKIT_FW_KEY must not be empty");

/// The keys of the device's own keyed exchanges, derived from [`KEY`] at boot
/// (docs/protocol.md section 4): the device is the file receiver (8080) and the exec agent
/// (8090), and as the accepting side it checks the peer's answer before it answers anything.
/// The seed auth port (8066) and mp auth (8067) keep the shared key, as their Python and
/// CPython peers require; they let a peer do nothing but be told "legit".
#[derive(Debug)]
pub struct DeviceKeys {
    /// As the file receiver.
    pub file: RoleKeys,
    /// As the exec agent.
    pub exec: RoleKeys,
    /// The secure profile's PSK (ports 8166, 8180, 8190), or why there is none: the
    /// profile refuses keys under 16 bytes.
    pub secure: Result<Psk, KeyTooShort>,
}

impl DeviceKeys {
    /// The role keys and the secure PSK of `shared`.
    pub fn derive(shared: &[u8]) -> Self {
        Self {
            file: RoleKeys::for_role(shared, Role::FileReceiver),
            exec: RoleKeys::for_role(shared, Role::ExecAgent),
            secure: Psk::derive(shared),
        }
    }
}

/// A mutual seed handshake as the accepting side with `keys`.
fn accepting_handshake(keys: &'static RoleKeys, challenge: [u8; 32]) -> SeedMutual<'static> {
    SeedMutual::new(
        keys.verify.as_bytes(),
        keys.prove.as_bytes(),
        MutualOrder::AcceptingSide,
        challenge,
    )
}

/// Seed handshake alone (demo4).
pub const AUTH_PORT: u16 = 8066;
/// mp handshake alone (CPython `multiprocessing.connection`).
pub const MP_PORT: u16 = 8067;
/// File receive (demo3).
pub const FILE_PORT: u16 = 8080;
/// Framed remote commands (demo2).
pub const COMMAND_PORT: u16 = 8090;
/// UDP hello/bye.
pub const UDP_PORT: u16 = 8096;
/// Secure profile: auth.
pub const SECURE_AUTH_PORT: u16 = 8166;
/// Secure profile: file receive.
pub const SECURE_FILE_PORT: u16 = 8180;
/// Secure profile: framed commands.
pub const SECURE_COMMAND_PORT: u16 = 8190;
/// The seed's UDP reply.
const UDP_REPLY: &[u8] = b"bye";

/// Listening sockets per TCP port.
pub const SOCKETS_PER_PORT: usize = 4;
/// Socket slots the application needs in its `SocketSet`: seven TCP ports and one UDP.
pub const SOCKET_SLOTS: usize = 7 * SOCKETS_PER_PORT + 1;

/// The largest file accepted (the image partition of a small device).
pub const MAX_FILE: u64 = 256 * 1024;
/// The largest demo3 header JSON accepted (device file names are short).
const HEADER_MAX: usize = 512;
/// The longest command (the table's are short; the seed reads `recv(1024)`).
const COMMAND_MAX: usize = 256;

/// A peer that stops answering (no ACKs, keep-alives included) is dropped after this long.
const TCP_TIMEOUT: Duration = Duration::from_secs(60);
/// Every connection: dropped after 2 min with nothing moving, keep-alive every 30 s.
const SLOT: SlotConfig = SlotConfig::DEFAULT;

type SeedAuth = Authenticate<SeedVerifier<'static>>;
type MpAuth = Authenticate<MpHandshake<'static>>;
type Upload = Session<SeedMutual<'static>, FileReceive<Md5Sink, HEADER_MAX>>;
type Shell = Session<SeedMutual<'static>, CommandAgent<'static, Commands, COMMAND_MAX>>;
type SecureLogin = SecureAuth<'static>;
type SecureUpload = SecureFileReceive<'static, Md5Sink, HEADER_MAX>;
type SecureShell = SecureCommandAgent<'static, 'static, Commands, COMMAND_MAX>;
/// A command socket's reply buffers, parked between connections.
type ReplyBuffers = (&'static mut [u8], &'static mut [u8]);

/// A secure socket also parks its channel's buffers (and `P`, e.g. reply buffers) between
/// connections.
struct SecureSlot<X, P = ()> {
    slot: Slot<X>,
    parked: Option<(Buffers<'static>, P)>,
}

/// A command socket also parks its reply buffers between connections.
struct ShellSlot {
    slot: Slot<Shell>,
    buffers: Option<(&'static mut [u8], &'static mut [u8])>,
}

/// Device state the sessions report into.
struct State {
    challenges: Entropy,
    stats: Stats,
    last_file: Option<LastFile>,
    now: Instant,
    /// When the current upload's header arrived, for the throughput line in the log.
    upload_started: [Option<Instant>; SOCKETS_PER_PORT],
    /// The same for the secure file port.
    secure_upload_started: [Option<Instant>; SOCKETS_PER_PORT],
    /// Replies the UDP server may still send (one budget for the device: a loop with any
    /// peer ends once it is spent).
    udp_budget: ReplyBudget,
}

/// All services; call [`Services::run`] after every `iface.poll`.
pub struct Services {
    keys: &'static DeviceKeys,
    auth: [Slot<SeedAuth>; SOCKETS_PER_PORT],
    mp: [Slot<MpAuth>; SOCKETS_PER_PORT],
    file: [Slot<Upload>; SOCKETS_PER_PORT],
    command: [ShellSlot; SOCKETS_PER_PORT],
    secure_auth: [SecureSlot<SecureLogin>; SOCKETS_PER_PORT],
    secure_file: [SecureSlot<SecureUpload>; SOCKETS_PER_PORT],
    secure_command: [SecureSlot<SecureShell, ReplyBuffers>; SOCKETS_PER_PORT],
    udp: SocketHandle,
    /// The largest UDP payload the link carries unfragmented.
    udp_link_max: usize,
    state: State,
}

fn tcp_socket(rx: &'static mut [u8], tx: &'static mut [u8]) -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(tcp::SocketBuffer::new(rx), tcp::SocketBuffer::new(tx));
    // Small request/reply exchanges: with Nagle and delayed ACKs both on, each small write
    // waits for the other side's delayed ACK (~10x slower bulk, 40 ms per command).
    socket.set_ack_delay(None);
    socket.set_nagle_enabled(false);
    socket.set_timeout(Some(TCP_TIMEOUT));
    socket
}

impl Services {
    /// Creates the sockets in `sockets`; they start listening on the first [`Services::run`].
    /// `udp_link_max`: see [`wirekit_smoltcp::unfragmented_max_payload`].
    pub fn new(
        storage: &'static mut Storage,
        metadata: &'static mut Metadata,
        sockets: &mut SocketSet<'static>,
        challenges: Entropy,
        keys: &'static DeviceKeys,
        udp_link_max: usize,
    ) -> Self {
        let Storage {
            auth,
            mp,
            file,
            command,
            secure_auth,
            secure_file,
            secure_command,
            udp_rx,
            udp_tx,
        } = storage;
        let mut add =
            |rx: &'static mut [u8], tx: &'static mut [u8]| sockets.add(tcp_socket(rx, tx));
        let auth = auth.each_mut().map(|p| Slot::new(add(&mut p.rx, &mut p.tx), AUTH_PORT, SLOT));
        let mp = mp.each_mut().map(|p| Slot::new(add(&mut p.rx, &mut p.tx), MP_PORT, SLOT));
        let file = file.each_mut().map(|p| Slot::new(add(&mut p.rx, &mut p.tx), FILE_PORT, SLOT));
        let command = command.each_mut().map(|s| ShellSlot {
            slot: Slot::new(add(&mut s.socket.rx, &mut s.socket.tx), COMMAND_PORT, SLOT),
            buffers: Some((&mut s.stdout[..], &mut s.stderr[..])),
        });
        let secure_auth = secure_auth.each_mut().map(|s| SecureSlot {
            slot: Slot::new(add(&mut s.socket.rx, &mut s.socket.tx), SECURE_AUTH_PORT, SLOT),
            parked: Some((Buffers { rx: &mut s.channel.rx, tx: &mut s.channel.tx }, ())),
        });
        let secure_file = secure_file.each_mut().map(|s| SecureSlot {
            slot: Slot::new(add(&mut s.socket.rx, &mut s.socket.tx), SECURE_FILE_PORT, SLOT),
            parked: Some((Buffers { rx: &mut s.channel.rx, tx: &mut s.channel.tx }, ())),
        });
        let secure_command = secure_command.each_mut().map(|s| {
            let secure = &mut s.secure;
            let handle = add(&mut secure.socket.rx, &mut secure.socket.tx);
            let channel = Buffers { rx: &mut secure.channel.rx, tx: &mut secure.channel.tx };
            let replies: ReplyBuffers = (&mut s.stdout[..], &mut s.stderr[..]);
            SecureSlot {
                slot: Slot::new(handle, SECURE_COMMAND_PORT, SLOT),
                parked: Some((channel, replies)),
            }
        });
        let Metadata { udp_rx: rx_meta, udp_tx: tx_meta } = metadata;
        let mut udp_socket = udp::Socket::new(
            udp::PacketBuffer::new(&mut rx_meta[..], &mut udp_rx[..]),
            udp::PacketBuffer::new(&mut tx_meta[..], &mut udp_tx[..]),
        );
        if let Err(e) = udp_socket.bind(UDP_PORT) {
            log::error!("udp bind {UDP_PORT}: {e}");
        }
        let udp = sockets.add(udp_socket);
        log::info!(
            "seed auth :{AUTH_PORT}, mp auth :{MP_PORT}, file :{FILE_PORT} (md5, max {MAX_FILE} B), \
             commands :{COMMAND_PORT}, udp :{UDP_PORT}; {SOCKETS_PER_PORT} sockets per TCP port"
        );
        match &keys.secure {
            Ok(_) => log::info!(
                "secure profile: auth :{SECURE_AUTH_PORT}, file :{SECURE_FILE_PORT}, \
                 commands :{SECURE_COMMAND_PORT} (record limit {DEVICE_PLAINTEXT_LIMIT} B)"
            ),
            Err(e) => log::warn!(
                "secure profile OFF (:{SECURE_AUTH_PORT}, :{SECURE_FILE_PORT}, \
                 :{SECURE_COMMAND_PORT} reset every connection): {e}"
            ),
        }
        match challenges.source() {
            crate::entropy::Source::VirtioRng => {
                log::info!("entropy: virtio-rng (challenges and ephemeral keys)")
            }
            crate::entropy::Source::TimerHash => log::warn!(
                "entropy: NO virtio-rng device; challenges and ephemeral keys come from a \
                 timer hash, which is NOT a CSPRNG (start QEMU with -device virtio-rng-device)"
            ),
        }
        Self {
            keys,
            auth,
            mp,
            file,
            command,
            secure_auth,
            secure_file,
            secure_command,
            udp,
            udp_link_max,
            state: State {
                challenges,
                stats: Stats::default(),
                last_file: None,
                now: Instant::ZERO,
                upload_started: [None; SOCKETS_PER_PORT],
                secure_upload_started: [None; SOCKETS_PER_PORT],
                udp_budget: ReplyBudget::new(ReplyRate::DEFAULT, 0),
            },
        }
    }

    /// Moves bytes for every session after an `iface.poll(now, ..)`. Returns true when
    /// something happened: poll again before sleeping.
    pub fn run(&mut self, now: Instant, sockets: &mut SocketSet<'static>) -> bool {
        self.state.now = now;
        let state = &mut self.state;
        let keys: &'static DeviceKeys = self.keys;
        let mut busy = false;

        let now_since_boot = core::time::Duration::from_micros(now.total_micros().unsigned_abs());
        let mut turn = Turn::new(sockets, now_since_boot);
        for slot in &mut self.auth {
            let served = turn.serve(
                slot,
                state,
                |state, peer| {
                    Some(Authenticate::new(SeedVerifier::new(KEY, challenge(state, peer))))
                },
                |_, _| {},
                |state, _, peer, outcome| verdict(state, AUTH_PORT, peer, outcome),
            );
            busy |= logged(AUTH_PORT, slot.peer(), served);
        }

        for slot in &mut self.mp {
            let served = turn.serve(
                slot,
                state,
                |state, peer| {
                    // Legacy: Python 3.11's challenge, and the `wirekit` binary's default.
                    let hs = MpHandshake::new(
                        KEY,
                        Order::ListenerSide,
                        ChallengeMode::Legacy,
                        MpPolicy::COMPATIBLE,
                        challenge(state, peer),
                    );
                    Some(Authenticate::new(hs))
                },
                |_, _| {},
                |state, _, peer, outcome| verdict(state, MP_PORT, peer, outcome),
            );
            busy |= logged(MP_PORT, slot.peer(), served);
        }

        for (index, slot) in self.file.iter_mut().enumerate() {
            let served = turn.serve(
                slot,
                state,
                |state, peer| {
                    let receiver = FileReceiver::new(FrameConfig::seed()).with_max_size(MAX_FILE);
                    let upload = FileReceive::new(receiver, Md5Sink::with_limit(MAX_FILE));
                    let handshake = accepting_handshake(&keys.file, challenge(state, peer));
                    Some(Session::new(handshake, upload))
                },
                |_, _| {},
                |state, session, peer, event| upload_event(state, index, session, peer, event),
            );
            busy |= logged(FILE_PORT, slot.peer(), served);
        }

        for shell in &mut self.command {
            if let Some(session) = shell.slot.session_mut() {
                let handler = session.exchange_mut().handler_mut();
                handler.now_ms = u64::try_from(state.now.total_millis()).unwrap_or(0);
                handler.last_file = state.last_file;
                handler.stats = state.stats;
            }
            let ShellSlot { slot, buffers } = shell;
            let mut ctx = (&mut *state, buffers);
            let served = turn.serve(
                slot,
                &mut ctx,
                |(state, buffers), peer| {
                    let Some((stdout, stderr)) = buffers.take() else {
                        log::error!("command socket without reply buffers");
                        return None;
                    };
                    let agent = CommandAgent::new(
                        Agent::new(Mode::seed_framed()),
                        Commands::default(),
                        SliceOutput::new(stdout, stderr),
                    );
                    let handshake = accepting_handshake(&keys.exec, challenge(state, peer));
                    Some(Session::new(handshake, agent))
                },
                |(_, buffers), session| {
                    let (_, out) = session.into_exchange().into_parts();
                    **buffers = Some(out.into_buffers());
                },
                |(state, _), session, peer, event| {
                    command_event(state, peer, event);
                    // A command behind the verdict runs in this same turn: show it the
                    // verdict just counted.
                    session.exchange_mut().handler_mut().stats = state.stats;
                },
            );
            busy |= logged(COMMAND_PORT, slot.peer(), served);
        }

        busy |= self.run_secure(&mut turn);
        busy |= self.udp_hello_bye(sockets);
        busy
    }

    /// The secure profile's ports (docs/protocol.md section 5).
    fn run_secure(&mut self, turn: &mut Turn<'_, 'static>) -> bool {
        let state = &mut self.state;
        let psk = self.keys.secure.as_ref().ok();
        let mut busy = false;

        for s in &mut self.secure_auth {
            let SecureSlot { slot, parked } = s;
            let mut ctx = (&mut *state, parked);
            let served = turn.serve(
                slot,
                &mut ctx,
                |(state, parked), peer| {
                    let (psk, (buffers, ())) = (psk?, parked.take()?);
                    let ephemeral = challenge(state, peer);
                    setup(SecureLogin::new(DEVICE_PLAINTEXT_LIMIT, psk, ephemeral, buffers))
                },
                |(_, parked), session| **parked = Some((session.into_parts().1, ())),
                |(state, _), _, peer, event| match event {
                    SecureEvent::Authenticated => secure_verdict(state, SECURE_AUTH_PORT, peer),
                    SecureEvent::Exchange(never) => match never {},
                },
            );
            busy |= secure_logged(state, SECURE_AUTH_PORT, slot.peer(), served);
        }

        for (index, s) in self.secure_file.iter_mut().enumerate() {
            let SecureSlot { slot, parked } = s;
            let mut ctx = (&mut *state, parked);
            let served = turn.serve(
                slot,
                &mut ctx,
                |(state, parked), peer| {
                    let (psk, (buffers, ())) = (psk?, parked.take()?);
                    let ephemeral = challenge(state, peer);
                    let receiver = FileReceiver::new(FrameConfig::seed()).with_max_size(MAX_FILE);
                    setup(SecureUpload::new(
                        DEVICE_PLAINTEXT_LIMIT,
                        psk,
                        ephemeral,
                        buffers,
                        receiver,
                        Md5Sink::with_limit(MAX_FILE),
                    ))
                },
                |(_, parked), session| **parked = Some((session.into_parts().1, ())),
                |(state, _), session, peer, event| {
                    secure_upload_event(state, index, session, peer, event)
                },
            );
            busy |= secure_logged(state, SECURE_FILE_PORT, slot.peer(), served);
        }

        for s in &mut self.secure_command {
            let SecureSlot { slot, parked } = s;
            if let Some(session) = slot.session_mut() {
                let handler = session.handler_mut();
                handler.now_ms = u64::try_from(state.now.total_millis()).unwrap_or(0);
                handler.last_file = state.last_file;
                handler.stats = state.stats;
            }
            let mut ctx = (&mut *state, parked);
            let served = turn.serve(
                slot,
                &mut ctx,
                |(state, parked), peer| {
                    let (psk, (buffers, (stdout, stderr))) = (psk?, parked.take()?);
                    let ephemeral = challenge(state, peer);
                    setup(SecureShell::new(
                        DEVICE_PLAINTEXT_LIMIT,
                        psk,
                        ephemeral,
                        buffers,
                        Commands::default(),
                        SliceOutput::new(stdout, stderr),
                    ))
                },
                |(_, parked), session| {
                    let (service, buffers) = session.into_parts();
                    let (_, out) = service.into_parts();
                    **parked = Some((buffers, out.into_buffers()));
                },
                |(state, _), session, peer, event| {
                    match event {
                        SecureEvent::Authenticated => {
                            secure_verdict(state, SECURE_COMMAND_PORT, peer)
                        }
                        SecureEvent::Exchange(e) => {
                            command_event(state, peer, SessionEvent::Exchange(e))
                        }
                    }
                    session.handler_mut().stats = state.stats;
                },
            );
            busy |= secure_logged(state, SECURE_COMMAND_PORT, slot.peer(), served);
        }
        busy
    }

    /// The seed's UDP server: a datagram gets `bye` back, except what would start a reply
    /// loop (as `wirekit udp server` does): a datagram from the seed's server port (ourselves,
    /// spoofed, or another server), one that is exactly `bye` (another server's answer), and
    /// anything beyond the device-wide [`ReplyBudget`].
    fn udp_hello_bye(&mut self, sockets: &mut SocketSet<'static>) -> bool {
        let socket = sockets.get_mut::<udp::Socket>(self.udp);
        let mut buf = [0u8; 64];
        let mut busy = false;
        let now_ms = self.state.now.total_millis().unsigned_abs();
        while socket.can_send() {
            let from = match recv_datagram_into(socket, &mut buf) {
                Ok(None) => break,
                Ok(Some((len, from))) => {
                    let text = core::str::from_utf8(buf.get(..len).unwrap_or_default());
                    log::info!("udp {len} B from {from}: {:?}", text.unwrap_or("<binary>"));
                    if from.port == UDP_PORT || buf.get(..len) == Some(UDP_REPLY) {
                        log::warn!("udp: not answering {from}: a server's port or reply");
                        busy = true;
                        continue;
                    }
                    from
                }
                // Longer than `buf`: smoltcp has dropped it, and its sender is not known.
                Err(UdpError::Truncated { .. }) => {
                    busy = true;
                    log::warn!("udp: datagram longer than {} B dropped", buf.len());
                    continue;
                }
                Err(e) => {
                    busy = true;
                    log::warn!("udp: {e}");
                    continue;
                }
            };
            busy = true;
            if !self.state.udp_budget.take(ReplyRate::DEFAULT, now_ms) {
                log::warn!("udp: reply budget used up, not answering {from}");
                continue;
            }
            if let Err(e) = send_datagram(socket, from, UDP_REPLY, self.udp_link_max) {
                log::warn!("udp reply to {from}: {e}");
            }
        }
        busy
    }
}

/// A secure session, or `None` (the connection is reset) when our own buffers or limit are
/// wrong, which the constants rule out.
fn setup<X>(session: Result<X, wirekit_core::secure::SetupError>) -> Option<X> {
    session.map_err(|e| log::error!("secure channel setup: {e}")).ok()
}

/// A secure peer proved the key (its first transport record decrypted).
fn secure_verdict(state: &mut State, port: u16, peer: IpEndpoint) {
    state.stats.auth_ok = state.stats.auth_ok.saturating_add(1);
    log::info!(":{port} {peer}: legit client (secure channel)");
}

/// [`logged`] for a secure port, counting a wrong key (or a handshake meant for another
/// service) as a rejected handshake.
fn secure_logged<IE: core::fmt::Display, SE: core::fmt::Display>(
    state: &mut State,
    port: u16,
    peer: Option<IpEndpoint>,
    served: Served<SecureSessionError<IE, SE>>,
) -> bool {
    if let Some(SlotNote::Failed(e)) = &served.note {
        if e.is_authentication_failure() {
            state.stats.auth_rejected = state.stats.auth_rejected.saturating_add(1);
            match peer {
                Some(peer) => log::warn!(":{port} {peer}: illegitimate client ({e})"),
                None => log::warn!(":{port}: illegitimate client ({e})"),
            }
            return served.busy;
        }
    }
    logged(port, peer, served)
}

/// Logs what a slot noted; returns whether it was busy. `peer` is the slot's after the
/// serve, as the session saw it: a connection that started and failed in this one turn has
/// its peer only then.
fn logged<E: core::fmt::Display>(port: u16, peer: Option<IpEndpoint>, served: Served<E>) -> bool {
    if let Some(note) = served.note {
        match peer {
            Some(peer) => log::warn!(":{port} {peer}: {note}"),
            None => log::error!("tcp :{port}: {note}"),
        }
    }
    served.busy
}

/// Challenge bytes for a new connection (see [`crate::entropy`]: not a CSPRNG).
fn challenge<const N: usize>(state: &mut State, peer: IpEndpoint) -> [u8; N] {
    let mut noise = [0u8; 8 + 4 + 2];
    let (ticks, rest) = noise.split_at_mut(8);
    ticks.copy_from_slice(&crate::clock::ticks().to_le_bytes());
    let (addr, port) = rest.split_at_mut(4);
    // Irrefutable while smoltcp is built without IPv6.
    #[allow(irrefutable_let_patterns)]
    if let smoltcp::wire::IpAddress::Ipv4(v4) = peer.addr {
        addr.copy_from_slice(&v4.octets());
    }
    port.copy_from_slice(&peer.port.to_le_bytes());
    state.challenges.array(&noise)
}

/// Logs a handshake's outcome and counts it.
fn verdict(state: &mut State, port: u16, peer: IpEndpoint, outcome: Outcome) {
    if proceeds_after(&outcome) {
        state.stats.auth_ok = state.stats.auth_ok.saturating_add(1);
        log::info!(":{port} {peer}: legit client ({outcome:?})");
    } else {
        state.stats.auth_rejected = state.stats.auth_rejected.saturating_add(1);
        log::warn!(":{port} {peer}: illegitimate client ({outcome:?})");
    }
}

fn command_event(state: &mut State, peer: IpEndpoint, event: SessionEvent<AgentEvent>) {
    match event {
        SessionEvent::Verdict(outcome) => verdict(state, COMMAND_PORT, peer, outcome),
        SessionEvent::Exchange(AgentEvent::Ran { command_len, reply_len, overflow }) => {
            state.stats.commands = state.stats.commands.saturating_add(1);
            match overflow {
                Some(full) => {
                    log::warn!("command from {peer} ({command_len} B): reply cut ({full})")
                }
                None => log::info!("command from {peer} ({command_len} B): {reply_len} B reply"),
            }
        }
        SessionEvent::Exchange(AgentEvent::Quit) => log::info!("{peer} quit"),
        SessionEvent::Exchange(AgentEvent::Closed) => log::info!("{peer} closed"),
    }
}

fn secure_upload_event(
    state: &mut State,
    index: usize,
    session: &mut SecureUpload,
    peer: IpEndpoint,
    event: SecureEvent<FileEvent>,
) {
    match event {
        SecureEvent::Authenticated => secure_verdict(state, SECURE_FILE_PORT, peer),
        SecureEvent::Exchange(FileEvent::Header { filesize }) => {
            if let Some(started) = state.secure_upload_started.get_mut(index) {
                *started = Some(state.now);
            }
            let name = session.header().map(|h| h.filename).unwrap_or("?");
            log::info!("file {name:?} ({filesize} B) from {peer} (secure)");
        }
        SecureEvent::Exchange(FileEvent::Done { len }) => {
            let started = state.secure_upload_started.get_mut(index).and_then(Option::take);
            file_done(state, session.sink().digest(), len, started);
        }
    }
}

/// A file is committed: remember its digest for `md5`, count it, log it.
fn file_done(state: &mut State, digest: Option<[u8; 16]>, len: u64, started: Option<Instant>) {
    if let Some(md5) = digest {
        state.last_file = Some(LastFile { md5, len });
    }
    state.stats.files = state.stats.files.saturating_add(1);
    let ms = started.map_or(0, |t| (state.now - t).total_millis()).max(1);
    let hex = wirekit_smoltcp::md5_hex(digest.unwrap_or_default());
    log::info!(
        "file done: {len} B in {ms} ms ({} KiB/s), md5 {}",
        len.saturating_mul(1000) / 1024 / ms,
        core::str::from_utf8(&hex).unwrap_or("?")
    );
}

fn upload_event(
    state: &mut State,
    index: usize,
    session: &mut Upload,
    peer: IpEndpoint,
    event: SessionEvent<FileEvent>,
) {
    match event {
        SessionEvent::Verdict(outcome) => verdict(state, FILE_PORT, peer, outcome),
        SessionEvent::Exchange(FileEvent::Header { filesize }) => {
            if let Some(started) = state.upload_started.get_mut(index) {
                *started = Some(state.now);
            }
            let name = session.exchange().header().map(|h| h.filename).unwrap_or("?");
            log::info!("file {name:?} ({filesize} B) from {peer}");
        }
        SessionEvent::Exchange(FileEvent::Done { len }) => {
            let started = state.upload_started.get_mut(index).and_then(Option::take);
            file_done(state, session.exchange().sink().digest(), len, started);
        }
    }
}
