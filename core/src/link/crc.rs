//! The frame check: CRC-32/ISO-HDLC (the CRC of Ethernet, zlib and PNG: polynomial
//! 0x04C11DB7, reflected, init and xorout 0xFFFFFFFF; check value of `123456789` is
//! 0xCBF43926), through the `crc` crate's table-free-at-runtime const tables.
//!
//! DATA, FIN and ACK frames are checked over the 8 bytes of the two session ids *before*
//! the frame's own bytes (section 7 of `docs/protocol.md`): a frame of an earlier session,
//! or one meant for a peer that has since rebooted, fails the check like a corrupt one and
//! is dropped, without a byte of session id on every frame.

use crc::{Crc, CRC_32_ISO_HDLC};

/// The CRC algorithm of the serial link.
pub const LINK_CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// CRC-32 of `prefix` followed by `body`.
pub fn checksum(prefix: &[u8], body: &[u8]) -> u32 {
    let mut digest = LINK_CRC.digest();
    digest.update(prefix);
    digest.update(body);
    digest.finalize()
}

/// The 8-byte check prefix of a session-bound frame: the sender's session id, then the
/// receiver's, both big-endian.
pub fn session_prefix(sender: u32, receiver: u32) -> [u8; 8] {
    let [a, b, c, d] = sender.to_be_bytes();
    let [e, f, g, h] = receiver.to_be_bytes();
    [a, b, c, d, e, f, g, h]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_iso_hdlc() {
        assert_eq!(checksum(b"", b"123456789"), 0xCBF4_3926);
        assert_eq!(checksum(b"1234", b"56789"), 0xCBF4_3926);
        assert_eq!(session_prefix(0x0102_0304, 0x0506_0708), [1, 2, 3, 4, 5, 6, 7, 8]);
    }
}
