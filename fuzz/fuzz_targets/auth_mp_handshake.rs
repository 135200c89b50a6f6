//! `MpHandshake` in both orders (`Listener.accept` and `Client`), every challenge mode and
//! both policies, against arbitrary peer bytes.
//!
//! Properties: it behaves exactly as the two halves run in CPython's order (reference
//! composition of `deliver` and `answer`): same events, same bytes sent in the same order,
//! same error; `Authenticated` only if the peer's answer frame proves the key for our message
//! (checked directly on the consumed bytes) *and* the peer sent `#WELCOME#`. On the listener
//! side our answer is never sent before the peer proved itself (no reflection oracle); on the
//! client side our challenge goes out only after the peer accepted us. Chunking-invariant.
//!
//! Input: `[selector: key 2 bits, strict 1 bit, client-side 1 bit, mode 3 bits]
//! [random: 40 bytes] [k] [k chunk sizes] [peer stream...]`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wirekit_core::auth::{MpHandshake, MpPolicy, Order, Outcome};
use wirekit_fuzz::auth_ref::{self, Ev, Half};
use wirekit_fuzz::{auth_props, mp_frame, Chunking};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let sel = u.arbitrary::<u8>().unwrap_or(0);
    let key = auth_ref::key(sel);
    let policy = if sel & 4 == 0 { MpPolicy::COMPATIBLE } else { MpPolicy::STRICT };
    let order = if sel & 8 == 0 { Order::ListenerSide } else { Order::ClientSide };
    let mode = auth_ref::mode(sel >> 4);
    let random = auth_ref::random(&mut u);
    let chunking = Chunking::from_unstructured(&mut u);
    let stream = u.take_rest();

    let message = auth_ref::message(mode, &random);
    let (first, second) = match order {
        Order::ListenerSide => {
            let d = auth_ref::deliver(key, &message, policy, stream, 0);
            let a = (d.result == Ok(true)).then(|| auth_ref::answer(key, policy, stream, d.end));
            (d, a)
        }
        Order::ClientSide => {
            let a = auth_ref::answer(key, policy, stream, 0);
            let d = (a.result == Ok(true))
                .then(|| auth_ref::deliver(key, &message, policy, stream, a.end));
            (a, d)
        }
    };
    let want = match second {
        None => first.clone(),
        Some(s) => Half {
            events: [first.events.clone(), s.events.clone()].concat(),
            sent: [first.sent.clone(), s.sent.clone()].concat(),
            end: s.end,
            result: s.result,
        },
    };
    let (outcome, run) = auth_props::check(
        || MpHandshake::new(key, order, mode, policy, random),
        stream,
        &chunking,
        &want,
    );
    let both = want.result == Ok(true) && want.events.len() == 3;
    assert_eq!(outcome == Outcome::Authenticated, both);
    if outcome == Outcome::Authenticated {
        let consumed = &stream[..run.consumed];
        assert!(
            auth_ref::consumed_has_valid_mp_answer(key, &message, policy.allow_md5, consumed),
            "authenticated without the right MAC"
        );
        let welcome = mp_frame(b"#WELCOME#");
        assert!(consumed.windows(welcome.len()).any(|w| w == welcome), "no #WELCOME# consumed");
    }
    // Reflection: on the listener side nothing of ours but the challenge and the verdict
    // goes out before the peer's answer was verified.
    if order == Order::ListenerSide && first.result != Ok(true) {
        let mut challenge = b"#CHALLENGE#".to_vec();
        challenge.extend_from_slice(&message);
        let mut allowed = mp_frame(&challenge);
        if first.events == [Ev::Rejected] {
            allowed.extend(mp_frame(b"#FAILURE#"));
        }
        assert_eq!(run.sent, allowed, "listener sent more than challenge + verdict");
    }
});
