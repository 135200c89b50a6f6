//! virtio-net on the `virt` machine's MMIO bus as a smoltcp [`Device`], with no
//! allocator: receive and transmit buffers are static arrays that stay posted to
//! the device (`VirtIONetRaw`'s non-blocking begin/poll/complete API).

use core::ptr::NonNull;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};

use crate::dma::IdentityHal;

/// Descriptors per virtqueue (a power of two).
pub const QUEUE_SIZE: usize = 32;
/// Receive buffers kept posted to the device (one descriptor each).
pub const RX_SLOTS: usize = 16;
/// Transmit buffers; a frame occupies one until the device has consumed it.
pub const TX_SLOTS: usize = 16;
/// Room for a virtio-net header (10 or 12 bytes) plus a 1514-byte Ethernet frame,
/// at least virtio-drivers' 1526-byte minimum for receive buffers.
pub const BUF_LEN: usize = 1536;
/// Largest Ethernet frame (without FCS) that fits a buffer after the header.
const MTU: usize = 1514;

/// First virtio MMIO slot on `virt`; QEMU fills slots from the top (0x1000_8000) down.
const VIRTIO_MMIO_BASE: usize = 0x1000_1000;
/// Distance between virtio MMIO slots.
const VIRTIO_MMIO_STRIDE: usize = 0x1000;
/// The DeviceID register of a virtio MMIO slot (after MagicValue and Version).
const DEVICE_ID_OFFSET: usize = 0x008;
/// Number of virtio MMIO slots on `virt`.
const VIRTIO_MMIO_SLOTS: usize = 8;

/// The driver type used by this firmware.
pub type NetDriver = VirtIONetRaw<IdentityHal, MmioTransport<'static>, QUEUE_SIZE>;

/// Statically allocated packet buffers; must outlive the driver (they are 'static).
pub struct Buffers {
    rx: [[u8; BUF_LEN]; RX_SLOTS],
    tx: [[u8; BUF_LEN]; TX_SLOTS],
}

impl Buffers {
    /// All-zero buffers, for a `static`.
    pub const fn new() -> Self {
        Self { rx: [[0; BUF_LEN]; RX_SLOTS], tx: [[0; BUF_LEN]; TX_SLOTS] }
    }
}

/// Why bringing up the network device failed.
#[derive(Debug)]
pub enum InitError {
    /// No virtio MMIO slot holds a network device.
    NoNetworkDevice,
    /// virtio-drivers rejected the device or ran out of DMA pages.
    Driver(virtio_drivers::Error),
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoNetworkDevice => write!(f, "no virtio-net device in the MMIO slots"),
            Self::Driver(e) => write!(f, "virtio-net driver: {e}"),
        }
    }
}

/// Scans the virtio MMIO slots and returns the transport of the first network device.
pub fn find_network_transport() -> Option<(usize, MmioTransport<'static>)> {
    find_transport(DeviceType::Network)
}

/// Scans the virtio MMIO slots and returns the transport of the first device of `kind`
/// (the network card; the entropy source, `-device virtio-rng-device`).
pub fn find_transport(kind: DeviceType) -> Option<(usize, MmioTransport<'static>)> {
    (0..VIRTIO_MMIO_SLOTS).map(|slot| VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE).find_map(
        |base| {
            // Look at the device id first: a transport that is made and dropped resets its
            // device (virtio-drivers' `Drop`), which would stop a device already in use
            // (the network card, when the entropy source is looked for after it).
            // SAFETY: every slot is a valid, aligned virtio MMIO region on `virt`; reading
            // its DeviceID register has no side effects.
            let id = unsafe { core::ptr::read_volatile((base + DEVICE_ID_OFFSET) as *const u32) };
            if DeviceType::try_from(id).ok() != Some(kind) {
                return None;
            }
            let header = NonNull::new(base as *mut VirtIOHeader)?;
            // SAFETY: as above; the slot holds a device of `kind`, claimed once at boot (one
            // scan per kind).
            let transport = unsafe { MmioTransport::new(header, VIRTIO_MMIO_STRIDE) }.ok()?;
            log::debug!("virtio slot {base:#x}: {:?}", transport.device_type());
            (transport.device_type() == kind).then_some((base, transport))
        },
    )
}

/// Owns the driver and the buffers; implements smoltcp's [`Device`].
pub struct VirtioNet {
    driver: NetDriver,
    base: usize,
    rx: RxRing,
    tx: TxRing,
}

struct RxRing {
    bufs: &'static mut [[u8; BUF_LEN]; RX_SLOTS],
    /// Device token of each posted buffer; `None` when not posted.
    tokens: [Option<u16>; RX_SLOTS],
}

struct TxRing {
    bufs: &'static mut [[u8; BUF_LEN]; TX_SLOTS],
    /// Device token and submitted length of each in-flight buffer.
    in_flight: [Option<(u16, usize)>; TX_SLOTS],
}

impl VirtioNet {
    /// Finds the device, initialises it and posts every receive buffer.
    pub fn new(buffers: &'static mut Buffers) -> Result<Self, InitError> {
        let (base, transport) = find_network_transport().ok_or(InitError::NoNetworkDevice)?;
        log::info!("virtio-net at {base:#x}");
        let driver = NetDriver::new(transport).map_err(InitError::Driver)?;
        let Buffers { rx, tx } = buffers;
        let mut dev = Self {
            driver,
            base,
            rx: RxRing { bufs: rx, tokens: [None; RX_SLOTS] },
            tx: TxRing { bufs: tx, in_flight: [None; TX_SLOTS] },
        };
        dev.rx.repost_all(&mut dev.driver).map_err(InitError::Driver)?;
        Ok(dev)
    }

    /// MMIO base address of the device (selects its interrupt line).
    pub fn base(&self) -> usize {
        self.base
    }

    /// Acknowledges the device's interrupt so its line drops.
    pub fn ack_interrupt(&mut self) {
        self.driver.ack_interrupt();
    }

    /// Whether a received frame is waiting to be handed to smoltcp.
    pub fn rx_pending(&self) -> bool {
        self.driver.poll_receive().is_some()
    }

    /// The device's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.driver.mac_address()
    }

    /// Sends one frame outside smoltcp (used for the boot-time ARP announcement).
    /// Returns false if no transmit buffer was free.
    pub fn send_raw(&mut self, frame: &[u8]) -> bool {
        let Some(token) = self.tx.take(&mut self.driver) else {
            return false;
        };
        let len = frame.len().min(MTU);
        token.submit(len, |buf| buf.copy_from_slice(&frame[..len]));
        true
    }
}

impl RxRing {
    /// Posts every buffer that is not currently owned by the device.
    fn repost_all(&mut self, driver: &mut NetDriver) -> Result<(), virtio_drivers::Error> {
        for (buf, token) in self.bufs.iter_mut().zip(self.tokens.iter_mut()) {
            if token.is_none() {
                // SAFETY: the buffer is 'static and is not touched again until the
                // device returns it through `receive_complete` below.
                *token = Some(unsafe { driver.receive_begin(buf)? });
            }
        }
        Ok(())
    }

    /// Takes the next completed buffer from the device: (slot, header len, frame len).
    fn complete_one(&mut self, driver: &mut NetDriver) -> Option<(usize, usize, usize)> {
        let done = driver.poll_receive()?;
        let Some(slot) = self.tokens.iter().position(|t| *t == Some(done)) else {
            // Would be a driver bug; the entry stays in the used ring.
            log::error!("virtio-net rx: unknown token {done}");
            return None;
        };
        self.tokens[slot] = None;
        // SAFETY: same buffer that was posted with this token.
        match unsafe { driver.receive_complete(done, &mut self.bufs[slot]) } {
            Ok((hdr, len)) => Some((slot, hdr, len)),
            Err(e) => {
                log::warn!("virtio-net rx: {e}");
                None
            }
        }
    }
}

impl TxRing {
    /// Reclaims buffers the device has finished sending.
    fn reclaim(&mut self, driver: &mut NetDriver) {
        while let Some(done) = driver.poll_transmit() {
            let Some(slot) =
                self.in_flight.iter().position(|f| matches!(f, Some((t, _)) if *t == done))
            else {
                log::error!("virtio-net tx: unknown token {done}");
                return;
            };
            let Some((_, len)) = self.in_flight[slot].take() else {
                return;
            };
            // SAFETY: same buffer (and length) that was submitted with this token.
            if let Err(e) = unsafe { driver.transmit_complete(done, self.tx_slice(slot, len)) } {
                log::warn!("virtio-net tx complete: {e}");
            }
        }
    }

    fn tx_slice(&self, slot: usize, len: usize) -> &[u8] {
        &self.bufs[slot][..len]
    }

    /// Whether a frame could be submitted now.
    fn has_room(&mut self, driver: &mut NetDriver) -> bool {
        self.reclaim(driver);
        driver.can_send() && self.in_flight.iter().any(Option::is_none)
    }

    /// A free buffer and the driver to submit it with, if the device has room.
    fn take<'a>(&'a mut self, driver: &'a mut NetDriver) -> Option<VirtioTxToken<'a>> {
        self.reclaim(driver);
        if !driver.can_send() {
            return None;
        }
        let slot = self.in_flight.iter().position(Option::is_none)?;
        Some(VirtioTxToken { driver, ring: self, slot })
    }
}

/// A received frame, borrowed from its receive buffer until consumed.
pub struct VirtioRxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for VirtioRxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

/// A free transmit buffer; consuming it submits the frame to the device.
pub struct VirtioTxToken<'a> {
    driver: &'a mut NetDriver,
    ring: &'a mut TxRing,
    slot: usize,
}

impl VirtioTxToken<'_> {
    /// Writes the virtio header, lets `fill` write `len` frame bytes, submits.
    /// A frame the device refuses is dropped (and logged), like a lost packet.
    fn submit<R>(self, len: usize, fill: impl FnOnce(&mut [u8]) -> R) -> R {
        let len = len.min(MTU);
        let buf = &mut self.ring.bufs[self.slot];
        let hdr = match self.driver.fill_buffer_header(buf) {
            Ok(hdr) => hdr,
            Err(e) => {
                log::warn!("virtio-net tx header: {e}");
                return fill(&mut [0u8; MTU][..len]);
            }
        };
        // hdr <= 12 and len <= MTU, so this fits BUF_LEN.
        let total = hdr + len;
        let result = fill(&mut buf[hdr..total]);
        // SAFETY: the buffer is 'static and not touched until `reclaim` sees this
        // token completed and calls `transmit_complete` with the same slice.
        match unsafe { self.driver.transmit_begin(&buf[..total]) } {
            Ok(token) => self.ring.in_flight[self.slot] = Some((token, total)),
            Err(e) => log::warn!("virtio-net tx: {e}"),
        }
        result
    }
}

impl phy::TxToken for VirtioTxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        self.submit(len, f)
    }
}

impl Device for VirtioNet {
    type RxToken<'a> = VirtioRxToken<'a>;
    type TxToken<'a> = VirtioTxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        // Buffers handed to smoltcp by the previous call have been consumed by now.
        if let Err(e) = self.rx.repost_all(&mut self.driver) {
            log::warn!("virtio-net rx repost: {e}");
        }
        // Only take a frame off the device when smoltcp can also answer it;
        // otherwise it stays queued in the device until the next poll.
        if !self.tx.has_room(&mut self.driver) {
            return None;
        }
        let (slot, hdr, len) = self.rx.complete_one(&mut self.driver)?;
        let Self { driver, rx, tx, .. } = self;
        let tx_token = tx.take(driver)?;
        let frame = rx.bufs[slot].get(hdr..hdr + len)?;
        Some((VirtioRxToken { frame }, tx_token))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Self::TxToken<'_>> {
        self.tx.take(&mut self.driver)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(RX_SLOTS);
        caps
    }
}
