#!/usr/bin/env python3
"""Known-answer demo2 replies for wirekit-core's command tests (core/src/command/tests.rs).

Run with Python 3.11: python3 gen_command_vectors.py > command_demo2.txt

The seed's demo2 agent replies to a command with
    conn.send(struct.pack('i', len(stdout) + len(stderr)))
    conn.send(stdout)
    conn.send(stderr)
Each output line is `<command hex> <stdout hex> <stderr hex> <reply hex>` (`-` for empty),
where the reply is exactly the bytes above. One reply comes from a real shell run the way the
seed agent runs commands (subprocess.Popen(shell=True) with piped stdout/stderr); the others
reproduce a Chinese Windows console, whose output is GBK, not UTF-8.
"""
import struct
import subprocess


def seed_reply(stdout, stderr):
    header = struct.pack('i', len(stdout) + len(stderr))
    # The seed profile: native 'i' is little-endian on x86 and ARM.
    assert header == struct.pack('<i', len(stdout) + len(stderr))
    return header + stdout + stderr


def run_like_seed(cmd):
    res = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = res.stdout.read()
    stderr = res.stderr.read()
    res.wait()
    return stdout, stderr


CASES = [
    # A real run: output on both streams.
    (b'echo hello; echo oops 1>&2', *run_like_seed('echo hello; echo oops 1>&2')),
    # A command with no output at all: the framed reply is a bare zero prefix.
    (b'cd .', b'', b''),
    # Windows `dir` header, GBK (not valid UTF-8).
    ('dir'.encode('gbk'),
     ' 驱动器 C 中的卷没有标签。\r\n 卷的序列号是 2C3E-1A0F\r\n'.encode('gbk'), b''),
    # Unknown command on Windows: stderr only, GBK.
    ('xyz'.encode('gbk'), b'',
     "'xyz' 不是内部或外部命令，也不是可运行的程序\r\n或批处理文件。\r\n".encode('gbk')),
    # Longer than the seed controller's recv(1024): where demo1 gets sticky.
    (b'type big.txt', b''.join(b'line %04d of a long listing\r\n' % i for i in range(120)),
     '警告\r\n'.encode('gbk')),
]


def hex_or_dash(b):
    return b.hex() if b else '-'


for cmd, out, err in CASES:
    print(hex_or_dash(cmd), hex_or_dash(out), hex_or_dash(err), seed_reply(out, err).hex())
