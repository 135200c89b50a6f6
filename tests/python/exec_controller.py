"""Remote command controller (demo1 with --raw, demo2 framed): listens, sends commands.

Prints each command's output; sends `q` at the end.
"""
import argparse
import struct
import sys

from seedlib import listen, recv_exact

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('commands', nargs='+')
ap.add_argument('--raw', action='store_true', help='demo1: read recv(500), no length prefix')
ap.add_argument('--encoding', default='gbk')
args = ap.parse_intermixed_args()

sk = listen(args.host, args.port)
conn, addr = sk.accept()
conn.settimeout(20)
for cmd in args.commands:
    conn.send(cmd.encode(args.encoding))
    if args.raw:
        ret = conn.recv(500)
    else:
        num = struct.unpack('i', recv_exact(conn, 4))[0]
        if num < 0:
            sys.exit('negative length %d' % num)
        ret = recv_exact(conn, num)
    print(ret.decode(args.encoding, errors='replace'), flush=True)
conn.send(b'q')
conn.close()
sk.close()
