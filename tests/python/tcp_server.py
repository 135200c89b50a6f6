"""Seed TCP basics, server side: hello -> hi, 吃了吗? -> 吃了."""
import argparse

from seedlib import listen

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
args = ap.parse_args()

sk = listen(args.host, args.port)
conn, addr = sk.accept()

msg = conn.recv(1024)
print(msg.decode('utf-8'), flush=True)
conn.send('hi'.encode('utf-8'))

msg = conn.recv(1024)
print(msg.decode('utf-8'), flush=True)
conn.send('吃了'.encode('utf-8'))

conn.close()
sk.close()
