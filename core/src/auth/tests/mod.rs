//! Tests for the auth machines: Python transcripts, in-memory pairs, edge cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![allow(clippy::large_enum_variant, clippy::type_complexity)] // test tables

mod driver;
mod edge;
mod mutual;
mod pairs;
mod py312;
mod vectors;
