//! wirekit firmware proof for a Cortex-M4F (`thumbv7em-none-eabihf`): a smoltcp agent that
//! authenticates its controller (the seed recipe's HMAC-MD5 challenge), receives a file into
//! an MD5 sink and answers commands from a built-in table. No allocator, no `std`.
//! Challenges come from the STM32F4's hardware RNG ([`rng`]).
//!
//! The network device is a stand-in for a MAC driver ([`device::StubMac`]); the firmware
//! builds and links but is not meant to run. `size.sh` prints its flash and RAM use.
//! On the host this crate builds to a stub `main`, so `cargo build --workspace` works.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
#![deny(unsafe_code)]

#[cfg_attr(not(target_os = "none"), allow(dead_code))]
mod app;
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
mod device;
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
mod rng;

#[cfg(target_os = "none")]
mod mcu {
    use cortex_m_rt::entry;

    #[entry]
    fn main() -> ! {
        // cortex-m-rt turns these into safe `&'static mut`s.
        static mut SLOTS: crate::app::SlotsCell = crate::app::SlotsCell::Unset;
        static mut STORAGE: crate::app::Storage = crate::app::Storage::new();
        crate::app::run(SLOTS.fill(), STORAGE, crate::rng::Stm32Rng::enable())
    }

    /// No unwinding and no output channel: stop here (a debugger shows where).
    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
        loop {
            core::hint::spin_loop();
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    println!(
        "wirekit-mcu-example is firmware: build it with \
         `cargo build -p wirekit-mcu-example --target thumbv7em-none-eabihf --profile firmware`"
    );
}
