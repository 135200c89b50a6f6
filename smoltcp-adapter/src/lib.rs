//! # wirekit-smoltcp
//!
//! Glue between [`wirekit_core`]'s sans-IO machines and [smoltcp] sockets, for firmware:
//! `#![no_std]`, no allocator, never blocks.
//!
//! smoltcp is poll-driven: the application owns the `Interface`, the device and the
//! `SocketSet`, and calls `iface.poll(now, ..)` in its main loop. After each poll it calls a
//! session's [`Exchange::poll`], which moves bytes between the socket's buffers and a core
//! machine with smoltcp's zero-copy `send(|buf| ..)` / `recv(|buf| ..)` closures, connects
//! the machine to what the device has (a [`BodySink`], a [`BodySource`], a
//! [`CommandHandler`]) and returns at most one event:
//!
//! ```no_run
//! use smoltcp::iface::{Interface, SocketHandle, SocketSet};
//! use smoltcp::phy::Device;
//! use smoltcp::socket::tcp;
//! use smoltcp::time::Instant;
//! use wirekit_core::auth::SeedVerifier;
//! use wirekit_core::frame::FrameConfig;
//! use wirekit_core::transfer::FileReceiver;
//! use wirekit_smoltcp::{ByteCounter, Exchange, FileEvent, FileReceive, Session, SessionEvent};
//!
//! type Upload = Session<SeedVerifier<'static>, FileReceive<ByteCounter>>;
//!
//! /// A seed-authenticated file receiver, counting the body (a flash writer in real life).
//! fn upload(challenge: [u8; 32]) -> Upload {
//!     let receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
//!     Session::new(SeedVerifier::new(b"egg", challenge), FileReceive::new(receiver, ByteCounter::new()))
//! }
//!
//! /// One turn of the main loop. Returns true when the caller may sleep until
//! /// `iface.poll_delay(now, sockets)` or a packet.
//! fn step(
//!     now: Instant,
//!     iface: &mut Interface,
//!     device: &mut impl Device,
//!     sockets: &mut SocketSet<'_>,
//!     handle: SocketHandle,
//!     session: &mut Upload,
//! ) -> bool {
//!     iface.poll(now, device, sockets);
//!     let socket = sockets.get_mut::<tcp::Socket>(handle);
//!     loop {
//!         match session.poll(socket) {
//!             Ok(Some(SessionEvent::Verdict(outcome))) => { /* log it */ }
//!             Ok(Some(SessionEvent::Exchange(FileEvent::Header { filesize }))) => {}
//!             Ok(Some(SessionEvent::Exchange(FileEvent::Done { len }))) => {}
//!             Ok(None) => break,
//!             Err(_) => {
//!                 socket.abort();
//!                 return false;
//!             }
//!         }
//!     }
//!     if session.is_flushed(socket) {
//!         socket.close(); // over, and the peer acknowledged everything
//!     }
//!     session.progress().is_idle()
//! }
//! ```
//!
//! The adapter holds no protocol logic: framing, handshakes, transfers and commands live in
//! the core and reach the socket only through the [`Machine`](wirekit_core::Machine) trait.
//!
//! * [`session`]: [`Authenticate`], [`FileReceive`], [`FileSend`], [`CommandAgent`],
//!   [`CommandController`], and [`Session`] (a handshake, then one of them).
//! * [`tcp`]: [`TcpPump`], which drives any machine on a socket; the sessions use it.
//! * `udp` (feature `udp`, on by default): one message per datagram, size-checked with
//!   [`check_datagram`](wirekit_core::datagram::check_datagram).
//! * [`sink`] / [`source`]: [`BodySink`] and [`BodySource`], where a file body goes to and
//!   comes from on a device (flash, a digest, a slice).
//! * [`command`]: [`CommandHandler`], what answers remote commands on a device.
//! * [`slot`]: [`Slot`], a device's listening socket through every connection: listen
//!   again from TIME-WAIT, reset on refusal and on data after close, idle deadline and
//!   keep-alive; [`Turn`] serves a main loop's slots at one time over one socket set.
//! * `digest` (feature `md5`): `Md5Sink`, a body digested instead of stored.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod command;
#[cfg(feature = "md5")]
pub mod digest;
pub mod session;
pub mod sink;
pub mod slot;
pub mod source;
pub mod tcp;
#[cfg(feature = "udp")]
pub mod udp;

pub use command::{CommandHandler, CommandOutput, CommandTable, OutputFull, SliceOutput, Stream};
#[cfg(feature = "md5")]
pub use digest::{md5_hex, Md5Sink};
pub use session::{
    proceeds_after, AgentError, AgentEvent, Authenticate, CommandAgent, CommandController,
    ControllerError, ControllerEvent, Exchange, FileEvent, FileReceive, FileSend, ReceiveError,
    SecureAuth, SecureCommandAgent, SecureDevice, SecureEvent, SecureFileReceive, SecureSession,
    SecureSessionError, SendError, Session, SessionError, SessionEvent, DEVICE_PLAINTEXT_LIMIT,
};
pub use sink::{BodySink, ByteCounter, SinkFull, SliceSink};
pub use slot::{OnRefusal, Served, Slot, SlotConfig, SlotNote, Turn};
pub use source::{BodySource, SliceSource};
pub use tcp::{Progress, PumpError, TcpPump};
#[cfg(feature = "udp")]
pub use udp::{
    ip_version, recv_datagram, recv_datagram_into, send_datagram, unfragmented_max_payload,
    UdpError,
};

/// The core crate, re-exported so firmware needs one dependency line.
pub use wirekit_core as core_machines;
