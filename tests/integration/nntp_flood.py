#!/usr/bin/python3
#
# Floods against syncd's NNTP server: a thousand idle connections, a
# reader that sends and never reads, an article that never ends.  Each
# gets what it should, and another client is served all along.  Prints
# TAP.  Run by nntp.sh: nntp_flood.py PORT IDLE-TIMEOUT

import socket
import sys
import time

port = int(sys.argv[1])
idle = int(sys.argv[2])
n = 0
failed = 0


def ok(cond, what, detail=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1
        if detail is not None:
            print("#   %s" % detail)
    sys.stdout.flush()


def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s, s.makefile("rb")


def served(what):
    """A fresh client gets its greeting and a DATE answer, quickly."""
    start = time.time()
    try:
        s, f = connect()
        greeting = f.readline()
        s.sendall(b"DATE\r\n")
        answer = f.readline()
        s.close()
        took = time.time() - start
        ok(greeting.startswith(b"200") and answer.startswith(b"111") and
           took < 3, what, "%r %r in %.2fs" % (greeting, answer, took))
    except OSError as e:
        ok(False, what, e)


# A thousand idle connections.
idlers = []
try:
    for i in range(1000):
        idlers.append(connect())
    ok(True, "1000 idle connections are accepted")
except OSError as e:
    ok(False, "1000 idle connections are accepted",
       "%d, then %s" % (len(idlers), e))
served("another client is served beside 1000 idle ones")

# A reader that pipelines and never reads: its output fills, syncd stops
# reading from it, and everyone else is still served.
greedy, gf = connect()
gf.readline()
greedy.sendall(b"GROUP pirates.de.test\r\n" + b"ARTICLE 1\r\n" * 20000)
time.sleep(1)
served("a client is served while another never reads its answers")
# The greedy reader can still read everything it asked for.
greedy.settimeout(30)
got = 0
gf.readline()
while got < 20000:
    line = gf.readline()
    if not line:
        break
    if line.startswith(b"220 "):
        got += 1
ok(got == 20000, "the reader that never read gets all 20000 answers later",
   got)
greedy.close()

# An article that never ends: the idle timeout closes it.
s, f = connect()
f.readline()
s.sendall(b"MODE STREAM\r\n")
f.readline()
s.sendall(b"TAKETHIS <never@example.org>\r\nPath: x\r\nSubject: no end\r\n")
s.settimeout(idle + 10)
start = time.time()
resp = f.readline()
rest = f.readline()
took = time.time() - start
ok(resp.startswith(b"400") and rest == b"" and took < idle + 5,
   "an article that never ends: 400 and closed after the idle timeout",
   "%r %r after %.1fs" % (resp, rest, took))
s.close()

for s, f in idlers:
    s.close()
served("served after the floods")
print("1..%d" % n)
sys.exit(1 if failed else 0)
