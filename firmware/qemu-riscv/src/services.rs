//! Placeholder services: TCP echo and UDP echo. The wirekit agent (over the
//! smoltcp adapter) replaces these once it lands; the socket plumbing stays.

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::IpListenEndpoint;

/// TCP echo port (forwarded from the host by the QEMU test).
pub const TCP_ECHO_PORT: u16 = 7000;
/// UDP echo port.
pub const UDP_ECHO_PORT: u16 = 7001;
/// Listening TCP sockets: back-to-back connections must not all land on a socket
/// that is still closing.
pub const TCP_SOCKETS: usize = 4;
/// Per-socket TCP receive and transmit buffer size.
pub const TCP_BUF: usize = 16 * 1024;
/// UDP packet slots and payload buffer size.
const UDP_PACKETS: usize = 8;
const UDP_BUF: usize = 8 * 1024;
/// Socket slots the application needs in its `SocketSet`.
pub const SOCKET_SLOTS: usize = TCP_SOCKETS + 1;

/// Static socket buffers. All zero, so the static lands in .bss; the UDP packet
/// metadata is not all-zero and lives in [`Metadata`], or this whole struct
/// would be copied into the image's .data.
pub struct Storage {
    tcp: [([u8; TCP_BUF], [u8; TCP_BUF]); TCP_SOCKETS],
    udp_rx: [u8; UDP_BUF],
    udp_tx: [u8; UDP_BUF],
}

impl Storage {
    /// Zeroed storage, for a `static`.
    pub const fn new() -> Self {
        Self {
            tcp: [([0; TCP_BUF], [0; TCP_BUF]); TCP_SOCKETS],
            udp_rx: [0; UDP_BUF],
            udp_tx: [0; UDP_BUF],
        }
    }
}

/// UDP packet metadata rings (small, initialised data).
pub struct Metadata {
    udp_rx: [udp::PacketMetadata; UDP_PACKETS],
    udp_tx: [udp::PacketMetadata; UDP_PACKETS],
}

impl Metadata {
    /// Empty rings, for a `static`.
    pub const fn new() -> Self {
        Self {
            udp_rx: [udp::PacketMetadata::EMPTY; UDP_PACKETS],
            udp_tx: [udp::PacketMetadata::EMPTY; UDP_PACKETS],
        }
    }
}

/// Per-connection bookkeeping, for the log.
#[derive(Clone, Copy, Default)]
struct ConnStats {
    active: bool,
    echoed: usize,
}

/// The echo services' sockets.
pub struct Echo {
    tcp: [SocketHandle; TCP_SOCKETS],
    stats: [ConnStats; TCP_SOCKETS],
    udp: SocketHandle,
    scratch: [u8; 2048],
}

impl Echo {
    /// Creates the sockets in `sockets` and starts listening.
    pub fn new(
        storage: &'static mut Storage,
        metadata: &'static mut Metadata,
        sockets: &mut SocketSet<'static>,
    ) -> Self {
        let Storage { tcp, udp_rx, udp_tx } = storage;
        let Metadata { udp_rx: udp_rx_meta, udp_tx: udp_tx_meta } = metadata;
        let tcp = tcp.each_mut().map(|(rx, tx)| {
            let mut socket = tcp::Socket::new(
                tcp::SocketBuffer::new(&mut rx[..]),
                tcp::SocketBuffer::new(&mut tx[..]),
            );
            // Echo replies are small writes: with Nagle and delayed ACKs both on,
            // each waits for the other and a bulk echo ran at ~250 KiB/s instead
            // of ~10 MiB/s. Turning off either one is enough; both are off.
            socket.set_ack_delay(None);
            socket.set_nagle_enabled(false);
            sockets.add(socket)
        });
        let mut udp_socket = udp::Socket::new(
            udp::PacketBuffer::new(&mut udp_rx_meta[..], &mut udp_rx[..]),
            udp::PacketBuffer::new(&mut udp_tx_meta[..], &mut udp_tx[..]),
        );
        if let Err(e) = udp_socket.bind(UDP_ECHO_PORT) {
            log::error!("udp bind {UDP_ECHO_PORT}: {e}");
        }
        let udp = sockets.add(udp_socket);
        log::info!(
            "tcp echo on :{TCP_ECHO_PORT} ({TCP_SOCKETS} sockets), udp echo on :{UDP_ECHO_PORT}"
        );
        Self { tcp, stats: [ConnStats::default(); TCP_SOCKETS], udp, scratch: [0; 2048] }
    }

    /// Moves data between the sockets after an `Interface::poll`.
    pub fn run(&mut self, sockets: &mut SocketSet<'static>) {
        for (handle, stats) in self.tcp.iter().zip(self.stats.iter_mut()) {
            let socket = sockets.get_mut::<tcp::Socket>(*handle);
            serve_tcp(socket, stats, &mut self.scratch);
        }
        let socket = sockets.get_mut::<udp::Socket>(self.udp);
        while socket.can_recv() && socket.can_send() {
            match socket.recv_slice(&mut self.scratch) {
                Ok((n, meta)) => {
                    let reply = &self.scratch[..n];
                    if let Err(e) = socket.send_slice(reply, meta.endpoint) {
                        log::warn!("udp echo to {}: {e}", meta.endpoint);
                    } else {
                        log::info!("udp echo {n} bytes to {}", meta.endpoint);
                    }
                }
                Err(e) => {
                    log::warn!("udp recv: {e}");
                    break;
                }
            }
        }
    }
}

fn serve_tcp(socket: &mut tcp::Socket<'_>, stats: &mut ConnStats, scratch: &mut [u8]) {
    if !socket.is_open() {
        if stats.active {
            log::info!("tcp connection closed after echoing {} bytes", stats.echoed);
            *stats = ConnStats::default();
        }
        if let Err(e) = socket.listen(IpListenEndpoint::from(TCP_ECHO_PORT)) {
            log::error!("tcp listen {TCP_ECHO_PORT}: {e}");
        }
        return;
    }
    if socket.is_active() && !stats.active {
        stats.active = true;
        if let Some(peer) = socket.remote_endpoint() {
            log::info!("tcp connection from {peer}");
        }
    }
    // Echo as much as the transmit buffer can take right now.
    while socket.can_recv() {
        let room = socket.send_capacity() - socket.send_queue();
        let want = room.min(scratch.len());
        if want == 0 {
            break;
        }
        let n = match socket.recv_slice(&mut scratch[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                log::warn!("tcp recv: {e}");
                socket.abort();
                return;
            }
        };
        match socket.send_slice(&scratch[..n]) {
            Ok(sent) if sent == n => stats.echoed += n,
            Ok(sent) => {
                // Cannot happen: `room` was checked. Losing bytes would corrupt the echo.
                log::error!("tcp echo short send {sent}/{n}; aborting connection");
                socket.abort();
                return;
            }
            Err(e) => {
                log::warn!("tcp send: {e}");
                socket.abort();
                return;
            }
        }
    }
    // Peer finished sending and everything is echoed: close our side too.
    if !socket.may_recv() && socket.may_send() && socket.send_queue() == 0 && !socket.can_recv() {
        socket.close();
    }
}
