#!/usr/bin/python3
#
# tcp_cut.py LISTEN-PORT SERVER-PORT: a TCP relay on loopback that cuts
# the connection once, the way a server that dies mid-answer does.  It
# relays every connection to SERVER-PORT; in the first answer that
# announces an IMAP literal of more than a megabyte ("{N}\r\n"), it
# passes half of the literal on and then closes both sides.  Every later
# connection is relayed whole.  Writes "cut" on stderr when it has cut.
# Ends when its parent test kills it.

import re
import socket
import sys
import threading

LITERAL = re.compile(rb"\{(\d+)\}\r\n")
BIG = 1 << 20

listen_port, server_port = int(sys.argv[1]), int(sys.argv[2])
cut_done = threading.Event()


def pipe(src, dst, watch):
    seen = b""
    left = None         # bytes of the big literal still to pass on
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if watch and not cut_done.is_set():
                if left is None:
                    for m in LITERAL.finditer(seen + data):
                        if int(m.group(1)) > BIG:
                            left = int(m.group(1)) // 2
                    seen = (seen + data)[-32:]
                elif len(data) >= left:
                    dst.sendall(data[:left])
                    cut_done.set()
                    sys.stderr.write("cut\n")
                    sys.stderr.flush()
                    break
                else:
                    left -= len(data)
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(client):
    try:
        server = socket.create_connection(("127.0.0.1", server_port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, server, False),
                     daemon=True).start()
    pipe(server, client, True)
    client.close()
    server.close()


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", listen_port))
ls.listen(16)
while True:
    c, _ = ls.accept()
    threading.Thread(target=relay, args=(c,), daemon=True).start()
