//! Challenge entropy from the board's hardware RNG: the STM32F4 family's `RNG` peripheral
//! (reference manual RM0090, section 24). There is no fallback: when the peripheral reports
//! a seed or clock error, or never gets ready, no challenge is drawn and the connection is
//! refused. A constant or a timer is not a substitute: every boot would repeat the
//! challenges, and answers recorded once would replay after a reboot.
//!
//! Another board supplies its own [`Entropy`]: its TRNG, or a CSPRNG seeded from one.

use core::ptr::{read_volatile, write_volatile};

/// Where the challenges come from. No default on purpose: an integrator must supply one.
pub trait Entropy {
    /// Fill `out` with unpredictable bytes, or fail (then the connection is refused).
    fn fill(&mut self, out: &mut [u8]) -> Result<(), RngFault>;
}

/// The RNG could not deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RngFault {
    /// Seed error (SECS) or clock error (CECS): the output must not be used.
    Health,
    /// No data ready after [`READY_SPINS`] polls.
    NotReady,
}

/// RCC AHB2 peripheral clock enable register, and its RNG bit.
const RCC_AHB2ENR: usize = 0x4002_3834;
const RCC_AHB2ENR_RNGEN: u32 = 1 << 6;
/// RNG control, status and data registers.
const RNG_CR: usize = 0x5006_0800;
const RNG_SR: usize = 0x5006_0804;
const RNG_DR: usize = 0x5006_0808;
const CR_RNGEN: u32 = 1 << 2;
const SR_DRDY: u32 = 1 << 0;
const SR_CECS: u32 = 1 << 1;
const SR_SECS: u32 = 1 << 2;
/// A word takes 40 periods of the 48 MHz RNG clock; this bound is far above that.
const READY_SPINS: u32 = 10_000;

/// The STM32F4 `RNG` peripheral.
pub struct Stm32Rng(());

impl Stm32Rng {
    /// Clock and enable the peripheral. Call once at boot, before any connection.
    pub fn enable() -> Self {
        write(RCC_AHB2ENR, read(RCC_AHB2ENR) | RCC_AHB2ENR_RNGEN);
        write(RNG_CR, read(RNG_CR) | CR_RNGEN);
        Self(())
    }

    fn word(&mut self) -> Result<u32, RngFault> {
        for _ in 0..READY_SPINS {
            let status = read(RNG_SR);
            if status & (SR_SECS | SR_CECS) != 0 {
                return Err(RngFault::Health);
            }
            if status & SR_DRDY != 0 {
                return Ok(read(RNG_DR));
            }
        }
        Err(RngFault::NotReady)
    }
}

impl Entropy for Stm32Rng {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), RngFault> {
        for chunk in out.chunks_mut(4) {
            let word = self.word()?.to_le_bytes();
            for (dst, src) in chunk.iter_mut().zip(word) {
                *dst = src;
            }
        }
        Ok(())
    }
}

#[allow(unsafe_code)]
fn read(addr: usize) -> u32 {
    // SAFETY: a 32-bit aligned RCC/RNG register of the STM32F4 memory map, used by nothing
    // else in this firmware.
    unsafe { read_volatile(addr as *const u32) }
}

#[allow(unsafe_code)]
fn write(addr: usize, value: u32) {
    // SAFETY: see `read`.
    unsafe { write_volatile(addr as *mut u32, value) }
}
