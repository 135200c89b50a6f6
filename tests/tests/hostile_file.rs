//! Hostile-input catalogue (tests/hostile/README.md), rows h01–h54: lengths, headers, names and
//! bodies thrown at a real `wirekit file recv --listen` (and `tcp server --profile mp` for
//! h07). Every row ends with [`Target::finish`]: the server still serves a good client, nothing
//! was written outside `--dir`, no temporary or partial file is left, the older file is intact
//! and resident memory grew by less than 16 MiB.

use std::time::Duration;

use wirekit_tests::hostile::{
    header_json, read, seed_prefixed, upload, wait_for, write, Kind, Target, KEEP_NAME,
    SECRET_BODY, SECRET_NAME,
};

/// Send `wire` to a fresh receiver, close, and expect its error line naming us with `needle`.
fn refused_with(row: &str, server_only: &[&str], wire: &[u8], needle: &str) {
    refused_by(row, Kind::FileRecv, &[], server_only, wire, needle);
}

fn refused_by(row: &str, kind: Kind, shared: &[&str], server_only: &[&str], wire: &[u8], n: &str) {
    let t = Target::start(row, kind, shared, server_only);
    let mut a = t.attack();
    a.send(wire);
    let peer = a.local;
    a.finish();
    t.expect_error(peer, n);
    t.finish(&[], &[]);
}

/// The rows that are one upload to a seed `file recv`: the wire and the error it must cause.
const SEED_ROWS: &[&str] = &[
    "h01", "h02", "h04", "h05", "h10", "h11", "h12", "h13", "h14", "h15", "h16", "h17", "h18",
    "h19", "h20", "h21", "h22", "h23", "h24", "h25", "h30", "h31", "h32", "h33", "h34", "h35",
    "h36", "h37", "h38", "h39", "h42", "h43", "h44", "h50", "h51",
];

fn seed_case(row: &str) -> (Vec<u8>, &'static str) {
    match row {
        "h01" => ((-1i32).to_le_bytes().to_vec(), "negative"),
        "h02" => {
            // 2^31-1 announced, a few bytes sent: refused at the prefix, nothing reserved.
            let mut wire = i32::MAX.to_le_bytes().to_vec();
            wire.extend_from_slice(&[b' '; 100]);
            (wire, "exceeds")
        }
        "h04" => (0i32.to_le_bytes().to_vec(), "file header"),
        "h05" => ([7, 0].to_vec(), "inside a length prefix (2 of 4 bytes)"),
        "h10" => (with_body(b"filename=a.txt&filesize=3"), "not a JSON object"),
        "h11" => (with_body(br#"["a.txt", "F:\\up", 3]"#), "not a JSON object"),
        "h12" => (with_body(br#"{"filepath": "F:\\up", "filesize": 3}"#), "no \"filename\""),
        "h13" => (with_body(br#"{"filename": "a.txt", "filepath": "F:\\up"}"#), "no \"filesize\""),
        "h14" => {
            // Python's json keeps the last "filename"; we refuse to guess which one was meant.
            let json =
                br#"{"filename": "a.txt", "filename": "b.txt", "filepath": "", "filesize": 3}"#;
            (with_body(json), "more than once")
        }
        "h15" => (with_body(br#"{"filename": 5, "filepath": "", "filesize": 3}"#), "not a string"),
        "h16" => {
            let json = br#"{"filename": "a.txt", "filepath": "", "filesize": "3"}"#;
            (with_body(json), "not a number")
        }
        "h17" => (with_body(header_json("a.txt", "3.0").as_bytes()), "not an integer"),
        "h18" => (with_body(header_json("a.txt", "-3").as_bytes()), "negative"),
        "h19" => {
            let json = header_json("a.txt", "100000000000000000000000000000");
            (with_body(json.as_bytes()), "does not fit 64 bits")
        }
        "h20" => {
            // Fits the header, not the default --max-size (4 GiB): refused, no temporary file made.
            let json = header_json("huge.bin", &u64::MAX.to_string());
            (with_body(json.as_bytes()), "over the limit of 4294967296 bytes (--max-size)")
        }
        "h21" => {
            let mut json = br#"{"filename": "a"#.to_vec();
            json.extend_from_slice(b"\xff\xfe");
            json.extend_from_slice(br#".txt", "filepath": "", "filesize": 3}"#);
            (with_body(&json), "not UTF-8")
        }
        "h22" => {
            let json = br#"{"filename": "a\ud800.txt", "filepath": "", "filesize": 3}"#;
            (with_body(json), "lone surrogate")
        }
        "h23" => {
            let depth = 1000;
            let json = format!(
                r#"{{"x": {}{}, "filename": "a.txt", "filepath": "", "filesize": 3}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            (with_body(json.as_bytes()), "nests deeper")
        }
        "h24" => {
            // Refused at the length prefix (over the 4096-byte header cap): never read or parsed.
            let mut json = vec![b' '; 1 << 20];
            json.extend_from_slice(header_json("a.txt", "3").as_bytes());
            (with_body(&json), "does not fit a 4096-byte buffer")
        }
        "h25" => {
            let json = format!("{}{}", header_json("a.txt", "3"), header_json("b.txt", "3"));
            (with_body(json.as_bytes()), "data after the object")
        }
        "h30" => (upload("../x", 3, b"abc"), "path separator `/`"),
        "h31" => (upload("..", 3, b"abc"), "`.` or `..`"),
        "h32" => (upload(".", 3, b"abc"), "`.` or `..`"),
        "h33" => (upload("/etc/passwd", 3, b"abc"), "path separator `/`"),
        "h34" => (upload("C:\\x", 3, b"abc"), "path separator `\\`"),
        "h35" => (upload("a\\..\\b", 3, b"abc"), "path separator `\\`"),
        "h36" => (upload("x/../../y", 3, b"abc"), "path separator `/`"),
        "h37" => (upload("a\0b.txt", 3, b"abc"), "U+0000"),
        "h38" => (upload("a\nb.txt", 3, b"abc"), "U+000A"),
        "h39" => {
            let name = format!("{}.txt", "n".repeat(296));
            (upload(&name, 3, b"abc"), "300 bytes long")
        }
        "h42" => (upload("C:x.txt", 3, b"abc"), "drive letter"),
        "h43" => {
            // Our temporary files are `.wirekit-NAME.RANDOM.part`: hidden names are refused, so a peer
            // can never address one.
            (upload(".wirekit-keep.txt.0123456789abcdef.part", 3, b"abc"), "hidden file")
        }
        "h44" => (upload("report\u{202e}txt.exe", 3, b"abc"), "U+202E"),
        "h50" => {
            // Aimed at the existing file's name: it must survive whole.
            (upload(KEEP_NAME, 100, b"only 14 bytes!").to_vec(), "after 14 of 100 bytes")
        }
        "h51" => {
            // Not exactly `filesize` bytes: refused and discarded, the older file stays.
            let mut body = b"new!".to_vec();
            body.extend_from_slice(&[b'x'; 5000]);
            (upload(KEEP_NAME, 4, &body).to_vec(), "more than the announced 4 bytes")
        }
        other => panic!("no seed row {other}"),
    }
}

/// A seed row against its own fresh receiver.
fn seed_row(row: &str) {
    let (wire, needle) = seed_case(row);
    refused_with(row, &[], &wire, needle);
}

/// A header with `json` (any bytes), then a 3-byte body.
fn with_body(json: &[u8]) -> Vec<u8> {
    let mut wire = seed_prefixed(json);
    wire.extend_from_slice(b"abc");
    wire
}

// ---- lengths ----

#[test]
fn h01_negative_length() {
    seed_row("h01");
}

#[test]
fn h02_length_i32_max() {
    seed_row("h02");
}

#[test]
fn h03_length_just_over_the_max() {
    let t = Target::start("h03", Kind::FileRecv, &[], &[]);
    // Exactly the 4096-byte cap (padded with JSON whitespace) is accepted...
    let mut json = header_json("edge.txt", "3").into_bytes();
    json.resize(4096, b' ');
    let mut wire = seed_prefixed(&json);
    wire.extend_from_slice(b"abc");
    let mut a = t.attack();
    a.send(&wire);
    a.finish();
    assert!(wait_for(Duration::from_secs(10), || t.dir().join("edge.txt").exists()));
    // ...one byte more is refused before it is read.
    json.push(b' ');
    let mut wire = seed_prefixed(&json);
    wire.extend_from_slice(b"abc");
    let mut a = t.attack();
    a.send(&wire);
    let peer = a.local;
    a.finish();
    t.expect_error(peer, "4097");
    t.finish(&["edge.txt"], &[]);
}

#[test]
fn h04_zero_length_header() {
    seed_row("h04");
}

#[test]
fn h05_prefix_cut_in_the_middle() {
    seed_row("h05");
}

#[test]
fn h06_mp_minus_one_marker_with_an_absurd_u64_file_recv() {
    let mut wire = (-1i32).to_be_bytes().to_vec();
    wire.extend_from_slice(&u64::MAX.to_be_bytes());
    refused_by("h06", Kind::FileRecv, &["--profile", "mp"], &[], &wire, "exceeds");
}

#[test]
fn h07_mp_minus_one_marker_with_an_absurd_u64_tcp_server() {
    let mut wire = (-1i32).to_be_bytes().to_vec();
    wire.extend_from_slice(&(1u64 << 62).to_be_bytes());
    refused_by("h07", Kind::Tcp, &["--profile", "mp"], &[], &wire, "bad frame");
}

#[test]
fn h08_mp_u64_length_cut_in_the_middle() {
    let mut wire = (-1i32).to_be_bytes().to_vec();
    wire.extend_from_slice(&[0, 0, 0]);
    refused_by(
        "h08",
        Kind::FileRecv,
        &["--profile", "mp"],
        &[],
        &wire,
        "inside a length prefix (7 of 12 bytes)",
    );
}

// ---- headers ----

#[test]
fn h10_header_not_json() {
    seed_row("h10");
}

#[test]
fn h11_header_json_array() {
    seed_row("h11");
}

#[test]
fn h12_header_missing_filename() {
    seed_row("h12");
}

#[test]
fn h13_header_missing_filesize() {
    seed_row("h13");
}

#[test]
fn h14_header_duplicate_key() {
    seed_row("h14");
}

#[test]
fn h15_header_filename_wrong_type() {
    seed_row("h15");
}

#[test]
fn h16_header_filesize_wrong_type() {
    seed_row("h16");
}

#[test]
fn h17_header_float_size() {
    seed_row("h17");
}

#[test]
fn h18_header_negative_size() {
    seed_row("h18");
}

#[test]
fn h19_header_size_beyond_u64() {
    seed_row("h19");
}

#[test]
fn h20_header_size_u64_max_is_refused_before_writing() {
    seed_row("h20");
}

#[test]
fn h21_header_invalid_utf8() {
    seed_row("h21");
}

#[test]
fn h22_header_lone_surrogate_escape() {
    seed_row("h22");
}

#[test]
fn h23_header_deeply_nested_values() {
    seed_row("h23");
}

#[test]
fn h24_header_with_one_mib_of_whitespace() {
    seed_row("h24");
}

#[test]
fn h25_header_trailing_data() {
    seed_row("h25");
}

// ---- names ----

#[test]
fn h30_name_dotdot_slash_x() {
    seed_row("h30");
}

#[test]
fn h31_name_dotdot() {
    seed_row("h31");
}

#[test]
fn h32_name_dot() {
    seed_row("h32");
}

#[test]
fn h33_name_absolute_etc_passwd() {
    seed_row("h33");
}

#[test]
fn h34_name_drive_letter_backslash() {
    seed_row("h34");
}

#[test]
fn h35_name_backslash_traversal() {
    seed_row("h35");
}

#[test]
fn h36_name_slash_traversal() {
    seed_row("h36");
}

#[test]
fn h37_name_nul() {
    seed_row("h37");
}

#[test]
fn h38_name_newline() {
    seed_row("h38");
}

#[test]
fn h39_name_300_bytes() {
    seed_row("h39");
}

#[test]
fn h40_name_of_an_existing_symlink_pointing_outside() {
    let t = Target::start("h40", Kind::FileRecv, &[], &[]);
    let link = t.dir().join("link.txt");
    std::os::unix::fs::symlink(t.outside().join(SECRET_NAME), &link).unwrap();
    let mut a = t.attack();
    a.send(&upload("link.txt", 6, b"pwned!"));
    let peer = a.local;
    a.finish();
    t.expect_error(peer, "symbolic link");
    assert_eq!(read(&t.outside().join(SECRET_NAME)), SECRET_BODY);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    t.finish(&["link.txt"], &[]);
}

#[test]
fn h41_name_of_an_existing_directory() {
    let t = Target::start("h41", Kind::FileRecv, &[], &[]);
    std::fs::create_dir(t.dir().join("sub")).unwrap();
    write(&t.dir().join("sub").join("inner.txt"), b"inner");
    let mut a = t.attack();
    a.send(&upload("sub", 3, b"abc"));
    let peer = a.local;
    a.finish();
    t.expect_error(peer, "a directory");
    assert_eq!(read(&t.dir().join("sub").join("inner.txt")), b"inner");
    t.finish(&["sub"], &[]);
}

#[test]
fn h42_name_drive_letter_relative() {
    seed_row("h42");
}

#[test]
fn h43_name_of_our_own_temporary_file() {
    seed_row("h43");
}

#[test]
fn h44_name_with_a_bidi_override() {
    seed_row("h44");
}

// ---- bodies ----

#[test]
fn h50_fewer_bytes_than_announced_then_close() {
    seed_row("h50");
}

#[test]
fn h51_more_bytes_than_announced() {
    seed_row("h51");
}

#[test]
fn h52_stall_mid_body_past_the_timeout() {
    let t = Target::start("h52", Kind::FileRecv, &[], &["--timeout", "1"]);
    let mut a = t.attack();
    a.send(&upload(KEEP_NAME, 1000, &[b'x'; 10]));
    // Hold the connection open without sending: the server gives up on its own.
    let peer = a.local;
    t.expect_error(peer, "sent nothing for 1 s");
    let _ = a.drain();
    t.finish(&[], &[]);
}

#[test]
fn h53_two_transfers_to_the_same_name_at_once() {
    let t = Target::start("h53", Kind::FileRecv, &[], &[]);
    let len = 1 << 20;
    let bodies = [vec![b'A'; len], vec![b'B'; len]];
    let mut a = t.attack();
    let mut b = t.attack();
    a.send(&upload("same.bin", len as i64, &[]));
    b.send(&upload("same.bin", len as i64, &[]));
    // Interleave the two bodies in 64 KiB pieces.
    for piece in (0..len).step_by(64 << 10) {
        a.send(&bodies[0][piece..piece + (64 << 10)]);
        b.send(&bodies[1][piece..piece + (64 << 10)]);
    }
    a.finish();
    b.finish();
    let n = |out: &str| out.lines().filter(|l| l.starts_with("same.bin, 1048576 bytes")).count();
    assert!(t.server.wait_until(Duration::from_secs(10), |out, _| n(out) == 2));
    // Both complete, the last rename wins: one whole body, never a mix of the two.
    let got = read(&t.dir().join("same.bin"));
    assert!(got == bodies[0] || got == bodies[1], "a mix of both transfers");
    t.finish(&["same.bin"], &[]);
}

#[test]
fn h54_stall_mid_header_past_the_timeout() {
    let t = Target::start("h54", Kind::FileRecv, &[], &["--timeout", "1"]);
    let mut a = t.attack();
    let wire = upload("a.txt", 3, b"abc");
    a.send(&wire[..10]);
    let peer = a.local;
    t.expect_error(peer, "sent nothing for 1 s");
    let _ = a.drain();
    t.finish(&[], &[]);
}

#[test]
fn h55_mp_header_behind_a_seed_prefix() {
    // A seed prefix read as `!i` (a --profile mismatch, or a probe): 0x2a000000 bytes.
    let json = header_json("a.txt", "3");
    let wire = seed_prefixed(json.as_bytes());
    refused_by("h55", Kind::FileRecv, &["--profile", "mp"], &[], &wire, "exceeds");
}

#[test]
fn h56_every_seed_row_against_one_long_lived_server() {
    // The rows above each get a fresh receiver; here one receiver takes all of them in turn,
    // so nothing may accumulate: memory, threads, temporary files.
    let t = Target::start("h56", Kind::FileRecv, &[], &[]);
    let threads_before = wirekit_tests::hostile::threads(t.pid());
    for _round in 0..3 {
        for row in SEED_ROWS {
            let (wire, needle) = seed_case(row);
            let mut a = t.attack();
            a.send(&wire);
            let peer = a.local;
            a.finish();
            t.expect_error(peer, needle);
        }
    }
    assert!(wait_for(Duration::from_secs(5), || {
        wirekit_tests::hostile::threads(t.pid()) <= threads_before
    }));
    t.finish(&[], &[]);
}

// ---- names dangerous elsewhere (issue 10 item 11) ----

#[test]
fn h209_portable_names_refuse_what_is_dangerous_elsewhere() {
    let t = Target::start("h209", Kind::FileRecv, &[], &[]);
    let names = [
        ("report.txt:hidden", "alternate data stream"),
        ("keep.txt::$DATA", "alternate data stream"),
        ("CON", "Windows device name"),
        ("CONIN$", "Windows device name"),
        ("COM\u{b9}", "Windows device name"),
        ("clock$", "Windows device name"),
        ("nul.tar.gz", "Windows device name"),
        ("a<b>c|d?e*f\".txt", "which Windows forbids"),
        ("-rf", "starts with `-`"),
        ("--checkpoint-action=exec=sh x.sh", "starts with `-`"),
        ("gpj\u{202e}exe.txt", "U+202E"),
        ("zero\u{200b}width.txt", "U+200B"),
        ("line\u{2028}sep.txt", "U+2028"),
        ("alm\u{61c}.txt", "U+061C"),
        ("\u{feff}bom.txt", "U+FEFF"),
        ("cafe\u{301}.txt", "not in Unicode NFC"),
    ];
    for (name, needle) in names {
        let mut a = t.attack();
        a.send(&upload(name, 3, b"abc"));
        let peer = a.local;
        a.finish();
        t.expect_error(peer, needle);
    }
    t.finish(&[], &[]);
}
