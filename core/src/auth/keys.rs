//! Keys per exchange and role, so that no answer is ever worth anything to another exchange.
//!
//! A seed or mp prover answers *any* challenge it is sent. If two exchanges used the same key,
//! a client of one (say `auth client`, which answers whatever its server sends) would be a
//! signing oracle for the other (an exec agent that runs commands for whoever answers): an
//! attacker relays the agent's challenge through the client and then acts on the agent. So
//! wirekit's own keyed exchanges never use the shared key directly. Each *role that proves
//! itself* gets its own key:
//!
//! ```text
//! role key = HMAC-SHA256(shared key, "wirekit/1 role-key " + exchange + " " + role)   (32 bytes)
//! ```
//!
//! with `exchange` and `role` one of the [`Role`]s' labels (`exec controller`, `exec agent`,
//! `file sender`, `file receiver`, `tcp client`, `tcp server`). A side answers challenges with
//! the key of its own role and checks the peer's answers with the key of the peer's role.
//! Answers made with one role key only ever convince a verifier that expects exactly that role
//! of exactly that exchange; a mutual handshake (mp) also gains a second barrier against
//! reflection, since the two directions use different keys.
//!
//! The shared key itself stays in use only where a peer outside wirekit requires it: the seed's
//! demo4 (`auth`, verified by a Python `hmac.new(key, challenge, 'md5')`) and CPython's
//! `multiprocessing.connection` (`auth --profile mp`, `tcp --profile mp`). Those exchanges let
//! the peer do nothing but be told "authenticated" (auth) or exchange text (tcp), so an answer
//! obtained from them cannot make anything act.

use super::mac::{hmac, MacAlgorithm};

/// A role that proves itself in one of wirekit's own keyed exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side that sends commands (`exec controller`).
    ExecController,
    /// The side that runs them (`exec agent`).
    ExecAgent,
    /// The side that sends a file.
    FileSender,
    /// The side that receives a file.
    FileReceiver,
    /// The side that opens a `tcp` connection (seed profile only; mp uses the shared key).
    TcpClient,
    /// The side that accepts it.
    TcpServer,
}

impl Role {
    /// Every role, for tests and documentation.
    pub const ALL: [Role; 6] = [
        Role::ExecController,
        Role::ExecAgent,
        Role::FileSender,
        Role::FileReceiver,
        Role::TcpClient,
        Role::TcpServer,
    ];

    /// The label in the derivation: exchange, a space, role.
    pub const fn label(self) -> &'static str {
        match self {
            Self::ExecController => "exec controller",
            Self::ExecAgent => "exec agent",
            Self::FileSender => "file sender",
            Self::FileReceiver => "file receiver",
            Self::TcpClient => "tcp client",
            Self::TcpServer => "tcp server",
        }
    }

    /// The other side of the same exchange.
    pub const fn peer(self) -> Self {
        match self {
            Self::ExecController => Self::ExecAgent,
            Self::ExecAgent => Self::ExecController,
            Self::FileSender => Self::FileReceiver,
            Self::FileReceiver => Self::FileSender,
            Self::TcpClient => Self::TcpServer,
            Self::TcpServer => Self::TcpClient,
        }
    }
}

/// The prefix of every role key's derivation input.
pub const ROLE_KEY_CONTEXT: &[u8] = b"wirekit/1 role-key ";

/// Length of a role key.
pub const ROLE_KEY_LEN: usize = 32;

/// A derived key; its `Debug` shows no byte of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RoleKey([u8; ROLE_KEY_LEN]);

impl RoleKey {
    /// The key with which `role` proves itself, derived from the shared key `shared`.
    pub fn derive(shared: &[u8], role: Role) -> Self {
        let mac = hmac(MacAlgorithm::Sha256, shared, &[ROLE_KEY_CONTEXT, role.label().as_bytes()]);
        let mut key = [0u8; ROLE_KEY_LEN];
        for (k, m) in key.iter_mut().zip(mac.as_bytes()) {
            *k = *m;
        }
        Self(key)
    }

    /// The key's bytes, to hand to a handshake machine.
    pub const fn as_bytes(&self) -> &[u8; ROLE_KEY_LEN] {
        &self.0
    }
}

impl core::fmt::Debug for RoleKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RoleKey(..)")
    }
}

/// Both keys one side of an exchange needs: the one it answers with, the one it checks with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleKeys {
    /// Our role's key: we answer the peer's challenges with it.
    pub prove: RoleKey,
    /// The peer's role's key: we check the peer's answers with it.
    pub verify: RoleKey,
}

impl RoleKeys {
    /// The keys of `us` in its exchange, from the shared key.
    pub fn for_role(shared: &[u8], us: Role) -> Self {
        Self { prove: RoleKey::derive(shared, us), verify: RoleKey::derive(shared, us.peer()) }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn hex(bytes: &[u8]) -> std::string::String {
        use core::fmt::Write;
        let mut s = std::string::String::new();
        for b in bytes {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// Known answers, computed independently with Python:
    /// `hmac.new(b"egg", b"wirekit/1 role-key " + label, "sha256").hexdigest()`.
    #[test]
    fn role_keys_match_python_hmac() {
        assert_eq!(VECTORS.lines().filter(|l| !l.starts_with('#')).count(), Role::ALL.len());
        for role in Role::ALL {
            let line = VECTORS.lines().find(|l| l.starts_with(role.label())).unwrap();
            let expected = line.rsplit(' ').next().unwrap();
            assert_eq!(hex(RoleKey::derive(b"egg", role).as_bytes()), expected, "{}", role.label());
        }
    }

    const VECTORS: &str = include_str!("../../tests/vectors/role_keys.txt");

    #[test]
    fn every_role_key_differs_from_every_other_and_from_the_shared_key() {
        for a in Role::ALL {
            assert_ne!(&RoleKey::derive(b"egg", a).as_bytes()[..3], b"egg");
            for b in Role::ALL {
                assert_eq!(a == b, RoleKey::derive(b"egg", a) == RoleKey::derive(b"egg", b));
            }
            assert_eq!(a.peer().peer(), a);
            assert_ne!(a.peer(), a);
        }
    }

    #[test]
    fn debug_shows_no_key_byte() {
        let keys = RoleKeys::for_role(b"egg", Role::FileSender);
        assert_eq!(std::format!("{:?}", keys.prove), "RoleKey(..)");
    }
}
