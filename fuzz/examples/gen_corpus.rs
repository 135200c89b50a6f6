//! Writes the seed corpus: valid (and a few typically broken) exchanges for every target,
//! in each target's input layout. Real Python 3.11 bytes come from the vector files in
//! core/tests/vectors/; the rest is built with wirekit-core's own senders and the fuzz
//! crate's independent HMACs.
//!
//! Run from `fuzz/`: `cargo run --release --example gen_corpus` (rewrites `corpus/`).

use std::fs;
use std::path::Path;

use wirekit_core::auth::MpPolicy;
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::FileHeader;
use wirekit_core::transfer::FileSender;
use wirekit_core::Machine;
use wirekit_fuzz::auth_ref::{self, answer_for, EGG, MP_VECTOR_KEY};
use wirekit_fuzz::{mac, mp_frame, Chunking};

const VECTORS: &str = "../core/tests/vectors";

struct Out {
    target: &'static str,
    n: usize,
}

impl Out {
    fn new(target: &'static str) -> Self {
        let dir = Path::new("corpus").join(target);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("corpus dir");
        Self { target, n: 0 }
    }
    fn put(&mut self, name: &str, bytes: &[u8]) {
        let path = Path::new("corpus").join(self.target).join(format!("{:02}-{name}", self.n));
        fs::write(path, bytes).expect("write seed");
        self.n += 1;
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// Chunkings every stream seed is written with: whole, bytewise, and an irregular one.
const CHUNKINGS: [(&str, &[u8]); 3] =
    [("whole", &[]), ("bytes", &[1]), ("mixed", &[3, 0, 7, 1, 250])];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn frame(cfg: &FrameConfig, payload: &[u8]) -> Vec<u8> {
    let mut v = cfg.encode_prefix(payload.len() as u64).expect("prefix").as_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

/// A demo3 stream (prefix, header, body) built with `FileSender`.
fn transfer(cfg: FrameConfig, name: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let header = FileHeader { filename: name, filepath: path, filesize: body.len() as u64 };
    let mut s = FileSender::new(cfg, &header).expect("sender");
    let mut v = s.output_buf().to_vec();
    let n = v.len();
    s.consume_output(n);
    v.extend_from_slice(body);
    s.record_body(body.len() as u64).expect("body");
    v
}

fn frame_streams(cfg: &FrameConfig) -> Vec<(&'static str, Vec<u8>)> {
    let mut v = vec![
        ("one", frame(cfg, b"hello")),
        ("empty-frame", frame(cfg, b"")),
        ("three", cat(&[&frame(cfg, b"hi"), &frame(cfg, b""), &frame(cfg, "吃了吗?".as_bytes())])),
        ("cut-payload", frame(cfg, b"hello world")[..7].to_vec()),
        ("cut-prefix", frame(cfg, b"x")[..cfg.width().bytes() - 1].to_vec()),
        ("negative", vec![0xff; 8]),
        ("big", frame(cfg, &[0x5a; 300])),
    ];
    if cfg.mp_extension() {
        // CPython's -1 marker with a small u64 length (not what CPython writes, but valid).
        let mut ext = vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 3];
        ext.extend_from_slice(b"abc");
        v.push(("mp-extension", ext));
    }
    v
}

fn frames(out: &mut Out, config_bytes: &[u8], cfg: &FrameConfig) {
    for (name, stream) in frame_streams(cfg) {
        for (cname, sizes) in CHUNKINGS {
            // [config] [chunking] [reader cap u16 = 512] [extra len u64 = 5] [stream]
            let input = cat(&[
                config_bytes,
                &Chunking::encode(sizes),
                &512u16.to_le_bytes(),
                &5u64.to_le_bytes(),
                &stream,
            ]);
            out.put(&format!("{name}-{cname}"), &input);
        }
    }
}

fn header_jsons() -> Vec<(String, Vec<u8>)> {
    let text = fs::read_to_string(format!("{VECTORS}/header.txt")).expect("header vectors");
    let mut v = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() >= 6 {
            v.push((format!("{}-{}", f[0], f[1]), hex(f[5])));
        }
    }
    v.push((
        "bad-escape".into(),
        br#"{"filename": "a\x", "filepath": "", "filesize": 1}"#.to_vec(),
    ));
    v.push((
        "lone-surrogate".into(),
        br#"{"filename": "\ud800", "filepath": "", "filesize": 1}"#.to_vec(),
    ));
    v.push((
        "duplicate".into(),
        br#"{"filename": "a", "filename": "b", "filepath": "", "filesize": 1}"#.to_vec(),
    ));
    v.push(("nested".into(), br#"{"x": [[[{"y": [1, 2.5e3, true, null]}]]], "filename": "n", "filepath": "p", "filesize": 0}"#.to_vec()));
    v.push(("float".into(), br#"{"filename": "a", "filepath": "", "filesize": 1.0}"#.to_vec()));
    v.push(("minus-zero".into(), br#"{"filename": "a", "filepath": "", "filesize": -0}"#.to_vec()));
    v
}

fn main() {
    // ---- frames
    let mut out = Out::new("frame_seed");
    frames(&mut out, &[], &FrameConfig::seed());
    let mut out = Out::new("frame_mp");
    frames(&mut out, &[], &FrameConfig::mp());
    let mut out = Out::new("frame_options");
    // Selector bytes for `arbitrary_config`: width/endian/signed/mp in the low 5 bits,
    // (sel >> 5) & 7 == 0 keeps the default limit, 3 lifts it to u64::MAX.
    for sel in [0x00u8, 0x05, 0x0a, 0x0f, 0x03, 0x10, 0x10 | (3 << 5), 0x07 | (3 << 5)] {
        let mut u = arbitrary::Unstructured::new(std::slice::from_ref(&sel));
        let cfg = wirekit_fuzz::arbitrary_config(&mut u);
        let stream = cat(&[&frame(&cfg, b"hello"), &frame(&cfg, b"")]);
        for (cname, sizes) in CHUNKINGS {
            let input = cat(&[
                &[sel],
                &Chunking::encode(sizes),
                &64u16.to_le_bytes(),
                &u64::MAX.to_le_bytes(),
                &stream,
            ]);
            out.put(&format!("sel{sel:02x}-{cname}"), &input);
        }
    }

    // ---- headers
    let mut out = Out::new("header_decode");
    for (name, json) in header_jsons() {
        out.put(&name, &cat(&[&[0x40], &json]));
    }
    let mut out = Out::new("header_roundtrip");
    for s in [
        "report.txt\u{0}/home/user\u{0}",
        "中文.txt\u{0}F:\\projects\u{0}",
        "😀 \"q\"\n\u{7f}\u{0}\u{0}",
    ] {
        let mut v = s.as_bytes().to_vec();
        v.extend_from_slice(&4242u64.to_le_bytes());
        out.put("text", &v);
    }

    // ---- transfer
    let mut out = Out::new("transfer_receiver");
    let text = fs::read_to_string(format!("{VECTORS}/transfer.txt")).expect("transfer vectors");
    let mut streams: Vec<(String, Vec<u8>)> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() >= 5).then(|| (format!("py-{}", f[0]), hex(f[4])))
        })
        .filter(|(_, s)| s.len() < 8000)
        .collect();
    let file = transfer(FrameConfig::seed(), "report.txt", "/home/u", b"0123456789");
    streams.push(("truncated".into(), file[..file.len() - 3].to_vec()));
    streams.push(("extra".into(), cat(&[&file, b"dir"])));
    for (name, stream) in &streams {
        for (cname, sizes) in CHUNKINGS {
            out.put(
                &format!("seed-{name}-{cname}"),
                &cat(&[&[0], &Chunking::encode(sizes), stream]),
            );
        }
    }
    let mp_file = transfer(FrameConfig::mp(), "中文.txt", "F:\\x", &[7; 40]);
    out.put("mp", &cat(&[&[2], &Chunking::encode(&[5]), &mp_file]));
    out.put("small-buffer", &cat(&[&[1], &Chunking::encode(&[]), &file]));
    out.put("too-large", &cat(&[&[2 << 2], &Chunking::encode(&[]), &file]));

    let mut out = Out::new("transfer_roundtrip");
    // [mp: bool] [filename: String] [filepath: String] [k] [sizes] [body]; arbitrary's
    // String takes a length then bytes, so plain text is a fine start.
    out.put("seed", b"\x00\x0areport.txt\x07/home/u\x01\x07hello body");
    out.put("mp", b"\x01\x06\xe4\xb8\xad.txt\x02F:\x02\x03\x01\x00\x00\x00\x00");

    // ---- commands
    let mut out = Out::new("command_controller");
    let text = fs::read_to_string(format!("{VECTORS}/command_demo2.txt")).expect("command vectors");
    let replies: Vec<Vec<u8>> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(3).map(hex))
        .filter(|r| r.len() < 2000)
        .collect();
    let all = replies.concat();
    let n = replies.len().min(4) as u8;
    for (cname, sizes) in CHUNKINGS {
        out.put(
            &format!("framed-{cname}"),
            &cat(&[&[1 | (n << 2)], &Chunking::encode(sizes), &all]),
        );
        out.put(
            &format!("framed-quit-{cname}"),
            &cat(&[&[1 | (n << 2) | 32], &Chunking::encode(sizes), &all]),
        );
        out.put(
            &format!("raw-{cname}"),
            &cat(&[&[n << 2], &Chunking::encode(sizes), b"hello\nhi\n"]),
        );
    }
    out.put("framed-unsolicited", &cat(&[&[1 | (1 << 2)], &Chunking::encode(&[]), &all]));
    out.put(
        "framed-truncated",
        &cat(&[&[1 | (2 << 2)], &Chunking::encode(&[2]), &all[..all.len() - 2]]),
    );

    let mut out = Out::new("command_agent");
    // ops: 0 feed [len%12] bytes, 1 begin_reply, 2 begin_reply_for, 3 record, 4 reply_done,
    // 5 consume_output, 6 eof.
    let cycle: Vec<u8> = cat(&[
        &[0, 3, b'd', b'i', b'r'],
        &[2, 5, 3],    // begin_reply_for(5 + 3 bytes)
        &[5, 4],       // send the prefix
        &[3, 5, 3, 3], // record 5 then 3
        &[0, 1, b'q'], // quit
    ]);
    out.put("framed-cycle", &cat(&[&[1], &cycle]));
    out.put("raw-cycle", &cat(&[&[0], &[0, 2, b'l', b's', 3, 9, 4, 0, 1, b'q', 6]]));
    out.put(
        "framed-small-n",
        &cat(&[
            &[1 | 4],
            &[0, 9, b'e', b'c', b'h', b'o', b' ', b'h', b'i', b'!', b'!'],
            &[1, 1, 20, 5, 2, 5, 1, 3, 15, 3, 5, 6],
        ]),
    );
    out.put("framed-prefix-not-sent", &cat(&[&[1], &[0, 1, b'x', 1, 1, 9, 3, 4]]));

    // ---- auth: Python 3.11 transcripts
    let text = fs::read_to_string(format!("{VECTORS}/auth_vectors.txt")).expect("auth vectors");
    let mut cases: Vec<Vec<(String, String, Vec<u8>)>> = Vec::new();
    for line in text.lines() {
        if let Some(case) = line.strip_prefix("case ") {
            cases.push(vec![("case".into(), case.to_string(), vec![])]);
        } else if let Some(c) = cases.last_mut() {
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() == 3 && (f[0] == "send" || f[0] == "random") {
                c.push((f[0].to_string(), f[1].to_string(), hex(f[2])));
            }
        }
    }
    let field = |c: &Vec<(String, String, Vec<u8>)>, kind: &str, role: &str| -> Vec<u8> {
        c.iter()
            .filter(|(k, r, _)| k == kind && r == role)
            .flat_map(|(_, _, b)| b.clone())
            .collect()
    };
    let pad40 = |r: Vec<u8>| -> Vec<u8> {
        let mut r = r;
        r.resize(40, 0);
        r
    };

    let mut sv = Out::new("auth_seed_verifier");
    let mut sp = Out::new("auth_seed_prover");
    let mut mv = Out::new("auth_mp_verifier");
    let mut mpp = Out::new("auth_mp_prover");
    let mut hs = Out::new("auth_mp_handshake");
    let mut se = Out::new("session");
    for c in &cases {
        let name = c[0].1.clone();
        if name.starts_with("seed") {
            let challenge = pad40(field(c, "random", "verifier"));
            let answer = field(c, "send", "prover");
            for (cname, sizes) in CHUNKINGS {
                sv.put(
                    &format!("{name}-{cname}"),
                    &cat(&[&[0], &challenge, &Chunking::encode(sizes), &answer, b"dir"]),
                );
                sp.put(
                    &format!("{name}-{cname}"),
                    &cat(&[&[0], &Chunking::encode(sizes), &challenge[..32]]),
                );
            }
            // Session: right answer then a transfer.
            let file = transfer(FrameConfig::seed(), "a.txt", ".", b"hello");
            se.put(
                &name,
                &cat(&[&[0], &challenge, &[200], &Chunking::encode(&[3, 9]), &answer, &file]),
            );
            se.put(
                &format!("{name}-small-conn"),
                &cat(&[&[128], &challenge, &[200], &Chunking::encode(&[]), &answer, &file]),
            );
        } else if name.contains("legacy") {
            // ListenerSide with key bits 1 (MP_VECTOR_KEY), legacy mode (mode 0).
            let random = pad40(field(c, "random", "listener"));
            let client = field(c, "send", "client");
            let listener = field(c, "send", "listener");
            for (cname, sizes) in CHUNKINGS {
                hs.put(
                    &format!("{name}-listener-{cname}"),
                    &cat(&[&[1], &random, &Chunking::encode(sizes), &client]),
                );
                // ClientSide: the listener's frames are what the client reads.
                let crandom = pad40(field(c, "random", "client"));
                hs.put(
                    &format!("{name}-client-{cname}"),
                    &cat(&[&[1 | 8], &crandom, &Chunking::encode(sizes), &listener]),
                );
            }
            let file = transfer(FrameConfig::mp(), "b.bin", "/", &[1, 2, 3]);
            se.put(
                &name,
                &cat(&[
                    &[1 | (1 << 1)],
                    &random,
                    &[255],
                    &Chunking::encode(&[1, 30]),
                    &client,
                    &file,
                ]),
            );
        } else {
            // Verifier/prover cases; the mode comes from the challenge frame itself.
            let random = field(c, "random", "verifier");
            let verifier = field(c, "send", "verifier");
            let prover = field(c, "send", "prover");
            let mode_bits = if name.contains("sha3_384") {
                5
            } else if name.contains("sha3_256") {
                4
            } else if name.contains("sha384") {
                3
            } else if name.contains("md5") {
                1
            } else {
                2
            };
            for (cname, sizes) in CHUNKINGS {
                mv.put(
                    &format!("{name}-{cname}"),
                    &cat(&[&[1 | (mode_bits << 3)], &random, &Chunking::encode(sizes), &prover]),
                );
                mpp.put(
                    &format!("{name}-{cname}"),
                    &cat(&[&[1], &Chunking::encode(sizes), &verifier]),
                );
            }
        }
    }

    // ---- auth: built here for every mode, policy and order with the vector key.
    let key = MP_VECTOR_KEY;
    let random: Vec<u8> = (0u8..40).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
    let random40: [u8; 40] = random.clone().try_into().expect("40");
    let peer_random: Vec<u8> = (0u8..20).map(|i| i ^ 0xa5).collect();
    let mut peer_challenge = b"#CHALLENGE#".to_vec();
    peer_challenge.extend_from_slice(&peer_random);
    for mode_bits in 0u8..6 {
        let mode = auth_ref::mode(mode_bits);
        let message = auth_ref::message(mode, &random40);
        let mut our_challenge = b"#CHALLENGE#".to_vec();
        our_challenge.extend_from_slice(&message);
        let right = answer_for(key, &our_challenge, MpPolicy::COMPATIBLE).expect("answer");
        let welcome = mp_frame(b"#WELCOME#");
        // Listener side: peer answers us, then challenges us, then welcomes our answer.
        let listener_in = cat(&[&mp_frame(&right), &mp_frame(&peer_challenge), &welcome]);
        // Client side: peer challenges us, welcomes us, then answers our challenge.
        let client_in = cat(&[&mp_frame(&peer_challenge), &welcome, &mp_frame(&right)]);
        for strict in [0u8, 4] {
            let sel = 1 | strict | (mode_bits << 4);
            hs.put(
                &format!("built-listener-m{mode_bits}-s{strict}"),
                &cat(&[&[sel], &random, &Chunking::encode(&[2, 11]), &listener_in]),
            );
            hs.put(
                &format!("built-client-m{mode_bits}-s{strict}"),
                &cat(&[&[sel | 8], &random, &Chunking::encode(&[]), &client_in]),
            );
            mv.put(
                &format!("built-m{mode_bits}-s{strict}"),
                &cat(&[
                    &[1 | strict | (mode_bits << 3)],
                    &random,
                    &Chunking::encode(&[]),
                    &mp_frame(&right),
                    b"tail",
                ]),
            );
            let sess_sel = 1 | (1 << 1) | (strict << 1) | (mode_bits << 4);
            let file = transfer(FrameConfig::mp(), "report.txt", "/srv", b"body bytes");
            se.put(
                &format!("built-m{mode_bits}-s{strict}"),
                &cat(&[
                    &[sess_sel],
                    &random,
                    &[255],
                    &Chunking::encode(&[4, 1]),
                    &listener_in,
                    &file,
                ]),
            );
        }
        // The prover reading a challenge of this mode.
        mpp.put(
            &format!("built-m{mode_bits}"),
            &cat(&[&[1], &Chunking::encode(&[]), &mp_frame(&our_challenge), &welcome]),
        );
    }
    // Typical attacks, for a start: reflection (our own challenge sent back), oversize frame.
    let message = auth_ref::message(auth_ref::mode(2), &random40);
    let mut reflect = b"#CHALLENGE#".to_vec();
    reflect.extend_from_slice(&message);
    hs.put(
        "reflection",
        &cat(&[&[1 | (2 << 4)], &random, &Chunking::encode(&[]), &mp_frame(&reflect)]),
    );
    mv.put(
        "oversize",
        &cat(&[&[1 | (2 << 3)], &random, &Chunking::encode(&[]), &mp_frame(&[0u8; 300])]),
    );
    // Seed verifier with the secret key and a random answer.
    sv.put(
        "secret-key",
        &cat(&[&[2], &random, &Chunking::encode(&[]), &mac::hmac("md5", EGG, b"x").unwrap()]),
    );

    service_seeds();
}

/// The device service: every vector body for the decoder; for the server, scripts of every
/// request (with right and wrong digests, a resume, windows and credits).
fn service_seeds() {
    use sha2::{Digest as _, Sha256};
    use wirekit_core::service::{encode, Argv, Bytes, Digest, Message};

    let mut out = Out::new("service_decode");
    let text = fs::read_to_string(format!("{VECTORS}/service.txt")).expect("service vectors");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.split(' ');
        let (Some(kind), Some(name), Some(h)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let bytes = hex(h);
        let body = if kind == "valid" { &bytes[2..] } else { &bytes[..] };
        out.put(&format!("{kind}-{name}"), body);
    }

    let enc = |messages: &[Message<'_>]| -> Vec<u8> {
        let mut v = Vec::new();
        for m in messages {
            let mut buf = [0u8; 4200];
            let n = encode(m, &mut buf).expect("encodes");
            v.extend_from_slice(&buf[..n]);
        }
        v
    };
    let sha = |b: &[u8]| Digest(Sha256::digest(b).into());
    let argv = |args: &[&'static str]| args.iter().copied().collect::<Argv<'static>>();
    let resumed = [7u8; 60];
    let scripts: [(&str, Vec<u8>); 7] = [
        (
            "short",
            enc(&[
                Message::Ping { id: 1 },
                Message::Stat { id: 2, path: "a" },
                Message::Stat { id: 3, path: "p" },
                Message::List { id: 4, path: "", cursor: 0 },
                Message::Mkdir { id: 5, path: "d/e" },
                Message::Remove { id: 6, path: "d/b" },
            ]),
        ),
        (
            "put",
            enc(&[
                Message::Put { id: 1, path: "new", size: 6, offset: 0 },
                Message::Data { id: 1, offset: 0, bytes: Bytes(b"hello\n") },
                Message::End { id: 1, sha256: sha(b"hello\n") },
            ]),
        ),
        (
            "put-bad-digest",
            enc(&[
                Message::Put { id: 1, path: "a", size: 3, offset: 0 },
                Message::Data { id: 1, offset: 0, bytes: Bytes(b"abc") },
                Message::End { id: 1, sha256: sha(b"abd") },
            ]),
        ),
        (
            "put-resume",
            enc(&[
                Message::Put { id: 1, path: "p", size: 60, offset: 50 },
                Message::Data { id: 1, offset: 50, bytes: Bytes(&resumed[50..]) },
                Message::End { id: 1, sha256: sha(&resumed) },
            ]),
        ),
        (
            "get",
            enc(&[
                Message::Get { id: 1, path: "a", offset: 10, window: 50 },
                Message::Credit { id: 1, bytes: 50 },
                Message::Get { id: 2, path: "d", offset: 0, window: 50 },
            ]),
        ),
        (
            "exec",
            enc(&[
                Message::Exec { id: 1, argv: argv(&["echo", "hi"]), timeout_ms: 0, window: 100 },
                Message::Credit { id: 1, bytes: 100 },
                Message::Exec { id: 2, argv: argv(&["spew", "2000"]), timeout_ms: 0, window: 500 },
                Message::Credit { id: 2, bytes: 1500 },
            ]),
        ),
        (
            "cancel",
            enc(&[
                Message::Exec { id: 1, argv: argv(&["spew", "9000"]), timeout_ms: 0, window: 500 },
                Message::Put { id: 2, path: "big", size: 100, offset: 0 },
                Message::Data { id: 2, offset: 0, bytes: Bytes(&[1; 40]) },
                Message::Cancel { id: 1 },
                Message::Cancel { id: 2 },
                Message::Stat { id: 3, path: "big" },
            ]),
        ),
    ];
    let mut out = Out::new("service_server");
    for (name, stream) in &scripts {
        for (cname, sizes) in CHUNKINGS {
            out.put(&format!("{name}-{cname}"), &cat(&[&[3], &Chunking::encode(sizes), stream]));
        }
    }
}
