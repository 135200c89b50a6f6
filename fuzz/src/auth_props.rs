//! Running an auth machine in two chunkings and comparing with the reference half.

use wirekit_core::auth::{AuthError, AuthEvent, Handshake, Outcome};

use crate::auth_ref::{ev, Ev, Half};
use crate::{drive, Chunking, Run};

/// Drive `make()` over `stream` whole and in `chunking`; both runs must equal `want`.
/// Returns the chunked run's outcome.
pub fn check<
    H: Handshake<Error = AuthError>
        + core::fmt::Debug
        + for<'i> wirekit_core::Machine<Event<'i> = AuthEvent>,
>(
    mut make: impl FnMut() -> H,
    stream: &[u8],
    chunking: &Chunking,
    want: &Half,
) -> (Outcome, Run<Ev, AuthError>) {
    let mut last = None;
    for ch in [Chunking::whole(), chunking.clone()] {
        let mut m = make();
        let run = drive(&mut m, stream, &ch, |_, e| ev(e));
        assert_eq!(run.records, want.events, "events differ from the reference");
        assert_eq!(run.sent, want.sent, "sent bytes differ from the reference");
        assert_eq!(run.error, want.result.err(), "error differs from the reference");
        assert!(run.done, "machine not done at the end of the stream");
        if run.error.is_none() {
            assert_eq!(run.consumed, want.end, "consumed differs from the reference");
        }
        let outcome = m.outcome().expect("a done handshake has an outcome");
        if let Some(err) = run.error {
            assert_eq!(outcome, Outcome::Failed(err));
        }
        // A done machine takes nothing more and stays put.
        if run.error.is_none() {
            let rest = &stream[run.consumed..];
            assert_eq!(m.handle_input(rest), Ok(wirekit_core::Handled::consumed(0)));
            assert_eq!(m.outcome(), Some(outcome));
        }
        last = Some((outcome, run));
    }
    last.expect("two runs")
}
