//! Every wirekit exchange, two machines talking in memory: no sockets, no threads.
//!
//! `cargo run -p wirekit-core --example walkthrough`
//!
//! The byte stream between the two sides is cut into small arbitrary pieces, as TCP may
//! deliver it; the outcomes do not depend on the cut.

// An example may stop loudly on the impossible; the library never does.
#![allow(clippy::expect_used, clippy::indexing_slicing, clippy::unwrap_used)]

use wirekit_core::auth::{
    ChallengeMode, MpHandshake, MpPolicy, Order, Outcome, SeedProver, SeedVerifier,
};
use wirekit_core::command::{Agent, AgentEvent, Controller, ControllerEvent, Mode};
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::FileHeader;
use wirekit_core::pair::{self, Endpoint, Options, Sizes};
use wirekit_core::transfer::{FileReceiver, FileSender, ReceiveEvent};
use wirekit_core::Machine;

fn main() {
    sticky_packets();
    file_transfer();
    seed_handshake();
    mp_handshake();
    println!("\nall exchanges behaved as expected");
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).escape_debug().to_string()
}

/// demo1 vs demo2: the seed controller reads replies with `recv(500)`. A 700-byte reply
/// spills into the next command's output in raw mode; the length prefix keeps them apart.
fn sticky_packets() {
    println!("== remote command: raw (demo1) vs framed (demo2), replies read 500 bytes at a time");
    let commands: [&[u8]; 2] = [b"type big.txt", b"echo done"];
    let replies: [Vec<u8>; 2] = [vec![b'A'; 700], b"done\n".to_vec()];
    for mode in [Mode::Raw, Mode::seed_framed()] {
        let label = if mode == Mode::Raw { "raw   " } else { "framed" };
        let mut controller: Controller = Controller::new(mode);
        let mut agent: Agent = Agent::new(mode);
        let mut outputs: Vec<Vec<u8>> = vec![Vec::new()];
        let mut next_reply = 0;
        controller.send_command(commands[0]).expect("valid command");
        let on_agent = |agent: &mut Endpoint<'_, Agent>, event: AgentEvent<'_>| {
            if let AgentEvent::Command(_) = event {
                let reply = &replies[next_reply];
                next_reply += 1;
                agent.machine().begin_reply(reply.len() as u64).expect("reply");
                agent.send_raw(reply);
                agent.machine().record_reply_bytes(reply.len()).expect("reply bytes");
            }
        };
        // The seed controller prints one read as the command's output, then asks the next.
        let on_controller = |ctl: &mut Endpoint<'_, Controller>, event: ControllerEvent<'_>| {
            let finished = match event {
                ControllerEvent::Output(bytes) => {
                    outputs.last_mut().expect("one per command").extend_from_slice(bytes);
                    true
                }
                ControllerEvent::ReplyData { chunk, .. } => {
                    outputs.last_mut().expect("one per command").extend_from_slice(chunk);
                    false
                }
                ControllerEvent::ReplyEnd => true,
                ControllerEvent::ReplyStart { .. } | ControllerEvent::Closed => false,
            };
            if finished && outputs.len() < commands.len() {
                outputs.push(Vec::new());
                ctl.machine().send_command(commands[outputs.len() - 1]).expect("next command");
            }
        };
        let opts = Options { close_when_done: false, ..Options::default() };
        pair::run(
            &mut controller,
            &mut agent,
            &mut pair::whole,
            &mut Sizes::new(vec![500]),
            opts,
            on_controller,
            on_agent,
        );
        if mode == Mode::Raw {
            assert_eq!(outputs[1].len(), 205, "the spill-over is the lesson");
        } else {
            assert_eq!(outputs, replies, "framing keeps replies apart");
        }
        for (command, output) in commands.iter().zip(&outputs) {
            let a = output.iter().filter(|&&b| b == b'A').count();
            let rest = show(&output[a..]);
            println!("  {label} {:>14} -> {a} x 'A' + \"{rest}\"", show(command));
        }
    }
    println!("  raw: the 700-byte reply spilled into the next command's output (sticky packets).");
}

/// demo3: a file with a CJK + emoji name, 100 KiB, delivered in 1,500-byte pieces.
fn file_transfer() {
    println!("\n== file transfer (demo3)");
    let body: Vec<u8> = (0..100 * 1024u32).map(|i| (i % 251) as u8).collect();
    let header =
        FileHeader {
            filename: "报告 😀.bin", filepath: "F:\\上传", filesize: body.len() as u64
        };
    let mut sender = FileSender::new(FrameConfig::seed(), &header).expect("header fits");
    let json_len = header.encoded_len();
    let mut json = vec![0u8; json_len];
    header.encode(&mut json).expect("encode");
    println!("  header ({json_len} bytes): {}", String::from_utf8_lossy(&json));
    let mut receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
    // The sender's adapter writes the body itself once the header is out.
    let mut received = Vec::new();
    let mut name = String::new();
    let mut wire: Vec<u8> = sender.output_buf().to_vec();
    sender.consume_output(wire.len());
    wire.extend_from_slice(&body);
    sender.record_body(body.len() as u64).expect("exact body");
    let mut input: &[u8] = &wire;
    let mut chunks = 0;
    loop {
        let piece_len = input.len().min(1500);
        let (piece, rest) = input.split_at(piece_len);
        let mut piece = piece;
        loop {
            let step = receiver.handle_input(piece).expect("valid stream");
            piece = &piece[step.consumed..];
            match step.event {
                Some(ReceiveEvent::Header { filesize }) => {
                    let h = receiver.header().expect("decoded");
                    name = h.filename.to_string();
                    println!("  receiver: header for {:?}, {filesize} bytes", h.filename);
                }
                Some(ReceiveEvent::Body { chunk, .. }) => {
                    chunks += 1;
                    received.extend_from_slice(chunk)
                }
                Some(ReceiveEvent::Complete) => {}
                None => break,
            }
        }
        input = rest;
        if input.is_empty() {
            break;
        }
    }
    assert!(receiver.is_complete() && received == body && name == header.filename);
    println!("  receiver: complete, {} bytes in {chunks} zero-copy chunks, intact", received.len());
}

/// demo4: the verifier challenges, the prover answers; right and wrong key.
fn seed_handshake() {
    println!("\n== seed handshake (demo4, HMAC-MD5)");
    for (prover_key, expect) in [(&b"egg"[..], true), (&b"spam"[..], false)] {
        let mut verifier = SeedVerifier::new(b"egg", [0x5a; 32]);
        let mut prover = SeedProver::new(prover_key);
        let t = pair::run(
            &mut verifier,
            &mut prover,
            &mut Sizes::new(vec![5, 11]),
            &mut pair::bytewise,
            Options::default(),
            |_, _| {},
            |_, _| {},
        );
        let outcome = verifier.outcome();
        println!(
            "  prover key {:?}: verifier -> {outcome:?} ({} + {} bytes on the wire), prover -> {:?}",
            show(prover_key),
            t.a_sent.len(),
            t.b_sent.len(),
            prover.outcome()
        );
        assert_eq!(outcome == Some(Outcome::Authenticated), expect);
    }
}

/// CPython's multiprocessing.connection handshake, legacy (3.11) and modern (3.12+).
fn mp_handshake() {
    println!("\n== mp handshake (CPython multiprocessing.connection)");
    for mode in [ChallengeMode::Legacy, ChallengeMode::SHA256] {
        for client_key in [&b"secret"[..], b"guess"] {
            let mut listener = MpHandshake::new(
                b"secret",
                Order::ListenerSide,
                mode,
                MpPolicy::default(),
                [1; 40],
            );
            let mut client =
                MpHandshake::new(client_key, Order::ClientSide, mode, MpPolicy::default(), [2; 40]);
            pair::run(
                &mut listener,
                &mut client,
                &mut Sizes::new(vec![3, 1, 7]),
                &mut Sizes::new(vec![2]),
                Options::default(),
                |_, _| {},
                |_, _| {},
            );
            println!(
                "  {mode:?}, client key {:?}: listener -> {:?}, client -> {:?}",
                show(client_key),
                listener.outcome(),
                client.outcome()
            );
            let right_key = client_key == b"secret";
            assert_eq!(listener.outcome() == Some(Outcome::Authenticated), right_key);
            assert_eq!(client.outcome() == Some(Outcome::Authenticated), right_key);
        }
    }
}
