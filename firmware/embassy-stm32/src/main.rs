//! The wirekit device services (`wirekit-embassy`: seed auth 8066, a file into an MD5 sink
//! 8080, commands 8090) on a NUCLEO-F429ZI: STM32F429ZI at 168 MHz, its ETH MAC in RMII
//! mode with the board's LAN8742A PHY, embassy-net at a static address, challenges from the
//! chip's hardware RNG. On the host this crate builds to a stub `main`.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod board;

#[cfg(not(target_os = "none"))]
fn main() {
    println!(
        "wirekit-embassy-stm32 is firmware: build it with `cargo build -p wirekit-embassy-stm32 \
         --target thumbv7em-none-eabihf --profile firmware`"
    );
}
