//! Static socket and reply buffers: all zero, so they land in `.bss` (RAM, not flash).

use smoltcp::socket::udp;

use super::SOCKETS_PER_PORT;

/// Socket buffers: handshakes are a few hundred bytes; the file socket's receive window
/// sets the transfer rate; command replies fit the reply buffers.
const AUTH_BUF: usize = 1024;
const FILE_RX_BUF: usize = 32 * 1024;
const FILE_TX_BUF: usize = 256;
const COMMAND_BUF: usize = 2048;
const STDOUT_BUF: usize = 512;
const STDERR_BUF: usize = 128;
const UDP_PACKETS: usize = 4;
const UDP_BUF: usize = 2048;

/// A socket's two buffers.
pub(super) struct Pair<const RX: usize, const TX: usize> {
    pub(super) rx: [u8; RX],
    pub(super) tx: [u8; TX],
}

impl<const RX: usize, const TX: usize> Pair<RX, TX> {
    const fn new() -> Self {
        Self { rx: [0; RX], tx: [0; TX] }
    }
}

/// A command socket's buffers and its reply buffers.
pub(super) struct ShellStorage {
    pub(super) socket: Pair<COMMAND_BUF, COMMAND_BUF>,
    pub(super) stdout: [u8; STDOUT_BUF],
    pub(super) stderr: [u8; STDERR_BUF],
}

impl ShellStorage {
    const fn new() -> Self {
        Self { socket: Pair::new(), stdout: [0; STDOUT_BUF], stderr: [0; STDERR_BUF] }
    }
}

/// Static buffers, all zero so the static lands in `.bss`.
pub struct Storage {
    pub(super) auth: [Pair<AUTH_BUF, AUTH_BUF>; SOCKETS_PER_PORT],
    pub(super) mp: [Pair<AUTH_BUF, AUTH_BUF>; SOCKETS_PER_PORT],
    pub(super) file: [Pair<FILE_RX_BUF, FILE_TX_BUF>; SOCKETS_PER_PORT],
    pub(super) command: [ShellStorage; SOCKETS_PER_PORT],
    pub(super) udp_rx: [u8; UDP_BUF],
    pub(super) udp_tx: [u8; UDP_BUF],
}

impl Storage {
    /// Zeroed storage, for a `static`.
    pub const fn new() -> Self {
        Self {
            auth: [const { Pair::new() }; SOCKETS_PER_PORT],
            mp: [const { Pair::new() }; SOCKETS_PER_PORT],
            file: [const { Pair::new() }; SOCKETS_PER_PORT],
            command: [const { ShellStorage::new() }; SOCKETS_PER_PORT],
            udp_rx: [0; UDP_BUF],
            udp_tx: [0; UDP_BUF],
        }
    }
}

/// UDP packet metadata rings (not all-zero, so kept out of [`Storage`] and `.data` small).
pub struct Metadata {
    pub(super) udp_rx: [udp::PacketMetadata; UDP_PACKETS],
    pub(super) udp_tx: [udp::PacketMetadata; UDP_PACKETS],
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
