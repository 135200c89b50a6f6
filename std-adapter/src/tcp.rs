//! `wirekit tcp`: the seed's TCP basics. Raw and unframed under `--profile seed` (what one
//! `recv` returns is printed as it is, sticky packets and all); one
//! `multiprocessing.connection` frame per message under `--profile mp`. Under `--profile
//! secure` the same raw text, inside the channel; each side ends with its close_notify (the
//! server once the client's came, so that its own means "every reply sent").

use wirekit_core::frame::FrameConfig;

use crate::cli::Profile;
use crate::error::{Error, Result};
use crate::link::{frame_error, read_some, recv_frame_or_close, send_error};
use crate::session::Session;

/// Largest frame accepted under `--profile mp`.
const MAX_MESSAGE: u64 = 1 << 20;

/// How a TCP server connection behaves.
#[derive(Debug, Clone)]
pub struct TcpServerConfig {
    /// Replies in order; the last one repeats.
    pub replies: Vec<String>,
    /// Raw or framed.
    pub profile: Profile,
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
    let Session { mut conn, peer, timeout } = session;
    let peer = peer.as_str();
    let mut replies = ReplyCycle::new(&config.replies);
    let mut transcript = Transcript::default();
    let framing = FrameConfig::mp().with_max_frame_len(MAX_MESSAGE);
    let mut frame_buf = Vec::new();
    loop {
        let message = match config.profile {
            Profile::Seed | Profile::Secure => {
                let data = read_some(&mut conn)
                    .map_err(|e| Error::net("receiving from", peer, e, timeout))?;
                if data.is_empty() {
                    // Secure: the client's close_notify; ours says every reply went out.
                    conn.get_mut()
                        .0
                        .finish()
                        .map_err(|e| Error::net("closing", peer, e, timeout))?;
                    return Ok(transcript);
                }
                data
            }
            Profile::Mp => {
                frame_buf.resize(MAX_MESSAGE as usize, 0);
                match recv_frame_or_close(&mut conn, &framing, &mut frame_buf) {
                    Ok(Some(frame)) => frame.to_vec(),
                    Ok(None) => return Ok(transcript),
                    Err(e) => return Err(frame_error(e, "message", peer, timeout)),
                }
            }
        };
        let text = String::from_utf8_lossy(&message).into_owned();
        if config.echo {
            crate::console::print_line(&text);
        }
        transcript.received.push(text);
        let reply = replies.next_reply().as_bytes();
        let sent = match config.profile {
            Profile::Seed | Profile::Secure => conn.write_all(reply).map_err(|e| e.to_string()),
            Profile::Mp => conn.send_frame(&framing, reply).map_err(|e| e.to_string()),
        };
        sent.map_err(|detail| Error::Protocol { peer: peer.to_owned(), detail })?;
    }
}

/// Connect-side: send each message, wait for one reply after each, print it (when `echo`);
/// returns the replies.
pub fn run_client(
    session: Session,
    messages: &[String],
    profile: Profile,
    echo: bool,
) -> Result<Vec<String>> {
    let Session { mut conn, peer, timeout } = session;
    let peer = peer.as_str();
    let mut replies = Vec::with_capacity(messages.len());
    let closed = |i: usize| Error::PeerClosed {
        peer: peer.to_owned(),
        detail: format!("before replying to message {} of {}", i + 1, messages.len()),
    };
    let framing = FrameConfig::mp().with_max_frame_len(MAX_MESSAGE);
    let mut frame_buf = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let reply = match profile {
            Profile::Seed | Profile::Secure => {
                conn.write_all(message.as_bytes())
                    .map_err(|e| send_error(e, "message", peer, timeout))?;
                let data = read_some(&mut conn)
                    .map_err(|e| Error::net("receiving from", peer, e, timeout))?;
                if data.is_empty() {
                    return Err(closed(i));
                }
                data
            }
            Profile::Mp => {
                conn.send_frame(&framing, message.as_bytes())
                    .map_err(|e| send_error(e, "message", peer, timeout))?;
                frame_buf.resize(MAX_MESSAGE as usize, 0);
                match recv_frame_or_close(&mut conn, &framing, &mut frame_buf) {
                    Ok(Some(frame)) => frame.to_vec(),
                    Ok(None) => return Err(closed(i)),
                    Err(e) => return Err(frame_error(e, "reply", peer, timeout)),
                }
            }
        };
        let text = String::from_utf8_lossy(&reply).into_owned();
        if echo {
            crate::console::print_line(&text);
        }
        replies.push(text);
    }
    // Secure: our close_notify, then the server's (any further replies are not read).
    conn.get_mut().0.finish().map_err(|e| Error::net("closing", peer, e, timeout))?;
    Ok(replies)
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
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    fn plain(stream: TcpStream, secs: u64) -> Session<'static> {
        Session::start(stream, Duration::from_secs(secs)).unwrap()
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
            let config =
                TcpServerConfig { replies: strings(&["hi", "吃了"]), profile, echo: false };
            serve_connection(plain(stream, 5), &config).unwrap()
        });
        let stream = plain(TcpStream::connect(addr).unwrap(), 5);
        let replies =
            run_client(stream, &strings(&["hello", "吃了吗?", "再见"]), profile, false).unwrap();
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
        let stream = plain(TcpStream::connect(addr).unwrap(), 5);
        let err = run_client(stream, &strings(&["hello"]), Profile::Seed, false).unwrap_err();
        server.join().unwrap();
        assert!(err.to_string().contains("before replying to message 1 of 1"), "{err}");
    }

    #[test]
    fn bytes_behind_the_handshake_answer_are_the_first_message() {
        use crate::session::{Plan, Side};
        use wirekit_core::auth::{hmac, MacAlgorithm, Outcome};
        for profile in [Profile::Seed, Profile::Mp] {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let client = std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
                match profile {
                    Profile::Seed => {
                        // The answer and the first message in one write.
                        let mut challenge = [0u8; 32];
                        s.read_exact(&mut challenge).unwrap();
                        let mut out =
                            hmac(MacAlgorithm::Md5, b"egg", &[&challenge]).as_bytes().to_vec();
                        out.extend_from_slice(b"hello");
                        s.write_all(&out).unwrap();
                    }
                    Profile::Mp => {
                        let mut session =
                            Session::start(s.try_clone().unwrap(), Duration::from_secs(5)).unwrap();
                        let plan = Plan::new(Profile::Mp, Side::Connecting);
                        assert_eq!(
                            session
                                .handshake(
                                    &crate::keys::Key::new("egg", crate::keys::KeySource::Arg),
                                    plan
                                )
                                .unwrap(),
                            Outcome::Authenticated
                        );
                        s.write_all(b"\x00\x00\x00\x05hello").unwrap();
                    }
                    Profile::Secure => unreachable!("seed and mp only"),
                }
                let mut reply = vec![0u8; if profile == Profile::Mp { 6 } else { 2 }];
                s.read_exact(&mut reply).unwrap();
                reply
            });
            let (stream, _) = listener.accept().unwrap();
            let mut session = plain(stream, 5);
            let plan = Plan::new(profile, Side::Accepting);
            assert_eq!(
                session
                    .handshake(&crate::keys::Key::new("egg", crate::keys::KeySource::Arg), plan)
                    .unwrap(),
                Outcome::Authenticated
            );
            let config = TcpServerConfig { replies: strings(&["hi"]), profile, echo: false };
            let reply = std::thread::spawn(move || client.join().unwrap());
            let transcript = serve_connection(session, &config);
            let reply = reply.join().unwrap();
            assert_eq!(transcript.unwrap().received, ["hello"], "{profile:?}");
            let expected: &[u8] = match profile {
                Profile::Seed => b"hi",
                Profile::Mp => b"\x00\x00\x00\x02hi",
                Profile::Secure => unreachable!("seed and mp only"),
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
        let stream = plain(TcpStream::connect(addr).unwrap(), 1);
        let err = run_client(stream, &strings(&["hello"]), Profile::Seed, false).unwrap_err();
        assert!(
            matches!(err, Error::Timeout { timeout, .. } if timeout == Duration::from_secs(1)),
            "{err}"
        );
    }
}
