#!/bin/sh
#
# The soak: news (TAKETHIS, IHAVE, POST), list mail (LMTP) and forum posts
# (HTTP) stream into syncd from three senders while syncd is killed with
# SIGKILL at random moments and started again.  The senders send again
# whatever was not acknowledged, as real peers do.  After a quiet time
# every message is exactly once on every side it belongs to: syncd's
# group, the news peer (a real INN when it can run, else a Maildir), the
# list's Maildir and the forum's board; no side holds a Message-ID twice.
#
# SOAK_MESSAGES (default 600) messages, SOAK_KILLS (default 6) kills,
# spread over the run by the senders' progress.  The long run:
#   SOAK_MESSAGES=10000 SOAK_KILLS=20 tests/run soak

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/inn.sh"

PY=/usr/bin/python3
N=${SOAK_MESSAGES:-600}
K=${SOAK_KILLS:-6}
if ! $PY -W ignore -c 'import nntplib, smtplib, sqlite3' 2>/dev/null; then
	skip "soak" "no python3 with nntplib and sqlite3 at $PY"
	done_testing
	exit 0
fi

NNTP=$(free_port)
LMTP=$(free_port)
HTTP=$(free_port)
C=$T/syncd.conf
write_conf "$C" "listen nntp 127.0.0.1:$NNTP
listen lmtp 127.0.0.1:$LMTP
listen http 127.0.0.1:$HTTP
nntp-post anonymous
forum-mail maildir $T/out/mail"
sed -i "s|^deliver forum maildir .*|deliver forum builtin|" "$C"
sed -i 's|^\tlist pirates-test@lists.test.example$|&\n\tgateway-address gateway+test@gw.test.example|' "$C"

# The news side: a real INN when there is one (it needs root to start),
# else a Maildir.
if inn_available && [ "$(id -u)" -eq 0 ]; then
	INNPORT=$(free_port)
	inn_setup "$T/inn" "$INNPORT" inn.test.example
	if inn_start "$T/inn"; then
		ok "INN starts as the news peer"
		sed -i "s|^deliver news maildir .*|deliver news nntp 127.0.0.1:$INNPORT|" "$C"
		news_target=inn:$INNPORT
	else
		not_ok "INN starts as the news peer"
		done_testing
		exit 1
	fi
else
	skip "INN as the news peer" "INN is not installed or we are not root: a Maildir stands in"
	news_target=maildir:$T/out/news
fi

start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }

started=$(date +%s)
$PY -W ignore::DeprecationWarning "$srcdir/tests/integration/soak_send.py" \
    "$NNTP" "$LMTP" "$HTTP" "$T/out/mail" "$N" "$T/ledger" "$T/progress" \
    2> "$T/send.err" &
sender=$!
started_pids="$started_pids $sender"

# Kill k falls when about k/(K+1) of the messages are answered, a little
# earlier or later at random, then at a random moment within 0.3 s; syncd
# stays down up to half a second.  Bounded: the senders give up after
# SOAK_DEADLINE (900 s) and the loop ends with them.
answered() { cat "$T/progress" 2>/dev/null || echo 0; }
kills=0
k=1
while [ $k -le "$K" ] && kill -0 $sender 2>/dev/null; do
	step=$((N / (K + 1)))
	at=$((k * step - step / 3 + $(random_below $((step * 2 / 3 + 1)))))
	while [ "$(answered)" -lt $at ] && kill -0 $sender 2>/dev/null; do
		sleep 0.05
	done
	kill -0 $sender 2>/dev/null || break
	sleep "0.$(random_below 3)$(random_below 10)"
	crash_syncd
	kills=$((kills + 1))
	sleep "0.$(random_below 5)"
	if ! start_syncd "$C"; then
		not_ok "syncd starts again after kill $kills"
		done_testing
		exit 1
	fi
	k=$((k + 1))
done
wait $sender
rc=$?
check_eq "the senders had every message answered" 0 "$rc" ||
    diag "$(cat "$T/send.err")"
check "syncd was killed at least $K times meanwhile ($kills)" [ "$kills" -ge "$K" ]
diag "$(answered) messages answered in $(( $(date +%s) - started )) s;" \
    "$(awk '$6 > 1' "$T/ledger" | wc -l) sent more than once"

# The quiet time: the outbox delivers what is left (bounded), then the
# verdict.
CHECK="$PY -W ignore::DeprecationWarning $srcdir/tests/integration/soak_check.py"
ARGS="$T/ledger $NNTP $news_target $T/out/list $T/data/forum.db"
wait_for $((60 + N / 50)) $CHECK -q $ARGS
$CHECK $ARGS > "$T/check.tap" 2>&1
tap_import "$T/check.tap"
check "syncd lives through the soak" kill -0 "$SYNCD_PID"
check_eq "nothing is left in the outbox" "" \
    "$("$SYNCCTL" -c "$C" queue | grep -E 'pending|dead' | grep -v ' 0 *$')"
check_eq "no dead letters" "" "$("$SYNCCTL" -c "$C" dead 2>&1 | grep '<')"
stop_syncd
check_eq "a clean stop afterwards" 0 "$SYNCD_STATUS"
[ -n "${INNPORT:-}" ] && inn_stop "$T/inn"
diag "soak: $N messages, $kills kills, $(( $(date +%s) - started )) s"
done_testing
