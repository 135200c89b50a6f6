//! Helpers for the QEMU firmware test: locating QEMU, building the image,
//! running QEMU under a guard that always kills it, and reading the image's
//! section sizes from its ELF headers (no `llvm-size` needed).

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub mod pc;
pub mod peer;

/// The firmware's target triple.
pub const TARGET: &str = "riscv32imac-unknown-none-elf";
/// The firmware's package name.
pub const PACKAGE: &str = "wirekit-fw-qemu";

/// Workspace root (this crate lives in `firmware/qemu-test`).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Finds `qemu-system-riscv32`: `$WIREKIT_QEMU`, then where
/// `firmware/qemu-riscv/install-qemu.sh` puts it by default, then `$PATH`.
pub fn find_qemu() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("WIREKIT_QEMU") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("WIREKIT_QEMU={} does not exist", path.display()))
        };
    }
    let installed = workspace_root().join("target/qemu/root/usr/bin/qemu-system-riscv32");
    if installed.is_file() {
        return Ok(installed);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("qemu-system-riscv32"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "qemu-system-riscv32 not found (not in $WIREKIT_QEMU, {}, or $PATH); \
                 install it with firmware/qemu-riscv/install-qemu.sh",
                installed.display()
            )
        })
}

/// The key the test builds into the image (`WIREKIT_FW_KEY`): 16 bytes or more, so the
/// secure ports are on (the firmware's default, the seed's `egg`, leaves them off).
pub const KEY: &str = "wirekit qemu test key, 32 bytes!";

/// Runs `cargo build ARGS` in the workspace with its own target directory `target/<dir>`:
/// the `cargo test` that runs this test may still hold the lock on the workspace's `target/`.
fn cargo_build(dir: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<PathBuf, String> {
    let root = workspace_root();
    let target_dir = root.join("target").join(dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .arg("build")
        .args(args)
        .envs(envs.iter().copied())
        .env("CARGO_TARGET_DIR", &target_dir)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build {} failed: {status}", args.join(" ")));
    }
    Ok(target_dir)
}

/// Builds the firmware image (profile `firmware`: size-optimised, LTO, abort) with
/// [`KEY`] compiled in and returns the ELF's path.
pub fn build_image() -> Result<PathBuf, String> {
    let args = ["-p", PACKAGE, "--profile", "firmware", "--target", TARGET];
    let target_dir = cargo_build("fw-qemu", &args, &[("WIREKIT_FW_KEY", KEY)])?;
    Ok(target_dir.join(TARGET).join("firmware").join(PACKAGE))
}

/// Builds the PC binary `wirekit` (package `wirekit-std`, release) and returns its path;
/// `$WIREKIT_BIN` names a prebuilt one instead.
pub fn build_wirekit() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("WIREKIT_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("WIREKIT_BIN={} does not exist", path.display()))
        };
    }
    let target_dir =
        cargo_build("fw-wirekit", &["-p", "wirekit-std", "--release", "--bin", "wirekit"], &[])?;
    Ok(target_dir.join("release").join(format!("wirekit{}", std::env::consts::EXE_SUFFIX)))
}

/// What a bounded command printed and how it ended.
#[derive(Debug)]
pub struct Ran {
    /// Its exit status (`None`: killed at the time limit).
    pub status: Option<std::process::ExitStatus>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

impl Ran {
    /// Exited with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

impl fmt::Display for Ran {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{status}")?,
            None => write!(f, "killed at the time limit")?,
        }
        write!(
            f,
            " after {:.2}s\nstdout: {}\nstderr: {}",
            self.elapsed.as_secs_f64(),
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

/// Runs `cmd` with no stdin, capturing its output; kills it (by PID) after `limit`.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> io::Result<Ran> {
    let start = Instant::now();
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            text
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    Ok(Ran {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    })
}

/// A free localhost port for `proto` ("tcp" or "udp"), as the OS hands it out.
/// Another process could take it before QEMU binds it; unlikely on a test box.
pub fn free_port(proto: &str) -> io::Result<u16> {
    match proto {
        "udp" => Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port()),
        _ => Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()),
    }
}

/// A running QEMU, killed (by PID) and reaped when dropped, even on panic.
pub struct Qemu {
    child: Child,
    /// The guest's serial console log.
    pub serial_log: PathBuf,
    /// QEMU's own stderr.
    pub stderr_log: PathBuf,
}

/// Cancels a [`Qemu::watchdog`] when dropped (also while unwinding from a failed step).
#[derive(Debug)]
pub struct Watchdog {
    _cancel: std::sync::mpsc::Sender<()>,
}

/// The firmware's ports in the guest (the seed's defaults, plus 8067 for mp).
pub mod guest {
    /// Seed handshake alone.
    pub const AUTH: u16 = 8066;
    /// mp handshake alone.
    pub const MP: u16 = 8067;
    /// Seed handshake, then a file into the MD5 sink.
    pub const FILE: u16 = 8080;
    /// Seed handshake, then framed commands.
    pub const COMMAND: u16 = 8090;
    /// UDP hello/bye.
    pub const UDP: u16 = 8096;
    /// Secure profile: auth.
    pub const SECURE_AUTH: u16 = 8166;
    /// Secure profile: a file into the MD5 sink.
    pub const SECURE_FILE: u16 = 8180;
    /// Secure profile: framed commands.
    pub const SECURE_COMMAND: u16 = 8190;
}

/// Host ports forwarded to the guest's services (`127.0.0.1:host -> guest port`).
#[derive(Clone, Copy, Debug)]
pub struct Forwards {
    /// To [`guest::AUTH`].
    pub auth: u16,
    /// To [`guest::MP`].
    pub mp: u16,
    /// To [`guest::FILE`].
    pub file: u16,
    /// To [`guest::COMMAND`].
    pub command: u16,
    /// To [`guest::UDP`] (UDP).
    pub udp: u16,
    /// To [`guest::SECURE_AUTH`].
    pub secure_auth: u16,
    /// To [`guest::SECURE_FILE`].
    pub secure_file: u16,
    /// To [`guest::SECURE_COMMAND`].
    pub secure_command: u16,
}

impl Forwards {
    /// Distinct ports the OS just reported free (all TCP listeners are held at once, so
    /// they differ from each other).
    pub fn free() -> io::Result<Self> {
        let held: Vec<TcpListener> =
            (0..7).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<io::Result<_>>()?;
        let port = |i: usize| -> io::Result<u16> { Ok(held[i].local_addr()?.port()) };
        Ok(Self {
            auth: port(0)?,
            mp: port(1)?,
            file: port(2)?,
            command: port(3)?,
            udp: free_port("udp")?,
            secure_auth: port(4)?,
            secure_file: port(5)?,
            secure_command: port(6)?,
        })
    }

    /// QEMU's `-netdev user` forwarding options.
    pub fn hostfwd(&self) -> String {
        let tcp = [
            (self.auth, guest::AUTH),
            (self.mp, guest::MP),
            (self.file, guest::FILE),
            (self.command, guest::COMMAND),
            (self.secure_auth, guest::SECURE_AUTH),
            (self.secure_file, guest::SECURE_FILE),
            (self.secure_command, guest::SECURE_COMMAND),
        ];
        let mut opts: Vec<String> = tcp
            .iter()
            .map(|(host, guest)| format!("hostfwd=tcp:127.0.0.1:{host}-:{guest}"))
            .collect();
        opts.push(format!("hostfwd=udp:127.0.0.1:{}-:{}", self.udp, guest::UDP));
        opts.join(",")
    }
}

impl Qemu {
    /// Boots `image` on `virt` with user-mode networking and the given forwards.
    pub fn boot(qemu: &Path, image: &Path, fwd: Forwards, log_dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(log_dir)?;
        let serial_log = log_dir.join("serial.log");
        let stderr_log = log_dir.join("qemu-stderr.log");
        let _ = fs::remove_file(&serial_log);
        let netdev = format!("user,id=n0,{}", fwd.hostfwd());
        let mut cmd = Command::new(qemu);
        cmd.args(["-machine", "virt", "-bios", "none", "-m", "32M", "-display", "none"])
            .arg("-serial")
            .arg(format!("file:{}", serial_log.display()))
            .args(["-netdev", &netdev, "-device", "virtio-net-device,netdev=n0"])
            // Real entropy for challenges and the secure profile's ephemeral keys (the
            // host's getrandom, through QEMU's default rng backend).
            .args(["-device", "virtio-rng-device"])
            .arg("-kernel")
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr_log)?);
        // Firmware blobs QEMU may look for live in the unpacked data package.
        if let Some(share) = qemu
            .parent()
            .and_then(Path::parent)
            .map(|usr| usr.join("share/qemu"))
            .filter(|p| p.is_dir())
        {
            cmd.arg("-L").arg(share);
        }
        let child = cmd.spawn()?;
        Ok(Self { child, serial_log, stderr_log })
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills QEMU (by PID) at `deadline` unless the returned guard is dropped first, so a
    /// hung step fails fast instead of waiting out every socket timeout.
    pub fn watchdog(&self, deadline: Instant) -> Watchdog {
        let (cancel, cancelled) = std::sync::mpsc::channel::<()>();
        let pid = self.child.id().to_string();
        thread::spawn(move || {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(left) {
                eprintln!("watchdog: time budget spent, killing QEMU pid {pid}");
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        });
        Watchdog { _cancel: cancel }
    }

    /// Whether QEMU has exited (and its status if so).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The guest's serial output so far.
    pub fn serial(&self) -> String {
        fs::read_to_string(&self.serial_log).unwrap_or_default()
    }

    /// QEMU's stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        // `Child::kill` signals this child's PID only; then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Flash/RAM use of a firmware image, summed from its allocated ELF sections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageSizes {
    /// Code and constants (allocated, read-only, loaded): .text, .rodata, ...
    pub text: u64,
    /// Initialised data (loaded into the image and copied to RAM): .data.
    pub data: u64,
    /// Zeroed data (RAM only): .bss.
    pub bss: u64,
    /// Stack reserved by the linker script (rest of RAM; not counted in `ram`).
    pub stack: u64,
}

impl ImageSizes {
    /// What a flash chip would have to hold.
    pub fn flash(&self) -> u64 {
        self.text + self.data
    }
    /// Static RAM use (without the stack).
    pub fn ram(&self) -> u64 {
        self.data + self.bss
    }
}

impl fmt::Display for ImageSizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "flash {} B (text {} + data {}), static RAM {} B (data {} + bss {}), stack reserve {} B",
            self.flash(),
            self.text,
            self.data,
            self.ram(),
            self.data,
            self.bss,
            self.stack
        )
    }
}

const SHF_WRITE: u32 = 0x1;
const SHF_ALLOC: u32 = 0x2;
const SHT_NOBITS: u32 = 8;

/// Reads section sizes from a little-endian ELF32 image (the firmware's format).
pub fn elf32_sizes(elf: &[u8]) -> Result<ImageSizes, String> {
    let u16_at = |off: usize| -> Result<u16, String> {
        elf.get(off..off + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or_else(|| format!("ELF truncated at {off}"))
    };
    let u32_at = |off: usize| -> Result<u32, String> {
        elf.get(off..off + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| format!("ELF truncated at {off}"))
    };
    if elf.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err("not an ELF file".into());
    }
    if elf.get(4) != Some(&1) || elf.get(5) != Some(&1) {
        return Err("not a little-endian ELF32 file".into());
    }
    let shoff = u32_at(0x20)? as usize;
    let shentsize = usize::from(u16_at(0x2E)?);
    let shnum = usize::from(u16_at(0x30)?);
    let shstrndx = usize::from(u16_at(0x32)?);
    let names_off = u32_at(shoff + shstrndx * shentsize + 0x10)? as usize;
    let mut sizes = ImageSizes::default();
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        let name_off = names_off + u32_at(sh)? as usize;
        let name: Vec<u8> = elf
            .get(name_off..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| b != 0)
            .copied()
            .collect();
        let kind = u32_at(sh + 0x04)?;
        let flags = u32_at(sh + 0x08)?;
        let size = u64::from(u32_at(sh + 0x14)?);
        if flags & SHF_ALLOC == 0 {
            continue;
        }
        match (name.as_slice(), kind == SHT_NOBITS, flags & SHF_WRITE != 0) {
            (b".stack" | b".heap", _, _) => sizes.stack += size,
            (_, true, _) => sizes.bss += size,
            (_, false, true) => sizes.data += size,
            (_, false, false) => sizes.text += size,
        }
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal little-endian ELF32 with the given (name, type, flags, size)
    /// sections after the null section, plus `.shstrtab` last.
    fn elf32(sections: &[(&str, u32, u32, u32)]) -> Vec<u8> {
        let mut names = vec![0u8];
        let mut name_offs = Vec::new();
        for (name, ..) in sections.iter().chain([(".shstrtab", 3, 0, 0)].iter()) {
            name_offs.push(names.len() as u32);
            names.extend_from_slice(name.as_bytes());
            names.push(0);
        }
        let names_at = 52u32;
        let shoff = names_at + names.len() as u32;
        let shnum = sections.len() as u16 + 2;
        let mut elf = vec![0u8; 52];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 1; // ELFCLASS32
        elf[5] = 1; // little-endian
        elf[0x20..0x24].copy_from_slice(&shoff.to_le_bytes());
        elf[0x2E..0x30].copy_from_slice(&40u16.to_le_bytes());
        elf[0x30..0x32].copy_from_slice(&shnum.to_le_bytes());
        elf[0x32..0x34].copy_from_slice(&(shnum - 1).to_le_bytes());
        elf.extend_from_slice(&names);
        let header = |name: u32, kind: u32, flags: u32, offset: u32, size: u32| {
            let mut sh = [0u8; 40];
            sh[0..4].copy_from_slice(&name.to_le_bytes());
            sh[4..8].copy_from_slice(&kind.to_le_bytes());
            sh[8..12].copy_from_slice(&flags.to_le_bytes());
            sh[0x10..0x14].copy_from_slice(&offset.to_le_bytes());
            sh[0x14..0x18].copy_from_slice(&size.to_le_bytes());
            sh
        };
        elf.extend_from_slice(&[0u8; 40]);
        for (i, (_, kind, flags, size)) in sections.iter().enumerate() {
            elf.extend_from_slice(&header(name_offs[i], *kind, *flags, 0, *size));
        }
        let last = *name_offs.last().unwrap();
        elf.extend_from_slice(&header(last, 3, 0, names_at, names.len() as u32));
        elf
    }

    #[test]
    fn sections_are_classified_by_flags_and_name() {
        const PROGBITS: u32 = 1;
        const AX: u32 = SHF_ALLOC | 0x4;
        const WA: u32 = SHF_ALLOC | SHF_WRITE;
        let elf = elf32(&[
            (".text", PROGBITS, AX, 1000),
            (".rodata", PROGBITS, SHF_ALLOC, 200),
            (".data", PROGBITS, WA, 30),
            (".bss", SHT_NOBITS, WA, 4000),
            (".stack", SHT_NOBITS, WA, 50_000),
            (".comment", PROGBITS, 0, 77),
        ]);
        let sizes = elf32_sizes(&elf).unwrap();
        assert_eq!(sizes, ImageSizes { text: 1200, data: 30, bss: 4000, stack: 50_000 });
        assert_eq!(sizes.flash(), 1230);
        assert_eq!(sizes.ram(), 4030);
    }

    #[test]
    fn rejects_non_elf32() {
        assert!(elf32_sizes(b"not an elf").is_err());
        let mut elf = elf32(&[]);
        elf[4] = 2; // ELFCLASS64
        assert!(elf32_sizes(&elf).is_err());
        assert!(elf32_sizes(&elf32(&[])[..60]).is_err());
    }
}
