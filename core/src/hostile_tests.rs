//! Hostile input against every machine: random and near-valid bytes in random splits must
//! never panic (debug builds check arithmetic), never spin, and a blocking [`Conn::drive`]
//! over them must always end.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use core::convert::Infallible;
use core::ops::ControlFlow;
use std::string::String;
use std::vec;
use std::vec::Vec;

use embedded_io::{ErrorType, Read, Write};
use proptest::prelude::*;

use crate::auth::{ChallengeMode, MpHandshake, MpPolicy, MpProver, MpVerifier, Order};
use crate::auth::{SeedProver, SeedVerifier};
use crate::command::{Agent, Controller, Mode};
use crate::drive::{Action, Driver, Input, StepError};
use crate::frame::{Endian, FrameConfig, FrameDecoder, FrameReader, Width};
use crate::header::FileHeader;
use crate::io::Conn;
use crate::service::mem::{MemCommands, MemStorage};
use crate::service::{
    ServiceClient, ServiceServer, CLIENT_RX_MIN, CLIENT_TX_MIN, SERVER_RX_MIN, SERVER_TX_MIN,
};
use crate::transfer::FileReceiver;
use crate::Machine;

/// Feed `data` as it "arrives" in `chunks` through the core's driver (output sent at once),
/// then the close, until the machine rests with everything arrived, fails or is done.
/// Asserts the contract's basics on the way.
fn pump<M: Machine>(m: &mut M, data: &[u8], chunks: &[usize]) {
    let mut driver = Driver::new();
    let (mut taken, mut arrived, mut next) = (0, 0, 0);
    for _ in 0..100_000 {
        if arrived < data.len() {
            arrived = (arrived + chunks[next % chunks.len()]).min(data.len());
            next += 1;
        }
        let input = &data[taken..arrived];
        let closed = arrived == data.len();
        let step = match driver.step(m, Input::new(input).closed(closed)) {
            Ok(step) => step,
            Err(StepError::Machine(_)) => {
                assert!(m.is_done(), "an error ends the machine");
                assert!(m.handle_input(input).is_err(), "errors are sticky");
                return;
            }
            Err(StepError::UnexpectedEof) => return,
        };
        assert!(step.consumed <= input.len());
        taken += step.consumed;
        match step.action {
            Action::Transmit(transmit) => transmit.sent(usize::MAX),
            Action::Event(_) | Action::Closed(_) => {}
            Action::Finished => return,
            Action::NeedInput | Action::WaitingForCaller { .. } if closed => return,
            Action::NeedInput | Action::WaitingForCaller { .. } => {}
        }
    }
    panic!("the machine never stopped");
}

/// A transport that reads `input` in `chunks` and accepts at most 3 bytes per write.
struct Script {
    input: Vec<u8>,
    pos: usize,
    chunks: Vec<usize>,
    reads: usize,
}

impl ErrorType for Script {
    type Error = Infallible;
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let chunk = self.chunks[self.reads % self.chunks.len()];
        self.reads += 1;
        assert!(self.reads < 100_000, "the pump keeps reading after EOF");
        let n = buf.len().min(chunk).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        Ok(buf.len().min(3))
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// `Conn::drive` with a callback that always continues must end (done, error, or a stall
/// it reports), never hang.
fn drive<M: Machine>(m: &mut M, data: &[u8], chunks: &[usize]) {
    let script = Script { input: data.to_vec(), pos: 0, chunks: chunks.to_vec(), reads: 0 };
    let mut conn: Conn<_, 64> = Conn::new(script);
    let res = conn.drive(m, |_, _| ControlFlow::<()>::Continue(()));
    assert!(!matches!(res, Ok(Some(()))));
}

/// Random bytes, or bytes from a small alphabet that hits the parsers' special cases.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    let special = prop_oneof![Just(0u8), Just(0xff), Just(b'#'), Just(1), Just(b'{'), Just(b'}')];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..400),
        proptest::collection::vec(special, 0..400),
    ]
}

/// `noise` behind a plausible start: an mp challenge frame, a `{sha256}` one, an mp `-1`
/// extension prefix, the start of a device-service message, or nothing.
fn near_valid(noise: Vec<u8>, pick: u8) -> Vec<u8> {
    let mut out = Vec::new();
    match pick % 5 {
        0 => {
            out.extend_from_slice(&(noise.len() as u32 + 11).to_be_bytes());
            out.extend_from_slice(b"#CHALLENGE#");
        }
        1 => {
            out.extend_from_slice(&(noise.len() as u32 + 19).to_be_bytes());
            out.extend_from_slice(b"#CHALLENGE#{sha256}");
        }
        2 => out.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 20]),
        // A service message: its length, then a map of three whose key 0 comes first.
        3 => {
            out.extend_from_slice(&(noise.len() as u16 + 2).to_be_bytes());
            out.extend_from_slice(&[0xa3, 0x00]);
        }
        _ => {}
    }
    out.extend_from_slice(&noise);
    out
}

fn frame_configs() -> [FrameConfig; 5] {
    [
        FrameConfig::seed(),
        FrameConfig::mp(),
        FrameConfig::new(Width::Eight, Endian::Big, false),
        FrameConfig::new(Width::One, Endian::Little, true),
        FrameConfig::new(Width::Eight, Endian::Little, true),
    ]
}

macro_rules! each_machine {
    ($run:ident, $data:expr, $chunks:expr) => {{
        let (data, chunks): (&[u8], &[usize]) = ($data, $chunks);
        let key = b"key";
        let modern = ChallengeMode::SHA256;
        $run(
            &mut MpHandshake::new(key, Order::ListenerSide, modern, MpPolicy::COMPATIBLE, [1; 40]),
            data,
            chunks,
        );
        $run(
            &mut MpHandshake::new(
                key,
                Order::ClientSide,
                ChallengeMode::Legacy,
                MpPolicy::STRICT,
                [1; 40],
            ),
            data,
            chunks,
        );
        $run(&mut MpProver::new(key, MpPolicy::COMPATIBLE), data, chunks);
        $run(
            &mut MpVerifier::new(key, ChallengeMode::Legacy, MpPolicy::COMPATIBLE, [2; 40]),
            data,
            chunks,
        );
        $run(&mut SeedProver::new(key), data, chunks);
        $run(&mut SeedVerifier::new(key, [3; 32]), data, chunks);
        $run(&mut FileReceiver::<4096>::new(FrameConfig::seed()), data, chunks);
        $run(&mut FileReceiver::<16>::new(FrameConfig::mp()), data, chunks);
        let mut framed: Controller = Controller::new(Mode::seed_framed());
        framed.send_command(b"x").unwrap();
        $run(&mut framed, data, chunks);
        $run(&mut Controller::<1024>::new(Mode::Raw), data, chunks);
        $run(&mut Agent::<1024>::new(Mode::seed_framed()), data, chunks);
        for config in frame_configs() {
            $run(&mut FrameDecoder::new(config), data, chunks);
        }
        let (mut srx, mut stx) = (vec![0u8; SERVER_RX_MIN], vec![0u8; SERVER_TX_MIN]);
        let storage = MemStorage::new();
        let mut server =
            ServiceServer::new(storage, MemCommands::default(), &mut srx, &mut stx, 100).unwrap();
        $run(&mut server, data, chunks);
        let (mut crx, mut ctx) = (vec![0u8; CLIENT_RX_MIN], vec![0u8; CLIENT_TX_MIN]);
        $run(&mut ServiceClient::new(&mut crx, &mut ctx).unwrap(), data, chunks);
    }};
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn machines_survive_hostile_bytes_in_any_split(
        noise in noise(),
        pick in any::<u8>(),
        chunks in proptest::collection::vec(1usize..50, 1..8),
    ) {
        let data = near_valid(noise, pick);
        each_machine!(pump, &data, &chunks);
        for config in frame_configs() {
            let mut reader = FrameReader::new(config);
            let mut buf = [0u8; 64];
            let mut taken = 0;
            while let Ok(step) = reader.read_frame(&data[taken..], &mut buf) {
                taken += step.consumed;
                if step.consumed == 0 && step.event.is_none() {
                    break;
                }
            }
            let _ = reader.finish();
        }
        let mut storage = [0u8; 512];
        let _ = FileHeader::decode(&data, &mut storage);
        let _ = FileHeader::decode_in_place(&mut data.clone(), 4096);
    }

    #[test]
    fn drive_always_ends_on_hostile_bytes(
        noise in noise(),
        pick in any::<u8>(),
        chunks in proptest::collection::vec(1usize..50, 1..8),
    ) {
        let data = near_valid(noise, pick);
        each_machine!(drive, &data, &chunks);
    }
}

/// Pieces of JSON, escapes and numbers, so random concatenations hit the header parser's
/// branches far more often than random bytes do.
fn json_piece() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just(","),
        Just(":"),
        Just(" "),
        Just("\""),
        Just("\"filename\""),
        Just("\"filepath\""),
        Just("\"filesize\""),
        Just("\"x\""),
        Just("\\u4e2d"),
        Just("\\ud83d\\ude00"),
        Just("\\ud83d"),
        Just("\\n"),
        Just("\\\\"),
        Just("12"),
        Just("-0"),
        Just("1.5"),
        Just("1e3"),
        Just("true"),
        Just("null"),
        Just("中"),
        Just("😀"),
        Just("18446744073709551616"),
        Just("18446744073709551615"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The in-place decode (one buffer, what the file receiver uses) and the two-buffer
    /// decode agree on every input, valid or not.
    #[test]
    fn header_decoded_in_place_equals_decoded_into_storage(
        pieces in proptest::collection::vec(json_piece(), 0..30),
        wrap in any::<bool>(),
    ) {
        let mut json = String::new();
        if wrap {
            // Pieces inside a filename: mostly valid headers with odd names.
            json.push_str("{\"filename\": \"");
            for p in pieces.iter().filter(|p| !p.contains('"') || p.starts_with('\\')) {
                json.push_str(p);
            }
            json.push_str("\", \"filepath\": \"p\", \"filesize\": 5}");
        } else {
            pieces.iter().for_each(|p| json.push_str(p));
        }
        let owned = |h: FileHeader<'_>| (String::from(h.filename), String::from(h.filepath), h.filesize);
        let mut storage = vec![0u8; json.len()];
        let split = FileHeader::decode(json.as_bytes(), &mut storage).map(owned);
        let mut buf = json.clone().into_bytes();
        let in_place = FileHeader::decode_in_place(&mut buf, 4096).map(owned);
        prop_assert_eq!(split, in_place);
    }
}
