//! # wirekit-std
//!
//! Glue between the sans-IO machines of `wirekit-core` and `std::net`, plus everything the
//! `wirekit` PC binary needs around them: the command line ([`cli`]), exit codes ([`exit`]) and
//! one-line errors ([`error`]), sockets and the concurrent server loop ([`net`]), the core's
//! pump over a `TcpStream` ([`link`]) and the handshake slot ([`session`]), the demos
//! ([`tcp`], [`udp`], [`exec`], [`file`], [`auth`]), keys
//! ([`keys`], [`keygen`]), and the pieces the file and exec demos are built from: peer file
//! names ([`safe_name`]), all-or-nothing file writes ([`atomic_file`]), shell commands with
//! limits ([`runner`]), command text encodings ([`encoding`]) and transfer progress
//! ([`progress`]).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub use wirekit_core as core_machines;

pub mod app;
pub mod args;
pub mod atomic_file;
pub mod auth;
pub mod body;
pub mod cli;
pub mod console;
pub mod demo;
pub mod encoding;
pub mod error;
pub mod exec;
pub mod exit;
pub mod file;
pub mod keygen;
pub mod keys;
pub mod link;
pub mod net;
pub mod progress;
pub mod runner;
pub mod safe_name;
pub mod secure;
pub mod serial;
pub mod session;
pub mod tcp;
pub mod udp;

pub use error::{Error, Result};
pub use exit::Exit;
