//! Properties of `FrameDecoder`, `FrameReader` and `encode_prefix`, shared by the three
//! frame targets.

use arbitrary::Unstructured;
use wirekit_core::frame::{
    EncodeError, FrameConfig, FrameDecoder, FrameError, FrameEvent, FrameReader,
};

use crate::{coalesce, drive, ref_frames, Chunking, RefEnd};

/// An owned decoder event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rec {
    /// `Start { len }`.
    Start(u64),
    /// `Data { chunk, remaining }`, the chunk as its range in the decoded bytes (no copy:
    /// byte-at-a-time runs make thousands of chunks).
    Data(core::ops::Range<usize>, u64),
    /// `End`.
    End,
}

fn merge(last: &mut Rec, next: &Rec) -> bool {
    match (last, next) {
        (Rec::Data(a, rem), Rec::Data(b, rem2)) => {
            assert_eq!(a.end, b.start, "data chunks not contiguous");
            a.end = b.end;
            *rem = *rem2;
            true
        }
        _ => false,
    }
}

/// Check that the event sequence is well formed and return the completed frames' payloads.
fn validate(cfg: &FrameConfig, bytes: &[u8], records: &[Rec]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut open: Option<(u64, Vec<u8>)> = None;
    for r in records {
        match r {
            Rec::Start(len) => {
                assert!(open.is_none(), "Start inside a frame");
                assert!(*len <= cfg.max_frame_len(), "Start beyond the limit");
                open = Some((*len, Vec::new()));
            }
            Rec::Data(range, remaining) => {
                let chunk = &bytes[range.clone()];
                let (len, got) = open.as_mut().expect("Data outside a frame");
                assert!(!chunk.is_empty(), "empty Data chunk");
                got.extend_from_slice(chunk);
                assert!(got.len() as u64 <= *len, "Data beyond the announced length");
                assert_eq!(*remaining, *len - got.len() as u64, "wrong remaining");
            }
            Rec::End => {
                let (len, got) = open.take().expect("End outside a frame");
                assert_eq!(got.len() as u64, len, "End before the whole payload");
                frames.push(got);
            }
        }
    }
    frames
}

/// Decode `bytes` in `chunking` and return (records, final error, consumed).
fn decode(cfg: &FrameConfig, bytes: &[u8], chunking: &Chunking) -> crate::Run<Rec, FrameError> {
    let mut dec = FrameDecoder::new(*cfg);
    let base = bytes.as_ptr() as usize;
    drive(&mut dec, bytes, chunking, |_, event| match event {
        FrameEvent::Start { len } => Rec::Start(len),
        FrameEvent::Data { chunk, remaining } => {
            let start = chunk.as_ptr() as usize - base;
            assert!(start + chunk.len() <= bytes.len(), "chunk not from the input");
            Rec::Data(start..start + chunk.len(), remaining)
        }
        FrameEvent::End => Rec::End,
    })
}

/// All frame properties for one configuration, stream and chunking.
pub fn check(cfg: FrameConfig, mut u: Unstructured<'_>) {
    let chunking = Chunking::from_unstructured(&mut u);
    let reader_cap = usize::from(u.arbitrary::<u16>().unwrap_or(0)) % 2048;
    let extra_len = u.arbitrary::<u64>().unwrap_or(0);
    let stream = u.take_rest();

    // 1. Chunking does not change what comes out.
    let whole = decode(&cfg, stream, &Chunking::whole());
    let split = decode(&cfg, stream, &chunking);
    let whole_recs = coalesce(whole.records.clone(), merge);
    let split_recs = coalesce(split.records.clone(), merge);
    assert_eq!(whole_recs, split_recs, "chunking changed the events");
    assert_eq!(whole.error, split.error, "chunking changed the error");
    // An `Err` carries no consumed count, so bytes taken before an error are only comparable
    // when there was none.
    if whole.error.is_none() {
        assert_eq!(whole.consumed, split.consumed, "chunking changed what was consumed");
    }

    // 2. Well-formed events; 3. same frames and error as the naive reference.
    let frames = validate(&cfg, stream, &split.records);
    let (want, end) = ref_frames(&cfg, stream);
    let want_payloads: Vec<Vec<u8>> = want.iter().map(|f| f.payload.clone()).collect();
    assert_eq!(frames, want_payloads, "frames differ from the reference");
    match end {
        RefEnd::Clean => {
            assert_eq!(split.error, None);
            assert_eq!(split.consumed, stream.len());
        }
        RefEnd::Error(err) => assert_eq!(split.error, Some(err), "error differs from reference"),
    }

    // 4. decode(encode(x)) == x for every frame found, and for the stream as one payload.
    for f in &want {
        let prefix = cfg.encode_prefix(f.payload.len() as u64).expect("decoded length encodes");
        if f.prefix.len() == cfg.width().bytes() {
            // Fixed-width fields have one encoding per length.
            assert_eq!(prefix.as_bytes(), &f.prefix[..], "re-encoded prefix differs");
        }
        // Whole: chunking invariance is checked above; this is about the encoding.
        roundtrip(&cfg, &f.payload, &Chunking::whole());
    }
    match cfg.encode_prefix(stream.len() as u64) {
        Ok(_) => roundtrip(&cfg, stream, &Chunking::whole()),
        Err(err) => {
            assert!(stream.len() as u64 > cfg.max_frame_len());
            assert_eq!(
                err,
                EncodeError::Oversize { len: stream.len() as u64, max: cfg.max_frame_len() }
            );
        }
    }
    prefix_only(&cfg, extra_len);

    // 5. FrameReader: the same frames while they fit its buffer.
    reader(&cfg, stream, &chunking, reader_cap, &want, end);
}

fn roundtrip(cfg: &FrameConfig, payload: &[u8], chunking: &Chunking) {
    let prefix = cfg.encode_prefix(payload.len() as u64).expect("within the limit");
    assert_eq!(prefix.as_bytes().len(), cfg.prefix_len(payload.len() as u64));
    let mut small = [0u8; 12];
    let short = prefix.as_bytes().len() - 1;
    assert_eq!(
        cfg.encode_prefix_into(payload.len() as u64, &mut small[..short]),
        Err(EncodeError::BufferTooSmall { needed: prefix.as_bytes().len() })
    );
    let mut big = [0u8; 16];
    let n = cfg.encode_prefix_into(payload.len() as u64, &mut big).expect("fits 16 bytes");
    assert_eq!(&big[..n], prefix.as_bytes(), "encode_prefix_into differs from encode_prefix");
    let mut wire = prefix.as_bytes().to_vec();
    wire.extend_from_slice(payload);
    early_finish(cfg, &wire, payload.len());
    let run = decode(cfg, &wire, chunking);
    assert_eq!(run.error, None, "own encoding failed to decode");
    let recs = coalesce(run.records, merge);
    let frames = validate(cfg, &wire, &recs);
    assert_eq!(frames, vec![payload.to_vec()], "decode(encode(x)) != x");
    assert_eq!(run.consumed, wire.len());
}

/// A prefix for a length too large to hold in memory still decodes to that length.
fn prefix_only(cfg: &FrameConfig, len: u64) {
    match cfg.encode_prefix(len) {
        Err(err) => {
            assert!(len > cfg.max_frame_len());
            assert_eq!(err, EncodeError::Oversize { len, max: cfg.max_frame_len() });
        }
        Ok(prefix) => {
            assert_eq!(prefix.as_bytes().len(), cfg.prefix_len(len));
            let mut dec = FrameDecoder::new(*cfg);
            let mut at = 0;
            let bytes = prefix.as_bytes();
            // Byte at a time: the prefix may arrive in any split.
            let mut started = None;
            while at < bytes.len() {
                let h = dec.decode(&bytes[at..at + 1]).expect("own prefix decodes");
                at += h.consumed;
                if let Some(ev) = h.event {
                    started = Some(ev);
                    break;
                }
            }
            assert_eq!(at, bytes.len(), "prefix not consumed exactly");
            match started {
                Some(FrameEvent::Start { len: got }) => assert_eq!(got, len),
                other => panic!("expected Start, got {other:?}"),
            }
            assert_eq!(dec.remaining(), Some(len));
        }
    }
}

fn reader(
    cfg: &FrameConfig,
    stream: &[u8],
    chunking: &Chunking,
    cap: usize,
    want: &[crate::RefFrame],
    end: RefEnd,
) {
    let mut rd = FrameReader::new(*cfg);
    let mut buf = vec![0u8; cap];
    let mut got: Vec<Vec<u8>> = Vec::new();
    let (mut pos, mut avail, mut delivery) = (0usize, 0usize, 0usize);
    let error = loop {
        match rd.read_frame(&stream[pos..avail], &mut buf) {
            Err(err) => break Some(err),
            Ok(h) => {
                assert!(h.consumed <= avail - pos);
                pos += h.consumed;
                if let Some(frame) = h.event {
                    got.push(frame.to_vec());
                    assert!(rd.at_boundary());
                    continue;
                }
                if h.consumed > 0 {
                    continue;
                }
            }
        }
        if avail < stream.len() {
            avail += chunking.size(delivery, stream.len() - avail);
            delivery += 1;
            continue;
        }
        break rd.finish().err();
    };
    // The reader yields the reference frames up to the first one that does not fit.
    let fit = want.iter().take_while(|f| f.payload.len() <= cap).count();
    let want_payloads: Vec<Vec<u8>> = want[..fit].iter().map(|f| f.payload.clone()).collect();
    assert_eq!(got, want_payloads, "FrameReader frames differ");
    if let Some(big) = want.get(fit) {
        assert_eq!(
            error,
            Some(FrameError::BufferTooSmall { len: big.payload.len() as u64, capacity: cap })
        );
    } else {
        match end {
            RefEnd::Clean => assert_eq!(error, None),
            // A frame announced longer than the buffer is refused before its payload.
            RefEnd::Error(FrameError::TruncatedPayload { len, .. }) if len > cap as u64 => {
                assert_eq!(error, Some(FrameError::BufferTooSmall { len, capacity: cap }))
            }
            RefEnd::Error(err) => assert_eq!(error, Some(err)),
        }
    }
}

/// A stream that ends right after a frame's last byte, before `End` was polled: `finish`
/// gives that `End`, then `None`.
fn early_finish(cfg: &FrameConfig, wire: &[u8], len: usize) {
    let mut dec = FrameDecoder::new(*cfg);
    let h = dec.decode(wire).expect("own prefix");
    assert_eq!(h.event, Some(FrameEvent::Start { len: len as u64 }));
    if len > 0 {
        let d = dec.decode(&wire[h.consumed..]).expect("payload");
        assert_eq!(d.consumed, len);
        assert_eq!(dec.remaining(), Some(0));
    }
    assert_eq!(dec.finish(), Ok(Some(FrameEvent::End)));
    assert!(dec.at_boundary());
    assert_eq!(dec.finish(), Ok(None));
}
