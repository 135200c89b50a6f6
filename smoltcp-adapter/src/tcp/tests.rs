//! Unit tests that need no network; the pump's data path is tested end to end over the
//! simulated lossy link in `tests/`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::vec;

use super::*;
use wirekit_core::frame::{FrameConfig, FrameDecoder, FrameError};

fn socket() -> tcp::Socket<'static> {
    tcp::Socket::new(tcp::SocketBuffer::new(vec![0; 64]), tcp::SocketBuffer::new(vec![0; 64]))
}

#[test]
fn a_closed_socket_that_never_connected_is_not_an_error() {
    let mut sock = socket();
    let mut pump = TcpPump::new(FrameDecoder::new(FrameConfig::seed()));
    let mut events = 0;
    let progress = pump.poll(&mut sock, |_, _| events += 1).unwrap();
    assert!(progress.is_idle());
    assert_eq!(events, 0);
    assert!(!pump.eof_seen());
}

#[test]
fn a_listening_socket_waits() {
    let mut sock = socket();
    sock.listen(8090).unwrap();
    let mut pump = TcpPump::new(FrameDecoder::new(FrameConfig::seed()));
    assert!(pump.poll(&mut sock, |_, _| {}).unwrap().is_idle());
}

#[test]
fn progress_is_idle_only_when_nothing_happened() {
    assert!(Progress::default().is_idle());
    assert!(!Progress { sent: 1, ..Progress::default() }.is_idle());
    assert!(!Progress { consumed: 1, ..Progress::default() }.is_idle());
    assert!(!Progress { events: 1, ..Progress::default() }.is_idle());
    assert!(!Progress { eof: true, ..Progress::default() }.is_idle());
}

#[test]
fn synchronized_means_after_the_handshake() {
    assert!(!is_synchronized(State::SynSent));
    assert!(!is_synchronized(State::Listen));
    assert!(is_synchronized(State::Established));
    assert!(is_synchronized(State::CloseWait));
    assert!(is_synchronized(State::TimeWait));
}

#[test]
fn errors_say_what_went_wrong() {
    let err: PumpError<FrameError> = PumpError::Machine(FrameError::Negative { value: -2 });
    let text = std::format!("{err}");
    assert!(text.contains("-2"), "{text}");
    assert!(core::error::Error::source(&err).is_some());
    let lost: PumpError<FrameError> = PumpError::ConnectionLost { unsent: 7 };
    assert!(std::format!("{lost}").contains('7'));
    let closed: PumpError<FrameError> = PumpError::SendClosed { state: State::FinWait1, unsent: 3 };
    let text = std::format!("{closed}");
    assert!(text.contains('3') && text.contains("FIN-WAIT-1"), "{text}");
}
