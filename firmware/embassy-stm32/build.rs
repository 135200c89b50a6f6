//! Links with cortex-m-rt's `link.x` (embassy-stm32's `memory-x` feature supplies the
//! chip's `memory.x`), for the MCU target only; rebuilds when the key variable changes.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=WIREKIT_FW_KEY");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumb") {
        println!("cargo:rustc-link-arg-bins=--nmagic");
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
    }
}
