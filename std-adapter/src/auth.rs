//! `wirekit auth`: run the handshake alone and report the outcome.
//!
//! Under `--profile seed` (demo4) the server challenges and judges; the client answers and
//! learns nothing (the seed sends no verdict), so only the server's exit status tells. Under
//! `--profile mp` both sides challenge, both learn the verdict, and a rejected client exits 5.

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
