//! `ServiceServer` (over the core's in-memory storage and command table) fed an arbitrary
//! client byte stream in arbitrary deliveries, through the core's driver.
//!
//! Properties:
//! * the machine contract (`wirekit_fuzz::drive`: consumed within the input, done after an
//!   error, the error replayed, no livelock);
//! * everything it sends is a sequence of whole, decodable server-to-client messages;
//! * a file appears under its final name only through a commit, each commit is answered by
//!   exactly one `put_done`, and that receipt's SHA-256 is the SHA-256 of the committed file;
//!   the files it was given and did not overwrite or remove stay as they were;
//! * chunking-invariant: the storage ends the same, and the same error (if any), for the
//!   whole stream and for the fuzzer's deliveries, unless the client broke flow control, the
//!   waiting limit or reused an id before its final answer (those depend on when credit,
//!   answers and the ends of `get`/`exec`/`list` streams went out, by design).
//!
//! Input: `[window] [k] [k chunk sizes] [client plaintext...]`; window bits 0-1: the upload
//! window granted, 0 / 1 / 100 / 16,384 bytes.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest as _, Sha256};
use wirekit_core::service::mem::{MemCommands, MemStorage};
use wirekit_core::service::{
    decode, Message, ServerError, ServerEvent, ServiceServer, SERVER_RX_MIN, SERVER_TX_MIN,
};
use wirekit_fuzz::{drive, Chunking};

fn seeded() -> MemStorage {
    let mut storage = MemStorage::new();
    storage.files.insert("a".into(), (0..100u8).collect());
    storage.dirs.insert("d".into());
    storage.files.insert("d/b".into(), b"hello\n".to_vec());
    storage.partials.insert("p".into(), vec![7; 50]);
    storage
}

struct Outcome {
    storage: MemStorage,
    error: Option<ServerError>,
    events: Vec<ServerEvent>,
    sent: Vec<u8>,
}

fn serve(stream: &[u8], chunking: &Chunking, window: u64) -> Outcome {
    let (mut rx, mut tx) = (vec![0u8; SERVER_RX_MIN], vec![0u8; SERVER_TX_MIN]);
    let mut server =
        ServiceServer::new(seeded(), MemCommands::default(), &mut rx, &mut tx, window).unwrap();
    let run = drive(&mut server, stream, chunking, |_, event| event);
    let (storage, _) = server.into_parts();
    Outcome { storage, error: run.error, events: run.records, sent: run.sent }
}

fn check(out: &Outcome) {
    let mut rest = &out.sent[..];
    let mut receipts = Vec::new();
    while !rest.is_empty() {
        assert!(rest.len() >= 2, "a cut prefix");
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        assert!((1..=4096).contains(&len), "length {len}");
        let body = &rest[2..2 + len];
        let message = decode(body).expect("the server sends only messages that decode");
        assert!(
            !message.opens_request()
                && !matches!(message, Message::Cancel { .. } | Message::Put { .. }),
            "a client message from the server: {message:?}"
        );
        if let Message::PutDone { id, size, sha256 } = message {
            receipts.push((id, size, sha256.0));
        }
        rest = &rest[2 + len..];
    }
    // A commit whose receipt found no room (the client kept too many answers waiting)
    // ends the connection right after it: the file is committed, the receipt is not sent.
    let commits = out.storage.commits.len();
    let unanswered = usize::from(out.error == Some(ServerError::TooManyWaiting));
    let committed =
        out.events.iter().filter(|e| matches!(e, ServerEvent::Committed { .. })).count();
    assert!(committed <= commits && committed + unanswered >= commits, "events vs commits");
    assert!(receipts.len() <= commits && receipts.len() + unanswered >= commits, "receipts");
    let seeds = seeded();
    for (path, file) in &out.storage.files {
        let last = out.storage.commits.iter().rposition(|p| p == path);
        match last {
            Some(i) if i >= receipts.len() => {}
            Some(i) => {
                let (_, size, digest) = receipts[i];
                let now: [u8; 32] = Sha256::digest(file).into();
                // Committed and not replaced since: the receipt names these bytes.
                assert_eq!(file.len() as u64, size, "{path}: size differs from the receipt");
                assert_eq!(now, digest, "{path}: bytes differ from the receipt");
            }
            None => assert_eq!(seeds.files.get(path), Some(file), "{path} appeared uncommitted"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let window = match u.arbitrary::<u8>().unwrap_or(0) & 3 {
        0 => 0,
        1 => 1,
        2 => 100,
        _ => 16_384,
    };
    let chunking = Chunking::from_unstructured(&mut u);
    let stream = u.take_rest();
    let whole = serve(stream, &Chunking::whole(), window);
    let split = serve(stream, &chunking, window);
    check(&whole);
    check(&split);
    let timing = |e: &Option<ServerError>| {
        matches!(
            e,
            Some(
                ServerError::FlowControl
                    | ServerError::TooManyWaiting
                    | ServerError::DuplicateId { .. }
            )
        )
    };
    if !timing(&whole.error) && !timing(&split.error) {
        assert_eq!(whole.error, split.error, "the error depends on the deliveries");
        assert_eq!(whole.storage, split.storage, "the storage depends on the deliveries");
    }
});
