//! Static socket and reply buffers: all zero, so they land in `.bss` (RAM, not flash).

use smoltcp::socket::udp;
use wirekit_smoltcp::session::secure::rx_buf_len;
use wirekit_smoltcp::DEVICE_PLAINTEXT_LIMIT;

use super::SOCKETS_PER_PORT;

/// Socket buffers: handshakes are a few hundred bytes; the file socket's receive window
/// sets the transfer rate; command replies fit the reply buffers.
const AUTH_BUF: usize = 1024;
const FILE_RX_BUF: usize = 32 * 1024;
const FILE_TX_BUF: usize = 256;
const COMMAND_BUF: usize = 2048;
const STDOUT_BUF: usize = 512;
const STDERR_BUF: usize = 128;
/// A secure channel's receive buffer: one record of the device's stated limit.
const SECURE_RX: usize = rx_buf_len(DEVICE_PLAINTEXT_LIMIT);
/// The auth and file channels send message 2 (52 bytes) and close_notify (18) only.
const SECURE_SMALL_TX: usize = 64;
/// The exec channel seals a whole reply (4-byte prefix, stdout, stderr) as one record.
const SECURE_EXEC_TX: usize = 4 + STDOUT_BUF + STDERR_BUF + 18;
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

/// A secure channel's buffers.
pub(super) struct ChannelStorage<const TX: usize> {
    pub(super) rx: [u8; SECURE_RX],
    pub(super) tx: [u8; TX],
}

impl<const TX: usize> ChannelStorage<TX> {
    const fn new() -> Self {
        Self { rx: [0; SECURE_RX], tx: [0; TX] }
    }
}

/// A secure socket: its socket buffers and its channel's.
pub(super) struct SecureStorage<const RX: usize, const TX: usize, const CTX: usize> {
    pub(super) socket: Pair<RX, TX>,
    pub(super) channel: ChannelStorage<CTX>,
}

impl<const RX: usize, const TX: usize, const CTX: usize> SecureStorage<RX, TX, CTX> {
    const fn new() -> Self {
        Self { socket: Pair::new(), channel: ChannelStorage::new() }
    }
}

/// A secure command socket: socket and channel buffers, and the reply buffers.
pub(super) struct SecureShellStorage {
    pub(super) secure: SecureStorage<COMMAND_BUF, COMMAND_BUF, SECURE_EXEC_TX>,
    pub(super) stdout: [u8; STDOUT_BUF],
    pub(super) stderr: [u8; STDERR_BUF],
}

impl SecureShellStorage {
    const fn new() -> Self {
        Self { secure: SecureStorage::new(), stdout: [0; STDOUT_BUF], stderr: [0; STDERR_BUF] }
    }
}

/// Static buffers, all zero so the static lands in `.bss`.
pub struct Storage {
    pub(super) auth: [Pair<AUTH_BUF, AUTH_BUF>; SOCKETS_PER_PORT],
    pub(super) mp: [Pair<AUTH_BUF, AUTH_BUF>; SOCKETS_PER_PORT],
    pub(super) file: [Pair<FILE_RX_BUF, FILE_TX_BUF>; SOCKETS_PER_PORT],
    pub(super) command: [ShellStorage; SOCKETS_PER_PORT],
    pub(super) secure_auth: [SecureStorage<AUTH_BUF, AUTH_BUF, SECURE_SMALL_TX>; SOCKETS_PER_PORT],
    pub(super) secure_file:
        [SecureStorage<FILE_RX_BUF, FILE_TX_BUF, SECURE_SMALL_TX>; SOCKETS_PER_PORT],
    pub(super) secure_command: [SecureShellStorage; SOCKETS_PER_PORT],
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
            secure_auth: [const { SecureStorage::new() }; SOCKETS_PER_PORT],
            secure_file: [const { SecureStorage::new() }; SOCKETS_PER_PORT],
            secure_command: [const { SecureShellStorage::new() }; SOCKETS_PER_PORT],
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
