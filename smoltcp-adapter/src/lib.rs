//! # wirekit-smoltcp
//!
//! Glue between [`wirekit_core`]'s sans-IO machines and [smoltcp] sockets, for firmware:
//! `#![no_std]`, no allocator, never blocks.
//!
//! smoltcp is poll-driven: the application owns the `Interface`, the device and the
//! `SocketSet`, and calls `iface.poll(now, ..)` in its main loop. After each poll it calls
//! [`TcpPump::poll`], which moves bytes between the socket's buffers and any
//! [`wirekit_core::Machine`] with smoltcp's zero-copy `send(|buf| ..)` / `recv(|buf| ..)`
//! closures and hands the machine's events to a callback:
//!
//! ```no_run
//! use smoltcp::iface::{Interface, SocketHandle, SocketSet};
//! use smoltcp::phy::Device;
//! use smoltcp::socket::tcp;
//! use smoltcp::time::Instant;
//! use wirekit_core::Machine;
//! use wirekit_smoltcp::{PumpError, TcpPump};
//!
//! /// One turn of the main loop. Returns true once the exchange is over and the socket closed.
//! fn step<M: Machine>(
//!     now: Instant,
//!     iface: &mut Interface,
//!     device: &mut impl Device,
//!     sockets: &mut SocketSet<'_>,
//!     handle: SocketHandle,
//!     pump: &mut TcpPump<M>,
//!     on_event: impl for<'i> FnMut(&mut M, M::Event<'i>),
//! ) -> Result<bool, PumpError<M::Error>> {
//!     iface.poll(now, device, sockets);
//!     let socket = sockets.get_mut::<tcp::Socket>(handle);
//!     pump.poll(socket, on_event)?; // events: header, chunk, verdict, ...
//!     if pump.is_flushed(socket) {
//!         socket.close(); // or keep the socket and start the next machine on it
//!         return Ok(true);
//!     }
//!     Ok(false) // the caller sleeps until `iface.poll_delay(now, sockets)` or a packet
//! }
//! ```
//!
//! The adapter holds no protocol logic: framing, handshakes, transfers and commands live in
//! the core and reach the socket only through the [`Machine`](wirekit_core::Machine) trait.
//!
//! * [`tcp`]: the pump.
//! * [`udp`]: one message per datagram, size-checked with
//!   [`check_datagram`](wirekit_core::datagram::check_datagram).
//! * [`sink`]: [`BodySink`], where a received file body goes on a device (flash, a digest).
//! * [`command`]: [`CommandHandler`], what answers remote commands on a device.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod command;
pub mod session;
pub mod sink;
pub mod source;
pub mod tcp;
pub mod udp;

pub use command::{CommandHandler, CommandOutput, CommandTable, OutputFull, SliceOutput, Stream};
pub use session::{
    proceeds_after, AgentError, AgentEvent, Authenticate, CommandAgent, CommandController,
    ControllerError, ControllerEvent, Exchange, FileEvent, FileReceive, FileSend, ReceiveError,
    SendError, Session, SessionError, SessionEvent,
};
pub use sink::{BodySink, ByteCounter, SinkFull, SliceSink};
pub use source::{BodySource, SliceSource};
pub use tcp::{Progress, PumpError, TcpPump};
pub use udp::{
    ip_version, recv_datagram, recv_datagram_into, send_datagram, unfragmented_max_payload,
    UdpError,
};

/// The core crate, re-exported so firmware needs one dependency line.
pub use wirekit_core as core_machines;
