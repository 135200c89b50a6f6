//! Links the firmware with riscv-rt's `link.x` and this crate's `memory.x`.
//!
//! A `.cargo/config.toml` in this folder would not apply when building from the
//! workspace root, so the linker arguments come from here instead, and only when
//! building for a bare-metal RISC-V target (host `cargo clippy --workspace` must
//! still link a normal host binary).
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    // The device key is compiled in (src/services/mod.rs reads it with option_env!).
    println!("cargo:rerun-if-env-changed=WIREKIT_FW_KEY");
    let target = env::var("TARGET").unwrap_or_default();
    if !(target.starts_with("riscv32") && target.ends_with("-none-elf")) {
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    // memory.x must come before riscv-rt's link.x, which uses its REGION_* aliases.
    println!("cargo:rustc-link-arg-bins=-Tmemory.x");
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
}
