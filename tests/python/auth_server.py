"""demo4 verifier: sends os.urandom(32), checks HMAC-MD5(key, challenge).

Prints `legit client` / `illegitimate client` (with the seed's Chinese text) and exits 0 / 1.
"""
import argparse
import hmac
import os
import sys

from seedlib import listen

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('key')
args = ap.parse_args()

secret_key = args.key.encode('utf-8')
sk = listen(args.host, args.port)
conn, addr = sk.accept()
conn.settimeout(20)
msg = os.urandom(32)
conn.send(msg)
h = hmac.new(secret_key, msg, 'md5')
digest = h.digest()
client_digest = conn.recv(1024)
ret = hmac.compare_digest(digest, client_digest)
if ret:
    print('合法的客户端 legit client', flush=True)
else:
    print('不合法的客户端 illegitimate client', flush=True)
conn.close()
sk.close()
sys.exit(0 if ret else 1)
