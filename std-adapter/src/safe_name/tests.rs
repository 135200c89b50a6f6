#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn check(name: &str) -> Result<&str, NameError> {
    check_file_name(name, NamePolicy::Portable)
}

#[test]
fn plain_names_pass_unchanged() {
    for name in ["report.pdf", "a", "数据 📦.bin", "👨‍👩‍👧.txt", "x..y", "COM10", "console.log"]
    {
        assert_eq!(check(name), Ok(name));
    }
}

#[test]
fn empty_and_dots_are_refused() {
    assert_eq!(check(""), Err(NameError::Empty));
    assert_eq!(check("."), Err(NameError::DotOrDotDot));
    assert_eq!(check(".."), Err(NameError::DotOrDotDot));
}

#[test]
fn paths_are_refused_not_stripped() {
    for (name, sep) in [
        ("/etc/passwd", '/'),
        ("../x", '/'),
        ("a/b", '/'),
        ("..\\x", '\\'),
        ("F:\\dir\\x", '\\'),
        ("\\\\server\\share", '\\'),
    ] {
        assert_eq!(check(name), Err(NameError::PathSeparator { separator: sep }), "{name}");
    }
}

#[test]
fn drive_letters_are_refused() {
    assert_eq!(check("C:"), Err(NameError::DriveLetter));
    assert_eq!(check("c:evil.exe"), Err(NameError::DriveLetter));
    // A colon elsewhere is a legal Unix name, accepted under --names permissive only.
    assert_eq!(check_file_name("12:30.txt", NamePolicy::Permissive), Ok("12:30.txt"));
    assert_eq!(check("12:30.txt"), Err(NameError::WindowsChar { found: ':' }));
}

#[test]
fn control_and_bidi_characters_are_refused() {
    for (name, cp) in [
        ("a\0b", 0u32),
        ("line\nbreak", 0x0a),
        ("tab\t", 0x09),
        ("del\u{7f}", 0x7f),
        ("c1\u{85}", 0x85),
        ("gpj\u{202E}exe.txt", 0x202e),
        ("x\u{2066}y", 0x2066),
    ] {
        assert_eq!(check(name), Err(NameError::ControlChar { code_point: cp }), "{name:?}");
    }
}

#[test]
fn hidden_names_are_refused() {
    assert_eq!(check(".bashrc"), Err(NameError::Hidden));
    assert_eq!(check(".wirekit-x.part"), Err(NameError::Hidden));
}

#[test]
fn windows_tricks_are_refused() {
    assert_eq!(check("file.txt."), Err(NameError::TrailingDotOrSpace));
    assert_eq!(check("file "), Err(NameError::TrailingDotOrSpace));
    for name in ["CON", "nul.txt", "Aux.tar.gz", "com1", "LPT9.log"] {
        assert_eq!(check(name), Err(NameError::Reserved), "{name}");
    }
}

#[test]
fn length_limit_counts_utf8_bytes() {
    let ok = "a".repeat(MAX_NAME_BYTES);
    assert_eq!(check(&ok), Ok(ok.as_str()));
    assert_eq!(check(&"a".repeat(256)), Err(NameError::TooLong { len: 256 }));
    // 86 CJK characters are 258 bytes although only 86 characters.
    let cjk = "文".repeat(86);
    assert_eq!(check(&cjk), Err(NameError::TooLong { len: 258 }));
}

#[test]
fn errors_read_as_one_line() {
    let err = check("a\nb").unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n') && text.contains("U+000A"), "{text}");
}

#[test]
fn alternate_data_streams_and_windows_characters_are_refused() {
    for (name, found) in [
        ("report.txt:hidden", ':'),
        ("keep.txt::$DATA", ':'),
        ("a<b>c|d?e*f\".txt", '<'),
        ("b>c", '>'),
        ("c|d", '|'),
        ("d?e", '?'),
        ("e*f", '*'),
        ("f\"g", '"'),
    ] {
        assert_eq!(check(name), Err(NameError::WindowsChar { found }), "{name}");
        assert!(check_file_name(name, NamePolicy::Permissive).is_ok(), "{name}");
    }
}

#[test]
fn every_windows_device_name_is_refused_in_any_case_with_or_without_extension() {
    let devices = [
        "CON",
        "PRN",
        "AUX",
        "NUL",
        "COM0",
        "COM5",
        "COM9",
        "LPT0",
        "LPT9",
        "COM\u{b9}",
        "COM\u{b2}",
        "COM\u{b3}",
        "LPT\u{b9}",
        "LPT\u{b3}",
        "CONIN$",
        "CONOUT$",
        "CLOCK$",
    ];
    for device in devices {
        for name in [
            device.to_owned(),
            device.to_lowercase(),
            format!("{device}.txt"),
            format!("{device} .log"),
        ] {
            assert_eq!(check(&name), Err(NameError::Reserved), "{name}");
        }
    }
    for fine in ["COM10", "LPT", "console.log", "CONIN", "clock.txt", "COM\u{b9}0"] {
        assert_eq!(check(fine), Ok(fine), "{fine}");
    }
    // The permissive rule is the old one: COM1-9/LPT1-9 and the four names only.
    assert!(check_file_name("clock$", NamePolicy::Permissive).is_ok());
    assert_eq!(check_file_name("com1", NamePolicy::Permissive), Err(NameError::Reserved));
}

#[test]
fn a_leading_dash_is_refused() {
    for name in ["-rf", "--checkpoint-action=exec=sh x.sh", "-"] {
        assert_eq!(check(name), Err(NameError::LeadingDash), "{name}");
        assert!(check_file_name(name, NamePolicy::Permissive).is_ok(), "{name}");
    }
    assert_eq!(check("a-b"), Ok("a-b"));
}

#[test]
fn bidi_invisible_and_line_breaking_characters_are_refused() {
    for cp in
        [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F]
    {
        let name = format!("a{}b.txt", char::from_u32(cp).unwrap());
        assert_eq!(check(&name), Err(NameError::ControlChar { code_point: cp }), "{cp:X}");
    }
    for cp in [0x061C, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x2028, 0x2029] {
        let name = format!("a{}b.txt", char::from_u32(cp).unwrap());
        assert_eq!(check(&name), Err(NameError::Invisible { code_point: cp }), "{cp:X}");
        assert!(check_file_name(&name, NamePolicy::Permissive).is_ok(), "{cp:X}");
    }
    // Leading and trailing joiners are not part of an emoji sequence.
    assert!(check("\u{200D}\u{1F600}").is_err());
    assert!(check("\u{1F600}\u{200D}").is_err());
    assert_eq!(check("\u{2764}\u{FE0F}\u{200D}\u{1F525}"), Ok("\u{2764}\u{FE0F}\u{200D}\u{1F525}"));
}

#[test]
fn only_nfc_names_are_accepted_so_twins_cannot_both_land() {
    let nfc = "caf\u{e9}.txt";
    let nfd = "cafe\u{301}.txt";
    assert_eq!(check(nfc), Ok(nfc));
    assert_eq!(check(nfd), Err(NameError::NotNfc));
    assert!(check_file_name(nfd, NamePolicy::Permissive).is_ok());
}
