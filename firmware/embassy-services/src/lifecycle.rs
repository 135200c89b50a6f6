//! One socket's life, written once for every service: listen, hand the connection to the
//! service, then either close cleanly (the seed's receipt is the device's FIN) or reset (a
//! refused peer gets nothing, and a reset cannot pass for a completed upload), and listen
//! again.

use core::convert::Infallible;

use embassy_net::tcp::{State, TcpSocket};
use embassy_net::Stack;
use embassy_time::{with_timeout, Duration, Timer};

/// The stack drops a peer that stops ACKing (keep-alives included) after this long.
pub const TCP_TIMEOUT: Duration = Duration::from_secs(60);
/// Keep-alive on every connection, so a vanished peer is noticed while idle.
pub const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// A connection with nothing moving for this long is reset.
pub const IDLE_LIMIT: Duration = Duration::from_secs(120);
/// After its FIN, the device waits this long for the peer's before it lets go.
const LINGER: Duration = Duration::from_secs(5);

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Done: close cleanly.
    Close,
    /// Refused or broken: reset at once.
    Reset,
}

/// One connection's exchange.
pub(crate) trait Service {
    /// Serve the connection on `socket` (established) until it ends.
    async fn session(&mut self, socket: &mut TcpSocket<'_>) -> End;
}

/// Socket buffers of one listening socket.
pub struct SocketBuffers<const RX: usize, const TX: usize> {
    rx: [u8; RX],
    tx: [u8; TX],
}

impl<const RX: usize, const TX: usize> SocketBuffers<RX, TX> {
    /// All zero (a `static` of them lands in `.bss`).
    pub const fn new() -> Self {
        Self { rx: [0; RX], tx: [0; TX] }
    }
}

impl<const RX: usize, const TX: usize> Default for SocketBuffers<RX, TX> {
    fn default() -> Self {
        Self::new()
    }
}

/// Serve `service` on `port` forever, one connection at a time on one socket.
pub(crate) async fn listen<S: Service, const RX: usize, const TX: usize>(
    stack: Stack<'_>,
    port: u16,
    buffers: &mut SocketBuffers<RX, TX>,
    mut service: S,
) -> Infallible {
    let mut socket = TcpSocket::new(stack, &mut buffers.rx, &mut buffers.tx);
    loop {
        socket.set_timeout(Some(TCP_TIMEOUT));
        socket.set_keep_alive(Some(KEEP_ALIVE));
        // Small request/reply exchanges: Nagle plus the peer's delayed ACK costs 40 ms each.
        socket.set_nagle_enabled(false);
        if let Err(e) = socket.accept(port).await {
            log::warn!(":{port}: accept: {e:?}");
            reset(&mut socket).await;
            // Not a busy loop if the stack keeps refusing (no address yet, say).
            Timer::after(Duration::from_millis(100)).await;
            continue;
        }
        let peer = Peer(socket.remote_endpoint());
        log::info!(":{port}: connection from {peer}");
        match service.session(&mut socket).await {
            End::Close => close(&mut socket).await,
            End::Reset => log::warn!(":{port}: {peer} refused, reset"),
        }
        reset(&mut socket).await;
    }
}

/// A peer's address for the log.
struct Peer(Option<embassy_net::IpEndpoint>);

impl core::fmt::Display for Peer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(peer) => write!(f, "{peer}"),
            None => f.write_str("?"),
        }
    }
}

/// Send our FIN behind everything written, and give the peer [`LINGER`] to send its own
/// (a seed sender takes the device's FIN as its receipt). Whatever it still sends is dropped.
async fn close(socket: &mut TcpSocket<'_>) {
    socket.close();
    let _ = with_timeout(LINGER, async {
        let mut sink = [0u8; 64];
        while !matches!(socket.state(), State::Closed | State::TimeWait) {
            match socket.read(&mut sink).await {
                Ok(0) => {
                    // The peer's FIN is in; wait for the ACK of ours.
                    let _ = socket.flush().await;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    })
    .await;
}

/// Make the socket listen-ready: abort (a RST if the connection is still open; smoltcp would
/// otherwise keep the socket in TIME-WAIT and `accept` would refuse it) and let the RST out.
async fn reset(socket: &mut TcpSocket<'_>) {
    socket.abort();
    let _ = with_timeout(Duration::from_secs(1), socket.flush()).await;
}
