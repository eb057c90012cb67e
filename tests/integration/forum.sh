#!/bin/sh
#
# The built-in forum end to end: syncd with its HTTP listener, NNTP
# server and Maildir list and mail sides; forum_client.py registers,
# confirms by the mail it gets, logs in, posts, replies and edits, reads
# news and list replies in the same topic, and tries the usual attacks
# (XSS, CSRF, SQL metacharacters, session fixation, password guessing).

. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
if ! $PY -W ignore -c 'import nntplib, http.client' 2>/dev/null; then
	skip "forum" "no python3 with nntplib at $PY"
	done_testing
	exit 0
fi

HTTP=$(free_port)
NNTP=$(free_port)
C=$T/syncd.conf
write_conf "$C" "listen http 127.0.0.1:$HTTP
listen nntp 127.0.0.1:$NNTP
nntp-post anonymous
forum-mail maildir $T/out/mail
forum-title \"Test forum\""
sed -i "s|^deliver forum maildir .*|deliver forum builtin|" "$C"
sed -i 's|^\tboard test$|\tboard test\n\tdescription "Tests of the forum"|' "$C"
cat >> "$C" <<EOF

channel mod {
	newsgroup pirates.de.mod
	list pirates-mod@lists.test.example
	board mod
	moderated yes
}
EOF
start_syncd "$C" || { not_ok "syncd starts with its forum"; done_testing; exit 1; }

export T
$PY -W ignore::DeprecationWarning "$srcdir/tests/integration/forum_client.py" \
    "$HTTP" "$NNTP" "$T/out/mail" "$T/out/list" "$SYNCCTL" "$C" \
    "$T/out/news" \
    > "$T/client.tap" 2>&1
rc=$?
tap_import "$T/client.tap"
check_eq "the forum client finished" 0 "$rc"

# The posts survive a restart, and a Message-ID is one post.
stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
start_syncd "$C" || { not_ok "syncd starts again"; done_testing; exit 1; }
check "posts are still there after a restart" \
    sh -c "$PY -c 'import urllib.request,sys; t=urllib.request.urlopen(\"http://127.0.0.1:$HTTP/b/test/search?q=Liste\").read().decode(); sys.exit(0 if \"Antwort von der Liste\" in t else 1)'"
# A forum topic, a news and a list reply, a forum reply, a member's news
# post, two posts to the moderated board, the hostile article, the form
# sent twice (once) and the one with a foreign Message-ID: the edit
# changed a post, the cancels hid two, and the outbox's deliveries of
# the forum's own posts added none.
check_eq "every message is one post" 10 \
    "$(sqlite3 "$T/data/forum.db" 'SELECT count(*) FROM post' 2>&1)"

# A crosspost is one post, on one board; a reply to it through its other
# channel joins its topic.  A reply to a post only another channel
# carries starts a topic of its own, as it does in its group.
posts() {
	sqlite3 "$T/data/forum.db" "SELECT $1 FROM post WHERE msgid IN ($2)" 2>&1
}
msg "$T/x1" "<cross@example.org>" "Newsgroups: pirates.de.test,pirates.de.etc.syncom.technik"
msg "$T/y1" "<test-only@example.org>" "Newsgroups: pirates.de.test"
"$SYNCCTL" -c "$C" inject --source news "$T/x1" > /dev/null
"$SYNCCTL" -c "$C" inject --source news "$T/y1" > /dev/null
wait_for 10 sh -c "[ \"\$(sqlite3 '$T/data/forum.db' \"SELECT count(*) FROM post WHERE msgid IN ('<cross@example.org>', '<test-only@example.org>')\")\" = 2 ]"
msg "$T/x2" "<cross-reply@example.org>" "List-Id: <syncom-technik.lists.test.example>" \
    "In-Reply-To: <cross@example.org>" "References: <cross@example.org>"
msg "$T/y2" "<moved-reply@example.org>" "List-Id: <syncom-technik.lists.test.example>" \
    "References: <test-only@example.org>"
"$SYNCCTL" -c "$C" inject --source list "$T/x2" > /dev/null
"$SYNCCTL" -c "$C" inject --source list "$T/y2" > /dev/null
wait_for 10 sh -c "[ \"\$(sqlite3 '$T/data/forum.db' \"SELECT count(*) FROM post WHERE msgid IN ('<cross-reply@example.org>', '<moved-reply@example.org>')\")\" = 2 ]"
check_eq "a crosspost is one post" 1 "$(posts 'count(*)' "'<cross@example.org>'")"
check_eq "a reply through its other channel joins its topic" 1 \
    "$(posts 'count(DISTINCT topic)' "'<cross@example.org>', '<cross-reply@example.org>'")"
check_eq "a reply to what only another channel carries has a topic of its own" 2 \
    "$(posts 'count(DISTINCT topic)' "'<test-only@example.org>', '<moved-reply@example.org>'")"
# Its author's edit through that channel changes it there.
msg "$T/x3" "<cross-edit@example.org>" "Newsgroups: pirates.de.etc.syncom.technik" \
    "Supersedes: <cross-reply@example.org>" "References: <cross@example.org>"
"$SYNCCTL" -c "$C" inject --source news "$T/x3" > /dev/null
check "an edit through the reply's channel changes the reply" wait_for 10 sh -c \
    "[ \"\$(sqlite3 '$T/data/forum.db' \"SELECT body FROM post WHERE msgid = '<cross-reply@example.org>'\")\" = 'Body of <cross-edit@example.org>.' ]" ||
    diag "$(sqlite3 "$T/data/forum.db" "SELECT msgid, body FROM post WHERE msgid LIKE '<cross%'")"
check_eq "and is no post of its own" 0 "$(posts 'count(*)' "'<cross-edit@example.org>'")"

# Posts stored in batches survive SIGKILL: no accepted message is lost
# on the way to the board (the Message-ID makes each one post).
i=0
while [ $i -lt 100 ]; do
	msg "$T/k$i" "<k$i@example.org>" "Newsgroups: pirates.de.test"
	"$SYNCCTL" -c "$C" inject --source news "$T/k$i" > /dev/null
	i=$((i + 1))
done
kill -KILL "$SYNCD_PID"
wait "$SYNCD_PID" 2>/dev/null
start_syncd "$C" || { not_ok "syncd starts after SIGKILL"; done_testing; exit 1; }
check "after SIGKILL every accepted message reaches the board" wait_for 20 sh -c "[ \"\$(sqlite3 '$T/data/forum.db' \"SELECT count(*) FROM post WHERE msgid LIKE '<k%'\")\" = 100 ]"

# The board's pages past the first seek from keys syncd remembers: each
# lists the topics OFFSET gives, before and after a reply moves an old
# topic to the top (the 100 topics above share their date: the id
# orders them).
pages_agree() {
	n=1
	while [ $n -le 5 ]; do
		got=$($PY -c 'import re, sys, urllib.request
t = urllib.request.urlopen(sys.argv[1]).read().decode()
print(" ".join(re.findall(r"<a href=\"/t/(\d+)\">", t)))' \
		    "http://127.0.0.1:$HTTP/b/test?page=$n")
		want=$(sqlite3 "$T/data/forum.db" "SELECT id FROM topic WHERE
		    board = (SELECT id FROM board WHERE name = 'test') AND
		    posts > 0 ORDER BY last DESC, id DESC LIMIT 30
		    OFFSET $(( (n - 1) * 30 ))" | tr '\n' ' ')
		if [ "$got" != "${want% }" ]; then
			diag "page $n: [$got], OFFSET gives [${want% }]"
			return 1
		fi
		n=$((n + 1))
	done
}
check "each page of a board lists what OFFSET gives" pages_agree
msg "$T/kr" "<kr@example.org>" "Newsgroups: pirates.de.test" \
    "References: <k7@example.org>"
sed -i 's/^Date: .*/Date: Mon, 30 Nov 2026 10:00:00 +0000\r/' "$T/kr"
"$SYNCCTL" -c "$C" inject --source news "$T/kr" > /dev/null
wait_for 10 sh -c "[ \"\$(sqlite3 '$T/data/forum.db' \"SELECT count(*) FROM post WHERE msgid = '<kr@example.org>'\")\" = 1 ]"
check "and after a reply moved a topic to the top" pages_agree
stop_syncd
# Every password the members used, right or wrong, over HTTP and NNTP:
# none is in the log, though it was at debug level.
check "no password is in syncd's log" \
    absent 'correct horse|wrong password|wrong [0-9]|secret' "$T/syncd.log"
done_testing
