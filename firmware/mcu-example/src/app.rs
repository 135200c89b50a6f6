//! The agent: seed authentication, then a file into an MD5 sink (port 8080) or commands
//! from a built-in table (port 8090), each socket re-listening after every session.

use core::hint::black_box;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, Ipv4Address};
use wirekit_core::auth::SeedVerifier;
use wirekit_core::command::{Agent, Mode};
use wirekit_core::frame::FrameConfig;
use wirekit_core::transfer::FileReceiver;
use wirekit_smoltcp::{
    md5_hex, CommandAgent, CommandHandler, CommandOutput, CommandTable, Exchange, FileEvent,
    FileReceive, Md5Sink, OutputFull, Session, SessionEvent, SliceOutput,
};

use crate::device::StubMac;

/// The shared key. Real firmware keeps 32 random bytes per device in a protected area.
const KEY: &[u8] = b"egg";
/// The seed's file and command ports.
const FILE_PORT: u16 = 8080;
const COMMAND_PORT: u16 = 8090;
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

/// The socket set's slots. Not all-zero (an empty slot is a `None` with a non-zero tag), so
/// kept apart from [`Storage`]: one non-zero byte would move a static from `.bss` to `.data`,
/// whose initial image costs flash.
pub type SocketSlots = [SocketStorage<'static>; 2];

/// The empty slots.
pub const EMPTY_SLOTS: SocketSlots = [SocketStorage::EMPTY; 2];

/// Buffers with a fixed address, all zero: `.bss`, so `size` counts them as RAM.
pub struct Storage {
    file_rx: [u8; TCP_BUF],
    file_tx: [u8; TCP_BUF],
    command_rx: [u8; TCP_BUF],
    command_tx: [u8; TCP_BUF],
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

type FileSession = Session<SeedVerifier<'static>, FileReceive<Md5Sink, HEADER_MAX>>;
type CommandSession<'b> = Session<SeedVerifier<'static>, CommandAgent<'b, Commands, COMMAND_MAX>>;

/// The device's entropy source. Real firmware reads its TRNG; this stand-in mixes a value
/// the compiler cannot see (a register) so the challenge is not a constant.
struct Trng(u32);

impl Trng {
    fn challenge(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(4) {
            self.0 ^= black_box(self.0 << 13);
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            chunk.copy_from_slice(&self.0.to_le_bytes());
        }
        out
    }
}

fn file_session(trng: &mut Trng) -> FileSession {
    let receiver = FileReceiver::new(FrameConfig::seed()).with_max_size(MAX_FILE);
    Session::new(
        SeedVerifier::new(KEY, trng.challenge()),
        // Files over the partition size are refused from their header.
        FileReceive::new(receiver, Md5Sink::with_limit(MAX_FILE)),
    )
}

fn command_session<'b>(
    trng: &mut Trng,
    stdout: &'b mut [u8],
    stderr: &'b mut [u8],
    last_md5: Option<[u8; 16]>,
) -> CommandSession<'b> {
    let agent = CommandAgent::new(
        Agent::new(Mode::seed_framed()),
        Commands { last_md5 },
        SliceOutput::new(stdout, stderr),
    );
    Session::new(SeedVerifier::new(KEY, trng.challenge()), agent)
}

/// Listen again once the previous connection is gone; true when a new session must start.
fn relisten(socket: &mut tcp::Socket<'_>, port: u16) -> bool {
    if socket.state() != tcp::State::Closed {
        return false;
    }
    // Listening on a closed socket with a non-zero port cannot fail.
    socket.listen(port).is_ok()
}

/// Poll one session until it has nothing to say; close or abort the socket when it ends.
/// Returns (anything moved, the events seen) through `on_event`.
fn serve<X: Exchange>(
    session: &mut X,
    socket: &mut tcp::Socket<'_>,
    mut on_event: impl FnMut(&mut X, X::Event),
) -> bool {
    let mut busy = false;
    loop {
        match session.poll(socket) {
            Ok(Some(event)) => {
                on_event(session, event);
                busy = true;
            }
            Ok(None) => {
                busy |= !session.progress().is_idle();
                break;
            }
            Err(_) => {
                // A broken session: drop the connection, the socket listens again.
                socket.abort();
                return true;
            }
        }
    }
    if session.is_flushed(socket) && socket.may_send() {
        socket.close();
    }
    busy
}

/// The main loop. Never returns.
pub fn run(sockets: &'static mut SocketSlots, storage: &'static mut Storage) -> ! {
    let Storage { file_rx, file_tx, command_rx, command_tx, stdout, stderr, mac } = storage;
    let mut config = Config::new(EthernetAddress([0x02, 0, 0, 0, 0, 0x42]).into());
    config.random_seed = u64::from(black_box(0x5eed_u32));
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

    let mut trng = Trng(black_box(0x2545_f491));
    let mut last_md5 = None;
    let mut files = file_session(&mut trng);
    let mut commands = Some(command_session(&mut trng, stdout, stderr, last_md5));

    loop {
        iface.poll(now, mac, &mut set);

        let socket = set.get_mut::<tcp::Socket>(file_handle);
        if relisten(socket, FILE_PORT) {
            files = file_session(&mut trng);
        }
        let mut busy = serve(&mut files, socket, |session, event| {
            if let SessionEvent::Exchange(FileEvent::Done { .. }) = event {
                last_md5 = session.exchange().sink().digest();
            }
        });

        let socket = set.get_mut::<tcp::Socket>(command_handle);
        if relisten(socket, COMMAND_PORT) {
            // The old session gives the reply buffers back before the new one takes them.
            commands.take();
            commands = Some(command_session(&mut trng, stdout, stderr, last_md5));
        }
        if let Some(session) = commands.as_mut() {
            busy |= serve(session, socket, |_, _| {});
        }

        if !busy {
            // Real firmware: sleep (WFI) until the MAC interrupt or the timer set from
            // `iface.poll_delay(now, &set)`. The stand-in clock advances by that delay.
            let delay =
                iface.poll_delay(now, &set).unwrap_or(smoltcp::time::Duration::from_millis(10));
            now += delay;
        }
        now = black_box(now);
    }
}
