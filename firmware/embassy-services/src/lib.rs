//! The wirekit device services as async tasks on an [`embassy_net::Stack`]: the same ports
//! as the QEMU image (`firmware/qemu-riscv`), for firmware written on embassy.
//!
//! | port | service |
//! | --- | --- |
//! | TCP 8066 | seed handshake (demo4) with the shared key: the device challenges, judges, says nothing back |
//! | TCP 8080 | mutual seed handshake with role keys (the device as file receiver checks first), then one demo3 file into an MD5 sink |
//! | TCP 8090 | mutual seed handshake with role keys (the device as exec agent), then framed (demo2) commands from [`Commands`] |
//!
//! Each connection runs through the core's [`AsyncConn`](wirekit_core::io::AsyncConn) over
//! an embassy-net [`TcpSocket`](embassy_net::tcp::TcpSocket): the core's one drive loop, no
//! loop of its own here. The connection lifecycle (listen, idle deadline, reset on refusal,
//! clean close, listen again) is written once in [`lifecycle`]. No allocator, no executor
//! assumed: [`serve`] is one future that the application runs in an embassy task (or any
//! executor).
//!
//! embassy-net pins smoltcp 0.13: this crate does not use `wirekit-smoltcp` (smoltcp 0.14),
//! so firmware links one smoltcp.
#![no_std]

pub mod commands;
mod device;
mod idle;
pub mod lifecycle;
mod services;

pub use commands::Commands;
pub use device::{Device, DeviceKeys, LastFile, Stats};
pub use idle::{Idle, IdleError};
pub use lifecycle::SocketBuffers;
pub use services::{
    serve, Buffers, AUTH_PORT, COMMAND_PORT, FILE_PORT, MAX_FILE, SOCKETS, SOCKETS_PER_PORT,
};
