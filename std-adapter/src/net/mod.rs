//! Sockets for the demos: binding and connecting with clear errors, the `listening on ADDR`
//! line that lets scripts use `--listen 127.0.0.1:0`, and the concurrent server loop.

mod deadline;
mod limit;
mod serve;

pub use deadline::{PhaseDeadline, Watchdog};
pub use limit::{ConnectionLimit, Permit};
pub use serve::{accept, note_connection, serve, ServeOptions};

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use crate::error::{Error, Result};

/// `--timeout SECS` as a socket timeout; 0 means none.
pub fn timeout_of(timeout: Duration) -> Option<Duration> {
    (!timeout.is_zero()).then_some(timeout)
}

/// Resolve `addr` (`HOST:PORT`).
pub fn resolve(addr: &str) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|source| Error::Resolve { addr: addr.to_owned(), source })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::Resolve {
            addr: addr.to_owned(),
            source: io::Error::new(io::ErrorKind::NotFound, "no address found"),
        });
    }
    Ok(addrs)
}

/// Accept queue length asked for (the kernel caps it, e.g. at Linux's `net.core.somaxconn`).
pub const LISTEN_BACKLOG: i32 = 4096;

/// Bind a TCP listener to the first address of `addr` that works, with a deep accept queue.
pub fn bind_tcp(addr: &str) -> Result<TcpListener> {
    let listener = bind_with(addr, TcpListener::bind)?;
    deepen_backlog(&listener);
    Ok(listener)
}

/// std listens with a backlog of 128. A burst of more clients than that (bench/scale.sh: 1,000
/// at once) overflows the accept queue; Linux then drops the handshake's last ACK, the client
/// believes it is connected and waits for a challenge that never comes (measured: 121 of
/// 1,000 seed clients stalled until their timeout). `listen` again on a listening socket
/// only changes its backlog, so failing here costs nothing but the deeper queue.
#[cfg(unix)]
fn deepen_backlog(listener: &TcpListener) {
    let _ = rustix::net::listen(listener, LISTEN_BACKLOG);
}

#[cfg(not(unix))]
fn deepen_backlog(_listener: &TcpListener) {}

/// Bind a UDP socket to the first address of `addr` that works.
pub fn bind_udp(addr: &str) -> Result<UdpSocket> {
    bind_with(addr, UdpSocket::bind)
}

fn bind_with<T>(addr: &str, bind: impl Fn(SocketAddr) -> io::Result<T>) -> Result<T> {
    let mut last = None;
    for a in resolve(addr)? {
        match bind(a) {
            Ok(sock) => return Ok(sock),
            Err(e) => last = Some(e),
        }
    }
    let source = last.unwrap_or_else(|| io::Error::other("no address"));
    Err(Error::Bind { addr: addr.to_owned(), source })
}

/// Connect to the first address of `addr` that answers, each attempt bounded by `timeout`.
pub fn connect_tcp(addr: &str, timeout: Option<Duration>) -> Result<TcpStream> {
    let mut last = None;
    for a in resolve(addr)? {
        let attempt = match timeout {
            Some(t) => TcpStream::connect_timeout(&a, t),
            None => TcpStream::connect(a),
        };
        match attempt {
            Ok(stream) => {
                crate::console::detail(|| {
                    let local = stream.local_addr().map(|l| l.to_string()).unwrap_or_default();
                    format!("connected to {a} (from {local})")
                });
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    let source = last.unwrap_or_else(|| io::Error::other("no address"));
    Err(Error::Connect { addr: addr.to_owned(), source })
}

/// Tell the user (and test scripts) where we listen. Printed on stderr; suppressed by
/// `quiet` unless the port was chosen by the system, since then nobody else knows it.
pub fn announce_listening(requested: &str, local: SocketAddr, quiet: bool) {
    let ephemeral = requested.ends_with(":0");
    if !quiet || ephemeral {
        eprintln!("listening on {local}");
    }
}

/// Set the idle timeout (reads, and writes to a peer that stopped reading) and turn off Nagle
/// (the demos exchange small messages in lock step, which Nagle would delay).
pub fn prepare_stream(stream: &TcpStream, timeout: Duration) -> io::Result<()> {
    stream.set_read_timeout(timeout_of(timeout))?;
    stream.set_write_timeout(timeout_of(timeout))?;
    stream.set_nodelay(true)
}

/// True when the peer has sent bytes we have not read yet (checked without waiting).
pub fn bytes_waiting(stream: &std::net::TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let waiting = matches!(stream.peek(&mut [0u8; 1]), Ok(n) if n > 0);
    // Back to blocking: the connection is closed next anyway, but keep the socket as found.
    let _ = stream.set_nonblocking(false);
    waiting
}

#[cfg(test)]
mod tests;
