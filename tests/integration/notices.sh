#!/bin/sh
#
# Technik notices: each automatic notice appears exactly once in the
# technik group over NNTP after its trigger, and not again after a
# restart: this version's CHANGES entries at the first start, a dead
# letter, a news peer (a real INN) down longer than notice-peer-down and
# back again; "syncctl notice" posts one by hand.  Then the jobs:
# "syncctl jobs" and "run-job", a description changed in the
# configuration on the forum board and in LIST NEWSGROUPS.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/inn.sh"

PY="/usr/bin/python3 -W ignore::DeprecationWarning"
TOOL="$PY $srcdir/tests/integration/nntp_tool.py"
if ! $PY -c 'import nntplib' 2>/dev/null; then
	skip "technik notices" "no python3 with nntplib at /usr/bin/python3"
	done_testing
	exit 0
fi
have_inn=0
if inn_available && [ "$(id -u)" -eq 0 ]; then
	have_inn=1
fi

NNTP=$(free_port)
HTTP=$(free_port)
INNPORT=$(free_port)
TECHNIK=pirates.de.etc.syncom.technik
C=$T/syncd.conf
: > "$T/not-a-maildir"
write_conf "$C" "listen nntp 127.0.0.1:$NNTP
listen http 127.0.0.1:$HTTP
nntp-post anonymous
notice-group $TECHNIK
notice-peer-down 10s
notice-interval 1m
changes-file $srcdir/CHANGES
max-attempts 2"
sed -i "s|^deliver forum maildir .*|deliver forum builtin|" "$C"
# The list side cannot be written: its deliveries die (a dead letter).
sed -i "s|^deliver list maildir .*|deliver list maildir $T/not-a-maildir|" "$C"
if [ $have_inn -eq 1 ]; then
	sed -i "s|^deliver news maildir .*|deliver news nntp 127.0.0.1:$INNPORT|" "$C"
	inn_setup "$T/inn" "$INNPORT" inn.test.example gw.test.example "$NNTP"
	check "innd starts" inn_start "$T/inn"
fi

# subjects_like PATTERN: how many articles of the technik group have a
# Subject that matches the grep pattern.
subjects_like() {
	$TOOL "$NNTP" subjects "$TECHNIK" | grep -c -- "$1"
}
# once PATTERN: exactly one such article.
once() {
	[ "$(subjects_like "$1")" -eq 1 ]
}

start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }
version=$("$SYNCD" -V | awk '{print $NF}')
check "the first start announces the version" wait_for 10 once "Syncom $version runs on"
$TOOL "$NNTP" article "$(grep -o 'msgid=<notice[^ ]*' "$T/syncd.log" | head -1 | cut -d= -f2)" > "$T/version.art"
check "with this version's CHANGES entries" grep -q "^- syncd: one daemon" "$T/version.art"
check "as an automated message" grep -q "^Auto-Submitted: auto-generated" "$T/version.art"

# By hand.
printf 'Tonight from 22:00 the gateway is down.\n' |
    "$SYNCCTL" -c "$C" notice --subject "Maintenance tonight" > "$T/notice.out"
check_eq "syncctl notice posts one" 0 "$?"
check "it is in the group" wait_for 5 once "Maintenance tonight"
printf 'x\n' | "$SYNCCTL" -c "$C" notice --group pirates.de.none --subject X \
    > /dev/null 2> "$T/notice.err"
check_eq "a notice to a group we do not carry is refused" 1 "$?"
check "saying why" grep -q "no channel carries pirates.de.none" "$T/notice.err"

# A dead letter: the list side fails until max-attempts.
msg "$T/m1" "<dead1@example.org>" "Newsgroups: pirates.de.test"
"$SYNCCTL" -c "$C" inject --source news "$T/m1" > /dev/null
check "a dead letter is noticed" wait_for 20 once "Dead letter: <dead1@example.org> for list:"
$TOOL "$NNTP" article "$(grep 'event=notice key=dead/' "$T/syncd.log" | head -1 | grep -o 'msgid=<notice[^ ]*' | cut -d= -f2)" > "$T/dead.art"
check "with the command to retry it" grep -q "syncctl retry [0-9]" "$T/dead.art"
# From here on a failing peer is retried, not given up.
sed -i 's|^max-attempts 2$|max-attempts 30|' "$C"
"$SYNCCTL" -c "$C" reload > /dev/null

if [ $have_inn -eq 1 ]; then
	check "the news peer takes the version notice" wait_for 30 \
	    $TOOL -r "$INNPORT" has "$(grep -o 'msgid=<notice[^ ]*' "$T/syncd.log" | head -1 | cut -d= -f2)"
	inn_stop "$T/inn"
	msg "$T/m2" "<while-down@example.org>" "Newsgroups: pirates.de.test"
	"$SYNCCTL" -c "$C" inject --source list --to pirates-test@lists.test.example "$T/m2" > /dev/null
	check "a news peer down longer than notice-peer-down is noticed" \
	    wait_for 40 once "Down: the news peer"
	"$SYNCCTL" -c "$C" status > "$T/status.out"
	check "syncctl status shows the peer failing" grep -q "^  news .*failing for [0-9]*s" "$T/status.out"
	"$SYNCCTL" -c "$C" --json status | $PY -c 'import json, sys; d = json.load(sys.stdin); sys.exit(0 if d["peers"]["news"]["failing"] > 0 and d["sides"]["list"]["last_in"] > 0 else 1)'
	check_eq "and so does its JSON" 0 "$?"
	check "once only while it stays down" sh -c "sleep 12; [ \$($TOOL $NNTP subjects $TECHNIK | grep -c 'Down: the news peer') -eq 1 ]"
	check "innd starts again" inn_start "$T/inn"
	check "its return is noticed" wait_for 40 once "Back: the news peer"
	check "and what waited reaches it" wait_for 30 $TOOL -r "$INNPORT" has "<while-down@example.org>"
else
	skip "a news peer down and back is noticed" "INN (Debian's inn2) is not installed, or not root"
fi

"$SYNCCTL" -c "$C" status > "$T/status.out"
check "syncctl status shows the last arrival per side" grep -q "^  news   last in 20" "$T/status.out"
check "and the peers" grep -q "^  list   the mail server: failing for" "$T/status.out"

# A restart posts none of them again.
before=$($TOOL "$NNTP" count "$TECHNIK")
stop_syncd
start_syncd "$C" || { not_ok "syncd starts again"; done_testing; exit 1; }
sleep 2
check_eq "no notice again after a restart" "$before" "$($TOOL "$NNTP" count "$TECHNIK")"
check "the version is announced once" once "Syncom $version runs on"

# Jobs.
"$SYNCCTL" -c "$C" jobs > "$T/jobs.out"
check "syncctl jobs lists the jobs" grep -q "^summary *0 7 \* \* \*" "$T/jobs.out"
check "with the next run" grep -q "^expire .* next 20[0-9-]* [0-9:]*" "$T/jobs.out"
"$SYNCCTL" -c "$C" run-job summary > "$T/summary.out"
check_eq "run-job summary succeeds" 0 "$?"
check "and posts the summary" wait_for 5 once "Summary for "
"$SYNCCTL" -c "$C" jobs > "$T/jobs.out"
check "syncctl jobs shows its result" grep -q "^summary .* ok: posted: Summary for" "$T/jobs.out"
"$SYNCCTL" -c "$C" run-job sweep > "$T/sweep.out"
check "run-job sweep forgets delivered rows and idle sessions" \
    grep -q "^[0-9]* delivered rows forgotten, idle forum sessions ended$" "$T/sweep.out"
"$SYNCCTL" -c "$C" run-job nosuchjob > /dev/null 2>&1
check_eq "an unknown job is refused" 1 "$?"

# A description changed in the configuration, after the job runs.
sed -i 's|^\tboard test$|\tboard test\n\tdescription "Neue Beschreibung für den Test"|' "$C"
"$SYNCCTL" -c "$C" reload > /dev/null
"$SYNCCTL" -c "$C" run-job descriptions > /dev/null
check_eq "run-job descriptions succeeds" 0 "$?"
$PY - "$NNTP" > "$T/newsgroups.out" <<'PYEOF'
import nntplib, sys
s = nntplib.NNTP("127.0.0.1", int(sys.argv[1]))
print(s.descriptions("pirates.de.test")[1].get("pirates.de.test", ""))
PYEOF
check "LIST NEWSGROUPS has the new description" grep -q "Neue Beschreibung für den Test" "$T/newsgroups.out"
check "the forum board has it" sh -c "$PY -c 'import urllib.request,sys; sys.exit(0 if \"Neue Beschreibung für den Test\" in urllib.request.urlopen(\"http://127.0.0.1:$HTTP/\").read().decode() else 1)'"

stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
[ $have_inn -eq 1 ] && inn_stop "$T/inn"
done_testing
