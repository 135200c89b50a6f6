"""demo3 receiver: reads the header, writes head['filename'] into DIR (the seed: its cwd)."""
import argparse
import json
import os
import socket
import struct
import sys

from seedlib import listen, recv_exact

ap = argparse.ArgumentParser()
ap.add_argument('mode', choices=['listen', 'connect'])
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('dir')
args = ap.parse_args()

if args.mode == 'listen':
    sk = listen(args.host, args.port)
    conn, addr = sk.accept()
else:
    sk = None
    conn = socket.socket()
    conn.connect((args.host, args.port))
conn.settimeout(20)

head_len = struct.unpack('i', recv_exact(conn, 4))[0]
head = json.loads(recv_exact(conn, head_len).decode('utf-8'))
filesize = head['filesize']
got = 0
with open(os.path.join(args.dir, head['filename']), 'wb') as f:
    while filesize > 0:
        content = conn.recv(1024)
        if not content:
            break
        f.write(content)
        filesize -= len(content)
        got += len(content)
conn.close()
print('%s %d' % (head['filename'], got), flush=True)
if filesize != 0:
    sys.exit('short file: %d of %d bytes' % (got, head['filesize']))
