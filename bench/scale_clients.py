"""N concurrent seed-recipe file senders, for bench/scale.sh.

Each client connects, answers the server's demo4 challenge (32 bytes in, HMAC-MD5(key) out,
as the seed's client does), then sends one demo3 file: struct.pack('i', len(head)) +
json.dumps(head) + the body, under its own name (client-00042.bin). All N connections are
opened before any of them sends, so the server really holds N at once (up to its
--max-connections; the rest wait in its backlog). Prints one line: `ok FAILED seconds`.
"""
import argparse
import asyncio
import hmac
import json
import struct
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('clients', type=int)
ap.add_argument('path', help='the body every client sends')
ap.add_argument('--key', default='egg')
ap.add_argument('--timeout', type=float, default=120)
args = ap.parse_args()

with open(args.path, 'rb') as f:
    BODY = f.read()
KEY = args.key.encode()


async def client(i, connected, go):
    reader, writer = await asyncio.open_connection(args.host, args.port)
    connected.release()
    await go.wait()
    challenge = await reader.readexactly(32)
    writer.write(hmac.new(KEY, challenge, 'md5').digest())
    head = json.dumps({'filename': 'client-%05d.bin' % i, 'filepath': '/bench',
                       'filesize': len(BODY)}).encode()
    writer.write(struct.pack('i', len(head)) + head)
    writer.write(BODY)
    await writer.drain()
    writer.write_eof()
    # The receiver closes once it has the whole file.
    await reader.read()
    writer.close()


async def main():
    connected = asyncio.Semaphore(0)
    go = asyncio.Event()
    tasks = [asyncio.ensure_future(client(i, connected, go)) for i in range(args.clients)]
    # Wait until every client has a connection (the kernel accepts into the backlog), then go.
    t_connect = time.monotonic()
    for _ in range(args.clients):
        await connected.acquire()
    print('all %d connected in %.3f s' % (args.clients, time.monotonic() - t_connect), file=sys.stderr)
    t0 = time.monotonic()
    go.set()
    done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), args.timeout)
    elapsed = time.monotonic() - t0
    failed = [d for d in done if isinstance(d, BaseException)]
    for err in failed[:5]:
        print('client error: %r' % (err,), file=sys.stderr)
    print('%d %d %.3f' % (len(done) - len(failed), len(failed), elapsed))


asyncio.run(main())
