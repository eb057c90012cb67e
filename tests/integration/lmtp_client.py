#!/usr/bin/python3 -W ignore::DeprecationWarning
#
# The LMTP and SMTP dialogue with the real syncd: python's smtplib as the
# MTA, plain sockets for what smtplib will not send (pipelining by hand,
# broken input), nntplib to see what reached the group.  Prints TAP.
# Run by lmtp.sh, which starts syncd: lmtp_client.py LMTP SMTP NNTP

import nntplib
import smtplib
import socket
import sys
import threading
import time

lmtp_port, smtp_port, nntp_port = (int(a) for a in sys.argv[1:4])
n = 0
failed = 0
GW = "gateway+test@gw.test.example"
GW2 = "gateway+technik@gw.test.example"
BOUNCES = "pirates-test-bounces@lists.test.example"
LIST_ID = "List-Id: Pirates test <pirates-test.lists.test.example>"
FOOTER = ("_______________________________________________\r\n"
          "Pirates-test mailing list -- pirates-test@lists.test.example\r\n"
          "To unsubscribe send an email to"
          " pirates-test-leave@lists.test.example\r\n")


def ok(cond, what, detail=None):
    global n, failed
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what))
    if not cond:
        failed += 1
        if detail is not None:
            for line in str(detail).splitlines():
                print("#   " + line)
    sys.stdout.flush()


def message(msgid, subject="[Pirates-test] hello", extra="", body="Hello.\r\n"):
    head = "From: Alice <alice@example.org>\r\nTo: pirates-test@lists.test.example\r\n"
    if subject is not None:
        head += "Subject: %s\r\n" % subject
    if msgid is not None:
        head += "Message-ID: %s\r\n" % msgid
    head += "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n" + LIST_ID + "\r\n" + extra
    return (head + "\r\n" + body).encode()


def lmtp():
    c = smtplib.LMTP("127.0.0.1", lmtp_port)
    c.ehlo("mx.test.example")
    return c


def nntp():
    return nntplib.NNTP("127.0.0.1", nntp_port)


def article(msgid):
    try:
        return b"\r\n".join(nntp().article(msgid)[1].lines).decode("utf-8", "replace")
    except nntplib.NNTPError as e:
        return "ERROR " + str(e)


class Raw:
    """A plain connection, for what smtplib cannot send."""

    def __init__(self, port, src="127.0.0.1", rcvbuf=None, timeout=10):
        self.s = socket.socket()
        if rcvbuf is not None:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(timeout)
        self.s.bind((src, 0))
        self.s.connect(("127.0.0.1", port))
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        """One reply, multiline joined: (code, [lines])."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    return (None, lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return (int(line[:3]), lines)

    def close(self):
        self.s.close()


# An idle connection, opened first and checked last.
idle = Raw(lmtp_port)
idle_greeting = idle.reply()
idle_start = time.time()

# Too many connections from one address, while the idle one is surely
# open (smtp-idle-timeout is 10 s; later on a slow machine it may not be).
conns = [Raw(lmtp_port) for _ in range(5)]
codes = [x.reply()[0] for x in conns]
ok(codes.count(421) == 1 and codes.count(220) == 4,
   "the fifth connection from an address (an idle one is open) gets 421", codes)
# Each ended by syncd (QUIT, or the 421) before anything else connects.
for x, code in zip(conns, codes):
    if code == 220:
        x.send(b"QUIT\r\n")
        x.reply()
    x.reply()
    x.close()

# Greeting and LHLO.
r = Raw(lmtp_port)
code, lines = r.reply()
ok(code == 220 and "LMTP" in lines[0], "LMTP greets with 220", lines)
r.send(b"EHLO mx.test.example\r\n")
code, lines = r.reply()
ok(code == 500 and "5.5.1" in lines[0], "LMTP refuses EHLO (RFC 2033: LHLO)", lines)
r.send(b"LHLO mx.test.example\r\n")
code, lines = r.reply()
caps = [l[4:] for l in lines]
ok(code == 250, "LHLO is answered 250", lines)
for cap in ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"):
    ok(cap in caps, "LHLO offers " + cap, caps)
ok("SIZE 62914560" in caps, "SIZE gives max-message-size", caps)

# Order of commands.
r.send(b"RCPT TO:<" + GW.encode() + b">\r\n")
code, lines = r.reply()
ok(code == 503 and lines[0].startswith("503 5.5.1"), "RCPT before MAIL: 503 5.5.1", lines)
r.send(b"MAIL FROM:<" + BOUNCES.encode() + b"> SIZE=99999999999\r\n")
code, lines = r.reply()
ok(code == 552 and "5.3.4" in lines[0], "MAIL with SIZE over the limit: 552 5.3.4", lines)
r.send(b"MAIL FROM:<" + BOUNCES.encode() + b"> FROB=1\r\n")
code, lines = r.reply()
ok(code == 555, "an unknown MAIL parameter: 555", lines)
r.send(b"MAIL FROM:<" + BOUNCES.encode() + b"> BODY=8BITMIME\r\n")
code, lines = r.reply()
ok(code == 250 and "2.1.0" in lines[0], "MAIL with BODY=8BITMIME: 250 2.1.0", lines)
r.send(b"DATA\r\n")
code, lines = r.reply()
ok(code == 503, "DATA without a recipient: 503", lines)
r.send(b"RCPT TO:<somebody@elsewhere.example>\r\n")
code, lines = r.reply()
ok(code == 550 and "5.1.1" in lines[0], "a relay attempt: 550 5.1.1", lines)
# The usual relay tests: forms of a foreign address that a careless
# server takes for its own.  Each is refused.
RELAY = [
    "somebody%elsewhere.example@gw.test.example",
    '"somebody@elsewhere.example"@gw.test.example',
    "elsewhere.example!somebody@gw.test.example",
    "@gw.test.example:somebody@elsewhere.example",
    "somebody@elsewhere.example@gw.test.example",
    "somebody@[127.0.0.1]",
    "gateway+test@elsewhere.example",
    "gateway+test%elsewhere.example@gw.test.example",
    "somebody@elsewhere.example.",
    "SOMEBODY@ELSEWHERE.EXAMPLE",
    "somebody@gw.test.example",
]


def relay_refused(send, proto):
    for rcpt in RELAY:
        code, text = send(rcpt)
        ok(code is not None and code // 100 == 5,
           "%s refuses to relay to <%s>" % (proto, rcpt), (code, text))


# On a session of their own: each counts as an error, and a session
# with too many errors is closed.
rl = Raw(lmtp_port)
rl.reply()
rl.send(b"LHLO mx.test.example\r\nMAIL FROM:<" + BOUNCES.encode() + b">\r\n")
rl.reply()
rl.reply()


def lmtp_rcpt(rcpt):
    rl.send(b"RCPT TO:<" + rcpt.encode() + b">\r\n")
    return rl.reply()


relay_refused(lmtp_rcpt, "LMTP")
rl.close()
r.send(b"RCPT TO:<pirates-test@lists.test.example>\r\n")
code, lines = r.reply()
ok(code == 550, "the list's own address is no gateway address: 550", lines)
r.send(b"VRFY gateway\r\n")
code, lines = r.reply()
ok(code == 252, "VRFY: 252", lines)
r.send(b"X" * 600 + b"\r\n")
code, lines = r.reply()
ok(code == 500 and "5.5.2" in lines[0], "a command line over 512 octets: 500 5.5.2", lines)
r.send(b"NOOP\0x\r\n")
code, lines = r.reply()
ok(code == 500, "a NUL byte in a command: 500", lines)
r.send(b"STARTTLS\r\n")
code, lines = r.reply()
ok(code == 502, "STARTTLS is not offered: 502", lines)
r.send(b"RSET\r\n")
code, lines = r.reply()
ok(code == 250, "RSET: 250", lines)

# Pipelining by hand: everything in one write, the replies in order.
msg = message("<pipe@example.org>").replace(b"\r\n.", b"\r\n..")
r.send(b"MAIL FROM:<" + BOUNCES.encode() + b">\r\nRCPT TO:<" + GW.encode() +
       b">\r\nRCPT TO:<nobody@gw.test.example>\r\nRCPT TO:<" + GW2.encode() +
       b">\r\nDATA\r\n" + msg + b".\r\nNOOP\r\n")
codes = [r.reply()[0] for _ in range(5)]
ok(codes == [250, 250, 550, 250, 354], "pipelined MAIL, RCPT x3, DATA answered in order", codes)
answers = [r.reply() for _ in range(2)]
ok([a[0] for a in answers] == [250, 250], "LMTP answers each accepted recipient", answers)
# Both recipients' copies are the same message: the workers run the two
# jobs in parallel, so either may be the one that stores it.
texts = sorted(a[1][0] for a in answers)
ok(sum("already here" in t for t in texts) == 1, "one copy is stored, the other is already here", answers)
ok(sum("stored for channel" in t for t in texts) == 1, "the stored copy names its channel", answers)
ok(r.reply()[0] == 250, "the NOOP sent behind the data is answered after them")
r.send(b"QUIT\r\n")
code, lines = r.reply()
ok(code == 221, "QUIT: 221", lines)
r.close()

# A client that sends without reading: more replies than the socket
# takes wait in syncd (which then stops reading), and all come out, in
# order, once the client reads.  HELP's reply is long, and a small
# receive buffer keeps the socket from taking them all (checked by hand
# with strace: syncd's write event is used some times).  Sent from a
# thread, as syncd stops taking commands while its replies are not read.
r = Raw(lmtp_port, rcvbuf=4096, timeout=60)
r.reply()
HELPS = 100000
sender = threading.Thread(target=r.send, args=(b"LHLO test\r\n" +
                                               b"HELP\r\n" * HELPS +
                                               b"QUIT\r\n",), daemon=True)
sender.start()
time.sleep(1)
codes = [r.reply()[0] for _ in range(HELPS + 2)]
sender.join(60)
ok(codes[0] == 250 and codes[-1] == 221 and
   len(set(codes[1:-1])) == 1 and codes[1] // 100 == 2,
   "%d pipelined HELPs to a client that reads late: every reply, in order" % HELPS,
   [c for c in codes if c != codes[1]][:5])
r.close()

# smtplib as the MTA: a Mailman-style delivery, cleaned on the way in.
c = lmtp()
refused = c.sendmail(BOUNCES, [GW, "nobody@gw.test.example"],
                     message("<clean@example.org>", "[Pirates-test] AW: Treffen",
                             "X-Mailman-Version: 3.3.8\r\nPrecedence: list\r\n"
                             "List-Post: <mailto:pirates-test@lists.test.example>\r\n",
                             "Bis Mittwoch.\r\n\r\n" + FOOTER))
ok(list(refused) == ["nobody@gw.test.example"], "smtplib: the unknown recipient refused, the gateway took it", refused)
a = article("<clean@example.org>")
ok("Subject: Re: Treffen" in a, "in the group: tag gone, AW: became Re:", a)
ok("Bis Mittwoch." in a and "unsubscribe" not in a, "the footer is gone, the text is there", a)
ok("X-Mailman-Version" not in a and "List-Post" not in a and "Precedence" not in a,
   "list and transport fields are gone", a)
ok("List-Id: Pirates test <pirates-test.lists.test.example>" in a, "List-Id stays", a)
ok("Message-ID: <clean@example.org>" in a, "the original Message-ID", a)

# The same message again: accepted, stored once.
refused = c.sendmail(BOUNCES, [GW], message("<clean@example.org>"))
ok(refused == {}, "a second delivery is accepted", refused)
g = nntp().group("pirates.de.test")
before = g[1]

# Repairs: no Message-ID, no Date, 8-bit Subject in Latin-1.
raw = ("From: Bob <bob@example.org>\r\n" + LIST_ID + "\r\n"
       "Subject: [Pirates-test] Gr\xfc\xdfe\r\n\r\nBody.\r\n").encode("latin-1")
refused = c.sendmail(BOUNCES, [GW], raw)
ok(refused == {}, "a message without Message-ID and Date is accepted", refused)
news = nntp()
g = news.group("pirates.de.test")
ok(g[1] == before + 1, "and stored", g)
a = b"\r\n".join(news.article(g[3])[1].lines).decode("utf-8", "replace")
ok("Message-ID: <" in a and ".syncd@gw.test.example>" in a, "it got a Message-ID of ours", a)
ok("\r\nDate: " in a, "and a Date", a)
subj = [l for l in a.split("\r\n") if l.startswith("Subject:")]
ok(subj and "=?UTF-8?" in subj[0] and "Pirates-test" not in subj[0],
   "the Latin-1 subject is encoded, the tag gone", subj)
c.quit()

# What is not gated: a cancel, a blacklisted sender.  Accepted (a bounce
# would count against the gateway's subscription), not stored.
c = lmtp()
refused = c.sendmail(BOUNCES, [GW], message("<cancel@example.org>", "cmsg cancel",
                                           "Control: cancel <clean@example.org>\r\n"))
ok(refused == {}, "a control message is taken", refused)
refused = c.sendmail(BOUNCES, [GW], message("<troll@example.org>").replace(
    b"alice@example.org", b"troll@example.org"))
ok(refused == {}, "a blacklisted sender's mail is taken", refused)
# Our own post, as the list distributes it back to us.
code, reply = c.mail(BOUNCES)[0], None
c.rcpt(GW)
code, reply = c.data(message("<ours@example.org>", extra="X-Syncom-Gateway: gw.test.example\r\n"))
ok(code == 250 and b"came from us" in reply, "list mail with our gateway header is a loop: 250, not gated", reply)
# A bounce of our own mail to the list comes from the null sender.
refused = c.sendmail("", [GW], message("<dsn@example.org>", "Undelivered Mail",
                                       "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n",
                                       "--x\r\n\r\nno such list\r\n--x--\r\n"))
ok(refused == {}, "a bounce (null sender) is taken", refused)
for m in ("<cancel@example.org>", "<troll@example.org>", "<dsn@example.org>",
          "<ours@example.org>"):
    ok(article(m).startswith("ERROR 430"), "and not stored: " + m)
ok(article("<clean@example.org>").startswith("Path:"), "the cancel cancelled nothing")

# Not a message: refused with the reason, nothing stored.
try:
    c.sendmail(BOUNCES, [GW], b"From: a@example.org\r\nno colon here\r\n\r\nb\r\n")
    ok(False, "a broken header is refused")
except smtplib.SMTPDataError as e:
    ok(e.smtp_code == 554 and b"5.6.0" in e.smtp_error, "a broken header: 554 5.6.0", e)
c.quit()

# SMTP smuggling: "\n.\n" does not end the data.
r = Raw(lmtp_port)
r.reply()
r.send(b"LHLO mx\r\nMAIL FROM:<" + BOUNCES.encode() + b">\r\nRCPT TO:<" + GW.encode() +
       b">\r\nDATA\r\n")
codes = [r.reply()[0] for _ in range(4)]
r.send(message("<smuggle1@example.org>") + b"\n.\nMAIL FROM:<x@example.org>\n"
       b"RCPT TO:<" + GW.encode() + b">\nDATA\nMessage-ID: <smuggle2@example.org>\n\n"
       b"smuggled\n\r\n.\r\n")
code, lines = r.reply()
ok(code == 250, "a bare LF dot is data, the message ends at CRLF.CRLF", lines)
r.send(b"NOOP\r\n")
ok(r.reply()[0] == 250, "the session goes on")
ok(article("<smuggle2@example.org>").startswith("ERROR 430"), "no second message was smuggled in")
r.close()

# Too big: read to the end, then 552 for each recipient.
r = Raw(lmtp_port)
r.reply()
r.send(b"LHLO mx\r\nMAIL FROM:<" + BOUNCES.encode() + b">\r\nRCPT TO:<" + GW.encode() +
       b">\r\nRCPT TO:<" + GW2.encode() + b">\r\nDATA\r\n")
codes = [r.reply()[0] for _ in range(5)]
big = message("<big@example.org>", body=("x" * 76 + "\r\n") * (62 * 1024 * 1024 // 78))
r.send(big + b".\r\n")
answers = [r.reply() for _ in range(2)]
ok([a[0] for a in answers] == [552, 552] and "5.3.4" in answers[0][1][0],
   "over max-message-size: 552 5.3.4 for each recipient", answers)
r.close()
ok(article("<big@example.org>").startswith("ERROR 430"), "and nothing is stored")

# 50 MB under the limit: stored.
c = lmtp()
t0 = time.time()
refused = c.sendmail(BOUNCES, [GW], message("<fifty@example.org>",
                     body=("y" * 76 + "\r\n") * (50 * 1024 * 1024 // 78)))
ok(refused == {}, "a 50 MB message is accepted (%.1fs)" % (time.time() - t0), refused)
ok(nntp().stat("<fifty@example.org>")[0].startswith("223"), "and stored")
c.quit()

# SMTP: EHLO, one reply for all recipients.
s = smtplib.SMTP("127.0.0.1", smtp_port)
code, text = s.ehlo("mx.test.example")
ok(code == 250 and b"ENHANCEDSTATUSCODES" in text, "SMTP: EHLO 250", text)
refused = s.sendmail(BOUNCES, [GW, GW2], message("<smtp@example.org>"))
ok(refused == {}, "SMTP: two gateway recipients, one reply", refused)
code, text = s.docmd("LHLO", "mx")
ok(code == 500, "SMTP refuses LHLO", text)
s.quit()
s = smtplib.SMTP("127.0.0.1", smtp_port)
s.ehlo("mx.test.example")
s.mail(BOUNCES)
relay_refused(lambda rcpt: s.docmd("RCPT", "TO:<%s>" % rcpt), "SMTP")
s.quit()
ok(article("<smtp@example.org>").startswith("Path:"), "the SMTP message is in the group")

# The idle connection: 421 after smtp-idle-timeout.
idle.s.settimeout(30)
code, lines = idle.reply()
ok(idle_greeting[0] == 220 and code == 421 and "4.4.2" in lines[0],
   "an idle client gets 421 4.4.2 after %ds" % (time.time() - idle_start), lines)
idle.close()

print("1..%d" % n)
sys.exit(1 if failed else 0)
