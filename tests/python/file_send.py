"""demo3 sender: struct.pack('i', len(head)) + json.dumps(head) + the file's bytes.

The seed's server sends (listen); `connect` makes it the connecting side. The --filename,
--filesize and --cut options forge a header or cut the body short, for bad-input tests.
"""
import argparse
import json
import os
import socket
import struct

from seedlib import listen

ap = argparse.ArgumentParser()
ap.add_argument('mode', choices=['listen', 'connect'])
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('path')
ap.add_argument('--filename', help='send this name instead of the real one')
ap.add_argument('--filesize', type=int, help='announce this size instead of the real one')
ap.add_argument('--cut', type=int, help='send only this many body bytes, then close')
args = ap.parse_args()

if args.mode == 'listen':
    sk = listen(args.host, args.port)
    conn, addr = sk.accept()
else:
    sk = None
    conn = socket.socket()
    conn.connect((args.host, args.port))

path = os.path.abspath(args.path)
head = {'filepath': os.path.dirname(path),
        'filename': args.filename if args.filename is not None else os.path.basename(path),
        'filesize': args.filesize if args.filesize is not None else os.path.getsize(path)}
head_json = json.dumps(head)
head_bytes = head_json.encode('utf-8')
conn.send(struct.pack('i', len(head_bytes)))
conn.send(head_bytes)

left = os.path.getsize(path) if args.cut is None else args.cut
with open(path, 'rb') as f:
    while left > 0:
        content = f.read(min(1024, left))
        if not content:
            break
        conn.sendall(content)
        left -= len(content)
conn.close()
if sk is not None:
    sk.close()
