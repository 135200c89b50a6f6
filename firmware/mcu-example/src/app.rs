//! The agent: seed authentication, then a file into an MD5 sink (port 8080) or commands
//! from a built-in table (port 8090); the same inside the secure profile's Noise channel on
//! 8180 and 8190 (docs/protocol.md section 5, `wirekit --profile secure`). Each socket goes through `wirekit_smoltcp::Slot`'s
//! lifecycle (listen again after every session and from TIME-WAIT, reset on refusal and on
//! data after close, reset after 2 min idle, keep-alive every 30 s). Challenges come from
//! the board's RNG ([`crate::rng`]); without it no connection is served.

use core::hint::black_box;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, Ipv4Address};
use wirekit_core::auth::{MutualOrder, Role, RoleKeys, SeedMutual};
use wirekit_core::command::{Agent, Mode};
use wirekit_core::frame::FrameConfig;
use wirekit_core::secure::{rx_buf_len, Buffers, Psk};
use wirekit_core::transfer::FileReceiver;
use wirekit_smoltcp::session::secure::{DeviceEvent, DeviceService};
use wirekit_smoltcp::{
    md5_hex, CommandAgent, CommandHandler, CommandOutput, CommandTable, FileEvent, FileReceive,
    Md5Sink, OutputFull, SecureDevice, SecureEvent, Session, SessionEvent, SliceOutput, Slot,
    SlotConfig, Turn, DEVICE_PLAINTEXT_LIMIT,
};

use crate::device::StubMac;
use crate::rng::Entropy;

/// The shared key. Real firmware keeps 32 random bytes per device in a protected area (the
/// secure profile refuses keys under 16 bytes; `wirekit keygen` makes 32).
const KEY: &[u8] = b"mcu-example: 32 bytes, not real";
/// The seed's file and command ports.
const FILE_PORT: u16 = 8080;
const COMMAND_PORT: u16 = 8090;
/// The same exchanges inside the secure profile's channel.
const SECURE_FILE_PORT: u16 = 8180;
const SECURE_COMMAND_PORT: u16 = 8190;
/// A secure channel's receive buffer: one record of the device's 1,024-byte limit.
const CHANNEL_RX: usize = rx_buf_len(DEVICE_PLAINTEXT_LIMIT);
/// The file channel sends message 2 (52 bytes) and close_notify (18) only.
const FILE_CHANNEL_TX: usize = 64;
/// The exec channel seals a whole reply (prefix, stdout, stderr) as one record.
const COMMAND_CHANNEL_TX: usize = 4 + 512 + 64 + 18;
/// TCP buffers per direction and socket.
const TCP_BUF: usize = 2048;
/// The largest header JSON accepted (the core's default is 4096; names on a device are short).
const HEADER_MAX: usize = 256;
/// The largest file accepted: the size of the image partition.
const MAX_FILE: u64 = 256 * 1024;
/// The longest command (the seed's `recv(1024)`; the table's commands are short).
const COMMAND_MAX: usize = 64;

const TABLE: CommandTable<'static> = CommandTable::new(&[
    (b"ver", b"wirekit mcu-example 0.1\n"),
    (b"dir", b"image.bin\n"),
    (b"uptime", b"up\n"),
]);

/// The socket set's slots.
pub type SocketSlots = [SocketStorage<'static>; 4];

/// The slots' static, filled at boot. An empty slot is not all-zero (a `None` with a
/// non-zero niche tag), so a `static` of `[SocketStorage::EMPTY; 4]` would sit in `.data`,
/// whose initial image costs 1,344 B of flash; this cell starts as tag 0 (`.bss`, no flash)
/// and [`SlotsCell::fill`] writes the empty slots at run time.
// A static, never moved: the empty variant's size does not matter.
#[allow(clippy::large_enum_variant)]
#[repr(u8)]
pub enum SlotsCell {
    /// Before boot's [`SlotsCell::fill`]: all zero.
    Unset = 0,
    /// The slots.
    Set(SocketSlots) = 1,
}

impl SlotsCell {
    /// The empty slots, written now.
    pub fn fill(&'static mut self) -> &'static mut SocketSlots {
        *self = Self::Set(Default::default());
        match self {
            Self::Set(slots) => slots,
            // Just written.
            Self::Unset => loop {
                core::hint::spin_loop();
            },
        }
    }
}

/// Buffers with a fixed address, all zero: `.bss`, so `size` counts them as RAM.
pub struct Storage {
    file_rx: [u8; TCP_BUF],
    file_tx: [u8; TCP_BUF],
    command_rx: [u8; TCP_BUF],
    command_tx: [u8; TCP_BUF],
    secure_file_rx: [u8; TCP_BUF],
    secure_file_tx: [u8; TCP_BUF],
    secure_command_rx: [u8; TCP_BUF],
    secure_command_tx: [u8; TCP_BUF],
    file_channel_rx: [u8; CHANNEL_RX],
    file_channel_tx: [u8; FILE_CHANNEL_TX],
    command_channel_rx: [u8; CHANNEL_RX],
    command_channel_tx: [u8; COMMAND_CHANNEL_TX],
    stdout: [u8; 512],
    stderr: [u8; 64],
    mac: StubMac,
}

impl Storage {
    /// All zero.
    pub const fn new() -> Self {
        Self {
            file_rx: [0; TCP_BUF],
            file_tx: [0; TCP_BUF],
            command_rx: [0; TCP_BUF],
            command_tx: [0; TCP_BUF],
            secure_file_rx: [0; TCP_BUF],
            secure_file_tx: [0; TCP_BUF],
            secure_command_rx: [0; TCP_BUF],
            secure_command_tx: [0; TCP_BUF],
            file_channel_rx: [0; CHANNEL_RX],
            file_channel_tx: [0; FILE_CHANNEL_TX],
            command_channel_rx: [0; CHANNEL_RX],
            command_channel_tx: [0; COMMAND_CHANNEL_TX],
            stdout: [0; 512],
            stderr: [0; 64],
            mac: StubMac::new(),
        }
    }
}

/// The table, plus `md5`: the digest of the last file received, in hex.
pub struct Commands {
    last_md5: Option<[u8; 16]>,
}

impl CommandHandler for Commands {
    fn run(&mut self, command: &[u8], out: &mut dyn CommandOutput) -> Result<(), OutputFull> {
        if command != b"md5" {
            return TABLE.clone().run(command, out);
        }
        let Some(digest) = self.last_md5 else { return out.stderr(b"no file yet\n") };
        out.stdout(&md5_hex(digest))?;
        out.stdout(b"\n")
    }
}

type FileSession<'k> = Session<SeedMutual<'k>, FileReceive<Md5Sink, HEADER_MAX>>;
type CommandSession<'k> = Session<SeedMutual<'k>, CommandAgent<'static, Commands, COMMAND_MAX>>;
/// Both secure ports' sessions: one type, so the pump, the session and the channel's
/// feeding of its inner machine are linked once (`SecureFileReceive` and
/// `SecureCommandAgent` apart cost 2,620 B more flash at opt-level "z").
type SecureSession = SecureDevice<'static, 'static, Md5Sink, Commands, HEADER_MAX, COMMAND_MAX>;

/// The mutual seed handshake of wirekit's keyed file and exec exchanges, as the accepting
/// side (docs/protocol.md section 4): check the peer's answer under its role's key first,
/// then answer its challenge under ours. `wirekit file send --connect --key` and `wirekit exec
/// controller --connect --key` run the other side.
fn accepting(keys: &RoleKeys, challenge: [u8; 32]) -> SeedMutual<'_> {
    let (verify, prove) = (keys.verify.as_bytes(), keys.prove.as_bytes());
    SeedMutual::new(verify, prove, MutualOrder::AcceptingSide, challenge)
}

/// A fresh 32-byte challenge (or a secure session's ephemeral key), or `None` (the
/// connection is refused) when the RNG fails.
fn challenge(rng: &mut impl Entropy) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    rng.fill(&mut out).ok()?;
    Some(out)
}

/// What the sessions share: the RNG, the last file's digest, the command reply buffers
/// (lent to one command session at a time).
struct Device<R> {
    rng: R,
    last_md5: Option<[u8; 16]>,
    reply_buffers: Option<(&'static mut [u8], &'static mut [u8])>,
    /// The secure channels' buffers, lent to one session each at a time.
    file_channel: Option<Buffers<'static>>,
    command_channel: Option<Buffers<'static>>,
}

/// The main loop. Never returns. `rng` supplies every challenge.
pub fn run(
    sockets: &'static mut SocketSlots,
    storage: &'static mut Storage,
    rng: impl Entropy,
) -> ! {
    let Storage {
        file_rx,
        file_tx,
        command_rx,
        command_tx,
        secure_file_rx,
        secure_file_tx,
        secure_command_rx,
        secure_command_tx,
        file_channel_rx,
        file_channel_tx,
        command_channel_rx,
        command_channel_tx,
        stdout,
        stderr,
        mac,
    } = storage;
    let mut config = Config::new(EthernetAddress([0x02, 0, 0, 0, 0, 0x42]).into());
    let mut device = Device {
        rng,
        last_md5: None,
        reply_buffers: Some((stdout, stderr)),
        file_channel: Some(Buffers { rx: file_channel_rx, tx: file_channel_tx }),
        command_channel: Some(Buffers { rx: command_channel_rx, tx: command_channel_tx }),
    };
    // smoltcp's seed (TCP initial sequence numbers, ports) from the RNG too; zero only if
    // it failed, and then no connection gets a challenge anyway.
    let mut seed = [0u8; 8];
    let _ = device.rng.fill(&mut seed);
    config.random_seed = u64::from_le_bytes(seed);
    let mut now = Instant::ZERO;
    let mut iface = Interface::new(config, mac, now);
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(Ipv4Address::new(192, 168, 1, 50)), 24));
    });
    let mut set = SocketSet::new(&mut sockets[..]);
    let file_handle: SocketHandle = set.add(tcp::Socket::new(
        tcp::SocketBuffer::new(&mut file_rx[..]),
        tcp::SocketBuffer::new(&mut file_tx[..]),
    ));
    let command_handle: SocketHandle = set.add(tcp::Socket::new(
        tcp::SocketBuffer::new(&mut command_rx[..]),
        tcp::SocketBuffer::new(&mut command_tx[..]),
    ));
    let secure_file_handle: SocketHandle = set.add(tcp::Socket::new(
        tcp::SocketBuffer::new(&mut secure_file_rx[..]),
        tcp::SocketBuffer::new(&mut secure_file_tx[..]),
    ));
    let secure_command_handle: SocketHandle = set.add(tcp::Socket::new(
        tcp::SocketBuffer::new(&mut secure_command_rx[..]),
        tcp::SocketBuffer::new(&mut secure_command_tx[..]),
    ));
    // The secure profile's PSK, once; `None` (its ports reset every connection) for a key
    // under 16 bytes.
    let psk = Psk::derive(KEY).ok();
    // The role keys, derived once from the shared key: the device receives files and runs
    // commands, so no answer it gives is worth anything to another exchange.
    let file_keys = RoleKeys::for_role(KEY, Role::FileReceiver);
    let exec_keys = RoleKeys::for_role(KEY, Role::ExecAgent);
    let mut files: Slot<FileSession<'_>> = Slot::new(file_handle, FILE_PORT, SlotConfig::DEFAULT);
    let mut commands: Slot<CommandSession<'_>> =
        Slot::new(command_handle, COMMAND_PORT, SlotConfig::DEFAULT);
    let mut secure_files: Slot<SecureSession> =
        Slot::new(secure_file_handle, SECURE_FILE_PORT, SlotConfig::DEFAULT);
    let mut secure_commands: Slot<SecureSession> =
        Slot::new(secure_command_handle, SECURE_COMMAND_PORT, SlotConfig::DEFAULT);

    loop {
        iface.poll(now, mac, &mut set);
        let since_boot = core::time::Duration::from_micros(now.total_micros().unsigned_abs());
        let mut turn = Turn::new(&mut set, since_boot);

        let mut busy = turn
            .serve(
                &mut files,
                &mut device,
                |device, _peer| {
                    let receiver = FileReceiver::new(FrameConfig::seed()).with_max_size(MAX_FILE);
                    // Files over the partition size are refused from their header.
                    let upload = FileReceive::new(receiver, Md5Sink::with_limit(MAX_FILE));
                    Some(Session::new(accepting(&file_keys, challenge(&mut device.rng)?), upload))
                },
                |_, _| {},
                |device, session, _peer, event| {
                    if let SessionEvent::Exchange(FileEvent::Done { .. }) = event {
                        device.last_md5 = session.exchange().sink().digest();
                    }
                },
            )
            .busy;

        busy |= turn
            .serve(
                &mut commands,
                &mut device,
                |device, _peer| {
                    let challenge = challenge(&mut device.rng)?;
                    let (stdout, stderr) = device.reply_buffers.take()?;
                    let agent = CommandAgent::new(
                        Agent::new(Mode::seed_framed()),
                        Commands { last_md5: device.last_md5 },
                        SliceOutput::new(stdout, stderr),
                    );
                    Some(Session::new(accepting(&exec_keys, challenge), agent))
                },
                // The reply buffers go back for the next connection's session.
                |device, session| {
                    let (_, out) = session.into_exchange().into_parts();
                    device.reply_buffers = Some(out.into_buffers());
                },
                |_, _, _, _| {},
            )
            .busy;

        busy |= turn
            .serve(
                &mut secure_files,
                &mut device,
                |device, _peer| {
                    let psk = psk.as_ref()?;
                    let ephemeral = challenge(&mut device.rng)?;
                    let buffers = device.file_channel.take()?;
                    let receiver = FileReceiver::new(FrameConfig::seed()).with_max_size(MAX_FILE);
                    let sink = Md5Sink::with_limit(MAX_FILE);
                    let limit = DEVICE_PLAINTEXT_LIMIT;
                    SecureSession::file(limit, psk, ephemeral, buffers, receiver, sink).ok()
                },
                |device, session| device.file_channel = Some(session.into_parts().1),
                |device, session, _peer, event| {
                    // Committed: the sender's close_notify confirmed the end.
                    if let SecureEvent::Exchange(DeviceEvent::File(FileEvent::Done { .. })) = event
                    {
                        device.last_md5 = session.sink().and_then(Md5Sink::digest);
                    }
                },
            )
            .busy;

        busy |= turn
            .serve(
                &mut secure_commands,
                &mut device,
                |device, _peer| {
                    let psk = psk.as_ref()?;
                    // The reply buffers are shared with port 8090: while a session there
                    // holds them, this connection is refused (and nothing is taken).
                    if device.reply_buffers.is_none() || device.command_channel.is_none() {
                        return None;
                    }
                    let ephemeral = challenge(&mut device.rng)?;
                    let buffers = device.command_channel.take()?;
                    let (stdout, stderr) = device.reply_buffers.take()?;
                    let handler = Commands { last_md5: device.last_md5 };
                    let out = SliceOutput::new(stdout, stderr);
                    let limit = DEVICE_PLAINTEXT_LIMIT;
                    SecureSession::exec(limit, psk, ephemeral, buffers, handler, out).ok()
                },
                |device, session| {
                    let (service, buffers) = session.into_parts();
                    device.command_channel = Some(buffers);
                    if let DeviceService::Exec(exec) = service {
                        device.reply_buffers = Some(exec.into_parts().1.into_buffers());
                    }
                },
                |_, _, _, _| {},
            )
            .busy;

        if !busy {
            // Real firmware: sleep (WFI) until the MAC interrupt or the timer set from the
            // earliest of `iface.poll_delay(now, &set)` and the slots' idle deadlines. The
            // stand-in clock advances by that delay.
            let delay =
                iface.poll_delay(now, &set).unwrap_or(smoltcp::time::Duration::from_millis(10));
            now += delay;
        }
        now = black_box(now);
    }
}
