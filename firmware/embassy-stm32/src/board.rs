//! Board bring-up: clocks, RNG, Ethernet, the stack, and the two tasks.

use core::convert::Infallible;

use embassy_executor::Spawner;
use embassy_net::{Config, Ipv4Address, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_stm32::eth::{self, Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA, RNG};
use embassy_stm32::rng::{self, Rng};
use embassy_stm32::time::Hertz;
use embassy_stm32::{bind_interrupts, Config as ChipConfig};
use rand_core::{TryCryptoRng, TryRng};
use static_cell::StaticCell;
use wirekit_embassy::{serve, Buffers, Device, DeviceKeys, SOCKETS};

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    HASH_RNG => rng::InterruptHandler<RNG>;
});

/// The shared key, fixed at build time: `WIREKIT_FW_KEY=... cargo build ...` (default `egg`,
/// the seed's example key; a real device keeps 32 random bytes of its own in protected
/// storage, as `wirekit keygen` writes them).
const KEY: &[u8] = match option_env!("WIREKIT_FW_KEY") {
    Some(key) => key.as_bytes(),
    None => b"egg",
};
const _: () = assert!(!KEY.is_empty(), "WIREKIT_FW_KEY must not be empty");

/// The board's address (static: no DHCP socket, no wait for a server).
const ADDRESS: Ipv4Cidr = Ipv4Cidr::new(Ipv4Address::new(192, 168, 1, 50), 24);
/// Locally administered, unicast.
const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x42, 0x9f, 0x01];

type Eth = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;

/// The hardware RNG as the `rand_core` generator the services draw challenges from.
struct HardwareRng(Rng<'static, RNG>);

impl TryRng for HardwareRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

/// The STM32 RNG is a TRNG (NIST SP 800-22 tested by ST), as docs/protocol.md section 3 asks.
impl TryCryptoRng for HardwareRng {}

/// 8 MHz from the ST-LINK's MCO (HSE bypass) -> PLL: 168 MHz system clock, 48 MHz for the RNG.
fn clocks() -> ChipConfig {
    use embassy_stm32::rcc::{
        mux, AHBPrescaler, APBPrescaler, Hse, HseMode, Pll, PllMul, PllPDiv, PllPreDiv, PllQDiv,
        PllSource, Sysclk,
    };
    let mut config = ChipConfig::default();
    config.rcc.hse = Some(Hse { freq: Hertz(8_000_000), mode: HseMode::Bypass });
    config.rcc.pll_src = PllSource::HSE;
    config.rcc.pll = Some(Pll {
        prediv: PllPreDiv::DIV4,
        mul: PllMul::MUL168,
        divp: Some(PllPDiv::DIV2),
        divq: Some(PllQDiv::DIV7),
        divr: None,
    });
    config.rcc.ahb_pre = AHBPrescaler::DIV1;
    config.rcc.apb1_pre = APBPrescaler::DIV4;
    config.rcc.apb2_pre = APBPrescaler::DIV2;
    config.rcc.sys = Sysclk::PLL1_P;
    config.rcc.mux.clk48sel = mux::Clk48sel::PLL1_Q;
    config
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Eth>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn services_task(
    stack: Stack<'static>,
    device: &'static Device<'static, HardwareRng>,
    buffers: &'static mut Buffers,
) {
    let never = serve(stack, device, buffers).await;
    match never {}
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_stm32::init(clocks());
    let mut rng = HardwareRng(Rng::new(p.RNG, Irqs));
    let seed = rng.0.next_u64();

    static PACKETS: StaticCell<PacketQueue<4, 4>> = StaticCell::new();
    // NUCLEO-F429ZI RMII pins (UM1974): REF_CLK PA1, CRS_DV PA7, RXD0 PC4, RXD1 PC5,
    // TXD0 PG13, TXD1 PB13, TX_EN PG11; MDIO PA2, MDC PC1.
    let eth = Ethernet::new(
        PACKETS.init(PacketQueue::new()),
        p.ETH,
        Irqs,
        p.PA1,
        p.PA7,
        p.PC4,
        p.PC5,
        p.PG13,
        p.PB13,
        p.PG11,
        MAC,
        p.ETH_SMA,
        p.PA2,
        p.PC1,
    );
    let config = Config::ipv4_static(StaticConfigV4 {
        address: ADDRESS,
        gateway: None,
        dns_servers: Default::default(),
    });

    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    static KEYS: StaticCell<DeviceKeys<'static>> = StaticCell::new();
    static DEVICE: StaticCell<Device<'static, HardwareRng>> = StaticCell::new();
    static BUFFERS: StaticCell<Buffers> = StaticCell::new();
    let (stack, runner) =
        embassy_net::new(eth, config, RESOURCES.init(StackResources::new()), seed);
    let keys = *KEYS.init(DeviceKeys::derive(KEY));
    let device = DEVICE.init(Device::new(keys, rng));
    // Spawning fails only when a task is already running; each runs once.
    if let Ok(token) = net_task(runner) {
        spawner.spawn(token);
    }
    if let Ok(token) = services_task(stack, device, BUFFERS.init(Buffers::new())) {
        spawner.spawn(token);
    }
}

/// No unwinding and no output channel: stop here (a debugger shows where).
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
