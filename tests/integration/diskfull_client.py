#!/usr/bin/python3 -W ignore::DeprecationWarning
#
# The feeding side of diskfull.sh: articles by IHAVE and by streaming
# (CHECK then TAKETHIS, and TAKETHIS alone), list mail by LMTP, to a syncd whose data directory
# fills up.  Every answer is judged: 2xx means stored (the Message-ID is
# written to the acknowledged file), a refusal must be temporary (4xx),
# never 5xx, and never a dropped connection without an answer.
#
#   diskfull_client.py fill NNTP LMTP ACKED ROUNDS
#       feed in rounds, each round one article (of growing size) per way,
#       until every way was refused twice in a row or ROUNDS are done;
#       prints TAP-free lines "way code" for the shell to count and exits
#       1 on a forbidden answer.
#   diskfull_client.py again NNTP LMTP ACKED TAG
#       one more of each way; exits 0 if each was accepted.
#   diskfull_client.py read NNTP ACKED
#       every acknowledged Message-ID is served over NNTP, in full: prints
#       the ones that are not.

import nntplib
import smtplib
import socket
import sys
import time

GROUP = "pirates.de.test"
GW = "gateway+test@gw.test.example"
LIST_ID = "List-Id: <pirates-test.lists.test.example>"


def body(msgid, size):
    """A body of about size bytes whose last line names the message, so
    that reading it back shows it is whole."""
    line = "filler " + "x" * 64 + "\r\n"
    return line * max(1, size // len(line)) + "end of %s\r\n" % msgid


def article(msgid, size):
    return ("Path: inn.test.example!not-for-mail\r\n"
            "From: Peer <peer@example.org>\r\n"
            "Newsgroups: %s\r\nSubject: fill %s\r\n"
            "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: %s\r\n\r\n%s" % (GROUP, msgid, msgid,
                                          body(msgid, size)))


def mail(msgid, size):
    return ("From: Alice <alice@example.org>\r\n"
            "To: pirates-test@lists.test.example\r\n"
            "Subject: fill %s\r\nMessage-ID: %s\r\n"
            "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n%s\r\n\r\n%s" %
            (msgid, msgid, LIST_ID, body(msgid, size))).encode()


class Raw:
    """A plain NNTP connection: nntplib has no CHECK or TAKETHIS."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.s.makefile("rb")
        self.greeting = self.line()

    def line(self):
        l = self.f.readline()
        if not l:
            return "EOF"
        return l.decode("utf-8", "replace").rstrip("\r\n")

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.line()

    def send(self, text):
        self.s.sendall(text.encode())

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def code(resp):
    return resp[:3]


class Feeder:
    def __init__(self, nntp_port, lmtp_port, acked):
        self.nntp_port = nntp_port
        self.lmtp_port = lmtp_port
        self.acked = open(acked, "a")
        self.streams = {}
        self.bad = []

    def ack(self, msgid):
        self.acked.write(msgid + "\n")
        self.acked.flush()

    def judge(self, way, msgid, resp, ok, temp):
        """Note an answer: 'ok', 'temp' or (forbidden) 'bad'."""
        c = code(resp)
        if c in ok:
            self.ack(msgid)
            verdict = "ok"
        elif c in temp:
            verdict = "temp"
        else:
            verdict = "bad"
            self.bad.append("%s %s: %s" % (way, msgid, resp))
        print("%s %s %s" % (way, c, resp if verdict != "ok" else ""))
        sys.stdout.flush()
        return verdict

    def ihave(self, msgid, size):
        r = Raw(self.nntp_port)
        try:
            resp = r.cmd("IHAVE " + msgid)
            if code(resp) == "335":
                r.send(article(msgid, size).replace("\r\n.", "\r\n..") +
                       ".\r\n")
                resp = r.line()
            r.cmd("QUIT")
        finally:
            r.close()
        # 436 before or after the article: later.  435/437 would mean
        # syncd misjudged a new, good article.
        return self.judge("ihave", msgid, resp, ("235",), ("436",))

    def stream(self, way, msgid, size, check):
        """Streaming (RFC 4644): CHECK first, or TAKETHIS straight away
        as innfeed does in its no-CHECK mode."""
        if self.streams.get(way) is None:
            r = Raw(self.nntp_port)
            resp = r.cmd("MODE STREAM")
            if code(resp) != "203":
                self.bad.append("MODE STREAM: " + resp)
            self.streams[way] = r
        r = self.streams[way]
        if check:
            resp = r.cmd("CHECK " + msgid)
            # 431: not now.  A 238 may still meet a full disk at
            # TAKETHIS.
            if code(resp) != "238":
                return self.judge(way, msgid, resp, (), ("431",))
        r.send("TAKETHIS %s\r\n" % msgid +
               article(msgid, size).replace("\r\n.", "\r\n..") + ".\r\n")
        resp = r.line()
        if code(resp) != "239":
            # 400 closes the connection (RFC 3977 3.2.1): a new one
            # next time.
            r.close()
            self.streams[way] = None
        return self.judge(way, msgid, resp, ("239",), ("400",))

    def check(self, msgid, size):
        return self.stream("check", msgid, size, True)

    def takethis(self, msgid, size):
        return self.stream("takethis", msgid, size, False)

    def lmtp(self, msgid, size):
        try:
            c = smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=30)
            c.ehlo("mx.test.example")
            refused = c.sendmail("pirates-test-bounces@lists.test.example",
                                 [GW], mail(msgid, size))
            c.quit()
            resp = "250 ok" if not refused else "%d %s" % refused[GW]
        except smtplib.SMTPRecipientsRefused as e:
            c_, text = e.recipients[GW]
            resp = "%d %s" % (c_, text.decode("utf-8", "replace"))
        except smtplib.SMTPResponseException as e:
            resp = "%d %s" % (e.smtp_code,
                              e.smtp_error.decode("utf-8", "replace"))
        except (smtplib.SMTPException, OSError) as e:
            resp = "EOF " + str(e)
        # 452 4.3.1 at RCPT or after DATA; 451 4.3.0 for other store
        # trouble.
        return self.judge("lmtp", msgid, resp, ("250",), ("451", "452"))


def fill(nntp_port, lmtp_port, acked, rounds):
    f = Feeder(nntp_port, lmtp_port, acked)
    ways = (("ihave", f.ihave), ("check", f.check), ("takethis", f.takethis),
            ("lmtp", f.lmtp))
    refused = dict((way, 0) for way, fn in ways)
    i = 0
    while i < rounds and min(refused.values()) < 2 and not f.bad:
        size = 2000 + (i % 16) * 1500
        for way, fn in ways:
            v = fn("<fill-%s-%d@example.org>" % (way, i), size)
            refused[way] = refused[way] + 1 if v == "temp" else 0
        i += 1
    print("rounds %d" % i)
    for b in f.bad:
        print("BAD " + b)
    return 1 if f.bad else 0


def again(nntp_port, lmtp_port, acked, tag):
    f = Feeder(nntp_port, lmtp_port, acked)
    verdicts = [fn("<again-%s-%s@example.org>" % (way, tag), 3000)
                for way, fn in (("ihave", f.ihave), ("check", f.check),
                                ("takethis", f.takethis), ("lmtp", f.lmtp))]
    for b in f.bad:
        print("BAD " + b)
    return 0 if verdicts == ["ok"] * 4 else 1


def read(nntp_port, acked):
    s = nntplib.NNTP("127.0.0.1", nntp_port, readermode=True)
    missing = 0
    for msgid in sorted(set(l.strip() for l in open(acked) if l.strip())):
        try:
            lines = s.article(msgid)[1].lines
            if lines[-1].decode() != "end of " + msgid:
                print("cut short: " + msgid)
                missing += 1
        except nntplib.NNTPError as e:
            print("missing: %s (%s)" % (msgid, e))
            missing += 1
    s.quit()
    return 1 if missing else 0


if __name__ == "__main__":
    verb = sys.argv[1]
    if verb == "fill":
        sys.exit(fill(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4],
                      int(sys.argv[5])))
    elif verb == "again":
        sys.exit(again(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4],
                       sys.argv[5]))
    elif verb == "read":
        sys.exit(read(int(sys.argv[2]), sys.argv[3]))
    sys.exit(2)
