//! `wirekit tcp`: the seed's TCP basics. Raw and unframed under `--profile seed` (what one
//! `recv` returns is printed as it is, sticky packets and all); one
//! `multiprocessing.connection` frame per message under `--profile mp`.

use std::io::{Read, Write};

use wirekit_core::frame::FrameConfig;

use crate::cli::Profile;
use crate::error::{Error, Result};
use crate::framed::{Framed, FramedError};
use crate::session::Session;

/// The seed reads with `recv(1024)`; we take more per read, the demo's point (no framing)
/// stays the same.
const READ_BUF: usize = 64 * 1024;
/// Largest frame accepted under `--profile mp`.
const MAX_MESSAGE: u64 = 1 << 20;

/// How a TCP server connection behaves.
#[derive(Debug, Clone)]
pub struct TcpServerConfig {
    /// Replies in order; the last one repeats.
    pub replies: Vec<String>,
    /// Raw or framed.
    pub profile: Profile,
    /// Idle read timeout in seconds (0 = none).
    pub timeout_secs: u64,
    /// Print each message received on stdout.
    pub echo: bool,
}

/// What the server saw on one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Each message (raw: each read) received, as lossy UTF-8.
    pub received: Vec<String>,
}

/// Serve one connection: print each message received on stdout and answer it with the next
/// reply. Ends when the client closes.
pub fn serve_connection(session: Session, config: &TcpServerConfig) -> Result<Transcript> {
    let Session { stream, leftover, peer } = session;
    let peer = peer.as_str();
    let mut replies = ReplyCycle::new(&config.replies);
    let mut transcript = Transcript::default();
    let secs = config.timeout_secs;
    match config.profile {
        Profile::Seed => {
            let mut reader = leftover.as_slice().chain(&stream);
            let mut buf = vec![0u8; READ_BUF];
            loop {
                let n = read_some(&mut reader, &mut buf)
                    .map_err(|e| Error::net("receiving from", peer, e, secs))?;
                let Some(data) = buf.get(..n).filter(|d| !d.is_empty()) else {
                    return Ok(transcript);
                };
                let text = String::from_utf8_lossy(data).into_owned();
                if config.echo {
                    crate::console::print_line(&text);
                }
                transcript.received.push(text);
                (&stream)
                    .write_all(replies.next_reply().as_bytes())
                    .map_err(|e| Error::net("sending to", peer, e, secs))?;
            }
        }
        Profile::Mp => {
            let config_mp = FrameConfig::mp().with_max_frame_len(MAX_MESSAGE);
            let mut framed = Framed::with_leftover(stream, config_mp, &leftover);
            loop {
                let frame = framed.recv_frame().map_err(|e| framed_error(e, peer, secs))?;
                let Some(frame) = frame else { return Ok(transcript) };
                let text = String::from_utf8_lossy(frame).into_owned();
                if config.echo {
                    crate::console::print_line(&text);
                }
                transcript.received.push(text);
                framed
                    .send_frame(replies.next_reply().as_bytes())
                    .map_err(|e| framed_error(e, peer, secs))?;
            }
        }
    }
}

/// Connect-side: send each message, wait for one reply after each, print it (when `echo`);
/// returns the replies.
pub fn run_client(
    session: Session,
    messages: &[String],
    profile: Profile,
    timeout_secs: u64,
    echo: bool,
) -> Result<Vec<String>> {
    let Session { stream, leftover, peer } = session;
    let mut replies = Vec::with_capacity(messages.len());
    let closed = |i: usize| Error::PeerClosed {
        peer: peer.clone(),
        detail: format!("before replying to message {} of {}", i + 1, messages.len()),
    };
    match profile {
        Profile::Seed => {
            let mut reader = leftover.as_slice().chain(&stream);
            let mut buf = vec![0u8; READ_BUF];
            for (i, message) in messages.iter().enumerate() {
                (&stream)
                    .write_all(message.as_bytes())
                    .map_err(|e| Error::net("sending to", &peer, e, timeout_secs))?;
                let n = read_some(&mut reader, &mut buf)
                    .map_err(|e| Error::net("receiving from", &peer, e, timeout_secs))?;
                let Some(data) = buf.get(..n).filter(|d| !d.is_empty()) else {
                    return Err(closed(i));
                };
                let text = String::from_utf8_lossy(data).into_owned();
                if echo {
                    crate::console::print_line(&text);
                }
                replies.push(text);
            }
        }
        Profile::Mp => {
            let config_mp = FrameConfig::mp().with_max_frame_len(MAX_MESSAGE);
            let mut framed = Framed::with_leftover(stream, config_mp, &leftover);
            for (i, message) in messages.iter().enumerate() {
                framed
                    .send_frame(message.as_bytes())
                    .map_err(|e| framed_error(e, &peer, timeout_secs))?;
                let frame =
                    framed.recv_frame().map_err(|e| framed_error(e, &peer, timeout_secs))?;
                let Some(frame) = frame else { return Err(closed(i)) };
                let text = String::from_utf8_lossy(frame).into_owned();
                if echo {
                    crate::console::print_line(&text);
                }
                replies.push(text);
            }
        }
    }
    Ok(replies)
}

fn read_some(stream: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Map a framing failure to the binary's error.
pub fn framed_error(err: FramedError, peer: impl ToString, timeout_secs: u64) -> Error {
    match err {
        FramedError::Io(e) => Error::net("talking to", peer, e, timeout_secs),
        FramedError::Frame(source) => Error::Frame { peer: peer.to_string(), source },
        FramedError::Encode(e) => Error::FrameEncode(e),
    }
}

/// Replies in order, the last one repeated once they run out.
#[derive(Debug)]
struct ReplyCycle<'a> {
    replies: &'a [String],
    next: usize,
}

impl<'a> ReplyCycle<'a> {
    fn new(replies: &'a [String]) -> Self {
        Self { replies, next: 0 }
    }
    fn next_reply(&mut self) -> &'a str {
        let reply = self.replies.get(self.next).or(self.replies.last());
        self.next = self.next.saturating_add(1);
        reply.map(String::as_str).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::session::{open, Side};
    use std::net::{TcpListener, TcpStream};

    fn plain(stream: TcpStream, side: Side, secs: u64) -> Session {
        open(stream, None, Profile::Seed, side, secs).unwrap()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn replies_repeat_the_last() {
        let replies = strings(&["hi", "吃了"]);
        let mut cycle = ReplyCycle::new(&replies);
        assert_eq!(
            [cycle.next_reply(), cycle.next_reply(), cycle.next_reply()],
            ["hi", "吃了", "吃了"]
        );
    }

    fn exchange(profile: Profile) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let config = TcpServerConfig {
                replies: strings(&["hi", "吃了"]),
                profile,
                timeout_secs: 5,
                echo: false,
            };
            serve_connection(plain(stream, Side::Accepting, 5), &config).unwrap()
        });
        let stream = plain(TcpStream::connect(addr).unwrap(), Side::Connecting, 5);
        let replies =
            run_client(stream, &strings(&["hello", "吃了吗?", "再见"]), profile, 5, false).unwrap();
        assert_eq!(replies, ["hi", "吃了", "吃了"]);
        let transcript = server.join().unwrap();
        assert_eq!(transcript.received, ["hello", "吃了吗?", "再见"]);
    }

    #[test]
    fn seed_exchange_in_lock_step() {
        exchange(Profile::Seed);
    }

    #[test]
    fn mp_exchange_in_frames() {
        exchange(Profile::Mp);
    }

    #[test]
    fn client_reports_a_server_that_closes_early() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut b = [0u8; 5];
            s.read_exact(&mut b).unwrap();
        });
        let stream = plain(TcpStream::connect(addr).unwrap(), Side::Connecting, 5);
        let err = run_client(stream, &strings(&["hello"]), Profile::Seed, 5, false).unwrap_err();
        server.join().unwrap();
        assert!(err.to_string().contains("before replying to message 1 of 1"), "{err}");
    }

    #[test]
    fn leftover_from_a_handshake_is_handled_first() {
        for profile in [Profile::Seed, Profile::Mp] {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let client = std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
                let mut reply = [0u8; 64];
                let n = s.read(&mut reply).unwrap();
                reply[..n].to_vec()
            });
            let (stream, _) = listener.accept().unwrap();
            let mut session = plain(stream, Side::Accepting, 5);
            // As if a handshake had read the first message along with its last bytes.
            session.leftover = match profile {
                Profile::Seed => b"hello".to_vec(),
                Profile::Mp => b"\x00\x00\x00\x05hello".to_vec(),
            };
            let config = TcpServerConfig {
                replies: strings(&["hi"]),
                profile,
                timeout_secs: 5,
                echo: false,
            };
            let reply = std::thread::spawn(move || client.join().unwrap());
            let transcript = serve_connection(session, &config);
            let reply = reply.join().unwrap();
            assert_eq!(transcript.unwrap().received, ["hello"], "{profile:?}");
            let expected: &[u8] = match profile {
                Profile::Seed => b"hi",
                Profile::Mp => b"\x00\x00\x00\x02hi",
            };
            assert_eq!(reply, expected);
        }
    }

    #[test]
    fn silent_peer_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _hold = std::thread::spawn(move || {
            let conn = listener.accept().unwrap();
            std::thread::sleep(std::time::Duration::from_secs(3));
            drop(conn);
        });
        let stream = plain(TcpStream::connect(addr).unwrap(), Side::Connecting, 1);
        let err = run_client(stream, &strings(&["hello"]), Profile::Seed, 1, false).unwrap_err();
        assert!(matches!(err, Error::Timeout { secs: 1, .. }), "{err}");
    }
}
