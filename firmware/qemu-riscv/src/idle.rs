//! Sleeping between polls instead of spinning: `wfi` until the virtio-net
//! interrupt (through the PLIC) or the CLINT timer (smoltcp's next deadline).
//!
//! No trap handler is involved: `mstatus.MIE` stays off, and `wfi` still returns
//! when an interrupt that is enabled in `mie` becomes pending. The main loop then
//! acknowledges the device and the PLIC and polls. An interrupt that arrives
//! between the last check and `wfi` stays pending, so `wfi` returns at once.

use core::ptr::{read_volatile, write_volatile};
use smoltcp::time::Duration;

use crate::clock;

/// PLIC base on `virt`.
const PLIC: usize = 0x0c00_0000;
/// Enable bits of context 0 (hart 0, M-mode).
const PLIC_ENABLE_CTX0: usize = PLIC + 0x2000;
/// Priority threshold of context 0.
const PLIC_THRESHOLD_CTX0: usize = PLIC + 0x20_0000;
/// Claim/complete register of context 0.
const PLIC_CLAIM_CTX0: usize = PLIC + 0x20_0004;
/// `virt` wires virtio MMIO slot n (base 0x1000_1000 + n * 0x1000) to PLIC source n + 1.
const VIRTIO_MMIO_BASE: usize = 0x1000_1000;
const VIRTIO_MMIO_STRIDE: usize = 0x1000;

/// CLINT `mtimecmp` of hart 0.
const MTIMECMP: usize = 0x0200_4000;
/// `mie` bits: machine timer and machine external interrupts.
const MIE_MTIE: usize = 1 << 7;
const MIE_MEIE: usize = 1 << 11;

/// Longest sleep when smoltcp has no deadline (keeps the loop observable).
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// Interrupt wiring for one virtio device; see the module docs.
pub struct Idle {
    irq: usize,
}

impl Idle {
    /// Routes the interrupt of the virtio device at `virtio_base` to hart 0 and
    /// enables timer and external interrupts in `mie` (not globally).
    pub fn new(virtio_base: usize) -> Self {
        let irq = (virtio_base - VIRTIO_MMIO_BASE) / VIRTIO_MMIO_STRIDE + 1;
        set_timer(u64::MAX);
        write32(PLIC + 4 * irq, 1);
        let enable = PLIC_ENABLE_CTX0 + 4 * (irq / 32);
        write32(enable, read32(enable) | 1 << (irq % 32));
        write32(PLIC_THRESHOLD_CTX0, 0);
        // SAFETY: only sets enable bits; with mstatus.MIE clear no trap is taken.
        unsafe { core::arch::asm!("csrs mie, {}", in(reg) MIE_MTIE | MIE_MEIE) };
        Self { irq }
    }

    /// The PLIC source used (for the boot log).
    pub fn irq(&self) -> usize {
        self.irq
    }

    /// Clears pending PLIC claims. Call after acknowledging the device itself,
    /// or its still-raised line makes the PLIC pend the source again.
    pub fn clear(&self) {
        loop {
            let id = read32(PLIC_CLAIM_CTX0);
            if id == 0 {
                break;
            }
            write32(PLIC_CLAIM_CTX0, id);
        }
    }

    /// Sleeps until an interrupt or `timeout` (capped at [`MAX_SLEEP`]).
    pub fn wait(&self, timeout: Option<Duration>) {
        let timeout = timeout.unwrap_or(MAX_SLEEP).min(MAX_SLEEP);
        let ticks = timeout.total_micros().saturating_mul(10);
        set_timer(clock::ticks().saturating_add(ticks));
        // SAFETY: `wfi` only waits; spurious wake-ups are fine for the caller.
        unsafe { core::arch::asm!("wfi") };
        // A pending timer interrupt would make every later `wfi` return at once.
        set_timer(u64::MAX);
    }
}

/// Writes `mtimecmp` without a transient value below the target (RV32: two halves).
fn set_timer(at: u64) {
    let lo = MTIMECMP as *mut u32;
    let hi = (MTIMECMP + 4) as *mut u32;
    // SAFETY: hart 0's mtimecmp is always-writable MMIO on `virt`.
    unsafe {
        write_volatile(hi, u32::MAX);
        write_volatile(lo, at as u32);
        write_volatile(hi, (at >> 32) as u32);
    }
}

fn read32(addr: usize) -> u32 {
    // SAFETY: PLIC registers on `virt`, 32-bit aligned.
    unsafe { read_volatile(addr as *const u32) }
}

fn write32(addr: usize, value: u32) {
    // SAFETY: see `read32`.
    unsafe { write_volatile(addr as *mut u32, value) }
}
