#!/usr/bin/python3
#
# The senders of the soak (soak.sh): news, list mail and forum posts
# streamed into one syncd while soak.sh kills and restarts it.  Each
# sender behaves as a real peer does: a message whose acknowledgement did
# not arrive is sent again, until syncd answers it one way or the other.
#
#   soak_send.py NNTP LMTP HTTP MAILDIR COUNT LEDGER PROGRESS
#
# News goes by TAKETHIS, IHAVE and POST in turn (a feeding peer and a
# reader), list mail by LMTP as the MTA delivers the list's copy, forum
# posts by the forum's new-topic form under accounts the script registers
# (confirmed by the mail syncd writes to MAILDIR) and logs in to.
#
# LEDGER gets one line per message once it is answered:
#   SIDE METHOD MARKER MSGID ANSWER ATTEMPTS
# (a forum post's Message-ID is syncd's, so it shows as "-"; the marker in
# the subject finds it).  PROGRESS holds the number of answered messages,
# which soak.sh watches to spread its kills over the run.  Exit status 0
# when every message was answered.

import html
import http.client
import os
import random
import re
import smtplib
import socket
import sys
import threading
import time
import urllib.parse

nntp_port, lmtp_port, http_port = (int(a) for a in sys.argv[1:4])
maildir = sys.argv[4]
count = int(sys.argv[5])
ledger_path, progress_path = sys.argv[6:8]

# Every message is answered within this long, or the run has failed.
DEADLINE = time.time() + float(os.environ.get("SOAK_DEADLINE", "900"))
GW = "gateway+test@gw.test.example"
LIST_ID = "List-Id: Pirates test <pirates-test.lists.test.example>"
RUN = "%x" % random.getrandbits(32)

lock = threading.Lock()
answered = 0
failures = []
ledger = open(ledger_path, "w")


def note(side, method, marker, msgid, answer, attempts):
    global answered
    with lock:
        ledger.write("%s %s %s %s %s %d\n" % (side, method, marker, msgid,
                                              answer, attempts))
        ledger.flush()
        answered += 1
        tmp = progress_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % answered)
        os.replace(tmp, progress_path)


def pause():
    """Wait a little before trying again, as a peer backs off."""
    if time.time() > DEADLINE:
        raise TimeoutError("deadline passed")
    time.sleep(random.uniform(0.05, 0.3))


def date():
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())


class Lost(Exception):
    """The connection broke: the answer, if any, never came."""


# News ----------------------------------------------------------------

class Nntp:
    def __init__(self):
        self.s = None

    def close(self):
        if self.s is not None:
            try:
                self.s.close()
            except OSError:
                pass
        self.s = None

    def line(self):
        ln = self.f.readline(4096)
        if not ln.endswith(b"\r\n"):
            raise Lost("connection closed")
        return ln.decode("ascii", "replace").rstrip("\r\n")

    def open(self):
        if self.s is not None:
            return
        try:
            self.s = socket.create_connection(("127.0.0.1", nntp_port), 10)
            self.f = self.s.makefile("rb")
            if not self.line().startswith("200"):
                raise Lost("no greeting")
            self.s.sendall(b"MODE STREAM\r\n")
            if not self.line().startswith("203"):
                raise Lost("no streaming")
        except OSError as e:
            self.close()
            raise Lost(e)

    def send(self, method, msgid, article):
        """One attempt; the answer's code, or Lost."""
        self.open()
        try:
            if method == "TAKETHIS":
                self.s.sendall(b"TAKETHIS " + msgid.encode() + b"\r\n" +
                               article + b".\r\n")
                return self.line()[:3]
            cmd = "IHAVE " + msgid if method == "IHAVE" else "POST"
            self.s.sendall(cmd.encode() + b"\r\n")
            first = self.line()
            if not first.startswith("335") and not first.startswith("340"):
                return first[:3]
            self.s.sendall(article + b".\r\n")
            return self.line()[:3]
        except (OSError, Lost) as e:
            self.close()
            raise Lost(e)


def news_article(i, msgid, method):
    head = ("From: Soak <soak@example.org>\r\n"
            "Newsgroups: pirates.de.test\r\n"
            "Subject: soak n%d %s\r\n"
            "Date: %s\r\n"
            "Message-ID: %s\r\n" % (i, method, date(), msgid))
    if method != "POST":
        head += "Path: soakpeer.example!not-for-mail\r\n"
    return (head + "\r\nNews %d of run %s.\r\n" % (i, RUN)).encode()


# What ends the sending of a message: taken, or refused because syncd has
# it already (an earlier attempt was stored and its answer lost).
NEWS_DONE = {"TAKETHIS": ("239", "439"), "IHAVE": ("235", "435", "437"),
             "POST": ("240", "441")}


def news(indexes):
    c = Nntp()
    methods = ("TAKETHIS", "IHAVE", "POST")
    for k, i in enumerate(indexes):
        method = methods[k % 3]
        msgid = "<soak-n%d.%s@example.org>" % (i, RUN)
        article = news_article(i, msgid, method)
        attempts = 0
        while True:
            attempts += 1
            try:
                code = c.send(method, msgid, article)
            except Lost:
                pause()
                continue
            if code in NEWS_DONE[method]:
                break
            # 400/436/431 and the like: try again later, as INN would.
            c.close()
            pause()
        note("news", method, "n%d" % i, msgid, code, attempts)


# List mail -------------------------------------------------------------

def mail(indexes):
    c = None
    for i in indexes:
        msgid = "<soak-l%d.%s@example.org>" % (i, RUN)
        text = ("From: Lister <lister@example.org>\r\n"
                "To: pirates-test@lists.test.example\r\n"
                "Subject: soak l%d\r\n"
                "Date: %s\r\n"
                "Message-ID: %s\r\n%s\r\n"
                "\r\nMail %d of run %s.\r\n" % (i, date(), msgid, LIST_ID,
                                                i, RUN)).encode()
        attempts = 0
        while True:
            attempts += 1
            try:
                if c is None:
                    c = smtplib.LMTP("127.0.0.1", lmtp_port, timeout=10)
                    c.ehlo("mx.test.example")
                # LMTP answers per recipient; sendmail raises unless it
                # was taken (250), a 4xx to retry or a 5xx.
                c.sendmail("pirates-test-bounces@lists.test.example",
                           [GW], text)
                code = "250"
                break
            except smtplib.SMTPRecipientsRefused as e:
                code = str(list(e.recipients.values())[0][0])
            except smtplib.SMTPResponseException as e:
                code = str(e.smtp_code)
            except (OSError, smtplib.SMTPException):
                code = None
            if code is not None and code.startswith("5"):
                break
            try:
                if c is not None:
                    c.close()
            except (OSError, smtplib.SMTPException):
                pass
            c = None
            pause()
        note("list", "LMTP", "l%d" % i, msgid, code, attempts)


# Forum -------------------------------------------------------------------

class Browser:
    """A cookie-keeping client of the forum, from one loopback address."""

    def __init__(self, source):
        self.cookie = None
        self.source = source

    def request(self, method, path, fields=None):
        try:
            c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=15,
                                           source_address=(self.source, 0))
            h = {}
            body = None
            if self.cookie:
                h["Cookie"] = "syncom_session=" + self.cookie
            if fields is not None:
                body = urllib.parse.urlencode(fields)
                h["Content-Type"] = "application/x-www-form-urlencoded"
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            text = r.read().decode("utf-8", "replace")
            c.close()
        except (OSError, http.client.HTTPException) as e:
            raise Lost(e)
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                m = re.match(r"syncom_session=([0-9a-f]+)", v)
                if m:
                    self.cookie = m.group(1)
        return r.status, text, dict((k.lower(), v) for k, v in r.getheaders())

    def field(self, path, name):
        """A hidden field of the form at path."""
        status, text, _ = self.request("GET", path)
        m = re.search(r'name="%s" value="([^"]+)"' % name, text)
        if m is None:
            raise Lost("no form at %s (%d)" % (path, status))
        return html.unescape(m.group(1))

    def csrf(self, path):
        return self.field(path, "csrf")


def tokens_for(address):
    """The confirmation links syncd mailed to address, newest first."""
    found = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            p = os.path.join(d, name)
            try:
                data = open(p, "rb").read()
            except OSError:
                continue
            if ("To: " + address).encode() in data:
                m = re.search(rb"/confirm\?token=([0-9a-f]+)", data)
                if m:
                    found.append((os.path.getmtime(p), m.group(1).decode()))
    return [t for _, t in sorted(found, reverse=True)]


registrations = 0


def account(k):
    """Register, confirm and log in account k; its Browser."""
    global registrations
    name = "soak%d" % k
    address = "soak%d.%s@example.org" % (k, RUN)
    password = "soak-password-%d" % k
    while True:
        # Ten registrations per address in ten minutes: spread them.
        b = Browser("127.0.0.%d" % (2 + registrations // 8 % 250))
        try:
            seen = set(tokens_for(address))
            csrf = b.csrf("/register")
            registrations += 1
            status, text, _ = b.request("POST", "/register", {
                "csrf": csrf, "name": name, "display": "Soak %d" % k,
                "address": address, "password": password})
            if status not in (200, 400):
                raise Lost("register: %d" % status)
            # The mail is written after the answer: wait for it (a
            # restart in between may lose it; then register again).
            for _ in range(100):
                fresh = [t for t in tokens_for(address) if t not in seen]
                if fresh or status == 400:
                    break
                time.sleep(0.05)
            for token in fresh:
                b.request("GET", "/confirm?token=" + token)
            csrf = b.csrf("/login")
            status, text, _ = b.request("POST", "/login", {
                "csrf": csrf, "name": name, "password": password})
            if status == 303:
                b.form = b.csrf("/b/test/new")
                return b
        except Lost:
            pass
        pause()


def forum(indexes):
    k = 0
    b = account(k)
    for i in indexes:
        marker = "f%d" % i
        attempts = 0
        # A browser sends the form again as it was, with the Message-ID
        # it came with: one post, however often it is sent.
        msgid = None
        while True:
            attempts += 1
            try:
                if msgid is None:
                    msgid = b.field("/b/test/new", "msgid")
                status, text, hdrs = b.request("POST", "/b/test/new", {
                    "csrf": b.form, "msgid": msgid,
                    "subject": "soak %s %s" % (marker, RUN),
                    "body": "Forum post %d of run %s." % (i, RUN)})
                if status == 303:
                    break
                if status == 429:
                    # Ten posts per account in ten minutes: the next one.
                    k += 1
                    b = account(k)
                    continue
                if status == 403 or status == 400:
                    # The session is gone or its token changed: log in.
                    b = account(k)
                    continue
            except Lost:
                pass
            pause()
        note("forum", "HTTP", marker, "-", str(status), attempts)


def run(fn, indexes):
    try:
        fn(indexes)
    except Exception as e:
        with lock:
            failures.append("%s: %r" % (fn.__name__, e))


# Two in five messages are news, two list mail, one a forum post.
plan = {news: [], mail: [], forum: []}
for i in range(count):
    plan[(news, news, mail, mail, forum)[i % 5]].append(i)
threads = [threading.Thread(target=run, args=(fn, idx))
           for fn, idx in plan.items()]
for t in threads:
    t.start()
for t in threads:
    t.join()
ledger.close()
for f in failures:
    print("soak_send: " + f, file=sys.stderr)
sys.exit(1 if failures or answered != count else 0)
