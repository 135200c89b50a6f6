//! Property tests: the sticky-packet lesson, proven. However the byte stream is cut into
//! reads, the decoder reports the same frames, the same errors and the same EOF verdict.

use std::vec;
use std::vec::Vec;

use proptest::collection::vec as vec_of;
use proptest::prelude::*;

use super::reader_cases::read_all;
use super::{
    cat, encode_stream, expected_trace, mp_long_prefix, run_bytewise, run_chunks, run_whole,
    split_by_sizes, Norm, Run,
};
use crate::frame::{Endian, FrameConfig, FrameDecoder, FrameError, FrameEvent, Width};
use crate::Handled;

/// A configuration, frames that fit it, and how each frame's prefix is written.
#[derive(Debug, Clone)]
struct Case {
    config: FrameConfig,
    payloads: Vec<Vec<u8>>,
    /// Per frame: use the mp long form (`-1` + `!Q`) even for a small length. Only honoured
    /// when the config has the mp extension.
    long_form: Vec<bool>,
}

impl Case {
    fn prefix(&self, i: usize) -> Vec<u8> {
        let len = self.payloads[i].len() as u64;
        if self.config.mp_extension() && self.long_form[i] {
            mp_long_prefix(len)
        } else {
            self.config.encode_prefix(len).unwrap().as_bytes().to_vec()
        }
    }

    fn stream(&self) -> Vec<u8> {
        let mut stream = Vec::new();
        for (i, p) in self.payloads.iter().enumerate() {
            stream.extend_from_slice(&self.prefix(i));
            stream.extend_from_slice(p);
        }
        stream
    }

    fn longest(&self) -> usize {
        self.payloads.iter().map(Vec::len).max().unwrap_or(0)
    }
}

fn arb_width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::One), Just(Width::Two), Just(Width::Four), Just(Width::Eight)]
}

fn arb_endian() -> impl Strategy<Value = Endian> {
    prop_oneof![Just(Endian::Little), Just(Endian::Big)]
}

/// Every width, byte order and signedness, and both presets.
fn arb_config() -> impl Strategy<Value = FrameConfig> {
    prop_oneof![
        1 => Just(FrameConfig::seed()),
        1 => Just(FrameConfig::mp()),
        4 => (arb_width(), arb_endian(), any::<bool>())
            .prop_map(|(w, e, s)| FrameConfig::new(w, e, s)),
    ]
}

/// Payloads up to `max_len` bytes (capped by what the config allows; many empty ones),
/// then the limit set to the longest payload plus a random slack (0 = exactly at the limit).
fn arb_case(max_len: usize, max_frames: usize) -> impl Strategy<Value = Case> {
    arb_config()
        .prop_flat_map(move |config| {
            let cap = usize::try_from(config.max_frame_len()).unwrap_or(usize::MAX).min(max_len);
            let payload = prop_oneof![
                1 => Just(Vec::new()),
                4 => vec_of(any::<u8>(), 0..=cap),
            ];
            let slack = prop_oneof![Just(0u64), 0u64..4, Just(u64::MAX)];
            (Just(config), vec_of((payload, any::<bool>()), 0..=max_frames), slack)
        })
        .prop_map(|(config, frames, slack)| {
            let (payloads, long_form): (Vec<_>, Vec<_>) = frames.into_iter().unzip();
            let longest = payloads.iter().map(Vec::len).max().unwrap_or(0) as u64;
            let config = config.with_max_frame_len(longest.saturating_add(slack));
            Case { config, payloads, long_form }
        })
}

/// Read sizes for random chunking; 0 means an empty read. Never all zero.
fn arb_sizes() -> impl Strategy<Value = Vec<usize>> {
    vec_of(0usize..=17, 1..8).prop_map(|mut sizes| {
        if sizes.iter().all(|&s| s == 0) {
            sizes.push(1);
        }
        sizes
    })
}

/// `got` is what a correct decoder says about a stream cut short: a prefix of `full`, whose
/// last item may be a partial payload.
fn is_trace_prefix(got: &[Norm], full: &[Norm]) -> bool {
    if got.len() > full.len() {
        return false;
    }
    got.iter().zip(full).enumerate().all(|(i, (g, f))| match (g, f) {
        (Norm::Payload(g), Norm::Payload(f)) if i + 1 == got.len() => f.starts_with(g),
        _ => g == f,
    })
}

/// Model of `finish` after the stream was cut to its first `cut` bytes.
fn expected_eof(case: &Case, cut: usize) -> Result<Option<FrameEvent<'static>>, FrameError> {
    let width = case.config.width().bytes();
    let mut offset = 0;
    for (i, payload) in case.payloads.iter().enumerate() {
        if cut == offset {
            return Ok(None);
        }
        let prefix_len = case.prefix(i).len();
        let payload_start = offset + prefix_len;
        if cut < payload_start {
            let have = cut - offset;
            let need = if prefix_len > width && have >= width { prefix_len } else { width };
            return Err(FrameError::TruncatedPrefix { have: have as u8, need: need as u8 });
        }
        let end = payload_start + payload.len();
        if cut < end {
            let len = payload.len() as u64;
            return Err(FrameError::TruncatedPayload { len, missing: (end - cut) as u64 });
        }
        offset = end;
    }
    Ok(None)
}

fn assert_clean(run: &Run, expected: &[Norm], how: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(&run.normalized(), expected, "{}", how);
    prop_assert_eq!(run.error, None, "{}", how);
    prop_assert_eq!(run.eof, Ok(None), "{}", how);
    Ok(())
}

proptest! {
    /// Encode any frames, then decode the stream in one piece, one byte at a time, and in
    /// random pieces (with empty reads): always the same frames, Start/End included.
    #[test]
    fn any_chunking_recovers_the_frames(case in arb_case(300, 8), sizes in arb_sizes()) {
        let stream = case.stream();
        let expected = expected_trace(&case.payloads);
        assert_clean(&run_whole(case.config, &stream), &expected, "whole")?;
        assert_clean(&run_bytewise(case.config, &stream), &expected, "bytewise")?;
        let pieces = split_by_sizes(&stream, &sizes);
        assert_clean(&run_chunks(case.config, pieces), &expected, "random chunks")?;
    }

    /// The encoder's own output (no long form) decodes back to the payloads.
    #[test]
    fn encoder_output_round_trips(case in arb_case(300, 8), sizes in arb_sizes()) {
        let stream = encode_stream(case.config, &case.payloads);
        let expected = expected_trace(&case.payloads);
        let pieces = split_by_sizes(&stream, &sizes);
        assert_clean(&run_chunks(case.config, pieces), &expected, "encoder stream")?;
    }

    /// Two reads, cut at every position of the stream: identical results every time.
    #[test]
    fn split_in_two_at_every_position_is_identical(case in arb_case(24, 5)) {
        let stream = case.stream();
        let expected = expected_trace(&case.payloads);
        let whole = run_whole(case.config, &stream);
        assert_clean(&whole, &expected, "whole")?;
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            let run = run_chunks(case.config, [a, b]);
            prop_assert_eq!(run.normalized(), whole.normalized(), "cut at {}", cut);
            prop_assert_eq!(run.error, whole.error, "cut at {}", cut);
            prop_assert_eq!(run.eof, whole.eof, "cut at {}", cut);
        }
    }

    /// A stream that ends early reports exactly what is missing, wherever it ends, and the
    /// frames before the cut are intact.
    #[test]
    fn truncation_at_every_position_reports_what_is_missing(case in arb_case(24, 5)) {
        let stream = case.stream();
        let full = expected_trace(&case.payloads);
        for cut in 0..=stream.len() {
            let run = run_whole(case.config, &stream[..cut]);
            prop_assert_eq!(run.error, None);
            prop_assert_eq!(run.eof, expected_eof(&case, cut), "cut at {}", cut);
            prop_assert!(is_trace_prefix(&run.normalized(), &full), "cut at {}", cut);
            prop_assert_eq!(run_bytewise(case.config, &stream[..cut]).eof, run.eof);
        }
    }

    /// A frame over the limit stops the stream at its prefix, identically for every
    /// chunking, and even when none of its payload was sent.
    #[test]
    fn oversize_is_rejected_at_the_prefix_under_any_chunking(
        case in arb_case(300, 8),
        limit_pick in any::<prop::sample::Index>(),
        sizes in arb_sizes(),
    ) {
        let longest = case.longest();
        prop_assume!(longest > 0);
        let limit = limit_pick.index(longest) as u64; // 0 ..= longest - 1
        let config = case.config.with_max_frame_len(limit);
        let victim = case.payloads.iter().position(|p| p.len() as u64 > limit).unwrap();
        let expected = expected_trace(&case.payloads[..victim]);
        let oversize = FrameError::Oversize { len: case.payloads[victim].len() as u64, max: limit };
        let err = Some(oversize);
        let stream = case.stream();
        let pieces = split_by_sizes(&stream, &sizes);
        for run in [
            run_whole(config, &stream),
            run_bytewise(config, &stream),
            run_chunks(config, pieces),
        ] {
            prop_assert_eq!(&run.normalized(), &expected);
            prop_assert_eq!(run.error, err);
            prop_assert_eq!(run.eof, Err(oversize), "sticky at EOF");
        }
        // Cut right after the offending prefix: no payload byte needed to refuse it.
        let before: usize = (0..victim).map(|i| case.prefix(i).len() + case.payloads[i].len()).sum();
        let cut = before + case.prefix(victim).len();
        prop_assert_eq!(run_whole(config, &stream[..cut]).error, err);
    }

    /// Arbitrary bytes (a hostile or confused peer): no panic, and the verdict does not
    /// depend on how the bytes were split.
    #[test]
    fn garbage_gives_the_same_verdict_under_any_chunking(
        config in arb_config(),
        raise_limit in any::<bool>(),
        stream in vec_of(any::<u8>(), 0..64),
        sizes in arb_sizes(),
    ) {
        let config = if raise_limit { config.with_max_frame_len(u64::MAX) } else { config };
        let whole = run_whole(config, &stream);
        let pieces = split_by_sizes(&stream, &sizes);
        for run in [run_bytewise(config, &stream), run_chunks(config, pieces)] {
            prop_assert_eq!(run.normalized(), whole.normalized());
            prop_assert_eq!(run.error, whole.error);
            prop_assert_eq!(run.eof, whole.eof);
        }
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            let run = run_chunks(config, [a, b]);
            prop_assert_eq!(run.normalized(), whole.normalized());
            prop_assert_eq!(run.error, whole.error);
        }
    }

    /// `FrameReader` with a buffer exactly as big as the longest frame gets every frame back,
    /// whatever the chunking.
    #[test]
    fn reader_recovers_the_frames_under_any_chunking(case in arb_case(300, 8), sizes in arb_sizes()) {
        let stream = case.stream();
        let capacity = case.longest();
        let want = (case.payloads.clone(), None);
        prop_assert_eq!(read_all(case.config, capacity, [&stream[..]]), want.clone());
        prop_assert_eq!(read_all(case.config, capacity, stream.chunks(1)), want.clone());
        prop_assert_eq!(read_all(case.config, capacity, split_by_sizes(&stream, &sizes)), want);
    }

    /// Any length within the limit: the prefix is `prefix_len` bytes and decodes back to the
    /// length; a decoder with a lower limit refuses it at the prefix.
    #[test]
    fn prefix_round_trips_and_limit_is_enforced(
        config in arb_config(),
        raw_len in any::<u64>(),
    ) {
        let config = config.with_max_frame_len(u64::MAX);
        let len = raw_len % config.field_max().saturating_add(1).max(1);
        let len = if config.field_max() == u64::MAX { raw_len } else { len };
        let prefix = config.encode_prefix(len).unwrap();
        prop_assert_eq!(prefix.as_bytes().len(), config.prefix_len(len));
        let mut dec = FrameDecoder::new(config);
        prop_assert_eq!(
            dec.decode(prefix.as_bytes()),
            Ok(Handled::event(prefix.as_bytes().len(), FrameEvent::Start { len }))
        );
        if len > 0 {
            let lower = config.with_max_frame_len(len - 1);
            let mut dec = FrameDecoder::new(lower);
            prop_assert_eq!(
                dec.decode(prefix.as_bytes()),
                Err(FrameError::Oversize { len, max: len - 1 })
            );
            prop_assert!(lower.encode_prefix(len).is_err());
        }
    }
}

/// Exhaustive three-way splits of a small stream mixing every mp prefix form and empty
/// frames: every (i, j) cut gives the same trace.
#[test]
fn three_way_split_at_every_pair_of_positions_is_identical() {
    let stream = cat(&[
        &mp_long_prefix(0),
        b"\x00\x00\x00\x00",
        &mp_long_prefix(3),
        b"abc",
        b"\x00\x00\x00\x02de",
        b"\x00\x00\x00\x00",
    ]);
    let expected = expected_trace(&[vec![], vec![], b"abc".to_vec(), b"de".to_vec(), vec![]]);
    for i in 0..=stream.len() {
        for j in i..=stream.len() {
            let run = run_chunks(FrameConfig::mp(), [&stream[..i], &stream[i..j], &stream[j..]]);
            assert_eq!(run.normalized(), expected, "cuts at {i}, {j}");
            assert_eq!(run.error, None);
            assert_eq!(run.eof, Ok(None));
        }
    }
}

/// The same for the seed recipe, with a frame across three reads in every possible way.
#[test]
fn seed_three_way_split_at_every_pair_of_positions_is_identical() {
    let stream = cat(&[b"\x05\x00\x00\x00hello", &[0; 4], b"\x02\x00\x00\x00hi"]);
    let expected = expected_trace(&[b"hello".to_vec(), vec![], b"hi".to_vec()]);
    for i in 0..=stream.len() {
        for j in i..=stream.len() {
            let run = run_chunks(FrameConfig::seed(), [&stream[..i], &stream[i..j], &stream[j..]]);
            assert_eq!(run.normalized(), expected, "cuts at {i}, {j}");
            assert_eq!(run.eof, Ok(None));
        }
    }
}
