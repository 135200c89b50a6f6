//! The loop: challenge the peer, then receive one file, then start over.

use core::hint::black_box;

use wirekit_core::auth::{MutualOrder, Outcome, Role, RoleKeys, SeedMutual};
use wirekit_core::drive::{Action, Driver, Input, StepError};
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
/// register. Bytes the machine has not taken yet stay in the FIFO (from `read` on).
pub struct Uart {
    rx: [u8; FIFO],
    rx_len: usize,
    read: usize,
}

impl Uart {
    /// An idle port.
    pub const fn new() -> Self {
        Self { rx: [0; FIFO], rx_len: 0, read: 0 }
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
enum Phase<'k> {
    /// wirekit's keyed file handshake as the accepting side (role keys, docs/protocol.md
    /// section 4): the peer's answer is checked before the device answers anything.
    Auth(SeedMutual<'k>),
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

fn new_connection<'k>(keys: &'k RoleKeys, rng: &mut u32) -> Phase<'k> {
    let (verify, prove) = (keys.verify.as_bytes(), keys.prove.as_bytes());
    Phase::Auth(SeedMutual::new(verify, prove, MutualOrder::AcceptingSide, challenge(rng)))
}

/// What a turn of one machine ended with.
enum Turn {
    /// Nothing more until bytes arrive.
    Rest,
    /// The machine finished, or its event handler ended the connection.
    Over,
}

/// Drive `machine` on the UART until it rests: the core's driver says what to do next.
/// `on_event` returns true to end the connection.
fn turn<M: Machine>(
    driver: &mut Driver,
    machine: &mut M,
    uart: &mut Uart,
    mut on_event: impl FnMut(M::Event<'_>) -> bool,
) -> Result<Turn, StepError<M::Error>> {
    loop {
        // The fill level register: what arrived, the first `read` bytes already taken.
        let len = black_box(uart.rx_len).min(FIFO);
        let received = uart.rx.get(uart.read..len).unwrap_or(&[]);
        let input = Input::new(received).closed(uart.hung_up()).full(len == FIFO);
        let step = driver.step(machine, input)?;
        uart.read += step.consumed;
        let over = match step.action {
            Action::Transmit(transmit) => {
                let n = Uart::transmit(transmit.bytes());
                transmit.sent(n);
                false
            }
            Action::Event(event) => on_event(event),
            Action::Closed(event) => on_event(event),
            Action::NeedInput | Action::WaitingForCaller { .. } => {
                if uart.read == len {
                    // Drained: the FIFO starts over.
                    uart.read = 0;
                    uart.rx_len = 0;
                }
                // A hung-up line brings nothing more: the connection is over.
                return Ok(if uart.hung_up() { Turn::Over } else { Turn::Rest });
            }
            Action::Finished => true,
        };
        if over {
            return Ok(Turn::Over);
        }
    }
}

/// The main loop. Never returns.
pub fn run(uart: &'static mut Uart) -> ! {
    let mut rng = black_box(0x2545_f491_u32);
    let keys = RoleKeys::for_role(KEY, Role::FileReceiver);
    let mut phase = new_connection(&keys, &mut rng);
    let mut driver = Driver::new();
    let mut sink = Sink::default();
    loop {
        let turn = match &mut phase {
            Phase::Auth(verifier) => {
                let turn = turn(&mut driver, verifier, uart, |_| false);
                if let (Ok(Turn::Over), Some(Outcome::Authenticated)) = (&turn, verifier.outcome())
                {
                    let receiver = FileReceiver::new(FrameConfig::seed()).with_max_size(MAX_FILE);
                    phase = Phase::File(receiver);
                    driver = Driver::new();
                    continue;
                }
                turn.map_err(drop)
            }
            Phase::File(receiver) => turn(&mut driver, receiver, uart, |event| {
                if let ReceiveEvent::Body { chunk, .. } = event {
                    sink.write(chunk);
                }
                false
            })
            .map_err(drop),
        };
        // Fresh connection on any error, at the end of a file, or when the line hung up.
        if !matches!(turn, Ok(Turn::Rest)) {
            black_box(&sink);
            phase = new_connection(&keys, &mut rng);
            driver = Driver::new();
        }
    }
}
