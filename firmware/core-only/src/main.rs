//! Size proof for `wirekit-core` alone on a Cortex-M4F (`thumbv7em-none-eabihf`): the seed
//! recipe's HMAC-MD5 challenge ([`SeedVerifier`]), then one demo3 file ([`FileReceiver`] on
//! the seed framing) into a sink that only counts and checksums the bytes. No network stack:
//! bytes come from a stand-in serial port ([`Uart`]) whose registers the compiler cannot see
//! through, so every path of the machines stays in the image. It links but is not meant to run.
//!
//! On the host this crate builds to a stub `main`, so `cargo build --workspace` works.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
#![deny(unsafe_code)]

#[cfg_attr(not(target_os = "none"), allow(dead_code))]
mod app;

#[cfg(target_os = "none")]
mod mcu {
    use cortex_m_rt::entry;

    #[entry]
    fn main() -> ! {
        // cortex-m-rt turns this into a safe `&'static mut`.
        static mut UART: crate::app::Uart = crate::app::Uart::new();
        crate::app::run(UART)
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
        "wirekit-core-only is firmware: build it with \
         `cargo build -p wirekit-core-only --target thumbv7em-none-eabihf --profile firmware`"
    );
}
