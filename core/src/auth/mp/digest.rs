//! CPython 3.12's `_get_digest_name_and_payload`, ported line for line.

use crate::auth::mac::{MacAlgorithm, MAX_NAME_LEN};

/// `_LEGACY_LENGTHS`: a 20-byte legacy challenge, or a bare 16-byte HMAC-MD5 answer.
const LEGACY_LENGTHS: [usize; 2] = [super::LEGACY_MESSAGE_LEN, super::MD5_LEN];

/// A challenge message or an answer, split into its digest and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Split<'m> {
    /// No prefix: legacy HMAC-MD5 (`''` in CPython). The payload is the whole message.
    Legacy(&'m [u8]),
    /// `{name}payload`.
    Named(MacAlgorithm, &'m [u8]),
}

/// Why a message could not be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SplitError {
    /// CPython's `AuthenticationError('unsupported message length, missing digest prefix,
    /// or unsupported digest')`.
    Unrecognized,
    /// The name is allowed by CPython but not compiled in here.
    NotCompiled,
}

pub(crate) fn split(message: &[u8]) -> Result<Split<'_>, SplitError> {
    // Modern messages are always longer than both legacy lengths, so length decides first.
    if LEGACY_LENGTHS.contains(&message.len()) {
        return Ok(Split::Legacy(message));
    }
    // `message.find(b'}', 1, _MAX_DIGEST_LEN + 2)`: the brace within indices 1..=9.
    let Some((b'{', rest)) = message.split_first() else {
        return Err(SplitError::Unrecognized);
    };
    let window = rest.get(..MAX_NAME_LEN + 1).unwrap_or(rest);
    let Some(curly) = window.iter().position(|&b| b == b'}') else {
        return Err(SplitError::Unrecognized);
    };
    let (name, after) = rest.split_at(curly);
    let payload = after.get(1..).unwrap_or(&[]);
    if !MacAlgorithm::is_allowed_name(name) {
        return Err(SplitError::Unrecognized);
    }
    match MacAlgorithm::from_name(name) {
        Some(alg) => Ok(Split::Named(alg, payload)),
        None => Err(SplitError::NotCompiled),
    }
}
