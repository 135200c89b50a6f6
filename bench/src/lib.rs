//! wirekit's benchmarks; results and how to read them are in BENCHMARKS.md.
//!
//! * `cargo bench -p wirekit-bench --bench frame`: codec micro-benchmarks (criterion).
//! * `cargo bench -p wirekit-bench --bench smoltcp_sim`: smoltcp simulated-link throughput.
//! * `bench/transfer.sh`, `bench/scale.sh`, `bench/firmware-size.sh`: end-to-end transfer,
//!   server scale and firmware size.
