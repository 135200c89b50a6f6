//! Randomness for handshake challenges and the secure profile's ephemeral keys.
//!
//! [`Entropy`] reads QEMU's virtio entropy device (`-device virtio-rng-device`, backed by
//! the host's `getrandom`) when the machine has one: that is real entropy, and the only
//! source the secure profile's ephemeral X25519 keys should come from. Without it (QEMU
//! started without the device, or the device failing) it falls back to [`Challenges`],
//! and says so at boot and on every connection that uses it.
//!
//! **[`Challenges`] is NOT a CSPRNG.** It is SHA-256 of a state that mixes the CLINT `mtime`
//! at boot and at each connection, the peer's address and port, and a counter. That makes
//! every challenge differ (which the seed and mp handshakes need to stop plain replay), but
//! an attacker who can estimate the timer can predict them, and with them a secure
//! session's ephemeral key. A real board feeds its TRNG instead, as docs/protocol.md §3
//! demands.

use virtio_drivers::device::rng::VirtIORng;
use virtio_drivers::transport::mmio::MmioTransport;

use crate::dma::IdentityHal;

/// The virtio entropy device's driver.
pub type VirtioRng = VirtIORng<IdentityHal, MmioTransport<'static>>;

/// Where [`Entropy`] gets its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// QEMU's virtio-rng (the host's `getrandom`): real entropy.
    VirtioRng,
    /// The timer hash ([`Challenges`]): NOT a CSPRNG.
    TimerHash,
}

/// Random bytes from virtio-rng, or the timer hash without one; see the module docs.
pub struct Entropy {
    rng: Option<VirtioRng>,
    fallback: Challenges,
}

impl Entropy {
    /// Bytes from `rng` when there is one, else from a timer hash seeded with `boot_noise`.
    pub fn new(rng: Option<VirtioRng>, boot_noise: &[u8]) -> Self {
        Self { rng, fallback: Challenges::new(boot_noise) }
    }

    /// Where the bytes come from now.
    pub fn source(&self) -> Source {
        if self.rng.is_some() {
            Source::VirtioRng
        } else {
            Source::TimerHash
        }
    }

    /// Fills `out`: from the device, or (no device, or it failed: then for good, with an
    /// error in the log) from the timer hash mixed with `noise`.
    pub fn fill(&mut self, noise: &[u8], out: &mut [u8]) {
        if let Some(rng) = &mut self.rng {
            match read_all(rng, out) {
                Ok(()) => return,
                Err(e) => {
                    log::error!(
                        "virtio-rng failed ({e}): falling back to the timer hash, NOT a CSPRNG"
                    );
                    self.rng = None;
                }
            }
        }
        self.fallback.fill(noise, out);
    }

    /// A fresh array of random bytes.
    pub fn array<const N: usize>(&mut self, noise: &[u8]) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(noise, &mut out);
        out
    }
}

/// Every byte of `out` from the device (it may hand out fewer per request).
fn read_all(rng: &mut VirtioRng, out: &mut [u8]) -> Result<(), virtio_drivers::Error> {
    let mut filled = 0;
    // A device that keeps answering with nothing is broken: give up after a few tries.
    let mut empty = 0;
    while let Some(rest) = out.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        let n = rng.request_entropy(rest)?;
        if n == 0 {
            empty += 1;
            if empty > 3 {
                return Err(virtio_drivers::Error::IoError);
            }
        }
        filled += n.min(rest.len());
    }
    Ok(())
}

use sha2::{Digest, Sha256};

/// Length of one SHA-256 output block.
const BLOCK: usize = 32;

/// Hash-based generator of challenge bytes; see the module docs (not a CSPRNG).
pub struct Challenges {
    state: [u8; BLOCK],
    counter: u64,
}

impl Challenges {
    /// Seeds the state from whatever differs between boots (timer, MAC address).
    pub fn new(boot_noise: &[u8]) -> Self {
        let state = Sha256::new().chain_update(b"wirekit-fw-qemu seed").chain_update(boot_noise);
        Self { state: state.finalize().into(), counter: 0 }
    }

    /// Fills `out` with challenge bytes, mixing in `noise` (timer ticks, the peer's
    /// address): each 32-byte block is SHA-256(state, counter, noise), and the state moves
    /// on after every call, so equal noise never yields equal bytes.
    pub fn fill(&mut self, noise: &[u8], out: &mut [u8]) {
        for chunk in out.chunks_mut(BLOCK) {
            self.counter = self.counter.wrapping_add(1);
            let block: [u8; BLOCK] = Sha256::new()
                .chain_update(self.state)
                .chain_update(self.counter.to_le_bytes())
                .chain_update(noise)
                .finalize()
                .into();
            for (dst, src) in chunk.iter_mut().zip(block) {
                *dst = src;
            }
        }
        self.state = Sha256::new()
            .chain_update(b"ratchet")
            .chain_update(self.state)
            .chain_update(self.counter.to_le_bytes())
            .finalize()
            .into();
    }

    /// A fresh array of challenge bytes.
    #[cfg(test)]
    pub fn array<const N: usize>(&mut self, noise: &[u8]) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(noise, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_noise_still_gives_new_bytes_and_long_outputs_have_no_repeated_block() {
        let mut c = Challenges::new(b"boot");
        let a: [u8; 40] = c.array(b"same");
        let b: [u8; 40] = c.array(b"same");
        assert_ne!(a, b);
        let long: [u8; 64] = c.array(b"");
        assert_ne!(long[..32], long[32..]);
    }

    #[test]
    fn boot_noise_changes_the_sequence() {
        let a: [u8; 32] = Challenges::new(b"boot 1").array(b"x");
        let b: [u8; 32] = Challenges::new(b"boot 2").array(b"x");
        assert_ne!(a, b);
    }
}
