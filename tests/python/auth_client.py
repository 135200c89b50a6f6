"""demo4 prover: answers the 32-byte challenge with HMAC-MD5(key, challenge)."""
import argparse
import hmac
import socket

from seedlib import recv_exact

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('key')
args = ap.parse_args()

secret_key = args.key.encode('utf-8')
sk = socket.socket()
sk.settimeout(20)
sk.connect((args.host, args.port))
msg = recv_exact(sk, 32)
h = hmac.new(secret_key, msg, 'md5')
digest = h.digest()
sk.send(digest)
sk.close()
