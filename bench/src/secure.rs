//! The secure-channel workloads, shared by `benches/secure.rs` and `src/bin/icount.rs`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::convert::Infallible;
use std::hint::black_box;

use wirekit_core::secure::{
    record_len, rx_buf_len, Buffers, Config, InnerHandler, Psk, Role, SecureChannel,
    MAX_PLAINTEXT_LIMIT,
};
use wirekit_core::{Handled, Machine};

/// Takes every plaintext byte and reports nothing: the receiver's inner exchange.
pub struct Sink;

impl Machine for Sink {
    type Event<'i> = Infallible;
    type Error = Infallible;
    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<Infallible>, Infallible> {
        black_box(input);
        Ok(Handled::consumed(input.len()))
    }
    fn handle_eof(&mut self) -> Result<Option<Infallible>, Infallible> {
        Ok(None)
    }
    fn output_buf(&self) -> &[u8] {
        &[]
    }
    fn consume_output(&mut self, _: usize) {}
    fn is_done(&self) -> bool {
        false
    }
}

pub struct NoEvents;
impl InnerHandler<Sink> for NoEvents {
    type Output = ();
    fn on_inner_event(&mut self, _: &mut Sink, event: Infallible) -> Option<()> {
        match event {}
    }
}

/// Buffers for the largest records both ways.
#[derive(Debug)]
pub struct Bufs {
    pub rx: Vec<u8>,
    pub tx: Vec<u8>,
}

impl Bufs {
    pub fn new() -> Self {
        let max = record_len(MAX_PLAINTEXT_LIMIT.into());
        Self { rx: vec![0; rx_buf_len(MAX_PLAINTEXT_LIMIT)], tx: vec![0; max] }
    }
}

pub fn channel<'b>(
    role: Role,
    psk: &Psk,
    eph: u8,
    bufs: &'b mut Bufs,
) -> SecureChannel<'b, Sink, NoEvents> {
    let config = Config { role, service: b"file", max_plaintext: MAX_PLAINTEXT_LIMIT };
    let buffers = Buffers { rx: &mut bufs.rx, tx: &mut bufs.tx };
    SecureChannel::new(&config, psk, [eph; 32], buffers, Sink, NoEvents).unwrap()
}

/// Move all of `from`'s output into `to`.
pub fn pass(
    from: &mut SecureChannel<'_, Sink, NoEvents>,
    to: &mut SecureChannel<'_, Sink, NoEvents>,
) {
    let out = from.output_buf();
    let mut at = 0;
    loop {
        let step = to.handle_input(&out[at..]).unwrap();
        at += step.consumed;
        if step.consumed == 0 && step.event.is_none() {
            break;
        }
    }
    assert_eq!(at, out.len());
    from.consume_output(at);
}

impl Default for Bufs {
    fn default() -> Self {
        Self::new()
    }
}
