"""Secure profile peer (docs/protocol.md section 5) on Python's `noiseprotocol` package.

`connect` makes this side the Noise initiator, `listen` the responder. It states LIMIT in its
handshake payload, sends --send-len bytes (or, with --send-stdin, stdin's bytes: an exchange's seed bytes,
e.g. a demo3 upload or framed commands) as records of at most the peer's limit, then
close_notify (and, with --junk-after-close, one more record in the same write); it reads until
the peer's close_notify and prints `peer_limit N` and `received HEX` on stdout.
Exit codes as the section says: 5 for a failed handshake tag (or a refusal), 1 for any other
failure, 0 when both close_notifys went through.
"""
import argparse
import hashlib
import hmac
import socket
import struct
import sys

from noise.connection import NoiseConnection
from noise.exceptions import NoiseInvalidMessage
from seedlib import listen

try:
    from cryptography.exceptions import InvalidTag
except ImportError:  # noiseprotocol without the `cryptography` backend
    InvalidTag = NoiseInvalidMessage
# noiseprotocol raises `cryptography`'s InvalidTag for a failed tag in the handshake and its
# own NoiseInvalidMessage in transport: both mean the tag failed.
TAG_FAILED = (NoiseInvalidMessage, InvalidTag)

ap = argparse.ArgumentParser()
ap.add_argument('mode', choices=['connect', 'listen'])
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('service')
ap.add_argument('key', help='the shared key, as its UTF-8 bytes')
ap.add_argument('--limit', type=int, default=65519)
ap.add_argument('--send-len', type=int, default=0,
                help='bytes to send: byte i is (i * 31 + SEED) mod 256')
ap.add_argument('--send-seed', type=int, default=0)
ap.add_argument('--send-stdin', action='store_true',
                help='send the bytes read from stdin (before connecting) instead of --send-len')
ap.add_argument('--junk-after-close', action='store_true',
                help='send one more record right behind close_notify (a protocol error)')
args = ap.parse_args()
STDIN_BYTES = sys.stdin.buffer.read() if args.send_stdin else None


def hkdf_sha256(salt, ikm, info, length):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, i = b'', b'', 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


class Failed(Exception):
    def __init__(self, code, why):
        super().__init__(why)
        self.code = code


def recv_exact(sk, n):
    data = b''
    while len(data) < n:
        try:
            chunk = sk.recv(n - len(data))
        except ConnectionResetError:
            # How a peer that refuses (or fails) closes: a reset counts as a close.
            chunk = b''
        if not chunk:
            return None
        data += chunk
    return data


def recv_message(sk, during_handshake):
    head = recv_exact(sk, 2)
    if head is None:
        raise Failed(5 if during_handshake else 1, 'closed without close_notify')
    (length,) = struct.unpack('>H', head)
    body = recv_exact(sk, length)
    if body is None:
        raise Failed(1, 'closed in the middle of a message')
    return body


def send_message(sk, body):
    sk.sendall(struct.pack('>H', len(body)) + body)


def parse_limit(payload):
    if len(payload) != 2:
        raise Failed(1, 'handshake payload of %d bytes' % len(payload))
    (limit,) = struct.unpack('>H', payload)
    if not 64 <= limit <= 65519:
        raise Failed(1, 'limit %d out of range' % limit)
    return limit


def session(sk, initiator):
    key = args.key.encode('utf-8')
    if len(key) < 16:
        raise Failed(2, 'key shorter than 16 bytes (use `wirekit keygen`)')
    noise = NoiseConnection.from_name(b'Noise_NNpsk0_25519_ChaChaPoly_SHA256')
    noise.set_psks(hkdf_sha256(b'wirekit secure v1', key, b'psk', 32))
    noise.set_prologue(b'wirekit/1 ' + args.service.encode('ascii'))
    if initiator:
        noise.set_as_initiator()
    else:
        noise.set_as_responder()
    noise.start_handshake()
    ours = struct.pack('>H', args.limit)
    try:
        if initiator:
            send_message(sk, noise.write_message(ours))
            peer_limit = parse_limit(noise.read_message(recv_message(sk, True)))
        else:
            peer_limit = parse_limit(noise.read_message(recv_message(sk, True)))
            send_message(sk, noise.write_message(ours))
    except TAG_FAILED:
        raise Failed(5, 'handshake tag failed')
    print('peer_limit %d' % peer_limit, flush=True)

    if STDIN_BYTES is not None:
        data = STDIN_BYTES
    else:
        data = bytes((i * 31 + args.send_seed) & 0xff for i in range(args.send_len))
    for at in range(0, len(data), peer_limit):
        send_message(sk, noise.encrypt(data[at:at + peer_limit]))
    close = noise.encrypt(b'')
    if args.junk_after_close:
        junk = noise.encrypt(b'after close')
        sk.sendall(struct.pack('>H', len(close)) + close + struct.pack('>H', len(junk)) + junk)
    else:
        send_message(sk, close)

    received = b''
    while True:
        body = recv_message(sk, False)
        if len(body) > args.limit + 16:
            raise Failed(1, 'record over our limit')
        try:
            plain = noise.decrypt(body)
        except TAG_FAILED:
            raise Failed(1, 'record tag failed')
        if not plain:
            break
        received += plain
    sk.settimeout(2)
    try:
        if sk.recv(1):
            raise Failed(1, 'data after close_notify')
    except socket.timeout:
        pass
    print('received %s' % received.hex(), flush=True)


def main():
    if args.mode == 'connect':
        sk = socket.create_connection((args.host, args.port), timeout=20)
    else:
        server = listen(args.host, args.port)
        server.settimeout(20)
        sk, _ = server.accept()
        sk.settimeout(20)
    try:
        session(sk, args.mode == 'connect')
    except Failed as e:
        print('error: %s' % e, file=sys.stderr, flush=True)
        sys.exit(e.code)
    finally:
        sk.close()


main()
