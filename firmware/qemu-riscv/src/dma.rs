//! virtio-drivers `Hal` for a machine without an MMU: physical = virtual, and DMA
//! memory comes from a static page pool with a bump allocator (no heap).
//!
//! Queues are allocated once at boot and never freed, so `dma_dealloc` does not
//! return pages to the pool.

use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};
use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};

/// Pages in the pool. The two virtqueues of a legacy virtio-net with
/// [`crate::net::QUEUE_SIZE`] = 32 need 2 pages each; the rest is headroom.
const POOL_PAGES: usize = 16;

#[repr(C, align(4096))]
struct Pool(UnsafeCell<[[u8; PAGE_SIZE]; POOL_PAGES]>);

// SAFETY: pages are handed out at most once (bump allocator) and then owned by the
// virtio driver; a single hart runs the firmware.
unsafe impl Sync for Pool {}

static POOL: Pool = Pool(UnsafeCell::new([[0; PAGE_SIZE]; POOL_PAGES]));
static NEXT_PAGE: AtomicUsize = AtomicUsize::new(0);

/// Pages handed out so far (for the boot log).
pub fn pages_used() -> usize {
    NEXT_PAGE.load(Ordering::Relaxed)
}

/// The [`Hal`] used by the virtio drivers.
pub struct IdentityHal;

// SAFETY: `dma_alloc` returns zeroed, page-aligned, exclusively owned memory whose
// physical address equals its virtual address (no MMU, M-mode); `share` returns the
// buffer's own address for the same reason.
unsafe impl Hal for IdentityHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let first = NEXT_PAGE.fetch_add(pages, Ordering::Relaxed);
        if first.saturating_add(pages) > POOL_PAGES {
            log::error!("DMA pool exhausted: want {pages} pages at {first}/{POOL_PAGES}");
            // virtio-drivers turns a zero physical address into Error::DmaError.
            return (0, NonNull::dangling());
        }
        let base = POOL.0.get().cast::<[u8; PAGE_SIZE]>();
        // SAFETY: `first + pages <= POOL_PAGES`, so the pointer stays inside POOL.
        let start = unsafe { base.add(first) }.cast::<u8>();
        // SAFETY: those pages were never handed out before; zero them (the pool
        // starts zeroed, this keeps the contract explicit if the pool is reused).
        unsafe { core::ptr::write_bytes(start, 0, pages * PAGE_SIZE) };
        let vaddr = NonNull::new(start).unwrap_or(NonNull::dangling());
        (start as usize as PhysAddr, vaddr)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as usize as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.cast::<u8>().as_ptr() as usize as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
