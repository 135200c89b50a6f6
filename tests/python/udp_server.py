"""Seed UDP basics, server side: answers one datagram with bye."""
import argparse
import socket
import sys

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
args = ap.parse_args()

sk = socket.socket(type=socket.SOCK_DGRAM)
sk.bind((args.host, args.port))
print('listening on %s:%d' % sk.getsockname()[:2], file=sys.stderr, flush=True)

msg, addr = sk.recvfrom(65536)
print(msg.decode('utf-8'), flush=True)
sk.sendto('bye'.encode('utf-8'), addr)

sk.close()
