//! The part of a [`SecureChannel`](super::SecureChannel) that does not depend on its inner
//! machine: the handshake, the record layer and the two buffers. It is not generic, so a
//! firmware that wraps several exchanges (a file receiver, a command agent) links one copy
//! of it, and each `SecureChannel<M, H>` adds only the code that feeds `M`.

use core::ops::Range;

use super::channel::{Buffers, Config, SecureError};
use super::handshake::{message_len, CryptoError, HandshakeState, Role, Transport, TAG_LEN};
use super::key::{Psk, PROLOGUE_PREFIX};
use super::record::{
    self, decode_limit, encode_limit, record_len, Assembler, LengthError, LEN_PREFIX,
};

pub(super) enum Phase {
    /// Initiator: message 1 queued, waiting for message 2. Responder: waiting for message 1.
    Handshake(HandshakeState),
    Transport(Transport),
    /// After an error: nothing more is read or sent.
    Failed(SecureError),
}

/// What a whole message did to the wire state.
pub(super) enum Opened {
    /// A handshake message: the channel is established.
    Established { peer_limit: u16 },
    /// A transport record (data, now in `plain`, or close_notify).
    Record {
        /// This record is the first proof of the peer (the responder's first record).
        first_proof: bool,
    },
}

/// The inner-machine-independent state of a channel.
pub(super) struct Wire<'b> {
    pub(super) role: Role,
    pub(super) local_limit: u16,
    pub(super) peer_limit: u16,
    pub(super) phase: Phase,
    rx: &'b mut [u8],
    assembler: Assembler,
    /// Decrypted plaintext in `rx` the inner machine has not taken yet.
    pub(super) plain: Range<usize>,
    tx: &'b mut [u8],
    tx_out: Range<usize>,
    pub(super) handshake_hash: [u8; 32],
    pub(super) authenticated: bool,
    pub(super) close_requested: bool,
    pub(super) close_sent: bool,
    pub(super) peer_close_received: bool,
}

impl<'b> Wire<'b> {
    /// `config` and `buffers` are checked by the caller; the initiator's message 1 is queued.
    pub(super) fn new(
        config: &Config<'_>,
        psk: &Psk,
        ephemeral: [u8; 32],
        buffers: Buffers<'b>,
    ) -> Self {
        let prologue: [&[u8]; 2] = [PROLOGUE_PREFIX, config.service];
        let handshake = HandshakeState::new(config.role, psk.as_bytes(), &prologue, ephemeral);
        let mut wire = Self {
            role: config.role,
            local_limit: config.max_plaintext,
            peer_limit: 0,
            phase: Phase::Handshake(handshake),
            rx: buffers.rx,
            assembler: Assembler::default(),
            plain: 0..0,
            tx: buffers.tx,
            tx_out: 0..0,
            handshake_hash: [0; 32],
            authenticated: false,
            close_requested: false,
            close_sent: false,
            peer_close_received: false,
        };
        if config.role == Role::Initiator {
            wire.write_handshake_message();
        }
        wire
    }

    pub(super) fn is_transport(&self) -> bool {
        matches!(self.phase, Phase::Transport(_))
    }

    /// The buffers, zeroed: no plaintext of this session stays in them.
    pub(super) fn into_buffers(self) -> Buffers<'b> {
        let Self { rx, tx, .. } = self;
        rx.fill(0);
        tx.fill(0);
        Buffers { rx, tx }
    }

    /// Plaintext waiting for the inner machine, and the cursor to advance by what it took
    /// (apart, so the inner machine's event may borrow the plaintext meanwhile).
    pub(super) fn plain_and_cursor(&mut self) -> (&[u8], &mut Range<usize>) {
        (self.rx.get(self.plain.clone()).unwrap_or(&[]), &mut self.plain)
    }

    /// Sealed bytes waiting for the wire.
    pub(super) fn output(&self) -> &[u8] {
        self.tx.get(self.tx_out.clone()).unwrap_or(&[])
    }

    pub(super) fn consume_output(&mut self, n: usize) {
        self.tx_out.start = self.tx_out.start.saturating_add(n).min(self.tx_out.end);
    }

    pub(super) fn fail(&mut self, error: SecureError) -> SecureError {
        self.phase = Phase::Failed(error);
        // Nothing more goes out: not even records already sealed.
        self.tx_out = 0..0;
        error
    }

    /// Free space at the end of the send buffer, compacting it first when that helps.
    fn tx_room(&mut self) -> usize {
        if self.tx_out.start >= self.tx_out.end {
            self.tx_out = 0..0;
        } else if self.tx_out.start > 0 {
            self.tx.copy_within(self.tx_out.clone(), 0);
            self.tx_out = 0..self.tx_out.len();
        }
        self.tx.len().saturating_sub(self.tx_out.end)
    }

    fn write_handshake_message(&mut self) {
        let payload = encode_limit(self.local_limit);
        let _ = self.tx_room();
        let Phase::Handshake(handshake) = &mut self.phase else { return };
        let Some(out) = self.tx.get_mut(self.tx_out.end..) else { return };
        let Some((prefix, body)) = out.split_at_mut_checked(LEN_PREFIX) else { return };
        let written = match handshake.role() {
            Role::Initiator => handshake.write_message_1(&payload, body),
            Role::Responder => handshake.write_message_2(&payload, body),
        };
        match written {
            Ok(n) => {
                // n is 50: it fits the prefix.
                prefix.copy_from_slice(&(n as u16).to_be_bytes());
                self.tx_out.end += LEN_PREFIX + n;
            }
            Err(_) => {
                // Only a too-small buffer can fail here, and `new` checked it.
                let _ = self.fail(SecureError::HandshakeLength { len: 0 });
            }
        }
    }

    /// Seal up to one record of `bytes` into the send buffer (at most the peer's limit and
    /// what fits): `Some(bytes taken)` (0 when the buffer is full), `None` when not
    /// established or failed. A nonce that would wrap fails the channel.
    pub(super) fn seal_one(&mut self, bytes: &[u8]) -> Option<usize> {
        let room = self.tx_room();
        let Phase::Transport(transport) = &mut self.phase else { return None };
        let max = room.saturating_sub(record_len(0)).min(usize::from(self.peer_limit));
        let n = bytes.len().min(max);
        if n == 0 && !bytes.is_empty() {
            return Some(0);
        }
        let out = self.tx.get_mut(self.tx_out.end..)?;
        match record::seal(&mut transport.send, bytes.get(..n)?, out) {
            Ok(len) => {
                self.tx_out.end += len;
                Some(n)
            }
            Err(_) => {
                let _ = self.fail(SecureError::NonceExhausted);
                None
            }
        }
    }

    /// Seal as much of `bytes` as fits, record by record: how many were taken, or the
    /// error that ended the channel.
    pub(super) fn seal_all(&mut self, bytes: &[u8]) -> Result<usize, SecureError> {
        let mut taken = 0;
        while let Some(rest) = bytes.get(taken..).filter(|rest| !rest.is_empty()) {
            match self.seal_one(rest) {
                Some(0) | None => break,
                Some(n) => taken += n,
            }
        }
        match self.phase {
            Phase::Failed(e) => Err(e),
            _ => Ok(taken),
        }
    }

    /// Queue close_notify once asked for, if there is room (after everything else).
    pub(super) fn close_if_due(&mut self) {
        if self.close_requested
            && !self.close_sent
            && self.tx_room() >= record_len(0)
            && self.seal_one(&[]).is_some()
        {
            self.close_sent = true;
        }
    }

    /// Gather wire bytes into `rx` until a whole message is there; `(consumed, Some(len))`
    /// when one is complete. Refuses a length out of bounds on its prefix alone.
    pub(super) fn gather(&mut self, input: &[u8]) -> Result<(usize, Option<usize>), SecureError> {
        let handshaking = matches!(self.phase, Phase::Handshake(_));
        let (min, max) = if handshaking {
            (message_len(0), self.rx.len() - LEN_PREFIX)
        } else {
            (TAG_LEN, usize::from(self.local_limit) + TAG_LEN)
        };
        match self.assembler.take(self.rx, input, min, max) {
            Ok(g) => Ok((g.consumed, g.complete)),
            Err(LengthError::TooLong(len) | LengthError::TooShort(len)) if handshaking => {
                Err(self.fail(SecureError::HandshakeLength { len }))
            }
            Err(LengthError::TooLong(len)) => {
                let max = self.local_limit + TAG_LEN as u16;
                Err(self.fail(SecureError::RecordTooLong { len, max }))
            }
            Err(LengthError::TooShort(len)) => Err(self.fail(SecureError::RecordTooShort { len })),
        }
    }

    /// A whole message is in `rx[LEN_PREFIX..LEN_PREFIX + len]`: open it.
    pub(super) fn open(&mut self, len: usize) -> Result<Opened, SecureError> {
        let Some(body) = self.rx.get_mut(LEN_PREFIX..LEN_PREFIX + len) else {
            return Err(self.fail(SecureError::Truncated));
        };
        match &mut self.phase {
            Phase::Failed(e) => Err(*e),
            Phase::Handshake(handshake) => {
                let read = match handshake.role() {
                    Role::Initiator => handshake.read_message_2(body),
                    Role::Responder => handshake.read_message_1(body),
                };
                let payload = match read {
                    Ok(range) => body.get(range).unwrap_or(&[]),
                    Err(CryptoError::Tag) => return Err(self.fail(SecureError::HandshakeAuth)),
                    Err(_) => {
                        let len = len as u16;
                        return Err(self.fail(SecureError::HandshakeLength { len }));
                    }
                };
                let Some(peer_limit) = decode_limit(payload) else {
                    return Err(self.fail(SecureError::HandshakePayload));
                };
                self.peer_limit = peer_limit;
                self.assembler.reset();
                if handshake.role() == Role::Responder {
                    self.write_handshake_message();
                }
                let Phase::Handshake(handshake) = &self.phase else {
                    // Writing message 2 failed (and failed the channel).
                    return Err(self.error().unwrap_or(SecureError::HandshakeCut));
                };
                self.handshake_hash = handshake.handshake_hash();
                let transport = handshake.split();
                self.phase = Phase::Transport(transport);
                // Message 2 decrypting proves the responder; message 1 proves nothing yet.
                self.authenticated = self.role == Role::Initiator;
                Ok(Opened::Established { peer_limit })
            }
            Phase::Transport(transport) => {
                let n = match record::open(&mut transport.recv, body) {
                    Ok(n) => n,
                    Err(CryptoError::NonceExhausted) => {
                        return Err(self.fail(SecureError::NonceExhausted))
                    }
                    Err(_) => return Err(self.fail(SecureError::RecordTag)),
                };
                self.assembler.reset();
                if n == 0 {
                    self.peer_close_received = true;
                } else {
                    self.plain = LEN_PREFIX..LEN_PREFIX + n;
                }
                let first_proof = !self.authenticated;
                self.authenticated = true;
                Ok(Opened::Record { first_proof })
            }
        }
    }

    /// The error the wire closing now means, or `None` when the close was clean.
    pub(super) fn eof(&mut self) -> Result<(), SecureError> {
        let error = match &self.phase {
            Phase::Failed(e) => return Err(*e),
            Phase::Handshake(_) if self.role == Role::Initiator && self.assembler.is_idle() => {
                SecureError::Refused
            }
            Phase::Handshake(_) => SecureError::HandshakeCut,
            Phase::Transport(_) if self.peer_close_received => return Ok(()),
            Phase::Transport(_) => SecureError::Truncated,
        };
        Err(self.fail(error))
    }

    pub(super) fn error(&self) -> Option<SecureError> {
        match self.phase {
            Phase::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Jump a nonce (tests of the never-wrap rule).
    #[cfg(test)]
    pub(super) fn set_nonces(&mut self, send: Option<u64>, recv: Option<u64>) {
        if let Phase::Transport(transport) = &mut self.phase {
            if let Some(n) = send {
                transport.send.set_nonce(n);
            }
            if let Some(n) = recv {
                transport.recv.set_nonce(n);
            }
        }
    }
}
