#!/usr/bin/env python3
"""Known-answer transcripts for wirekit's auth machines, from real CPython.

Run: python3 core/tests/vectors/gen_auth_vectors.py > core/tests/vectors/auth_vectors.txt

Randomness is pinned by replacing os.urandom per thread; every byte each side sends is
recorded (the mp cases hook Connection._send, which send_bytes calls once per frame).

* seed_*: the seed recipe's demo4 (server sends os.urandom(32), client answers
  hmac.new(key, msg, 'md5'), server checks with hmac.compare_digest), over a socketpair.
* mp_legacy_*: the real multiprocessing.connection Listener/Client of this Python (3.11:
  the legacy protocol), over 127.0.0.1.
* mp_py311_answers_modern: the real 3.11 answer_challenge fed a 3.12-style {sha256}
  challenge (it answers a bare HMAC-MD5 over the whole message).
* mp_modern_*: 3.11 has no modern protocol, so these frames are built per docs/protocol.md
  with Python's hmac (the MAC covers the {name} prefix).

Format: "case NAME", then "key HEX", "random SIDE HEX" (that side's urandom bytes),
"send SIDE HEX" in wire order, "result SIDE TEXT", "end".
"""
import hmac
import os
import socket
import struct
import sys
import threading
from multiprocessing import connection as mpc

OUT = []


def emit(*words):
    OUT.append(" ".join(words))


def pinned_urandom(table):
    real = os.urandom

    def urandom(n):
        name = threading.current_thread().name
        data = table.get(name)
        if data is None:
            return real(n)
        assert len(data) == n, (name, n, len(data))
        return data

    return urandom


def frame(payload):
    return struct.pack("!i", len(payload)) + payload


def seed_case(name, server_key, client_key, challenge):
    """demo4, as the seed tutorial writes it."""
    log = []
    a, b = socket.socketpair()
    results = {}

    def server():
        msg = os.urandom(32)
        log.append(("verifier", msg))
        a.sendall(msg)
        digest = hmac.new(server_key, msg, "md5").digest()
        resp = a.recv(1024)
        results["verifier"] = "ok" if hmac.compare_digest(resp, digest) else "rejected"
        a.close()

    def client():
        msg = b.recv(32)
        resp = hmac.new(client_key, msg, "md5").digest()
        log.append(("prover", resp))
        b.sendall(resp)
        results["prover"] = "answered"
        b.close()

    os.urandom = pinned_urandom({"verifier": challenge})
    ts = [threading.Thread(target=server, name="verifier"), threading.Thread(target=client, name="prover")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    emit("case", name)
    emit("key", server_key.hex())
    if client_key != server_key:
        emit("peer_key", client_key.hex())
    emit("random", "verifier", challenge.hex())
    for side, data in log:
        emit("send", side, data.hex())
    for side in ("verifier", "prover"):
        emit("result", side, results[side])
    emit("end")


def mp_case(name, listener_key, client_key, listener_random, client_random):
    """Real Listener.accept / Client (deliver+answer / answer+deliver)."""
    log = []
    lock = threading.Lock()
    real_send = mpc.Connection._send

    def recording_send(self, buf, *args):
        with lock:
            log.append((threading.current_thread().name, bytes(buf)))
        return real_send(self, buf, *args)

    mpc.Connection._send = recording_send
    os.urandom = pinned_urandom({"listener": listener_random, "client": client_random})
    results = {}
    listener = mpc.Listener(("127.0.0.1", 0), authkey=listener_key)

    def serve():
        try:
            conn = listener.accept()
            results["listener"] = "ok"
            conn.close()
        except mpc.AuthenticationError as e:
            results["listener"] = "AuthenticationError: " + str(e)

    def connect():
        try:
            conn = mpc.Client(listener.address, authkey=client_key)
            results["client"] = "ok"
            conn.close()
        except mpc.AuthenticationError as e:
            results["client"] = "AuthenticationError: " + str(e)

    ts = [threading.Thread(target=serve, name="listener"), threading.Thread(target=connect, name="client")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    listener.close()
    mpc.Connection._send = real_send
    emit("case", name)
    emit("key", listener_key.hex())
    if client_key != listener_key:
        emit("peer_key", client_key.hex())
    emit("random", "listener", listener_random.hex())
    emit("random", "client", client_random.hex())
    for side, data in log:
        emit("send", side, data.hex())
    for side in ("listener", "client"):
        emit("result", side, results[side])
    emit("end")


def py311_answers_modern(name, key, random40):
    """The real 3.11 answer_challenge, given a 3.12 {sha256} challenge."""
    a, b = socket.socketpair()
    conn = mpc.Connection(b.detach())
    message = b"{sha256}" + random40
    log = [("verifier", frame(b"#CHALLENGE#" + message))]
    a.sendall(log[0][1])
    real_send = mpc.Connection._send
    sent = []
    mpc.Connection._send = lambda self, buf, *args: (sent.append(bytes(buf)), real_send(self, buf, *args))[1]
    result = {}

    def prover():
        try:
            mpc.answer_challenge(conn, key)
            result["prover"] = "ok"
        except mpc.AuthenticationError as e:
            result["prover"] = "AuthenticationError: " + str(e)

    t = threading.Thread(target=prover, name="prover")
    t.start()
    (n,) = struct.unpack("!i", a.recv(4, socket.MSG_WAITALL))
    answer = a.recv(n, socket.MSG_WAITALL)
    log.append(("prover", frame(answer)))
    welcome = frame(b"#WELCOME#")
    log.append(("verifier", welcome))
    a.sendall(welcome)
    t.join()
    mpc.Connection._send = real_send
    assert sent == [frame(answer)], sent
    assert answer == hmac.new(key, message, "md5").digest()
    emit("case", name)
    emit("key", key.hex())
    emit("random", "verifier", random40.hex())
    for side, data in log:
        emit("send", side, data.hex())
    emit("result", "verifier", "ok")
    emit("result", "prover", result["prover"])
    emit("end")


def modern_case(name, key, digest, random40, prover_key=None):
    """3.12 deliver_challenge(digest_name=digest) answered by 3.12 answer_challenge."""
    prover_key = key if prover_key is None else prover_key
    message = b"{%s}" % digest.encode() + random40
    mac = hmac.new(prover_key, message, digest).digest()
    answer = b"{%s}" % digest.encode() + mac
    ok = hmac.compare_digest(mac, hmac.new(key, message, digest).digest())
    emit("case", name)
    emit("key", key.hex())
    if prover_key != key:
        emit("peer_key", prover_key.hex())
    emit("random", "verifier", random40.hex())
    emit("send", "verifier", frame(b"#CHALLENGE#" + message).hex())
    emit("send", "prover", frame(answer).hex())
    emit("send", "verifier", frame(b"#WELCOME#" if ok else b"#FAILURE#").hex())
    emit("result", "verifier", "ok" if ok else "rejected")
    emit("result", "prover", "ok" if ok else "refused")
    emit("end")


def pattern(n, start):
    return bytes((start + 7 * i) & 0xFF for i in range(n))


def main():
    emit("# generated by core/tests/vectors/gen_auth_vectors.py with Python", sys.version.split()[0])
    seed_case("seed_demo4_egg", b"egg", b"egg", pattern(32, 0x11))
    seed_case("seed_demo4_wrong_key", b"egg", b"spam", pattern(32, 0x22))
    mp_case("mp_legacy_mutual", b"wirekit key", b"wirekit key", pattern(20, 0x33), pattern(20, 0x44))
    mp_case("mp_legacy_wrong_key", b"wirekit key", b"other key", pattern(20, 0x55), pattern(20, 0x66))
    py311_answers_modern("mp_py311_answers_modern", b"wirekit key", pattern(40, 0x77))
    for i, digest in enumerate(["sha256", "sha384", "md5", "sha3_256", "sha3_384"]):
        modern_case("mp_modern_" + digest, b"wirekit key", digest, pattern(40, 0x80 + i))
    modern_case("mp_modern_sha256_wrong_key", b"wirekit key", "sha256", pattern(40, 0x90), b"other key")
    print("\n".join(OUT))


if __name__ == "__main__":
    main()
