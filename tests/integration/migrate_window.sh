#!/bin/sh
#
# syncmigrate's night window under a controlled clock (libfaketime's
# faketime): at noon a small account is copied and the large one waits;
# a run started a moment before the window's end stops copying when it
# ends and leaves the large account in progress; the next night finishes
# it without duplicates.  Then plan and final.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/dovecot.sh"

PY=/usr/bin/python3
MIGRATE=$builddir/migrate/syncmigrate
if ! dovecot_available || ! command -v faketime > /dev/null; then
	skip "syncmigrate's window" "Dovecot (dovecot-imapd) or faketime is not installed"
	done_testing
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	skip "syncmigrate's window" "starting Dovecot needs root"
	done_testing
	exit 0
fi
trap 'dovecot_stop "$T/old"; dovecot_stop "$T/new"; cleanup' EXIT
# faketime preloads libfaketime, ahead of an --enable-asan build's runtime.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

OLD=$(free_port)
NEW=$(free_port)
dovecot_setup "$T/old" "$OLD" syncom-win-old / &&
    dovecot_setup "$T/new" "$NEW" syncom-win-new . ||
    { not_ok "two Dovecots are set up"; done_testing; exit 1; }
for u in small large p1 p2 slow; do
	dovecot_user "$T/old" $u "old-$u"
	dovecot_user "$T/new" $u "new-$u"
done
check "the old Dovecot starts" dovecot_start "$T/old"
check "the new Dovecot starts" dovecot_start "$T/new"
$PY "$srcdir/tests/migrate/corpus.py" "$OLD" small old-small --messages 30 \
    --folders 2 > "$T/corpus.out" 2>&1 &&
    $PY "$srcdir/tests/migrate/corpus.py" "$OLD" large old-large --messages 400 \
    --folders 6 --big-mb 20 >> "$T/corpus.out" 2>&1
check "both accounts have mail" test $? -eq 0 || diag "$(cat "$T/corpus.out")"

cat > "$T/m.conf" <<EOF
old 127.0.0.1:$OLD plain
new 127.0.0.1:$NEW plain
state $T/state.db
window 01:00-05:00
big-account 10M
account large large old-large large new-large
account small small old-small small new-small
account p1 p1 old-p1 p1 new-p1
account p2 p2 old-p2 p2 new-p2
account slow slow old-slow slow new-slow
EOF

# at "@TIME [xSPEED]" ARGS...: syncmigrate with the clock starting at
# TIME (and running SPEED times as fast).
at() {
	_at=$1
	shift
	faketime -f "$_at" "$MIGRATE" -c "$T/m.conf" "$@" > "$T/run.log" 2>&1
	rc=$?
	cat "$T/run.log" >> "$T/all.log"
}

same() {
	$PY "$srcdir/tests/migrate/compare.py" "$OLD" "$1" "old-$1" "$NEW" "$1" "new-$1" \
	    > "$T/compare.$1" 2>&1
}

for u in p1 p2 slow; do
	$PY "$srcdir/tests/migrate/corpus.py" "$OLD" $u old-$u --messages 20 \
	    --folders 1 --seed 3 >> "$T/corpus.out" 2>&1
done

at "@2026-11-30 12:00:00" plan small large
check "plan puts the small account first" sh -c "sed -n 2p '$T/run.log' | grep -q '^small'"
check "and the large one in the window" grep -q '^large .*in the window' "$T/run.log" ||
    diag "$(cat "$T/run.log")"

at "@2026-11-30 12:00:00" run --report "$T/report" small large
check_eq "at noon a run succeeds" 0 "$rc"
check "the small account is copied" same small
check "the large one waits for the window" \
    grep -q 'event=account account=large .*result=waiting' "$T/run.log"
check "and has nothing yet" sh -c "! grep -q 'event=folder account=large' '$T/run.log'"

# Ten seconds before five (on a clock twenty times as fast, which the
# pacing follows too): --max-rate holds the large account to forty
# seconds, and the window closes during it.
at "@2026-12-01 04:59:50 x20" run --max-rate 10 --report "$T/report" large
check_eq "a run at the window's end succeeds" 0 "$rc"
check "it stops copying when the window closes" \
    grep -q 'event=account account=large result=stopped-at-window-end' "$T/run.log" ||
    diag "$(tail -5 "$T/run.log")"
copied=$(sed -n 's/.*account=large result=stopped.* copied=\([0-9]*\).*/\1/p' "$T/run.log")
diag "copied $copied before five"
out=$("$MIGRATE" -c "$T/m.conf" status)
case $out in
*"large"*"in progress"*) ok "status shows the large account in progress" ;;
*) not_ok "status shows the large account in progress"; diag "$out" ;;
esac
check "so the new server is not complete yet" sh -c "! $PY $srcdir/tests/migrate/compare.py $OLD large old-large $NEW large new-large > /dev/null 2>&1"

at "@2026-12-01 05:30:00" run small large
check "after the window nothing more of it is copied" \
    grep -q 'event=account account=large .*result=waiting' "$T/run.log"

at "@2026-12-02 01:00:00" run small large
check_eq "the next night's run succeeds" 0 "$rc"
check "it finishes the large account" \
    grep -q 'event=account account=large result=synced' "$T/run.log"
check "without a duplicate or a gap" same large ||
    diag "$(grep -v '^ok' "$T/compare.large" | head)"

# The night's report says what happened, a line each.
check "the report says the small account was synced" \
    grep -q ' small: synced, 30 messages copied' "$T/report"
check "that the large one waited" grep -q ' large: waits for the window' "$T/report"
check "and that it stopped at the window's end" \
    grep -q " large: stopped at the window's end" "$T/report" || diag "$(cat "$T/report")"
check "with a line at the end of each run" test "$(grep -c ' done: ' "$T/report")" -eq 2

# Two accounts at once, each in a process of its own.
"$MIGRATE" -c "$T/m.conf" run --parallel 2 --report "$T/report2" p1 p2 > "$T/run.log" 2>&1
check_eq "--parallel 2 runs two accounts" 0 "$?"
check "both are synced" sh -c "grep -q 'account=p1 result=synced' '$T/run.log' &&
    grep -q 'account=p2 result=synced' '$T/run.log'" || diag "$(cat "$T/run.log")"
check "both report their lines" sh -c "grep -q ' p1: synced' '$T/report2' &&
    grep -q ' p2: synced' '$T/report2' && grep -q ' done: 2 synced' '$T/report2'" ||
    diag "$(cat "$T/report2")"
check "p1 is alike on both sides" same p1
check "p2 is alike on both sides" same p2

# At most 20 messages a second: 20 messages take about a second.
t0=$(date +%s.%N)
"$MIGRATE" -c "$T/m.conf" run --max-rate 20 slow > "$T/run.log" 2>&1
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
check "--max-rate 20 holds 20 messages back to a second" \
    awk -v s="$secs" 'BEGIN { exit !(s >= 0.9) }' || diag "took ${secs}s"
check "and copies them all" same slow

# The cut-over: final takes the deletions, and status says final.
$PY - "$OLD" <<'PYEOF' > "$T/del.out" 2>&1
import imaplib, sys
c = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
c.login("small", "old-small")
c.select("INBOX")
c.store("1", "+FLAGS", "(\\Deleted)")
c.expunge()
c.logout()
print("deleted")
PYEOF
at "@2026-12-03 12:00:00" final small
check_eq "final runs at any hour" 0 "$rc"
check "and applies the deletion" grep -q 'event=account account=small .*deleted=1' "$T/run.log"
check "the small account is alike on both sides" same small
out=$("$MIGRATE" -c "$T/m.conf" status)
case $out in
*small*final*) ok "status marks it final" ;;
*) not_ok "status marks it final"; diag "$out" ;;
esac
done_testing
