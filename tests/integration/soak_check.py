#!/usr/bin/python3
#
# The soak's verdict (soak.sh): after the senders are done and syncd has
# had its quiet time, every message in the ledger is on every side it
# belongs to exactly once, and no side holds any Message-ID twice.
#
#   soak_check.py [-q] LEDGER NNTP NEWS-TARGET LIST-MAILDIR FORUM-DB
#
# NEWS-TARGET is inn:PORT (a real INN fed by syncd) or maildir:DIR.
# Where a message belongs follows syncd.conf(5): a news article fed by
# IHAVE or TAKETHIS does not go back to the news peer, list mail not back
# to the list; everything reaches syncd's group and the forum.  A forum
# post's Message-ID is syncd's own: the marker in its subject finds it.
# -q prints nothing and only sets the exit status (soak.sh polls with it
# until the deliveries are done); without it, TAP.

import nntplib
import os
import re
import sqlite3
import sys
from collections import Counter

args = sys.argv[1:]
quiet = args[0] == "-q"
if quiet:
    args = args[1:]
ledger_path, nntp_port, news_target, list_dir, forum_db = args
GROUP = "pirates.de.test"
n = 0
failed = 0


def ok(cond, what, detail=None):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    if quiet:
        return
    print("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond and detail:
        for line in str(detail).splitlines()[:20]:
            print("#   " + line)


def group_ids(port, reader):
    """The Message-IDs of the group's articles, as a Counter."""
    s = nntplib.NNTP("127.0.0.1", port, readermode=reader, timeout=30)
    _, count, first, last, _ = s.group(GROUP)
    ids = Counter()
    if count > 0:
        for _, over in s.over((first, last))[1]:
            ids[over["message-id"]] += 1
    s.quit()
    return ids


def maildir_ids(d):
    ids = Counter()
    for sub in ("new", "cur"):
        p = os.path.join(d, sub)
        if not os.path.isdir(p):
            continue
        for name in os.listdir(p):
            with open(os.path.join(p, name), "rb") as f:
                head = f.read(65536).split(b"\r\n\r\n", 1)[0]
            m = re.search(rb"^Message-ID:\s*(<[^>]*>)", head, re.I | re.M)
            ids[m.group(1).decode() if m else "(none) " + name] += 1
    return ids


def forum_posts():
    """Message-ID -> count, and marker -> Message-IDs, of the board."""
    db = sqlite3.connect("file:%s?mode=ro" % forum_db, uri=True, timeout=30)
    ids = Counter()
    markers = {}
    for msgid, subject in db.execute(
            "SELECT post.msgid, post.subject FROM post"
            " JOIN topic ON topic.id = post.topic"
            " JOIN board ON board.id = topic.board WHERE board.name = 'test'"):
        ids[msgid] += 1
        m = re.match(r"soak (f\d+) ", subject)
        if m:
            markers.setdefault(m.group(1), []).append(msgid)
    db.close()
    return ids, markers


try:
    ledger = [line.split() for line in open(ledger_path)]
    group = group_ids(int(nntp_port), False)
    kind, where = news_target.split(":", 1)
    peer = group_ids(int(where), True) if kind == "inn" else maildir_ids(where)
    listed = maildir_ids(list_dir)
    forum, markers = forum_posts()
except (OSError, nntplib.NNTPError, sqlite3.Error, ValueError) as e:
    ok(False, "the sides can be read", e)
    print("1..%d" % n) if not quiet else None
    sys.exit(1)

# Expected presence of each message on (group, news peer, list, forum).
expect = {}
double_posts = 0
for side, method, marker, msgid, answer, attempts in ledger:
    if side == "news":
        ids = [msgid]
        where = (1, 1 if method == "POST" else 0, 1, 1)
    elif side == "list":
        ids = [msgid]
        where = (1, 1, 0, 1)
    else:
        ids = markers.get(marker, [])
        # A form whose answer was lost is sent again with the Message-ID
        # it came with: still one post.
        double_posts += max(0, len(ids) - 1)
        where = (1, 1, 1, 1)
        if not ids:
            expect["(forum post %s)" % marker] = where
    for i in ids:
        expect[i] = where

ok(double_posts == 0, "a forum form sent again after a lost answer is"
   " one post", "%d posts twice" % double_posts)
sides = (("syncd's group", group), ("the news peer", peer),
         ("the list", listed), ("the forum", forum))
for k, (name, have) in enumerate(sides):
    wrong = ["%s: %d, want %d" % (i, have.get(i, 0), w[k])
             for i, w in expect.items() if have.get(i, 0) != w[k]]
    ok(not wrong, "%s holds each of the %d messages that belong there once"
       % (name, sum(1 for w in expect.values() if w[k])),
       "%d wrong, first: %s" % (len(wrong), "\n".join(wrong[:10])))
    twice = [i for i, c in have.items() if c > 1]
    ok(not twice, "%s holds no Message-ID twice (%d articles)"
       % (name, sum(have.values())), twice[:10])
    strange = [i for i in have if i not in expect]
    ok(not strange, "%s holds nothing that was not sent" % name, strange[:10])
if not quiet:
    print("# %d messages answered, %d sent more than once, %d forum"
          " double submits" % (len(ledger),
                               sum(1 for e in ledger if int(e[5]) > 1),
                               double_posts))
    print("1..%d" % n)
sys.exit(1 if failed else 0)
