"""Seed UDP basics, client side."""
import argparse
import socket

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('message', nargs='?', default='hello')
args = ap.parse_args()

sk = socket.socket(type=socket.SOCK_DGRAM)
sk.settimeout(20)
sk.sendto(args.message.encode('utf-8'), (args.host, args.port))
msg, addr = sk.recvfrom(65536)
print(msg.decode('utf-8'), flush=True)
sk.close()
