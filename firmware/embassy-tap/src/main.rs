//! The `wirekit-embassy` services on embassy-net over a Linux TAP device, on embassy's std
//! executor: the proof that the firmware's code serves the kernel's TCP (see
//! `tests/tap.rs`, which runs this binary in a network namespace).
//!
//! `wirekit-embassy-tap TAP ADDRESS/PREFIX` opens (or creates) the TAP device `TAP` in the
//! current network namespace and serves ports 8066, 8080 and 8090 at `ADDRESS`. The shared
//! key comes from `WIREKIT_KEY` (required, not empty). Challenges come from the OS's CSPRNG.
//! It prints `listening on ADDRESS:PORT` to stderr for each port once the stack is
//! configured, then a log line per
//! event; it runs until killed.

use std::io::Write;
use std::net::Ipv4Addr;

use embassy_executor::Spawner;
use embassy_net::{Config, Ipv4Cidr, Runner, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use static_cell::StaticCell;
use wirekit_embassy::{
    serve, Buffers, Device, DeviceKeys, AUTH_PORT, COMMAND_PORT, FILE_PORT, SOCKETS,
};

mod rng;

use rng::OsRng;

/// The MAC of the device's side (locally administered, unicast).
const MAC: [u8; 6] = [0x02, 0, 0, 0x78, 0, 2];

/// Parsed command line.
struct Args {
    tap: String,
    address: Ipv4Addr,
    prefix: u8,
    key: Vec<u8>,
}

fn parse_args() -> Result<Args, String> {
    let usage = "usage: WIREKIT_KEY=KEY wirekit-embassy-tap TAP ADDRESS/PREFIX";
    let mut args = std::env::args().skip(1);
    let (Some(tap), Some(cidr), None) = (args.next(), args.next(), args.next()) else {
        return Err(usage.into());
    };
    let (address, prefix) = cidr.split_once('/').ok_or(usage)?;
    let address = address.parse().map_err(|e| format!("address {address:?}: {e}"))?;
    let prefix = prefix
        .parse()
        .ok()
        .filter(|p| *p <= 32)
        .ok_or_else(|| format!("prefix {prefix:?}: not 0..=32"))?;
    let key =
        std::env::var("WIREKIT_KEY").map_err(|_| format!("WIREKIT_KEY is not set\n{usage}"))?;
    if key.is_empty() {
        return Err("WIREKIT_KEY is empty".into());
    }
    Ok(Args { tap, address, prefix, key: key.into_bytes() })
}

/// One line to stderr in one write: stderr is unbuffered, and a reader must never see half
/// a `listening on` line.
fn line(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().write_all(format!("{args}\n").as_bytes());
}

/// Log lines to stderr (the test collects them).
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        line(format_args!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn services_task(
    stack: embassy_net::Stack<'static>,
    device: &'static Device<'static, OsRng>,
    buffers: &'static mut Buffers,
) {
    stack.wait_config_up().await;
    if let Some(config) = stack.config_v4() {
        let address = config.address.address();
        for port in [AUTH_PORT, FILE_PORT, COMMAND_PORT] {
            line(format_args!("listening on {address}:{port}"));
        }
    }
    let never = serve(stack, device, buffers).await;
    match never {}
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    if let Err(e) = start(spawner) {
        eprintln!("wirekit-embassy-tap: {e}");
        std::process::exit(2);
    }
}

fn start(spawner: Spawner) -> Result<(), String> {
    let args = parse_args()?;
    let _ = log::set_logger(&StderrLog).map(|()| log::set_max_level(log::LevelFilter::Info));
    let mut tap =
        TunTapDevice::new(&args.tap).map_err(|e| format!("cannot open TAP {}: {e}", args.tap))?;
    tap.set_hardware_address(MAC);
    let config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(args.address, args.prefix),
        gateway: None,
        dns_servers: Default::default(),
    });

    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    static BUFFERS: StaticCell<Buffers> = StaticCell::new();
    static DEVICE: StaticCell<Device<'static, OsRng>> = StaticCell::new();
    static KEY: StaticCell<Vec<u8>> = StaticCell::new();

    let seed = u64::from_le_bytes(OsRng::bytes());
    let (stack, runner) =
        embassy_net::new(tap, config, RESOURCES.init(StackResources::new()), seed);
    let key: &'static [u8] = KEY.init(args.key);
    let device = DEVICE.init(Device::new(DeviceKeys::derive(key), OsRng));
    spawner.spawn(net_task(runner).map_err(|e| spawn_failed("net", e))?);
    spawner.spawn(
        services_task(stack, device, BUFFERS.init(Buffers::new()))
            .map_err(|e| spawn_failed("services", e))?,
    );
    Ok(())
}

fn spawn_failed(what: &str, e: embassy_executor::SpawnError) -> String {
    format!("cannot spawn the {what} task: {e:?}")
}
