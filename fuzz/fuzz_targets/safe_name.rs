//! `wirekit_std::safe_name::check_file_name`, the receiver's rule for peer-sent file names,
//! under both policies.
//!
//! Properties:
//! * accepted exactly when a naive reading of the rules in the module docs of
//!   `std-adapter/src/safe_name` (written out below rule by rule, not shared with the code)
//!   accepts;
//! * a refusal names a rule the name really breaks (its character, code point or length is
//!   the name's own);
//! * an accepted name is one portable path component: `Path::components` sees exactly one
//!   normal component equal to it, no `/`, `\`, NUL or control character, at most 255 bytes;
//!   checking it again accepts it again (idempotent) and it is returned unchanged;
//! * `Portable` accepts only what `Permissive` accepts.
//!
//! Input: `[mode] [name...]`. Mode bit 0: the policy (0 portable, 1 permissive). Bit 1: the
//! name bytes as (lossy) UTF-8; else each byte picks a token from `TOKENS` (device names,
//! separators, invisible and combining characters, emoji), so the rules' corners are a
//! few mutations apart.
#![no_main]

use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use unicode_normalization::UnicodeNormalization;
use wirekit_std::safe_name::{check_file_name, NameError, NamePolicy, MAX_NAME_BYTES};

const TOKENS: &[&str] = &[
    "a",
    "b",
    "Z",
    "0",
    "1",
    "9",
    ".",
    "..",
    " ",
    "-",
    "/",
    "\\",
    ":",
    "<",
    ">",
    "|",
    "?",
    "*",
    "\"",
    "$",
    "\0",
    "\t",
    "\n",
    "\u{7f}",
    "\u{85}",
    "\u{9f}",
    "CON",
    "con",
    "PRN",
    "AUX",
    "nul",
    "COM",
    "lpt",
    "Lpt",
    "IN",
    "OUT",
    "CLOCK",
    "conin$",
    "CONOUT$",
    "¹",
    "²",
    "³",
    "⁴",
    "txt",
    "\u{061C}",
    "\u{200B}",
    "\u{200C}",
    "\u{200D}",
    "\u{200E}",
    "\u{200F}",
    "\u{202A}",
    "\u{202E}",
    "\u{2060}",
    "\u{2066}",
    "\u{2069}",
    "\u{FEFF}",
    "\u{2028}",
    "\u{2029}",
    "e",
    "\u{301}",
    "é",
    "\u{0131}",
    "ß",
    "K",
    "\u{212A}",
    "👨",
    "👩",
    "❤",
    "\u{FE0F}",
    "\u{1F000}",
    "\u{1FAFF}",
    "\u{2600}",
    "\u{27BF}",
    "\u{27C0}",
    "报告",
    "C:",
    "c",
    "ü",
    "\u{0308}",
    "한",
    "\u{1100}\u{1161}",
];

/// The rules a name breaks, by the module docs, as `NameError`s (payloads included).
fn violations(name: &str, policy: NamePolicy) -> Vec<NameError> {
    let mut v = Vec::new();
    let chars: Vec<char> = name.chars().collect();
    if name.is_empty() {
        v.push(NameError::Empty);
    }
    if name == "." || name == ".." {
        v.push(NameError::DotOrDotDot);
    }
    for &c in &chars {
        if c == '/' || c == '\\' {
            v.push(NameError::PathSeparator { separator: c });
        }
        let cp = c as u32;
        let control = cp < 0x20 || cp == 0x7f || (0x80..=0x9f).contains(&cp);
        let bidi = matches!(cp, 0x202A..=0x202E | 0x2066..=0x2069 | 0x200E | 0x200F);
        if control || bidi {
            v.push(NameError::ControlChar { code_point: cp });
        }
    }
    if chars.len() >= 2 && chars[0].is_ascii_alphabetic() && chars[1] == ':' {
        v.push(NameError::DriveLetter);
    }
    if name.len() > MAX_NAME_BYTES {
        v.push(NameError::TooLong { len: name.len() });
    }
    if chars.first() == Some(&'.') {
        v.push(NameError::Hidden);
    }
    if matches!(chars.last(), Some('.') | Some(' ')) {
        v.push(NameError::TrailingDotOrSpace);
    }
    // "any case, with or without an extension": the part before the first dot, without the
    // spaces Windows drops before it ("NUL .txt"), upper-cased.
    let stem: String = name.split('.').next().unwrap_or("").trim_end_matches(' ').to_uppercase();
    let numbered = |digits: &[char]| {
        ["COM", "LPT"].iter().any(|p| {
            stem.strip_prefix(p).is_some_and(|rest| {
                let mut r = rest.chars();
                matches!((r.next(), r.next()), (Some(d), None) if digits.contains(&d))
            })
        })
    };
    let base = ["CON", "PRN", "AUX", "NUL"];
    if base.contains(&stem.as_str()) || numbered(&['1', '2', '3', '4', '5', '6', '7', '8', '9']) {
        v.push(NameError::Reserved);
    }
    if policy == NamePolicy::Permissive {
        return v;
    }
    for &c in &chars {
        if matches!(c, ':' | '<' | '>' | '|' | '?' | '*' | '"') {
            v.push(NameError::WindowsChar { found: c });
        }
    }
    let emoji = |c: Option<&char>| {
        c.is_some_and(|&c| matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F))
    };
    for (i, &c) in chars.iter().enumerate() {
        let cp = c as u32;
        if matches!(cp, 0x061C | 0x200B..=0x200D | 0x2060 | 0xFEFF | 0x2028 | 0x2029) {
            // A joiner between two emoji spells one picture (`👨‍👩‍👧`).
            let joins_emoji =
                cp == 0x200D && i > 0 && emoji(chars.get(i - 1)) && emoji(chars.get(i + 1));
            if !joins_emoji {
                v.push(NameError::Invisible { code_point: cp });
            }
        }
    }
    if chars.first() == Some(&'-') {
        v.push(NameError::LeadingDash);
    }
    let portable_base = ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"];
    let digits = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '¹', '²', '³'];
    if portable_base.contains(&stem.as_str()) || numbered(&digits) {
        v.push(NameError::Reserved);
    }
    // Compose and compare (the code uses the quick check `is_nfc`).
    if name.nfc().collect::<String>() != name {
        v.push(NameError::NotNfc);
    }
    v
}

fn check(name: &str, policy: NamePolicy) {
    let got = check_file_name(name, policy);
    let broken = violations(name, policy);
    match &got {
        Ok(accepted) => {
            assert!(broken.is_empty(), "{name:?} accepted under {policy:?}, breaks {broken:?}");
            assert_eq!(*accepted, name, "accepted name changed");
            assert!(std::ptr::eq(*accepted, name), "accepted name is not the input");
            assert!(!name.contains(['/', '\\', '\0']) && !name.chars().any(char::is_control));
            assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES);
            let components: Vec<Component<'_>> = Path::new(name).components().collect();
            assert_eq!(
                components,
                [Component::Normal(name.as_ref())],
                "{name:?} is not one plain path component"
            );
            assert_eq!(check_file_name(accepted, policy), Ok(name), "not idempotent");
        }
        Err(e) => {
            assert!(broken.contains(e), "{name:?} refused as {e:?}, but it breaks only {broken:?}");
            let _ = e.to_string();
        }
    }
    if policy == NamePolicy::Portable && got.is_ok() {
        assert_eq!(
            check_file_name(name, NamePolicy::Permissive),
            Ok(name),
            "portable ⊄ permissive"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let policy = if mode & 1 == 0 { NamePolicy::Portable } else { NamePolicy::Permissive };
    let name: String = if mode & 2 != 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        rest.iter().map(|&b| TOKENS[usize::from(b) % TOKENS.len()]).collect()
    };
    check(&name, policy);
    // The other policy too: every input tests both, and the subset rule always applies.
    let other = match policy {
        NamePolicy::Portable => NamePolicy::Permissive,
        NamePolicy::Permissive => NamePolicy::Portable,
    };
    check(&name, other);
});
