//! The loop: challenge the peer, then receive one file, then start over.

use core::hint::black_box;

use wirekit_core::auth::{AuthEvent, SeedVerifier};
use wirekit_core::frame::FrameConfig;
use wirekit_core::transfer::{FileReceiver, ReceiveEvent};
use wirekit_core::Machine;

/// The shared key. Real firmware keeps 32 random bytes per device in a protected area.
const KEY: &[u8] = b"egg";
/// The largest header JSON accepted (names on a device are short).
const HEADER_MAX: usize = 256;
/// The largest file accepted.
const MAX_FILE: u64 = 256 * 1024;
/// Receive FIFO size of the stand-in serial port.
const FIFO: usize = 256;

/// A stand-in serial port: a receive FIFO whose fill level is a register (read through
/// `black_box`, so the compiler cannot prove that no byte ever arrives), and a transmit
/// register.
pub struct Uart {
    rx: [u8; FIFO],
    rx_len: usize,
}

impl Uart {
    /// An idle port.
    pub const fn new() -> Self {
        Self { rx: [0; FIFO], rx_len: 0 }
    }

    /// Bytes that arrived since the last call.
    fn receive(&mut self) -> &[u8] {
        let len = black_box(self.rx_len).min(FIFO);
        self.rx_len = 0;
        let (bytes, _) = self.rx.split_at(len);
        bytes
    }

    /// Send `bytes`; returns how many the transmit register took. (A register of its own:
    /// no borrow of the receive FIFO.)
    fn transmit(bytes: &[u8]) -> usize {
        black_box(bytes);
        black_box(bytes.len())
    }

    /// The line went idle with the peer gone (a modem-status bit).
    fn hung_up(&self) -> bool {
        black_box(false)
    }
}

/// The trivial sink: a byte count and a running checksum, exposed to the debugger.
#[derive(Default)]
struct Sink {
    bytes: u64,
    sum: u32,
}

impl Sink {
    fn write(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        self.sum = chunk.iter().fold(self.sum, |s, &b| s.rotate_left(5) ^ u32::from(b));
    }
}

/// Where a connection is. One lives at a time and there is no allocator to box into, so the
/// size difference between the variants is the point, not a problem.
#[allow(clippy::large_enum_variant)]
enum Phase {
    Auth(SeedVerifier<'static>),
    File(FileReceiver<HEADER_MAX>),
}

/// The device's entropy source; real firmware reads its TRNG.
fn challenge(state: &mut u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(4) {
        *state ^= black_box(*state << 13);
        *state ^= *state >> 17;
        *state ^= *state << 5;
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    out
}

fn new_connection(rng: &mut u32) -> Phase {
    Phase::Auth(SeedVerifier::new(KEY, challenge(rng)))
}

/// Flush what `machine` wants to send.
fn flush<M: Machine>(machine: &mut M) {
    let n = Uart::transmit(machine.output_buf());
    machine.consume_output(n);
}

/// The main loop. Never returns.
pub fn run(uart: &'static mut Uart) -> ! {
    let mut rng = black_box(0x2545_f491_u32);
    let mut phase = new_connection(&mut rng);
    let mut sink = Sink::default();
    loop {
        let mut input = uart.receive();
        // Fresh connection on any error or at the end of a file.
        let mut restart = false;
        loop {
            match &mut phase {
                Phase::Auth(verifier) => {
                    flush(verifier);
                    match verifier.handle_input(input) {
                        Ok(step) => {
                            input = input.get(step.consumed..).unwrap_or(&[]);
                            match step.event {
                                Some(AuthEvent::PeerVerified) => {
                                    let receiver = FileReceiver::new(FrameConfig::seed())
                                        .with_max_size(MAX_FILE);
                                    phase = Phase::File(receiver);
                                }
                                Some(_) => restart = true,
                                None if step.consumed == 0 || input.is_empty() => break,
                                None => {}
                            }
                        }
                        Err(_) => restart = true,
                    }
                }
                Phase::File(receiver) => {
                    flush(receiver);
                    match receiver.handle_input(input) {
                        Ok(step) => {
                            input = input.get(step.consumed..).unwrap_or(&[]);
                            match step.event {
                                Some(ReceiveEvent::Body { chunk, .. }) => sink.write(chunk),
                                Some(ReceiveEvent::Complete) => restart = true,
                                Some(_) => {}
                                None if step.consumed == 0 || input.is_empty() => break,
                                None => {}
                            }
                        }
                        Err(_) => restart = true,
                    }
                }
            }
            if restart {
                break;
            }
        }
        if !restart && uart.hung_up() {
            // A file cut short is an error; either way the next connection starts afresh.
            let cut_short = match &mut phase {
                Phase::Auth(verifier) => verifier.handle_eof().is_err(),
                Phase::File(receiver) => receiver.handle_eof().is_err(),
            };
            black_box(cut_short);
            restart = true;
        }
        if restart {
            black_box(&sink);
            phase = new_connection(&mut rng);
        }
    }
}
