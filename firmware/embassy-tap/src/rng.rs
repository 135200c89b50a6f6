//! Challenges from the OS's CSPRNG (`getrandom`), as a `rand_core` RNG for the services.

use core::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

/// The OS's CSPRNG. A failing `getrandom` ends the process: a device without randomness
/// must not serve challenges.
#[derive(Debug, Clone, Copy)]
pub struct OsRng;

impl OsRng {
    /// `N` random bytes.
    pub fn bytes<const N: usize>() -> [u8; N] {
        let mut out = [0u8; N];
        OsRng.fill(&mut out);
        out
    }

    fn fill(self, out: &mut [u8]) {
        if let Err(e) = getrandom::fill(out) {
            eprintln!("wirekit-embassy-tap: getrandom failed: {e}");
            std::process::abort();
        }
    }
}

impl TryRng for OsRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(u32::from_le_bytes(Self::bytes()))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(u64::from_le_bytes(Self::bytes()))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.fill(dst);
        Ok(())
    }
}

impl TryCryptoRng for OsRng {}
