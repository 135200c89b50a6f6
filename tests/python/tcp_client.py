"""Seed TCP basics, client side."""
import argparse
import socket

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
args = ap.parse_args()

sk = socket.socket()
sk.settimeout(20)
sk.connect((args.host, args.port))

sk.send('hello'.encode('utf-8'))
msg = sk.recv(1024)
print(msg.decode('utf-8'), flush=True)

sk.send('吃了吗?'.encode('utf-8'))
msg = sk.recv(1024)
print(msg.decode('utf-8'), flush=True)

sk.close()
