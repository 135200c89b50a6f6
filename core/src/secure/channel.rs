//! The sans-IO secure channel: the `NNpsk0` handshake, then a record layer around an inner
//! [`Machine`], the way rustls wraps an application stream. The inner machine sees plaintext
//! only (its input is what the peer's records decrypted to, its output is sealed into
//! records), so every existing exchange runs unchanged inside.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Range;

use super::handshake::{message_len, CryptoError, HandshakeState, Role, Transport, TAG_LEN};
use super::key::{Psk, PROLOGUE_PREFIX};
use super::record::{
    self, decode_limit, encode_limit, record_len, Assembler, LengthError, LEN_PREFIX,
    MAX_PLAINTEXT_LIMIT, MIN_PLAINTEXT_LIMIT,
};
use crate::{Handled, Machine};

/// Bytes of each handshake message on the wire: prefix, ephemeral key, 2-byte payload, tag.
pub const HANDSHAKE_WIRE_LEN: usize = LEN_PREFIX + message_len(2);
/// Smallest send buffer: one handshake message (records are sized to the room left).
pub const MIN_TX_BUF: usize = HANDSHAKE_WIRE_LEN;

/// Receive buffer needed for a stated plaintext limit: one whole record (tags are checked
/// over the whole record before any of it is used).
pub const fn rx_buf_len(max_plaintext: u16) -> usize {
    let record = record_len(max_plaintext as usize);
    if record > HANDSHAKE_WIRE_LEN {
        record
    } else {
        HANDSHAKE_WIRE_LEN
    }
}

/// How a channel is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config<'s> {
    /// Initiator for the side that opened the connection, responder for the side that
    /// accepted it, whatever the inner exchange's roles.
    pub role: Role,
    /// The service name in the prologue (`tcp`, `exec`, `file`, `auth`, ...).
    pub service: &'s [u8],
    /// The largest transport plaintext we accept per message, stated in our handshake
    /// payload: [`MIN_PLAINTEXT_LIMIT`]`..=`[`MAX_PLAINTEXT_LIMIT`].
    pub max_plaintext: u16,
}

/// The caller-owned buffers of a channel.
#[derive(Debug)]
pub struct Buffers<'b> {
    /// Receive buffer: at least [`rx_buf_len`]`(max_plaintext)` bytes. Records are opened in
    /// place here and the inner machine reads its input from it.
    pub rx: &'b mut [u8],
    /// Send buffer: at least [`MIN_TX_BUF`] bytes; a record is at most this long, so a
    /// buffer of `record_len(peer limit)` or more gives the largest records.
    pub tx: &'b mut [u8],
}

/// Why a channel could not be set up (the caller's mistake, not the peer's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// `max_plaintext` is outside 64..=65,519.
    #[error("plaintext limit {limit} is outside {MIN_PLAINTEXT_LIMIT}..={MAX_PLAINTEXT_LIMIT}")]
    LimitOutOfRange {
        /// The limit given.
        limit: u16,
    },
    /// The receive buffer cannot hold one record of our stated limit.
    #[error("receive buffer of {len} bytes, a record needs {need}")]
    RxBufferTooSmall {
        /// Bytes given.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// The send buffer cannot hold a handshake message.
    #[error("send buffer of {len} bytes, a handshake message needs {need}")]
    TxBufferTooSmall {
        /// Bytes given.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
}

/// What the peer (or the connection) did wrong. After one, the channel is done and sends
/// nothing more: close or reset the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecureError {
    /// A handshake message's tag failed: a different key, or a handshake meant for another
    /// service (prologue), or altered bytes. Exit code 5 (authentication).
    #[error("handshake failed: wrong key, or a handshake for another service")]
    HandshakeAuth,
    /// The initiator saw the connection close where message 2 should be: how a responder
    /// that failed message 1 refuses. Exit code 5 (authentication).
    #[error("the peer closed instead of answering the handshake")]
    Refused,
    /// The connection closed in the middle of a handshake message (or, for the responder,
    /// before message 1 was complete).
    #[error("the connection closed during the handshake")]
    HandshakeCut,
    /// A handshake message with a length that cannot hold an ephemeral key and a tag, or
    /// longer than our buffer.
    #[error("handshake message of {len} bytes")]
    HandshakeLength {
        /// The length prefix.
        len: u16,
    },
    /// The handshake payload decrypted but is not exactly 2 bytes giving a limit in
    /// 64..=65,519.
    #[error("handshake payload is not a valid record limit")]
    HandshakePayload,
    /// A transport record's tag failed: altered, reordered, replayed or injected bytes.
    #[error("a record failed its authentication tag")]
    RecordTag,
    /// A transport record longer than the plaintext limit we stated (plus the tag); refused
    /// on its length prefix, before its body is buffered.
    #[error("record of {len} bytes, more than the {max} we accept")]
    RecordTooLong {
        /// The length prefix.
        len: u16,
        /// The longest we accept.
        max: u16,
    },
    /// A transport record shorter than a tag.
    #[error("record of {len} bytes, shorter than a tag")]
    RecordTooShort {
        /// The length prefix.
        len: u16,
    },
    /// The connection ended after the handshake without the peer's close_notify: what was
    /// received must not be committed.
    #[error("the connection ended without close_notify")]
    Truncated,
    /// Bytes arrived after the peer's close_notify.
    #[error("data after the peer's close_notify")]
    DataAfterClose,
    /// 2^64 - 1 messages in one direction: the key must not be used again.
    #[error("record counter exhausted")]
    NonceExhausted,
    /// Plaintext was written after [`SecureChannel::close`].
    #[error("plaintext written after close")]
    AlreadyClosed,
}

impl SecureError {
    /// True for the failures that mean "not the right key / not the right service"
    /// (docs/protocol.md section 5: the authentication exit code).
    pub fn is_authentication_failure(&self) -> bool {
        matches!(self, Self::HandshakeAuth | Self::Refused)
    }
}

/// A channel error: ours, or the inner exchange's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError<E> {
    /// The channel failed.
    #[error("secure channel: {0}")]
    Secure(#[from] SecureError),
    /// The inner machine failed on the plaintext.
    #[error("{0}")]
    Inner(#[source] E),
}

/// What the channel reports, at most one per [`Machine::handle_input`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelEvent<B> {
    /// The handshake is over; the peer accepts `peer_limit` plaintext bytes per record.
    /// For the initiator the peer is now authenticated too ([`ChannelEvent::PeerAuthenticated`]
    /// follows); the responder's peer is not, yet (message 1 alone can be a replay).
    Established {
        /// The peer's stated plaintext limit.
        peer_limit: u16,
    },
    /// The peer proved it holds the key in this session: for the initiator, message 2
    /// decrypted; for the responder, the initiator's first transport message decrypted.
    /// The inner machine sees no input before this.
    PeerAuthenticated,
    /// The handler returned a value for an inner event: act on it (the inner machine and
    /// [`SecureChannel::write_plaintext`] are available), then call `handle_input` again.
    Inner(B),
    /// The inner machine is done. Commit its work, then [`SecureChannel::close`].
    InnerDone,
    /// The peer's close_notify arrived and the inner machine was told of the end of its input.
    PeerClosed,
}

/// Receives the inner machine's events, which borrow the channel's receive buffer and so
/// cannot leave [`Machine::handle_input`]: handle them here (e.g. write a body chunk to a
/// file) and return `Some` to stop and hand an owned value to the driver as
/// [`ChannelEvent::Inner`] (e.g. a command that needs a reply written).
pub trait InnerHandler<M: Machine> {
    /// What the driver gets.
    type Output;
    /// One inner event.
    fn on_inner_event(&mut self, inner: &mut M, event: M::Event<'_>) -> Option<Self::Output>;
}

/// An [`InnerHandler`] from a closure; make one with [`on_event`].
pub struct OnEvent<F, B> {
    f: F,
    _output: PhantomData<fn() -> B>,
}

impl<F, B> fmt::Debug for OnEvent<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnEvent(..)")
    }
}

/// A handler from a closure over the inner machine and one of its events.
pub fn on_event<M, B, F>(f: F) -> OnEvent<F, B>
where
    M: Machine,
    F: for<'i> FnMut(&mut M, M::Event<'i>) -> Option<B>,
{
    OnEvent { f, _output: PhantomData }
}

impl<M, B, F> InnerHandler<M> for OnEvent<F, B>
where
    M: Machine,
    F: for<'i> FnMut(&mut M, M::Event<'i>) -> Option<B>,
{
    type Output = B;
    fn on_inner_event(&mut self, inner: &mut M, event: M::Event<'_>) -> Option<B> {
        (self.f)(inner, event)
    }
}

enum Phase {
    /// Initiator: message 1 queued, waiting for message 2. Responder: waiting for message 1.
    Handshake(HandshakeState),
    Transport(Transport),
    /// After an error: nothing more is read or sent.
    Failed(SecureError),
}

/// Events owed to the driver, in the order they are handed out.
#[derive(Debug, Default, Clone, Copy)]
struct Owed {
    authenticated: bool,
    inner_done: bool,
    peer_closed: bool,
}

/// The secure channel around an inner machine `M`, with handler `H` for its events.
///
/// Wire side: it is itself a [`Machine`] ([`Machine::handle_input`] takes records, the
/// output is records), so [`crate::io::Conn::drive`] and `pair` run it like any
/// exchange. Plaintext side: the inner machine's output is sealed as records of at most the
/// peer's limit; [`SecureChannel::write_plaintext`] seals bytes an adapter sends itself (a
/// file body, command output) after the inner machine's pending output.
///
/// Ends: each side calls [`SecureChannel::close`] once it has nothing more to send (a side
/// that receives work: after committing it), which queues close_notify; the channel is done
/// when it sent its close_notify and received the peer's. The wire closing before the peer's
/// close_notify is [`SecureError::Truncated`].
pub struct SecureChannel<'b, M, H> {
    role: Role,
    local_limit: u16,
    peer_limit: u16,
    phase: Phase,
    rx: &'b mut [u8],
    assembler: Assembler,
    /// Decrypted plaintext in `rx` the inner machine has not taken yet.
    plain: Range<usize>,
    tx: &'b mut [u8],
    tx_out: Range<usize>,
    handshake_hash: [u8; 32],
    authenticated: bool,
    close_requested: bool,
    close_sent: bool,
    peer_close_received: bool,
    inner_eof_delivered: bool,
    inner_done_seen: bool,
    owed: Owed,
    inner: M,
    handler: H,
}

impl<'b, M: Machine, H: InnerHandler<M>> SecureChannel<'b, M, H> {
    /// Set up a channel. `ephemeral` is this handshake's X25519 private key: 32 fresh bytes
    /// from a CSPRNG, never reused. The initiator's message 1 is queued at once.
    pub fn new(
        config: &Config<'_>,
        psk: &Psk,
        ephemeral: [u8; 32],
        buffers: Buffers<'b>,
        inner: M,
        handler: H,
    ) -> Result<Self, SetupError> {
        let limit = config.max_plaintext;
        if !(MIN_PLAINTEXT_LIMIT..=MAX_PLAINTEXT_LIMIT).contains(&limit) {
            return Err(SetupError::LimitOutOfRange { limit });
        }
        let need = rx_buf_len(limit);
        if buffers.rx.len() < need {
            return Err(SetupError::RxBufferTooSmall { len: buffers.rx.len(), need });
        }
        if buffers.tx.len() < MIN_TX_BUF {
            return Err(SetupError::TxBufferTooSmall { len: buffers.tx.len(), need: MIN_TX_BUF });
        }
        let prologue: [&[u8]; 2] = [PROLOGUE_PREFIX, config.service];
        let handshake = HandshakeState::new(config.role, psk.as_bytes(), &prologue, ephemeral);
        let mut channel = Self {
            role: config.role,
            local_limit: limit,
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
            inner_eof_delivered: false,
            inner_done_seen: false,
            owed: Owed::default(),
            inner,
            handler,
        };
        if config.role == Role::Initiator {
            channel.write_handshake_message();
        }
        Ok(channel)
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The plaintext limit we stated.
    pub fn local_limit(&self) -> u16 {
        self.local_limit
    }

    /// The peer's stated plaintext limit, once the handshake is over.
    pub fn peer_limit(&self) -> Option<u16> {
        matches!(self.phase, Phase::Transport(_)).then_some(self.peer_limit)
    }

    /// True once the handshake is over.
    pub fn is_established(&self) -> bool {
        matches!(self.phase, Phase::Transport(_))
    }

    /// True once the peer proved the key in this session (see
    /// [`ChannelEvent::PeerAuthenticated`]). A responder trusts nothing before.
    pub fn peer_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Noise's handshake hash, once established: identifies this session (channel binding).
    pub fn handshake_hash(&self) -> Option<[u8; 32]> {
        self.is_established().then_some(self.handshake_hash)
    }

    /// The error that ended the channel, if any.
    pub fn error(&self) -> Option<SecureError> {
        match self.phase {
            Phase::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// True once our close_notify is queued.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// True once the peer's close_notify arrived.
    pub fn peer_closed(&self) -> bool {
        self.peer_close_received
    }

    /// The inner machine, for its getters.
    pub fn inner(&self) -> &M {
        &self.inner
    }

    /// Use the inner machine's mutators; its new output is sealed afterwards.
    pub fn with_inner<R>(&mut self, f: impl FnOnce(&mut M) -> R) -> R {
        let r = f(&mut self.inner);
        self.seal_pending();
        r
    }

    /// The inner machine, giving up the channel.
    pub fn into_inner(self) -> M {
        self.inner
    }

    /// The handler, for what it collected (a sink's digest, a reply buffer).
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The handler, mutably (state it reads when the next event comes, e.g. a clock).
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// The inner machine, the handler and the buffers, giving up the channel: a device
    /// recycles its static buffers (the handler's and the channel's) for its next
    /// connection. The buffers come back zeroed: no plaintext of this session stays in them.
    pub fn into_parts(self) -> (M, H, Buffers<'b>) {
        let Self { rx, tx, inner, handler, .. } = self;
        rx.fill(0);
        tx.fill(0);
        (inner, handler, Buffers { rx, tx })
    }

    /// [`SecureChannel::write_plaintext`] of bytes the handler holds (a command reply it
    /// collected), sealed straight from there: the handler cannot be borrowed while the
    /// channel is, and a device has no room for a copy. `bytes` is called once.
    pub fn write_handler_plaintext(
        &mut self,
        bytes: impl FnOnce(&H) -> &[u8],
    ) -> Result<usize, SecureError> {
        if !self.ready_for_plaintext()? {
            return Ok(0);
        }
        // Field by field, not through `seal_one`, so `bytes` may borrow the handler.
        let bytes = bytes(&self.handler);
        let mut taken = 0;
        while let Some(rest) = bytes.get(taken..).filter(|rest| !rest.is_empty()) {
            let room = tx_room(self.tx, &mut self.tx_out);
            match seal_into(&mut self.phase, self.peer_limit, self.tx, &mut self.tx_out, room, rest)
            {
                Some(0) | None => break,
                Some(n) => taken += n,
            }
        }
        match self.phase {
            Phase::Failed(e) => Err(e),
            _ => Ok(taken),
        }
    }

    /// The common start of the adapter's own writes: a failed or closing channel refuses,
    /// and the inner machine's pending output is sealed first. `false`: it did not all fit,
    /// so nothing of the adapter's may be sealed yet (the order of the stream).
    fn ready_for_plaintext(&mut self) -> Result<bool, SecureError> {
        if let Phase::Failed(e) = self.phase {
            return Err(e);
        }
        if self.close_requested {
            return Err(SecureError::AlreadyClosed);
        }
        self.seal_pending();
        Ok(self.inner.output_buf().is_empty())
    }

    /// Seal plaintext the adapter sends itself, after the inner machine's pending output.
    /// Returns how many bytes were taken: 0 when the send buffer is full (flush
    /// [`Machine::output_buf`] and call again) or the handshake is not over yet.
    pub fn write_plaintext(&mut self, bytes: &[u8]) -> Result<usize, SecureError> {
        if !self.ready_for_plaintext()? {
            return Ok(0);
        }
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

    /// We send nothing more: queue close_notify behind any pending output. Call it once the
    /// work is committed (a receiving side) or everything was written (a sending side).
    pub fn close(&mut self) {
        self.close_requested = true;
        self.seal_pending();
    }

    /// Jump the send nonce (tests of the never-wrap rule).
    #[cfg(test)]
    pub(crate) fn set_send_nonce(&mut self, nonce: u64) {
        if let Phase::Transport(transport) = &mut self.phase {
            transport.send.set_nonce(nonce);
        }
    }

    /// Jump the receive nonce (tests of the never-wrap rule).
    #[cfg(test)]
    pub(crate) fn set_recv_nonce(&mut self, nonce: u64) {
        if let Phase::Transport(transport) = &mut self.phase {
            transport.recv.set_nonce(nonce);
        }
    }

    fn fail(&mut self, error: SecureError) -> SecureError {
        self.phase = Phase::Failed(error);
        // Nothing more goes out: not even records already sealed.
        self.tx_out = 0..0;
        error
    }

    /// Free space at the end of the send buffer, compacting it first when that helps.
    fn tx_room(&mut self) -> usize {
        tx_room(self.tx, &mut self.tx_out)
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

    /// Seal up to one record of `bytes` into the send buffer; `Some(bytes taken)` (0 when
    /// the buffer is full), `None` when not established or failed.
    fn seal_one(&mut self, bytes: &[u8]) -> Option<usize> {
        let room = self.tx_room();
        seal_into(&mut self.phase, self.peer_limit, self.tx, &mut self.tx_out, room, bytes)
    }

    /// Seal the inner machine's pending output, then close_notify once asked and due.
    fn seal_pending(&mut self) {
        if !matches!(self.phase, Phase::Transport(_)) || self.close_sent {
            return;
        }
        loop {
            let room = self.tx_room();
            let out = self.inner.output_buf();
            if out.is_empty() {
                break;
            }
            match seal_into(&mut self.phase, self.peer_limit, self.tx, &mut self.tx_out, room, out)
            {
                Some(0) | None => return,
                Some(n) => self.inner.consume_output(n),
            }
        }
        if self.close_requested && self.tx_room() >= record_len(0) && self.seal_one(&[]).is_some() {
            self.close_sent = true;
        }
    }

    /// A whole message is in `rx[LEN_PREFIX..LEN_PREFIX + len]`: open it.
    fn on_message(&mut self, len: usize) -> Result<Option<ChannelEvent<H::Output>>, SecureError> {
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
                let Phase::Handshake(handshake) = &self.phase else { return Ok(None) };
                self.handshake_hash = handshake.handshake_hash();
                let transport = handshake.split();
                self.phase = Phase::Transport(transport);
                // Message 2 decrypting proves the responder; message 1 proves nothing yet.
                self.authenticated = self.role == Role::Initiator;
                self.owed.authenticated = self.authenticated;
                self.seal_pending();
                Ok(Some(ChannelEvent::Established { peer_limit }))
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
                if !self.authenticated {
                    self.authenticated = true;
                    return Ok(Some(ChannelEvent::PeerAuthenticated));
                }
                Ok(None)
            }
        }
    }

    /// Feed pending plaintext (and, after close_notify, the end of it) to the inner machine
    /// until it stalls or its handler returns a value.
    /// The event owed to the caller now, if any: authentication, the inner machine's next
    /// event, its end, the peer's close (in that order).
    fn pending_event(&mut self) -> Result<Option<ChannelEvent<H::Output>>, ChannelError<M::Error>> {
        self.seal_pending();
        if core::mem::take(&mut self.owed.authenticated) {
            return Ok(Some(ChannelEvent::PeerAuthenticated));
        }
        // The inner machine sees nothing until the peer is authenticated (a responder's
        // message 1 can be a replay), and only plaintext that decrypted.
        if self.authenticated {
            if let Some(event) = self.feed_inner()? {
                return Ok(Some(event));
            }
            if self.inner.is_done() && !self.inner_done_seen {
                self.inner_done_seen = true;
                self.owed.inner_done = true;
            }
            if core::mem::take(&mut self.owed.inner_done) {
                return Ok(Some(ChannelEvent::InnerDone));
            }
            if core::mem::take(&mut self.owed.peer_closed) {
                return Ok(Some(ChannelEvent::PeerClosed));
            }
        }
        Ok(None)
    }

    fn feed_inner(&mut self) -> Result<Option<ChannelEvent<H::Output>>, ChannelError<M::Error>> {
        loop {
            // A block, so the event (which borrows `rx`) is gone before sealing.
            let output = {
                let plain = self.rx.get(self.plain.clone()).unwrap_or(&[]);
                let Handled { consumed, event } =
                    self.inner.handle_input(plain).map_err(ChannelError::Inner)?;
                self.plain.start = (self.plain.start + consumed).min(self.plain.end);
                match event {
                    Some(event) => self.handler.on_inner_event(&mut self.inner, event),
                    None if consumed > 0 => None,
                    None => break,
                }
            };
            self.seal_pending();
            if let Some(output) = output {
                return Ok(Some(ChannelEvent::Inner(output)));
            }
        }
        self.seal_pending();
        if self.plain.is_empty() && self.peer_close_received && !self.inner_eof_delivered {
            self.inner_eof_delivered = true;
            self.owed.peer_closed = true;
            let event = self.inner.handle_eof().map_err(ChannelError::Inner)?;
            let output = event.and_then(|e| self.handler.on_inner_event(&mut self.inner, e));
            self.seal_pending();
            if let Some(output) = output {
                return Ok(Some(ChannelEvent::Inner(output)));
            }
        }
        Ok(None)
    }
}

/// Free space at the end of `tx` after the pending `tx_out`, compacting it first when that
/// helps. A function over the fields, so the bytes to seal may borrow other fields.
fn tx_room(tx: &mut [u8], tx_out: &mut Range<usize>) -> usize {
    if tx_out.start >= tx_out.end {
        *tx_out = 0..0;
    } else if tx_out.start > 0 {
        tx.copy_within(tx_out.clone(), 0);
        *tx_out = 0..tx_out.len();
    }
    tx.len().saturating_sub(tx_out.end)
}

/// Seal up to one record of `bytes` at `tx[tx_out.end..]` (with `room` bytes free): at most
/// the peer's limit and what fits. A function over the fields, not a method, so the bytes may
/// be borrowed from the inner machine. A nonce that would wrap fails the channel.
fn seal_into(
    phase: &mut Phase,
    peer_limit: u16,
    tx: &mut [u8],
    tx_out: &mut Range<usize>,
    room: usize,
    bytes: &[u8],
) -> Option<usize> {
    let Phase::Transport(transport) = phase else { return None };
    let max = room.saturating_sub(record_len(0)).min(usize::from(peer_limit));
    let n = bytes.len().min(max);
    if n == 0 && !bytes.is_empty() {
        return Some(0);
    }
    let out = tx.get_mut(tx_out.end..)?;
    match record::seal(&mut transport.send, bytes.get(..n)?, out) {
        Ok(len) => {
            tx_out.end += len;
            Some(n)
        }
        Err(_) => {
            *phase = Phase::Failed(SecureError::NonceExhausted);
            *tx_out = 0..0;
            None
        }
    }
}

impl<M: Machine, H: InnerHandler<M>> Machine for SecureChannel<'_, M, H>
where
    M::Error: 'static,
{
    type Event<'i> = ChannelEvent<H::Output>;
    type Error = ChannelError<M::Error>;

    fn handle_input(
        &mut self,
        input: &[u8],
    ) -> Result<Handled<ChannelEvent<H::Output>>, ChannelError<M::Error>> {
        if let Phase::Failed(e) = self.phase {
            return Err(e.into());
        }
        if let Some(event) = self.pending_event()? {
            return Ok(Handled::event(0, event));
        }
        if self.peer_close_received {
            if !input.is_empty() {
                return Err(self.fail(SecureError::DataAfterClose).into());
            }
            return Ok(Handled::consumed(0));
        }
        if !self.plain.is_empty() || input.is_empty() {
            // The inner machine has not taken the last record yet (it waits for a caller
            // action): take no more, so a slow consumer pushes back on the peer.
            return Ok(Handled::consumed(0));
        }
        let (min, max) = match self.phase {
            Phase::Handshake(_) => (message_len(0), self.rx.len() - LEN_PREFIX),
            _ => (TAG_LEN, usize::from(self.local_limit) + TAG_LEN),
        };
        let handshaking = matches!(self.phase, Phase::Handshake(_));
        let gathered = match self.assembler.take(self.rx, input, min, max) {
            Ok(g) => g,
            Err(LengthError::TooLong(len) | LengthError::TooShort(len)) if handshaking => {
                return Err(self.fail(SecureError::HandshakeLength { len }).into())
            }
            Err(LengthError::TooLong(len)) => {
                let max = self.local_limit + TAG_LEN as u16;
                return Err(self.fail(SecureError::RecordTooLong { len, max }).into());
            }
            Err(LengthError::TooShort(len)) => {
                return Err(self.fail(SecureError::RecordTooShort { len }).into())
            }
        };
        let event = match gathered.complete {
            // A record that completed without an event of its own may have made one due
            // (the inner machine's next event, the peer's close): report it in this call,
            // since a driver calls again with no input only after an event.
            Some(len) => match self.on_message(len)? {
                Some(event) => Some(event),
                None => self.pending_event()?,
            },
            None => None,
        };
        Ok(Handled { consumed: gathered.consumed, event })
    }

    fn handle_eof(&mut self) -> Result<Option<ChannelEvent<H::Output>>, ChannelError<M::Error>> {
        let error = match &self.phase {
            Phase::Failed(e) => return Err((*e).into()),
            Phase::Handshake(_) if self.role == Role::Initiator && self.assembler.is_idle() => {
                SecureError::Refused
            }
            Phase::Handshake(_) => SecureError::HandshakeCut,
            Phase::Transport(_) if self.peer_close_received => return Ok(None),
            Phase::Transport(_) => SecureError::Truncated,
        };
        Err(self.fail(error).into())
    }

    fn output_buf(&self) -> &[u8] {
        self.tx.get(self.tx_out.clone()).unwrap_or(&[])
    }

    fn consume_output(&mut self, n: usize) {
        self.tx_out.start = self.tx_out.start.saturating_add(n).min(self.tx_out.end);
        self.seal_pending();
    }

    fn is_done(&self) -> bool {
        match self.phase {
            Phase::Failed(_) => true,
            _ => self.close_sent && self.inner_eof_delivered && !self.owed.peer_closed,
        }
    }
}

impl<M: fmt::Debug, H> fmt::Debug for SecureChannel<'_, M, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecureChannel")
            .field("role", &self.role)
            .field("local_limit", &self.local_limit)
            .field("peer_limit", &self.peer_limit)
            .field("established", &matches!(self.phase, Phase::Transport(_)))
            .field("authenticated", &self.authenticated)
            .field("close_sent", &self.close_sent)
            .field("peer_closed", &self.peer_close_received)
            .field("failed", &matches!(self.phase, Phase::Failed(_)))
            .field("inner", &self.inner)
            .finish()
    }
}
