#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

#[test]
fn plain_names_pass_unchanged() {
    for name in ["report.pdf", "a", "数据 📦.bin", "👨‍👩‍👧.txt", "x..y", "COM10", "console.log"]
    {
        assert_eq!(check_file_name(name), Ok(name));
    }
}

#[test]
fn empty_and_dots_are_refused() {
    assert_eq!(check_file_name(""), Err(NameError::Empty));
    assert_eq!(check_file_name("."), Err(NameError::DotOrDotDot));
    assert_eq!(check_file_name(".."), Err(NameError::DotOrDotDot));
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
        assert_eq!(
            check_file_name(name),
            Err(NameError::PathSeparator { separator: sep }),
            "{name}"
        );
    }
}

#[test]
fn drive_letters_are_refused() {
    assert_eq!(check_file_name("C:"), Err(NameError::DriveLetter));
    assert_eq!(check_file_name("c:evil.exe"), Err(NameError::DriveLetter));
    // A colon elsewhere is a legal Unix name.
    assert_eq!(check_file_name("12:30.txt"), Ok("12:30.txt"));
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
        assert_eq!(
            check_file_name(name),
            Err(NameError::ControlChar { code_point: cp }),
            "{name:?}"
        );
    }
}

#[test]
fn hidden_names_are_refused() {
    assert_eq!(check_file_name(".bashrc"), Err(NameError::Hidden));
    assert_eq!(check_file_name(".wirekit-x.part"), Err(NameError::Hidden));
}

#[test]
fn windows_tricks_are_refused() {
    assert_eq!(check_file_name("file.txt."), Err(NameError::TrailingDotOrSpace));
    assert_eq!(check_file_name("file "), Err(NameError::TrailingDotOrSpace));
    for name in ["CON", "nul.txt", "Aux.tar.gz", "com1", "LPT9.log"] {
        assert_eq!(check_file_name(name), Err(NameError::Reserved), "{name}");
    }
}

#[test]
fn length_limit_counts_utf8_bytes() {
    let ok = "a".repeat(MAX_NAME_BYTES);
    assert_eq!(check_file_name(&ok), Ok(ok.as_str()));
    assert_eq!(check_file_name(&"a".repeat(256)), Err(NameError::TooLong { len: 256 }));
    // 86 CJK characters are 258 bytes although only 86 characters.
    let cjk = "文".repeat(86);
    assert_eq!(check_file_name(&cjk), Err(NameError::TooLong { len: 258 }));
}

#[test]
fn errors_read_as_one_line() {
    let err = check_file_name("a\nb").unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n') && text.contains("U+000A"), "{text}");
}
