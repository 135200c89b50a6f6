//! Temporary files that are being written, so that SIGINT/SIGTERM removes them before the
//! process exits (`Drop` does not run when a signal ends the process).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::TargetDir;

type Live = BTreeMap<u64, (Arc<TargetDir>, String)>;

static LIVE: Mutex<Live> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn live() -> MutexGuard<'static, Live> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// One live temporary file; dropping it forgets the file (it was renamed or removed).
#[derive(Debug)]
pub(super) struct Registration(u64);

pub(super) fn register(dir: &Arc<TargetDir>, temp_name: &str) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    live().insert(id, (Arc::clone(dir), temp_name.to_owned()));
    Registration(id)
}

impl Drop for Registration {
    fn drop(&mut self) {
        live().remove(&self.0);
    }
}

/// On SIGINT or SIGTERM: remove every temporary file being written, then exit with
/// 128 + the signal's number (as a shell reports a process the signal ended).
pub fn remove_temp_files_on_signals() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            // Held to the end: no new temporary file is registered (and left) meanwhile.
            let live = live();
            for (dir, name) in live.values() {
                dir.unlink(name);
            }
            std::process::exit(128 + signal);
        }
    })?;
    Ok(())
}
