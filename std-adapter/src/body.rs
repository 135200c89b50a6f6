//! Sending a file body fast. [`send_file_to`] reads and writes 1 MiB at a time (faster
//! than `sendfile(2)` on loopback, measured; see its docs). The body goes in slices so that
//! progress can be shown between them.

use std::fs::File;
use std::io::{self, Read, Write};

/// Why a body could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendBodyError {
    /// Reading the file failed.
    #[error("reading the file failed: {0}")]
    Read(io::Error),
    /// Writing to the peer failed.
    #[error("sending failed: {0}")]
    Write(io::Error),
    /// The file ended before the announced size (it shrank while being sent).
    #[error("the file ended after {sent} of {len} bytes (did it change while being sent?)")]
    FileShrank {
        /// Bytes sent.
        sent: u64,
        /// Bytes announced.
        len: u64,
    },
}

/// Bytes per read and write in [`send_file_to`]: socat's `-b 1048576`.
pub const SEND_BUF_LEN: usize = 1 << 20;

/// Send exactly `len` bytes of `file`, from its current position, to `out`, through one
/// [`SEND_BUF_LEN`] buffer. Not `sendfile(2)`: on TCP loopback (bench/transfer.sh, 1 GiB,
/// sender and receiver pinned to their own CPU) a 1 MiB read/write loop was 7-13 % faster
/// in wall time than `sendfile` in every paired run, and matched `socat -b 1048576`; see
/// BENCHMARKS.md. `sendfile` saves the sender a copy, but hands the socket page-cache
/// references the receiving side copies from anyway.
///
/// `out` is the socket itself, or (`--profile secure`) the channel's plaintext side, which
/// seals each 1 MiB slice into records.
pub fn send_file_to(
    file: &mut File,
    mut out: impl Write,
    len: u64,
    mut progress: impl FnMut(u64),
) -> Result<u64, SendBodyError> {
    let buf_len = usize::try_from(len).unwrap_or(usize::MAX).clamp(1, SEND_BUF_LEN);
    let mut buf = vec![0u8; buf_len];
    let mut sent = 0u64;
    while sent < len {
        let want = usize::try_from(len - sent).unwrap_or(usize::MAX).min(buf_len);
        let slot = buf.get_mut(..want).unwrap_or(&mut []);
        let n = match file.read(slot) {
            Ok(0) => return Err(SendBodyError::FileShrank { sent, len }),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SendBodyError::Read(e)),
        };
        out.write_all(slot.get(..n).unwrap_or(&[])).map_err(SendBodyError::Write)?;
        sent += n as u64;
        progress(n as u64);
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::io::Seek;
    use std::net::{TcpListener, TcpStream};

    /// A named file, as users send: std's zero-copy path needs its size from `statx`.
    fn temp_file(body: &[u8]) -> File {
        let named = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(named.path(), body).unwrap();
        let mut file = File::open(named.path()).unwrap();
        file.rewind().unwrap();
        file
    }

    #[test]
    fn sends_exactly_len_bytes_over_tcp() {
        let body: Vec<u8> = (0..(SEND_BUF_LEN as u32 * 3 + 777)).map(|i| (i % 241) as u8).collect();
        let mut longer = body.clone();
        longer.extend_from_slice(b"not part of the body");
        let mut file = temp_file(&longer);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            got
        });
        let stream = TcpStream::connect(addr).unwrap();
        let mut total = 0;
        let n = send_file_to(&mut file, &stream, body.len() as u64, |k| total += k).unwrap();
        drop(stream);
        assert_eq!((n, total), (body.len() as u64, body.len() as u64));
        assert_eq!(reader.join().unwrap(), body);
    }

    #[test]
    fn a_file_shorter_than_len_is_an_error() {
        let mut file = temp_file(b"abc");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let err = send_file_to(&mut file, &stream, 10, |_| {}).unwrap_err();
        assert!(matches!(err, SendBodyError::FileShrank { sent: 3, len: 10 }), "{err}");
    }

    #[test]
    fn stops_at_len_even_if_the_file_is_longer() {
        let mut file = temp_file(b"0123456789");
        let mut out = Vec::new();
        assert_eq!(send_file_to(&mut file, &mut out, 4, |_| {}).unwrap(), 4);
        assert_eq!(out, b"0123");
    }

    #[test]
    fn zero_bytes_sends_nothing() {
        let mut file = temp_file(b"abc");
        let mut out = Vec::new();
        assert_eq!(send_file_to(&mut file, &mut out, 0, |_| panic!("no progress")).unwrap(), 0);
        assert!(out.is_empty());
    }
}
