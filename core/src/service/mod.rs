//! The device service (docs/protocol.md section 6): put with resume and a SHA-256 receipt,
//! get, stat, list, remove, mkdir, exec with exit status and ping, many requests on one
//! connection inside the secure channel (service name [`SERVICE`]).
//!
//! * [`wire`]: the messages, as serde types, and the codes they carry.
//! * [`codec`]: their encoding (2-byte length + one CBOR map with integer keys).
//! * [`storage`]: the [`Storage`] and [`Commands`] a server serves from.
//! * [`server`]: [`ServiceServer`], the sans-IO server machine.
//! * [`client`]: [`ServiceClient`], the sans-IO client machine.
//! * `mem` (tests, the `pair` feature): an in-memory storage and command table.
//!
//! ## Hosting a server
//!
//! A server is a [`Machine`](crate::Machine): wrap it in a
//! [`SecureChannel`](crate::secure::SecureChannel) with [`SERVICE`] as the service name and
//! drive the channel like any exchange. It answers every request as it arrives (storage and
//! command starts are synchronous calls), never waits for the caller, and refills its send
//! buffer with file data and command output whenever output is taken. Two things are the
//! host's: call [`ServiceServer::poll`] (through `with_inner`) when a command may have new
//! output, and [`ServiceServer::shutdown`] when the connection ends without the client's
//! close (a deadline, a reset, a channel error), so partial uploads are kept.
//!
//! ```
//! use wirekit_core::service::mem::{MemCommands, MemStorage};
//! use wirekit_core::service::*;
//! use wirekit_core::Machine;
//!
//! let (mut srx, mut stx) = ([0u8; SERVER_RX_MIN], [0u8; SERVER_TX_MIN]);
//! let (mut crx, mut ctx) = ([0u8; CLIENT_RX_MIN], [0u8; CLIENT_TX_MIN]);
//! let mut storage = MemStorage::new();
//! storage.files.insert("a.txt".into(), b"hello\n".to_vec());
//! let mut server =
//!     ServiceServer::new(storage, MemCommands::default(), &mut srx, &mut stx, 16_384).unwrap();
//! let mut client = ServiceClient::new(&mut crx, &mut ctx).unwrap();
//!
//! // Two requests, pipelined; the bytes go straight across (no channel in this sketch).
//! client.request(&Message::Ping { id: 1 }).unwrap();
//! client.request(&Message::Stat { id: 2, path: "a.txt" }).unwrap();
//! let wire = client.output_buf().to_vec();
//! client.consume_output(wire.len());
//! server.handle_input(&wire).unwrap();
//!
//! let answers = server.output_buf().to_vec();
//! server.consume_output(answers.len());
//! let mut rest = &answers[..];
//! let mut got = Vec::new();
//! while !rest.is_empty() {
//!     let step = client.handle_input(rest).unwrap();
//!     rest = &rest[step.consumed..];
//!     if step.event == Some(ClientEvent::Message) {
//!         got.push(format!("{:?}", client.message().unwrap()));
//!     }
//! }
//! assert_eq!(got, ["Pong { id: 1 }", "StatReply { id: 2, kind: 1, size: 6, partial: 0 }"]);
//! ```

pub mod client;
pub mod codec;
#[cfg(any(test, feature = "pair"))]
pub mod mem;
mod queue;
pub mod server;
pub mod storage;
pub mod wire;

#[cfg(test)]
mod tests;

pub use client::{
    ClientError, ClientEvent, RequestError, ServiceClient, CLIENT_RX_MIN, CLIENT_TX_MIN,
};
pub use codec::{decode, encode, DecodeError, EncodeError, MAX_MESSAGE};
pub use server::{ServerError, ServerEvent, ServiceServer, SERVER_RX_MIN, SERVER_TX_MIN};
pub use storage::{Commands, Listed, NoCommands, Poll, Stat, Storage};
pub use wire::{Argv, Bytes, Digest, ErrorCode, ExitStatus, Kind, Message, Stream, MAX_ARGS};

/// The service name in the secure channel's prologue (`wirekit/1 service`).
pub const SERVICE: &[u8] = b"service";
/// Longest path, in bytes.
pub const MAX_PATH: usize = 255;
/// Most file or output bytes in one `data` or `output` message.
pub const MAX_DATA: usize = 3072;
/// Most entries in one `list` page.
pub const MAX_PAGE: usize = 32;
/// Requests a client may keep waiting for their first answer.
pub const MAX_WAITING: usize = 8;

/// Section 6.2's path rules: UTF-8 (given), 1 ..= [`MAX_PATH`] bytes, components separated
/// by `/`, none empty, `.` or `..`, no NUL. `root_ok`: `""` (the root) is allowed too.
pub fn check_path(path: &str, root_ok: bool) -> Result<(), ErrorCode> {
    if path.is_empty() {
        return if root_ok { Ok(()) } else { Err(ErrorCode::InvalidPath) };
    }
    let bad = |c: &str| c.is_empty() || c == "." || c == ".." || c.contains('\0');
    if path.len() > MAX_PATH || path.split('/').any(bad) {
        return Err(ErrorCode::InvalidPath);
    }
    Ok(())
}
