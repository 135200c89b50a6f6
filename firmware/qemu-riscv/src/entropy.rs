//! Challenge bytes for the handshakes on a machine without a hardware RNG.
//!
//! **This is NOT a CSPRNG.** QEMU's `virt` machine has no TRNG, so challenges are SHA-256
//! of a state that mixes the CLINT `mtime` at boot and at each connection, the peer's
//! address and port, and a counter. That makes every challenge differ (which the seed and
//! mp handshakes need to stop plain replay), but an attacker who can estimate the timer
//! can predict them. A real board feeds [`Challenges::new`] and [`Challenges::fill`] from
//! its TRNG instead (or replaces this type with the TRNG), as docs/protocol.md §3 demands.

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
