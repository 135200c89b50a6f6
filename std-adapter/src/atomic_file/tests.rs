#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use std::path::Path;

fn target(dir: &Path) -> Arc<TargetDir> {
    Arc::new(TargetDir::open(dir).unwrap())
}

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
    let mut file = AtomicFile::create(
        &target(dir.path()),
        "数据 📦.bin",
        6,
        &ReceiveRules::with_max_size(100),
    )
    .unwrap();
    let temp = file.temp_path().to_path_buf();
    assert!(temp.file_name().unwrap().to_string_lossy().starts_with(".wirekit-数据 📦.bin."));
    file.write_chunk(b"abc").unwrap();
    file.write_chunk(b"def").unwrap();
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
    let file =
        AtomicFile::create(&target(dir.path()), "empty", 0, &ReceiveRules::default()).unwrap();
    let path = file.commit().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"");
}

#[test]
fn interrupted_transfer_leaves_old_file_intact_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"old").unwrap();
    let mut file =
        AtomicFile::create(&target(dir.path()), "a.txt", 10, &ReceiveRules::with_max_size(100))
            .unwrap();
    file.write_chunk(b"new").unwrap();
    let err = file.commit().unwrap_err();
    assert!(matches!(err, AtomicFileError::Incomplete { received: 3, expected: 10 }), "{err}");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"old");
    assert_eq!(entries(dir.path()), vec!["a.txt".to_string()]);
}

#[test]
fn drop_without_commit_deletes_temp() {
    let dir = tempfile::tempdir().unwrap();
    let mut file =
        AtomicFile::create(&target(dir.path()), "b", 4, &ReceiveRules::with_max_size(4)).unwrap();
    file.write_chunk(b"abcd").unwrap();
    drop(file);
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn existing_file_is_replaced_on_commit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"old contents").unwrap();
    let mut file =
        AtomicFile::create(&target(dir.path()), "a", 3, &ReceiveRules::with_max_size(100)).unwrap();
    assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"old contents");
    file.write_chunk(b"new").unwrap();
    file.commit().unwrap();
    assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"new");
}

#[test]
fn more_than_announced_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut file =
        AtomicFile::create(&target(dir.path()), "c", 2, &ReceiveRules::with_max_size(100)).unwrap();
    let err = file.write_chunk(b"abc").unwrap_err();
    assert!(matches!(err, AtomicFileError::Overflow { expected: 2 }));
    assert_eq!(file.written(), 0);
    file.write_chunk(b"xy").unwrap();
    assert!(file.write_chunk(b"z").is_err(), "nothing past the announced size");
}

#[test]
fn oversize_is_refused_before_any_file_exists() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        AtomicFile::create(&target(dir.path()), "big", 101, &ReceiveRules::with_max_size(100))
            .unwrap_err();
    assert!(matches!(err, AtomicFileError::TooLarge { size: 101, limit: 100, .. }), "{err}");
    let err = AtomicFile::create(&target(dir.path()), "huge", u64::MAX, &ReceiveRules::default())
        .unwrap_err();
    assert!(err.to_string().contains("--max-size"), "{err}");
    let err = AtomicFile::create(
        &target(dir.path()),
        "huge",
        u64::MAX,
        &ReceiveRules::with_max_size(u64::MAX),
    )
    .unwrap_err();
    assert!(err.to_string().contains("free space"), "{err}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn bad_names_are_refused_before_any_file_exists() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["../escape", "/etc/passwd", "", "..", "C:x", "a\0b", ".hidden"] {
        let err =
            AtomicFile::create(&target(dir.path()), name, 1, &ReceiveRules::with_max_size(10))
                .unwrap_err();
        assert!(matches!(err, AtomicFileError::Name { .. }), "{name:?}: {err}");
    }
    assert!(entries(dir.path()).is_empty());
    assert!(!dir.path().parent().unwrap().join("escape").exists());
}

#[test]
fn existing_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let err = AtomicFile::create(&target(dir.path()), "sub", 1, &ReceiveRules::with_max_size(10))
        .unwrap_err();
    assert!(matches!(err, AtomicFileError::NotARegularFile { kind: "a directory", .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinks_are_refused_wherever_they_point() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("link")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/dangling", dir.path().join("dangling")).unwrap();
    for name in ["link", "dangling"] {
        let err =
            AtomicFile::create(&target(dir.path()), name, 1, &ReceiveRules::with_max_size(10))
                .unwrap_err();
        assert!(
            matches!(err, AtomicFileError::NotARegularFile { kind: "a symbolic link", .. }),
            "{err}"
        );
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
}

#[test]
fn symlink_appearing_during_receive_is_refused_at_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut file =
        AtomicFile::create(&target(dir.path()), "late", 1, &ReceiveRules::with_max_size(10))
            .unwrap();
    file.write_chunk(b"x").unwrap();
    std::fs::create_dir(dir.path().join("late")).unwrap();
    assert!(matches!(file.commit(), Err(AtomicFileError::NotARegularFile { .. })));
    assert_eq!(entries(dir.path()), vec!["late".to_string()]);
}

#[test]
fn long_names_still_get_a_valid_temp_name() {
    let dir = tempfile::tempdir().unwrap();
    let name = "文".repeat(85); // 255 bytes
    let file =
        AtomicFile::create(&target(dir.path()), &name, 0, &ReceiveRules::with_max_size(0)).unwrap();
    assert!(file.temp_path().file_name().unwrap().len() <= 255);
    assert_eq!(file.commit().unwrap(), dir.path().join(&name));
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn h203_the_temporary_file_is_0600_and_a_replaced_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, b"old").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut file =
        AtomicFile::create(&target(dir.path()), "secret.txt", 3, &ReceiveRules::default()).unwrap();
    assert_eq!(mode_of(&file.temp_path()), 0o600, "readable by others while written");
    file.write_chunk(b"new").unwrap();
    file.commit().unwrap();
    assert_eq!(mode_of(&secret), 0o600, "the replaced file's mode is kept");
    assert_eq!(std::fs::read(&secret).unwrap(), b"new");
    // Set-id bits are not carried over to a peer's content.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let mut file =
        AtomicFile::create(&target(dir.path()), "secret.txt", 1, &ReceiveRules::default()).unwrap();
    file.write_chunk(b"x").unwrap();
    file.commit().unwrap();
    assert_eq!(mode_of(&secret), 0o755);
}

#[test]
fn a_new_file_gets_0666_less_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let target = target(dir.path());
    let want = target.new_file_mode();
    assert_eq!(want & !0o666, 0);
    let file = AtomicFile::create(&target, "fresh", 0, &ReceiveRules::default()).unwrap();
    let path = file.commit().unwrap();
    assert_eq!(mode_of(&path), want);
}

#[test]
fn h204_a_directory_swapped_for_a_symlink_redirects_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("dir");
    let outside = root.path().join("outside");
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(&outside).unwrap();
    let opened = target(&dir);
    // Between uploads the directory moves away and a symlink to `outside` takes its name.
    let moved = root.path().join("moved");
    std::fs::rename(&dir, &moved).unwrap();
    std::os::unix::fs::symlink(&outside, &dir).unwrap();
    let mut file = AtomicFile::create(&opened, "next.txt", 2, &ReceiveRules::default()).unwrap();
    file.write_chunk(b"hi").unwrap();
    file.commit().unwrap();
    assert!(entries(&outside).is_empty(), "redirected: {:?}", entries(&outside));
    assert_eq!(entries(&moved), ["next.txt"]);
}

#[test]
fn h205_the_free_space_reserve_counts_uploads_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let target = target(dir.path());
    let (free, _) = target.space().unwrap();
    let rules = ReceiveRules { min_free: Some(free / 2), ..ReceiveRules::with_max_size(u64::MAX) };
    let room = free - free / 2;
    // Two uploads of 40 % of the room each fit; a third does not while they are in progress.
    let first = AtomicFile::create(&target, "a", room / 5 * 2, &rules).unwrap();
    let second = AtomicFile::create(&target, "b", room / 5 * 2, &rules).unwrap();
    let err = AtomicFile::create(&target, "c", room / 5 * 2, &rules).unwrap_err();
    assert!(err.to_string().contains("--min-free"), "{err}");
    drop((first, second));
    drop(AtomicFile::create(&target, "c", room / 5 * 2, &rules).unwrap());
    // Keeping everything free refuses even one byte.
    let all = ReceiveRules { min_free: Some(u64::MAX), ..ReceiveRules::default() };
    assert!(matches!(
        AtomicFile::create(&target, "d", 1, &all),
        Err(AtomicFileError::TooLarge { limit: 0, .. })
    ));
}

#[test]
fn the_default_reserve_is_five_percent_at_most_two_gib() {
    assert_eq!(default_min_free(1000), 50);
    assert_eq!(default_min_free(1 << 40), 2 << 30);
    assert_eq!(DEFAULT_MAX_SIZE, 4 << 30);
}

#[test]
fn h206_no_clobber_refuses_an_existing_name_and_one_that_appears_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), b"old").unwrap();
    let rules = ReceiveRules { no_clobber: true, ..ReceiveRules::default() };
    let err = AtomicFile::create(&target(dir.path()), "keep.txt", 1, &rules).unwrap_err();
    assert!(matches!(err, AtomicFileError::Exists { .. }), "{err}");
    let mut late = AtomicFile::create(&target(dir.path()), "late.txt", 1, &rules).unwrap();
    late.write_chunk(b"x").unwrap();
    std::fs::write(dir.path().join("late.txt"), b"theirs").unwrap();
    assert!(matches!(late.commit(), Err(AtomicFileError::Exists { .. })));
    assert_eq!(std::fs::read(dir.path().join("late.txt")).unwrap(), b"theirs");
    assert_eq!(entries(dir.path()), ["keep.txt", "late.txt"]);
}

#[test]
fn h201_stale_temporary_files_are_swept_but_live_ones_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let target = target(dir.path());
    let stale = ".wirekit-big.bin.0123456789abcdef.part";
    std::fs::write(dir.path().join(stale), b"left by a killed receiver").unwrap();
    // Not ours: other names, and a directory of our naming, stay.
    std::fs::write(dir.path().join(".wirekit-x.part"), b"").unwrap();
    std::fs::create_dir(dir.path().join(".wirekit-d.0123456789abcdef.part")).unwrap();
    let live = AtomicFile::create(&target, "live.bin", 1, &ReceiveRules::default()).unwrap();
    assert_eq!(target.sweep_stale_temp_files().unwrap(), 1);
    let left = entries(dir.path());
    assert!(!left.contains(&stale.to_string()), "{left:?}");
    assert!(live.temp_path().exists(), "a live upload's file was swept");
    assert!(left.contains(&".wirekit-x.part".to_string()));
    assert!(left.contains(&".wirekit-d.0123456789abcdef.part".to_string()));
}

#[test]
fn h207_an_unwritable_directory_is_reported_at_start_naming_it() {
    // A directory removed after it was opened refuses new files even to root (the tests
    // may run as root, for whom mode 0555 means nothing).
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("gone");
    std::fs::create_dir(&dir).unwrap();
    let opened = target(&dir);
    std::fs::remove_dir(&dir).unwrap();
    let text = opened.check_writable().unwrap_err().to_string();
    assert!(text.starts_with(&format!("cannot write into {}:", dir.display())), "{text}");
    assert!(!text.contains(".wirekit-"), "{text}");
}
