"""forum_client.py: drive syncd's forum over HTTP like a visitor would,
and check what reaches the news and list sides.  Speaks TAP.

Arguments: HTTP-PORT NNTP-PORT MAIL-MAILDIR LIST-MAILDIR SYNCCTL CONF
NEWS-MAILDIR
"""

import email
import email.policy
import glob
import html
import http.client
import nntplib
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse

http_port, nntp_port = int(sys.argv[1]), int(sys.argv[2])
mail_dir, list_dir, syncctl, conf, news_dir = sys.argv[3:8]

n = 0
failed = 0


def ok(cond, name, diag=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        if diag is not None:
            for line in str(diag).splitlines()[:20]:
                print("# " + line)
    sys.stdout.flush()
    return cond


class Browser:
    """A cookie-keeping client of one forum."""

    def __init__(self):
        self.cookie = None

    def request(self, method, path, fields=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        h = dict(headers or {})
        body = None
        if self.cookie:
            h["Cookie"] = "syncom_session=" + self.cookie
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                m = re.match(r"syncom_session=([0-9a-f]+)", v)
                if m:
                    self.cookie = m.group(1)
                    self.set_cookie = v
        c.close()
        return r.status, text, dict((k.lower(), v) for k, v in r.getheaders())

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields):
        return self.request("POST", path, fields)

    def form(self, path):
        """GET a form page; its CSRF token."""
        status, text, _ = self.get(path)
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', text)
        return status, text, m.group(1) if m else None


def wait(pred, seconds=15):
    end = time.time() + seconds
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    return pred()


def maildir_files(d):
    return sorted(glob.glob(os.path.join(d, "new", "*")))


def maildir_find(d, needle):
    for f in maildir_files(d):
        data = open(f, "rb").read()
        if needle.encode() in data:
            return data
    return None


def nntp():
    return nntplib.NNTP("127.0.0.1", nntp_port, readermode=True)


def article(msgid):
    try:
        s = nntp()
        _, info = s.article(msgid)
        s.quit()
        return b"\r\n".join(info.lines)
    except nntplib.NNTPError:
        return None


# The boards.
b = Browser()
status, text, hdrs = b.get("/")
ok(status == 200 and "/b/test" in text, "the board list is served", text)
ok("Tests of the forum" in text, "a board shows its channel's description")
ok("news://gw.test.example/pirates.de.test" in text,
   "a board names its newsgroup as news://host/group")
ok("mailto:pirates-test-join@lists.test.example" in text,
   "a board names its list with a subscribe address")
ok("script-src" not in hdrs.get("content-security-policy", "x") and
   "default-src 'none'" in hdrs.get("content-security-policy", ""),
   "pages forbid scripts by Content-Security-Policy")
ok("<script" not in text and "http://" not in text.split("<body>")[0],
   "no script and nothing loaded from elsewhere")

# HEAD: the headers, no body, and the connection goes on (RFC 9110 9.3.2).
c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
c.request("HEAD", "/")
r = c.getresponse()
head_body = r.read()
head_len = r.getheader("Content-Length")
c.request("GET", "/b/test")
r = c.getresponse()
ok(head_body == b"" and head_len is not None and int(head_len) > 0 and
   r.status == 200 and b"/b/test/new" in r.read(),
   "HEAD says the length, sends no body, and keeps the connection usable")
c.close()

# Register, confirm, log in.
status, text, csrf = b.form("/register")
ok(status == 200 and csrf is not None, "the registration form has a CSRF token")
ok("HttpOnly" in b.set_cookie and "SameSite=Lax" in b.set_cookie,
   "the session cookie is HttpOnly and SameSite", b.set_cookie)
status, text, _ = b.post("/register", {"csrf": csrf, "name": "joerg",
                                       "display": "Jörg Müller",
                                       "address": "joerg@example.org",
                                       "password": "correct horse"})
ok(status == 200 and "Check your mail" in text, "registration asks to confirm by mail", text)
conf_mail = wait(lambda: maildir_find(mail_dir, "joerg@example.org"))
ok(conf_mail is not None, "the confirmation mail goes out by forum-mail")
token = re.search(rb"/confirm\?token=([0-9a-f]+)", conf_mail or b"")
ok(token is not None and b"Auto-Submitted: auto-generated" in conf_mail,
   "it carries a confirmation link and Auto-Submitted", conf_mail)
token = token.group(1).decode() if token else "x"
status, text, csrf = b.form("/login")
status, text, _ = b.post("/login", {"csrf": csrf, "name": "joerg", "password": "correct horse"})
ok(status == 403 and "Confirm your mail address" in text, "an unconfirmed account cannot log in", text)
status, text, _ = b.get("/confirm?token=" + token)
ok(status == 200 and "Confirmed" in text, "the link confirms the address", text)
status, text, _ = b.get("/confirm?token=" + token)
ok(status == 404, "a used link confirms nothing")

status, text, csrf = b.form("/login")
before = b.cookie
status, text, _ = b.post("/login", {"csrf": csrf, "name": "joerg", "password": "correct horse"})
ok(status == 303, "the right password logs in", text)
ok(b.cookie != before, "logging in makes a new session id (no fixation)")
planted = Browser()
planted.cookie = before
status, text, _ = planted.get("/")
ok("Log out" not in text, "the session id from before the login is not logged in")
status, text, _ = b.get("/")
ok("Log out" in text and "Jörg Müller" in text, "the member is logged in")

# A new topic.
status, text, csrf = b.form("/b/test/new")
ok(status == 200 and csrf is not None, "the new topic form is served")
status, text, hdrs = b.post("/b/test/new", {"csrf": csrf, "subject": "Grüße aus dem Forum",
                                           "body": "Erster Beitrag im Forum.\n\n-- \nJörg"})
loc = hdrs.get("location", "")
ok(status == 303 and loc.startswith("/t/"), "posting a topic redirects to it", (status, text))
topic = loc.split("#")[0]
status, text, _ = b.get(topic)
ok(status == 200 and "Grüße aus dem Forum" in text and "Erster Beitrag" in text,
   "the new topic shows the post", text)
ok('<div class="sig">' in text, "the signature is set apart")

listed = wait(lambda: maildir_find(list_dir, "Erster Beitrag"))
ok(listed is not None, "the forum post reaches the list side")
m = email.message_from_bytes(listed or b"", policy=email.policy.default)
forum_id = m.get("Message-ID", "")
ok("joerg@example.org" in m.get("From", ""), "it is from the member's address", m.get("From"))
ok(forum_id.endswith("@gw.test.example>"), "it has a Message-ID of ours", forum_id)
art = wait(lambda: article(forum_id))
ok(art is not None and b"Erster Beitrag" in art, "the same post is an article in the group")

# A form sent twice (a double click, a try again after a lost answer) is
# one post: its Message-ID comes with the form.
status, text, csrf = b.form("/b/test/new")
m = re.search(r'name="msgid" value="&lt;([^"&]+)&gt;"', text)
ok(m is not None, "the new topic form carries the post's Message-ID", text)
twice_id = "<%s>" % (m.group(1) if m else "")
fields = {"csrf": csrf, "msgid": twice_id, "subject": "Zweimal gesendet",
          "body": "Nur einmal da."}
st1, _, h1 = b.post("/b/test/new", fields)
st2, _, h2 = b.post("/b/test/new", fields)
loc1, loc2 = h1.get("location", ""), h2.get("location", "")
ok(st1 == 303 and st2 == 303 and loc1.startswith("/t/") and
   loc1.split("#")[0] == loc2.split("#")[0],
   "sent twice, both answers lead to the post", (st1, loc1, st2, loc2))
art = wait(lambda: article(twice_id))
ok(art is not None and b"Nur einmal da." in art,
   "it is an article under the form's Message-ID")
ok(wait(lambda: maildir_find(list_dir, "Nur einmal da.")) is not None,
   "and reaches the list")
st, tx, _ = b.get(loc1.split("#")[0])
ok(tx.count("Nur einmal da.") == 1, "the topic shows it once", tx)
ok(len([f for f in maildir_files(list_dir)
        if b"Nur einmal da." in open(f, "rb").read()]) == 1,
   "the list has it once")
# A Message-ID of someone else's making is not taken from a form.
st, _, h = b.post("/b/test/new", dict(fields, msgid="<fremd@example.com>",
                                      subject="Fremde ID",
                                      body="Mit fremder ID."))
ok(st == 303, "a form with a foreign Message-ID is posted", st)
listed = wait(lambda: maildir_find(list_dir, "Mit fremder ID."))
m = email.message_from_bytes(listed or b"", policy=email.policy.default)
ok(m.get("Message-ID", "").endswith("@gw.test.example>"),
   "under a Message-ID of ours", m.get("Message-ID"))

# A reply over NNTP and one by mail land in the same topic.
s = nntp()
s.post(("From: Nora News <nora@example.net>\r\n"
        "Newsgroups: pirates.de.test\r\n"
        "Subject: Re: Gruesse aus dem Forum\r\n"
        "Message-ID: <news-reply@example.net>\r\n"
        "References: %s\r\n\r\nAntwort aus dem Usenet.\r\n" % forum_id).encode().splitlines())
s.quit()
mail = ("From: Lisa List <lisa@example.com>\r\n"
        "To: pirates-test@lists.test.example\r\n"
        "List-Id: <pirates-test.lists.test.example>\r\n"
        "Subject: Re: Gruesse aus dem Forum\r\n"
        "Date: Sun, 29 Nov 2026 12:00:00 +0000\r\n"
        "Message-ID: <list-reply@example.com>\r\n"
        "In-Reply-To: <news-reply@example.net>\r\n"
        "References: %s <news-reply@example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Antwort von der Liste.\r\n"
        "--b1\r\nContent-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgc=\r\n--b1--\r\n" % forum_id)
open(os.path.join(os.environ["T"], "list-reply.eml"), "w").write(mail)
r = subprocess.run([syncctl, "-c", conf, "inject", "--source", "list",
                    os.path.join(os.environ["T"], "list-reply.eml")], capture_output=True, text=True)
ok(r.returncode == 0, "list mail goes in", r.stdout + r.stderr)

def topic_has(*words):
    st, tx, _ = b.get(topic)
    return all(w in tx for w in words) and tx
text = wait(lambda: topic_has("Antwort aus dem Usenet", "Antwort von der Liste"))
ok(bool(text), "a news reply and a list reply show in the forum topic", text)
text = text or ""
ok(text.find("Erster Beitrag") < text.find("Antwort aus dem Usenet") < text.find("Antwort von der Liste"),
   "in thread order")
ok("via news" in text and "via mail" in text, "each says where it came from")
att = re.search(r'href="(/p/\d+/att/\d+)">data.bin', text)
ok(att is not None, "the attachment is listed", text)
if att:
    st, body, hd = b.request("GET", att.group(1))
    ok(st == 200 and "attachment" in hd.get("content-disposition", ""),
       "and downloads as an attachment", hd)

# Board and topic pages for readers not logged in are kept until
# something is written: they see them alike, a member still sees his
# own, and any write, syncd's or another program's on forum.db, shows at
# the next read.
anon = Browser()


def posts_listed():
    m = re.search(r'<a href="%s">.*?<td class="count">(\d+)</td>' % topic,
                  anon.get("/b/test")[1])
    return int(m.group(1)) if m else None


listed_before = posts_listed()
st, seen, _ = anon.get(topic)
ok(st == 200 and "Log in to reply" in seen and "Antwort von der Liste" in seen,
   "a reader not logged in sees the topic", seen)
st, again, _ = anon.get(topic)
ok(st == 200 and again == seen, "and the same page the second time")
st, mine, _ = b.get(topic)
ok(">Reply</a>" in mine and "Log in to reply" not in mine,
   "a member is not shown the page made for those not logged in", mine)
db = sqlite3.connect(os.path.join(os.environ["T"], "data", "forum.db"), timeout=10)
with db:
    db.execute("UPDATE post SET subject = 'Betreff von außen' WHERE msgid = ?",
               ("<news-reply@example.net>",))
db.close()
ok("Betreff von außen" in anon.get(topic)[1],
   "a write by another program on forum.db shows at the next read")

# Reply on the forum to the news post: References follow the thread.
pid = re.findall(r'id="p(\d+)"', text)
reply_to = None
for p in pid:
    seg = text[text.find('id="p%s"' % p):]
    seg = seg[:seg.find("</article>")]
    if "Antwort aus dem Usenet" in seg:
        reply_to = p
status, text, csrf = b.form("/p/%s/reply" % reply_to)
ok(status == 200 and "&gt; Antwort aus dem Usenet" in text and "Nora News wrote:" in text,
   "the reply form quotes the post", text)
status, text, hdrs = b.post("/p/%s/reply" % reply_to, {"csrf": csrf, "subject": "Re: Gruesse",
                                                      "body": "Forum antwortet dem Usenet."})
ok(status == 303 and hdrs.get("location", "").split("#")[0] == topic,
   "the forum reply lands in the same topic", (status, hdrs))
ok(wait(lambda: "Forum antwortet dem Usenet" in anon.get(topic)[1]),
   "and shows to readers not logged in")
ok(listed_before is not None and posts_listed() == listed_before + 1,
   "their board page counts it", (listed_before, posts_listed()))
listed = wait(lambda: maildir_find(list_dir, "Forum antwortet dem Usenet"))
m = email.message_from_bytes(listed or b"", policy=email.policy.default)
refs = m.get("References", "")
reply_mid = m.get("Message-ID", "")
ok(forum_id in refs and "<news-reply@example.net>" in refs,
   "its References name the thread (RFC 5322 section 3.6.4)", refs)
ok(m.get("In-Reply-To", "") == "<news-reply@example.net>", "In-Reply-To names the parent")

# Edit one's own post: a Supersedes for news, the new text on the forum.
first = re.search(r"#p(\d+)", loc).group(1)
status, text, csrf = b.form("/p/%s/edit" % first)
ok(status == 200 and "Erster Beitrag" in text, "the edit form holds the text")
status, text, hdrs = b.post("/p/%s/edit" % first, {"csrf": csrf, "subject": "Grüße aus dem Forum",
                                                  "body": "Erster Beitrag, verbessert."})
ok(status == 303, "the edit is taken", (status, text))
text = wait(lambda: topic_has("Erster Beitrag, verbessert"))
ok(bool(text) and "edited" in text, "the topic shows the new text, marked edited")
sup = wait(lambda: maildir_find(list_dir, "Supersedes: " + forum_id))
ok(sup is not None, "the edit goes out with Supersedes of the post")
other = Browser()
status, text, csrf = other.form("/p/%s/edit" % first)
ok(status == 403, "a visitor who is not logged in cannot edit")

# One identity: a member logs in to news with the forum's name and password.
s = nntp()
try:
    s.login("joerg", "wrong password", usenetrc=False)
    bad_login = "accepted"
except nntplib.NNTPError as e:
    bad_login = str(e)
ok(bad_login.startswith("481"), "a wrong password is refused over NNTP", bad_login)
s.quit()
s = nntp()
try:
    s.login("joerg", "correct horse", usenetrc=False)
    s.post(("From: J <joerg-news@example.net>\r\n"
            "Newsgroups: pirates.de.test\r\n"
            "Subject: Re: Gruesse\r\n"
            "Message-ID: <as-member@example.net>\r\n"
            "References: %s\r\n\r\nPer NNTP angemeldet.\r\n" % forum_id).encode().splitlines())
    member_post = "posted"
except nntplib.NNTPError as e:
    member_post = str(e)
s.quit()
ok(member_post == "posted", "a member logs in to news with the forum's password", member_post)
text = wait(lambda: topic_has("Per NNTP angemeldet"))
seg = (text or "")[:(text or "").find("Per NNTP angemeldet")]
seg = seg[seg.rfind("<article"):]
ok("Jörg Müller" in seg, "what the member posts over news shows as the member's", seg)

# Delete one's own post: a cancel takes it off the news side too.
st, tx, _ = b.get(topic)
reply_id = None
for p in re.findall(r'id="p(\d+)"', tx):
    seg = tx[tx.find('id="p%s"' % p):]
    if "Forum antwortet dem Usenet" in seg[:seg.find("</article>")]:
        reply_id = p
ok(reply_id is not None and 'action="/p/%s/delete"' % reply_id in tx,
   "one's own post has a Delete button")
csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', tx).group(1)
st, tx, hdrs = b.post("/p/%s/delete" % reply_id, {"csrf": csrf})
ok(st == 303 and hdrs.get("location", "") == topic, "deleting redirects to the topic", (st, tx))
st, tx, _ = b.get(topic)
ok("Forum antwortet dem Usenet" not in tx and "(deleted)" in tx,
   "the deleted post's text is gone from the topic", tx)
ok(wait(lambda: article(reply_mid) is None), "and the article is no longer served over NNTP")
ok(wait(lambda: maildir_find(news_dir, "Control: cancel " + reply_mid)) is not None,
   "a cancel goes to the news peer")
ok(maildir_find(list_dir, "cancel " + reply_mid) is None, "and none to the list")

# An author's cancel over NNTP hides the forum post.
s = nntp()
s.post(("From: Nora News <nora@example.net>\r\n"
        "Newsgroups: pirates.de.test\r\n"
        "Subject: cmsg cancel <news-reply@example.net>\r\n"
        "Control: cancel <news-reply@example.net>\r\n"
        "Message-ID: <news-cancel@example.net>\r\n\r\ncancel\r\n").encode().splitlines())
forged_ok = True
try:
    s.post(("From: Mallory <mallory@example.net>\r\n"
            "Newsgroups: pirates.de.test\r\n"
            "Subject: cmsg cancel <list-reply@example.com>\r\n"
            "Control: cancel <list-reply@example.com>\r\n"
            "Message-ID: <forged-cancel@example.net>\r\n\r\ncancel\r\n").encode().splitlines())
except nntplib.NNTPError:
    pass
s.quit()
ok(bool(wait(lambda: "Antwort aus dem Usenet" not in (b.get(topic)[1]))),
   "an author's cancel over NNTP hides the forum post")
st, tx, _ = b.get(topic)
ok("Antwort von der Liste" in tx, "a cancel from someone else hides nothing")
ok(article("<list-reply@example.com>") is not None, "nor takes the article away")

# A lost confirmation mail: registering again sends a new link, and only
# the new one works.
carl = Browser()
for _ in range(2):
    st, tx, csrf = carl.form("/register")
    st, tx, _ = carl.post("/register", {"csrf": csrf, "name": "carl", "display": "Carl",
                                        "address": "carl@example.org", "password": "carls-secret"})
ok(st == 200 and "Check your mail" in tx, "registering again while unconfirmed is taken", tx)
links = wait(lambda: (lambda f: f if len(f) == 2 else None)(
    [re.search(rb"/confirm\?token=([0-9a-f]+)", open(p, "rb").read()).group(1).decode()
     for p in maildir_files(mail_dir) if b"carl@example.org" in open(p, "rb").read()]))
ok(links is not None and links[0] != links[1], "with a new link", links)
if links:
    st1 = carl.get("/confirm?token=" + links[0])[0]
    st2 = carl.get("/confirm?token=" + links[1])[0]
    ok(sorted([st1, st2]) == [200, 404], "of which one confirms and the other is void", (st1, st2))
st, tx, csrf = carl.form("/register")
st, tx, _ = carl.post("/register", {"csrf": csrf, "name": "carl", "display": "Carl",
                                    "address": "carl@example.org", "password": "x-secret-x"})
ok(st == 400 and "taken" in tx, "a confirmed account is never replaced", (st, tx))

# A second member, a moderated board, and the admin's pages.
anna = Browser()
st, tx, csrf = anna.form("/register")
st, tx, _ = anna.post("/register", {"csrf": csrf, "name": "anna", "display": "Anna",
                                    "address": "anna@example.org", "password": "annas-secret"})
mail_a = wait(lambda: maildir_find(mail_dir, "anna@example.org"))
tok = re.search(rb"/confirm\?token=([0-9a-f]+)", mail_a or b"")
anna.get("/confirm?token=" + (tok.group(1).decode() if tok else "x"))
st, tx, csrf = anna.form("/login")
st, tx, _ = anna.post("/login", {"csrf": csrf, "name": "anna", "password": "annas-secret"})
ok(st == 303, "a second member logs in")
st, tx, csrf = anna.form("/b/mod/new")
st, tx, _ = anna.post("/b/mod/new", {"csrf": csrf, "subject": "Bitte freischalten",
                                     "body": "Moderierter Beitrag."})
ok(st == 202 and "moderator" in tx, "a member's post to a moderated board waits", (st, tx))
st, tx, _ = anna.get("/b/mod")
ok("Bitte freischalten" not in tx, "it is not shown yet")
st, tx, csrf = anna.form("/b/mod/new")
anna.post("/b/mod/new", {"csrf": csrf, "subject": "Spam", "body": "Kauft Dosen."})
st, tx, _ = anna.get("/mod")
ok(st == 403, "a member has no moderation queue")
st, tx, _ = anna.get("/admin")
ok(st == 403, "nor the accounts page")
ok(maildir_find(list_dir, "Moderierter Beitrag") is None, "nothing went to the list yet")

st, tx, _ = b.get("/")
ok('href="/mod"' in tx and 'href="/admin"' in tx, "the first member is the admin")
st, tx, _ = b.get("/mod")
ok(st == 200 and "Moderierter Beitrag" in tx and "Kauft Dosen" in tx, "the queue shows both", tx)
held = re.findall(r'action="/mod/(\d+)"', tx)
csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', tx).group(1)
st, tx, hd = b.post("/mod/%s" % held[0], {"csrf": csrf, "do": "approve"})
ok(st == 303 and hd.get("location") == "/mod", "approving redirects to the queue", (st, tx))
st, tx, hd = b.post("/mod/%s" % held[1], {"csrf": csrf, "do": "reject"})
ok(st == 303, "rejecting too")
st, tx, _ = anna.get("/b/mod")
ok("Bitte freischalten" in tx and "Spam" not in tx, "the approved post is shown, the rejected not", tx)
ok(wait(lambda: maildir_find(list_dir, "Moderierter Beitrag")) is not None,
   "the approved post goes to the list")
ok(maildir_find(list_dir, "Kauft Dosen") is None, "the rejected one never does")
st, tx, _ = b.post("/mod/%s" % held[0], {"csrf": csrf, "do": "approve"})
ok(st == 404, "an approved post does not wait any more")

st, tx, _ = b.get("/admin")
ids = re.findall(r'action="/admin/(\d+)"', tx)
ok(st == 200 and len(ids) == 3 and "anna@example.org" in tx, "the admin sees the accounts", tx)
row = tx[tx.find("anna@example.org"):]
aid = re.search(r'action="/admin/(\d+)"', row).group(1)
st, tx, _ = b.post("/admin/" + aid, {"csrf": csrf, "role": "member", "banned": "yes"})
ok(st == 303, "the admin bans a member")
st, tx, _ = anna.get("/")
ok("Log out" not in tx, "a banned member's session ends")
st, tx, csrf = anna.form("/login")
st, tx, _ = anna.post("/login", {"csrf": csrf, "name": "anna", "password": "annas-secret"})
ok(st == 403 and "banned" in tx, "and cannot log in again")
st, tx, _ = b.post("/admin/" + aid, {"csrf": csrf, "role": "admin", "banned": "no"})
ok(st == 403, "an admin's form needs the admin's own token")

# Security.
status, text, _ = b.post("/b/test/new", {"subject": "no token", "body": "x"})
ok(status == 403, "a form without its CSRF token is refused")
status, text, _ = b.post("/b/test/new", {"csrf": "0" * 48, "subject": "bad token", "body": "x"})
ok(status == 403, "a form with a wrong CSRF token is refused")
s = nntp()
s.post(("From: \"<script>alert(4)</script>\" <evil@example.net>\r\n"
        "Newsgroups: pirates.de.test\r\n"
        "Subject: <script>alert(1)</script>\r\n"
        "Message-ID: <xss@example.net>\r\n\r\n"
        "<img src=x onerror=alert(2)>\r\n\"><svg onload=alert(3)>\r\n"
        "javascript:alert(5)\r\n").encode().splitlines())
s.quit()
def board_has(word):
    st, tx, _ = b.get("/b/test")
    return word in tx and tx
text = wait(lambda: board_has("alert(1)"))
ok(bool(text) and "<script>" not in text and "&lt;script&gt;alert(1)" in text,
   "a hostile subject shows as text in the topic list", text)
xss_topic = re.search(r'href="(/t/\d+)">&lt;script&gt;alert\(1\)', text or "")
st, tx, _ = b.get(xss_topic.group(1) if xss_topic else "/t/0")
ok(st == 200 and "<img" not in tx and "<svg" not in tx and "<script>" not in tx and
   'href="javascript' not in tx, "hostile text and names render inert", tx)

sqli = "'; DROP TABLE post; --"
st, tx, _ = b.get("/b/test/search?q=" + urllib.parse.quote('" "" """'))
ok(st == 200, "a search of quotes only is just text")
st, tx, _ = b.get("/b/test/search?q=" + urllib.parse.quote(sqli))
ok(st == 200, "SQL metacharacters in a search are just text")
st, tx, _ = b.get("/b/test/search?q=" + urllib.parse.quote('verbessert"'))
ok(st == 200 and "Erster Beitrag, verbessert" in tx,
   "search finds a post by a word of its text, query syntax is text", tx)
st, tx, _ = b.get("/b/test/search?q=" + urllib.parse.quote('verbessert OR Liste'))
ok(st == 200 and "0 found" in tx, "every word must match; OR is a word", tx)
st, tx, _ = b.get("/b/test/search?q=Liste")
ok(st == 200 and "Antwort von der Liste" in tx, "search finds a list post", tx)
st, tx, _ = b.get("/b/test/search?q=Usenet")
ok(st == 200 and "Antwort aus dem Usenet" not in tx, "nor a cancelled one", tx)
st, tx, _ = b.get("/")
ok(st == 200 and "/b/test" in tx, "the forum still works after all that")
st, tx, _ = b.get("/t/999999")
ok(st == 404, "an unknown topic is a 404")
st, tx, _ = b.get("/b/test/../../etc/passwd")
ok(st == 404, "a path outside the pages is a 404")

# The login rate limit holds, even for the right password.
c = Browser()
statuses = []
for i in range(6):
    st, tx, csrf = c.form("/login")
    st, tx, _ = c.post("/login", {"csrf": csrf, "name": "joerg", "password": "wrong %d" % i})
    statuses.append(st)
ok(statuses[:5] == [403] * 5 and statuses[5] == 429, "failed logins are limited", statuses)
st, tx, csrf = c.form("/login")
st, tx, _ = c.post("/login", {"csrf": csrf, "name": "joerg", "password": "correct horse"})
ok(st == 429, "past the limit even the right password waits")

# Logging out ends the session.
status, text, csrf = b.form("/")
status, text, _ = b.post("/logout", {"csrf": csrf})
ok(status == 303, "logging out redirects")
status, text, _ = b.get("/")
ok("Log out" not in text, "and the visitor is logged out")

print("1..%d" % n)
sys.exit(1 if failed else 0)
