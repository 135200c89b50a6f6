//! [`ServiceServer`]: serves section 6's requests from a [`Storage`] and a [`Commands`],
//! inside a [`SecureChannel`](crate::secure::SecureChannel) like any machine.

use sha2::{Digest as _, Sha256};

use super::codec::{EncodeError, MAX_MESSAGE, PREFIX};
use super::queue::{Out, Reader, HEADROOM};
use super::storage::{Commands, Poll, Storage};
use super::wire::{Bytes, Digest, ErrorCode, Kind, Message};
use super::{check_path, MAX_DATA, MAX_PAGE, MAX_PATH, MAX_WAITING};
use crate::{Handled, Machine};

/// The longest short answer (`put_done`, `stat_reply`, `error`, ...) with its prefix.
const SMALL_MAX: usize = 64;
/// Send-buffer room kept for the short answers a client may have waiting.
const RESERVE: usize = MAX_WAITING * SMALL_MAX;
/// The longest `entry` with its prefix.
const ENTRY_MAX: usize = PREFIX + 32 + MAX_PATH;
/// Smallest receive buffer: one whole message.
pub const SERVER_RX_MIN: usize = PREFIX + MAX_MESSAGE;
/// Smallest send buffer: the short answers' reserve and one whole message.
pub const SERVER_TX_MIN: usize = RESERVE + PREFIX + MAX_MESSAGE;

/// Why a server ended the connection (section 6.5); partial uploads were kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// A length prefix of 0 or above the limit, refused before buffering.
    #[error("message length {len} outside 1..={MAX_MESSAGE}")]
    Oversize {
        /// The announced length.
        len: usize,
    },
    /// A message that does not decode.
    #[error("bad message: {0}")]
    Decode(#[source] super::DecodeError),
    /// A message only a server sends.
    #[error("a server-to-client message (id {id}) from the client")]
    Unexpected {
        /// Its id.
        id: u32,
    },
    /// A request whose id is still open.
    #[error("request id {id} is still open")]
    DuplicateId {
        /// The id.
        id: u32,
    },
    /// `data` beyond the window granted.
    #[error("data beyond the granted window")]
    FlowControl,
    /// More short answers waiting than the client may have.
    #[error("more than {MAX_WAITING} requests waiting for their answer")]
    TooManyWaiting,
    /// The send buffer cannot hold an answer (a buffer below [`SERVER_TX_MIN`]).
    #[error("answer not encoded: {0}")]
    Encode(#[source] EncodeError),
    /// The buffers are smaller than [`SERVER_RX_MIN`] / [`SERVER_TX_MIN`].
    #[error("server buffers too small")]
    Buffers,
}

/// What a server reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerEvent {
    /// A `put` was committed (durable, digest checked) and its receipt queued.
    Committed {
        /// The request id.
        id: u32,
        /// The file's size.
        size: u64,
    },
    /// The client closed; partial uploads were kept.
    Closed,
}

struct PutSlot<U> {
    id: u32,
    upload: U,
    size: u64,
    pos: u64,
    hasher: Sha256,
    /// Bytes the client may still send.
    credit: u64,
    /// Bytes written and not yet granted back.
    owed: u64,
}

struct GetSlot<D> {
    id: u32,
    file: D,
    size: u64,
    pos: u64,
    hasher: Sha256,
    credit: u64,
}

struct ExecSlot<R> {
    id: u32,
    run: R,
    credit: u64,
}

struct ListSlot {
    id: u32,
    dir: heapless::Vec<u8, MAX_PATH>,
    cursor: u64,
    sent: usize,
}

/// Everything but the receive buffer, so a message borrowed from it can be served.
struct Core<'b, S: Storage, C: Commands> {
    storage: S,
    commands: C,
    tx: Out<'b>,
    window: u64,
    put: Option<PutSlot<S::Upload>>,
    get: Option<GetSlot<S::Download>>,
    exec: Option<ExecSlot<C::Run>>,
    list: Option<ListSlot>,
}

/// The service's server: one per connection, over caller-owned buffers.
///
/// It serves every request synchronously from `S` and `C`; file data and command output go
/// out as the client's windows and the send buffer allow, refilled whenever output is taken
/// ([`Machine::consume_output`]). A host whose commands produce output later calls
/// [`ServiceServer::poll`] (through `SecureChannel::with_inner`) when they may have some.
pub struct ServiceServer<'b, S: Storage, C: Commands> {
    rx: Reader<'b>,
    core: Core<'b, S, C>,
    closed: bool,
    failed: Option<ServerError>,
}

impl<S: Storage, C: Commands> core::fmt::Debug for ServiceServer<'_, S, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let core = &self.core;
        f.debug_struct("ServiceServer")
            .field("put", &core.put.as_ref().map(|s| (s.id, s.pos, s.size)))
            .field("get", &core.get.as_ref().map(|s| (s.id, s.pos, s.size)))
            .field("exec", &core.exec.as_ref().map(|s| s.id))
            .field("list", &core.list.as_ref().map(|s| s.id))
            .field("pending", &core.tx.pending().len())
            .field("closed", &self.closed)
            .field("failed", &self.failed)
            .finish()
    }
}

impl<'b, S: Storage, C: Commands> ServiceServer<'b, S, C> {
    /// A server over `storage` and `commands`; `rx` holds one message
    /// ([`SERVER_RX_MIN`]), `tx` queues answers ([`SERVER_TX_MIN`]); `window` is the upload
    /// window it grants (bytes a client may send ahead of its writes).
    pub fn new(
        storage: S,
        commands: C,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
        window: u64,
    ) -> Result<Self, ServerError> {
        if rx.len() < SERVER_RX_MIN || tx.len() < SERVER_TX_MIN {
            return Err(ServerError::Buffers);
        }
        Ok(Self {
            rx: Reader::new(rx),
            core: Core {
                storage,
                commands,
                tx: Out::new(tx),
                window,
                put: None,
                get: None,
                exec: None,
                list: None,
            },
            closed: false,
            failed: None,
        })
    }

    /// The storage, e.g. to inspect it in a test.
    pub fn storage(&self) -> &S {
        &self.core.storage
    }

    /// The commands.
    pub fn commands(&self) -> &C {
        &self.core.commands
    }

    /// The storage and the commands, giving up the server (call [`ServiceServer::shutdown`]
    /// first if the connection did not end with the client's close).
    pub fn into_parts(self) -> (S, C) {
        (self.core.storage, self.core.commands)
    }

    /// Queue what is due now (command output that came since): call it when a command may
    /// have output, then flush.
    pub fn poll(&mut self) {
        if !self.closed && self.failed.is_none() {
            self.core.fill();
        }
    }

    /// The connection is gone (a deadline, a reset): keep partial uploads, stop commands.
    /// [`Machine::handle_eof`] and every error do this too.
    pub fn shutdown(&mut self) {
        self.core.shutdown();
    }

    fn fail(&mut self, err: ServerError) -> ServerError {
        self.failed = Some(err);
        self.core.shutdown();
        err
    }
}

impl<S: Storage, C: Commands> Machine for ServiceServer<'_, S, C> {
    type Event<'i> = ServerEvent;
    type Error = ServerError;

    fn handle_input(&mut self, input: &[u8]) -> Result<Handled<ServerEvent>, ServerError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        if self.closed {
            return Ok(Handled::consumed(0));
        }
        let mut consumed = 0;
        while consumed < input.len() {
            let rest = input.get(consumed..).unwrap_or_default();
            let (n, whole) = match self.rx.read(rest) {
                Ok(read) => read,
                Err(len) => return Err(self.fail(ServerError::Oversize { len })),
            };
            consumed += n;
            if !whole {
                break;
            }
            let served = match super::decode(self.rx.body()) {
                Ok(message) => self.core.serve(message),
                Err(e) => Err(ServerError::Decode(e)),
            };
            self.rx.clear();
            match served {
                Err(e) => return Err(self.fail(e)),
                Ok(Some(event)) => {
                    self.core.fill();
                    return Ok(Handled::event(consumed, event));
                }
                Ok(None) => {}
            }
        }
        self.core.fill();
        Ok(Handled::consumed(consumed))
    }

    fn handle_eof(&mut self) -> Result<Option<ServerEvent>, ServerError> {
        self.closed = true;
        self.core.shutdown();
        if self.rx.partial() > 0 {
            // A message cut off by close_notify: nothing of it is acted on.
            self.rx.clear();
        }
        Ok(Some(ServerEvent::Closed))
    }

    fn output_buf(&self) -> &[u8] {
        self.core.tx.pending()
    }

    fn consume_output(&mut self, n: usize) {
        self.core.tx.consume(n);
        self.poll();
    }

    fn is_done(&self) -> bool {
        self.closed || self.failed.is_some()
    }
}

impl<S: Storage, C: Commands> Core<'_, S, C> {
    /// A short answer; the reserve guarantees room for a client within its limits.
    fn reply(&mut self, message: &Message<'_>) -> Result<(), ServerError> {
        self.tx.push(message).map_err(|e| match e {
            EncodeError::BufferFull => ServerError::TooManyWaiting,
            e => ServerError::Encode(e),
        })
    }

    fn error(&mut self, id: u32, code: ErrorCode) -> Result<(), ServerError> {
        self.reply(&Message::Error { id, code: code as u32 })
    }

    fn is_open(&self, id: u32) -> bool {
        self.put.as_ref().is_some_and(|s| s.id == id)
            || self.get.as_ref().is_some_and(|s| s.id == id)
            || self.exec.as_ref().is_some_and(|s| s.id == id)
            || self.list.as_ref().is_some_and(|s| s.id == id)
    }

    fn serve(&mut self, message: Message<'_>) -> Result<Option<ServerEvent>, ServerError> {
        let id = message.id();
        if self.is_open(id) && message.opens_request() {
            return Err(ServerError::DuplicateId { id });
        }
        match message {
            Message::Ping { id } => self.reply(&Message::Pong { id })?,
            Message::Stat { id, path } => match self.stat(id, path) {
                Ok(reply) => self.reply(&reply)?,
                Err(code) => self.error(id, code)?,
            },
            Message::List { id, path, cursor } => self.begin_list(id, path, cursor)?,
            Message::Remove { id, path } => {
                let done = check_path(path, false).and_then(|()| self.storage.remove(path));
                self.done(id, done)?
            }
            Message::Mkdir { id, path } => {
                let done = check_path(path, false).and_then(|()| self.storage.mkdir(path));
                self.done(id, done)?
            }
            Message::Put { id, path, size, offset } => self.begin_put(id, path, size, offset)?,
            Message::Data { id, offset, bytes: Bytes(bytes) } => self.data(id, offset, bytes)?,
            Message::End { id, sha256 } => return self.end(id, sha256),
            Message::Get { id, path, offset, window } => {
                self.begin_get(id, path, offset, window)?
            }
            Message::Credit { id, bytes } => self.credit(id, bytes),
            Message::Exec { id, argv, timeout_ms, window } => {
                if self.exec.is_some() {
                    return self.error(id, ErrorCode::Busy).map(|()| None);
                }
                match self.commands.start(&argv, timeout_ms) {
                    Ok(run) => self.exec = Some(ExecSlot { id, run, credit: window }),
                    Err(code) => self.error(id, code)?,
                }
            }
            Message::Cancel { id } => self.cancel(id)?,
            _ => return Err(ServerError::Unexpected { id }),
        }
        Ok(None)
    }

    fn done(&mut self, id: u32, done: Result<(), ErrorCode>) -> Result<(), ServerError> {
        match done {
            Ok(()) => self.reply(&Message::Done { id }),
            Err(code) => self.error(id, code),
        }
    }

    fn stat<'m>(&mut self, id: u32, path: &str) -> Result<Message<'m>, ErrorCode> {
        check_path(path, true)?;
        let stat = self.storage.stat(path)?;
        if stat.kind == Kind::None && stat.partial == 0 {
            return Err(ErrorCode::NotFound);
        }
        Ok(Message::StatReply { id, kind: stat.kind as u8, size: stat.size, partial: stat.partial })
    }

    fn begin_list(&mut self, id: u32, path: &str, cursor: u64) -> Result<(), ServerError> {
        if self.list.is_some() {
            return self.error(id, ErrorCode::Busy);
        }
        if let Err(code) = check_path(path, true) {
            return self.error(id, code);
        }
        let mut dir = heapless::Vec::new();
        // check_path bounds the length.
        let _ = dir.extend_from_slice(path.as_bytes());
        self.list = Some(ListSlot { id, dir, cursor, sent: 0 });
        Ok(())
    }

    fn begin_put(
        &mut self,
        id: u32,
        path: &str,
        size: u64,
        offset: u64,
    ) -> Result<(), ServerError> {
        if self.put.is_some() {
            return self.error(id, ErrorCode::Busy);
        }
        if let Err(code) = check_path(path, false) {
            return self.error(id, code);
        }
        if offset > size {
            return self.error(id, ErrorCode::BadOffset);
        }
        let (mut upload, held) = match self.storage.begin_upload(path, size, offset) {
            Ok(begun) => begun,
            Err(code) => return self.error(id, code),
        };
        let from = held.min(offset);
        let mut hasher = Sha256::new();
        let storage = &mut self.storage;
        if let Err(code) =
            hash_prefix(&mut hasher, from, |at, buf| storage.read_upload(&mut upload, at, buf))
        {
            self.storage.keep_upload(upload);
            return self.error(id, code);
        }
        let window = self.window;
        self.put = Some(PutSlot { id, upload, size, pos: from, hasher, credit: window, owed: 0 });
        self.reply(&Message::PutReady { id, offset: from, window })
    }

    fn data(&mut self, id: u32, offset: u64, bytes: &[u8]) -> Result<(), ServerError> {
        let Some(slot) = self.put.as_mut().filter(|s| s.id == id) else { return Ok(()) };
        let len = bytes.len() as u64;
        slot.credit = slot.credit.checked_sub(len).ok_or(ServerError::FlowControl)?;
        let code = if offset != slot.pos {
            Some(ErrorCode::BadOffset)
        } else if len > slot.size - slot.pos {
            Some(ErrorCode::SizeMismatch)
        } else {
            self.storage.write_upload(&mut slot.upload, offset, bytes).err()
        };
        if let Some(code) = code {
            return self.fail_put(code);
        }
        slot.hasher.update(bytes);
        slot.pos += len;
        slot.owed += len;
        Ok(())
    }

    fn fail_put(&mut self, code: ErrorCode) -> Result<(), ServerError> {
        if let Some(slot) = self.put.take() {
            self.storage.keep_upload(slot.upload);
            self.error(slot.id, code)?;
        }
        Ok(())
    }

    fn end(&mut self, id: u32, sha256: Digest) -> Result<Option<ServerEvent>, ServerError> {
        let Some(slot) = self.put.take_if(|s| s.id == id) else { return Ok(None) };
        if slot.pos != slot.size {
            self.storage.keep_upload(slot.upload);
            self.error(id, ErrorCode::SizeMismatch)?;
            return Ok(None);
        }
        let digest: [u8; 32] = slot.hasher.finalize().into();
        if digest != sha256.0 {
            self.storage.discard_upload(slot.upload);
            self.error(id, ErrorCode::DigestMismatch)?;
            return Ok(None);
        }
        let size = slot.size;
        match self.storage.commit_upload(slot.upload) {
            Ok(()) => {
                self.reply(&Message::PutDone { id, size, sha256 })?;
                Ok(Some(ServerEvent::Committed { id, size }))
            }
            Err(code) => self.error(id, code).map(|()| None),
        }
    }

    fn begin_get(
        &mut self,
        id: u32,
        path: &str,
        offset: u64,
        window: u64,
    ) -> Result<(), ServerError> {
        if self.get.is_some() {
            return self.error(id, ErrorCode::Busy);
        }
        if let Err(code) = check_path(path, false) {
            return self.error(id, code);
        }
        let (mut file, size) = match self.storage.open(path) {
            Ok(open) => open,
            Err(code) => return self.error(id, code),
        };
        if offset > size {
            self.storage.close(file);
            return self.error(id, ErrorCode::BadOffset);
        }
        let mut hasher = Sha256::new();
        let storage = &mut self.storage;
        if let Err(code) =
            hash_prefix(&mut hasher, offset, |at, buf| storage.read(&mut file, at, buf))
        {
            self.storage.close(file);
            return self.error(id, code);
        }
        self.get = Some(GetSlot { id, file, size, pos: offset, hasher, credit: window });
        self.reply(&Message::GetReady { id, size, offset })
    }

    fn credit(&mut self, id: u32, bytes: u64) {
        if let Some(slot) = self.get.as_mut().filter(|s| s.id == id) {
            slot.credit = slot.credit.saturating_add(bytes);
        } else if let Some(slot) = self.exec.as_mut().filter(|s| s.id == id) {
            slot.credit = slot.credit.saturating_add(bytes);
        }
    }

    fn cancel(&mut self, id: u32) -> Result<(), ServerError> {
        if self.put.as_ref().is_some_and(|s| s.id == id) {
            return self.fail_put(ErrorCode::Cancelled);
        }
        if let Some(slot) = self.get.take_if(|s| s.id == id) {
            self.storage.close(slot.file);
        } else if let Some(slot) = self.exec.take_if(|s| s.id == id) {
            self.commands.kill(slot.run);
        } else if self.list.take_if(|s| s.id == id).is_none() {
            return Ok(());
        }
        self.error(id, ErrorCode::Cancelled)
    }

    fn shutdown(&mut self) {
        if let Some(slot) = self.put.take() {
            self.storage.keep_upload(slot.upload);
        }
        if let Some(slot) = self.get.take() {
            self.storage.close(slot.file);
        }
        if let Some(slot) = self.exec.take() {
            self.commands.kill(slot.run);
        }
        self.list = None;
    }

    /// Room for streamed messages: what is left beyond the short answers' reserve.
    fn stream_room(&self) -> usize {
        self.tx.room().saturating_sub(RESERVE)
    }

    /// Queue streamed messages while there is room and window: upload credit, list
    /// entries, file data, command output.
    fn fill(&mut self) {
        while self.fill_one() {}
    }

    fn fill_one(&mut self) -> bool {
        if self.stream_room() < SMALL_MAX {
            return false;
        }
        if let Some(slot) = self.put.as_mut().filter(|s| s.owed > 0) {
            let (id, bytes) = (slot.id, core::mem::take(&mut slot.owed));
            slot.credit += bytes;
            return self.tx.push(&Message::Credit { id, bytes }).is_ok();
        }
        let mut progress = false;
        if self.list.is_some() && self.stream_room() >= ENTRY_MAX {
            progress |= self.fill_list();
        }
        if self.get.is_some() {
            progress |= self.fill_get();
        }
        if self.exec.is_some() {
            progress |= self.fill_exec();
        }
        progress
    }

    fn fill_list(&mut self) -> bool {
        let Some(slot) = self.list.as_mut() else { return false };
        let id = slot.id;
        if slot.sent == MAX_PAGE {
            let next = Some(slot.cursor);
            self.list = None;
            return self.tx.push(&Message::ListEnd { id, next }).is_ok();
        }
        let mut name = [0u8; MAX_PATH];
        let dir = core::str::from_utf8(&slot.dir).unwrap_or_default();
        let listed = self.storage.list(dir, slot.cursor, &mut name);
        let message = match listed {
            Ok(Some(entry)) => {
                slot.cursor = entry.next;
                slot.sent += 1;
                match name.get(..entry.name_len).map(core::str::from_utf8) {
                    Some(Ok(name)) => {
                        let m =
                            Message::Entry { id, name, kind: entry.kind as u8, size: entry.size };
                        return self.tx.push(&m).is_ok();
                    }
                    _ => Message::Error { id, code: ErrorCode::Io as u32 },
                }
            }
            Ok(None) => Message::ListEnd { id, next: None },
            Err(code) => Message::Error { id, code: code as u32 },
        };
        self.list = None;
        self.tx.push(&message).is_ok()
    }

    fn fill_get(&mut self) -> bool {
        let room = self.stream_room().saturating_sub(HEADROOM);
        let Some(slot) = self.get.as_mut() else { return false };
        let id = slot.id;
        if slot.pos == slot.size {
            let sha256 = Digest(core::mem::take(&mut slot.hasher).finalize().into());
            if let Some(slot) = self.get.take() {
                self.storage.close(slot.file);
            }
            return self.tx.push(&Message::End { id, sha256 }).is_ok();
        }
        let max = (MAX_DATA as u64).min(slot.credit).min(slot.size - slot.pos).min(room as u64);
        if max == 0 {
            return false;
        }
        let (storage, pos) = (&mut self.storage, slot.pos);
        let file = &mut slot.file;
        let pushed = self.tx.push_chunk(max as usize, |buf| {
            let n = storage.read(file, pos, buf)?;
            if n == 0 {
                // The file shrank under us.
                return Err(ErrorCode::Io);
            }
            Ok(Some((Message::Data { id, offset: pos, bytes: Bytes(&[]) }, n)))
        });
        match pushed {
            Ok(Some((_, chunk))) => {
                slot.hasher.update(chunk);
                slot.pos += chunk.len() as u64;
                slot.credit -= chunk.len() as u64;
                true
            }
            Ok(None) => false,
            Err(code) => {
                if let Some(slot) = self.get.take() {
                    self.storage.close(slot.file);
                }
                self.tx.push(&Message::Error { id, code: code as u32 }).is_ok()
            }
        }
    }

    fn fill_exec(&mut self) -> bool {
        let room = self.stream_room().saturating_sub(HEADROOM);
        let Some(slot) = self.exec.as_mut() else { return false };
        let id = slot.id;
        let max = (MAX_DATA as u64).min(slot.credit).min(room as u64) as usize;
        let mut exited = None;
        let (commands, run) = (&mut self.commands, &mut slot.run);
        let pushed = self.tx.push_chunk(max, |buf| {
            Ok::<_, ErrorCode>(match commands.poll(run, buf) {
                Poll::Output { stream, len } if len > 0 => {
                    Some((Message::Output { id, stream: stream as u8, bytes: Bytes(&[]) }, len))
                }
                Poll::Exited(status) => {
                    exited = Some(status);
                    None
                }
                Poll::Output { .. } | Poll::Pending => None,
            })
        });
        if let Ok(Some((_, chunk))) = pushed {
            slot.credit -= chunk.len() as u64;
            return true;
        }
        let Some(status) = exited else { return false };
        self.exec = None;
        let (kind, code) = status.to_wire();
        self.tx.push(&Message::Exit { id, kind, code }).is_ok()
    }
}

/// Hash the first `len` bytes through `read(offset, buf)` (a resumed upload's kept part, a
/// download's skipped part).
fn hash_prefix(
    hasher: &mut Sha256,
    len: u64,
    mut read: impl FnMut(u64, &mut [u8]) -> Result<usize, ErrorCode>,
) -> Result<(), ErrorCode> {
    let mut buf = [0u8; 256];
    let mut at = 0;
    while at < len {
        let want = (len - at).min(buf.len() as u64) as usize;
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let n = read(at, chunk)?;
        let Some(read) = chunk.get(..n).filter(|r| !r.is_empty()) else {
            return Err(ErrorCode::Io);
        };
        hasher.update(read);
        at += n as u64;
    }
    Ok(())
}
