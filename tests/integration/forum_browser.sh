#!/bin/sh
#
# The built-in forum in a real browser: headless Chromium, driven by
# chromedriver over WebDriver from forum_browser.py, registers, confirms
# by the link in the mail, logs in, posts, replies, sees news and list
# replies in the thread, edits and deletes, all with JavaScript off, and
# looks at the pages on a phone's screen.  The same posts are then read
# back over NNTP and from the list's Maildir.  A screenshot of each step
# goes to tests/log/forum-browser/ in the build directory.

. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
CHROMIUM=/usr/bin/chromium
DRIVER=/usr/bin/chromedriver
if [ ! -x "$CHROMIUM" ] || [ ! -x "$DRIVER" ]; then
	skip "forum in a browser" \
	    "no $CHROMIUM or $DRIVER (Debian: chromium chromium-driver)"
	done_testing
	exit 0
fi
if ! $PY -W ignore -c 'import nntplib, urllib.request' 2>/dev/null; then
	skip "forum in a browser" "no python3 with nntplib at $PY"
	done_testing
	exit 0
fi

shots=$builddir/tests/log/forum-browser
mkdir -p "$shots" && rm -f "$shots"/*.png

HTTP=$(free_port)
NNTP=$(free_port)
C=$T/syncd.conf
write_conf "$C" "listen http 127.0.0.1:$HTTP
listen nntp 127.0.0.1:$NNTP
nntp-post anonymous
forum-mail maildir $T/out/mail
forum-title \"Test forum\""
sed -i "s|^deliver forum maildir .*|deliver forum builtin|" "$C"
start_syncd "$C" || { not_ok "syncd starts with its forum"; done_testing; exit 1; }

# chromedriver, and the Chromiums it starts, keep their files under $T.
WD=$(free_port)
mkdir -p "$T/home"
HOME=$T/home XDG_CONFIG_HOME=$T/home/.config XDG_CACHE_HOME=$T/home/.cache \
    "$DRIVER" --port="$WD" --log-path="$T/chromedriver.log" \
    > /dev/null 2>&1 &
WD_PID=$!
started_pids="$started_pids $WD_PID"
if ! wait_for 10 listening "$WD"; then
	not_ok "chromedriver starts"
	diag "$(tail -20 "$T/chromedriver.log" 2>/dev/null)"
	done_testing
	exit 1
fi

timeout -k 5 100 $PY -W ignore::DeprecationWarning \
    "$srcdir/tests/integration/forum_browser.py" \
    "$HTTP" "$NNTP" "$WD" "$SYNCCTL" "$C" "$T" "$shots" \
    > "$T/browser.tap" 2>&1
rc=$?
# The browsers end with their sessions; should one be left (the helper
# killed by the timeout), cleanup stops it by the PID the helper noted.
[ -f "$T/chromium.pids" ] &&
    started_pids="$started_pids $(cat "$T/chromium.pids")"
tap_import "$T/browser.tap"
check_eq "the browser client finished" 0 "$rc"
if [ "$rc" -gt 1 ]; then
	diag "chromedriver's log ends:"
	diag "$(tail -15 "$T/chromedriver.log" 2>/dev/null)"
fi

# A topic, a news and a list reply, a forum reply: the edit changed a
# post and the delete hid one, neither added any.
check_eq "every message is one post" 4 \
    "$(sqlite3 "$T/data/forum.db" 'SELECT count(*) FROM post' 2>&1)"

kill -TERM "$WD_PID" 2>/dev/null
check "chromedriver stops" wait_exit "$WD_PID" 5
stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
done_testing
