use super::{FrameConfig, FrameDecoder, FrameError, FrameEvent};
use crate::Handled;

/// Collects whole frames into a buffer the caller owns, for callers that want a frame at a
/// time (small control messages, handshakes). A frame longer than the buffer is rejected as
/// soon as its prefix arrives, before any payload byte is copied.
#[derive(Debug, Clone)]
pub struct FrameReader {
    decoder: FrameDecoder,
    filled: usize,
    failed: Option<FrameError>,
}

impl FrameReader {
    /// A reader at a frame boundary.
    pub const fn new(config: FrameConfig) -> Self {
        Self { decoder: FrameDecoder::new(config), filled: 0, failed: None }
    }

    /// The underlying streaming decoder.
    pub const fn decoder(&self) -> &FrameDecoder {
        &self.decoder
    }

    /// True between frames.
    pub const fn at_boundary(&self) -> bool {
        self.decoder.at_boundary() && self.filled == 0
    }

    /// Feed stream bytes, collecting the frame in `buf` (pass the same buffer, unchanged,
    /// on every call until a frame comes out). Returns the bytes consumed and, when a frame
    /// completed, the frame. Input after a completed frame is left unconsumed.
    pub fn read_frame<'b>(
        &mut self,
        input: &[u8],
        buf: &'b mut [u8],
    ) -> Result<Handled<&'b [u8]>, FrameError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let mut consumed = 0;
        loop {
            let rest = input.get(consumed..).unwrap_or(&[]);
            let step = self.decoder.decode(rest)?;
            consumed += step.consumed;
            match step.event {
                None => return Ok(Handled::consumed(consumed)),
                Some(FrameEvent::Start { len }) => {
                    if len > buf.len() as u64 {
                        return Err(
                            self.fail(FrameError::BufferTooSmall { len, capacity: buf.len() })
                        );
                    }
                }
                Some(FrameEvent::Data { chunk, remaining }) => {
                    let end = self.filled.saturating_add(chunk.len());
                    // Only a caller that swapped in a smaller buffer mid-frame misses here;
                    // say so rather than hand out a frame with bytes silently dropped.
                    let Some(dst) = buf.get_mut(self.filled..end) else {
                        let len = (end as u64).saturating_add(remaining);
                        return Err(
                            self.fail(FrameError::BufferTooSmall { len, capacity: buf.len() })
                        );
                    };
                    dst.copy_from_slice(chunk);
                    self.filled = end;
                }
                Some(FrameEvent::End) => {
                    let len = core::mem::take(&mut self.filled);
                    let buf: &'b [u8] = buf;
                    let Some(frame) = buf.get(..len) else {
                        let capacity = buf.len();
                        return Err(
                            self.fail(FrameError::BufferTooSmall { len: len as u64, capacity })
                        );
                    };
                    return Ok(Handled::event(consumed, frame));
                }
            }
        }
    }

    /// Remember `err` so every later call reports it too.
    fn fail(&mut self, err: FrameError) -> FrameError {
        self.failed = Some(err);
        err
    }

    /// The stream ended: an error unless it ended at a frame boundary.
    pub fn finish(&mut self) -> Result<(), FrameError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        // `read_frame` drains every `End` as it comes, so none can be pending here.
        self.decoder.finish().map(|_| ())
    }
}
