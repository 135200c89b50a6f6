//! The serial link (`docs/protocol.md` section 7): a sans-IO machine that turns an
//! unreliable byte link (a UART, a USB CDC-ACM port) into a reliable, ordered byte stream,
//! so every exchange of this crate runs over it unchanged.
//!
//! * [`codec`]: frames: COBS with a `0x00` delimiter, a CRC-32, DATA / FIN / ACK /
//!   ACK-REQUEST / HELLO / HELLO-ACK ([`Repr`], [`Deframer`]).
//! * [`crc`]: CRC-32/ISO-HDLC, with the session ids folded into the check.
//! * [`arq`]: [`Link`], selective repeat with a bounded window, cumulative and selective
//!   acknowledgements, retransmission on a deadline with backoff and a retry budget, a
//!   session handshake that turns a peer's reboot into [`LinkError::PeerReset`].
//!
//! No allocation: every buffer is inside the [`Link`], sized by its const parameters.
//!
//! ## Poll order
//!
//! ```text
//! loop {
//!     link.handle_input(now, bytes_from_the_line)?;  // any amount, garbage included
//!     link.handle_timeout(now)?;                     // when poll_timeout() passed, or always
//!     while let Some(n) = link.poll_transmit(now, &mut out) { send(&out[..n]) }
//!     app reads link.readable()/consume() (or read), writes with link.write(), close()
//!     wait for bytes or link.poll_timeout()
//! }
//! ```
//!
//! `poll_transmit` sends, in this order: a HELLO-ACK owed, our HELLO (before the
//! handshake is over), an ACK owed, the oldest retransmission due, new data within the
//! window, and nothing else. Writing and reading change what is due: poll again after
//! them. An error is final for this session: [`Link::restart`] with a new session id.
//!
//! To run a [`Machine`](crate::Machine) over a link, feed it [`Link::readable`] through a
//! [`Driver`](crate::drive::Driver) like any transport's receive buffer and
//! [`Link::write`] what it transmits; `link::sim` (tests, `pair` feature) does exactly that
//! over a simulated lossy line. On a blocking serial port, [`port::LinkPort`] is an
//! `embedded_io` stream, so [`io::Conn`](crate::io::Conn) runs any exchange over it.

pub mod arq;
pub mod codec;
pub mod crc;
pub mod port;
#[cfg(any(test, feature = "pair"))]
pub mod sim;

#[cfg(test)]
mod tests;

pub use arq::{max_wire_frame, Link, LinkConfig, LinkError, LinkStats};
pub use codec::{max_payload, CodecError, Deframer, Hello, Repr};
