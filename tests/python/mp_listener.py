"""CPython multiprocessing.connection Listener: handshake with authkey (if given), then answer
each recv_bytes with the next reply (the last one repeats) until the client closes.

Exits 2 when the client fails authentication.
"""
import argparse
import sys
from multiprocessing.connection import Listener
from multiprocessing import AuthenticationError

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('--key')
ap.add_argument('--reply', action='append')
args = ap.parse_args()

replies = args.reply or ['hi', '吃了']
authkey = args.key.encode('utf-8') if args.key is not None else None
with Listener((args.host, args.port), authkey=authkey) as listener:
    print('listening on %s:%d' % listener.address[:2], file=sys.stderr, flush=True)
    try:
        conn = listener.accept()
    except AuthenticationError as e:
        print('authentication failed: %s' % e, flush=True)
        sys.exit(2)
    print('legit client', flush=True)
    n = 0
    with conn:
        while True:
            try:
                msg = conn.recv_bytes()
            except EOFError:
                break
            print(msg.decode('utf-8'), flush=True)
            conn.send_bytes(replies[min(n, len(replies) - 1)].encode('utf-8'))
            n += 1
