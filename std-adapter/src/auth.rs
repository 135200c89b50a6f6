//! `wirekit auth`: run the handshake alone and report the outcome.
//!
//! Under `--profile seed` (demo4) the server challenges and judges; the client answers and
//! learns nothing (the seed sends no verdict), so only the server's exit status tells. Under
//! `--profile mp` both sides challenge, both learn the verdict, and a rejected client exits 5.
//! Under `--profile secure` the Noise handshake is the proof both ways (prologue
//! `wirekit/1 auth`): the client sends its close_notify as its first transport message, and
//! the server says `legit` only once that decrypted (message 1 alone can be a replay), then
//! answers with its own close_notify.

use wirekit_core::auth::{AuthError, Awaiting, Outcome};
use wirekit_core::io::DriveError;

use crate::error::{Error, Result};
use crate::keys::Key;
use crate::session::{require_trust, Plan, Session};

/// The seed server's words for a good and a bad client, kept next to ours.
pub const LEGIT: &str = "合法的客户端 legit client";
/// See [`LEGIT`].
pub const ILLEGITIMATE: &str = "不合法的客户端 illegitimate client";

/// Server side of one connection: challenge, judge, print the verdict line. `Ok` for a legit
/// client, [`Error::AuthFailed`] (exit 5) otherwise.
pub fn judge(mut session: Session, key: &Key, plan: Plan, print: impl Fn(&str)) -> Result<()> {
    let outcome = match session.try_handshake(key, plan)? {
        Ok(outcome) => outcome,
        // A prover that sends fewer bytes than a MAC and closes is as illegitimate as a wrong
        // MAC (the seed's server compares what came and says so).
        Err(DriveError::Protocol(
            e @ AuthError::UnexpectedEof { awaiting: Awaiting::Answer, .. },
        )) => {
            print(&format!("{ILLEGITIMATE} ({e})"));
            return Err(Error::AuthFailed { peer: session.peer, detail: e.to_string() });
        }
        Err(e) => return Err(session.handshake_failure(e, key.source(), plan)),
    };
    match outcome {
        Outcome::Authenticated => {
            print(LEGIT);
            Ok(())
        }
        Outcome::PeerRejected(reason) => {
            print(&format!("{ILLEGITIMATE} ({reason})"));
            require_trust(outcome, &session.peer, key.source())
        }
        other => require_trust(other, &session.peer, key.source()),
    }
}

/// Server side under `--profile secure`, given the opened channel: print the verdict line.
/// `Ok` once the client's first transport message (its close_notify) decrypted;
/// [`Error::AuthFailed`] (exit 5) for a failed handshake, exit 1 for anything else.
pub fn judge_secure(opened: Result<Session<'_>>, print: impl Fn(&str)) -> Result<()> {
    let mut session = match opened {
        Ok(session) => session,
        Err(e @ Error::AuthFailed { .. }) => {
            print(&format!("{ILLEGITIMATE} ({e})"));
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let (peer, secs) = (session.peer.clone(), session.timeout);
    let wire = &mut session.conn.get_mut().0;
    let mut first = [0u8; 1];
    let n = std::io::Read::read(wire, &mut first)
        .map_err(|e| Error::net("receiving from", &peer, e, secs))?;
    if n > 0 {
        return Err(Error::Protocol {
            peer,
            detail: "sent data inside the secure auth channel, where only close_notify is due"
                .into(),
        });
    }
    print(LEGIT);
    wire.finish().map_err(|e| Error::net("closing", &peer, e, secs))?;
    Ok(())
}

/// Client side under `--profile secure`, given the opened channel (message 2 decrypted: the
/// server holds the key): close_notify as our first transport message, then the server's.
pub fn prove_secure(session: Session<'_>) -> Result<&'static str> {
    let Session { mut conn, peer, timeout } = session;
    let unread = conn.get_mut().0.finish().map_err(|e| Error::net("closing", &peer, e, timeout))?;
    if unread > 0 {
        return Err(Error::Protocol {
            peer,
            detail: format!(
                "sent {unread} bytes inside the secure auth channel, where none are due"
            ),
        });
    }
    Ok("authenticated: the server proved the same key, and took our proof (secure channel)")
}

/// Client side: answer (and under mp, challenge and learn the verdict). Returns the line to
/// print on success.
pub fn prove(mut session: Session, key: &Key, plan: Plan) -> Result<&'static str> {
    let outcome = session.handshake(key, plan)?;
    require_trust(outcome, &session.peer, key.source()).map_err(|e| match (e, outcome) {
        (Error::AuthFailed { peer, .. }, Outcome::Refused) => Error::AuthFailed {
            peer,
            detail: format!(
                "the server rejected our answer (#FAILURE#): our key ({}) is not its key; \
                 check the key on both sides",
                key.source()
            ),
        },
        (e, _) => e,
    })?;
    Ok(match outcome {
        Outcome::Answered => {
            "answered the challenge; the seed's server sends no verdict (its output says legit or not)"
        }
        _ => "authenticated: the server accepted our key and proved it has the same key",
    })
}
