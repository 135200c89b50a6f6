//! What the services share: the keys, the challenge source, and what happened so far.

use core::cell::{Cell, RefCell};

use rand_core::CryptoRng;
use wirekit_core::auth::seed::SEED_CHALLENGE_LEN;
use wirekit_core::auth::{Outcome, Role, RoleKeys};

/// The keys of the device's keyed exchanges (docs/protocol.md section 4): the shared key
/// for the seed auth port (its Python peers know only that), role keys derived from it for
/// the file receiver (8080) and the exec agent (8090).
#[derive(Debug, Clone, Copy)]
pub struct DeviceKeys<'k> {
    /// The shared key, for the seed auth port.
    pub shared: &'k [u8],
    /// As the file receiver.
    pub file: RoleKeys,
    /// As the exec agent.
    pub exec: RoleKeys,
}

impl<'k> DeviceKeys<'k> {
    /// The keys of `shared`.
    pub fn derive(shared: &'k [u8]) -> Self {
        Self {
            shared,
            file: RoleKeys::for_role(shared, Role::FileReceiver),
            exec: RoleKeys::for_role(shared, Role::ExecAgent),
        }
    }
}

/// The last file received (its body went into an MD5 sink; nothing is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastFile {
    /// MD5 of the body.
    pub md5: [u8; 16],
    /// Body length.
    pub len: u64,
}

/// Counters since boot, for the `stats` command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Handshakes the peer passed (any port).
    pub auth_ok: u32,
    /// Handshakes the peer failed (wrong key, broken answer, gone mid-way).
    pub auth_rejected: u32,
    /// Files received whole.
    pub files: u32,
    /// Commands answered.
    pub commands: u32,
}

/// The state every service of one device shares. Borrowed by all of them from one future
/// ([`serve`](crate::serve)), so cells suffice: nothing is held across an await.
pub struct Device<'k, R> {
    keys: DeviceKeys<'k>,
    rng: RefCell<R>,
    stats: Cell<Stats>,
    last_file: Cell<Option<LastFile>>,
}

impl<'k, R: CryptoRng> Device<'k, R> {
    /// A device answering with `keys`, drawing its challenges from `rng` (the board's TRNG:
    /// docs/protocol.md section 3 requires a CSPRNG).
    pub const fn new(keys: DeviceKeys<'k>, rng: R) -> Self {
        Self {
            keys,
            rng: RefCell::new(rng),
            stats: Cell::new(Stats { auth_ok: 0, auth_rejected: 0, files: 0, commands: 0 }),
            last_file: Cell::new(None),
        }
    }

    /// The keys.
    pub const fn keys(&self) -> &DeviceKeys<'k> {
        &self.keys
    }

    /// Counters since boot.
    pub fn stats(&self) -> Stats {
        self.stats.get()
    }

    /// The last file received whole, if any.
    pub fn last_file(&self) -> Option<LastFile> {
        self.last_file.get()
    }

    /// A fresh challenge.
    pub(crate) fn challenge(&self) -> [u8; SEED_CHALLENGE_LEN] {
        let mut challenge = [0u8; SEED_CHALLENGE_LEN];
        // Never contended: borrowed only here, between awaits.
        if let Ok(mut rng) = self.rng.try_borrow_mut() {
            rng.fill_bytes(&mut challenge);
        }
        challenge
    }

    /// Counts a handshake's outcome; true when the peer proved the key.
    pub(crate) fn verdict(&self, port: u16, outcome: Outcome) -> bool {
        let passed = outcome.peer_authenticated();
        self.update(|s| {
            if passed {
                s.auth_ok = s.auth_ok.saturating_add(1);
            } else {
                s.auth_rejected = s.auth_rejected.saturating_add(1);
            }
        });
        if passed {
            log::info!(":{port}: legit client");
        } else {
            log::warn!(":{port}: illegitimate client ({outcome:?})");
        }
        passed
    }

    /// A handshake that broke off (peer gone, idle, protocol error) counts as rejected.
    pub(crate) fn handshake_failed(&self) {
        self.update(|s| s.auth_rejected = s.auth_rejected.saturating_add(1));
    }

    pub(crate) fn file_received(&self, file: LastFile) {
        self.last_file.set(Some(file));
        self.update(|s| s.files = s.files.saturating_add(1));
    }

    pub(crate) fn command_answered(&self) {
        self.update(|s| s.commands = s.commands.saturating_add(1));
    }

    fn update(&self, f: impl FnOnce(&mut Stats)) {
        let mut stats = self.stats.get();
        f(&mut stats);
        self.stats.set(stats);
    }
}
