#!/usr/bin/python3
"""tests/migrate/corpus.py: fill an IMAP account with a test corpus.

    corpus.py PORT USER PASSWORD --messages N --folders M
              [--big-mb MB] [--seed S]

The migration tests run it against the old server (a private Dovecot on
127.0.0.1:PORT, tests/peers/dovecot.sh) before syncmigrate copies the
account.  Everything goes in over IMAP with APPEND (RFC 3501 6.3.11),
through the standard library's imaplib only, and the result depends on
the seed alone:

  * M folders (INBOX not counted), some nested two or three levels deep,
    some with non-ASCII names, spaces, '&' and ',' (sent in modified
    UTF-7, RFC 3501 5.1.3), joined with the separator the server names
    in LIST; every parent is created as a real folder, one stays empty.
    No name contains '/' or '.', so the tree fits a server with either
    separator.
  * N messages spread over INBOX and the folders, in an order unrelated
    to their dates, each with its own INTERNALDATE (the APPEND date, in
    assorted time zones) and assorted flags (\\Seen \\Answered \\Flagged
    \\Draft) and keywords ($Forwarded, $Label1, $MDNSent, custom words).
  * Bodies in 7bit ASCII, 8bit UTF-8 and base64 (multipart with a binary
    attachment); some messages without a Message-ID; a few exact
    duplicates (the same bytes and date appended twice into one folder,
    counted in N).
  * UID gaps: extra messages appended among the others, then marked
    \\Deleted and expunged.
  * With --big-mb MB > 0, one more message of about MB megabytes (a
    base64 attachment).

It prints one line: folders, messages, bytes (the sum of the messages
appended and kept, as sent) and the time taken.
"""

import argparse
import base64
import imaplib
import random
import re
import sys
import time

# Components of the fixed part of the folder tree, parents first.
FIXED_FOLDERS = [
    ["Entwürfe"],
    ["Projekte"],
    ["Projekte", "Ökologie"],
    ["Projekte", "Ökologie", "Bäume & Wälder"],
    ["Projekte", "Syncom"],
    ["Listen"],
    ["Listen", "pirates-de"],
    ["Listen", "pirates-de", "Archiv 2024"],
    ["with space"],
    ["Réunions, Protokolle"],
    ["日本語"],
    ["Leer"],                   # stays empty
    ["Ärger ~ Sorgen"],
    ["Archiv"],
]
EMPTY_FOLDER = ["Leer"]

SYSTEM_FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Draft"]
# Maildir keeps at most 26 keywords per folder; these are 7.
KEYWORDS = ["$Forwarded", "$Label1", "$Label2", "$MDNSent", "Projekt",
            "wichtig", "todo_later"]

ZONES = [0, 60, 120, -300, 330, -480, 780, -210]   # minutes east of UTC
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
BASE_TIME = 1420070400       # 2015-01-01 00:00:00 UTC

WORDS_ASCII = ("the gateway copies mail between news and lists and back "
               "again while the migration moves every folder with its "
               "flags and dates to the new server").split()
WORDS_UTF8 = ("Grüße aus Köln über die Brücke zum Bahnhof Straße Äpfel "
              "Öl Übung naïve café déjà vu Ελληνικά русский 日本語 "
              "mañana").split()


def mutf7_encode(name):
    """Modified UTF-7 of RFC 3501 5.1.3: printable US-ASCII stands for
    itself except '&', which becomes "&-"; every other run of characters
    is "&" + base64 of its UTF-16BE with ',' for '/', unpadded, + "-"."""
    out = []
    run = []

    def flush():
        if run:
            b = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=")
                       .replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def quote(s):
    """An IMAP quoted string (RFC 3501 4.3)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_date(t, zone):
    """The APPEND date-time (RFC 3501 9, date-time) of epoch t, written in
    the zone zone (minutes east of UTC)."""
    tm = time.gmtime(t + zone * 60)
    sign = "+" if zone >= 0 else "-"
    z = abs(zone)
    return '"%2d-%s-%04d %02d:%02d:%02d %s%02d%02d"' % (
        tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year, tm.tm_hour,
        tm.tm_min, tm.tm_sec, sign, z // 60, z % 60)


def rfc5322_date(t, zone):
    tm = time.gmtime(t + zone * 60)
    sign = "+" if zone >= 0 else "-"
    z = abs(zone)
    return "%s, %d %s %04d %02d:%02d:%02d %s%02d%02d" % (
        DAYS[tm.tm_wday], tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year,
        tm.tm_hour, tm.tm_min, tm.tm_sec, sign, z // 60, z % 60)


def folder_tree(m):
    """M folders as lists of components, each parent before its
    children."""
    tree = [f for f in FIXED_FOLDERS][:m]
    year = 2015
    while len(tree) < m:
        tree.append(["Archiv", str(year)])
        for q in range(1, 5):
            if len(tree) < m:
                tree.append(["Archiv", str(year), "Q%d" % q])
        year += 1
        if len(tree) < m and year % 2:
            tree.append(["Ordner %d" % year])
    # A cut-off fixed list may have left a child without its parent.
    have = {tuple(f) for f in tree}
    return [f for f in tree if all(tuple(f[:i]) in have
                                   for i in range(1, len(f)))]


def words(rng, pool, n):
    lines = []
    line = []
    for _ in range(n):
        line.append(rng.choice(pool))
        if len(line) >= 10:
            lines.append(" ".join(line))
            line = []
    if line:
        lines.append(" ".join(line))
    return "\r\n".join(lines) + "\r\n"


def b64_lines(data):
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def make_message(rng, seed, i, t, zone, msgid=True, attach=None):
    """Message number i, as CRLF bytes.  attach (a byte count) forces a
    base64 attachment of that size."""
    kind = "base64" if attach else rng.choice(["7bit", "7bit", "8bit",
                                                "8bit", "base64"])
    h = []
    if rng.random() < 0.5:
        h.append("From: Tester %d <tester%d@example.org>" % (i % 17, i % 17))
    else:
        h.append("From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= "
                 "<juergen@example.org>")
    h.append("To: User <user@test.example>")
    if kind == "8bit" and rng.random() < 0.3:
        # Raw UTF-8 in a header: servers must keep it byte for byte.
        h.append("Subject: Grüße Nummer %d" % i)
    elif rng.random() < 0.3:
        h.append("Subject: =?UTF-8?B?%s?=" % base64.b64encode(
            ("Übersicht Nr. %d" % i).encode()).decode())
    else:
        h.append("Subject: corpus message %d" % i)
    h.append("Date: " + rfc5322_date(t - rng.randrange(0, 600), zone))
    if msgid:
        h.append("Message-ID: <corpus.%d.%d@test.example>" % (seed, i))
    h.append("MIME-Version: 1.0")
    if kind == "7bit":
        h.append("Content-Type: text/plain; charset=us-ascii")
        h.append("Content-Transfer-Encoding: 7bit")
        body = words(rng, WORDS_ASCII, rng.randrange(5, 800)).encode()
    elif kind == "8bit":
        h.append("Content-Type: text/plain; charset=utf-8")
        h.append("Content-Transfer-Encoding: 8bit")
        body = words(rng, WORDS_UTF8 + WORDS_ASCII,
                     rng.randrange(5, 800)).encode()
    else:
        size = attach or rng.randrange(200, 60000)
        boundary = "=_corpus_%d_%d" % (seed, i)
        h.append('Content-Type: multipart/mixed; boundary="%s"' % boundary)
        text = words(rng, WORDS_ASCII, rng.randrange(5, 80)).encode()
        body = (b"This is a multi-part message in MIME format.\r\n"
                b"--" + boundary.encode() + b"\r\n"
                b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" +
                text +
                b"--" + boundary.encode() + b"\r\n"
                b"Content-Type: application/octet-stream; "
                b"name=\"data%d.bin\"\r\n" % i +
                b"Content-Transfer-Encoding: base64\r\n"
                b"Content-Disposition: attachment; "
                b"filename=\"data%d.bin\"\r\n\r\n" % i +
                b64_lines(rng.randbytes(size)) +
                b"--" + boundary.encode() + b"--\r\n")
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def pick_flags(rng):
    flags = [f for f in SYSTEM_FLAGS if rng.random() < 0.3]
    flags += [k for k in KEYWORDS if rng.random() < 0.12]
    return "(" + " ".join(flags) + ")"


def separator(c):
    """The hierarchy separator: LIST "" "" answers with it (RFC 3501
    6.3.8)."""
    typ, data = c.list('""', '""')
    if typ != "OK" or not data or data[0] is None:
        sys.exit("corpus: LIST \"\" \"\" failed: %r" % (data,))
    m = re.match(rb'\([^)]*\) (NIL|"(\\.|[^"])")', data[0])
    if not m or m.group(1) == b"NIL":
        sys.exit("corpus: no hierarchy separator: %r" % (data[0],))
    return m.group(2).decode().replace("\\", "") or "\\"


class Filler:
    def __init__(self, c):
        self.c = c
        self.bytes = 0
        self.kept = 0
        self.doomed = {}        # mailbox -> UIDs to expunge

    def append(self, mailbox, flags, date, msg, doomed=False):
        typ, data = self.c.append(quote(mailbox), flags, date, msg)
        if typ != "OK":
            sys.exit("corpus: APPEND to %s failed: %r" % (mailbox, data))
        if doomed:
            m = re.search(rb"\[APPENDUID \d+ (\d+)\]", data[0] or b"")
            if not m:
                sys.exit("corpus: no APPENDUID (UIDPLUS) in %r" % (data,))
            self.doomed.setdefault(mailbox, []).append(m.group(1).decode())
        else:
            self.bytes += len(msg)
            self.kept += 1

    def expunge(self):
        """Make the UID gaps: \\Deleted on the extras, then EXPUNGE."""
        n = 0
        for mailbox, uids in self.doomed.items():
            typ, data = self.c.select(quote(mailbox))
            if typ != "OK":
                sys.exit("corpus: SELECT %s failed: %r" % (mailbox, data))
            self.c.uid("STORE", ",".join(uids), "+FLAGS.SILENT",
                       "(\\Deleted)")
            self.c.expunge()
            n += len(uids)
        if self.doomed:
            self.c.close()
        return n


def main():
    ap = argparse.ArgumentParser(description="Fill an IMAP account with "
                                 "a deterministic test corpus.")
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--folders", type=int, required=True)
    ap.add_argument("--big-mb", type=float, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--host", default="127.0.0.1")
    a = ap.parse_args()

    start = time.time()
    rng = random.Random(a.seed)
    c = imaplib.IMAP4(a.host, a.port)
    c.login(a.user, a.password)
    sep = separator(c)

    tree = folder_tree(a.folders)
    names = []
    for comps in tree:
        name = sep.join(mutf7_encode(x) for x in comps)
        typ, data = c.create(quote(name))
        if typ != "OK" and b"ALREADYEXISTS" not in (data[0] or b""):
            sys.exit("corpus: CREATE %s failed: %r" % (name, data))
        names.append(name)
    targets = ["INBOX"] * max(1, len(names) // 4)
    targets += [n for comps, n in zip(tree, names) if comps != EMPTY_FOLDER]

    n = a.messages
    ndup = min(n // 2, max(2, n // 300)) if n >= 4 else 0
    nuniq = n - ndup
    # Distinct dates, seconds apart at least, in an order unrelated to
    # the order of the APPENDs (so UID order is not date order).
    slots = list(range(nuniq + n // 20 + 2))
    rng.shuffle(slots)
    times = [BASE_TIME + s * 25013 + rng.randrange(0, 20000) for s in slots]
    dup_of = set(rng.sample(range(nuniq), ndup)) if ndup else set()

    f = Filler(c)
    pending = []                # duplicates, appended a few messages later
    gap = 0
    for i in range(nuniq):
        mailbox = rng.choice(targets)
        zone = rng.choice(ZONES)
        date = imap_date(times[i], zone)
        msg = make_message(rng, a.seed, i, times[i], zone,
                           msgid=rng.random() >= 0.05)
        flags = pick_flags(rng)
        f.append(mailbox, flags, date, msg)
        if i in dup_of:
            pending.append((i + rng.randrange(1, 30), mailbox, flags, date,
                            msg))
        if rng.random() < 0.05:
            # An extra that EXPUNGE removes again: a hole in the UIDs.
            t = times[nuniq + gap % (n // 20 + 2)]
            f.append(mailbox, None, imap_date(t, 0),
                     make_message(rng, a.seed, 1000000 + gap, t, 0),
                     doomed=True)
            gap += 1
        for p in [p for p in pending if p[0] <= i]:
            f.append(*p[1:])
            pending.remove(p)
    for p in pending:
        f.append(*p[1:])

    if a.big_mb > 0:
        big = [n for comps, n in zip(tree, names) if len(comps) > 1]
        mailbox = big[0] if big else "INBOX"
        t = BASE_TIME - 86400
        raw = int(a.big_mb * 1024 * 1024 * 57 / 78)
        f.append(mailbox, "(\\Seen $Label1)", imap_date(t, 60),
                 make_message(rng, a.seed, 999999, t, 60, attach=raw))

    expunged = f.expunge()
    c.logout()
    print("corpus: folders=%d messages=%d bytes=%d duplicates=%d "
          "expunged=%d big=%s separator=%s seconds=%.1f" % (
              len(names), f.kept, f.bytes, ndup, expunged,
              "%gMB" % a.big_mb if a.big_mb > 0 else "none", sep,
              time.time() - start))


if __name__ == "__main__":
    main()
