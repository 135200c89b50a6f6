#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

//! Tests of the service: codec against the Python vectors, machines through the channel.

use std::vec::Vec;

use super::*;

fn enc(m: &Message<'_>) -> Vec<u8> {
    let mut buf = [0u8; 5000];
    let n = encode(m, &mut buf).unwrap();
    buf[..n].to_vec()
}

#[test]
fn ping_and_stat_bytes_match_the_doc() {
    assert_eq!(enc(&Message::Ping { id: 7 }), [0, 5, 0xa2, 0, 0, 1, 7]);
    let stat = enc(&Message::Stat { id: 1, path: "a.txt" });
    assert_eq!(stat, [0, 12, 0xa3, 0, 2, 1, 1, 2, 0x65, b'a', b'.', b't', b'x', b't']);
    assert_eq!(decode(&stat[2..]).unwrap(), Message::Stat { id: 1, path: "a.txt" });
}

const VECTORS: &str = include_str!("../../tests/vectors/service.txt");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// `(valid?, name, bytes)` of every vector line.
fn vectors() -> Vec<(bool, &'static str, Vec<u8>)> {
    VECTORS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut parts = l.split(' ');
            let valid = parts.next().unwrap() == "valid";
            let name = parts.next().unwrap();
            (valid, name, unhex(parts.next().unwrap()))
        })
        .collect()
}

#[test]
fn python_vectors_decode_and_reencode_byte_identically() {
    let mut valid = 0;
    for (ok, name, bytes) in vectors().into_iter().filter(|v| v.0) {
        assert!(ok);
        let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        assert_eq!(len, bytes.len() - 2, "{name}");
        let message = decode(&bytes[2..]).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(enc(&message), bytes, "{name}: {message:?}");
        valid += 1;
    }
    assert_eq!(valid, 49);
}

#[test]
fn python_invalid_vectors_are_refused() {
    use DecodeError::*;
    let expect = |name: &str| match name {
        "not_a_map" | "text_key" | "cut_short" | "bad_utf8" | "wrong_type" => Malformed,
        "empty_map" | "type_not_first" => TypeNotFirst,
        "unknown_type" => UnknownType { ty: 23 },
        "huge_type" => UnknownType { ty: 1 << 40 },
        "missing_id" | "missing_field" => MissingField,
        "negative_id" | "float_id" | "tagged_id" => Unsupported,
        "id_too_big" | "short_digest" | "stream_too_big" | "too_many_args" => InvalidValue,
        "trailing_byte" => TrailingBytes { extra: 1 },
        "duplicate_key" => DuplicateField,
        "indefinite_map" | "indefinite_text" => Indefinite,
        other => panic!("no expectation for {other}"),
    };
    let mut invalid = 0;
    for (_, name, bytes) in vectors().into_iter().filter(|v| !v.0) {
        assert_eq!(decode(&bytes), Err(expect(name)), "{name}");
        invalid += 1;
    }
    assert_eq!(invalid, 22);
}

// ---- the machines, through the secure channel on the pair harness ----

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::format;
use std::string::{String, ToString};
use std::vec;

use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::pair::{self, Options, Sizes};
use crate::secure::{
    rx_buf_len, Buffers, ChannelEvent, Config, InnerHandler, Psk, Role, SecureChannel,
};
use crate::Machine;
use mem::{MemCommands, MemStorage};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

/// A request of a test script (owned; ids are given in order from 1).
#[derive(Debug, Clone)]
enum Req {
    Ping,
    Stat(&'static str),
    List(&'static str),
    Remove(&'static str),
    Mkdir(&'static str),
    Put {
        path: &'static str,
        data: Vec<u8>,
        offset: u64,
        bad_digest: bool,
        stop_at: Option<u64>,
    },
    Get {
        path: &'static str,
        offset: u64,
        window: u64,
    },
    Exec {
        argv: Vec<&'static str>,
        window: u64,
    },
    /// Cancel the request with this id once its first answer came.
    CancelAfterFirst(u32),
}

fn put(path: &'static str, data: &[u8]) -> Req {
    Req::Put { path, data: data.to_vec(), offset: 0, bad_digest: false, stop_at: None }
}

/// What the client saw, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Msg(String),
    Data(Vec<u8>),
    Output(u8, Vec<u8>),
}

#[derive(Debug, Default)]
struct Upload {
    data: Vec<u8>,
    digest: [u8; 32],
    pos: u64,
    ready: bool,
    ended: bool,
    stop_at: Option<u64>,
}

/// The client's application: sends the script (at most the allowed number waiting), streams
/// uploads within the window, follows list cursors, finishes once every answer is in.
#[derive(Debug, Default)]
struct App {
    script: VecDeque<(u32, Req)>,
    next_id: u32,
    open: BTreeSet<u32>,
    uploads: BTreeMap<u32, Upload>,
    cancels: BTreeMap<u32, u32>,
    /// Every message, by id, in arrival order.
    log: BTreeMap<u32, Vec<Got>>,
    /// Every message id in arrival order (the interleaving).
    order: Vec<u32>,
    /// File bytes sent, per upload.
    sent: BTreeMap<u32, u64>,
    finished: bool,
}

impl App {
    fn new(script: Vec<Req>) -> Self {
        let mut app = App::default();
        for req in script {
            app.push(req);
        }
        app
    }

    fn push(&mut self, req: Req) {
        self.next_id += 1;
        self.script.push_back((self.next_id, req));
    }

    fn send_script(&mut self, client: &mut ServiceClient<'_>) {
        while let Some((id, req)) = self.script.front().cloned() {
            let argv: Argv<'_>;
            let message = match &req {
                Req::Ping => Message::Ping { id },
                Req::Stat(path) => Message::Stat { id, path },
                Req::List(path) => Message::List { id, path, cursor: 0 },
                Req::Remove(path) => Message::Remove { id, path },
                Req::Mkdir(path) => Message::Mkdir { id, path },
                Req::Put { path, data, offset, .. } => {
                    Message::Put { id, path, size: data.len() as u64, offset: *offset }
                }
                Req::Get { path, offset, window } => {
                    Message::Get { id, path, offset: *offset, window: *window }
                }
                Req::Exec { argv: args, window } => {
                    argv = args.iter().copied().collect();
                    Message::Exec { id, argv: argv.clone(), timeout_ms: 0, window: *window }
                }
                Req::CancelAfterFirst(target) => {
                    self.cancels.insert(*target, id);
                    self.script.pop_front();
                    continue;
                }
            };
            match client.request(&message) {
                Ok(()) => {}
                Err(RequestError::Full | RequestError::TooManyWaiting) => return,
                Err(e) => panic!("{e:?}"),
            }
            self.script.pop_front();
            self.open.insert(id);
            if let Req::Put { data, bad_digest, stop_at, .. } = req {
                let mut digest: [u8; 32] = Sha256::digest(&data).into();
                if bad_digest {
                    digest[0] ^= 1;
                }
                self.uploads.insert(id, Upload { data, digest, stop_at, ..Upload::default() });
            }
        }
    }

    fn pump(&mut self, client: &mut ServiceClient<'_>) {
        for (&id, up) in self.uploads.iter_mut().filter(|(_, u)| u.ready && !u.ended) {
            let stop = up.stop_at.unwrap_or(u64::MAX).min(up.data.len() as u64);
            while up.pos < stop {
                let n = client.send_data(id, up.pos, &up.data[up.pos as usize..stop as usize]);
                if n == 0 {
                    break;
                }
                up.pos += n as u64;
                *self.sent.entry(id).or_default() += n as u64;
            }
            if up.pos == up.data.len() as u64
                && client.request(&Message::End { id, sha256: Digest(up.digest) }).is_ok()
            {
                up.ended = true;
            }
        }
        self.send_script(client);
        let stalled = self.uploads.values().any(|u| u.stop_at.is_some_and(|s| u.pos >= s));
        if self.script.is_empty() && (self.open.is_empty() || stalled) && !self.finished {
            self.finished = true;
            client.finish();
        }
    }

    fn on_message(&mut self, client: &mut ServiceClient<'_>) {
        let message = client.message().expect("a message");
        let id = message.id();
        let got = match &message {
            Message::Data { bytes, .. } => Got::Data(bytes.0.to_vec()),
            Message::Output { stream, bytes, .. } => Got::Output(*stream, bytes.0.to_vec()),
            other => Got::Msg(format!("{other:?}")),
        };
        let (ready, follow) = match message {
            Message::PutReady { offset, .. } => (Some(offset), None),
            Message::ListEnd { next, .. } => (None, next),
            _ => (None, None),
        };
        let last = message.is_final();
        drop(message);
        self.order.push(id);
        self.log.entry(id).or_default().push(got);
        if let Some(offset) = ready {
            let up = self.uploads.get_mut(&id).expect("an upload");
            up.pos = offset;
            up.ready = true;
        }
        if self.cancels.remove(&id).is_some() && !last {
            client.request(&Message::Cancel { id }).unwrap();
        }
        if last {
            self.open.remove(&id);
            self.uploads.remove(&id);
        }
        if let Some(cursor) = follow {
            // The next page, under the same id (the previous request ended).
            client.request(&Message::List { id, path: "many", cursor }).unwrap();
            self.open.insert(id);
        }
    }
}

impl InnerHandler<ServiceClient<'_>> for App {
    type Output = ();
    fn on_inner_event(&mut self, client: &mut ServiceClient<'_>, event: ClientEvent) -> Option<()> {
        if event == ClientEvent::Message {
            self.on_message(client);
        }
        self.pump(client);
        None
    }
}

#[derive(Debug, Default)]
struct ServerLog(Vec<ServerEvent>);

impl<S: Storage, C: Commands> InnerHandler<ServiceServer<'_, S, C>> for ServerLog {
    type Output = ();
    fn on_inner_event(
        &mut self,
        _: &mut ServiceServer<'_, S, C>,
        event: ServerEvent,
    ) -> Option<()> {
        self.0.push(event);
        None
    }
}

/// One connection's result.
#[derive(Debug)]
struct Session {
    app: App,
    server_events: Vec<ServerEvent>,
    storage: MemStorage,
    commands: MemCommands,
}

/// Run `script` against a server over `storage`, through the channel on the pair harness.
fn session(
    storage: MemStorage,
    script: Vec<Req>,
    window: u64,
    a_to_b: &mut dyn pair::Chunker,
    b_to_a: &mut dyn pair::Chunker,
) -> Session {
    let psk = Psk::derive(KEY).unwrap();
    let (client_limit, server_limit) = (65_519u16, 4078u16);
    let (mut crx, mut ctx) = (vec![0u8; CLIENT_RX_MIN], vec![0u8; CLIENT_TX_MIN]);
    let (mut srx, mut stx) = (vec![0u8; SERVER_RX_MIN], vec![0u8; SERVER_TX_MIN]);
    let (mut a_rx, mut a_tx) = (vec![0u8; rx_buf_len(client_limit)], vec![0u8; 8192]);
    let (mut b_rx, mut b_tx) = (vec![0u8; rx_buf_len(server_limit)], vec![0u8; 8192]);
    let mut client = ServiceClient::new(&mut crx, &mut ctx).unwrap();
    let mut app = App::new(script);
    app.send_script(&mut client);
    let config = |role, max_plaintext| Config { role, service: SERVICE, max_plaintext };
    let mut a = SecureChannel::new(
        &config(Role::Initiator, client_limit),
        &psk,
        [0x11; 32],
        Buffers { rx: &mut a_rx, tx: &mut a_tx },
        client,
        app,
    )
    .unwrap();
    let server =
        ServiceServer::new(storage, MemCommands::default(), &mut srx, &mut stx, window).unwrap();
    let mut b = SecureChannel::new(
        &config(Role::Responder, server_limit),
        &psk,
        [0x22; 32],
        Buffers { rx: &mut b_rx, tx: &mut b_tx },
        server,
        ServerLog::default(),
    )
    .unwrap();
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
        },
        |ep, event| {
            if event == ChannelEvent::InnerDone {
                ep.machine().close();
            }
        },
    );
    assert_eq!(t.a_error, None);
    assert_eq!(t.b_error, None);
    assert!(a.is_done() && b.is_done(), "client {:?}", a.handler().open);
    let (_, app, _) = a.into_parts();
    let (server, log, _) = b.into_parts();
    let (storage, commands) = server.into_parts();
    Session { app, server_events: log.0, storage, commands }
}

fn run(storage: MemStorage, script: Vec<Req>) -> Session {
    session(storage, script, 16_384, &mut pair::whole, &mut pair::whole)
}

fn body(len: usize) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn sha(data: &[u8]) -> Digest {
    Digest(Sha256::digest(data).into())
}

/// Every message of request `id`, data and output merged.
fn merged(log: &[Got]) -> Vec<Got> {
    let mut out: Vec<Got> = Vec::new();
    for got in log {
        match (got, out.last_mut()) {
            (Got::Data(b), Some(Got::Data(prev))) => prev.extend_from_slice(b),
            (Got::Output(s, b), Some(Got::Output(ps, prev))) if s == ps => {
                prev.extend_from_slice(b)
            }
            _ => out.push(got.clone()),
        }
    }
    out
}

fn msg(m: Message<'_>) -> Got {
    Got::Msg(format!("{m:?}"))
}

#[test]
fn put_then_get_returns_the_bytes_and_the_receipt() {
    let data = body(100_000);
    let s = run(MemStorage::new(), vec![put("fw.bin", &data)]);
    assert_eq!(s.storage.files["fw.bin"], data);
    assert!(s.storage.partials.is_empty());
    let log = &s.app.log[&1];
    assert_eq!(log[0], msg(Message::PutReady { id: 1, offset: 0, window: 16_384 }));
    assert_eq!(
        log.last().unwrap(),
        &msg(Message::PutDone { id: 1, size: 100_000, sha256: sha(&data) })
    );
    assert_eq!(
        s.server_events,
        [ServerEvent::Committed { id: 1, size: 100_000 }, ServerEvent::Closed]
    );

    let s = run(s.storage, vec![Req::Get { path: "fw.bin", offset: 0, window: 8000 }]);
    assert_eq!(
        merged(&s.app.log[&1]),
        [
            msg(Message::GetReady { id: 1, size: 100_000, offset: 0 }),
            Got::Data(data.clone()),
            msg(Message::End { id: 1, sha256: sha(&data) }),
        ]
    );
    // A get from an offset gets the rest, and the whole file's digest.
    let s = run(s.storage, vec![Req::Get { path: "fw.bin", offset: 99_000, window: 100 }]);
    assert_eq!(
        merged(&s.app.log[&1]),
        [
            msg(Message::GetReady { id: 1, size: 100_000, offset: 99_000 }),
            Got::Data(data[99_000..].to_vec()),
            msg(Message::End { id: 1, sha256: sha(&data) }),
        ]
    );
}

#[test]
fn an_interrupted_put_resumes_where_it_stopped_and_sends_only_the_rest() {
    let data = body(50_000);
    let cut = Req::Put {
        path: "fw.bin",
        data: data.clone(),
        offset: 0,
        bad_digest: false,
        stop_at: Some(20_000),
    };
    let s = run(MemStorage::new(), vec![cut]);
    assert!(!s.storage.files.contains_key("fw.bin"), "never under its final name");
    let kept = s.storage.partials["fw.bin"].len() as u64;
    assert_eq!(kept, 20_000);

    let s = run(s.storage, vec![Req::Stat("fw.bin")]);
    assert_eq!(s.app.log[&1], [msg(Message::StatReply { id: 1, kind: 0, size: 0, partial: kept })]);

    let resume = Req::Put {
        path: "fw.bin",
        data: data.clone(),
        offset: kept,
        bad_digest: false,
        stop_at: None,
    };
    let s = run(s.storage, vec![resume]);
    // Only the rest crosses the wire.
    assert_eq!(s.app.sent[&1], 30_000);
    assert_eq!(s.app.log[&1][0], msg(Message::PutReady { id: 1, offset: kept, window: 16_384 }));
    assert_eq!(
        s.app.log[&1].last().unwrap(),
        &msg(Message::PutDone { id: 1, size: 50_000, sha256: sha(&data) })
    );
    assert_eq!(s.storage.files["fw.bin"], data);
    assert!(s.storage.partials.is_empty());
}

#[test]
fn a_resume_offset_beyond_what_is_kept_continues_from_what_is_kept() {
    let data = body(10_000);
    let mut storage = MemStorage::new();
    storage.partials.insert("f".to_string(), data[..3000].to_vec());
    let req =
        Req::Put { path: "f", data: data.clone(), offset: 9000, bad_digest: false, stop_at: None };
    let s = run(storage, vec![req]);
    assert_eq!(s.app.log[&1][0], msg(Message::PutReady { id: 1, offset: 3000, window: 16_384 }));
    assert_eq!(s.storage.files["f"], data);
}

#[test]
fn a_digest_mismatch_commits_nothing_and_keeps_nothing() {
    let data = body(5000);
    let mut storage = MemStorage::new();
    storage.files.insert("f".to_string(), b"old".to_vec());
    let req = Req::Put { path: "f", data, offset: 0, bad_digest: true, stop_at: None };
    let s = run(storage, vec![req]);
    assert_eq!(
        s.app.log[&1].last().unwrap(),
        &msg(Message::Error { id: 1, code: ErrorCode::DigestMismatch as u32 })
    );
    assert_eq!(s.storage.files["f"], b"old", "the old file stays");
    assert!(s.storage.partials.is_empty());
    assert!(s.storage.commits.is_empty());
    assert_eq!(s.server_events, [ServerEvent::Closed]);
}

#[test]
fn stat_remove_mkdir_and_their_errors() {
    let mut storage = MemStorage::new();
    storage.files.insert("a.txt".to_string(), b"hello\n".to_vec());
    let s = run(
        storage,
        vec![
            Req::Stat("a.txt"),
            Req::Stat("nope"),
            Req::Stat("../etc/passwd"),
            Req::Mkdir("logs"),
            Req::Mkdir("logs"),
            Req::Stat("logs"),
            Req::Mkdir("x/y"),
            Req::Remove("a.txt"),
            Req::Remove("a.txt"),
            Req::Ping,
        ],
    );
    let code = |c: ErrorCode| c as u32;
    let expect = [
        Message::StatReply { id: 1, kind: 1, size: 6, partial: 0 },
        Message::Error { id: 2, code: code(ErrorCode::NotFound) },
        Message::Error { id: 3, code: code(ErrorCode::InvalidPath) },
        Message::Done { id: 4 },
        Message::Error { id: 5, code: code(ErrorCode::Exists) },
        Message::StatReply { id: 6, kind: 2, size: 0, partial: 0 },
        Message::Error { id: 7, code: code(ErrorCode::NotFound) },
        Message::Done { id: 8 },
        Message::Error { id: 9, code: code(ErrorCode::NotFound) },
        Message::Pong { id: 10 },
    ];
    for (i, m) in expect.into_iter().enumerate() {
        assert_eq!(s.app.log[&(i as u32 + 1)], [msg(m)], "request {}", i + 1);
    }
    // Answered in order.
    assert_eq!(s.app.order, (1..=10).collect::<Vec<_>>());
    assert!(!s.storage.files.contains_key("a.txt"));
    assert!(s.storage.dirs.contains("logs"));
}

#[test]
fn list_pages_of_32_with_a_cursor() {
    let mut storage = MemStorage::new();
    storage.dirs.insert("many".to_string());
    for i in 0..40 {
        storage.files.insert(format!("many/f{i:02}"), vec![0; i]);
    }
    storage.dirs.insert("many/sub".to_string());
    let s = run(storage, vec![Req::List("many")]);
    let log = &s.app.log[&1];
    let entries: Vec<&Got> =
        log.iter().filter(|g| matches!(g, Got::Msg(m) if m.starts_with("Entry"))).collect();
    assert_eq!(entries.len(), 41);
    assert_eq!(entries[0], &msg(Message::Entry { id: 1, name: "f00", kind: 1, size: 0 }));
    assert_eq!(entries[40], &msg(Message::Entry { id: 1, name: "sub", kind: 2, size: 0 }));
    assert_eq!(log[32], msg(Message::ListEnd { id: 1, next: Some(32) }));
    assert_eq!(log.last().unwrap(), &msg(Message::ListEnd { id: 1, next: None }));
    assert_eq!(log.len(), 41 + 2);
}

/// One command on its own connection: what its id saw.
fn exec1(argv: Vec<&'static str>, window: u64) -> Vec<Got> {
    let s = run(MemStorage::new(), vec![Req::Exec { argv, window }]);
    s.app.log[&1].clone()
}

#[test]
fn exec_streams_output_in_order_and_reports_how_it_ended() {
    let exit = |kind, code| msg(Message::Exit { id: 1, kind, code });
    assert_eq!(
        exec1(vec!["echo", "hi", "there"], 4096),
        [Got::Output(1, b"hi there\n".to_vec()), exit(0, 0)]
    );
    assert_eq!(exec1(vec!["fail", "3"], 4096), [Got::Output(2, b"failed\n".to_vec()), exit(0, 3)]);
    assert_eq!(exec1(vec!["kill", "9"], 4096), [exit(1, 9)]);
    assert_eq!(exec1(vec!["hang"], 4096), [exit(2, 0)]);
    assert_eq!(
        exec1(vec!["nope"], 4096),
        [msg(Message::Error { id: 1, code: ErrorCode::NotFound as u32 })]
    );
    // A device runs one command at a time: the second, pipelined behind, is busy.
    let s = run(
        MemStorage::new(),
        vec![
            Req::Exec { argv: vec!["echo"], window: 10 },
            Req::Exec { argv: vec!["echo"], window: 10 },
        ],
    );
    assert_eq!(s.app.log[&2], [msg(Message::Error { id: 2, code: ErrorCode::Busy as u32 })]);
    assert_eq!(s.app.log[&1].last().unwrap(), &msg(Message::Exit { id: 1, kind: 0, code: 0 }));
    // 5000 bytes in 700-byte pieces alternating stdout/stderr, each piece within a window
    // of 1000 granted back as it is received.
    let log = exec1(vec!["spew", "5000"], 1000);
    let spew = merged(&log);
    let all: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let expected: Vec<Got> = all
        .chunks(700)
        .enumerate()
        .map(|(i, c)| Got::Output(if i % 2 == 0 { 1 } else { 2 }, c.to_vec()))
        .chain([exit(0, 0)])
        .collect();
    assert_eq!(spew, expected);
    assert!(log.iter().all(|g| !matches!(g, Got::Output(_, b) if b.len() > 1000)));
}

#[test]
fn exec_is_denied_by_a_server_without_commands() {
    let mut rx = vec![0u8; SERVER_RX_MIN];
    let mut tx = vec![0u8; SERVER_TX_MIN];
    let mut server =
        ServiceServer::new(MemStorage::new(), NoCommands, &mut rx, &mut tx, 1024).unwrap();
    let mut argv = Argv::new();
    argv.push("ls").unwrap();
    let mut wire = [0u8; 64];
    let n = encode(&Message::Exec { id: 1, argv, timeout_ms: 0, window: 10 }, &mut wire).unwrap();
    assert_eq!(server.handle_input(&wire[..n]).unwrap().consumed, n);
    let out = server.output_buf().to_vec();
    assert_eq!(
        decode(&out[2..]).unwrap(),
        Message::Error { id: 1, code: ErrorCode::Denied as u32 }
    );
}

#[test]
fn cancel_ends_a_stream_with_cancelled_and_keeps_a_partial_upload() {
    let data = body(200_000);
    let s = session(
        MemStorage::new(),
        vec![
            Req::Exec { argv: vec!["spew", "100000"], window: 700 },
            Req::CancelAfterFirst(1),
            put("big", &data),
            Req::CancelAfterFirst(3),
        ],
        4096,
        &mut pair::whole,
        &mut pair::whole,
    );
    assert_eq!(
        s.app.log[&1].last().unwrap(),
        &msg(Message::Error { id: 1, code: ErrorCode::Cancelled as u32 })
    );
    assert_eq!(s.commands.killed, ["spew"]);
    assert_eq!(
        s.app.log[&3].last().unwrap(),
        &msg(Message::Error { id: 3, code: ErrorCode::Cancelled as u32 })
    );
    assert!(!s.storage.files.contains_key("big"));
    assert!(s.storage.partials.contains_key("big"));
}

/// Everything at once on one connection.
fn mixed_script(data: &[u8]) -> Vec<Req> {
    vec![
        Req::Ping,
        Req::Mkdir("d"),
        put("d/up.bin", data),
        Req::Get { path: "src.bin", offset: 0, window: 5000 },
        Req::Stat("src.bin"),
        Req::Exec { argv: vec!["spew", "3000"], window: 800 },
        Req::List(""),
        Req::Ping,
        Req::Remove("gone"),
        Req::Ping,
    ]
}

fn mixed_storage(src: &[u8]) -> MemStorage {
    let mut storage = MemStorage::new();
    storage.files.insert("src.bin".to_string(), src.to_vec());
    storage.files.insert("gone".to_string(), vec![1]);
    storage
}

#[test]
fn many_requests_run_on_one_connection_and_streams_interleave() {
    let (data, src) = (body(30_000), body(20_000));
    let s = run(mixed_storage(&src), mixed_script(&data));
    assert_eq!(s.storage.files["d/up.bin"], data);
    assert_eq!(merged(&s.app.log[&4])[1], Got::Data(src.clone()));
    assert_eq!(s.app.log[&10], [msg(Message::Pong { id: 10 })]);
    // The short answers did not wait for the streams.
    let first_pong = s.app.order.iter().position(|id| *id == 8).unwrap();
    let last_data = s.app.order.iter().rposition(|id| *id == 4).unwrap();
    assert!(first_pong < last_data, "{:?}", s.app.order);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_split_of_the_byte_streams_gives_the_same_answers(
        data in proptest::collection::vec(any::<u8>(), 0..6000),
        src in proptest::collection::vec(any::<u8>(), 0..6000),
        a_sizes in proptest::collection::vec(1usize..400, 1..12),
        b_sizes in proptest::collection::vec(1usize..400, 1..12),
        window in 1u64..20_000,
    ) {
        let whole = session(mixed_storage(&src), mixed_script(&data), window, &mut pair::whole, &mut pair::whole);
        let split = session(
            mixed_storage(&src),
            mixed_script(&data),
            window,
            &mut Sizes::new(a_sizes),
            &mut Sizes::new(b_sizes),
        );
        let view = |s: &Session| s.app.log.iter().map(|(id, log)| (*id, merged(log))).collect::<Vec<_>>();
        prop_assert_eq!(view(&split), view(&whole));
        prop_assert_eq!(&split.storage, &whole.storage);
        prop_assert_eq!(&split.storage.files["d/up.bin"], &data);
    }
}

#[test]
fn chunks_are_encoded_in_place_exactly_as_the_codec_writes_them() {
    for n in [0usize, 1, 23, 24, 255, 256, 3072] {
        let bytes = body(n);
        let mut buf = vec![0u8; 8000];
        let mut out = queue::Out::new(&mut buf);
        let header = Message::Data { id: 70_000, offset: 1 << 40, bytes: Bytes(&[]) };
        let pushed = out
            .push_chunk(n, |space| {
                space[..n].copy_from_slice(&bytes);
                Ok::<_, ()>(Some((header.clone(), n)))
            })
            .unwrap()
            .unwrap();
        assert_eq!(pushed.1, &bytes[..]);
        let full = Message::Data { id: 70_000, offset: 1 << 40, bytes: Bytes(&bytes) };
        assert_eq!(out.pending(), enc(&full), "{n}");
    }
}

#[test]
fn oversize_and_zero_lengths_are_refused_before_buffering() {
    let mut rx = vec![0u8; SERVER_RX_MIN];
    let mut tx = vec![0u8; SERVER_TX_MIN];
    let mut server =
        ServiceServer::new(MemStorage::new(), NoCommands, &mut rx, &mut tx, 1024).unwrap();
    assert_eq!(server.handle_input(&[0x10, 0x01]), Err(ServerError::Oversize { len: 4097 }));
    assert!(server.is_done());
    let (mut crx, mut ctx) = (vec![0u8; CLIENT_RX_MIN], vec![0u8; CLIENT_TX_MIN]);
    let mut client = ServiceClient::new(&mut crx, &mut ctx).unwrap();
    assert_eq!(client.handle_input(&[0, 0]), Err(ClientError::Oversize { len: 0 }));
}

#[test]
fn data_beyond_the_window_and_a_reused_id_end_the_connection() {
    let mut rx = vec![0u8; SERVER_RX_MIN];
    let mut tx = vec![0u8; SERVER_TX_MIN];
    let mut server =
        ServiceServer::new(MemStorage::new(), NoCommands, &mut rx, &mut tx, 4).unwrap();
    let mut wire = Vec::new();
    wire.extend(enc(&Message::Put { id: 1, path: "f", size: 10, offset: 0 }));
    wire.extend(enc(&Message::Data { id: 1, offset: 0, bytes: Bytes(b"12345") }));
    assert_eq!(server.handle_input(&wire), Err(ServerError::FlowControl));
    assert!(server.storage().partials.contains_key("f"), "kept for a resume");

    let (mut rx, mut tx) = (vec![0u8; SERVER_RX_MIN], vec![0u8; SERVER_TX_MIN]);
    let mut server =
        ServiceServer::new(MemStorage::new(), NoCommands, &mut rx, &mut tx, 4).unwrap();
    let mut wire = Vec::new();
    wire.extend(enc(&Message::Put { id: 1, path: "f", size: 10, offset: 0 }));
    wire.extend(enc(&Message::Ping { id: 1 }));
    assert_eq!(server.handle_input(&wire), Err(ServerError::DuplicateId { id: 1 }));
    // A server-to-client message from the client.
    let (mut rx, mut tx) = (vec![0u8; SERVER_RX_MIN], vec![0u8; SERVER_TX_MIN]);
    let mut server =
        ServiceServer::new(MemStorage::new(), NoCommands, &mut rx, &mut tx, 4).unwrap();
    assert_eq!(
        server.handle_input(&enc(&Message::Pong { id: 3 })),
        Err(ServerError::Unexpected { id: 3 })
    );
}

#[test]
fn paths_follow_the_rules() {
    for bad in ["", "/a", "a/", "a//b", ".", "..", "a/../b", "a/./b", "a\0b"] {
        assert_eq!(check_path(bad, false), Err(ErrorCode::InvalidPath), "{bad:?}");
    }
    assert_eq!(check_path(&"a".repeat(256), false), Err(ErrorCode::InvalidPath));
    for good in ["a", "a/b.txt", "报告/😀.txt", "..a", &"a".repeat(255)] {
        assert_eq!(check_path(good, false), Ok(()), "{good:?}");
    }
    assert_eq!(check_path("", true), Ok(()));
}

#[test]
fn errors_display_and_codes_round_trip() {
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_wire(code as u32), Some(code));
    }
    assert_eq!(ErrorCode::from_wire(16), None);
    assert_eq!(ExitStatus::from_wire(0, 256), None);
    assert_eq!(ExitStatus::from_wire(1, 9), Some(ExitStatus::Signal(9)));
    assert_eq!(
        format!("{}", ServerError::Oversize { len: 5000 }),
        "message length 5000 outside 1..=4096"
    );
    let _ = ToString::to_string(&DecodeError::Malformed);
}

/// A bare server fed `messages` at once; every answer it queued, decoded, as text.
fn serve_bare(storage: MemStorage, messages: &[Message<'_>]) -> (Vec<String>, MemStorage) {
    let (mut rx, mut tx) = (vec![0u8; SERVER_RX_MIN], vec![0u8; SERVER_TX_MIN]);
    let mut server =
        ServiceServer::new(storage, MemCommands::default(), &mut rx, &mut tx, 1000).unwrap();
    let mut answers = Vec::new();
    let mut take = |server: &mut ServiceServer<'_, MemStorage, MemCommands>| {
        let out = server.output_buf().to_vec();
        server.consume_output(out.len());
        let mut rest = &out[..];
        while !rest.is_empty() {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            answers.push(format!("{:?}", decode(&rest[2..2 + len]).unwrap()));
            rest = &rest[2 + len..];
        }
    };
    for m in messages {
        let wire = enc(m);
        assert_eq!(server.handle_input(&wire).unwrap().consumed, wire.len());
        take(&mut server);
    }
    take(&mut server);
    (answers, server.into_parts().0)
}

fn error_text(id: u32, code: ErrorCode) -> String {
    format!("{:?}", Message::Error { id, code: code as u32 })
}

#[test]
fn put_and_get_refusals_answer_errors_and_the_connection_goes_on() {
    let mut storage = MemStorage::new();
    storage.dirs.insert("d".to_string());
    storage.files.insert("f".to_string(), b"abc".to_vec());
    let (answers, storage) = serve_bare(
        storage,
        &[
            Message::Put { id: 1, path: "d", size: 1, offset: 0 },
            Message::Get { id: 2, path: "d", offset: 0, window: 10 },
            Message::Get { id: 3, path: "nope", offset: 0, window: 10 },
            Message::Get { id: 4, path: "f", offset: 4, window: 10 },
            Message::List { id: 5, path: "f", cursor: 0 },
            Message::Put { id: 6, path: "x/y", size: 1, offset: 0 },
            Message::Put { id: 7, path: "g", size: 4, offset: 5 },
            // An `end` before `size` bytes keeps the partial; data past `size` is refused.
            Message::Put { id: 8, path: "g", size: 4, offset: 0 },
            Message::Put { id: 9, path: "h", size: 1, offset: 0 },
            Message::Data { id: 8, offset: 0, bytes: Bytes(b"ab") },
            Message::End { id: 8, sha256: sha(b"ab") },
            Message::Put { id: 10, path: "g", size: 1, offset: 0 },
            Message::Data { id: 10, offset: 0, bytes: Bytes(b"ab") },
            Message::Put { id: 11, path: "g", size: 3, offset: 0 },
            Message::Data { id: 11, offset: 1, bytes: Bytes(b"b") },
            // Data, end and credit for ids that are not open are ignored.
            Message::Data { id: 11, offset: 0, bytes: Bytes(b"a") },
            Message::End { id: 99, sha256: sha(b"") },
            Message::Credit { id: 98, bytes: 5 },
            Message::Cancel { id: 97 },
            Message::Ping { id: 12 },
        ],
    );
    let ready = |id, offset| format!("{:?}", Message::PutReady { id, offset, window: 1000 });
    assert_eq!(
        answers,
        [
            error_text(1, ErrorCode::IsADirectory),
            error_text(2, ErrorCode::IsADirectory),
            error_text(3, ErrorCode::NotFound),
            error_text(4, ErrorCode::BadOffset),
            error_text(5, ErrorCode::NotADirectory),
            error_text(6, ErrorCode::NotFound),
            error_text(7, ErrorCode::BadOffset),
            ready(8, 0),
            error_text(9, ErrorCode::Busy),
            format!("{:?}", Message::Credit { id: 8, bytes: 2 }),
            error_text(8, ErrorCode::SizeMismatch),
            ready(10, 0),
            error_text(10, ErrorCode::SizeMismatch),
            ready(11, 0),
            error_text(11, ErrorCode::BadOffset),
            format!("{:?}", Message::Pong { id: 12 }),
        ]
    );
    assert!(storage.commits.is_empty());
    assert_eq!(storage.files.len(), 1);
}

#[test]
fn a_full_store_answers_no_space() {
    let mut storage = MemStorage::new();
    storage.capacity = Some(10);
    let (answers, _) =
        serve_bare(storage, &[Message::Put { id: 1, path: "big", size: 11, offset: 0 }]);
    assert_eq!(answers, [error_text(1, ErrorCode::NoSpace)]);
}

#[test]
fn the_client_keeps_its_limits_and_refuses_what_it_must_not_send() {
    let (mut rx, mut tx) = (vec![0u8; CLIENT_RX_MIN], vec![0u8; CLIENT_TX_MIN]);
    let mut client = ServiceClient::new(&mut rx, &mut tx).unwrap();
    for id in 0..MAX_WAITING as u32 {
        client.request(&Message::Ping { id }).unwrap();
    }
    assert_eq!(client.request(&Message::Ping { id: 99 }), Err(RequestError::TooManyWaiting));
    // Credit and cancel have no answer of their own: not limited.
    client.request(&Message::Cancel { id: 3 }).unwrap();
    assert_eq!(client.request(&Message::Pong { id: 1 }), Err(RequestError::NotARequest));
    let data = Message::Data { id: 1, offset: 0, bytes: Bytes(b"x") };
    assert_eq!(client.request(&data), Err(RequestError::NotARequest));
    // No put_ready yet: no window, nothing sent.
    assert_eq!(client.send_data(1, 0, b"abc"), 0);
    // A put_ready opens a window; send_data keeps within it.
    let ready = enc(&Message::PutReady { id: 1, offset: 0, window: 5 });
    assert_eq!(client.handle_input(&ready).unwrap().event, Some(ClientEvent::Message));
    assert_eq!(client.message(), Some(Message::PutReady { id: 1, offset: 0, window: 5 }));
    assert_eq!(client.window(1), 5);
    assert_eq!(client.send_data(1, 0, b"abcdefgh"), 5);
    assert_eq!(client.send_data(1, 5, b"fgh"), 0);
    let credit = enc(&Message::Credit { id: 1, bytes: 3 });
    client.handle_input(&credit).unwrap();
    assert_eq!(client.send_data(1, 5, b"fgh"), 3);
    // Received data is granted back at once.
    let before = client.output_buf().len();
    let data = enc(&Message::Data { id: 2, offset: 0, bytes: Bytes(b"hello") });
    client.handle_input(&data).unwrap();
    let out = client.output_buf()[before..].to_vec();
    assert_eq!(out, enc(&Message::Credit { id: 2, bytes: 5 }));
    // A client message from the server ends the connection, and the error stays.
    let bad = enc(&Message::Ping { id: 1 });
    assert_eq!(client.handle_input(&bad), Err(ClientError::Unexpected { id: 1 }));
    assert_eq!(client.handle_input(&[]), Err(ClientError::Unexpected { id: 1 }));
    assert!(client.is_done());
}

#[test]
fn the_mixed_session_survives_bytewise_delivery_and_a_one_byte_window() {
    let (data, src) = (body(3000), body(2000));
    let s = session(
        mixed_storage(&src),
        mixed_script(&data),
        1,
        &mut pair::bytewise,
        &mut pair::bytewise,
    );
    assert_eq!(s.storage.files["d/up.bin"], data);
    assert_eq!(merged(&s.app.log[&4])[1], Got::Data(src));
}

/// Every message type with arbitrary field values (text of any Unicode, bytes up to the
/// chunk limit, integers across their range).
fn arb_message_parts() -> impl Strategy<Value = (u8, u32, [u64; 3], String, Vec<u8>, Vec<String>)> {
    (
        0u8..23,
        any::<u32>(),
        [any::<u64>(), any::<u64>(), any::<u64>()],
        "\\PC{0,40}",
        proptest::collection::vec(any::<u8>(), 0..MAX_DATA),
        proptest::collection::vec("\\PC{0,12}", 1..MAX_ARGS),
    )
}

fn build<'a>(
    ty: u8,
    id: u32,
    n: [u64; 3],
    text: &'a str,
    bytes: &'a [u8],
    args: &'a [String],
) -> Message<'a> {
    let [a, b, c] = n;
    let (small, code) = (a as u8, b as u32);
    match ty {
        0 => Message::Ping { id },
        1 => Message::Pong { id },
        2 => Message::Stat { id, path: text },
        3 => Message::StatReply { id, kind: small, size: b, partial: c },
        4 => Message::List { id, path: text, cursor: a },
        5 => Message::Entry { id, name: text, kind: small, size: b },
        6 => Message::ListEnd { id, next: (c % 2 == 0).then_some(a) },
        7 => Message::Remove { id, path: text },
        8 => Message::Mkdir { id, path: text },
        9 => Message::Done { id },
        10 => Message::Put { id, path: text, size: a, offset: b },
        11 => Message::PutReady { id, offset: a, window: b },
        12 => Message::Data { id, offset: a, bytes: Bytes(bytes) },
        13 => Message::End { id, sha256: sha(bytes) },
        14 => Message::PutDone { id, size: a, sha256: sha(bytes) },
        15 => Message::Get { id, path: text, offset: a, window: b },
        16 => Message::GetReady { id, size: a, offset: b },
        17 => Message::Credit { id, bytes: a },
        18 => Message::Exec {
            id,
            argv: args.iter().map(String::as_str).collect(),
            timeout_ms: a,
            window: b,
        },
        19 => Message::Output { id, stream: small, bytes: Bytes(bytes) },
        20 => Message::Exit { id, kind: small, code },
        21 => Message::Cancel { id },
        _ => Message::Error { id, code },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn every_message_round_trips_and_is_canonical(parts in arb_message_parts()) {
        let (ty, id, n, text, bytes, args) = parts;
        let message = build(ty, id, n, &text, &bytes, &args);
        let wire = enc(&message);
        prop_assert!(wire.len() <= 2 + MAX_MESSAGE);
        prop_assert_eq!(usize::from(u16::from_be_bytes([wire[0], wire[1]])), wire.len() - 2);
        // Map head, key 0, the type (one byte: < 24), key 1.
        prop_assert_eq!(&wire[3..6], &[0, ty, 1]);
        let decoded = decode(&wire[2..]).unwrap();
        prop_assert_eq!(&decoded, &message);
        let again = enc(&decoded);
        drop(decoded);
        prop_assert_eq!(again, wire);
    }
}
