//! [`ServiceClient`]: issues section 6's requests, streams `put` data within the server's
//! window, grants windows back for what it received, and hands every answer to the caller.

use super::codec::{EncodeError, MAX_MESSAGE, PREFIX};
use super::queue::{Out, Reader};
use super::wire::{Bytes, Message};
use super::{MAX_DATA, MAX_WAITING};
use crate::{Handled, Machine};

/// Smallest receive buffer: one whole message.
pub const CLIENT_RX_MIN: usize = PREFIX + MAX_MESSAGE;
/// Smallest send buffer: one whole message.
pub const CLIENT_TX_MIN: usize = PREFIX + MAX_MESSAGE;
/// Streams whose window a client grants back at once.
const MAX_STREAMS: usize = 8;

/// Why a client ended the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A length prefix of 0 or above the limit, refused before buffering.
    #[error("message length {len} outside 1..={MAX_MESSAGE}")]
    Oversize {
        /// The announced length.
        len: usize,
    },
    /// A message that does not decode.
    #[error("bad message: {0}")]
    Decode(#[source] super::DecodeError),
    /// A message only a client sends.
    #[error("a client-to-server message (id {id}) from the server")]
    Unexpected {
        /// Its id.
        id: u32,
    },
    /// The buffers are smaller than [`CLIENT_RX_MIN`] / [`CLIENT_TX_MIN`].
    #[error("client buffers too small")]
    Buffers,
}

/// Why a request was not queued (the connection goes on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No room in the send buffer: flush, then try again.
    #[error("send buffer full")]
    Full,
    /// [`MAX_WAITING`] requests already wait for their first answer.
    #[error("{MAX_WAITING} requests already waiting")]
    TooManyWaiting,
    /// Not a message a client sends, or `data` (use [`ServiceClient::send_data`]).
    #[error("not a request")]
    NotARequest,
    /// The message does not encode (longer than the limit).
    #[error("{0}")]
    Encode(#[source] EncodeError),
}

/// What a client reports. The message itself is [`ServiceClient::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEvent {
    /// A message arrived from the server.
    Message,
    /// The server closed.
    Closed,
}

/// The service's client: one per connection, over caller-owned buffers.
///
/// Queue requests with [`ServiceClient::request`] (ids are the caller's), upload bytes with
/// [`ServiceClient::send_data`] once `put_ready` came (it sends no more than the server's
/// window), and read each answer with [`ServiceClient::message`] when
/// [`ClientEvent::Message`] is reported. Received `data` and `output` are granted back to the
/// server as soon as they are handed out. [`ServiceClient::finish`] once every answer is in:
/// the machine is then done, and the channel can close.
///
/// An upload sends what the window and the send buffer allow at each call: call
/// [`ServiceClient::send_data`] again after each answer (a `credit` widens the window) and
/// after output was taken (room in the send buffer).
pub struct ServiceClient<'b> {
    rx: Reader<'b>,
    /// A whole message is in `rx`, handed out; dropped on the next input.
    holding: bool,
    tx: Out<'b>,
    /// Requests waiting for their first answer.
    waiting: heapless::Vec<u32, MAX_WAITING>,
    /// The open upload and the bytes the server still allows.
    put: Option<(u32, u64)>,
    /// Window owed back to the server, per stream.
    owed: heapless::Vec<(u32, u64), MAX_STREAMS>,
    finished: bool,
    closed: bool,
    failed: Option<ClientError>,
}

impl core::fmt::Debug for ServiceClient<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServiceClient")
            .field("waiting", &self.waiting)
            .field("put", &self.put)
            .field("pending", &self.tx.pending().len())
            .field("finished", &self.finished)
            .field("closed", &self.closed)
            .field("failed", &self.failed)
            .finish()
    }
}

impl<'b> ServiceClient<'b> {
    /// A client; `rx` holds one message ([`CLIENT_RX_MIN`]), `tx` queues requests
    /// ([`CLIENT_TX_MIN`]).
    pub fn new(rx: &'b mut [u8], tx: &'b mut [u8]) -> Result<Self, ClientError> {
        if rx.len() < CLIENT_RX_MIN || tx.len() < CLIENT_TX_MIN {
            return Err(ClientError::Buffers);
        }
        Ok(Self {
            rx: Reader::new(rx),
            holding: false,
            tx: Out::new(tx),
            waiting: heapless::Vec::new(),
            put: None,
            owed: heapless::Vec::new(),
            finished: false,
            closed: false,
            failed: None,
        })
    }

    /// Queue a request (any client-to-server message but `data`).
    pub fn request(&mut self, message: &Message<'_>) -> Result<(), RequestError> {
        let answered = match message {
            Message::End { .. } => true,
            Message::Credit { .. } | Message::Cancel { .. } => false,
            m if m.opens_request() => true,
            _ => return Err(RequestError::NotARequest),
        };
        if answered && self.waiting.is_full() {
            return Err(RequestError::TooManyWaiting);
        }
        self.tx.push(message).map_err(|e| match e {
            EncodeError::BufferFull => RequestError::Full,
            e => RequestError::Encode(e),
        })?;
        if answered {
            let _ = self.waiting.push(message.id());
        }
        if let Message::End { id, .. } | Message::Cancel { id } = *message {
            self.put = self.put.filter(|(put, _)| *put != id);
        }
        Ok(())
    }

    /// Queue upload bytes for `put` `id` from `offset`: as many of `bytes` as the server's
    /// window, one message's limit and the send buffer allow (possibly 0). Returns how many.
    pub fn send_data(&mut self, id: u32, offset: u64, bytes: &[u8]) -> usize {
        let Some((_, credit)) = self.put.as_mut().filter(|(put, _)| *put == id) else { return 0 };
        let room = self.tx.room().saturating_sub(super::queue::HEADROOM);
        let allowed = usize::try_from(*credit).unwrap_or(usize::MAX);
        let n = bytes.len().min(MAX_DATA).min(room).min(allowed);
        if n == 0 {
            return 0;
        }
        let chunk = bytes.get(..n).unwrap_or_default();
        if self.tx.push(&Message::Data { id, offset, bytes: Bytes(chunk) }).is_err() {
            return 0;
        }
        *credit -= n as u64;
        n
    }

    /// Bytes the server allows for upload `id` now.
    pub fn window(&self, id: u32) -> u64 {
        self.put.filter(|(put, _)| *put == id).map_or(0, |(_, credit)| credit)
    }

    /// Requests waiting for their first answer.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The message last reported by [`ClientEvent::Message`].
    pub fn message(&self) -> Option<Message<'_>> {
        self.holding.then(|| super::decode(self.rx.body()).ok()).flatten()
    }

    /// No more requests: the machine is done (close the channel once its output is sent).
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Book-keeping for one message from the server.
    fn on_message(&mut self, message: &Message<'_>) -> Result<(), ClientError> {
        let id = message.id();
        if let Some(at) = self.waiting.iter().position(|w| *w == id) {
            self.waiting.swap_remove(at);
        }
        match *message {
            Message::PutReady { window, .. } => self.put = Some((id, window)),
            Message::Credit { bytes, .. } => {
                if let Some((_, credit)) = self.put.as_mut().filter(|(put, _)| *put == id) {
                    *credit = credit.saturating_add(bytes);
                }
            }
            Message::Data { bytes: Bytes(b), .. } | Message::Output { bytes: Bytes(b), .. } => {
                self.owe(id, b.len() as u64)
            }
            Message::PutDone { .. } | Message::Error { .. } => {
                self.put = self.put.filter(|(put, _)| *put != id)
            }
            Message::Pong { .. }
            | Message::StatReply { .. }
            | Message::Entry { .. }
            | Message::ListEnd { .. }
            | Message::Done { .. }
            | Message::End { .. }
            | Message::GetReady { .. }
            | Message::Exit { .. } => {}
            _ => return Err(ClientError::Unexpected { id }),
        }
        Ok(())
    }

    fn owe(&mut self, id: u32, bytes: u64) {
        if let Some((_, owed)) = self.owed.iter_mut().find(|(o, _)| *o == id) {
            *owed += bytes;
        } else if self.owed.push((id, bytes)).is_err() {
            // More streams than slots: grant this one back at once if there is room.
            let _ = self.tx.push(&Message::Credit { id, bytes });
        }
        self.flush_credit();
    }

    /// Queue the windows owed back, as room allows.
    fn flush_credit(&mut self) {
        while let Some(&(id, bytes)) = self.owed.last() {
            if self.tx.push(&Message::Credit { id, bytes }).is_err() {
                return;
            }
            self.owed.pop();
        }
    }
}

impl Machine for ServiceClient<'_> {
    type Event<'i> = ClientEvent;
    type Error = ClientError;

    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<ClientEvent>, ClientError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let handled = self.read(input);
        if let Err(err) = handled {
            self.failed = Some(err);
        }
        handled
    }

    fn handle_eof(&mut self) -> Result<Option<ClientEvent>, ClientError> {
        self.closed = true;
        Ok(Some(ClientEvent::Closed))
    }

    fn output_buf(&self) -> &[u8] {
        self.tx.pending()
    }

    fn consume_output(&mut self, n: usize) {
        self.tx.consume(n);
        self.flush_credit();
    }

    fn is_done(&self) -> bool {
        self.finished || self.closed || self.failed.is_some()
    }
}

impl ServiceClient<'_> {
    /// One message from `input`, if it completes one.
    fn read(&mut self, input: &[u8]) -> Result<Handled<ClientEvent>, ClientError> {
        if core::mem::take(&mut self.holding) {
            self.rx.clear();
        }
        let (consumed, whole) = self.rx.read(input).map_err(|len| ClientError::Oversize { len })?;
        if !whole {
            return Ok(Handled::consumed(consumed));
        }
        // The message borrows `rx` and the book-keeping needs the rest of `self`: lend the
        // buffer out for the call (`message` decodes it again when asked).
        let rx = core::mem::replace(&mut self.rx, Reader::new(&mut []));
        let booked = super::decode(rx.body())
            .map_err(ClientError::Decode)
            .and_then(|message| self.on_message(&message));
        self.rx = rx;
        booked?;
        self.holding = true;
        Ok(Handled::event(consumed, ClientEvent::Message))
    }
}
