//! Where the handshake slots in: every TCP role opens its connection through [`open`], which
//! today passes the stream through when no key is given, and will run the core's handshake
//! machine (seed demo4 or mp) through [`crate::drive::Driver`] when one is. Bytes the peer sent
//! right behind the handshake come back as [`Session::leftover`], so the demo's own traffic
//! starts exactly where the handshake ended.

use std::net::TcpStream;

use crate::cli::Profile;
use crate::error::{Error, Result};
use crate::keys::Key;
use crate::net;

/// Which end of the connection we are; decides who challenges first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// We accepted the connection (the seed's verifier, mp's `Listener`).
    Accepting,
    /// We connected (the seed's prover, mp's `Client`).
    Connecting,
}

/// A connection ready for the demo's traffic.
#[derive(Debug)]
pub struct Session {
    /// The stream.
    pub stream: TcpStream,
    /// Bytes already read past the handshake, to be handled before reading more.
    pub leftover: Vec<u8>,
    /// The peer's address, for messages.
    pub peer: String,
}

/// Prepare `stream` (idle timeout, no Nagle) and run the handshake if `key` is set.
pub fn open(
    stream: TcpStream,
    key: Option<&Key>,
    profile: Profile,
    side: Side,
    timeout_secs: u64,
) -> Result<Session> {
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "the peer".into());
    net::prepare_stream(&stream, timeout_secs)
        .map_err(|e| Error::net("configuring", &peer, e, timeout_secs))?;
    match key {
        None => Ok(Session { stream, leftover: Vec::new(), peer }),
        // Wired when wirekit_core::auth lands: drive the machine chosen by `profile` and
        // `side`, map a rejection to Error (exit 5), keep `Driver::into_parts()`'s leftover.
        Some(_) => {
            let _ = (profile, side);
            Err(Error::NotImplemented("the handshake (--key, --key-file, WIREKIT_KEY)"))
        }
    }
}
