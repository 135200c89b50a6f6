//! What a peer's first bytes say about it, when we are about to answer them as a seed
//! challenge (issue 12 item 7: name the cause of a key or profile mismatch).
//!
//! A seed challenge is 32 random bytes, so only shapes that random bytes take with negligible
//! probability are recognised: an mp `#CHALLENGE#` frame (11 fixed bytes) and a length prefix
//! followed by `{"` (a demo3 file header, from a peer that has no key).

/// Bytes that tell the recognised shapes apart: a 4-byte prefix and `#CHALLENGE#`.
pub(super) const ENOUGH: usize = 4 + MP_CHALLENGE.len();

const MP_CHALLENGE: &[u8] = b"#CHALLENGE#";

/// Headers longer than this are no demo3 header (the receiver refuses them).
const MAX_HEADER: u32 = 4096;

/// The verdict on a peer's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerLooksLike {
    /// Nothing recognised: treat them as the 32 random bytes of a seed challenge.
    SeedChallenge,
    /// A `multiprocessing.connection` challenge frame: the peer speaks `--profile mp`.
    MpChallenge,
    /// A length prefix (either byte order) and the start of a JSON object: a peer without a
    /// key sending its traffic right away.
    FramedData,
}

impl PeerLooksLike {
    /// Judge the first bytes a peer sent (fewer than [`ENOUGH`] when it sent no more).
    pub fn from_first_bytes(bytes: &[u8]) -> Self {
        let (Some(prefix), Some(rest)) = (bytes.get(..4), bytes.get(4..)) else {
            return Self::SeedChallenge;
        };
        let mut four = [0u8; 4];
        four.copy_from_slice(prefix);
        let (big, little) = (u32::from_be_bytes(four), u32::from_le_bytes(four));
        if rest.starts_with(MP_CHALLENGE) && big > MP_CHALLENGE.len() as u32 && big <= 256 {
            Self::MpChallenge
        } else if rest.starts_with(b"{\"") && (big.min(little) <= MAX_HEADER) {
            Self::FramedData
        } else {
            Self::SeedChallenge
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mp_challenge_frame_is_recognised() {
        let mut frame = 31u32.to_be_bytes().to_vec();
        frame.extend_from_slice(b"#CHALLENGE#0123456789abcdefghij");
        assert_eq!(PeerLooksLike::from_first_bytes(&frame), PeerLooksLike::MpChallenge);
        assert_eq!(PeerLooksLike::from_first_bytes(&frame[..ENOUGH]), PeerLooksLike::MpChallenge);
    }

    #[test]
    fn a_file_header_in_either_byte_order_is_framed_data() {
        for prefix in [60u32.to_le_bytes(), 60u32.to_be_bytes()] {
            let mut bytes = prefix.to_vec();
            bytes.extend_from_slice(b"{\"filename\": \"a\"");
            assert_eq!(PeerLooksLike::from_first_bytes(&bytes), PeerLooksLike::FramedData);
        }
    }

    #[test]
    fn random_bytes_and_short_input_are_a_seed_challenge() {
        assert_eq!(PeerLooksLike::from_first_bytes(b"\x01\x02"), PeerLooksLike::SeedChallenge);
        let mut bytes = 1u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"#CHALLENGE#");
        // A frame too short to hold a challenge message is not one.
        assert_eq!(PeerLooksLike::from_first_bytes(&bytes), PeerLooksLike::SeedChallenge);
        let mut huge = u32::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"{\"x");
        assert_eq!(PeerLooksLike::from_first_bytes(&huge), PeerLooksLike::SeedChallenge);
        assert_eq!(PeerLooksLike::from_first_bytes(&[0x5a; 32]), PeerLooksLike::SeedChallenge);
    }
}
