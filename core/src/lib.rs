//! # wirekit-core
//!
//! Sans-IO state machines for the wirekit wire formats: length-prefixed framing,
//! the JSON file header, HMAC challenge–response handshakes (the seed recipe and
//! CPython's `multiprocessing.connection`), file transfer and remote commands, the
//! [`secure`] channel (Noise `NNpsk0`) that any of these machines can run inside, the
//! device [`service`] (put with resume and digests, get, list, exec with exit status) inside
//! it, and the serial [`link`] that carries any of them over a UART.
//!
//! `#![no_std]`, no allocator, no clock, no RNG, no sockets: bytes go in, bytes and
//! events come out, and randomness is an argument.
//!
//! ## The machine contract
//!
//! Every protocol machine implements [`Machine`]:
//!
//! * [`Machine::handle_input`] takes bytes received from the peer and returns how many it
//!   consumed plus at most one event. It consumes only what belongs to its exchange, so bytes
//!   after the end of a handshake stay with the caller. An event may borrow the *input*
//!   (zero-copy body chunks) but never the machine, so the caller can keep polling.
//! * [`Machine::output_buf`] / [`Machine::consume_output`] hand out bytes to send; the caller
//!   sends any prefix of them and reports how many went out.
//! * [`Machine::handle_eof`] tells the machine the peer closed its sending side: call it once,
//!   after the machine has taken every byte that arrived before the close. A machine may
//!   take nothing while it waits for a caller action (an agent owing a reply); telling it
//!   about the close then would make it drop the bytes still waiting.
//! * [`Machine::is_done`] says the exchange is finished (successfully or not).
//!
//! How to drive a machine (output first, the follow-up call after each event, EOF only
//! once every received byte was taken, stalls, deadlines) is written once, in [`drive`]:
//! every transport asks its [`drive::Driver`] for the next action instead of calling these
//! methods itself. [`io::Conn`] is the blocking shim over it, [`pair`] the in-memory one.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod auth;
pub mod command;
pub mod datagram;
pub mod drive;
pub mod frame;
pub mod header;
pub mod io;
pub mod link;
pub mod secure;
pub mod service;
pub mod transfer;

#[cfg(any(test, feature = "pair"))]
pub mod pair;

#[cfg(test)]
mod hostile_tests;

/// What one call to [`Machine::handle_input`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handled<E> {
    /// Bytes of the input that the machine took. The rest is the caller's to feed again
    /// (after handling `event`) or, once the machine is done, to hand to whatever follows.
    pub consumed: usize,
    /// At most one event per call.
    pub event: Option<E>,
}

impl<E> Handled<E> {
    /// `consumed` bytes taken, no event.
    pub const fn consumed(consumed: usize) -> Self {
        Self { consumed, event: None }
    }
    /// `consumed` bytes taken and an event.
    pub const fn event(consumed: usize, event: E) -> Self {
        Self { consumed, event: Some(event) }
    }
}

/// The common shape of every sans-IO machine in this crate.
pub trait Machine {
    /// Events; `'i` is the lifetime of the input slice they may borrow.
    type Event<'i>;
    /// Protocol errors. After an error the machine is done.
    type Error: core::error::Error + Copy + Eq;

    /// Feed bytes received from the peer.
    fn handle_input<'i>(
        &mut self,
        input: &'i [u8],
    ) -> Result<Handled<Self::Event<'i>>, Self::Error>;

    /// The peer closed its sending side. Call it once, and only after every byte received
    /// before the close was taken by [`Machine::handle_input`]: the machine may conclude
    /// that nothing more is coming. Returns a final event, or an error when the close came
    /// too early (a short file, a handshake cut off).
    fn handle_eof(&mut self) -> Result<Option<Self::Event<'static>>, Self::Error>;

    /// Bytes waiting to be sent to the peer.
    fn output_buf(&self) -> &[u8];

    /// `n` bytes of [`Machine::output_buf`] were sent.
    fn consume_output(&mut self, n: usize);

    /// True when the exchange is over (output may still be waiting in `output_buf`).
    fn is_done(&self) -> bool;
}
