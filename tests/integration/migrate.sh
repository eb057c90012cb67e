#!/bin/sh
#
# syncmigrate between two real Dovecots with different hierarchy
# separators ('/' and '.'): a generated corpus of 2,000 messages in 50
# folders (nested and non-ASCII names, flags and keywords, 8-bit and
# base64 bodies, no Message-ID, exact duplicates, a 30 MB message, UID
# gaps) is copied, then judged by syncmigrate verify and independently
# over IMAP and with doveadm fetch; a rerun copies nothing; a delta (new
# mail, flag changes, deletions) is applied exactly; a SIGKILL in the
# middle and a rerun leave no duplicate; so does a UIDVALIDITY reset; a
# connection that breaks, to the new server or in the middle of a message
# from the old one, is made again and the run carries on.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/dovecot.sh"

PY=/usr/bin/python3
MIGRATE=$builddir/migrate/syncmigrate
CORPUS="$PY $srcdir/tests/migrate/corpus.py"
COMPARE="$PY $srcdir/tests/migrate/compare.py"
dovecot_require "syncmigrate between two Dovecots"
trap 'dovecot_stop "$T/old"; dovecot_stop "$T/new"; cleanup' EXIT

OLD=$(free_port)
NEW=$(free_port)
dovecot_setup "$T/old" "$OLD" syncom-old / &&
    dovecot_setup "$T/new" "$NEW" syncom-new . ||
    { not_ok "two Dovecots are set up"; done_testing; exit 1; }
for u in alice bob carol dave; do
	dovecot_user "$T/old" $u "old-$u"
	dovecot_user "$T/new" $u "new-$u"
done
dovecot_master "$T/old" migrator "old-secret"
dovecot_master "$T/new" migrator "new-secret"
check "the old Dovecot starts" dovecot_start "$T/old"
check "the new Dovecot starts" dovecot_start "$T/new"

C=$T/syncmigrate.conf
cat > "$C" <<EOF
# The test's migration: Dovecot master users, no user passwords.
old 127.0.0.1:$OLD plain
new 127.0.0.1:$NEW plain
old-master migrator old-secret
new-master migrator new-secret
state $T/state.db
account alice
account bob
account carol
account dave
EOF

# same USER: the independent judges, over IMAP and with doveadm.
same() {
	$COMPARE "$OLD" "$1" "old-$1" "$NEW" "$1" "new-$1" > "$T/compare.$1" 2>&1 &&
	    $COMPARE --doveadm "$T/old/dovecot.conf" "$1" "$T/new/dovecot.conf" "$1" \
	    > "$T/doveadm.$1" 2>&1
}

# run ARGS...: syncmigrate run, its log in $T/run.log, its time in $SECS.
run() {
	t0=$(date +%s.%N)
	"$MIGRATE" -c "$C" run "$@" > "$T/run.log" 2>&1
	rc=$?
	SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	cat "$T/run.log" >> "$T/all.log"
	return $rc
}

# stat NAME: a figure from the last run's account line.
stat() {
	sed -n "s/.*event=account .* $1=\([0-9]*\).*/\1/p" "$T/run.log" | tail -1
}

out=$($CORPUS "$OLD" alice old-alice --messages 2000 --folders 50 --big-mb 30 --seed 7 2>&1)
check "the old server holds the corpus" test $? -eq 0 || diag "$out"
diag "corpus: $out"

run alice
check_eq "the first run succeeds" 0 "$rc" || diag "$(tail -5 "$T/run.log")"
FIRST=$SECS
copied=$(stat copied)
check "it copies every message" test "${copied:-0}" -ge 2000
"$MIGRATE" -c "$C" verify alice > "$T/verify.out" 2>&1
check_eq "syncmigrate verify finds both sides alike" 0 "$?" ||
    diag "$(grep -v '^ok' "$T/verify.out" | head -20)"
check "and says so" grep -q '^alice: both servers have the same messages' "$T/verify.out"
check "an IMAP comparison finds nothing missing or extra" same alice ||
    diag "$(grep -v '^ok' "$T/compare.alice" "$T/doveadm.alice" | head -20)"
check "so does doveadm fetch on both servers" grep -q '^identical' "$T/doveadm.alice"

run alice
check_eq "a rerun with no changes copies nothing" 0 "$(stat copied)"
check_eq "and sets no flags" 0 "$(stat flags)"
# Speed is the benchmark's to judge; here it is only shown.
diag "first run ${FIRST}s, rerun ${SECS}s"

# A delta: three new messages, five flag changes, two deletions.
$PY - "$OLD" <<'PYEOF' > "$T/delta.out" 2>&1
import imaplib, sys, time
c = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
c.login("alice", "old-alice")
c.select("INBOX")
for i in range(3):
    c.append("INBOX", "(\\Seen $Delta)", imaplib.Time2Internaldate(time.time() - 60 * i),
             ("From: d@example.org\r\nSubject: delta %d\r\nMessage-ID: <delta%d@example.org>\r\n\r\nnew\r\n" % (i, i)).encode())
typ, data = c.uid("SEARCH", None, "ALL")
uids = data[0].split()
for u in uids[:5]:
    c.uid("STORE", u, "FLAGS", "(\\Flagged $Changed)")
c.uid("STORE", b",".join(uids[5:7]), "+FLAGS", "(\\Deleted)")
c.expunge()
c.logout()
print("delta done")
PYEOF
check "the delta is made on the old server" grep -q "delta done" "$T/delta.out" ||
    diag "$(cat "$T/delta.out")"
run --sync-deletes alice
check_eq "the delta run copies the three new messages" 3 "$(stat copied)"
check_eq "sets the five changed flags" 5 "$(stat flags)"
check_eq "and deletes the two deleted ones" 2 "$(stat deleted)"
check "both sides are alike again" same alice ||
    diag "$(grep -v '^ok' "$T/compare.alice" | head -20)"

# SIGKILL in the middle of bob's first run, then a rerun.
out=$($CORPUS "$OLD" bob old-bob --messages 600 --folders 8 --big-mb 0 --seed 11 2>&1)
check "bob's mail is on the old server" test $? -eq 0 || diag "$out"
"$MIGRATE" -c "$C" run bob > "$T/killed.log" 2>&1 &
victim=$!
started_pids="$started_pids $victim"
# Somewhere between 0.1 and 0.6 s in.
sleep "0.$(( $(od -An -N1 -tu1 /dev/urandom) % 5 + 1 ))"
kill -KILL "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
run bob
check_eq "after a SIGKILL a rerun finishes" 0 "$rc" || diag "$(tail -5 "$T/run.log")"
diag "the killed run had done $(grep -c 'event=folder' "$T/killed.log") folders; the rerun matched $(stat matched)"
check "with no duplicate and nothing missing" same bob ||
    diag "$(grep -v '^ok' "$T/compare.bob" | head -20)"

# The connection to the new server breaks in the middle of carol's run
# (its IMAP process dies): the run waits, connects again and carries on.
out=$($CORPUS "$OLD" carol old-carol --messages 600 --folders 8 --big-mb 0 --seed 13 2>&1)
check "carol's mail is on the old server" test $? -eq 0 || diag "$out"
# Held to 300 messages a second, the run takes two seconds.
"$MIGRATE" -c "$C" run --max-rate 300 carol > "$T/restart.log" 2>&1 &
runner=$!
started_pids="$started_pids $runner"
sleep 0.5
imap=$(sed -n 's/.*Login: user=<carol>.*mpid=\([0-9]*\).*/\1/p' "$T/new/log/dovecot.log" | tail -1)
[ -n "$imap" ] && kill -KILL "$imap"
wait "$runner"
check_eq "a run through a broken connection succeeds" 0 "$?" ||
    diag "$(tail -5 "$T/restart.log")"
check "after trying again" grep -q 'account=carol result=retrying' "$T/restart.log" ||
    diag "$(grep 'account=carol' "$T/restart.log" | tail -3)"
check "with nothing lost or doubled" same carol ||
    diag "$(grep -v '^ok' "$T/compare.carol" | head -20)"

# The connection to the old server ends in the middle of a 5 MB message
# (tcp_cut.py relays and cuts it once): the run sees the end, connects
# again and carries on.
out=$($CORPUS "$OLD" dave old-dave --messages 20 --folders 2 --big-mb 5 --seed 17 2>&1)
check "dave's mail is on the old server" test $? -eq 0 || diag "$out"
RELAY=$(free_port)
$PY "$srcdir/tests/integration/tcp_cut.py" "$RELAY" "$OLD" 2> "$T/cut.log" &
relay=$!
started_pids="$started_pids $relay"
wait_for 10 listening "$RELAY"
sed "s/^old 127.0.0.1:$OLD /old 127.0.0.1:$RELAY /" "$C" > "$T/cut.conf"
timeout 120 "$MIGRATE" -c "$T/cut.conf" run dave > "$T/cut-run.log" 2>&1
check_eq "a run whose old connection ends mid-message succeeds" 0 "$?" ||
    diag "$(tail -5 "$T/cut-run.log")"
check "the relay did cut it" grep -q '^cut$' "$T/cut.log"
check "the run tried again" grep -q 'account=dave result=retrying' "$T/cut-run.log"
check "with nothing lost or doubled" same dave ||
    diag "$(grep -v '^ok' "$T/compare.dave" | head -20)"
kill "$relay"

# A new UIDVALIDITY on the old side: matched again, not copied again.
doveadm -c "$T/old/dovecot.conf" mailbox update -u alice --uid-validity 4242 INBOX > "$T/uv.out" 2>&1
check "the old INBOX gets a new UIDVALIDITY" test $? -eq 0 || diag "$(cat "$T/uv.out")"
run alice
check_eq "the run after it copies nothing" 0 "$(stat copied)"
check "it matched the INBOX by content" test "$(stat matched)" -gt 0
check "both sides are still alike" same alice ||
    diag "$(grep -v '^ok' "$T/compare.alice" | head -20)"

# The night's report as a technik notice, through syncd's control socket.
NNTP=$(free_port)
write_conf "$T/syncd.conf" "listen nntp 127.0.0.1:$NNTP
notice-group pirates.de.etc.syncom.technik"
if start_syncd "$T/syncd.conf"; then
	"$MIGRATE" -c "$C" run --notify "$T/run/syncd.sock" alice > "$T/notify.log" 2>&1
	check_eq "a run with --notify succeeds" 0 "$?"
	check "it says the report was posted" grep -q "event=notify .*result=posted" "$T/notify.log"
	check "the report is in the technik group" wait_for 10 sh -c \
	    "/usr/bin/python3 -W ignore $srcdir/tests/integration/nntp_tool.py $NNTP subjects pirates.de.etc.syncom.technik | grep -q 'Migration night: 1 synced, 0 waiting, 0 failed'"
	stop_syncd
	"$MIGRATE" -c "$C" run --notify "$T/run/syncd.sock" alice > "$T/notify2.log" 2>&1
	check_eq "without syncd the run still succeeds" 0 "$?"
	check "and says the report was not posted" grep -q "event=notify .*result=not-posted" "$T/notify2.log"
else
	not_ok "syncd starts for the report notice"
fi

check "no password is in syncmigrate's logs" \
    absent 'secret|(old|new)-(alice|bob|carol|dave)' "$T"/*.log
out=$("$MIGRATE" -c "$C" status)
case $out in
*alice*synced*bob*synced*) ok "status shows both accounts synced" ;;
*) not_ok "status shows both accounts synced"; diag "$out" ;;
esac
done_testing
