//! A stand-in for an Ethernet MAC driver: one receive and one transmit DMA buffer.
//!
//! On real hardware `receive` checks the MAC's receive descriptor and `transmit` hands a
//! frame to its transmit descriptor. Here the descriptor's length is read through
//! `core::hint::black_box`, so the compiler cannot prove that no frame ever arrives and keeps
//! the whole receive path: the size numbers are those of a firmware that really networks.

use core::hint::black_box;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Ethernet frame buffer size (1500-byte MTU + 14-byte header, rounded up).
pub const FRAME_LEN: usize = 1536;

/// Receive and transmit buffers, as a MAC's DMA would own them.
pub struct StubMac {
    rx: [u8; FRAME_LEN],
    rx_len: usize,
    tx: [u8; FRAME_LEN],
}

impl StubMac {
    /// An idle MAC.
    pub const fn new() -> Self {
        Self { rx: [0; FRAME_LEN], rx_len: 0, tx: [0; FRAME_LEN] }
    }
}

/// A received frame, borrowed from the DMA buffer.
pub struct RxToken<'a>(&'a [u8]);

/// Room for one frame in the transmit DMA buffer.
pub struct TxToken<'a>(&'a mut [u8; FRAME_LEN]);

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let (frame, _) = self.0.split_at_mut(len.min(FRAME_LEN));
        let result = f(frame);
        // "Start DMA": the frame leaves through a register the compiler cannot see into.
        black_box(&frame);
        result
    }
}

impl Device for StubMac {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        // The descriptor's length register.
        let len = black_box(self.rx_len).min(FRAME_LEN);
        if len == 0 {
            return None;
        }
        self.rx_len = 0;
        let (frame, _) = self.rx.split_at(len);
        Some((RxToken(frame), TxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = FRAME_LEN;
        caps
    }
}
