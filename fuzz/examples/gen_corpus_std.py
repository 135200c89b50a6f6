#!/usr/bin/env python3
"""Seed corpus of the std-adapter and secure-channel targets (safe_name, key_parse,
file_receive, secure_responder, secure_initiator), in each target's input layout (see the
targets' doc comments). Run from fuzz/: `python3 examples/gen_corpus_std.py`; it rewrites
only these five directories of corpus/."""
import hashlib
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def out(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for s in seeds:
        with open(os.path.join(d, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)


# Chunkings: whole, bytewise, irregular (k, sizes...).
CHUNKINGS = [b"\x00", b"\x01\x01", b"\x03\x07\x00\x02"]

# safe_name: [mode] [name]; mode bit 1 = UTF-8, bit 0 = permissive.
NAMES = [
    "report.txt", "报告 😀.bin", "a", "👨\u200d👩\u200d👧", "❤\ufe0f\u200d🔥", "café", "cafe\u0301",
    "", ".", "..", "../../.bashrc", "/etc/passwd", "a\\b", "C:evil", "c:", ".hidden", "name.",
    "name ", "a\x00b", "a\nb", "a\x7fb", "a\u0085b", "exe\u202etxt.", "a\u200eb", "a\u2066b",
    "report.txt:hidden", "keep.txt::$DATA", "CON", "con", "CON.txt", "nul.tar.gz", "NUL .txt",
    "COM1", "com9.log", "COM0", "LPT0", "COM¹", "lpt³", "COM⁴", "CONIN$", "conout$.x", "clock$",
    "CONIN", "a<b>c|d?e*f\".txt", "-rf", "--checkpoint-action=exec=sh x.sh", "a\u061cb",
    "a\u200bb", "a\u200db", "a\u2060b", "\ufeffa", "a\u2028b", "a\u2029b", "x" * 255, "x" * 256,
    "é" * 127 + "x", "é" * 128, "han\u1100\u1161", "Ｃ：x", "ß", "con\u0131n$", "COM\u00b9.txt",
]
seeds = []
for n in NAMES:
    b = n.encode()
    seeds += [bytes([2]) + b, bytes([3]) + b]
seeds += [bytes([0, 26]), bytes([0, 26, 6, 44]), bytes([1, 9, 10, 11]), bytes([0, 69, 46, 70])]
out("safe_name", seeds)

# key_parse: [which] [split] [bytes]; arg = bytes[:split], file = bytes[split:2*split],
# env = bytes[2*split:].
def key(which, arg=b"", file=b"", env=b""):
    split = max(len(arg), len(file))
    arg = arg.ljust(split, b"-")
    file = file.ljust(split, b"-") if len(file) == split else file
    return bytes([which, split]) + arg + file + env

seeds = [
    key(1, arg=b"egg"), key(2, file=b"egg\n"), key(2, file=b"egg\r\n"), key(2, file=b"\n"),
    key(2, file=b"two\nlines\n"), key(2, file=b"\xff\xfe\n"), key(2, file=b"egg\n\n"),
    key(4, env=b"from-env"), key(4, env=b""), key(7, arg=b"a", file=b"b", env=b"c"),
    key(6, file=b"file-key", env=b"env"), key(8), key(2, file=bytes(range(32))),
    key(1, arg=b"0123456789abcdef"), key(1, arg=b"0123456789abcde"), key(2, file=b"0123456789abcdef\n"),
    key(4, env=b"egg\n"), key(1, arg=b"\r\n"), key(0),
]
out("key_parse", seeds)

# file_receive: [config] [k sizes] [stream]; config bit 0 mp, bits 1-2 max size
# (0/16/4096/1 MiB), bit 3 permissive names, bit 4 `keep` exists.
def demo3(name, size, body, mp=False, path=""):
    head = json.dumps({"filepath": path, "filename": name, "filesize": size}).encode()
    prefix = struct.pack("!i" if mp else "<i", len(head))
    return prefix + head + body

seeds = []
for cfg, stream in [
    (6, demo3("report.txt", 5, b"hello")), (7, demo3("report.txt", 5, b"hello", mp=True)),
    (6, demo3("empty", 0, b"")), (6, demo3("报告 😀.bin", 3, b"\x00\xff\x00")),
    (6, demo3("report.txt", 5, b"hello, and more")), (6, demo3("report.txt", 5, b"hel")),
    (6, demo3("../../.bashrc", 1, b"x")), (6, demo3("CON", 1, b"x")),
    (6, demo3("report.txt:hidden", 1, b"x")), (14, demo3("-rf", 2, b"ok")),
    (2, demo3("big", 100, b"y" * 100)), (0, demo3("zero", 0, b"")), (0, demo3("one", 1, b"1")),
    (22, demo3("keep", 3, b"new")), (22, demo3("keep", 9, b"new")), (22, demo3("other", 2, b"ok")),
    (6, demo3("a", -1, b"")), (6, b"\xff\xff\xff\xff{}"), (6, b"\x02\x00\x00\x00{}"),
    (6, demo3("x", 2, b"ab", path="F:\\up")), (6, b""), (6, b"\x05\x00"),
]:
    for ch in CHUNKINGS:
        seeds.append(bytes([cfg]) + ch + stream)
out("file_receive", seeds)

# secure_*: [config] [k sizes] [script: op arg ...]; see src/secure_props.rs.
DATA, CLOSE, RAW, FLIP, SKIP, REPLAY, CUT = range(7)
SCRIPTS = [
    [],
    [CLOSE, 0],
    [DATA, 5, CLOSE, 0],
    [DATA, 200, DATA, 1, CLOSE, 0],
    [DATA, 5, FLIP, 3, 1, CLOSE, 0],
    [DATA, 5, FLIP, 0, 0x80, CLOSE, 0],
    [SKIP, 5, DATA, 5, CLOSE, 0],
    [DATA, 5, REPLAY, 1, CLOSE, 0],
    [DATA, 5, REPLAY, 0, CLOSE, 0],
    [DATA, 5, RAW, 4, 0, 2, 0xAB, 0xCD, CLOSE, 0],
    [DATA, 5, CLOSE, 0, RAW, 3, 1, 2, 3],
    [DATA, 5, CLOSE, 0, CUT, 3],
    [DATA, 5, CUT, 30],
    [RAW, 18, *([0x00, 0x10] + [0] * 16)],
    [RAW, 2, 0xFF, 0xFF],
]
seeds = []
for cfg in [0, 1, 2, 4, 8, 12, 16, 32, 48, 64, 112]:
    for script in SCRIPTS:
        for ch in CHUNKINGS[:2] if cfg else CHUNKINGS:
            seeds.append(bytes([cfg]) + ch + bytes(script))
out("secure_responder", seeds)
out("secure_initiator", seeds)
