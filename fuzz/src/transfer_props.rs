//! The file receiver checked against a plain reading of demo3 (first frame = header JSON,
//! then exactly `filesize` raw bytes), shared by `transfer_receiver` and `session`.

use wirekit_core::frame::{FrameConfig, FrameError};
use wirekit_core::header::FileHeader;
use wirekit_core::transfer::{FileReceiver, ReceiveEvent, TransferError};
use wirekit_core::Machine;

use crate::{coalesce, drive, ref_frames, Chunking, RefEnd, Run};

/// An owned receiver event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rec {
    /// `Header`, with the names `header()` gave at that moment.
    Header { filesize: u64, filename: String, filepath: String },
    /// `Body`.
    Body(Vec<u8>, u64),
    /// `Complete`.
    Complete,
}

/// Record an event (used with `drive` and with `Conn::drive`).
pub fn record<const N: usize>(r: &mut FileReceiver<N>, event: ReceiveEvent<'_>) -> Rec {
    match event {
        ReceiveEvent::Header { filesize } => {
            let h = r.header().expect("header() after the Header event");
            assert_eq!(h.filesize, filesize);
            Rec::Header {
                filesize,
                filename: h.filename.to_owned(),
                filepath: h.filepath.to_owned(),
            }
        }
        ReceiveEvent::Body { chunk, remaining } => Rec::Body(chunk.to_vec(), remaining),
        ReceiveEvent::Complete => Rec::Complete,
    }
}

/// Merge adjacent body chunks.
pub fn merge(last: &mut Rec, next: &Rec) -> bool {
    match (last, next) {
        (Rec::Body(a, rem), Rec::Body(b, rem2)) => {
            a.extend_from_slice(b);
            *rem = *rem2;
            true
        }
        _ => false,
    }
}

/// What the reference says one transfer over `stream` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Coalesced events.
    pub records: Vec<Rec>,
    /// The error, if any.
    pub error: Option<TransferError>,
    /// Bytes that belong to the transfer (header frame + body), when it completes.
    pub consumed: usize,
}

/// The reference reading of one transfer.
pub fn expected(cfg: &FrameConfig, cap: usize, max_size: u64, stream: &[u8]) -> Expected {
    let fail = |records, err| Expected { records, error: Some(err), consumed: 0 };
    let (frames, end) = ref_frames(cfg, stream);
    let Some(frame) = frames.first() else {
        let err = match end {
            RefEnd::Clean => {
                FrameError::TruncatedPrefix { have: 0, need: cfg.width().bytes() as u8 }
            }
            RefEnd::Error(FrameError::TruncatedPayload { len, .. }) if len > cap as u64 => {
                FrameError::BufferTooSmall { len, capacity: cap }
            }
            RefEnd::Error(err) => err,
        };
        return fail(vec![], TransferError::Frame(err));
    };
    if frame.payload.len() > cap {
        let err = FrameError::BufferTooSmall { len: frame.payload.len() as u64, capacity: cap };
        return fail(vec![], TransferError::Frame(err));
    }
    let mut storage = vec![0u8; frame.payload.len()];
    let header = match FileHeader::decode_with_max(&frame.payload, &mut storage, cap) {
        Ok(h) => h,
        Err(err) => return fail(vec![], TransferError::Header(err)),
    };
    if header.filesize > max_size {
        return fail(vec![], TransferError::TooLarge { filesize: header.filesize, max: max_size });
    }
    let mut records = vec![Rec::Header {
        filesize: header.filesize,
        filename: header.filename.to_owned(),
        filepath: header.filepath.to_owned(),
    }];
    let body = &stream[frame.end..];
    let have = (body.len() as u64).min(header.filesize) as usize;
    if have > 0 {
        records.push(Rec::Body(body[..have].to_vec(), header.filesize - have as u64));
    }
    if (have as u64) < header.filesize {
        let err = TransferError::Truncated { received: have as u64, expected: header.filesize };
        return fail(records, err);
    }
    records.push(Rec::Complete);
    Expected { records, error: None, consumed: frame.end + have }
}

/// Check the receiver's invariants on a run and that it matches the reference.
pub fn check_run<const N: usize>(
    r: &mut FileReceiver<N>,
    run: &Run<Rec, TransferError>,
    want: &Expected,
    stream: &[u8],
) {
    let recs = coalesce(run.records.clone(), merge);
    assert_eq!(recs, want.records, "events differ from the reference reading");
    assert_eq!(run.error, want.error, "error differs from the reference reading");
    assert!(run.sent.is_empty(), "the receiver sent bytes");
    // Invariants on the raw (uncoalesced) events.
    let mut body = 0u64;
    let mut size = None;
    for rec in &run.records {
        match rec {
            Rec::Header { filesize, .. } => {
                assert!(size.is_none(), "two headers");
                size = Some(*filesize);
            }
            Rec::Body(chunk, remaining) => {
                let size = size.expect("body before header");
                assert!(!chunk.is_empty());
                body += chunk.len() as u64;
                assert!(body <= size, "body beyond filesize");
                assert_eq!(*remaining, size - body);
            }
            Rec::Complete => {
                assert_eq!(Some(body), size, "Complete without exactly filesize bytes");
            }
        }
    }
    assert_eq!(r.received(), body, "received() != sum of Body chunks");
    let complete = run.records.last() == Some(&Rec::Complete);
    assert_eq!(r.is_complete(), complete);
    if complete {
        assert_eq!(run.consumed, want.consumed, "consumed more or less than the transfer");
        assert_eq!(r.error(), None);
        // Bytes after the body are refused and leave the file complete.
        let rest = &stream[run.consumed..];
        let extra = r.handle_input(rest);
        if rest.is_empty() {
            assert_eq!(extra, Ok(wirekit_core::Handled::consumed(0)));
        } else {
            assert_eq!(extra, Err(TransferError::ExtraData { len: rest.len() }));
        }
        assert!(r.is_complete());
        assert_eq!(r.handle_eof(), Ok(None));
    } else {
        assert_eq!(r.error(), run.error);
    }
}

/// Run one receiver over `stream` in two chunkings and check both.
pub fn check<const N: usize>(cfg: FrameConfig, max_size: u64, chunking: &Chunking, stream: &[u8]) {
    let want = expected(&cfg, N, max_size, stream);
    for ch in [Chunking::whole(), chunking.clone()] {
        let mut r = FileReceiver::<N>::new(cfg).with_max_size(max_size);
        let run = drive(&mut r, stream, &ch, record::<N>);
        check_run(&mut r, &run, &want, stream);
    }
}
