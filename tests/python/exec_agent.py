"""Remote command agent (demo1 with --raw, demo2 framed): connects, runs what it is sent.

No authentication, like the seed: this is a test peer, run it only on 127.0.0.1.
"""
import argparse
import socket
import struct
import subprocess

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('--raw', action='store_true', help='demo1: no length prefix')
ap.add_argument('--encoding', default='gbk')
args = ap.parse_args()

sk = socket.socket()
sk.connect((args.host, args.port))
while True:
    cmd = sk.recv(1024).decode(args.encoding)
    if cmd == 'q' or not cmd:
        break
    res = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    std_out = res.stdout.read()
    std_err = res.stderr.read()
    res.wait()
    if not args.raw:
        sk.send(struct.pack('i', len(std_out) + len(std_err)))
    sk.send(std_out)
    sk.send(std_err)
sk.close()
