#!/usr/bin/env python3
"""Known-answer length prefixes for wirekit-core's framing tests (core/src/frame/tests/).

Run with Python 3.11: python3 frame_prefix.py > frame_prefix.txt

Each output line is `<profile> <length> <prefix hex>`:
  * `seed`: struct.pack('i', n), the seed recipe (native order; asserted equal to '<i').
  * `mp`:   the header CPython's multiprocessing.connection.Connection.send_bytes writes:
            struct.pack('!i', n), or '!i' of -1 then '!Q' n above 0x7fffffff. For small n the
            header is read back from a real Connection over a pipe and checked against that.
  * a struct format such as `<H` or `>q`: struct.pack(fmt, n), for the generic widths.
Negative lengths (mp: other than the -1 marker) are included as inputs the decoder must refuse.
"""
import os
import struct
import sys
from multiprocessing.connection import Connection

VALUES = [0, 1, 9, 127, 128, 255, 256, 300, 32767, 32768, 65535, 65536, 8 * 1024 * 1024,
          2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1]
# Negative lengths: what a broken or hostile peer could send; the decoder must refuse them
# (except the mp -1 marker).
NEGATIVE = [-1, -2, -128, -2**15, -2**31, -2**63]


def fits(fmt, n):
    try:
        struct.pack(fmt, n)
        return True
    except struct.error:
        return False


def mp_header(n):
    if n > 0x7fffffff:
        return struct.pack("!i", -1) + struct.pack("!Q", n)
    return struct.pack("!i", n)


def mp_header_from_cpython(n):
    """What a real Connection writes for an n-byte message (small n only)."""
    r, w = os.pipe()
    with Connection(r, writable=False) as rc, Connection(w, readable=False) as wc:
        wc.send_bytes(b"x" * n)
        header = os.read(rc.fileno(), 4)
    return header


def main():
    assert sys.byteorder == "little", "the seed's 'i' is native order; run on x86/ARM"
    out = []
    for n in VALUES:
        if fits("i", n):
            native = struct.pack("i", n)
            assert native == struct.pack("<i", n)
            out.append(("seed", n, native))
    for n in VALUES:
        header = mp_header(n)
        if n <= 4096:
            assert mp_header_from_cpython(n) == header
        out.append(("mp", n, header))
    for n in NEGATIVE:
        if fits("!i", n) and n != -1:
            out.append(("mp", n, struct.pack("!i", n)))
    for order in "<>":
        for code in "bBhHiIqQ":
            fmt = order + code
            for n in VALUES + NEGATIVE:
                if fits(fmt, n):
                    out.append((fmt, n, struct.pack(fmt, n)))
    for profile, n, prefix in out:
        print(profile, n, prefix.hex())


if __name__ == "__main__":
    main()
