//! `wirekit udp`: the seed's UDP basics. One datagram per message; the server answers each
//! datagram's sender. A message that does not fit one datagram is refused before sending
//! (`wirekit_core::datagram`), never truncated. Unlike the seed's, the server does not answer
//! every datagram: [`guard`] drops what would start a reply loop.

pub mod guard;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

pub use guard::{ReplyGuard, Verdict};
pub use wirekit_core::datagram::ReplyRate;

use wirekit_core::datagram::{check_datagram, IpVersion};

use crate::error::{Error, Result};
use crate::net;

/// Big enough for any datagram (IPv6's 65,527 bytes), so nothing is ever cut on receive.
const RECV_BUF: usize = 65_536;

fn ip_version(addr: &SocketAddr) -> IpVersion {
    if addr.is_ipv4() {
        IpVersion::V4
    } else {
        IpVersion::V6
    }
}

/// One datagram the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Who sent it.
    pub from: SocketAddr,
    /// What it said (lossy UTF-8).
    pub text: String,
}

/// Answer datagrams on `socket` with `reply`, printing each (when `echo`); after one answered
/// when `once`. Datagrams the [`ReplyGuard`] drops get no reply (reported on stderr once per
/// episode). Errors of one exchange are reported and do not stop the server (unless `once`).
pub fn serve(
    socket: &UdpSocket,
    reply: &str,
    once: bool,
    echo: bool,
    rate: ReplyRate,
) -> Result<Option<Received>> {
    let local =
        socket.local_addr().map_err(|e| Error::net("inspecting", "socket", e, Duration::ZERO))?;
    check_datagram(reply.as_bytes(), ip_version(&local))?;
    let mut guard = ReplyGuard::new(local, reply.as_bytes(), rate);
    let mut buf = vec![0u8; RECV_BUF];
    loop {
        match serve_one(socket, &mut guard, reply, &mut buf, echo) {
            Ok(Served::Answered(received)) if once => return Ok(Some(received)),
            Ok(Served::Dropped(from, verdict)) => report_drop(from, verdict, rate),
            Ok(Served::Answered(_)) => {}
            Err(err) if once => return Err(err),
            Err(err) => eprintln!("wirekit: {err}"),
        }
    }
}

/// What [`serve_one`] did with one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// Answered it.
    Answered(Received),
    /// Received it from this address and sent nothing, for this reason.
    Dropped(SocketAddr, Verdict),
}

/// Receive one datagram and answer it if `guard` allows.
pub fn serve_one(
    socket: &UdpSocket,
    guard: &mut ReplyGuard,
    reply: &str,
    buf: &mut [u8],
    echo: bool,
) -> Result<Served> {
    let (n, from) =
        socket.recv_from(buf).map_err(|e| Error::net("receiving on", "udp", e, Duration::ZERO))?;
    let payload = buf.get(..n).unwrap_or(&[]);
    let verdict = guard.handle_datagram(from, payload, Instant::now());
    if verdict != Verdict::Answer {
        return Ok(Served::Dropped(from, verdict));
    }
    let text = String::from_utf8_lossy(payload).into_owned();
    if echo {
        crate::console::print_line(&text);
    }
    socket
        .send_to(reply.as_bytes(), from)
        .map_err(|e| Error::net("replying to", from, e, Duration::ZERO))?;
    Ok(Served::Answered(Received { from, text }))
}

fn report_drop(from: SocketAddr, verdict: Verdict, rate: ReplyRate) {
    match verdict {
        Verdict::FromOurselves => {
            eprintln!("wirekit: ignored a datagram from our own address {from} (spoofed?)")
        }
        Verdict::IsAReply => eprintln!(
            "wirekit: ignored a datagram from {from} that is our own reply (another server?)"
        ),
        Verdict::RateLimited { first: true } => eprintln!(
            "wirekit: {from} sends more than {} datagrams/s: not answering it for now \
             (--max-rate)",
            rate.per_second
        ),
        Verdict::RateLimited { first: false } | Verdict::Answer => {}
    }
}

/// Send each message to `server` as one datagram and print the reply (when `echo`); returns
/// the replies.
pub fn run_client(
    server: &str,
    messages: &[String],
    timeout: Duration,
    echo: bool,
) -> Result<Vec<String>> {
    let target = *net::resolve(server)?.first().ok_or_else(|| Error::Resolve {
        addr: server.to_owned(),
        source: std::io::Error::other("no address"),
    })?;
    let version = ip_version(&target);
    // Refuse an oversize message before anything is sent.
    for message in messages {
        check_datagram(message.as_bytes(), version)?;
    }
    let any = if target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let socket = UdpSocket::bind(any).map_err(|source| Error::Bind { addr: any.into(), source })?;
    // connect() filters replies to the server's address and turns an ICMP "port unreachable"
    // into an error instead of a silent wait.
    socket.connect(target).map_err(|source| Error::Connect { addr: server.into(), source })?;
    socket
        .set_read_timeout(net::timeout_of(timeout))
        .map_err(|e| Error::net("configuring", target, e, timeout))?;
    let mut buf = vec![0u8; RECV_BUF];
    let mut replies = Vec::with_capacity(messages.len());
    for message in messages {
        socket.send(message.as_bytes()).map_err(|e| udp_error("sending to", target, e))?;
        let n = socket.recv(&mut buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Error::Timeout {
                peer: format!("{target} (no UDP reply; is the server running?)"),
                timeout,
            },
            _ => udp_error("receiving from", target, e),
        })?;
        let text = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[])).into_owned();
        if echo {
            crate::console::print_line(&text);
        }
        replies.push(text);
    }
    Ok(replies)
}

fn udp_error(what: &'static str, target: SocketAddr, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        Error::Connect { addr: target.to_string(), source: e }
    } else {
        Error::Net { what, peer: target.to_string(), source: e }
    }
}

#[cfg(test)]
mod tests;
