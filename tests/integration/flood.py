#!/usr/bin/python3
#
# Floods against all of syncd's listeners at once (flood.sh): ten
# thousand connections, slowloris clients, and everything oversized.
# What nntp_flood.py covers on the NNTP listener alone (idle connections,
# a reader that never reads, an article that never ends) is not repeated.
# Prints TAP.
#
#   flood.py SYNCD-PID NNTP LMTP SMTP HTTP SINK-DIR NEWS-DIR TIMEOUT
#
# SINK-DIR is where smtp-sink writes what syncd delivers to the list by
# LMTP, NEWS-DIR the news side's Maildir; TIMEOUT the longest of the
# listeners' idle timeouts.

import os
import select
import socket
import sys
import time

pid = int(sys.argv[1])
nntp_port, lmtp_port, smtp_port, http_port = (int(a) for a in sys.argv[2:6])
sink_dir, news_dir = sys.argv[6:8]
timeout = int(sys.argv[8])
GW = b"gateway+test@gw.test.example"
CONNECTIONS = int(os.environ.get("FLOOD_CONNECTIONS", "10000"))
n = 0
failed = 0


def ok(cond, what, detail=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1
        if detail is not None:
            for line in str(detail).splitlines()[:10]:
                print("#   " + line)
    sys.stdout.flush()


class Conn:
    """A plain socket with line reading, for the dialogues below."""

    def __init__(self, port, wait=10):
        self.s = socket.create_connection(("127.0.0.1", port), wait)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.s.recv(65536)
            if not data:
                line, self.buf = self.buf, b""
                return line
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        """An SMTP reply, multiline joined."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3:4] == b"-":
            lines.append(self.line())
        return lines[-1][:3], b"\n".join(lines)

    def send(self, data):
        self.s.sendall(data)

    def close(self):
        self.s.close()


def nntp_served():
    c = Conn(nntp_port)
    greeting = c.line()
    c.send(b"DATE\r\n")
    answer = c.line()
    c.close()
    return greeting.startswith(b"200") and answer.startswith(b"111"), \
        (greeting, answer)


def mail_served(port, lmtp, msgid=None):
    """A session to its end; with msgid, one message delivered."""
    c = Conn(port)
    out = [c.reply()]
    c.send((b"LHLO" if lmtp else b"EHLO") + b" mx.test.example\r\n")
    out.append(c.reply())
    if msgid is not None:
        c.send(b"MAIL FROM:<pirates-test-bounces@lists.test.example>\r\n"
               b"RCPT TO:<" + GW + b">\r\nDATA\r\n")
        out += [c.reply(), c.reply(), c.reply()]
        c.send(b"From: Flood <flood@example.org>\r\n"
               b"To: pirates-test@lists.test.example\r\n"
               b"Subject: through the flood\r\n"
               b"Message-ID: " + msgid + b"\r\n"
               b"List-Id: <pirates-test.lists.test.example>\r\n"
               b"\r\nHello.\r\n.\r\n")
        out.append(c.reply())
    c.send(b"QUIT\r\n")
    out.append(c.reply())
    c.close()
    codes = [o[0] for o in out]
    want = [b"220", b"250"] + ([b"250", b"250", b"354", b"250"]
                               if msgid else []) + [b"221"]
    return codes == want, out


def http_get(path, extra=b""):
    c = Conn(http_port)
    try:
        c.send(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + extra +
               b"Connection: close\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        # An oversized request may be answered and closed before it is
        # all sent: what came back is the answer.
        pass
    try:
        status = c.line()
    except ConnectionResetError:
        status = b""
    c.close()
    return status


def http_served():
    status = http_get(b"/metrics")
    return status.startswith(b"HTTP/1.1 200"), status


def all_served(what):
    for name, fn in (("NNTP", nntp_served),
                     ("SMTP", lambda: mail_served(smtp_port, False)),
                     ("LMTP", lambda: mail_served(lmtp_port, True)),
                     ("HTTP", http_served)):
        start = time.time()
        try:
            good, detail = fn()
        except OSError as e:
            good, detail = False, e
        took = time.time() - start
        ok(good and took < 5, "%s is served %s" % (name, what),
           "%r in %.1fs" % (detail, took))


def files_with(d, needle):
    found = 0
    for root, _, names in os.walk(d):
        for name in names:
            try:
                with open(os.path.join(root, name), "rb") as f:
                    if needle in f.read():
                        found += 1
            except OSError:
                pass
    return found


def wait(pred, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


# Ten thousand connections, spread over the four listeners, opened a
# thousand at a time without waiting for each (non-blocking), so that
# none of them sits idle long enough meanwhile to meet a timeout.
ports = (nntp_port, smtp_port, lmtp_port, http_port)
held = []
start = time.time()
waiting = bad = 0
try:
    while len(held) < CONNECTIONS and time.time() - start < 30:
        batch = []
        for i in range(len(held), min(len(held) + 1000, CONNECTIONS)):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", ports[i % 4]))
            batch.append(s)
        p = select.poll()
        for s in batch:
            p.register(s, select.POLLOUT)
        waiting = len(batch)
        while waiting and time.time() - start < 30:
            for fd, ev in p.poll(1000):
                p.unregister(fd)
                waiting -= 1
        bad += sum(1 for s in batch if s.getsockopt(
            socket.SOL_SOCKET, socket.SO_ERROR) != 0)
        held += batch
    ok(len(held) == CONNECTIONS and waiting == 0 and bad == 0,
       "%d connections are open at once (%.1fs)" %
       (CONNECTIONS, time.time() - start), "%d opened, %d pending, %d failed"
       % (len(held), waiting, bad))
except OSError as e:
    ok(False, "%d connections are open at once" % CONNECTIONS,
       "%d, then %s" % (len(held), e))


def syncd_fds():
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


wait(lambda: syncd_fds() > CONNECTIONS, 10)
fds = syncd_fds()
ok(fds > CONNECTIONS, "syncd holds them all (%d descriptors)" % fds)
all_served("beside them, on descriptors above 1024")
# A message in by LMTP goes out by LMTP to smtp-sink and to the news side,
# from a syncd whose every new socket is numbered above 1024.
try:
    good, detail = mail_served(lmtp_port, True, b"<flood-1@example.org>")
except OSError as e:
    good, detail = False, e
ok(good, "list mail is taken while they are open", detail)
c = Conn(nntp_port)
c.line()
c.send(b"POST\r\n")
c.line()
c.send(b"From: Flood <flood@example.org>\r\nNewsgroups: pirates.de.test\r\n"
       b"Subject: posted through the flood\r\n"
       b"Message-ID: <flood-2@example.org>\r\n\r\nHello.\r\n.\r\n")
answer = c.line()
c.close()
ok(answer.startswith(b"240"), "a news post is taken while they are open",
   answer)
ok(wait(lambda: files_with(sink_dir, b"<flood-2@example.org>") == 1, 30),
   "the post reaches the list's LMTP server (smtp-sink) meanwhile")
ok(wait(lambda: files_with(news_dir, b"<flood-1@example.org>") == 1, 30),
   "the list mail reaches the news side meanwhile")
for s in held:
    s.close()
held = []
ok(wait(lambda: syncd_fds() < 200, 20),
   "syncd lets go of them when they close (%d left)" % syncd_fds())
all_served("after them")


# Slowloris: on each listener, connections that send one byte of a
# never-ending line every second.  Others are served meanwhile, and the
# timeouts end them all.
SLOW = 50
lines = {nntp_port: b"GROUP " + b"a" * 400,
         smtp_port: b"HELO " + b"b" * 400,
         lmtp_port: b"LHLO " + b"c" * 400,
         http_port: b"GET / HTTP/1.1\r\nX-Slow: " + b"d" * 400}
slow = []
for port, text in lines.items():
    for i in range(SLOW):
        s = socket.create_connection(("127.0.0.1", port), 10)
        s.setblocking(False)
        slow.append([s, port, text, 0, None])
start = time.time()
checked = False
while time.time() - start < timeout + 15:
    alive = [c for c in slow if c[4] is None]
    if not alive:
        break
    for c in alive:
        s = c[0]
        # What it was told (a greeting, a closing reply) is read and
        # dropped; an end of file or a reset is the end of it.
        try:
            while True:
                r, _, _ = select.select([s], [], [], 0)
                if not r:
                    break
                if not s.recv(65536):
                    c[4] = time.time() - start
                    break
        except OSError:
            c[4] = time.time() - start
        if c[4] is not None:
            continue
        try:
            s.send(c[2][c[3]:c[3] + 1])
            c[3] += 1
        except OSError:
            c[4] = time.time() - start
    if not checked and time.time() - start > 3:
        checked = True
        all_served("while %d slowloris clients trickle" % (SLOW * 4))
    time.sleep(1)
for port, name in ((nntp_port, "NNTP"), (smtp_port, "SMTP"),
                   (lmtp_port, "LMTP"), (http_port, "HTTP")):
    ends = [c[4] for c in slow if c[1] == port]
    left = sum(1 for e in ends if e is None)
    ok(left == 0, "%s drops its slowloris clients within the timeout"
       " (latest after %.0fs)" % (name, max(e or 0 for e in ends)),
       "%d of %d still open after %ds" % (left, SLOW, timeout + 15))
for c in slow:
    c[0].close()

# Oversized everything: each gets its protocol's error, and the daemon
# serves the next client.
MB = 1024 * 1024


def nntp_session():
    c = Conn(nntp_port, 30)
    c.line()
    return c


c = nntp_session()
c.send(b"GROUP " + b"x" * MB + b"\r\nDATE\r\n")
first, second = c.line(), c.line()
ok(first.startswith(b"501") and second.startswith(b"111"),
   "NNTP: a 1 MB command line gets 501, and the session goes on",
   (first[:80], second[:80]))
c.close()


def nntp_post(article, what):
    c = nntp_session()
    c.send(b"POST\r\n")
    go = c.line()
    c.send(article + b".\r\n")
    answer = c.line()
    c.send(b"DATE\r\n")
    date = c.line()
    c.close()
    ok(go.startswith(b"340") and answer.startswith(b"441") and
       date.startswith(b"111"), "NNTP: %s is refused with 441, and the"
       " session goes on" % what, (go, answer, date))


HEAD = (b"From: Flood <flood@example.org>\r\nNewsgroups: pirates.de.test\r\n"
        b"Subject: big\r\n")
nntp_post(HEAD + b"\r\n" + b"y" * MB + b"\r\n", "an article with a 1 MB line")
nntp_post(HEAD + b"".join(b"X-Field-%d: z\r\n" % i for i in range(5000)) +
          b"\r\nbody\r\n", "an article with 5000 header fields")
nntp_post(HEAD + b"X-Long: " + b"h" * (200 * 1024) + b"\r\n\r\nbody\r\n",
          "an article with a 200 KB header field")
nntp_post(HEAD + b"\r\n" + (b"w" * 76 + b"\r\n") * (3 * MB // 78),
          "an article over max-message-size")

c = Conn(smtp_port, 30)
c.reply()
c.send(b"EHLO " + b"x" * MB + b"\r\nNOOP\r\n")
first, second = c.reply(), c.reply()
ok(first[0] == b"500" and b"5.5.2" in first[1] and second[0] == b"250",
   "SMTP: a 1 MB command line gets 500 5.5.2, and the session goes on",
   (first[1][:80], second))
c.close()


def smtp_data(data, what, code):
    c = Conn(lmtp_port, 30)
    c.reply()
    c.send(b"LHLO mx.test.example\r\n")
    c.reply()
    c.send(b"MAIL FROM:<pirates-test-bounces@lists.test.example>\r\n"
           b"RCPT TO:<" + GW + b">\r\nDATA\r\n")
    replies = [c.reply(), c.reply(), c.reply()]
    c.send(data + b".\r\nNOOP\r\n")
    answer, noop = c.reply(), c.reply()
    c.close()
    ok([r[0] for r in replies] == [b"250", b"250", b"354"] and
       answer[0] == code and noop[0] == b"250",
       "LMTP: %s gets %s, and the session goes on" % (what, code.decode()),
       (replies, answer, noop))


MHEAD = (b"From: Flood <flood@example.org>\r\nSubject: big\r\n"
         b"List-Id: <pirates-test.lists.test.example>\r\n")
smtp_data(MHEAD + b"\r\n" + b"y" * MB + b"\r\n", "a message with a 1 MB line",
          b"554")
smtp_data(MHEAD + b"".join(b"X-Field-%d: z\r\n" % i for i in range(5000)) +
          b"\r\nbody\r\n", "a message with 5000 header fields", b"554")

status = http_get(b"/" + b"u" * MB)
ok(status[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 414", b"HTTP/1.1 413")
   or status == b"",
   "HTTP: a 1 MB request line is refused", status)
status = http_get(b"/metrics", b"X-Big: " + b"v" * (64 * 1024) + b"\r\n")
ok(status[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 413", b"HTTP/1.1 431"),
   "HTTP: a 64 KB header block is refused", status)
c = Conn(http_port, 30)
body = b"b=" + b"q" * (2 * MB)
try:
    c.send(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Type: "
           b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
           b"\r\n" % len(body) + body)
except OSError:
    pass
status = c.line()
c.close()
ok(status.startswith(b"HTTP/1.1 413"), "HTTP: a 2 MB body gets 413", status)
all_served("after the oversized input")
ok(os.path.exists("/proc/%d" % pid), "syncd lives")
print("1..%d" % n)
sys.exit(1 if failed else 0)
