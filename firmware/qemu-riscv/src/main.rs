//! wirekit firmware image for QEMU's riscv32 `virt` machine: virtio-net driven
//! by smoltcp, no allocator, log on the 16550 UART.
//!
//! Build (from the workspace root):
//! `cargo build -p wirekit-fw-qemu --profile firmware --target riscv32imac-unknown-none-elf`
//!
//! Built for the host (e.g. by `cargo clippy --workspace`), this is a stub that
//! says how to build the real image; the platform modules still compile and their
//! host-testable parts are unit-tested.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

mod announce;
mod clock;
mod dma;
mod entropy;
mod idle;
mod net;
mod services;
mod uart;

#[cfg(all(target_arch = "riscv32", target_os = "none"))]
mod firmware;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "wirekit-fw-qemu is a firmware image; build it with \
         `cargo build -p wirekit-fw-qemu --profile firmware --target riscv32imac-unknown-none-elf`"
    );
}
