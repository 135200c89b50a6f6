#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The serial link over pty pairs: a seed file transfer through the core's `Conn`, directly
//! and through a relay that corrupts 1 % of the bytes each way.

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::FileHeader;
use wirekit_core::io::{Conn, Incoming};
use wirekit_core::transfer::{FileReceiver, FileSender};

use super::*;

fn body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 + i / 253) as u8).collect()
}

/// Send `data` on one port, receive it on the other, each in its own thread.
fn transfer(a: Port, b: Port, data: &[u8]) -> Vec<u8> {
    let sent = data.to_vec();
    let sender = thread::spawn(move || {
        let mut buf = [0u8; FRAME_BUF];
        let mut conn: Conn<_, 4096> = Conn::new(link_port(a, 115_200, 0x5E4D, &mut buf));
        let header = FileHeader { filename: "f.bin", filepath: "", filesize: sent.len() as u64 };
        let mut s = FileSender::new(FrameConfig::seed(), &header).unwrap();
        let mut scratch = [0u8; 4096];
        conn.send_file(&mut s, &mut &sent[..], &mut scratch).unwrap();
        conn.get_mut().finish(Duration::from_secs(10)).unwrap();
    });
    let mut buf = [0u8; FRAME_BUF];
    let mut conn: Conn<_, 4096> = Conn::new(link_port(b, 115_200, 0x2ECE, &mut buf));
    let mut receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let mut got = Vec::new();
    conn.receive_file(&mut receiver, |incoming| {
        if let Incoming::Body(chunk) = incoming {
            got.extend_from_slice(chunk);
        }
        Ok::<(), ()>(())
    })
    .unwrap();
    conn.get_mut().finish(Duration::from_secs(10)).unwrap();
    sender.join().unwrap();
    got
}

fn pty_pair() -> (TTYPort, TTYPort) {
    TTYPort::pair().expect("a pty pair")
}

#[test]
fn file_transfer_over_a_pty_pair() {
    let (a, b) = pty_pair();
    let data = body(64 * 1024);
    let got = transfer(Port::from_port(Box::new(a)), Port::from_port(Box::new(b)), &data);
    assert_eq!(got, data);
}

/// Copy `from` to `to`, XORing about one byte in a hundred (a fixed xorshift sequence),
/// until `from` is closed.
fn corrupting_relay(mut from: TTYPort, mut to: TTYPort, seed: u64) {
    thread::spawn(move || {
        let mut state = seed | 1;
        let mut buf = [0u8; 512];
        from.set_timeout(Duration::from_secs(5)).unwrap();
        while let Ok(n) = from.read(&mut buf) {
            for b in &mut buf[..n] {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if state % 100 == 0 {
                    *b ^= (state >> 32) as u8 | 1;
                }
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
}

#[test]
fn file_transfer_through_a_relay_corrupting_one_percent() {
    let (a, a_relay) = pty_pair();
    let (b_relay, b) = pty_pair();
    let (a_relay2, b_relay2) =
        (a_relay.try_clone_native().unwrap(), b_relay.try_clone_native().unwrap());
    corrupting_relay(a_relay, b_relay2, 1);
    corrupting_relay(b_relay, a_relay2, 2);
    let data = body(64 * 1024);
    let got = transfer(Port::from_port(Box::new(a)), Port::from_port(Box::new(b)), &data);
    assert_eq!(got, data);
}
