//! UDP: one message per datagram, nothing to frame, sizes checked up front.
//!
//! Two limits apply. The protocol limit ([`check_datagram`]: 65,507 bytes over IPv4) is the
//! same everywhere. The link limit is smoltcp's: without the `proto-ipv4-fragmentation`
//! feature a datagram larger than the interface's IP MTU is dropped silently at `poll` time,
//! so [`send_datagram`] refuses it with an error instead ([`unfragmented_max_payload`]).

use core::fmt;

use smoltcp::phy::DeviceCapabilities;
use smoltcp::socket::udp;
use smoltcp::wire::{IpEndpoint, IpVersion as SmolIpVersion};
use wirekit_core::datagram::{check_datagram, DatagramTooLarge, IpVersion};

/// IPv4 header (no options) + UDP header.
const IPV4_UDP_OVERHEAD: usize = 20 + 8;
/// IPv6 header (no extensions) + UDP header.
const IPV6_UDP_OVERHEAD: usize = 40 + 8;

/// Why a datagram was not sent or received whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpError {
    /// Larger than any UDP datagram over this IP version.
    TooLarge(DatagramTooLarge),
    /// Larger than the link carries without fragmentation (`link_max` of [`send_datagram`]).
    ExceedsLink {
        /// The message length.
        len: usize,
        /// The link's payload limit.
        max: usize,
    },
    /// Larger than the socket's whole transmit payload buffer: it can never be queued.
    ExceedsSocketBuffer {
        /// The message length.
        len: usize,
        /// The socket's payload capacity.
        capacity: usize,
    },
    /// smoltcp refused it: not bound, unaddressable destination, or the buffer is full now
    /// (try again after a poll).
    Send(udp::SendError),
    /// A received datagram was longer than the caller's buffer; it was dropped.
    Truncated {
        /// The datagram's length.
        len: usize,
        /// The buffer's length.
        capacity: usize,
    },
}

impl fmt::Display for UdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge(err) => err.fmt(f),
            Self::ExceedsLink { len, max } => write!(
                f,
                "datagram of {len} bytes exceeds the link's {max}-byte limit without fragmentation"
            ),
            Self::ExceedsSocketBuffer { len, capacity } => write!(
                f,
                "datagram of {len} bytes exceeds the socket's {capacity}-byte transmit buffer"
            ),
            Self::Send(err) => write!(f, "UDP send failed: {err}"),
            Self::Truncated { len, capacity } => write!(
                f,
                "received datagram of {len} bytes does not fit a {capacity}-byte buffer (dropped)"
            ),
        }
    }
}

impl core::error::Error for UdpError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::TooLarge(err) => Some(err),
            Self::Send(err) => Some(err),
            _ => None,
        }
    }
}

/// The IP version of an endpoint, in the core's terms.
pub fn ip_version(endpoint: &IpEndpoint) -> IpVersion {
    if endpoint.addr.version() == SmolIpVersion::Ipv4 {
        IpVersion::V4
    } else {
        IpVersion::V6
    }
}

/// The largest UDP payload a device carries in one unfragmented packet
/// (`caps.ip_mtu()` minus the IP and UDP headers).
pub fn unfragmented_max_payload(caps: &DeviceCapabilities, ip: IpVersion) -> usize {
    let overhead = match ip {
        IpVersion::V4 => IPV4_UDP_OVERHEAD,
        IpVersion::V6 => IPV6_UDP_OVERHEAD,
    };
    caps.ip_mtu().saturating_sub(overhead)
}

/// Queue `message` as one datagram to `to`. `link_max` is the largest payload the link
/// delivers: [`unfragmented_max_payload`] of the device, or `usize::MAX` when smoltcp's
/// fragmentation is enabled. Every limit is checked before anything is queued.
pub fn send_datagram(
    socket: &mut udp::Socket<'_>,
    to: IpEndpoint,
    message: &[u8],
    link_max: usize,
) -> Result<(), UdpError> {
    let message = check_datagram(message, ip_version(&to)).map_err(UdpError::TooLarge)?;
    let len = message.len();
    if len > link_max {
        return Err(UdpError::ExceedsLink { len, max: link_max });
    }
    let capacity = socket.payload_send_capacity();
    if len > capacity {
        return Err(UdpError::ExceedsSocketBuffer { len, capacity });
    }
    socket.send_slice(message, to).map_err(UdpError::Send)
}

/// Take the next datagram, if any, and pass it to `f` with its sender without copying.
pub fn recv_datagram<R>(
    socket: &mut udp::Socket<'_>,
    f: impl FnOnce(&[u8], IpEndpoint) -> R,
) -> Option<R> {
    let (payload, meta) = socket.recv().ok()?;
    Some(f(payload, meta.endpoint))
}

/// Copy the next datagram, if any, into `buf`; returns its length and sender. A datagram
/// longer than `buf` is dropped and reported with its real length, never cut silently.
pub fn recv_datagram_into(
    socket: &mut udp::Socket<'_>,
    buf: &mut [u8],
) -> Result<Option<(usize, IpEndpoint)>, UdpError> {
    let capacity = buf.len();
    let Some(result) = recv_datagram(socket, |payload, from| match buf.get_mut(..payload.len()) {
        Some(dst) => {
            dst.copy_from_slice(payload);
            Ok((payload.len(), from))
        }
        None => Err(UdpError::Truncated { len: payload.len(), capacity }),
    }) else {
        return Ok(None);
    };
    result.map(Some)
}
