//! The three services, each one [`Service`] over the core's `AsyncConn`, and [`serve`],
//! which runs [`SOCKETS_PER_PORT`] listening sockets of each.

use core::convert::Infallible;
use core::ops::ControlFlow;

use embassy_futures::join::{join3, join_array};
use embassy_net::tcp::{self, TcpSocket};
use embassy_net::Stack;
use embassy_time::Instant;
use md5::{Digest, Md5};
use rand_core::CryptoRng;
use wirekit_core::auth::{MutualOrder, RoleKeys, SeedMutual, SeedVerifier};
use wirekit_core::command::{Agent, AgentEvent, CommandError, Mode};
use wirekit_core::frame::FrameConfig;
use wirekit_core::io::{AsyncConn, DriveError, Incoming};
use wirekit_core::transfer::FileReceiver;

use crate::commands::{Commands, Reply};
use crate::device::{Device, LastFile};
use crate::idle::{Idle, IdleError};
use crate::lifecycle::{listen, End, Service, SocketBuffers, IDLE_LIMIT};

/// Seed handshake alone (demo4).
pub const AUTH_PORT: u16 = 8066;
/// File receive (demo3).
pub const FILE_PORT: u16 = 8080;
/// Framed remote commands (demo2).
pub const COMMAND_PORT: u16 = 8090;

/// Listening sockets per port: a new connection finds one while the previous one closes.
pub const SOCKETS_PER_PORT: usize = 2;
/// TCP sockets [`serve`] adds to the stack (size `StackResources` for at least these).
pub const SOCKETS: usize = 3 * SOCKETS_PER_PORT;

/// The largest file accepted (the image partition of a small device).
pub const MAX_FILE: u64 = 256 * 1024;
/// The largest demo3 header JSON accepted (device file names are short).
const HEADER_MAX: usize = 512;
/// The longest command (the table's are short; the seed reads `recv(1024)`).
const COMMAND_MAX: usize = 256;
/// Receive buffer of each connection's `AsyncConn`; the socket buffers hold the rest.
const CONN_BUF: usize = 512;

const AUTH_RX: usize = 256;
const AUTH_TX: usize = 256;
/// The file socket's receive window sets the transfer rate.
const FILE_RX: usize = 8 * 1024;
const FILE_TX: usize = 256;
const COMMAND_BUF: usize = 1024;
const STDOUT_BUF: usize = 512;
const STDERR_BUF: usize = 128;

/// Every socket buffer [`serve`] uses, all zero: put it in a `static` (`.bss`).
pub struct Buffers {
    auth: [SocketBuffers<AUTH_RX, AUTH_TX>; SOCKETS_PER_PORT],
    file: [SocketBuffers<FILE_RX, FILE_TX>; SOCKETS_PER_PORT],
    command: [SocketBuffers<COMMAND_BUF, COMMAND_BUF>; SOCKETS_PER_PORT],
}

impl Buffers {
    /// All zero.
    pub const fn new() -> Self {
        Self {
            auth: [const { SocketBuffers::new() }; SOCKETS_PER_PORT],
            file: [const { SocketBuffers::new() }; SOCKETS_PER_PORT],
            command: [const { SocketBuffers::new() }; SOCKETS_PER_PORT],
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}

/// Serve seed auth (8066), files (8080) and commands (8090) on `stack`, forever.
pub async fn serve<R: CryptoRng>(
    stack: Stack<'_>,
    device: &Device<'_, R>,
    buffers: &mut Buffers,
) -> Infallible {
    log::info!(
        "seed auth :{AUTH_PORT}, file :{FILE_PORT} (md5, max {MAX_FILE} B), \
         commands :{COMMAND_PORT}; {SOCKETS_PER_PORT} sockets per port"
    );
    let Buffers { auth, file, command } = buffers;
    let auth =
        join_array(auth.each_mut().map(|b| listen(stack, AUTH_PORT, b, SeedAuth { device })));
    let file = join_array(file.each_mut().map(|b| listen(stack, FILE_PORT, b, Upload { device })));
    let command =
        join_array(command.each_mut().map(|b| listen(stack, COMMAND_PORT, b, Shell { device })));
    let (never, _, _) = join3(auth, file, command).await;
    match never.into_iter().next() {
        Some(never) => never,
        // SOCKETS_PER_PORT > 0, so the arm above always matches; join_array never ends.
        None => core::future::pending().await,
    }
}

type Conn<'s, 'a> = AsyncConn<Idle<&'s mut TcpSocket<'a>>, CONN_BUF>;

fn conn<'s, 'a>(socket: &'s mut TcpSocket<'a>) -> Conn<'s, 'a> {
    AsyncConn::new(Idle::new(socket, IDLE_LIMIT))
}

/// Run the accepting side of a mutual seed handshake with `keys`; true when the peer
/// proved its key (then the device has answered, and the exchange follows).
async fn mutual<R: CryptoRng>(
    conn: &mut Conn<'_, '_>,
    device: &Device<'_, R>,
    port: u16,
    keys: &RoleKeys,
) -> bool {
    let mut handshake = SeedMutual::new(
        keys.verify.as_bytes(),
        keys.prove.as_bytes(),
        MutualOrder::AcceptingSide,
        device.challenge(),
    );
    match conn.authenticate(&mut handshake).await {
        Ok(outcome) => device.verdict(port, outcome),
        Err(e) => {
            log::warn!(":{port}: handshake: {e}");
            device.handshake_failed();
            false
        }
    }
}

/// 8066: the seed's handshake with the shared key; the device sends no verdict.
struct SeedAuth<'d, 'k, R> {
    device: &'d Device<'k, R>,
}

impl<R: CryptoRng> Service for SeedAuth<'_, '_, R> {
    async fn session(&mut self, socket: &mut TcpSocket<'_>) -> End {
        let mut conn = conn(socket);
        let mut verifier = SeedVerifier::new(self.device.keys().shared, self.device.challenge());
        match conn.authenticate(&mut verifier).await {
            Ok(outcome) if self.device.verdict(AUTH_PORT, outcome) => End::Close,
            Ok(_) => End::Reset,
            Err(e) => {
                log::warn!(":{AUTH_PORT}: handshake: {e}");
                self.device.handshake_failed();
                End::Reset
            }
        }
    }
}

/// 8080: mutual handshake, then one file into an MD5 sink.
struct Upload<'d, 'k, R> {
    device: &'d Device<'k, R>,
}

impl<R: CryptoRng> Service for Upload<'_, '_, R> {
    async fn session(&mut self, socket: &mut TcpSocket<'_>) -> End {
        let device = self.device;
        let mut conn = conn(socket);
        if !mutual(&mut conn, device, FILE_PORT, &device.keys().file).await {
            return End::Reset;
        }
        let mut receiver: FileReceiver<HEADER_MAX> =
            FileReceiver::new(FrameConfig::seed()).with_max_size(MAX_FILE);
        let mut md5 = Md5::new();
        let started = Instant::now();
        let received = conn
            .receive_file(&mut receiver, |incoming| {
                match incoming {
                    Incoming::Header(h) => {
                        log::info!("file {:?} ({} B)", h.filename, h.filesize)
                    }
                    Incoming::Body(chunk) => md5.update(chunk),
                }
                Ok::<(), Infallible>(())
            })
            .await;
        match received {
            Ok(len) => {
                let ms = started.elapsed().as_millis();
                log::info!("file done: {len} B in {ms} ms");
                device.file_received(LastFile { md5: md5.finalize().into(), len });
                End::Close
            }
            Err(e) => {
                log::warn!(":{FILE_PORT}: file: {e}");
                End::Reset
            }
        }
    }
}

/// 8090: mutual handshake, then framed commands until `q` or the controller closes.
struct Shell<'d, 'k, R> {
    device: &'d Device<'k, R>,
}

impl<R: CryptoRng> Service for Shell<'_, '_, R> {
    async fn session(&mut self, socket: &mut TcpSocket<'_>) -> End {
        let device = self.device;
        let mut conn = conn(socket);
        if !mutual(&mut conn, device, COMMAND_PORT, &device.keys().exec).await {
            return End::Reset;
        }
        let mut agent: Agent<COMMAND_MAX> = Agent::new(Mode::seed_framed());
        let mut command = [0u8; COMMAND_MAX];
        let (mut stdout, mut stderr) = ([0u8; STDOUT_BUF], [0u8; STDERR_BUF]);
        loop {
            let next = conn
                .drive(&mut agent, |_, event| match event {
                    AgentEvent::Command(cmd) => {
                        // The agent hands out at most COMMAND_MAX bytes.
                        let len = cmd.len().min(COMMAND_MAX);
                        if let (Some(to), Some(from)) = (command.get_mut(..len), cmd.get(..len)) {
                            to.copy_from_slice(from);
                        }
                        ControlFlow::Break(len)
                    }
                    AgentEvent::Quit | AgentEvent::Closed => ControlFlow::Continue(()),
                })
                .await;
            let len = match next {
                Ok(Some(len)) => len,
                Ok(None) => return End::Close,
                Err(e) => {
                    log::warn!(":{COMMAND_PORT}: {e}");
                    return End::Reset;
                }
            };
            let commands = Commands {
                now_ms: Instant::now().as_millis(),
                last_file: device.last_file(),
                stats: device.stats(),
            };
            let mut reply = Reply::new(&mut stdout, &mut stderr);
            if let Err(full) = commands.run(command.get(..len).unwrap_or_default(), &mut reply) {
                log::warn!(":{COMMAND_PORT}: reply cut at {} B", full.capacity);
            }
            if let Err(e) = answer(&mut conn, &mut agent, &reply).await {
                log::warn!(":{COMMAND_PORT}: reply: {e}");
                return End::Reset;
            }
            device.command_answered();
        }
    }
}

/// What stopped a reply: the agent refused a step, or the transport failed.
type ReplyError = DriveError<IdleError<tcp::Error>, CommandError>;

/// `write_all`'s error (it has no protocol part) as a [`ReplyError`].
fn write_error(e: DriveError<IdleError<tcp::Error>, Infallible>) -> ReplyError {
    match e {
        DriveError::Io(e) => DriveError::Io(e),
        DriveError::Protocol(never) => match never {},
        DriveError::WriteZero => DriveError::WriteZero,
        DriveError::UnexpectedEof => DriveError::UnexpectedEof,
        DriveError::BufferFull => DriveError::BufferFull,
        DriveError::Stalled { buffered } => DriveError::Stalled { buffered },
    }
}

/// The framed reply: the agent's prefix, then stdout, then stderr.
async fn answer(
    conn: &mut Conn<'_, '_>,
    agent: &mut Agent<COMMAND_MAX>,
    reply: &Reply<'_>,
) -> Result<(), ReplyError> {
    agent.begin_reply_for(reply.stdout(), reply.stderr()).map_err(DriveError::Protocol)?;
    conn.flush_output(agent).await?;
    for part in [reply.stdout(), reply.stderr()] {
        conn.write_all(part).await.map_err(write_error)?;
        agent.record_reply_bytes(part.len()).map_err(DriveError::Protocol)?;
    }
    Ok(())
}
