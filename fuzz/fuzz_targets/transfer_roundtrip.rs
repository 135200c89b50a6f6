//! `FileSender` → `FileReceiver`: decode(encode(x)) == x for a whole transfer.
//!
//! Arbitrary names, body and framing (seed or mp); the sender's output (prefix + header) and
//! the body, cut into arbitrary deliveries, must give the receiver the same names, size and
//! body, and `Complete`. The sender refuses any byte from the receiver (`UnexpectedInput`,
//! nothing consumed), refuses body bytes before the header is out and beyond `filesize`, and
//! a header too long for the receiver's buffer is refused by the sender first.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::{FileHeader, MAX_HEADER_LEN};
use wirekit_core::transfer::{FileReceiver, FileSender, TransferError};
use wirekit_core::Machine;
use wirekit_fuzz::transfer_props::{self, Rec};
use wirekit_fuzz::{coalesce, drive, Chunking};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let mp = bool::arbitrary(&mut u).unwrap_or(false);
    let filename = String::arbitrary(&mut u).unwrap_or_default();
    let filepath = String::arbitrary(&mut u).unwrap_or_default();
    let chunking = Chunking::from_unstructured(&mut u);
    let body = u.take_rest();
    let cfg = if mp { FrameConfig::mp() } else { FrameConfig::seed() };
    let header =
        FileHeader { filename: &filename, filepath: &filepath, filesize: body.len() as u64 };

    let mut sender = match FileSender::new(cfg, &header) {
        Ok(s) => s,
        Err(err) => {
            assert!(header.encoded_len() > MAX_HEADER_LEN, "refused a header that fits: {err:?}");
            assert_eq!(
                err,
                TransferError::HeaderTooLong { len: header.encoded_len(), max: MAX_HEADER_LEN }
            );
            return;
        }
    };
    assert_eq!(sender.handle_input(&[]), Ok(wirekit_core::Handled::consumed(0)));
    if !body.is_empty() {
        // Body before the header would go out ahead of it.
        let mut early = sender.clone();
        assert_eq!(early.record_body(1), Err(TransferError::HeaderNotSent));
        assert!(early.is_done());
    }
    let mut wire = Vec::new();
    let mut turn = 0;
    wirekit_fuzz::flush(&mut sender, &mut wire, &chunking, &mut turn);
    assert!(sender.header_sent());
    assert_eq!(wire.len(), sender.header_len());
    // Report the body in the chunking's sizes.
    let mut left = body.len();
    let mut i = 0;
    while left > 0 {
        let n = chunking.size(i, left);
        i += 1;
        sender.record_body(n as u64).expect("body within filesize");
        left -= n;
    }
    assert!(sender.is_done());
    assert_eq!(sender.handle_eof(), Ok(None));
    let mut over = sender.clone();
    assert!(matches!(
        over.record_body(1),
        Err(TransferError::Overrun { reported: 1, remaining: 0 })
    ));
    let mut talk = sender.clone();
    assert_eq!(talk.handle_input(b"x"), Err(TransferError::UnexpectedInput { len: 1 }));
    wire.extend_from_slice(body);

    let mut receiver: FileReceiver = FileReceiver::new(cfg);
    let run = drive(&mut receiver, &wire, &chunking, transfer_props::record::<MAX_HEADER_LEN>);
    assert_eq!(run.error, None, "own transfer failed to decode");
    let recs = coalesce(run.records, transfer_props::merge);
    let mut want = vec![Rec::Header {
        filesize: body.len() as u64,
        filename: filename.clone(),
        filepath: filepath.clone(),
    }];
    if !body.is_empty() {
        want.push(Rec::Body(body.to_vec(), 0));
    }
    want.push(Rec::Complete);
    assert_eq!(recs, want, "receive(send(x)) != x");
    assert_eq!(run.consumed, wire.len());
});
