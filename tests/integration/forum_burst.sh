#!/bin/sh
#
# A burst of large posts to the built-in forum, fed by NNTP streaming:
# every post must reach the board promptly and once, with no write to
# forum.db failing on the way.
#
# The regression test of a701122: a process-wide
# SQLITE_CONFIG_STMTJRNL_SPILL of 1 MiB, meant for the store, applied to
# forum.db's connection too, and SQLite 3.40 fails a write with
# SQLITE_FULL ("database or disk is full") when a statement journal
# kept in memory up to such a threshold spills to its file (it copies
# its memory there in one write of the threshold's size, and the unix
# layer keeps the low 17 bits of a write's length: of 1 MiB it wrote
# nothing).  Each post is stored under a savepoint of the forum's
# batch, whose journal holds every page of the database the savepoint
# changes: a few for the post's rows, but FTS5 flushes the previous
# post's terms when the savepoint opens and, each time 64 more leaves
# were written, does a step of its merges there: 64 leaves for each
# level of the index.  Once the index has several levels and the merges
# reuse pages freed by earlier ones, a step journals over 1 MiB.  Small
# posts never got there (the other tests' few posts, or a thousand of
# 1 KB each here); posts of 16 KB of distinct words do from about the
# 160th on, so 300 leave room.  The
# deferred posts came a retry later; here a retry waits two minutes (one
# at least, with its jitter), so any deferral also misses the 30 s the
# posts get.
#
# SYNCOM_BURST_POSTS and SYNCOM_BURST_SIZE (bytes of body) change the
# burst; the default takes a few seconds (2.5 s on a quiet machine).

. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
if ! command -v sqlite3 > /dev/null; then
	skip "a burst of posts to the forum" "no sqlite3 (Debian's sqlite3)"
	done_testing
	exit 0
fi
N=${SYNCOM_BURST_POSTS:-300}
SIZE=${SYNCOM_BURST_SIZE:-16000}

NNTP=$(free_port)
C=$T/syncd.conf
write_conf "$C" "listen nntp 127.0.0.1:$NNTP"
sed -i -e 's|^deliver forum maildir .*|deliver forum builtin|' \
    -e 's|^retry-min .*|retry-min 120s|' \
    -e 's|^retry-max .*|retry-max 120s|' "$C"
start_syncd "$C" || { not_ok "syncd starts with its forum"; done_testing; exit 1; }

# The burst: N TAKETHIS in one stream, sent by one thread while the
# answers are read.  The words are random but the same each run (a fixed
# seed), so the index grows alike every time.  Prints how many were
# taken (239), and any other answer.
t0=$(date +%s)
$PY - "$NNTP" "$N" "$SIZE" > "$T/feed.out" 2>&1 <<'EOF'
import random
import socket
import sys
import threading

port, n, size = (int(a) for a in sys.argv[1:4])
rnd = random.Random(20261207)


def article(i):
    msgid = "<burst%d@peer.example>" % i
    lines = []
    length = 0
    while length < size:
        line = " ".join("w%06x" % rnd.getrandbits(24) for _ in range(8))
        lines.append(line)
        length += len(line) + 2
    return ("TAKETHIS %s\r\n"
            "Path: peer.example!not-for-mail\r\n"
            "From: Peer <peer@example.org>\r\n"
            "Newsgroups: pirates.de.test\r\n"
            "Subject: burst %d\r\n"
            "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: %s\r\n\r\n%s\r\n.\r\n"
            % (msgid, i, msgid, "\r\n".join(lines))).encode()


s = socket.create_connection(("127.0.0.1", port), timeout=60)
f = s.makefile("rb")
f.readline()
s.sendall(b"MODE STREAM\r\n")
if not f.readline().startswith(b"203"):
    print("no streaming")
    sys.exit(1)
burst = b"".join(article(i) for i in range(n))
sender = threading.Thread(target=s.sendall, args=(burst,), daemon=True)
sender.start()
taken = 0
for i in range(n):
    answer = f.readline().decode("utf-8", "replace").rstrip("\r\n")
    if answer == "239 <burst%d@peer.example>" % i:
        taken += 1
    else:
        print(answer or "connection closed")
        if not answer:
            break
print(taken)
EOF
check_eq "syncd takes every article of the burst" "$N" "$(tail -1 "$T/feed.out")"
[ "$(tail -1 "$T/feed.out")" = "$N" ] || diag "$(head -5 "$T/feed.out")"

burst_posts() {
	sqlite3 "$T/data/forum.db" "SELECT count(*) FROM post
	    WHERE msgid LIKE '<burst%@peer.example>'"
}
on_board() {
	[ "$(burst_posts)" = "$N" ]
}
if check "every post of the burst is on the board within 30 s" \
    wait_for 30 on_board; then
	diag "on the board $(( $(date +%s) - t0 )) s after the burst began"
else
	diag "$(burst_posts) of $N on the board"
fi
check_eq "none of them twice" 0 "$(sqlite3 "$T/data/forum.db" \
    "SELECT count(*) - count(DISTINCT msgid) FROM post
    WHERE msgid LIKE '<burst%@peer.example>'")"

# What a failed write of the forum leaves in the log: forum_db's own
# event, and the outbox's deferral of the batch's deliveries.
bad='event=forum-db|event=(deferred|dead-letter) .*target=forum:|disk is full'
check "no write to forum.db failed or was deferred" absent "$bad" \
    "$T/syncd.log" ||
    diag "$(grep -cE "$bad" "$T/syncd.log") such lines, the first:
$(grep -m 5 -E "$bad" "$T/syncd.log")"
stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
done_testing
