//! Time from the CLINT's free-running `mtime` counter (10 MHz on QEMU `virt`).

use smoltcp::time::Instant;

/// Address of the 64-bit `mtime` register.
const MTIME: usize = 0x0200_BFF8;
/// `mtime` ticks per microsecond (10 MHz).
const TICKS_PER_MICRO: u64 = 10;

/// Raw `mtime` ticks. On RV32 the two halves are read separately, so re-read
/// until the high half did not change under us.
pub fn ticks() -> u64 {
    let lo_ptr = MTIME as *const u32;
    let hi_ptr = (MTIME + 4) as *const u32;
    loop {
        // SAFETY: `mtime` is always-readable MMIO on the `virt` machine.
        let (hi, lo, hi2) = unsafe {
            (
                core::ptr::read_volatile(hi_ptr),
                core::ptr::read_volatile(lo_ptr),
                core::ptr::read_volatile(hi_ptr),
            )
        };
        if hi == hi2 {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

/// Time since reset as a smoltcp [`Instant`].
pub fn now() -> Instant {
    let micros = ticks() / TICKS_PER_MICRO;
    Instant::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
}
