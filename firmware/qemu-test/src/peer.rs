//! PC-side peers built from the core's machines on a blocking [`Conn`] over
//! `std::net::TcpStream`. They check the device byte for byte where the `wirekit` binary's
//! output is only a summary, and stand in for the binary where it cannot do a step yet.

use std::net::{TcpStream, UdpSocket};
use std::ops::ControlFlow;
use std::time::Duration;

use embedded_io_adapters::std::FromStd;
use wirekit_core::auth::{
    ChallengeMode, MpHandshake, MpPolicy, MutualOrder, Order, Outcome, Role, RoleKeys, SeedMutual,
    SeedProver,
};
use wirekit_core::command::{Controller, ControllerEvent, Mode};
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::FileHeader;
use wirekit_core::io::Conn;
use wirekit_core::transfer::FileSender;

/// A blocking connection to the device.
pub type StdConn = Conn<FromStd<TcpStream>>;

/// Connects to `127.0.0.1:port` with read/write timeouts of `timeout`.
pub fn connect(port: u16, timeout: Duration) -> Result<StdConn, String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(Conn::new(FromStd::new(stream)))
}

/// Answers the device's seed challenge (demo4 prover). The seed sends no verdict, so
/// the outcome is `Answered` whatever the key; the device's behaviour afterwards tells.
pub fn seed_prove(conn: &mut StdConn, key: &[u8]) -> Result<Outcome, String> {
    conn.authenticate(&mut SeedProver::new(key)).map_err(|e| format!("seed handshake: {e}"))
}

/// The exec controller's half of the device's command-port handshake: the mutual seed
/// handshake with role keys (docs/protocol.md section 4), as `wirekit exec controller
/// --connect --key` runs it; `challenge` is ours for the device.
pub fn controller_handshake(
    conn: &mut StdConn,
    key: &[u8],
    challenge: [u8; 32],
) -> Result<Outcome, String> {
    let keys = RoleKeys::for_role(key, Role::ExecController);
    let (verify, prove) = (keys.verify.as_bytes(), keys.prove.as_bytes());
    let mut hs = SeedMutual::new(verify, prove, MutualOrder::ConnectingSide, challenge);
    conn.authenticate(&mut hs).map_err(|e| format!("seed handshake: {e}"))
}

/// CPython `Client`'s half of the mp handshake (legacy challenge, as Python 3.11).
pub fn mp_client(
    port: u16,
    key: &[u8],
    random: [u8; 40],
    timeout: Duration,
) -> Result<Outcome, String> {
    let mut conn = connect(port, timeout)?;
    let mut hs = MpHandshake::new(
        key,
        Order::ClientSide,
        ChallengeMode::Legacy,
        MpPolicy::COMPATIBLE,
        random,
    );
    conn.authenticate(&mut hs).map_err(|e| format!("mp handshake: {e}"))
}

/// Sends one demo3 file (seed framing) on an authenticated connection.
pub fn send_file(conn: &mut StdConn, name: &str, data: &[u8]) -> Result<u64, String> {
    let header = FileHeader { filename: name, filepath: "/qemu-test", filesize: data.len() as u64 };
    let mut sender = FileSender::new(FrameConfig::seed(), &header).map_err(|e| e.to_string())?;
    let mut body = data;
    conn.send_file(&mut sender, &mut body, &mut [0u8; 16 * 1024])
        .map_err(|e| format!("sending file: {e}"))
}

/// Runs demo2 (framed) commands on an authenticated connection, then sends `q` and waits
/// for the device to close. Returns each reply (stdout then stderr bytes).
pub fn run_commands(conn: &mut StdConn, commands: &[&str]) -> Result<Vec<Vec<u8>>, String> {
    let mut controller: Controller = Controller::new(Mode::seed_framed());
    let mut replies = Vec::new();
    for command in commands {
        controller.send_command(command.as_bytes()).map_err(|e| e.to_string())?;
        let mut reply = Vec::new();
        let ended = conn
            .drive(&mut controller, |_, event| match event {
                ControllerEvent::ReplyData { chunk, .. } => {
                    reply.extend_from_slice(chunk);
                    ControlFlow::Continue(())
                }
                ControllerEvent::ReplyEnd => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            })
            .map_err(|e| format!("command {command:?}: {e}"))?;
        if ended.is_none() {
            return Err(format!("command {command:?}: the device ended the session"));
        }
        replies.push(reply);
    }
    controller.send_command(b"q").map_err(|e| e.to_string())?;
    conn.drive(&mut controller, |_, _| ControlFlow::<()>::Continue(()))
        .map_err(|e| format!("after q: {e}"))?;
    Ok(replies)
}

/// Sends `message` to `127.0.0.1:port` until a reply comes (UDP may drop), at most `tries`
/// times with `wait` each.
pub fn udp_exchange(
    port: u16,
    message: &[u8],
    tries: u32,
    wait: Duration,
) -> Result<Vec<u8>, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    socket.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 2048];
    for _ in 0..tries {
        socket.send_to(message, ("127.0.0.1", port)).map_err(|e| format!("udp send: {e}"))?;
        if let Ok((n, _)) = socket.recv_from(&mut buf) {
            return Ok(buf[..n].to_vec());
        }
    }
    Err(format!("no UDP reply after {tries} tries"))
}
