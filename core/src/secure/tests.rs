#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

//! Tests of the secure channel: the shared vectors, the pair harness with a file transfer
//! inside, the chunking property, and one test per error.

use std::format;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::frame::FrameConfig;
use crate::header::FileHeader;
use crate::pair::{self, Options, Sizes};
use crate::transfer::in_memory::SendFile;
use crate::transfer::{FileReceiver, FileSender, ReceiveEvent, TransferError};
use crate::{Handled, Machine};

const VECTORS: &str = include_str!("../../tests/vectors/secure-vectors.txt");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// The hex right after `label` in the vector file.
fn vector(label: &str) -> Vec<u8> {
    let at =
        VECTORS.find(label).unwrap_or_else(|| panic!("{label} not in the vectors")) + label.len();
    let hex: std::string::String =
        VECTORS[at..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    unhex(&hex)
}

fn array(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().unwrap()
}

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const EPH_I: [u8; 32] = [0x11; 32];
const EPH_R: [u8; 32] = [0x22; 32];

/// A byte stream: sends `out`, reports every input chunk, is done once `out` is sent.
#[derive(Debug, Default)]
struct Bytes {
    out: Vec<u8>,
    sent: usize,
    eof: bool,
}

impl Bytes {
    fn sending(out: &[u8]) -> Self {
        Self { out: out.to_vec(), ..Self::default() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Never;
impl core::fmt::Display for Never {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("never")
    }
}
impl core::error::Error for Never {}

impl Machine for Bytes {
    type Event<'i> = &'i [u8];
    type Error = Never;
    fn handle_input<'i>(&mut self, input: &'i [u8]) -> Result<Handled<&'i [u8]>, Never> {
        Ok(if input.is_empty() { Handled::consumed(0) } else { Handled::event(input.len(), input) })
    }
    fn handle_eof(&mut self) -> Result<Option<&'static [u8]>, Never> {
        self.eof = true;
        Ok(None)
    }
    fn output_buf(&self) -> &[u8] {
        &self.out[self.sent..]
    }
    fn consume_output(&mut self, n: usize) {
        self.sent += n;
    }
    fn is_done(&self) -> bool {
        self.sent == self.out.len()
    }
}

/// Hands every received chunk to the driver.
struct Collect;
impl InnerHandler<Bytes> for Collect {
    type Output = Vec<u8>;
    fn on_inner_event(&mut self, _: &mut Bytes, chunk: &[u8]) -> Option<Vec<u8>> {
        Some(chunk.to_vec())
    }
}

struct Bufs {
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl Bufs {
    fn new(limit: u16, tx: usize) -> Self {
        Self { rx: vec![0; rx_buf_len(limit)], tx: vec![0; tx] }
    }
    fn buffers(&mut self) -> Buffers<'_> {
        Buffers { rx: &mut self.rx, tx: &mut self.tx }
    }
}

fn config(role: Role, service: &[u8], limit: u16) -> Config<'_> {
    Config { role, service, max_plaintext: limit }
}

fn bytes_channel<'b>(
    role: Role,
    key: &[u8],
    service: &[u8],
    limit: u16,
    eph: [u8; 32],
    bufs: &'b mut Bufs,
    out: &[u8],
) -> SecureChannel<'b, Bytes, Collect> {
    let psk = Psk::derive(key).unwrap();
    let config = config(role, service, limit);
    SecureChannel::new(&config, &psk, eph, bufs.buffers(), Bytes::sending(out), Collect).unwrap()
}

/// Take all of `m`'s output.
fn drain<M: Machine>(m: &mut M) -> Vec<u8> {
    let out = m.output_buf().to_vec();
    m.consume_output(out.len());
    out
}

/// Feed `input` until it is consumed or the machine stops taking it; every event, in order.
fn feed(
    m: &mut SecureChannel<'_, Bytes, Collect>,
    mut input: &[u8],
) -> Result<Vec<ChannelEvent<Vec<u8>>>, ChannelError<Never>> {
    let mut events = Vec::new();
    loop {
        let step = m.handle_input(input)?;
        input = &input[step.consumed..];
        match step.event {
            Some(e) => events.push(e),
            None if step.consumed == 0 => return Ok(events),
            None => {}
        }
    }
}

#[test]
fn psk_and_wire_bytes_match_the_shared_vectors() {
    let shared: Vec<u8> = (0u8..32).collect();
    let psk = Psk::derive(&shared).unwrap();
    assert_eq!(psk.as_bytes().as_slice(), vector("psk = "));

    let eph_i = array(&vector("initiator's ephemeral private key = "));
    let eph_r = array(&vector("responder's ephemeral private key = "));
    let mut bi = Bufs::new(65_519, 70_000);
    let mut br = Bufs::new(4078, 70_000);
    let mut init =
        bytes_channel(Role::Initiator, &shared, b"file", 65_519, eph_i, &mut bi, b"hello");
    let mut resp = bytes_channel(Role::Responder, &shared, b"file", 4078, eph_r, &mut br, b"");

    let msg1 = drain(&mut init);
    assert_eq!(msg1[..2], [0, 50]);
    assert_eq!(msg1[2..], vector("message 1 (payload ffef = 65519) = "));
    let events = feed(&mut resp, &msg1).unwrap();
    assert_eq!(events, [ChannelEvent::Established { peer_limit: 65_519 }]);
    assert!(!resp.peer_authenticated());

    let msg2 = drain(&mut resp);
    assert_eq!(msg2[..2], [0, 50]);
    assert_eq!(msg2[2..], vector("message 2 (payload 0fee = 4078) = "));
    let events = feed(&mut init, &msg2).unwrap();
    assert_eq!(
        events,
        [
            ChannelEvent::Established { peer_limit: 4078 },
            ChannelEvent::PeerAuthenticated,
            ChannelEvent::InnerDone
        ]
    );
    assert_eq!(init.handshake_hash(), resp.handshake_hash());

    let hello = drain(&mut init);
    assert_eq!(hello[..2], [0, 21]);
    assert_eq!(hello[2..], vector("initiator transport 0 of b'hello' = "));
    init.close();
    let close = drain(&mut init);
    assert_eq!(close[..2], [0, 16]);
    assert_eq!(close[2..], vector("initiator close_notify (transport 1) = "));

    let events = feed(&mut resp, &[hello, close].concat()).unwrap();
    assert_eq!(
        events,
        [
            ChannelEvent::PeerAuthenticated,
            ChannelEvent::Inner(b"hello".to_vec()),
            ChannelEvent::InnerDone,
            ChannelEvent::PeerClosed
        ]
    );
    assert!(!resp.is_done(), "the responder has not sent its close_notify yet");
    resp.close();
    assert!(resp.is_done());
    assert_eq!(feed(&mut init, &drain(&mut resp)).unwrap(), [ChannelEvent::PeerClosed]);
    assert!(init.is_done());
    assert_eq!(init.handle_eof(), Ok(None));
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Header(u64),
    Body(Vec<u8>),
    Complete,
}

struct OwnedReceive;
impl InnerHandler<FileReceiver> for OwnedReceive {
    type Output = Got;
    fn on_inner_event(&mut self, _: &mut FileReceiver, event: ReceiveEvent<'_>) -> Option<Got> {
        Some(match event {
            ReceiveEvent::Header { filesize } => Got::Header(filesize),
            ReceiveEvent::Body { chunk, .. } => Got::Body(chunk.to_vec()),
            ReceiveEvent::Complete => Got::Complete,
        })
    }
}

struct Nothing;
impl InnerHandler<SendFile> for Nothing {
    type Output = ();
    fn on_inner_event(&mut self, _: &mut SendFile, event: core::convert::Infallible) -> Option<()> {
        match event {}
    }
}

/// What one transfer run produced.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    /// Every event of the sending side, in order.
    a_events: Vec<ChannelEvent<()>>,
    /// Every event of the receiving side, in order.
    b_events: Vec<ChannelEvent<Got>>,
    a_sent: Vec<u8>,
    b_sent: Vec<u8>,
}

impl Run {
    /// The receiver's inner events, body chunks merged.
    fn received(&self) -> Vec<Got> {
        let mut got: Vec<Got> = Vec::new();
        for event in &self.b_events {
            match (event, got.last_mut()) {
                (ChannelEvent::Inner(Got::Body(chunk)), Some(Got::Body(prev))) => {
                    prev.extend_from_slice(chunk)
                }
                (ChannelEvent::Inner(g), _) => got.push(g.clone()),
                _ => {}
            }
        }
        got
    }
}

/// A file transfer inside the channel through the pair harness.
fn transfer(
    body: &[u8],
    recv_limit: u16,
    tx: usize,
    a_to_b: &mut dyn pair::Chunker,
    b_to_a: &mut dyn pair::Chunker,
) -> Run {
    let psk = Psk::derive(KEY).unwrap();
    let header = FileHeader { filename: "f.bin", filepath: "", filesize: body.len() as u64 };
    let sender =
        SendFile::new(FileSender::new(FrameConfig::seed(), &header).unwrap(), body.to_vec());
    let mut bs = Bufs::new(MAX_PLAINTEXT_LIMIT, tx);
    let mut br = Bufs::new(recv_limit, tx);
    let mut a = SecureChannel::new(
        &config(Role::Initiator, b"file", MAX_PLAINTEXT_LIMIT),
        &psk,
        EPH_I,
        bs.buffers(),
        sender,
        Nothing,
    )
    .unwrap();
    let receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let mut b = SecureChannel::new(
        &config(Role::Responder, b"file", recv_limit),
        &psk,
        EPH_R,
        br.buffers(),
        receiver,
        OwnedReceive,
    )
    .unwrap();
    let (mut a_events, mut b_events) = (Vec::new(), Vec::new());
    let t = pair::run(
        &mut a,
        &mut b,
        a_to_b,
        b_to_a,
        Options::default(),
        |ep, event| {
            if event == ChannelEvent::InnerDone {
                ep.machine().close();
            }
            a_events.push(event);
        },
        |ep, event| {
            // The receiver commits (here: nothing to rename) and only then closes.
            if event == ChannelEvent::InnerDone {
                ep.machine().close();
            }
            b_events.push(event);
        },
    );
    assert_eq!(t.a_error, None);
    assert_eq!(t.b_error, None);
    assert!(a.is_done() && b.is_done());
    Run { a_events, b_events, a_sent: t.a_sent, b_sent: t.b_sent }
}

#[test]
fn a_file_transfer_runs_unchanged_inside_the_channel() {
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let run = transfer(&body, 4078, 70_000, &mut pair::whole, &mut pair::whole);
    assert_eq!(run.received(), [Got::Header(100_000), Got::Body(body.clone()), Got::Complete]);
    let ends = |events: &[ChannelEvent<Got>]| {
        events.iter().filter(|e| !matches!(e, ChannelEvent::Inner(_))).cloned().collect::<Vec<_>>()
    };
    assert_eq!(
        ends(&run.b_events),
        [
            ChannelEvent::Established { peer_limit: MAX_PLAINTEXT_LIMIT },
            ChannelEvent::PeerAuthenticated,
            ChannelEvent::InnerDone,
            ChannelEvent::PeerClosed
        ]
    );
    let (a_sent, b_sent) = (run.a_sent, run.b_sent);
    // The device stated 4,078: no record from the PC carries more.
    let mut records = 0;
    let mut rest = &a_sent[52..];
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        assert!(len <= 4078 + 16, "record of {len}");
        rest = &rest[2 + len..];
        records += 1;
    }
    assert!(records > 100_000 / 4078);
    // The receiver sends its handshake message and its close_notify, nothing else.
    assert_eq!(b_sent.len(), 52 + 18);
}

#[test]
fn a_small_send_buffer_gives_small_records_and_the_same_file() {
    let body: Vec<u8> = (0..5000u32).map(|i| (i % 13) as u8).collect();
    let run = transfer(&body, 65_519, MIN_TX_BUF, &mut pair::bytewise, &mut pair::bytewise);
    assert_eq!(run.received(), [Got::Header(5000), Got::Body(body), Got::Complete]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_split_of_the_byte_streams_gives_the_same_events_and_bytes(
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        a_sizes in proptest::collection::vec(1usize..200, 1..20),
        b_sizes in proptest::collection::vec(1usize..60, 1..20),
    ) {
        let whole = transfer(&body, 1000, 3000, &mut pair::whole, &mut pair::whole);
        let split =
            transfer(&body, 1000, 3000, &mut Sizes::new(a_sizes), &mut Sizes::new(b_sizes));
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(split.received().len(), if body.is_empty() { 2 } else { 3 });
    }

    #[test]
    fn arbitrary_bytes_after_message_1_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut bi = Bufs::new(1000, 2000);
        let mut br = Bufs::new(1000, 2000);
        let mut init = bytes_channel(Role::Initiator, KEY, b"tcp", 1000, EPH_I, &mut bi, b"");
        let mut resp = bytes_channel(Role::Responder, KEY, b"tcp", 1000, EPH_R, &mut br, b"");
        let msg1 = drain(&mut init);
        let mut input = msg1;
        input.extend_from_slice(&tail);
        let _ = feed(&mut resp, &input);
        let _ = resp.handle_eof();
        // Random bytes never pass a tag: nothing reaches the inner machine.
        prop_assert!(!resp.peer_authenticated());
        prop_assert!(!resp.inner().eof);
        prop_assert!(resp.error().is_some() || !tail.is_empty() || resp.output_buf().len() == 52);
    }
}

/// An initiator and responder that completed the handshake; the initiator's output is
/// drained, so the next bytes it produces are transport records.
fn established<'b>(
    bi: &'b mut Bufs,
    br: &'b mut Bufs,
    init_out: &[u8],
    resp_out: &[u8],
) -> (SecureChannel<'b, Bytes, Collect>, SecureChannel<'b, Bytes, Collect>) {
    let mut init = bytes_channel(Role::Initiator, KEY, b"tcp", 1000, EPH_I, bi, init_out);
    let mut resp = bytes_channel(Role::Responder, KEY, b"tcp", 1000, EPH_R, br, resp_out);
    feed(&mut resp, &drain(&mut init)).unwrap();
    feed(&mut init, &drain(&mut resp)).unwrap();
    (init, resp)
}

fn secure_err<T: core::fmt::Debug>(r: Result<T, ChannelError<Never>>) -> SecureError {
    match r {
        Err(ChannelError::Secure(e)) => e,
        other => panic!("expected a channel error, got {other:?}"),
    }
}

#[test]
fn wrong_key_fails_message_1_and_the_responder_sends_nothing() {
    let mut bi = Bufs::new(1000, 2000);
    let mut br = Bufs::new(1000, 2000);
    let mut init = bytes_channel(Role::Initiator, KEY, b"tcp", 1000, EPH_I, &mut bi, b"");
    let mut resp = bytes_channel(
        Role::Responder,
        b"another key of 16+ bytes",
        b"tcp",
        1000,
        EPH_R,
        &mut br,
        b"",
    );
    let err = secure_err(feed(&mut resp, &drain(&mut init)));
    assert_eq!(err, SecureError::HandshakeAuth);
    assert!(err.is_authentication_failure());
    assert!(resp.output_buf().is_empty());
    assert!(resp.is_done());
    // The initiator sees the close where message 2 should be.
    assert_eq!(secure_err(init.handle_eof()), SecureError::Refused);
}

#[test]
fn a_handshake_relayed_to_another_service_fails_message_1() {
    let mut bi = Bufs::new(1000, 2000);
    let mut br = Bufs::new(1000, 2000);
    let mut init = bytes_channel(Role::Initiator, KEY, b"file", 1000, EPH_I, &mut bi, b"");
    let mut resp = bytes_channel(Role::Responder, KEY, b"exec", 1000, EPH_R, &mut br, b"");
    assert_eq!(secure_err(feed(&mut resp, &drain(&mut init))), SecureError::HandshakeAuth);
}

#[test]
fn wrong_key_at_the_initiator_fails_message_2() {
    let mut bi = Bufs::new(1000, 2000);
    let mut br = Bufs::new(1000, 2000);
    let mut init = bytes_channel(Role::Initiator, KEY, b"tcp", 1000, EPH_I, &mut bi, b"");
    let mut resp = bytes_channel(Role::Responder, KEY, b"tcp", 1000, EPH_R, &mut br, b"");
    feed(&mut resp, &drain(&mut init)).unwrap();
    let mut msg2 = drain(&mut resp);
    msg2[40] ^= 1;
    assert_eq!(secure_err(feed(&mut init, &msg2)), SecureError::HandshakeAuth);
    assert!(init.output_buf().is_empty());
}

/// Message 1 with the payload `payload`, made by a handshake state like the initiator's.
fn message_1_with(payload: &[u8]) -> Vec<u8> {
    let psk = Psk::derive(KEY).unwrap();
    let mut hs = handshake::HandshakeState::new(
        Role::Initiator,
        psk.as_bytes(),
        &[key::PROLOGUE_PREFIX, b"tcp"],
        EPH_I,
    );
    let mut out = vec![0u8; 200];
    let n = hs.write_message_1(payload, &mut out[2..]).unwrap();
    out[..2].copy_from_slice(&(n as u16).to_be_bytes());
    out.truncate(2 + n);
    out
}

#[test]
fn a_bad_handshake_payload_fails_the_handshake() {
    for payload in [&[0x00, 0x3f][..], &[0xff, 0xf0], &[0x10], &[0x10, 0x00, 0x00], &[]] {
        let mut br = Bufs::new(1000, 2000);
        let mut resp = bytes_channel(Role::Responder, KEY, b"tcp", 1000, EPH_R, &mut br, b"");
        let err = secure_err(feed(&mut resp, &message_1_with(payload)));
        assert_eq!(err, SecureError::HandshakePayload, "payload {payload:02x?}");
        assert!(!err.is_authentication_failure());
        assert!(resp.output_buf().is_empty());
    }
    // The bounds themselves are fine.
    for payload in [[0x00, 0x40], [0xff, 0xef]] {
        let mut br = Bufs::new(1000, 2000);
        let mut resp = bytes_channel(Role::Responder, KEY, b"tcp", 1000, EPH_R, &mut br, b"");
        assert!(feed(&mut resp, &message_1_with(&payload)).is_ok());
    }
}

#[test]
fn a_handshake_message_too_short_for_a_key_and_tag_is_refused_on_its_prefix() {
    let mut br = Bufs::new(1000, 2000);
    let mut resp = bytes_channel(Role::Responder, KEY, b"tcp", 1000, EPH_R, &mut br, b"");
    assert_eq!(secure_err(feed(&mut resp, &[0, 47])), SecureError::HandshakeLength { len: 47 });
}

#[test]
fn a_failed_transport_tag_is_its_own_error_and_nothing_of_it_is_used() {
    let (mut bi, mut br) = (Bufs::new(1000, 2000), Bufs::new(1000, 2000));
    let (mut init, mut resp) = established(&mut bi, &mut br, b"run this", b"");
    let mut record = drain(&mut init);
    let last = record.len() - 1;
    record[last] ^= 0x80;
    assert_eq!(secure_err(feed(&mut resp, &record)), SecureError::RecordTag);
    assert!(!resp.peer_authenticated());
    assert!(resp.is_done());
}

#[test]
fn an_over_limit_record_is_refused_on_its_prefix() {
    let (mut bi, mut br) = (Bufs::new(1000, 2000), Bufs::new(1000, 2000));
    let (_init, mut resp) = established(&mut bi, &mut br, b"", b"");
    let err = secure_err(feed(&mut resp, &[0x03, 0xf9]));
    assert_eq!(err, SecureError::RecordTooLong { len: 1017, max: 1016 });
}

#[test]
fn a_record_shorter_than_a_tag_is_refused() {
    let (mut bi, mut br) = (Bufs::new(1000, 2000), Bufs::new(1000, 2000));
    let (_init, mut resp) = established(&mut bi, &mut br, b"", b"");
    assert_eq!(secure_err(feed(&mut resp, &[0, 15])), SecureError::RecordTooShort { len: 15 });
}

#[test]
fn the_sender_never_exceeds_the_peer_limit() {
    let data = vec![7u8; 2500];
    let (mut bi, mut br) = (Bufs::new(1000, 4000), Bufs::new(1000, 4000));
    let (mut init, mut resp) = established(&mut bi, &mut br, &data, b"");
    let wire = drain(&mut init);
    assert_eq!(wire.len(), 3 * 18 + 2500);
    let events = feed(&mut resp, &wire).unwrap();
    let got: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            ChannelEvent::Inner(c) => Some(c.clone()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .concat();
    assert_eq!(got, data);
}

#[test]
fn truncation_without_close_notify_is_an_error() {
    let (mut bi, mut br) = (Bufs::new(1000, 2000), Bufs::new(1000, 2000));
    let (mut init, mut resp) = established(&mut bi, &mut br, b"half a command", b"");
    feed(&mut resp, &drain(&mut init)).unwrap();
    assert_eq!(secure_err(resp.handle_eof()), SecureError::Truncated);
    assert!(!resp.inner().eof, "the inner machine is not told of a clean end");
}

#[test]
fn a_close_in_the_middle_of_message_1_is_a_cut_handshake() {
    let mut bi = Bufs::new(1000, 2000);
    let mut br = Bufs::new(1000, 2000);
    let mut init = bytes_channel(Role::Initiator, KEY, b"tcp", 1000, EPH_I, &mut bi, b"");
    let mut resp = bytes_channel(Role::Responder, KEY, b"tcp", 1000, EPH_R, &mut br, b"");
    feed(&mut resp, &drain(&mut init)[..30]).unwrap();
    assert_eq!(secure_err(resp.handle_eof()), SecureError::HandshakeCut);
    let mut resp2_bufs = Bufs::new(1000, 2000);
    let mut resp2 = bytes_channel(Role::Responder, KEY, b"tcp", 1000, EPH_R, &mut resp2_bufs, b"");
    assert_eq!(secure_err(resp2.handle_eof()), SecureError::HandshakeCut);
}

#[test]
fn data_after_close_notify_is_an_error() {
    let (mut bi, mut br) = (Bufs::new(1000, 2000), Bufs::new(1000, 2000));
    let (mut init, mut resp) = established(&mut bi, &mut br, b"x", b"");
    init.close();
    let mut wire = drain(&mut init);
    wire.push(0);
    assert_eq!(secure_err(feed(&mut resp, &wire)), SecureError::DataAfterClose);
}

#[test]
fn writing_after_close_is_refused() {
    let (mut bi, mut br) = (Bufs::new(1000, 2000), Bufs::new(1000, 2000));
    let (mut init, _resp) = established(&mut bi, &mut br, b"", b"");
    init.close();
    assert_eq!(init.write_plaintext(b"late"), Err(SecureError::AlreadyClosed));
}

#[test]
fn nonces_never_wrap() {
    let (mut bi, mut br) = (Bufs::new(1000, 2000), Bufs::new(1000, 2000));
    let (mut init, _resp) = established(&mut bi, &mut br, b"", b"");
    drain(&mut init);
    init.set_send_nonce(u64::MAX - 1);
    assert_eq!(init.write_plaintext(b"last"), Ok(4));
    assert_eq!(init.write_plaintext(b"one too many"), Err(SecureError::NonceExhausted));
    assert!(init.output_buf().is_empty(), "nothing more goes out after an error");
}

fn file_responder(bufs: &mut Bufs) -> SecureChannel<'_, FileReceiver, OwnedReceive> {
    let psk = Psk::derive(KEY).unwrap();
    let receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let config = config(Role::Responder, b"file", 1000);
    SecureChannel::new(&config, &psk, EPH_R, bufs.buffers(), receiver, OwnedReceive).unwrap()
}

#[test]
fn a_replayed_message_1_without_a_transport_message_commits_nothing() {
    // Record a real session's message 1, then replay it to a fresh responder.
    let mut bi = Bufs::new(1000, 2000);
    let mut init = bytes_channel(Role::Initiator, KEY, b"file", 1000, EPH_I, &mut bi, b"");
    let msg1 = drain(&mut init);

    let mut br = Bufs::new(1000, 2000);
    let mut resp = file_responder(&mut br);
    let step = resp.handle_input(&msg1).unwrap();
    assert_eq!(step.event, Some(ChannelEvent::Established { peer_limit: 1000 }));
    assert!(!resp.peer_authenticated());
    // Message 2 goes out (encrypted to the recorded ephemeral key), but nothing else happens.
    assert_eq!(resp.output_buf().len(), 52);
    resp.consume_output(52);
    assert_eq!(resp.handle_input(&[]).unwrap(), Handled::consumed(0));
    // The attacker cannot make a transport message; garbage fails its tag.
    let garbage = [&[0u8, 40][..], &[0xaa; 40]].concat();
    assert_eq!(
        resp.handle_input(&garbage).map(|h| h.consumed),
        Err(ChannelError::Secure(SecureError::RecordTag))
    );
    assert!(!resp.peer_authenticated());
    assert_eq!(resp.inner().header(), None, "the inner receiver never saw a byte");
    // And a replay that just stops is a truncation, never a success.
    let mut br2 = Bufs::new(1000, 2000);
    let mut resp2 = file_responder(&mut br2);
    resp2.handle_input(&msg1).unwrap();
    assert_eq!(resp2.handle_eof(), Err(ChannelError::Secure(SecureError::Truncated)));
    assert!(!resp2.inner().is_done());
}

#[test]
fn setup_is_checked() {
    let psk = Psk::derive(KEY).unwrap();
    assert_eq!(Psk::derive(&[1; 15]).unwrap_err(), KeyTooShort { len: 15 });
    assert!(Psk::derive(&[1; 16]).is_ok());
    let mut rx = [0u8; 100];
    let mut tx = [0u8; 100];
    let mut make = |limit: u16, rx_len: usize, tx_len: usize| {
        SecureChannel::new(
            &config(Role::Initiator, b"tcp", limit),
            &psk,
            EPH_I,
            Buffers { rx: &mut rx[..rx_len], tx: &mut tx[..tx_len] },
            Bytes::default(),
            Collect,
        )
        .map(|_| ())
    };
    assert_eq!(make(63, 100, 100), Err(SetupError::LimitOutOfRange { limit: 63 }));
    assert_eq!(make(65_520, 100, 100), Err(SetupError::LimitOutOfRange { limit: 65_520 }));
    assert_eq!(make(64, 81, 100), Err(SetupError::RxBufferTooSmall { len: 81, need: 82 }));
    assert_eq!(make(64, 82, 51), Err(SetupError::TxBufferTooSmall { len: 51, need: 52 }));
    assert_eq!(make(64, 82, 52), Ok(()));
}

const CACOPHONY: &str = include_str!("../../tests/vectors/secure-cacophony.txt");

fn cacophony(label: &str) -> Vec<u8> {
    let line = CACOPHONY.lines().find(|l| l.starts_with(&format!("{label} = "))).unwrap();
    unhex(line.rsplit(' ').next().unwrap())
}

#[test]
fn the_noise_state_machine_reproduces_the_cacophony_vector() {
    let psk = array(&cacophony("psk"));
    let prologue = cacophony("prologue");
    let mut init = handshake::HandshakeState::new(
        Role::Initiator,
        &psk,
        &[&prologue],
        array(&cacophony("init_ephemeral")),
    );
    let mut resp = handshake::HandshakeState::new(
        Role::Responder,
        &psk,
        &[&prologue[..4], &prologue[4..]],
        array(&cacophony("resp_ephemeral")),
    );
    let mut buf = [0u8; 200];

    let payload = cacophony("payload 0");
    let n = init.write_message_1(&payload, &mut buf).unwrap();
    assert_eq!(buf[..n], cacophony("ciphertext 0"));
    let range = resp.read_message_1(&mut buf[..n]).unwrap();
    assert_eq!(buf[range], payload);

    let payload = cacophony("payload 1");
    let n = resp.write_message_2(&payload, &mut buf).unwrap();
    assert_eq!(buf[..n], cacophony("ciphertext 1"));
    let range = init.read_message_2(&mut buf[..n]).unwrap();
    assert_eq!(buf[range], payload);

    assert_eq!(init.handshake_hash().as_slice(), cacophony("handshake_hash"));
    assert_eq!(resp.handshake_hash().as_slice(), cacophony("handshake_hash"));
    let (mut init, mut resp) = (init.split(), resp.split());
    for i in 2..6 {
        let payload = cacophony(&format!("payload {i}"));
        let (from, to) = if i % 2 == 0 { (&mut init, &mut resp) } else { (&mut resp, &mut init) };
        let n = record::seal(&mut from.send, &payload, &mut buf).unwrap();
        assert_eq!(usize::from(u16::from_be_bytes([buf[0], buf[1]])), n - 2);
        assert_eq!(buf[2..n], cacophony(&format!("ciphertext {i}")), "message {i}");
        let len = record::open(&mut to.recv, &mut buf[2..n]).unwrap();
        assert_eq!(buf[2..2 + len], payload);
    }
}

#[test]
fn the_inner_machine_errors_come_out_as_inner_errors() {
    // The sender announces 10 bytes, then sends 11: the receiver inside the channel refuses
    // the extra byte, and the channel reports the receiver's own error.
    let mut bi = Bufs::new(1000, 2000);
    let mut init = bytes_channel(Role::Initiator, KEY, b"file", 1000, EPH_I, &mut bi, b"");
    let mut br = Bufs::new(1000, 2000);
    let mut resp = file_responder(&mut br);
    resp.handle_input(&drain(&mut init)).unwrap();
    feed(&mut init, &drain(&mut resp)).unwrap();
    let header = FileHeader { filename: "a", filepath: "", filesize: 10 };
    let mut sender = FileSender::new(FrameConfig::seed(), &header).unwrap();
    let mut plaintext = drain(&mut sender);
    plaintext.extend_from_slice(&[9; 11]);
    assert_eq!(init.write_plaintext(&plaintext), Ok(plaintext.len()));
    let wire = drain(&mut init);
    let mut input = &wire[..];
    let err = loop {
        match resp.handle_input(input) {
            Ok(step) => input = &input[step.consumed..],
            Err(e) => break e,
        }
    };
    assert_eq!(err, ChannelError::Inner(TransferError::ExtraData { len: 1 }));
}

#[test]
fn a_receive_nonce_at_the_reserved_value_ends_the_channel() {
    let (mut bi, mut br) = (Bufs::new(1000, 2000), Bufs::new(1000, 2000));
    let (mut init, mut resp) = established(&mut bi, &mut br, b"", b"");
    drain(&mut init);
    // The peer's counter and ours agree on u64::MAX - 1, the last usable nonce.
    init.set_send_nonce(u64::MAX - 1);
    resp.set_recv_nonce(u64::MAX - 1);
    init.write_plaintext(b"last").unwrap();
    let events = feed(&mut resp, &drain(&mut init)).unwrap();
    assert!(events.contains(&ChannelEvent::Inner(b"last".to_vec())));
    // Whatever comes next would need nonce 2^64 - 1, which Noise reserves.
    let next = [&[0u8, 17][..], &[0; 17]].concat();
    assert_eq!(secure_err(feed(&mut resp, &next)), SecureError::NonceExhausted);
}

/// A handler that keeps a reply of its own, for `write_handler_plaintext`.
struct Keeps {
    reply: Vec<u8>,
    seen: usize,
}
impl InnerHandler<Bytes> for Keeps {
    type Output = ();
    fn on_inner_event(&mut self, _: &mut Bytes, chunk: &[u8]) -> Option<()> {
        self.seen += chunk.len();
        None
    }
}

#[test]
fn the_handler_is_reachable_and_its_bytes_are_sealed_from_where_they_are() {
    let psk = Psk::derive(KEY).unwrap();
    let (mut bi, mut br) = (Bufs::new(1000, 2000), Bufs::new(1000, 60));
    let mut init = bytes_channel(Role::Initiator, KEY, b"tcp", 1000, EPH_I, &mut bi, b"ping");
    let keeps = Keeps { reply: b"a reply longer than one small record".to_vec(), seen: 0 };
    let config = config(Role::Responder, b"tcp", 1000);
    let mut resp =
        SecureChannel::new(&config, &psk, EPH_R, br.buffers(), Bytes::default(), keeps).unwrap();
    // Not established yet: nothing can be sealed.
    assert_eq!(resp.write_handler_plaintext(|h| &h.reply), Ok(0));
    resp.handle_input(&drain(&mut init)).unwrap();
    init.handle_input(&drain(&mut resp)).unwrap();
    let mut wire = Vec::new();
    // A 60-byte send buffer holds 42 plaintext bytes per record: two rounds for 36 + 0.
    let mut sent = 0;
    while sent < resp.handler().reply.len() {
        let n = resp.write_handler_plaintext(|h| &h.reply[sent..]).unwrap();
        assert!(n > 0, "the buffer was drained, so a record fits");
        sent += n;
        wire.extend(drain(&mut resp));
    }
    let events = feed(&mut init, &wire).unwrap();
    let got: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            ChannelEvent::Inner(c) => Some(c.clone()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .concat();
    assert_eq!(got, b"a reply longer than one small record");
    // The initiator's "ping" reaches the responder's handler once it is authenticated.
    resp.handle_input(&drain(&mut init)).unwrap();
    feed_all(&mut resp);
    assert_eq!(resp.handler().seen, 4);
    resp.handler_mut().seen = 0;
    resp.close();
    assert_eq!(resp.write_handler_plaintext(|h| &h.reply), Err(SecureError::AlreadyClosed));
    let (inner, handler, buffers) = resp.into_parts();
    assert_eq!((inner.sent, handler.seen), (0, 0));
    // Handed back for the next connection, with nothing of this one left in them.
    assert_eq!((buffers.rx.len(), buffers.tx.len()), (rx_buf_len(1000), 60));
    assert!(buffers.rx.iter().chain(buffers.tx.iter()).all(|&b| b == 0));
}

/// Call with no input until the channel has nothing more to say.
fn feed_all<M: Machine, H: InnerHandler<M>>(m: &mut SecureChannel<'_, M, H>)
where
    M::Error: 'static,
{
    while m.handle_input(&[]).unwrap().event.is_some() {}
}

#[test]
fn plaintext_that_waited_for_a_busy_inner_machine_needs_the_drivers_wake() {
    use crate::command::{Agent, AgentEvent, Mode};
    use crate::drive::{Action, Driver, Input};

    let psk = Psk::derive(KEY).unwrap();
    let (mut bi, mut br) = (Bufs::new(1000, 2000), Bufs::new(1000, 2000));
    let mut init = bytes_channel(Role::Initiator, KEY, b"exec", 1000, EPH_I, &mut bi, b"");
    let handler = on_event(|_: &mut Agent, event: AgentEvent<'_>| match event {
        AgentEvent::Command(c) => Some(c.to_vec()),
        AgentEvent::Quit | AgentEvent::Closed => None,
    });
    let config = config(Role::Responder, b"exec", 1000);
    let agent: Agent = Agent::new(Mode::seed_framed());
    let mut resp = SecureChannel::new(&config, &psk, EPH_R, br.buffers(), agent, handler).unwrap();
    resp.handle_input(&drain(&mut init)).unwrap();
    init.handle_input(&drain(&mut resp)).unwrap();
    // Two commands, one record each, arrive together.
    assert_eq!(init.write_plaintext(b"one"), Ok(3));
    let mut wire = drain(&mut init);
    assert_eq!(init.write_plaintext(b"two"), Ok(3));
    wire.extend(drain(&mut init));

    let mut driver = Driver::new();
    let mut at = 0;
    let mut commands = Vec::new();
    // Drive until the driver rests: the first command comes, the second record is taken
    // into the channel while the agent owes its reply.
    loop {
        let step = driver.step(&mut resp, Input::new(&wire[at..])).unwrap();
        at += step.consumed;
        match step.action {
            Action::Event(ChannelEvent::Inner(c)) => commands.push(c),
            Action::Event(_) => {}
            Action::NeedInput => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((commands.as_slice(), at), (&[b"one".to_vec()][..], wire.len()));
    resp.with_inner(|agent| agent.begin_reply(0)).unwrap();
    let reply = driver.poll_transmit(&mut resp).map(|t| {
        let n = t.bytes().len();
        t.sent(n);
        n
    });
    assert_eq!(reply, Some(record_len(4)), "the reply's prefix, sealed");
    // Every byte of the wire is consumed: without a wake the driver has nothing to feed.
    assert!(matches!(driver.step(&mut resp, Input::new(&[])).unwrap().action, Action::NeedInput));
    driver.wake();
    match driver.step(&mut resp, Input::new(&[])).unwrap().action {
        Action::Event(ChannelEvent::Inner(c)) => assert_eq!(c, b"two"),
        other => panic!("expected the second command, got {other:?}"),
    }
}
