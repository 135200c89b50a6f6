//! The pump's methods, written once for the blocking [`Conn`](super::Conn) and the async
//! [`AsyncConn`](super::AsyncConn): the two differ only in whether a transport call is
//! awaited, so one body serves both (`$aw` is `.await` or nothing). The order of the drive
//! itself lives in [`Driver`](crate::drive::Driver), not here.

/// `pump_impl!(Type, ReadTrait, WriteTrait, [async?], [.await?])`.
macro_rules! pump_impl {
    ($conn:ident, $read:path, $write:path, [$($asy:tt)?], [$($aw:tt)*]) => {
        impl<T: $read + $write, const N: usize> $conn<T, N> {
            /// Wrap a transport.
            pub const fn new(io: T) -> Self {
                Self { io, rx: RxBuf::EMPTY }
            }

            /// The transport.
            pub const fn get_ref(&self) -> &T {
                &self.io
            }

            /// The transport, e.g. to write a file body directly.
            pub fn get_mut(&mut self) -> &mut T {
                &mut self.io
            }

            /// Received bytes no machine has consumed yet.
            pub fn buffered(&self) -> &[u8] {
                self.rx.buffered()
            }

            /// Drop `n` buffered bytes (after using them from `buffered`).
            pub fn consume_buffered(&mut self, n: usize) {
                self.rx.consume(n);
            }

            /// True once the peer closed its sending side and the buffer is drained.
            pub const fn at_eof(&self) -> bool {
                self.rx.at_eof()
            }

            /// Give back the transport. Bytes still buffered are dropped with the buffer:
            /// take them first if they matter.
            pub fn into_inner(self) -> T {
                self.io
            }

            /// Read more bytes into the buffer. Returns 0 at EOF (then `at_eof` once
            /// drained) and also when the buffer is full, so tell the two apart before
            /// treating 0 as a close.
            pub $($asy)? fn fill(&mut self) -> Result<usize, T::Error> {
                let Some(space) = self.rx.spare() else { return Ok(0) };
                let n = self.io.read(space) $($aw)* ?;
                Ok(self.rx.filled(n))
            }

            /// Send every byte of `bytes` (e.g. a file body behind a transfer header).
            pub $($asy)? fn write_all(
                &mut self,
                bytes: &[u8],
            ) -> Result<(), DriveError<T::Error, core::convert::Infallible>> {
                Self::write_io(&mut self.io, bytes) $($aw)*
            }

            /// Send one frame: the prefix, then the payload, then flush.
            pub $($asy)? fn send_frame(
                &mut self,
                config: &FrameConfig,
                payload: &[u8],
            ) -> Result<(), DriveError<T::Error, $crate::frame::EncodeError>> {
                let prefix =
                    config.encode_prefix(payload.len() as u64).map_err(DriveError::Protocol)?;
                Self::write_io(&mut self.io, prefix.as_bytes()) $($aw)* ?;
                Self::write_io(&mut self.io, payload) $($aw)* ?;
                self.io.flush() $($aw)* .map_err(DriveError::Io)
            }

            /// Receive one whole frame into `buf` and return it. Bytes after the frame stay
            /// buffered.
            pub $($asy)? fn recv_frame<'b>(
                &mut self,
                config: &FrameConfig,
                buf: &'b mut [u8],
            ) -> Result<&'b [u8], DriveError<T::Error, FrameError>> {
                let mut reader = FrameReader::new(*config);
                let len = loop {
                    let step =
                        reader.read_frame(self.buffered(), buf).map_err(DriveError::Protocol)?;
                    self.consume_buffered(step.consumed);
                    if let Some(frame) = step.event {
                        break frame.len();
                    }
                    if self.fill() $($aw)* .map_err(DriveError::Io)? == 0 {
                        reader.finish().map_err(DriveError::Protocol)?;
                        return Err(DriveError::UnexpectedEof);
                    }
                };
                let buf: &'b [u8] = buf;
                Ok(buf.get(..len).unwrap_or(&[]))
            }

            /// Run `machine` until it is done or `on_event` breaks.
            ///
            /// A shim over [`Driver`](crate::drive::Driver), which decides the order
            /// (output first, the follow-up call after each event, EOF only once every
            /// buffered byte was taken); each event goes to `on_event`, which may use the
            /// machine's mutators. Returns `Ok(Some(b))` when `on_event` broke with `b`
            /// (call again to resume), `Ok(None)` when the machine is done.
            ///
            /// A machine that waits for the caller before it takes more input (an
            /// [`Agent`](crate::command::Agent) after a command, until its reply is
            /// recorded) needs `on_event` to break: the caller acts (sends the reply:
            /// `flush_output` for the agent's prefix, then `write_all`) and drives again.
            /// Continuing instead ends in a blocking read, [`DriveError::BufferFull`] or
            /// [`DriveError::Stalled`].
            pub $($asy)? fn drive<M: Machine, B>(
                &mut self,
                machine: &mut M,
                mut on_event: impl for<'i> FnMut(&mut M, M::Event<'i>) -> ControlFlow<B>,
            ) -> Result<Option<B>, DriveError<T::Error, M::Error>> {
                let mut driver = Driver::new();
                loop {
                    let (consumed, next) = {
                        let input = self.rx.input();
                        let Step { consumed, action } =
                            driver.step(machine, input).map_err(DriveError::from_step)?;
                        let next = match action {
                            Action::Transmit(transmit) => {
                                Self::send_transmit(&mut self.io, transmit) $($aw)* ?;
                                Next::Flow(ControlFlow::Continue(()))
                            }
                            Action::Event(event) => Next::Flow(on_event(machine, event)),
                            Action::Closed(event) => Next::Flow(on_event(machine, event)),
                            Action::NeedInput => Next::Fill,
                            Action::WaitingForCaller { untaken } => {
                                return Err(DriveError::waiting(untaken, self.rx.peer_closed()))
                            }
                            Action::Finished => Next::Finished,
                        };
                        (consumed, next)
                    };
                    self.consume_buffered(consumed);
                    match next {
                        Next::Flow(ControlFlow::Continue(())) => {}
                        Next::Flow(ControlFlow::Break(b)) => {
                            self.flush_output(machine) $($aw)* ?;
                            return Ok(Some(b));
                        }
                        Next::Fill => {
                            self.fill() $($aw)* .map_err(DriveError::Io)?;
                        }
                        Next::Finished => return Ok(None),
                    }
                }
            }

            /// Run a handshake to its end and return its outcome. Bytes the peer sent after
            /// the handshake stay buffered for whatever runs next on this connection.
            ///
            /// `Ok` means the exchange ran to an end, not that it succeeded: a rejected peer
            /// is `Ok(Outcome::PeerRejected(..))`. Check [`Outcome::peer_authenticated`]
            /// before trusting the connection.
            pub $($asy)? fn authenticate<H: Handshake>(
                &mut self,
                handshake: &mut H,
            ) -> Result<Outcome, DriveError<T::Error, H::Error>> {
                self.drive(handshake, |_, _| ControlFlow::<()>::Continue(())) $($aw)* ?;
                // A finished handshake always has an outcome; a machine that stopped
                // without one would be a bug, reported as the peer having closed.
                handshake.outcome().ok_or(DriveError::UnexpectedEof)
            }

            /// Send everything in `machine`'s [`Machine::output_buf`] and flush the
            /// transport. For output queued outside `drive` that must go out before bytes
            /// the caller writes itself: an [`Agent`](crate::command::Agent)'s reply prefix
            /// before stdout and stderr.
            pub $($asy)? fn flush_output<M: Machine>(
                &mut self,
                machine: &mut M,
            ) -> Result<(), DriveError<T::Error, M::Error>> {
                match Driver::new().poll_transmit(machine) {
                    Some(transmit) => Self::send_transmit(&mut self.io, transmit) $($aw)*,
                    None => Ok(()),
                }
            }

            /// Send the header, then exactly `sender.filesize()` bytes read from `body`
            /// through the scratch buffer `buf`. Returns the body bytes sent. A sender that
            /// already failed, or an empty `buf` with body bytes due, is refused before
            /// anything is written.
            pub $($asy)? fn send_file<R: $read>(
                &mut self,
                sender: &mut FileSender,
                body: &mut R,
                buf: &mut [u8],
            ) -> Result<u64, FileIoError<T::Error, R::Error>> {
                let drive = |e| FileIoError::Drive(e);
                if let Some(err) = sender.error() {
                    return Err(drive(DriveError::Protocol(err)));
                }
                if buf.is_empty() && sender.body_remaining() > 0 {
                    // `read` into an empty window returns 0, which would read as a short
                    // source.
                    return Err(FileIoError::EmptyScratch);
                }
                self.flush_output(sender) $($aw)* .map_err(drive)?;
                while sender.body_remaining() > 0 {
                    let want = usize::try_from(sender.body_remaining()).unwrap_or(usize::MAX);
                    let window_len = buf.len().min(want);
                    let Some(window) = buf.get_mut(..window_len) else { break };
                    let n = body.read(window) $($aw)* .map_err(FileIoError::Local)?;
                    if n == 0 {
                        return Err(FileIoError::SourceShort {
                            sent: sender.body_sent(),
                            expected: sender.filesize(),
                        });
                    }
                    let chunk = window.get(..n).unwrap_or(&[]);
                    Self::write_io(&mut self.io, chunk) $($aw)* .map_err(drive)?;
                    sender
                        .record_body(n as u64)
                        .map_err(|e| FileIoError::Drive(DriveError::Protocol(e)))?;
                }
                self.io.flush() $($aw)* .map_err(|e| FileIoError::Drive(DriveError::Io(e)))?;
                Ok(sender.body_sent())
            }

            /// Receive one file, handing the header and then every body chunk to `sink`.
            /// Returns the body length once all of it arrived; a short stream is an error,
            /// never a short file.
            pub $($asy)? fn receive_file<const H: usize, E>(
                &mut self,
                receiver: &mut FileReceiver<H>,
                mut sink: impl FnMut(Incoming<'_>) -> Result<(), E>,
            ) -> Result<u64, FileIoError<T::Error, E>> {
                let outcome = self
                    .drive(receiver, |receiver, event| receive_step(receiver, event, &mut sink))
                    $($aw)*
                    .map_err(FileIoError::Drive)?;
                match outcome {
                    Some(Err(e)) => Err(FileIoError::Local(e)),
                    _ if receiver.is_complete() => Ok(receiver.received()),
                    _ => Err(FileIoError::Drive(DriveError::UnexpectedEof)),
                }
            }

            /// Send all of a [`Transmit`] and flush.
            $($asy)? fn send_transmit<M: Machine>(
                io: &mut T,
                transmit: Transmit<'_, M>,
            ) -> Result<(), DriveError<T::Error, M::Error>> {
                let len = transmit.bytes().len();
                Self::write_io(io, transmit.bytes()) $($aw)* ?;
                transmit.sent(len);
                io.flush() $($aw)* .map_err(DriveError::Io)
            }

            $($asy)? fn write_io<E>(
                io: &mut T,
                mut bytes: &[u8],
            ) -> Result<(), DriveError<T::Error, E>> {
                while !bytes.is_empty() {
                    let n = io.write(bytes) $($aw)* .map_err(DriveError::Io)?;
                    if n == 0 {
                        return Err(DriveError::WriteZero);
                    }
                    bytes = bytes.get(n..).unwrap_or(&[]);
                }
                Ok(())
            }
        }
    };
}
