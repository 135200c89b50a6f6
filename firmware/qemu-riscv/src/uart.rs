//! Polled 16550 UART (QEMU `virt`: 0x1000_0000) and a `log` backend on top of it.

use core::fmt::{self, Write};
use core::ptr::{read_volatile, write_volatile};

/// Base address of the `virt` machine's NS16550A.
const UART_BASE: usize = 0x1000_0000;
/// Transmit holding register (write) / receive buffer (read).
const THR: usize = 0;
/// FIFO control register.
const FCR: usize = 2;
/// Line control register.
const LCR: usize = 3;
/// Line status register.
const LSR: usize = 5;
/// LSR bit: transmit holding register empty.
const LSR_THRE: u8 = 1 << 5;

/// The UART at [`UART_BASE`]. Zero-sized: all state is in the device registers.
pub struct Uart;

impl Uart {
    /// 8N1, FIFOs on. QEMU ignores the baud rate, so the divisor is left alone.
    pub fn init() {
        reg_write(LCR, 0x03);
        reg_write(FCR, 0x01);
    }

    /// Blocks until the transmitter has room, then sends one byte.
    pub fn put(byte: u8) {
        while reg_read(LSR) & LSR_THRE == 0 {
            core::hint::spin_loop();
        }
        reg_write(THR, byte);
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                Uart::put(b'\r');
            }
            Uart::put(byte);
        }
        Ok(())
    }
}

fn reg_write(offset: usize, value: u8) {
    // SAFETY: the 16550 registers are byte-wide MMIO at fixed addresses on `virt`;
    // this module is only used by code built for that machine.
    unsafe { write_volatile((UART_BASE + offset) as *mut u8, value) }
}

fn reg_read(offset: usize) -> u8 {
    // SAFETY: see `reg_write`.
    unsafe { read_volatile((UART_BASE + offset) as *const u8) }
}

/// `log` backend: one line per record, prefixed with the uptime in milliseconds.
struct UartLogger;

impl log::Log for UartLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ms = crate::clock::now().total_millis();
        // A single hart and no interrupts: records cannot interleave.
        let _ = writeln!(
            Uart,
            "[{:>6}.{:03}] {:<5} {}",
            ms / 1000,
            ms % 1000,
            record.level(),
            record.args()
        );
    }

    fn flush(&self) {}
}

static LOGGER: UartLogger = UartLogger;

/// Initialises the UART and installs it as the `log` backend at `level`.
pub fn init_logger(level: log::LevelFilter) {
    Uart::init();
    // Fails only if a logger is already set, in which case that one keeps working.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
