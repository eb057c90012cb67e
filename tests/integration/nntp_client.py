#!/usr/bin/python3 -W ignore::DeprecationWarning
#
# The NNTP dialogue with the real syncd, driven by python's nntplib (a
# real client) and, where nntplib has no method (CHECK, TAKETHIS, broken
# input), by a plain socket.  Prints TAP.  Run by nntp.sh, which starts
# syncd: nntp_client.py PORT USER PASSWORD SYNCCTL CONFIG

import datetime
import nntplib
import socket
import subprocess
import sys
import time

port = int(sys.argv[1])
user, password, syncctl, config = sys.argv[2:6]
n = 0
failed = 0


def ok(cond, what, detail=None):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, what))
    else:
        failed += 1
        print("not ok %d - %s" % (n, what))
        if detail is not None:
            for line in str(detail).splitlines():
                print("#   " + line)
    sys.stdout.flush()


def code_of(exc):
    return str(exc.response)[:3] if hasattr(exc, "response") else str(exc)[:3]


def expect_error(code, what, fn, *args):
    try:
        r = fn(*args)
        ok(False, what, "no error; got %r" % (r,))
    except nntplib.NNTPError as e:
        ok(code_of(e) == code, what, e)


class Raw:
    """A plain connection, for what nntplib cannot send."""

    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")
        self.greeting = self.line()

    def line(self):
        return self.f.readline().decode("utf-8", "replace").rstrip("\r\n")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def close(self):
        self.s.close()


def article(msgid, groups, subject, extra="", body="Body.\r\n"):
    return ("Path: inn.test.example!not-for-mail\r\n"
            "From: Peer <peer@example.org>\r\n"
            "Newsgroups: %s\r\nSubject: %s\r\n"
            "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: %s\r\n%s\r\n%s" % (groups, subject, msgid, extra,
                                            body))


def lines(text):
    return [l.encode() for l in text.split("\r\n")[:-1]]


s = nntplib.NNTP("127.0.0.1", port, readermode=False)
ok(s.getwelcome().startswith("200 "), "greeting 200, posting possible",
   s.getwelcome())
caps = s.getcapabilities()
for cap in ("VERSION", "READER", "POST", "IHAVE", "STREAMING", "HDR",
            "OVER", "NEWNEWS", "LIST", "AUTHINFO"):
    ok(cap in caps, "CAPABILITIES lists " + cap, caps)
ok("COUNTS" in caps.get("LIST", []), "CAPABILITIES lists LIST COUNTS")

resp, groups = s.list()
names = [g.group for g in groups]
ok(resp.startswith("215") and "pirates.de.test" in names and
   "pirates.de.etc.syncom.technik" in names, "LIST ACTIVE names the groups",
   groups)
ok(all(g.last == "0" or int(g.last) >= 0 for g in groups),
   "LIST ACTIVE gives high and low numbers")
resp, groups = s.list("pirates.de.t*")
ok([g.group for g in groups] == ["pirates.de.test"],
   "LIST ACTIVE with a wildmat", groups)
resp, descs = s._longcmdstring("LIST NEWSGROUPS")
ok("pirates.de.test\tTests of the gateway" in descs,
   "LIST NEWSGROUPS shows each channel's description", descs)
for kw, want in (("OVERVIEW.FMT", "Subject:"), ("HEADERS", ":bytes"),
                 ("ACTIVE.TIMES", "pirates.de.test "),
                 ("COUNTS", "pirates.de.test 0 1 0 y"),
                 ("MOTD", "Welcome to the test gateway"),
                 ("MODERATORS", "pirates.de.moderated:")):
    try:
        resp, lst = s._longcmdstring("LIST " + kw)
        ok(resp.startswith("215") and any(want in l for l in lst),
           "LIST " + kw, lst)
    except nntplib.NNTPError as e:
        ok(False, "LIST " + kw, e)
expect_error("501", "LIST with an unknown keyword", s._longcmdstring,
             "LIST FROBNICATE")
expect_error("501", "LIST ACTIVE with a bad wildmat", s._longcmdstring,
             "LIST ACTIVE a[b]")

# Per-group permissions: the private group is for users only, the closed
# one takes no posts.
resp, groups = s.list()
status = dict((g.group, g.flag) for g in groups)
ok("pirates.de.private" not in status, "LIST hides a group anonymous"
   " users may not read", status)
ok(status.get("pirates.de.closed") == "n", "LIST ACTIVE marks a group that"
   " takes no posts 'n'", status)
expect_error("480", "GROUP of a group for users only: 480", s.group,
             "pirates.de.private")
expect_error("480", "ARTICLE by Message-ID in such a group: 480",
             s.article, "<private1@example.org>")

post = ("From: Erika <erika@example.org>\r\nNewsgroups: pirates.de.test\r\n"
        "Subject: first post\r\n\r\nHello, news.\r\n.dot line\r\n")
expect_error("480", "POST without AUTHINFO: 480", s.post, lines(post))
expect_error("482", "AUTHINFO PASS before USER: 482", s._shortcmd,
             "AUTHINFO PASS x")
try:
    s._shortcmd("AUTHINFO USER " + user)
    s._shortcmd("AUTHINFO PASS wrong")
    ok(False, "a wrong password is refused")
except nntplib.NNTPError as e:
    ok(code_of(e) == "481", "a wrong password: 481", e)
try:
    s.login(user, password, usenetrc=False)
    ok(True, "AUTHINFO USER/PASS: 281")
except nntplib.NNTPError as e:
    ok(False, "AUTHINFO USER/PASS: 281", e)
expect_error("502", "AUTHINFO again: 502", s._shortcmd, "AUTHINFO USER x")
resp, groups = s.list()
ok("pirates.de.private" in [g.group for g in groups],
   "after AUTHINFO LIST shows the private group", groups)
resp, count, first, last, name = s.group("pirates.de.private")
ok(count == 1, "and GROUP opens it", resp)
try:
    s.post(lines("From: a@example.org\r\nNewsgroups: pirates.de.closed\r\n"
                 "Subject: s\r\n\r\nb\r\n"))
    ok(False, "a post to a group that takes none is refused")
except nntplib.NNTPError as e:
    ok(code_of(e) == "441" and "not permitted" in str(e),
       "a post to a group that takes none: 441", e)

resp = s.post(lines(post))
ok(resp.startswith("240"), "POST after AUTHINFO: 240 only after the commit",
   resp)
posted_id = resp.split()[-1]
resp, count, first, last, name = s.group("pirates.de.test")
ok(resp.startswith("211") and count == 1 and first == last == 1,
   "GROUP shows the article", resp)
resp, info = s.article(1)
text = b"\r\n".join(info.lines).decode()
ok("Path: gw.test.example!.POSTED.127.0.0.1!not-for-mail" in text,
   "Path carries our identity and .POSTED", text)
ok("Xref: gw.test.example pirates.de.test:1" in text, "Xref is ours", text)
ok("Injection-Date: " in text and "posting-account=\"%s\"" % user in text,
   "Injection-Date and Injection-Info are added", text)
ok(".dot line" in text, "dot-stuffing is undone both ways", text)

# RFC 5537: a post to a moderated group goes to its moderators (the
# list) and appears only when the list sends it back approved.
modpost = ("From: Erika <erika@example.org>\r\n"
           "Newsgroups: pirates.de.moderated\r\nSubject: please approve\r\n"
           "Message-ID: <mod-post@example.org>\r\n\r\nApprove me.\r\n")
resp = s.post(lines(modpost))
ok(resp.startswith("240") and "sent to its moderators" in resp,
   "a post to a moderated group: 240, sent to the moderators", resp)
resp, count, first, last, name = s.group("pirates.de.moderated")
ok(count == 0, "and it is not in the group yet", resp)
approved = ("X-Syncom-Gateway: gw.test.example\r\n"
            "List-Id: <moderated.lists.test.example>\r\n" + modpost)
subprocess.run([syncctl, "-c", config, "inject", "--source", "list", "-"],
               input=approved.encode(), check=True, stdout=subprocess.DEVNULL)
resp, count, first, last, name = s.group("pirates.de.moderated")
ok(count == 1, "the list's approved copy puts it in the group", resp)
resp, info = s.article(1)
text = b"\r\n".join(info.lines).decode()
ok("Approved: moderated@lists.test.example" in text,
   "with an Approved header for peers", text)
s.group("pirates.de.test")

# A list message shows up in the group, with Newsgroups made for it.
listmsg = ("From: List Member <m@example.org>\r\n"
           "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
           "Date: Sun, 29 Nov 2026 11:00:00 +0100\r\n"
           "Message-ID: <list1@example.org>\r\n"
           "References: %s\r\n"
           "List-Id: <pirates-test.lists.test.example>\r\n\r\n"
           "From the list.\r\n" % posted_id)
subprocess.run([syncctl, "-c", config, "inject", "--source", "list", "-"],
               input=listmsg.encode(), check=True, stdout=subprocess.DEVNULL)
resp, info = s.article("<list1@example.org>")
text = b"\r\n".join(info.lines).decode()
ok(resp.startswith("220 2 <list1@example.org>"),
   "ARTICLE by Message-ID gives the number in the current group", resp)
ok("Newsgroups: pirates.de.test" in text and
   "Path: gw.test.example!not-for-mail" in text,
   "a list message gets Newsgroups and Path", text)

resp, ov = s.over((1, 2))
ok(resp.startswith("224") and len(ov) == 2 and ov[0][0] == 1 and
   ov[1][1]["references"] == posted_id and
   ov[1][1]["subject"] == "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=",
   "OVER over a range", ov)
resp, ov = s.xover(1, 2)
ok(len(ov) == 2, "XOVER", ov)
resp, ov = s._longcmdstring("OVER <list1@example.org>")
ok(resp.startswith("224") and ov[0].startswith("2\t"),
   "OVER by Message-ID", ov)
resp, hdrs = s.xhdr("subject", "1-")
ok([h[1] for h in hdrs] == ["first post", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?="],
   "XHDR Subject over an open range", hdrs)
resp, hdrs = s._longcmdstring("HDR From 2")
ok(resp.startswith("225") and hdrs == ["2 List Member <m@example.org>"],
   "HDR", hdrs)
resp, hdrs = s._longcmdstring("HDR List-Id 1-2")
ok(hdrs == ["1 ", "2 <pirates-test.lists.test.example>"],
   "HDR of a header outside the overview", hdrs)
resp, hdrs = s._longcmdstring("HDR :lines 1-2")
ok(hdrs == ["1 2", "2 1"], "HDR :lines", hdrs)
expect_error("423", "OVER of an empty range: 423", s.over, (50, 60))

resp, num, mid = s.stat(1)
ok(resp.startswith("223") and mid == posted_id, "STAT by number", resp)
resp, num, mid = s.stat(posted_id)
ok(resp.startswith("223 1 ") and mid == posted_id, "STAT by Message-ID", resp)
resp, info = s.head(posted_id)
ok(resp.startswith("221") and b"Subject: first post" in info.lines,
   "HEAD by Message-ID", resp)
resp, info = s.body(posted_id)
ok(resp.startswith("222") and info.lines[0] == b"Hello, news.",
   "BODY by Message-ID", info.lines)
resp, num, mid = s.next()
ok(num == 2 and mid == "<list1@example.org>", "NEXT", resp)
expect_error("421", "NEXT at the end: 421", s.next)
resp, num, mid = s.last()
ok(num == 1, "LAST", resp)
expect_error("422", "LAST at the start: 422", s.last)
resp, info = s.head(2)
ok(resp.startswith("221") and b"From the list." not in b"".join(info.lines),
   "HEAD", info.lines)
resp, info = s.body(2)
ok(resp.startswith("222") and info.lines == [b"From the list."], "BODY",
   info.lines)
resp, lst = s._longcmdstring("LISTGROUP pirates.de.test 2-")
ok(resp.startswith("211") and lst == ["2"], "LISTGROUP with a range", lst)
expect_error("423", "ARTICLE of a missing number: 423", s.article, 99)
expect_error("430", "ARTICLE of an unknown Message-ID: 430", s.article,
             "<nowhere@example.org>")
expect_error("411", "GROUP of an unknown group: 411", s.group, "alt.nowhere")
expect_error("500", "an unknown command: 500", s._shortcmd, "FROBNICATE")

resp, dt = s.date()
ok(abs((dt - datetime.datetime.utcnow()).total_seconds()) < 120, "DATE", dt)
resp, text = s.help()
ok(resp.startswith("100") and any("OVER" in l for l in text), "HELP")
resp, groups = s.newgroups(datetime.datetime.utcnow() -
                           datetime.timedelta(hours=1))
ok("pirates.de.test" in [g.group for g in groups], "NEWGROUPS", groups)
resp, ids = s.newnews("pirates.*", datetime.datetime.utcnow() -
                      datetime.timedelta(hours=1))
ok(posted_id in ids and "<list1@example.org>" in ids, "NEWNEWS", ids)
resp, ids = s.newnews("alt.*", datetime.datetime.utcnow() -
                      datetime.timedelta(hours=1))
ok(ids == [], "NEWNEWS with a wildmat that matches nothing", ids)

# Posting that must fail, each with its reason.
for hdrs, why, what in (
        ("Newsgroups: alt.nowhere\r\nSubject: s\r\n", "no such newsgroup",
         "a post to an unknown group: 441"),
        ("Newsgroups: pirates.de.test\r\nSubject: s\r\nXref: x y:1\r\n",
         "may not set Xref", "a post with Xref: 441"),
        ("Newsgroups: pirates.de.test\r\n", "Subject",
         "a post without Subject: 441"),
        ("Newsgroups: pirates.de.test\r\nSubject: %s\r\n" % ("x" * 1200),
         "998", "a post with a line over 998 octets: 441"),
        ("Newsgroups: pirates.de.announce\r\nSubject: s\r\n",
         "read-only", "a post to a read-only channel: 441")):
    try:
        s.post(lines("From: a@example.org\r\n" + hdrs + "\r\nbody\r\n"))
        ok(False, what)
    except nntplib.NNTPError as e:
        ok(code_of(e) == "441" and why in str(e), what, e)
try:
    s.post(lines("From: a@example.org\r\nNewsgroups: pirates.de.test\r\n"
                 "Subject: again\r\nMessage-ID: %s\r\n\r\nb\r\n" % posted_id))
    ok(False, "a duplicate post is refused")
except nntplib.NNTPError as e:
    ok(code_of(e) == "441" and "Duplicate" in str(e),
       "a duplicate post: 441 Duplicate", e)
resp = s._shortcmd("MODE READER")
ok(resp.startswith("200"), "MODE READER: 200", resp)
resp = s.quit()
ok(resp.startswith("205"), "QUIT: 205", resp)

# A feeding peer, from loopback: IHAVE, then streaming.
p = nntplib.NNTP("127.0.0.1", port, readermode=False)
resp = p.ihave("<peer1@inn.test.example>",
               lines(article("<peer1@inn.test.example>", "pirates.de.test",
                             "fed by IHAVE")))
ok(resp.startswith("235"), "IHAVE: 335, then 235 after the commit", resp)
expect_error("435", "IHAVE of what we have: 435", p._shortcmd,
             "IHAVE <peer1@inn.test.example>")
expect_error("437", "IHAVE of an article whose Path has us: 437", p.ihave,
             "<loop1@inn.test.example>",
             lines(article("<loop1@inn.test.example>", "pirates.de.test",
                           "loop").replace(
                 "inn.test.example!", "inn.test.example!gw.test.example!")))
p.quit()

r = Raw()
ok(r.cmd("MODE STREAM").startswith("203"), "MODE STREAM: 203")
ok(r.cmd("CHECK <peer1@inn.test.example>") ==
   "438 <peer1@inn.test.example> Duplicate", "CHECK of what we have: 438")
ok(r.cmd("CHECK <peer2@inn.test.example>").startswith(
    "238 <peer2@inn.test.example>"), "CHECK of something new: 238")
# Two TAKETHIS pipelined, the second a duplicate of the first.
a2 = article("<peer2@inn.test.example>", "pirates.de.test", "streamed")
r.send("TAKETHIS <peer2@inn.test.example>\r\n" + a2 + ".\r\n" +
       "TAKETHIS <peer2@inn.test.example>\r\n" + a2 + ".\r\n")
ok(r.line() == "239 <peer2@inn.test.example>", "TAKETHIS: 239")
ok(r.line().startswith("439 <peer2@inn.test.example>"),
   "TAKETHIS of a duplicate: 439, and the article is read past")
ok(r.cmd("CHECK <peer3@inn.test.example>").startswith("238"),
   "the stream stays in step after a refused TAKETHIS")
# Fifty TAKETHIS in one go share commits, yet the answers keep the order
# of the commands; a CHECK between them is answered in its place, and a
# reader command waits for them all.
burst = "".join("TAKETHIS <burst%d@inn.test.example>\r\n" % i +
                article("<burst%d@inn.test.example>" % i, "pirates.de.test",
                        "burst %d" % i) + ".\r\n" for i in range(50))
r.send(burst + "CHECK <burst0@inn.test.example>\r\nDATE\r\n")
answers = [r.line() for i in range(52)]
ok(answers[:50] == ["239 <burst%d@inn.test.example>" % i for i in range(50)],
   "50 pipelined TAKETHIS: 239 each, in order", answers[:50])
ok(answers[50].startswith(("431 <burst0@", "438 <burst0@")),
   "a CHECK among them: answered in its place", answers[50])
ok(answers[51].startswith("111"), "and DATE after all of them", answers[51])
r.close()

# Hostile input: each gets its code, and the connection stays usable.
r = Raw()
ok(r.cmd("X" * 600).startswith("501"), "a 600-octet command line: 501")
ok(r.cmd("DATE").startswith("111"), "and the next command works")
ok(r.cmd("\x00\x01\xff\xfe garbage").startswith(("500", "501")),
   "binary garbage: 500 or 501")
ok(r.cmd("DATE").startswith("111"), "and the next command works too")
r.cmd("AUTHINFO USER " + user)
r.cmd("AUTHINFO PASS " + password)
ok(r.cmd("POST").startswith("340"), "POST: 340")
big = ("From: a@example.org\r\nNewsgroups: pirates.de.test\r\nSubject: big\r\n"
       "X-Big: " + ("y" * 990 + "\r\n\t") * 11000 + "end\r\n\r\nbody\r\n.\r\n")
r.send(big)
resp = r.line()
ok(resp.startswith("441") and "max-message-size" in resp,
   "a 10 MB header: 441, too big", resp)
ok(r.cmd("DATE").startswith("111"), "and the connection is still usable")
r.close()

print("1..%d" % n)
sys.exit(1 if failed else 0)
