"""e2e_client.py: the conversation e2e.sh runs across news, list and
forum, and the checks of what each side holds afterwards.  Speaks TAP.

Settings come from E2E_* environment variables (see e2e.sh); an empty
E2E_INN means no INN (news is posted to syncd and read back there only),
an empty E2E_SMTP no Postfix and Mailman (list mail goes to syncd's LMTP
as the list would hand it over, and the list's side is not checked).

The script knows every message it writes: its Message-ID, its parent and
the root of its thread, the German subject it must show everywhere, and
where it must appear (groups, lists, the forum).  Each side is read back
independently of syncd's code: NNTP HEAD and ARTICLE, the files the sink
wrote for a subscriber, forum.db and the forum's pages.
"""

import base64
import email
import email.policy
import email.utils
import glob
import http.client
import nntplib
import os
import re
import smtplib
import sqlite3
import subprocess
import sys
import time
import urllib.parse

env = os.environ
HTTP = int(env["E2E_HTTP"])
GWNNTP = int(env["E2E_GWNNTP"])
GWLMTP = int(env["E2E_GWLMTP"])
INN = int(env["E2E_INN"]) if env.get("E2E_INN") else None
SMTP = int(env["E2E_SMTP"]) if env.get("E2E_SMTP") else None
SINK = env["E2E_SINK"]
MAILDIR = env["E2E_MAILDIR"]
FORUMDB = env["E2E_FORUMDB"]
SYNCDLOG = env["E2E_SYNCDLOG"]
MAILLOG = env["E2E_MAILLOG"]
MILTERLOG = env["E2E_MILTERLOG"]
SYNCCTL = env["E2E_SYNCCTL"]
CONF = env["E2E_CONF"]
QUIET = float(env.get("E2E_QUIET", "5"))

DOMAIN = "lists.test.example"
READER = "sub2@remote.example"     # subscribed to both lists, never posts
WRITER = "sub1@remote.example"     # subscribed to both lists, posts
STAMP = "%d.%d" % (os.getpid(), int(time.time()))

n = 0
failed = 0


def ok(cond, name, diag=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        if diag is not None:
            for line in str(diag).splitlines()[:25]:
                print("# " + line)
    sys.stdout.flush()
    return cond


def skip(name, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, name, why))
    sys.stdout.flush()


def wait(pred, seconds):
    end = time.time() + seconds
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.25)
    return pred()


# --- Header text, read without syncd's code -------------------------------

ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")


def decode_text(raw):
    """An unstructured header value (bytes, unfolded) as text: RFC 2047
    encoded words decoded, whitespace between two of them dropped
    (section 6.2), raw 8-bit bytes taken as UTF-8."""
    out = []
    pos = 0
    after_word = False
    for m in ENCODED_WORD.finditer(raw):
        between = raw[pos:m.start()]
        if not (after_word and between.strip(b" \t") == b""):
            out.append(between.decode("utf-8", "replace"))
        charset = m.group(1).decode("ascii").split("*")[0]
        data = m.group(3)
        if m.group(2) in b"Qq":
            data = re.sub(rb"=([0-9A-Fa-f]{2})",
                          lambda x: bytes([int(x.group(1), 16)]),
                          data.replace(b"_", b" "))
        else:
            data = base64.b64decode(data + b"=" * (-len(data) % 4))
        try:
            out.append(data.decode(charset, "replace"))
        except LookupError:
            out.append("?unknown charset %s?" % charset)
        pos = m.end()
        after_word = True
    out.append(raw[pos:].decode("utf-8", "replace"))
    return "".join(out)


def headers_of(raw):
    """The header of a message (bytes) as {lower-case name: [values]},
    each value unfolded, still bytes."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw[:end if end >= 0 else len(raw)].replace(b"\r\n", b"\n")
    fields = {}
    for line in re.split(rb"\n(?![ \t])", head):
        if b":" not in line:
            continue
        name, value = line.split(b":", 1)
        value = re.sub(rb"\n[ \t]", b" ", value).strip()
        fields.setdefault(name.decode("ascii", "replace").strip().lower(),
                          []).append(value)
    return fields


def first(fields, name):
    v = fields.get(name)
    return v[0] if v else None


def msgids(value):
    return re.findall(r"<[^<>\s]+>", value.decode("utf-8", "replace")) if value else []


TAG = re.compile(r"\[Pirates-(test|talk)\]\s*")


def subject_text(s):
    """A subject as the reader sees it, without the list's tag."""
    return re.sub(r"\s+", " ", TAG.sub("", s)).strip()


# --- The sides ------------------------------------------------------------

def nntp(port, reader):
    return nntplib.NNTP("127.0.0.1", port, readermode=reader, timeout=15)


NEWS_PORT, NEWS_READER = (INN, True) if INN else (GWNNTP, False)


def news_post(lines, port=None, reader=None):
    """Post an article; the server's answer, or the error."""
    try:
        s = nntp(port or NEWS_PORT, NEWS_READER if reader is None else reader)
        r = s.post([l.encode("utf-8") if isinstance(l, str) else l for l in lines])
        s.quit()
        return r
    except (nntplib.NNTPError, OSError) as e:
        return str(e)


def news_has(port, reader, msgid):
    try:
        s = nntp(port, reader)
        try:
            s.stat(msgid)
            return True
        except nntplib.NNTPError:
            return False
        finally:
            s.quit()
    except OSError:
        return False


def news_read(port, reader, groups):
    """Every article of the groups: [(group, number, header fields)], and
    the whole articles by Message-ID."""
    found = []
    whole = {}
    s = nntp(port, reader)
    for g in groups:
        _, count, lo, hi, _ = s.group(g)
        if count == 0:
            continue
        for num in range(lo, hi + 1):
            try:
                _, info = s.article(num)
            except nntplib.NNTPError:
                continue
            raw = b"\r\n".join(info.lines) + b"\r\n"
            fields = headers_of(raw)
            found.append((g, num, fields))
            for mid in msgids(first(fields, "message-id")):
                whole[mid] = raw
    s.quit()
    return found, whole


def sink_files():
    return sorted(glob.glob(os.path.join(SINK, "*")))


def sink_copies(rcpt):
    """What the sink holds for rcpt: [(file, raw)]."""
    out = []
    for f in sink_files():
        try:
            raw = open(f, "rb").read()
        except OSError:
            continue
        # The envelope lines come first, before the message's header.
        if any(v.startswith(b"<%s>" % rcpt.encode())
               for v in headers_of(raw).get("x-rcpt-args", [])):
            out.append((f, raw))
    return out


def list_has(msgid, list_name=None):
    for f, raw in sink_copies(READER):
        fields = headers_of(raw)
        if msgid in msgids(first(fields, "message-id")) and (
                list_name is None or
                ("%s.%s" % (list_name, DOMAIN)).encode() in (first(fields, "list-id") or b"")):
            return True
    return False


def forum_rows():
    """Every post: {msgid: [rows]} with board, topic and parent msgid."""
    db = sqlite3.connect("file:%s?mode=ro" % FORUMDB, uri=True, timeout=10)
    try:
        rows = db.execute(
            "SELECT p.id, p.msgid, p.topic, b.name, p.subject,"
            " (SELECT q.msgid FROM post q WHERE q.id = p.parent),"
            " p.attachments, p.state"
            " FROM post p JOIN topic t ON t.id = p.topic"
            " JOIN board b ON b.id = t.board ORDER BY p.id").fetchall()
    finally:
        db.close()
    out = {}
    for r in rows:
        out.setdefault(r[1], []).append(
            {"id": r[0], "topic": r[2], "board": r[3], "subject": r[4],
             "parent": r[5], "attachments": r[6], "state": r[7]})
    return out


def forum_has(msgid):
    try:
        return msgid in forum_rows()
    except sqlite3.Error:
        return False


class Browser:
    """A cookie-keeping visitor of the forum."""

    def __init__(self):
        self.cookie = None

    def request(self, method, path, fields=None):
        c = http.client.HTTPConnection("127.0.0.1", HTTP, timeout=15)
        h = {}
        body = None
        if self.cookie:
            h["Cookie"] = "syncom_session=" + self.cookie
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                m = re.match(r"syncom_session=([0-9a-f]+)", v)
                if m:
                    self.cookie = m.group(1)
        c.close()
        return r.status, data, dict((k.lower(), v) for k, v in r.getheaders())

    def text(self, path):
        st, data, _ = self.request("GET", path)
        return st, data.decode("utf-8", "replace")

    def form(self, path):
        st, text = self.text(path)
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', text)
        return st, text, m.group(1) if m else None

    def submit(self, path, fields):
        st, text, csrf = self.form(path)
        fields = dict(fields, csrf=csrf or "")
        st, data, hdrs = self.request("POST", path, fields)
        return st, data.decode("utf-8", "replace"), hdrs


def confirmation_link(address):
    """The link of the confirmation mail to address: from the sink when
    the forum mails through Postfix, else from its Maildir."""
    files = sink_files() if SMTP else glob.glob(os.path.join(MAILDIR, "new", "*"))
    for f in files:
        raw = open(f, "rb").read()
        if address.encode() in raw:
            m = re.search(rb"/confirm\?token=([0-9a-f]+)", raw)
            if m:
                return m.group(1).decode()
    return None


# --- The conversation -----------------------------------------------------

# key -> {id, parent (key), root (key), subject (the text), groups, lists}
msgs = {}


def expect(key, msgid, parent, subject, groups):
    root = key if parent is None else msgs[parent]["root"]
    msgs[key] = {"id": msgid, "parent": parent, "root": root,
                 "subject": subject, "groups": groups,
                 "lists": ["pirates-" + g.rsplit(".", 1)[1] for g in groups]}


def mid(key):
    return "<e2e-%s-%s@%s>" % (key.lower(), STAMP,
                               "news.example" if key[0] == "N" or key[0] == "X"
                               else "remote.example")


def refs_of(parent):
    """References for a reply to parent: the parent's own, then it."""
    chain = []
    k = parent
    while k is not None:
        chain.insert(0, msgs[k]["id"])
        k = msgs[k]["parent"]
    return " ".join(chain)


def post_news(key, parent, subject_header, subject, body, groups,
              port=None, reader=None, author="Nora News"):
    msgid = mid(key)
    expect(key, msgid, parent, subject, groups)
    lines = ["From: %s <nora@news.example>" % author,
             "Newsgroups: " + ",".join(groups),
             "Subject: " + subject_header,
             "Message-ID: " + msgid]
    if parent is not None:
        lines.append("References: " + refs_of(parent))
    lines += ["MIME-Version: 1.0",
              "Content-Type: text/plain; charset=UTF-8",
              "Content-Transfer-Encoding: 8bit", "", body]
    r = news_post(lines, port, reader)
    return ok(str(r).startswith("240"), "news: %s posted to %s" % (
        key, "syncd" if (port or NEWS_PORT) == GWNNTP else "INN"), r)


ATTACHMENT = b"%PDF-1.4\n% Tagesordnung\n" + bytes(range(256)) * 8
ATTACHMENT_NAME = "Tagesordnung-März.pdf"


def post_mail(key, parent, subject_header, subject, body, list_name,
              attachment=False):
    msgid = mid(key)
    expect(key, msgid, parent, subject,
           ["pirates.de." + list_name.split("-", 1)[1]])
    address = "%s@%s" % (list_name, DOMAIN)
    head = ["From: Sub One <%s>" % WRITER,
            "To: " + address,
            "Subject: " + subject_header,
            "Date: " + email.utils.formatdate(localtime=False),
            "Message-ID: " + msgid]
    if parent is not None:
        head += ["In-Reply-To: " + msgs[parent]["id"],
                 "References: " + refs_of(parent)]
    head.append("MIME-Version: 1.0")
    text = body.encode("iso-8859-1")
    if attachment:
        data = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")
        raw = ("\r\n".join(head) + "\r\n" +
               "Content-Type: multipart/mixed; boundary=\"=-e2e-=\"\r\n\r\n"
               "This is a multi-part message in MIME format.\r\n"
               "--=-e2e-=\r\n"
               "Content-Type: text/plain; charset=ISO-8859-1\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + text + (
               "\r\n--=-e2e-=\r\n"
               "Content-Type: application/pdf\r\n"
               "Content-Disposition: attachment;\r\n"
               " filename*=UTF-8''%s\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n" %
               urllib.parse.quote(ATTACHMENT_NAME)).encode() + data + \
            b"--=-e2e-=--\r\n"
    else:
        raw = ("\r\n".join(head) + "\r\n"
               "Content-Type: text/plain; charset=ISO-8859-1\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + text + b"\r\n"
    try:
        if SMTP:
            s = smtplib.SMTP("127.0.0.1", SMTP, local_hostname="client.remote.example",
                             timeout=30)
            refused = s.sendmail(WRITER, [address], raw)
            s.quit()
        else:
            # The list's copy for the gateway, as Mailman would hand it on.
            raw = ("List-Id: <%s.%s>\r\n" % (list_name, DOMAIN)).encode() + raw
            s = smtplib.LMTP("127.0.0.1", GWLMTP)
            refused = s.sendmail(WRITER, ["gateway+%s@gw.test.example" %
                                          list_name.split("-", 1)[1]], raw)
            s.quit()
    except (smtplib.SMTPException, OSError) as e:
        refused = str(e)
    return ok(refused == {}, "mail: %s posted to %s" % (
        key, "the list through Postfix" if SMTP else "syncd's LMTP"), refused)


member = Browser()


def forum_post_id(msgid):
    rows = wait(lambda: forum_rows().get(msgid), 60)
    return rows[0]["id"] if rows else None


def post_forum(key, parent, subject, body, board="test"):
    if parent is None:
        path = "/b/%s/new" % board
    else:
        pid = forum_post_id(msgs[parent]["id"])
        path = "/p/%s/reply" % pid
    st, text, hdrs = member.submit(path, {"subject": subject, "body": body})
    loc = hdrs.get("location", "")
    m = re.search(r"#p(\d+)$", loc)
    msgid = None
    if st == 303 and m:
        db = sqlite3.connect("file:%s?mode=ro" % FORUMDB, uri=True, timeout=10)
        row = db.execute("SELECT msgid FROM post WHERE id = ?",
                         (int(m.group(1)),)).fetchone()
        db.close()
        msgid = row[0] if row else None
    ok(msgid is not None, "forum: %s posted" % key, (st, loc, text[:500]))
    expect(key, msgid or "<missing-%s>" % key, parent, subject,
           ["pirates.de." + board])
    return msgid


def everywhere(key):
    """Is the message on every side this run has?"""
    m = msgs[key]
    if INN and not news_has(INN, True, m["id"]):
        return False
    if not news_has(GWNNTP, False, m["id"]):
        return False
    if SMTP and not all(list_has(m["id"], l) for l in m["lists"]):
        return False
    return forum_has(m["id"])


def where_missing(key):
    m = msgs[key]
    out = []
    if INN and not news_has(INN, True, m["id"]):
        out.append("INN")
    if not news_has(GWNNTP, False, m["id"]):
        out.append("syncd")
    if SMTP and not all(list_has(m["id"], l) for l in m["lists"]):
        out.append("list")
    if not forum_has(m["id"]):
        out.append("forum")
    return "%s %s missing on %s" % (key, m["id"], ", ".join(out))


def wait_everywhere(keys, what, seconds=90):
    done = wait(lambda: all(everywhere(k) for k in keys), seconds)
    ok(done, what, "\n".join(where_missing(k) for k in keys if not everywhere(k)))
    return done


t_start = time.time()

# A member of the forum: registers, confirms by the mail, logs in.
st, text, _ = member.submit("/register", {
    "name": "anna", "display": "Anna Forum", "address": "anna@example.org",
    "password": "annas secret"})
ok(st == 200, "forum: a visitor registers", text[:300])
token = wait(lambda: confirmation_link("anna@example.org"), 60)
ok(token is not None, "forum: the confirmation mail arrives" +
   (" through Postfix" if SMTP else ""))
st, _ = member.text("/confirm?token=%s" % token)
st, text, _ = member.submit("/login", {"name": "anna", "password": "annas secret"})
ok(st == 303, "forum: the member logs in", text[:300])

# Round 1: a thread started on each side, and a crosspost.  The news
# subject as RFC 2047 Q in UTF-8, the mail's as B in ISO-8859-1, the
# forum's as typed, the crosspost's as raw UTF-8 in the header.
post_news("N1", None, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_dem_Usenet?=",
          "Grüße aus dem Usenet", "Hallo aus dem Usenet.", ["pirates.de.test"])
post_mail("M2", None, "=?ISO-8859-1?B?%s?=" % base64.b64encode(
    "Über die Liste, mit Anhang".encode("iso-8859-1")).decode(),
    "Über die Liste, mit Anhang", "Anbei die Tagesordnung für März.",
    "pirates-test", attachment=True)
post_forum("F3", None, "Straßenfest in München",
           "Wer hilft am Samstag beim Straßenfest?")
post_news("X", None, "Kreuz und quer: Öffnungszeiten im Büro",
          "Kreuz und quer: Öffnungszeiten im Büro",
          "Das Büro ist montags geschlossen.",
          ["pirates.de.test", "pirates.de.talk"], author="Nora Näher")
wait_everywhere(["N1", "M2", "F3", "X"], "the thread starters reach every side")

# Round 2: replies to each from the other two sides.
post_mail("M1r", "N1", "Re: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_dem_Usenet?=",
          "Re: Grüße aus dem Usenet", "Grüße zurück von der Liste.",
          "pirates-test")
post_forum("F1r", "N1", "Re: Grüße aus dem Usenet", "Grüße zurück aus dem Forum.")
post_news("N2r", "M2", "=?ISO-8859-1?Q?Re:_=DCber_die_Liste,_mit_Anhang?=",
          "Re: Über die Liste, mit Anhang", "Danke für die Tagesordnung.",
          ["pirates.de.test"])
post_forum("F2r", "M2", "Re: Über die Liste, mit Anhang",
           "Die Tagesordnung ist angekommen.")
post_news("N3r", "F3", "=?UTF-8?B?%s?=" % base64.b64encode(
    "Re: Straßenfest in München".encode()).decode(),
    "Re: Straßenfest in München", "Ich helfe beim Aufbau.",
    ["pirates.de.test"], port=GWNNTP, reader=False)
post_mail("M3r", "F3", "=?ISO-8859-1?Q?Re:_Stra=DFenfest_in_M=FCnchen?=",
          "Re: Straßenfest in München", "Ich bringe Kuchen mit.",
          "pirates-test")
post_mail("MXr", "X", "=?UTF-8?B?%s?=" % base64.b64encode(
    "Re: Kreuz und quer: Öffnungszeiten im Büro".encode()).decode(),
    "Re: Kreuz und quer: Öffnungszeiten im Büro",
    "Dienstags auch, wegen Umbau.", "pirates-talk")
wait_everywhere(["M1r", "F1r", "N2r", "F2r", "N3r", "M3r", "MXr"],
                "the replies reach every side")

# Round 3: replies to replies from yet another side.
post_news("N1rr", "F1r", "Re: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_dem_Usenet?=",
          "Re: Grüße aus dem Usenet", "Das Forum antwortet schnell.",
          ["pirates.de.test"])
post_forum("F2rr", "N2r", "Re: Über die Liste, mit Anhang",
           "Gern geschehen.")
wait_everywhere(["N1rr", "F2rr"], "the replies to replies reach every side")
t_conv = time.time()

# Whatever would come round again has time to do so.
time.sleep(QUIET)

# --- What each side holds ---------------------------------------------------


def check_side(side, entries, places_of):
    """entries: [(place, msgid, parent msgid or None, root msgid or None,
    subject text)] read from the side; places_of(key): where the message
    must be.  Five checks: all there, each once, nothing else, threads,
    subjects."""
    by_id = {m["id"]: k for k, m in msgs.items()}
    seen = {}
    for e in entries:
        seen.setdefault((e[0], e[1]), []).append(e)
    missing = ["%s %s in %s" % (k, m["id"], p) for k, m in msgs.items()
               for p in places_of(k) if (p, m["id"]) not in seen]
    ok(not missing, "%s holds every message" % side, "\n".join(missing))
    twice = ["%s in %s %d times" % (by_id.get(i, i), p, len(v))
             for (p, i), v in seen.items() if len(v) > 1]
    ok(not twice, "%s holds each message once" % side, "\n".join(twice))
    other = ["%s in %s" % (i, p) for (p, i) in seen
             if i not in by_id or p not in places_of(by_id[i])]
    ok(not other, "%s holds nothing else" % side, "\n".join(other))
    wrong = []
    for (p, i), v in seen.items():
        if i not in by_id:
            continue
        m = msgs[by_id[i]]
        parent = msgs[m["parent"]]["id"] if m["parent"] else None
        root = msgs[m["root"]]["id"] if m["parent"] else None
        e = v[0]
        if e[2] != parent or e[3] != root:
            wrong.append("%s in %s: parent %s root %s, want %s %s" % (
                by_id[i], p, e[2], e[3], parent, root))
    ok(not wrong, "%s threads every message as written" % side, "\n".join(wrong))
    bad = ["%s in %s: %r, want %r" % (by_id[i], p, v[0][4], msgs[by_id[i]]["subject"])
           for (p, i), v in seen.items()
           if i in by_id and subject_text(v[0][4]) != msgs[by_id[i]]["subject"]]
    ok(not bad, "%s shows every subject in German as written" % side, "\n".join(bad))


def news_entries(port, reader):
    found, whole = news_read(port, reader, ["pirates.de.test", "pirates.de.talk"])
    out = []
    for g, num, fields in found:
        ids = msgids(first(fields, "message-id"))
        refs = msgids(first(fields, "references"))
        out.append((g, ids[0] if ids else None, refs[-1] if refs else None,
                    refs[0] if refs else None,
                    decode_text(first(fields, "subject") or b"")))
    return out, whole


def attachment_of(raw):
    """(file name, bytes) of the first attachment of a message."""
    m = email.message_from_bytes(raw, policy=email.policy.default)
    for part in m.walk():
        if part.get_content_disposition() == "attachment":
            return part.get_filename(), part.get_payload(decode=True)
    return None, None


for side, port, reader, skipwhy in (
        ("INN", INN, True, None if INN else "no INN in this run"),
        ("syncd's news server", GWNNTP, False, None)):
    if skipwhy:
        skip("%s holds what was said" % side, skipwhy)
        continue
    try:
        entries, whole = news_entries(port, reader)
    except (nntplib.NNTPError, OSError) as e:
        ok(False, "%s can be read" % side, e)
        continue
    check_side(side, entries, lambda k: msgs[k]["groups"])
    name, data = attachment_of(whole.get(msgs["M2"]["id"], b""))
    ok(name == ATTACHMENT_NAME and data == ATTACHMENT,
       "%s carries the attachment whole, under its name" % side,
       (name, len(data or b"")))

if SMTP:
    entries = []
    copies = {}
    for f, raw in sink_copies(READER):
        fields = headers_of(raw)
        ids = msgids(first(fields, "message-id"))
        lid = (first(fields, "list-id") or b"").decode("ascii", "replace")
        lm = re.search(r"<(pirates-\w+)\.", lid)
        if not ids or not lm:
            continue
        irt = msgids(first(fields, "in-reply-to"))
        refs = msgids(first(fields, "references"))
        parent = irt[-1] if irt else (refs[-1] if refs else None)
        if irt and refs and refs[-1] != irt[-1]:
            parent = "%s (References end in %s)" % (irt[-1], refs[-1])
        entries.append((lm.group(1), ids[0], parent, refs[0] if refs else None,
                        decode_text(first(fields, "subject") or b"")))
        copies[ids[0]] = raw
    check_side("the list", entries, lambda k: msgs[k]["lists"])
    x = headers_of(copies.get(msgs["X"]["id"], b""))
    name = decode_text(first(x, "from") or b"")
    ok(name == "Nora Näher <nora@news.example>" and
       all(b < 0x80 for v in x.values() for f in v for b in f),
       "a news author's raw UTF-8 name reaches the list readable, the header ASCII",
       name)
    name, data = attachment_of(copies.get(msgs["M2"]["id"], b""))
    ok(name == ATTACHMENT_NAME and data == ATTACHMENT,
       "the list's copy carries the attachment", (name, len(data or b"")))
else:
    skip("the list holds what was said", "no Postfix and Mailman in this run")

rows = forum_rows()
entries = []
for msgid, rs in rows.items():
    for r in rs:
        root = None
        # The topic stands for the thread: its first post is the root.
        db = sqlite3.connect("file:%s?mode=ro" % FORUMDB, uri=True)
        top = db.execute("SELECT msgid FROM post WHERE topic = ? ORDER BY id"
                         " LIMIT 1", (r["topic"],)).fetchone()
        db.close()
        if top and top[0] != msgid:
            root = top[0]
        entries.append(("forum", msgid, r["parent"], root, r["subject"]))
check_side("forum", entries, lambda k: ["forum"])
hidden = [m for m, rs in rows.items() if any(r["state"] != 0 for r in rs)]
ok(not hidden, "the forum shows every post", hidden)
m2 = (rows.get(msgs["M2"]["id"]) or [{}])[0]
ok(ATTACHMENT_NAME in (m2.get("attachments") or ""),
   "the forum lists the attachment under its name", m2.get("attachments"))
att = None
if m2.get("topic"):
    st, text = member.text("/t/%d" % m2["topic"])
    att = re.search(r'href="(/p/%d/att/\d+)"' % m2["id"], text)
    # Thread order: each post below the one it answers.
    at = {k: text.find(t) for k, t in (
        ("M2", "Anbei die Tagesordnung"), ("N2r", "Danke für die Tagesordnung"),
        ("F2r", "Die Tagesordnung ist angekommen"), ("F2rr", "Gern geschehen"))}
    ok(st == 200 and -1 not in at.values() and
       all(at[k] > at[msgs[k]["parent"]] for k in ("N2r", "F2r", "F2rr")),
       "the forum's page shows the thread, each reply below its parent", (st, at))
if att:
    st, data, hdrs = member.request("GET", att.group(1))
    ok(st == 200 and data == ATTACHMENT, "the attachment downloads from the forum as sent",
       (st, len(data), hdrs.get("content-type")))
else:
    ok(False, "the attachment downloads from the forum as sent", "no link on the page")

# --- Loops and duplicates ---------------------------------------------------

log = open(SYNCDLOG, encoding="utf-8", errors="replace").read().splitlines()
accepted = {}
delivered = {}
for line in log:
    m = re.search(r"event=route .*msgid=(\S+) result=accepted", line)
    if m:
        accepted[m.group(1).strip('"')] = accepted.get(m.group(1).strip('"'), 0) + 1
    m = re.search(r"event=delivered msgid=(\S+) target=(\S+)", line)
    if m:
        k = (m.group(1).strip('"'), m.group(2).strip('"'))
        delivered[k] = delivered.get(k, 0) + 1
want = {m["id"] for m in msgs.values()}
ok({i: c for i, c in accepted.items() if i in want} == {i: 1 for i in want},
   "syncd took every message in once",
   "\n".join("%s %s" % (i, accepted.get(i, 0)) for i in sorted(want) if accepted.get(i) != 1))
extra = [i for i in accepted if i not in want]
ok(not extra, "and nothing else (no echo under another Message-ID)", extra)
twice = ["%s to %s: %d" % (k[0], k[1], c) for k, c in delivered.items() if c > 1]
ok(not twice, "syncd delivered nothing twice to a side", "\n".join(twice))
out = subprocess.run([SYNCCTL, "-c", CONF, "queue"], capture_output=True, text=True).stdout
ok("pending" not in out and "dead" not in out, "syncd's outbox is empty", out)

if SMTP:
    maillog = open(MAILLOG, encoding="utf-8", errors="replace").read()
    qid_msgid = dict((q, i) for q, i in re.findall(r": ([0-9A-F]+): message-id=(<[^>]*>)", maillog))
    posts = {}
    for q, rcpt in re.findall(r": ([0-9A-F]+): to=<(pirates-\w+@%s)>,.*status=sent" %
                              re.escape(DOMAIN), maillog):
        k = (qid_msgid.get(q), rcpt)
        posts.setdefault(k, []).append(q)
    want_posts = {(m["id"], "%s@%s" % (l, DOMAIN)) for m in msgs.values() for l in m["lists"]}
    wrong = ["%s to %s: %d times" % (k[0], k[1], len(posts.get(k, [])))
             for k in sorted(want_posts | set(posts), key=str) if len(posts.get(k, [])) != 1]
    ok(not wrong, "Postfix passed every message to its list once", "\n".join(wrong))
    milter = open(MILTERLOG, encoding="utf-8", errors="replace").read()
    unchecked = ["%s (%s)" % (k[0], q) for k, qs in posts.items() for q in qs
                 if not re.search(r"event=milter-check session=%s .*result=accept" % q, milter)]
    ok(not unchecked, "syncd-milter looked at every list post and let it through",
       "\n".join(unchecked))
else:
    skip("Postfix passed every message to its list once", "no Postfix in this run")

print("# conversation %.1f s, checks %.1f s (after a quiet %.0f s)" % (
    t_conv - t_start, time.time() - t_conv - QUIET, QUIET))
print("1..%d" % n)
sys.exit(1 if failed else 0)
