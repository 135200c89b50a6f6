//! The server loop shared by every listening role.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::ConnectionLimit;
use crate::error::Result;

/// How a server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// Serve one connection and return its result.
    pub once: bool,
    /// Most connections served at the same time.
    pub max_connections: usize,
    /// No `connection from` lines.
    pub quiet: bool,
    /// Most connections served at the same time from one IP address (0: no limit). A
    /// connection over it is closed at once, so a few hosts cannot take every slot.
    pub max_per_source: usize,
}

/// Accept connections and run `handler` on each. With `once`, the first connection is served
/// on this thread and its result returned. Otherwise every connection gets a thread (at most
/// `max_connections` at once; further clients wait in the backlog), a failing connection is
/// reported on stderr and the loop goes on, forever.
pub fn serve<F>(listener: &TcpListener, options: ServeOptions, handler: F) -> Result<()>
where
    F: Fn(TcpStream, SocketAddr) -> Result<()> + Send + Sync + 'static,
{
    if options.once {
        let (stream, peer) = accept(listener)?;
        note_connection(peer, options.quiet);
        return handler(stream, peer);
    }
    let handler = std::sync::Arc::new(handler);
    let limit = ConnectionLimit::new(options.max_connections);
    let sources = Sources::default();
    loop {
        let permit = limit.acquire();
        let (stream, peer) = match accept(listener) {
            Ok(conn) => conn,
            Err(err) => {
                // EMFILE and friends: report, breathe, keep serving.
                eprintln!("wirekit: {err}");
                thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let Some(source) = sources.admit(peer.ip(), options.max_per_source) else {
            eprintln!(
                "wirekit: {peer}: refused: {} connections from {} are being served already \
                 (--max-per-source)",
                options.max_per_source,
                peer.ip()
            );
            // A reset, not a clean close: to a file sender a clean close means "saved".
            let _ = rustix::net::sockopt::set_socket_linger(&stream, Some(Duration::ZERO));
            continue;
        };
        note_connection(peer, options.quiet);
        let handler = std::sync::Arc::clone(&handler);
        let spawned = thread::Builder::new().name(format!("conn {peer}")).spawn(move || {
            let _permit = permit;
            let _source = source;
            if let Err(err) = handler(stream, peer) {
                let text = err.to_string();
                // Most errors name the peer already; say it once.
                if text.contains(&peer.to_string()) {
                    eprintln!("wirekit: {text}");
                } else {
                    eprintln!("wirekit: {peer}: {text}");
                }
            }
        });
        if let Err(err) = spawned {
            eprintln!("wirekit: {peer}: cannot start a thread for the connection: {err}");
        }
    }
}

/// Connections being served per source address.
#[derive(Debug, Clone, Default)]
struct Sources(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One served connection of a source; dropping it frees its share.
#[derive(Debug)]
struct SourceSlot {
    sources: Sources,
    ip: IpAddr,
}

impl Sources {
    fn admit(&self, ip: IpAddr, max: usize) -> Option<SourceSlot> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = map.entry(ip).or_insert(0);
        if max > 0 && *count >= max {
            return None;
        }
        *count += 1;
        Some(SourceSlot { sources: self.clone(), ip })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut map = self.sources.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = map.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Accept one connection, retrying after `EINTR`.
pub fn accept(listener: &TcpListener) -> Result<(TcpStream, SocketAddr)> {
    loop {
        match listener.accept() {
            Ok(conn) => return Ok(conn),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                let addr = listener
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| "the listening socket".into());
                return Err(crate::error::Error::Net { what: "accepting on", peer: addr, source });
            }
        }
    }
}

/// `connection from PEER` on stderr unless quiet.
pub fn note_connection(peer: SocketAddr, quiet: bool) {
    if !quiet {
        eprintln!("connection from {peer}");
    }
}
