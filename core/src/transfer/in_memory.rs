//! A file sender with its body in memory, as one [`Machine`]: the header from a
//! [`FileSender`], then the body. For tests and simulations that run a whole transfer
//! through a driver (inside the secure channel, over a serial link); a real sender streams
//! the body from a file (`io::Conn::send_file`).

use std::vec::Vec;

use super::{FileSender, TransferError};
use crate::{Handled, Machine};

/// [`FileSender`] plus the body bytes.
#[derive(Debug)]
pub struct SendFile {
    sender: FileSender,
    body: Vec<u8>,
    body_sent: usize,
}

impl SendFile {
    /// Send `sender`'s header, then `body` (its length must be the header's `filesize`).
    pub fn new(sender: FileSender, body: Vec<u8>) -> Self {
        Self { sender, body, body_sent: 0 }
    }
}

impl Machine for SendFile {
    type Event<'i> = core::convert::Infallible;
    type Error = TransferError;
    fn handle_input<'i>(
        &mut self,
        input: &'i [u8],
    ) -> Result<Handled<Self::Event<'i>>, TransferError> {
        self.sender.handle_input(input)
    }
    fn handle_eof(&mut self) -> Result<Option<Self::Event<'static>>, TransferError> {
        self.sender.handle_eof()
    }
    fn output_buf(&self) -> &[u8] {
        match self.sender.output_buf() {
            [] => self.body.get(self.body_sent..).unwrap_or(&[]),
            header => header,
        }
    }
    fn consume_output(&mut self, n: usize) {
        if self.sender.header_sent() {
            self.body_sent += n;
            // A count past the body is the caller's bug; the sender refuses it and stays
            // not done, which the test then reports.
            let _ = self.sender.record_body(n as u64);
        } else {
            self.sender.consume_output(n);
        }
    }
    fn is_done(&self) -> bool {
        self.sender.is_done()
    }
}
