#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn complete_body_is_renamed_into_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = AtomicFile::create(dir.path(), "数据 📦.bin", 6, SizeLimit::Bytes(100)).unwrap();
    let temp = file.temp_path().to_path_buf();
    assert!(temp.file_name().unwrap().to_string_lossy().starts_with(".wirekit-数据 📦.bin."));
    file.write_chunk(b"abc").unwrap();
    file.write_all(b"def").unwrap();
    assert_eq!(file.remaining(), 0);
    let path = file.commit().unwrap();
    assert_eq!(path, dir.path().join("数据 📦.bin"));
    assert_eq!(std::fs::read(&path).unwrap(), b"abcdef");
    assert!(!temp.exists());
    assert_eq!(entries(dir.path()), vec!["数据 📦.bin".to_string()]);
}

#[test]
fn zero_byte_file_commits() {
    let dir = tempfile::tempdir().unwrap();
    let file = AtomicFile::create(dir.path(), "empty", 0, SizeLimit::FreeSpace).unwrap();
    let path = file.commit().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"");
}

#[test]
fn interrupted_transfer_leaves_old_file_intact_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"old").unwrap();
    let mut file = AtomicFile::create(dir.path(), "a.txt", 10, SizeLimit::Bytes(100)).unwrap();
    file.write_chunk(b"new").unwrap();
    let err = file.commit().unwrap_err();
    assert!(matches!(err, AtomicFileError::Incomplete { received: 3, expected: 10 }), "{err}");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"old");
    assert_eq!(entries(dir.path()), vec!["a.txt".to_string()]);
}

#[test]
fn drop_without_commit_deletes_temp() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = AtomicFile::create(dir.path(), "b", 4, SizeLimit::Bytes(4)).unwrap();
    file.write_chunk(b"abcd").unwrap();
    drop(file);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn existing_file_is_replaced_on_commit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"old contents").unwrap();
    let mut file = AtomicFile::create(dir.path(), "a", 3, SizeLimit::Bytes(100)).unwrap();
    assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"old contents");
    file.write_chunk(b"new").unwrap();
    file.commit().unwrap();
    assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"new");
}

#[test]
fn more_than_announced_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = AtomicFile::create(dir.path(), "c", 2, SizeLimit::Bytes(100)).unwrap();
    let err = file.write_chunk(b"abc").unwrap_err();
    assert!(matches!(err, AtomicFileError::Overflow { expected: 2 }));
    assert_eq!(file.written(), 0);
    assert!(file.write(b"xyz").is_err());
}

#[test]
fn oversize_is_refused_before_any_file_exists() {
    let dir = tempfile::tempdir().unwrap();
    let err = AtomicFile::create(dir.path(), "big", 101, SizeLimit::Bytes(100)).unwrap_err();
    assert!(matches!(err, AtomicFileError::TooLarge { size: 101, limit: 100, .. }), "{err}");
    let err = AtomicFile::create(dir.path(), "huge", u64::MAX, SizeLimit::FreeSpace).unwrap_err();
    assert!(err.to_string().contains("free space"), "{err}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn bad_names_are_refused_before_any_file_exists() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["../escape", "/etc/passwd", "", "..", "C:x", "a\0b", ".hidden"] {
        let err = AtomicFile::create(dir.path(), name, 1, SizeLimit::Bytes(10)).unwrap_err();
        assert!(matches!(err, AtomicFileError::Name { .. }), "{name:?}: {err}");
    }
    assert!(entries(dir.path()).is_empty());
    assert!(!dir.path().parent().unwrap().join("escape").exists());
}

#[test]
fn existing_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let err = AtomicFile::create(dir.path(), "sub", 1, SizeLimit::Bytes(10)).unwrap_err();
    assert!(matches!(err, AtomicFileError::NotARegularFile { kind: "a directory", .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinks_are_refused_wherever_they_point() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("victim");
    std::fs::write(&target, b"keep").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("link")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/dangling", dir.path().join("dangling")).unwrap();
    for name in ["link", "dangling"] {
        let err = AtomicFile::create(dir.path(), name, 1, SizeLimit::Bytes(10)).unwrap_err();
        assert!(
            matches!(err, AtomicFileError::NotARegularFile { kind: "a symbolic link", .. }),
            "{err}"
        );
    }
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
}

#[test]
fn symlink_appearing_during_receive_is_refused_at_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = AtomicFile::create(dir.path(), "late", 1, SizeLimit::Bytes(10)).unwrap();
    file.write_chunk(b"x").unwrap();
    std::fs::create_dir(dir.path().join("late")).unwrap();
    assert!(matches!(file.commit(), Err(AtomicFileError::NotARegularFile { .. })));
    assert_eq!(entries(dir.path()), vec!["late".to_string()]);
}

#[test]
fn receive_from_copies_exactly_the_announced_size() {
    let dir = tempfile::tempdir().unwrap();
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut stream = body.clone();
    stream.extend_from_slice(b"NEXT MESSAGE");
    let mut reader = &stream[..];
    let mut file =
        AtomicFile::create(dir.path(), "big.bin", body.len() as u64, SizeLimit::FreeSpace).unwrap();
    let mut seen = 0;
    let n = file.receive_from(&mut reader, |k| seen += k).unwrap();
    assert_eq!((n, seen), (body.len() as u64, body.len() as u64));
    assert_eq!(reader, b"NEXT MESSAGE", "bytes after the body stay unread");
    let path = file.commit().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), body);
}

#[test]
fn receive_from_short_stream_reports_fewer_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut reader = &b"short"[..];
    let mut file = AtomicFile::create(dir.path(), "cut", 100, SizeLimit::Bytes(100)).unwrap();
    assert_eq!(file.receive_from(&mut reader, |_| {}).unwrap(), 5);
    assert!(matches!(file.commit(), Err(AtomicFileError::Incomplete { received: 5, .. })));
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn long_names_still_get_a_valid_temp_name() {
    let dir = tempfile::tempdir().unwrap();
    let name = "文".repeat(85); // 255 bytes
    let file = AtomicFile::create(dir.path(), &name, 0, SizeLimit::Bytes(0)).unwrap();
    assert!(file.temp_path().file_name().unwrap().len() <= 255);
    assert_eq!(file.commit().unwrap(), dir.path().join(&name));
}
