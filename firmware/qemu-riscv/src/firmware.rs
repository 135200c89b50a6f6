//! Entry point, main loop, panic and trap handlers (bare-metal RISC-V only).

use core::fmt::Write;
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::phy::Device;
use smoltcp::time::Duration;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};
use wirekit_core::datagram::IpVersion;
use wirekit_smoltcp::unfragmented_max_payload;

use crate::entropy::{Entropy, VirtioRng};
use crate::idle::Idle;
use crate::net::{find_transport, Buffers, VirtioNet};
use crate::services::{self, Services};
use crate::uart::Uart;
use crate::{announce, clock, dma, uart};

/// Guest address on QEMU's user-mode network (its default DHCP lease).
const GUEST_IP: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
/// Prefix length of slirp's 10.0.2.0/24.
const PREFIX_LEN: u8 = 24;
/// slirp's gateway (and host alias).
const GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);

/// Hands out a `&'static mut` to a fresh static. Each expansion has its own
/// static and runs once, from `main`, which never returns.
macro_rules! singleton {
    ($ty:ty = $init:expr) => {{
        static mut CELL: $ty = $init;
        // SAFETY: this expansion is reached exactly once (straight-line code in
        // `main`), so the reference is unique.
        unsafe { &mut *core::ptr::addr_of_mut!(CELL) }
    }};
}

#[riscv_rt::entry]
fn main() -> ! {
    uart::init_logger(log::LevelFilter::Info);
    log::info!("wirekit-fw-qemu {} booting", env!("CARGO_PKG_VERSION"));

    // The entropy source first (any order works: the scan does not touch other devices).
    let rng = find_transport(virtio_drivers::transport::DeviceType::EntropySource).and_then(
        |(base, transport)| match VirtioRng::new(transport) {
            Ok(mut rng) => {
                // Polled, never interrupt-driven.
                rng.disable_interrupts();
                log::info!("virtio-rng at {base:#x}");
                Some(rng)
            }
            Err(e) => {
                log::error!("virtio-rng at {base:#x}: {e}");
                None
            }
        },
    );

    let buffers = singleton!(Buffers = Buffers::new());
    let mut dev = match VirtioNet::new(buffers) {
        Ok(dev) => dev,
        Err(e) => halt(format_args!("network init failed: {e}")),
    };
    let mac = EthernetAddress(dev.mac());
    log::info!("mac {mac}, {} DMA pages used", dma::pages_used());

    let mut config = Config::new(HardwareAddress::Ethernet(mac));
    // Not cryptographic: only needs to differ between boots (TCP ISNs, ports).
    config.random_seed =
        clock::ticks() ^ u64::from(u32::from_le_bytes([mac.0[2], mac.0[3], mac.0[4], mac.0[5]]));
    let mut iface = Interface::new(config, &mut dev, clock::now());
    iface.update_ip_addrs(|addrs| {
        if addrs.push(IpCidr::new(GUEST_IP.into(), PREFIX_LEN)).is_err() {
            log::error!("no room for the IP address");
        }
    });
    if let Err(e) = iface.routes_mut().add_default_ipv4_route(GATEWAY) {
        log::error!("default route: {e}");
    }
    log::info!("ip {GUEST_IP}/{PREFIX_LEN}, gateway {GATEWAY}");

    if !dev.send_raw(&announce::arp_request(mac, GUEST_IP, GATEWAY)) {
        log::warn!("could not send the boot ARP request");
    }

    let socket_storage = singleton!(
        [SocketStorage<'static>; services::SOCKET_SLOTS] = [SocketStorage::EMPTY; services::SOCKET_SLOTS]
    );
    let mut sockets = SocketSet::new(&mut socket_storage[..]);
    let storage = singleton!(services::Storage = services::Storage::new());
    let metadata = singleton!(services::Metadata = services::Metadata::new());
    let mut boot_noise = [0u8; 14];
    boot_noise[..8].copy_from_slice(&clock::ticks().to_le_bytes());
    boot_noise[8..].copy_from_slice(&mac.0);
    let challenges = Entropy::new(rng, &boot_noise);
    let udp_link_max = unfragmented_max_payload(&dev.capabilities(), IpVersion::V4);
    let keys = singleton!(Option<services::DeviceKeys> = None)
        .insert(services::DeviceKeys::derive(services::KEY));
    let mut services =
        Services::new(storage, metadata, &mut sockets, challenges, keys, udp_link_max);

    let idle = Idle::new(dev.base());
    log::info!("ready (sleeping on PLIC source {} between polls)", idle.irq());
    loop {
        // Acknowledge first: anything arriving after this raises the line again
        // and makes the `wfi` below return at once.
        dev.ack_interrupt();
        idle.clear();
        let now = clock::now();
        iface.poll(now, &mut dev, &mut sockets);
        // A session stops at each event with bytes possibly still waiting: poll again
        // before sleeping whenever something moved.
        if services.run(now, &mut sockets) {
            continue;
        }
        let delay = iface.poll_delay(clock::now(), &sockets);
        if delay == Some(Duration::ZERO) || dev.rx_pending() {
            continue;
        }
        idle.wait(delay);
    }
}

/// Logs a fatal condition and parks the hart.
fn halt(args: core::fmt::Arguments<'_>) -> ! {
    log::error!("{args}; halting");
    park()
}

fn park() -> ! {
    loop {
        // SAFETY: `wfi` only waits; with no interrupts enabled it may return at
        // any time, hence the loop.
        unsafe { core::arch::asm!("wfi") };
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // Bypass `log`: the panic may have come from inside the logger.
    let _ = writeln!(Uart, "\nPANIC: {info}");
    park()
}

/// Traps that riscv-rt has no handler for (e.g. a bad MMIO access): report and park.
#[export_name = "ExceptionHandler"]
fn exception_handler(frame: &riscv_rt::TrapFrame) -> ! {
    let (mcause, mepc, mtval): (usize, usize, usize);
    // SAFETY: reading machine-mode CSRs in M-mode has no side effects.
    unsafe {
        core::arch::asm!("csrr {}, mcause", out(reg) mcause);
        core::arch::asm!("csrr {}, mepc", out(reg) mepc);
        core::arch::asm!("csrr {}, mtval", out(reg) mtval);
    }
    let _ = writeln!(
        Uart,
        "\nEXCEPTION mcause={mcause:#x} mepc={mepc:#x} mtval={mtval:#x} ra={:#x}",
        frame.ra
    );
    park()
}
