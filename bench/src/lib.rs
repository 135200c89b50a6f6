//! Benchmarks live in `benches/`; run `cargo bench -p wirekit-bench`.
