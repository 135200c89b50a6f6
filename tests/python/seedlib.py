"""Small helpers shared by the peers: listening sockets that report their port."""
import socket
import sys


def listen(host, port):
    sk = socket.socket()
    sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sk.bind((host, port))
    sk.listen()
    print('listening on %s:%d' % sk.getsockname()[:2], file=sys.stderr, flush=True)
    return sk


def recv_exact(conn, n):
    """recv until n bytes arrived (the seed's single recv(n) is the same on loopback)."""
    data = b''
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError('peer closed after %d of %d bytes' % (len(data), n))
        data += chunk
    return data
