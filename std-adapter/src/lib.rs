//! std::net glue for `wirekit-core`. Skeleton: the adapter lands with its own issue.
#![deny(unsafe_code)]

pub use wirekit_core as core_machines;
