//! The repository's documents stand on their own: nothing in it points outside the repository
//! (issue 12 item 14: README.md once sent readers to a `../shared/PROTOCOL.md` that only
//! existed on the machine it was written on).

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// Every file git tracks (the check must not depend on what happens to lie around).
fn tracked_files() -> Vec<PathBuf> {
    let root = repo_root();
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .expect("run git ls-files");
    assert!(out.status.success(), "git ls-files failed");
    out.stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| root.join(String::from_utf8_lossy(p).as_ref()))
        .collect()
}

/// Paths that name something outside the repository: the machine's shared folder, or a
/// relative path that climbs out of the repository.
fn outside_references(text: &str) -> Vec<String> {
    // `PROTOCOL.md` is the machine's shared reference, not a file of this repository.
    const OUTSIDE: [&str; 3] = ["../shared/", "/work/shared", "PROTOCOL.md"];
    text.lines()
        .filter(|line| OUTSIDE.iter().any(|needle| line.contains(needle)))
        .map(|line| line.trim().to_owned())
        .collect()
}

#[test]
fn the_outside_reference_check_sees_the_old_pointer() {
    let old = "`../shared/PROTOCOL.md` is the byte-for-byte reference";
    assert_eq!(outside_references(old).len(), 1);
    assert!(outside_references("see docs/protocol.md §3").is_empty());
}

#[test]
fn nothing_in_the_repository_points_outside_it() {
    let this_file = Path::new(file!()).file_name().expect("a name").to_owned();
    let mut found = Vec::new();
    for path in tracked_files() {
        if path.file_name() == Some(&this_file) {
            continue; // it names the patterns it looks for
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue }; // binary
        for line in outside_references(&text) {
            found.push(format!("{}: {line}", path.display()));
        }
    }
    assert!(found.is_empty(), "references outside the repository:\n{}", found.join("\n"));
}

#[test]
fn the_protocol_reference_is_in_the_repository() {
    let protocol = std::fs::read_to_string(repo_root().join("docs/protocol.md"))
        .expect("docs/protocol.md exists");
    for section in ["## 1. The seed profile", "## 2. The mp profile", "role key"] {
        assert!(protocol.contains(section), "docs/protocol.md lacks {section:?}");
    }
}
