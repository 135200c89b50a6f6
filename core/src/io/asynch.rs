//! The async pump: [`Conn`](super::Conn)'s methods over `embedded_io_async::{Read, Write}`,
//! for embassy-net's `TcpSocket` (which implements both) or any async stream behind an
//! adapter. No executor is assumed: every method is an `async fn` the caller awaits on its
//! own executor; dropping a future between awaits loses nothing the buffer holds.

use core::ops::ControlFlow;

use embedded_io_async::{Read, Write};

use super::{receive_step, DriveError, FileIoError, Incoming, Next, RxBuf};
use crate::auth::{Handshake, Outcome};
use crate::drive::{Action, Driver, Step, Transmit};
use crate::frame::{FrameConfig, FrameError, FrameReader};
use crate::transfer::{FileReceiver, FileSender};
use crate::Machine;

/// An async transport plus an `N`-byte receive buffer.
#[derive(Debug)]
pub struct AsyncConn<T, const N: usize = 4096> {
    io: T,
    rx: RxBuf<N>,
}

pump_impl!(AsyncConn, Read, Write, [async], [.await]);
