//! The sans-IO secure channel: the `NNpsk0` handshake, then a record layer around an inner
//! [`Machine`], the way rustls wraps an application stream. The inner machine sees plaintext
//! only (its input is what the peer's records decrypted to, its output is sealed into
//! records), so every existing exchange runs unchanged inside.

use core::fmt;
use core::marker::PhantomData;

use super::handshake::{message_len, Role};
use super::key::Psk;
use super::record::{record_len, LEN_PREFIX, MAX_PLAINTEXT_LIMIT, MIN_PLAINTEXT_LIMIT};
use super::wire::{Opened, Phase, Wire};
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
///
/// Only the feeding of `M` is generic: the handshake and the record layer are one
/// non-generic [`Wire`], linked once however many exchanges a firmware wraps.
pub struct SecureChannel<'b, M, H> {
    wire: Wire<'b>,
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
        check_setup(config, &buffers)?;
        Ok(Self {
            wire: Wire::new(config, psk, ephemeral, buffers),
            inner_eof_delivered: false,
            inner_done_seen: false,
            owed: Owed::default(),
            inner,
            handler,
        })
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.wire.role
    }

    /// The plaintext limit we stated.
    pub fn local_limit(&self) -> u16 {
        self.wire.local_limit
    }

    /// The peer's stated plaintext limit, once the handshake is over.
    pub fn peer_limit(&self) -> Option<u16> {
        self.wire.is_transport().then_some(self.wire.peer_limit)
    }

    /// True once the handshake is over.
    pub fn is_established(&self) -> bool {
        self.wire.is_transport()
    }

    /// True once the peer proved the key in this session (see
    /// [`ChannelEvent::PeerAuthenticated`]). A responder trusts nothing before.
    pub fn peer_authenticated(&self) -> bool {
        self.wire.authenticated
    }

    /// Noise's handshake hash, once established: identifies this session (channel binding).
    pub fn handshake_hash(&self) -> Option<[u8; 32]> {
        self.is_established().then_some(self.wire.handshake_hash)
    }

    /// The error that ended the channel, if any.
    pub fn error(&self) -> Option<SecureError> {
        self.wire.error()
    }

    /// True once our close_notify is queued.
    pub fn close_sent(&self) -> bool {
        self.wire.close_sent
    }

    /// True once the peer's close_notify arrived.
    pub fn peer_closed(&self) -> bool {
        self.wire.peer_close_received
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
        let Self { wire, inner, handler, .. } = self;
        (inner, handler, wire.into_buffers())
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
        self.wire.seal_all(bytes(&self.handler))
    }

    /// The common start of the adapter's own writes: a failed or closing channel refuses,
    /// and the inner machine's pending output is sealed first. `false`: it did not all fit,
    /// so nothing of the adapter's may be sealed yet (the order of the stream).
    fn ready_for_plaintext(&mut self) -> Result<bool, SecureError> {
        if let Some(e) = self.wire.error() {
            return Err(e);
        }
        if self.wire.close_requested {
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
        self.wire.seal_all(bytes)
    }

    /// We send nothing more: queue close_notify behind any pending output. Call it once the
    /// work is committed (a receiving side) or everything was written (a sending side).
    pub fn close(&mut self) {
        self.wire.close_requested = true;
        self.seal_pending();
    }

    /// Jump the send nonce (tests of the never-wrap rule).
    #[cfg(test)]
    pub(crate) fn set_send_nonce(&mut self, nonce: u64) {
        self.wire.set_nonces(Some(nonce), None);
    }

    /// Jump the receive nonce (tests of the never-wrap rule).
    #[cfg(test)]
    pub(crate) fn set_recv_nonce(&mut self, nonce: u64) {
        self.wire.set_nonces(None, Some(nonce));
    }

    /// Seal the inner machine's pending output, then close_notify once asked and due.
    fn seal_pending(&mut self) {
        if !self.wire.is_transport() || self.wire.close_sent {
            return;
        }
        loop {
            let out = self.inner.output_buf();
            if out.is_empty() {
                break;
            }
            match self.wire.seal_one(out) {
                Some(0) | None => return,
                Some(n) => self.inner.consume_output(n),
            }
        }
        self.wire.close_if_due();
    }

    /// A whole message is buffered: open it; the event it makes due, if any.
    fn on_message(&mut self, len: usize) -> Result<Option<ChannelEvent<H::Output>>, SecureError> {
        match self.wire.open(len)? {
            Opened::Established { peer_limit } => {
                self.owed.authenticated = self.wire.authenticated;
                self.seal_pending();
                Ok(Some(ChannelEvent::Established { peer_limit }))
            }
            Opened::Record { first_proof: true } => Ok(Some(ChannelEvent::PeerAuthenticated)),
            Opened::Record { first_proof: false } => Ok(None),
        }
    }

    /// The event owed to the caller now, if any: authentication, the inner machine's next
    /// event, its end, the peer's close (in that order).
    fn pending_event(&mut self) -> Result<Option<ChannelEvent<H::Output>>, ChannelError<M::Error>> {
        self.seal_pending();
        if core::mem::take(&mut self.owed.authenticated) {
            return Ok(Some(ChannelEvent::PeerAuthenticated));
        }
        // The inner machine sees nothing until the peer is authenticated (a responder's
        // message 1 can be a replay), and only plaintext that decrypted.
        if self.wire.authenticated {
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

    /// Feed pending plaintext (and, after close_notify, the end of it) to the inner machine
    /// until it stalls or its handler returns a value.
    fn feed_inner(&mut self) -> Result<Option<ChannelEvent<H::Output>>, ChannelError<M::Error>> {
        loop {
            // A block, so the event (which borrows the receive buffer) is gone before sealing.
            let output = {
                let (plain, cursor) = self.wire.plain_and_cursor();
                let Handled { consumed, event } =
                    self.inner.handle_input(plain).map_err(ChannelError::Inner)?;
                cursor.start = (cursor.start + consumed).min(cursor.end);
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
        if self.wire.plain.is_empty() && self.wire.peer_close_received && !self.inner_eof_delivered
        {
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

/// The caller's part of setting up: a limit in range and buffers that hold a message.
fn check_setup(config: &Config<'_>, buffers: &Buffers<'_>) -> Result<(), SetupError> {
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
    Ok(())
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
        if let Some(e) = self.wire.error() {
            return Err(e.into());
        }
        if let Some(event) = self.pending_event()? {
            return Ok(Handled::event(0, event));
        }
        if self.wire.peer_close_received {
            if !input.is_empty() {
                return Err(self.wire.fail(SecureError::DataAfterClose).into());
            }
            return Ok(Handled::consumed(0));
        }
        if !self.wire.plain.is_empty() || input.is_empty() {
            // The inner machine has not taken the last record yet (it waits for a caller
            // action): take no more, so a slow consumer pushes back on the peer.
            return Ok(Handled::consumed(0));
        }
        let (consumed, complete) = self.wire.gather(input)?;
        let event = match complete {
            // A record that completed without an event of its own may have made one due
            // (the inner machine's next event, the peer's close): report it in this call,
            // since a driver calls again with no input only after an event.
            Some(len) => match self.on_message(len)? {
                Some(event) => Some(event),
                None => self.pending_event()?,
            },
            None => None,
        };
        Ok(Handled { consumed, event })
    }

    fn handle_eof(&mut self) -> Result<Option<ChannelEvent<H::Output>>, ChannelError<M::Error>> {
        self.wire.eof()?;
        Ok(None)
    }

    fn output_buf(&self) -> &[u8] {
        self.wire.output()
    }

    fn consume_output(&mut self, n: usize) {
        self.wire.consume_output(n);
        self.seal_pending();
    }

    fn is_done(&self) -> bool {
        match self.wire.phase {
            Phase::Failed(_) => true,
            _ => self.wire.close_sent && self.inner_eof_delivered && !self.owed.peer_closed,
        }
    }
}

impl<M: fmt::Debug, H> fmt::Debug for SecureChannel<'_, M, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wire = &self.wire;
        f.debug_struct("SecureChannel")
            .field("role", &wire.role)
            .field("local_limit", &wire.local_limit)
            .field("peer_limit", &wire.peer_limit)
            .field("established", &wire.is_transport())
            .field("authenticated", &wire.authenticated)
            .field("close_sent", &wire.close_sent)
            .field("peer_closed", &wire.peer_close_received)
            .field("failed", &wire.error().is_some())
            .field("inner", &self.inner)
            .finish()
    }
}
