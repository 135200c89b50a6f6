"""CPython multiprocessing.connection Client: handshake with authkey (if given), then
send_bytes each message and print each recv_bytes reply. Exits 2 when authentication fails."""
import argparse
import sys
from multiprocessing.connection import Client
from multiprocessing import AuthenticationError

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('messages', nargs='*')
ap.add_argument('--key')
args = ap.parse_intermixed_args()

authkey = args.key.encode('utf-8') if args.key is not None else None
try:
    conn = Client((args.host, args.port), authkey=authkey)
except AuthenticationError as e:
    print('authentication failed: %s' % e, flush=True)
    sys.exit(2)
with conn:
    for message in args.messages or ['hello', '吃了吗?']:
        conn.send_bytes(message.encode('utf-8'))
        print(conn.recv_bytes().decode('utf-8'), flush=True)
