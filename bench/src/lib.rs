//! wirekit's benchmarks; results and how to read them are in BENCHMARKS.md.
//!
//! * `cargo bench -p wirekit-bench --bench frame`: codec micro-benchmarks (criterion).
//! * `cargo bench -p wirekit-bench --bench smoltcp_sim`: smoltcp simulated-link throughput.
//! * `bench/icount.sh`: instruction counts of the same workloads under callgrind
//!   (`src/bin/icount.rs`), repeatable on a loaded machine.
//! * `bench/transfer.sh` (`PAIRS=9` for paired runs against socat), `bench/scale.sh`,
//!   `bench/firmware-size.sh`: end-to-end transfer, server scale and firmware size.

pub mod codec;
pub mod secure;
