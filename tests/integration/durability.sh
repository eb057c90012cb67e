#!/bin/sh
#
# Nothing accepted is lost and nothing is delivered twice, even when syncd
# is killed with SIGKILL between accepting a message and delivering it.

. "$(dirname "$0")/../lib.sh"

C=$T/syncd.conf
write_conf "$C"
# The list side cannot be delivered to while $T/blocked is a plain file.
sed -i "s|^deliver list maildir .*|deliver list maildir $T/blocked/list|" "$C"
: > "$T/blocked"
start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }

n=20
i=1
accepted=0
while [ $i -le $n ]; do
	msg "$T/a$i" "<a$i@example.org>" "Newsgroups: pirates.de.test"
	out=$("$SYNCCTL" -c "$C" inject --source news "$T/a$i")
	[ "$out" = "accepted <a$i@example.org>" ] && accepted=$((accepted + 1))
	i=$((i + 1))
done
check_eq "$n messages accepted" "$n" "$accepted"
check "the forum side gets them" wait_for 10 has_count "$T/out/forum" '@example.org>' $n
check "the list side is retried, not lost" wait_for 10 grep -q "event=deferred.*target=list:pirates-test@lists.test.example" "$T/syncd.log"
out=$("$SYNCCTL" -c "$C" queue)
case $out in
*"list:pirates-test@lists.test.example"*pending*" $n "*) ok "syncctl queue shows them pending" ;;
*) not_ok "syncctl queue shows them pending"; diag "$out" ;;
esac

crash_syncd
rm -f "$T/blocked"
start_syncd "$C" || { not_ok "syncd restarts after SIGKILL"; done_testing; exit 1; }
ok "syncd restarts after SIGKILL"

all_once() {
	dir=$1
	i=1
	while [ $i -le $n ]; do
		[ "$(count_in "$dir" "<a$i@example.org>")" -eq 1 ] || return 1
		i=$((i + 1))
	done
	[ "$(find "$dir" -type f | wc -l)" -eq $n ]
}
check "after the restart every message reaches the list once" wait_for 15 all_once "$T/blocked/list"
check "and the forum still holds each once" all_once "$T/out/forum"

# Now kill it while messages stream in and deliveries run.  A sender whose
# message was not acknowledged sends it again, as an MTA or INN would.
m=300
(
	i=1
	while [ $i -le $m ]; do
		msg "$T/b$i" "<b$i@example.org>" "Newsgroups: pirates.de.test"
		"$SYNCCTL" -c "$C" inject --source news "$T/b$i" > "$T/b$i.out" 2>&1
		i=$((i + 1))
	done
) &
sender=$!
sleep 0.5
crash_syncd
wait "$sender"
start_syncd "$C" || { not_ok "syncd restarts after the second SIGKILL"; done_testing; exit 1; }
resent=0
i=1
while [ $i -le $m ]; do
	case $(cat "$T/b$i.out") in
	"accepted <b$i@example.org>") ;;
	*)
		resent=$((resent + 1))
		out=$("$SYNCCTL" -c "$C" inject --source news "$T/b$i")
		case $out in
		"accepted <b$i@example.org>"|"duplicate <b$i@example.org>: already have it") ;;
		*) not_ok "resending b$i"; diag "$out" ;;
		esac
		;;
	esac
	i=$((i + 1))
done
diag "$resent of $m messages were not acknowledged before the kill and were sent again"
every_b_once() {
	i=1
	while [ $i -le $m ]; do
		[ "$(count_in "$1" "<b$i@example.org>")" -eq 1 ] || return 1
		i=$((i + 1))
	done
}
check "after kill and resend, the list holds every message once" wait_for 30 every_b_once "$T/blocked/list"
check "and so does the forum" wait_for 30 every_b_once "$T/out/forum"
check_eq "no file was written twice" $((n + m)) "$(find "$T/blocked/list" -type f | wc -l)"
check_eq "nor in the forum" $((n + m)) "$(find "$T/out/forum" -type f | wc -l)"
stop_syncd
check_eq "a clean stop afterwards" 0 "$SYNCD_STATUS"

# A delivery that keeps failing becomes a dead letter, and retry revives it.
C2=$T/dead.conf
write_conf "$C2" "max-attempts 2"
sed -i "s|^deliver list maildir .*|deliver list maildir $T/blocked2/list|; s|$T/data|$T/data2|" "$C2"
: > "$T/blocked2"
start_syncd "$C2" "$T/dead.log" || { not_ok "syncd starts"; done_testing; exit 1; }
msg "$T/d1" "<d1@example.org>" "Newsgroups: pirates.de.test"
"$SYNCCTL" -c "$C2" inject --source news "$T/d1" > /dev/null
has_dead() { "$SYNCCTL" -c "$C2" dead | grep -q "<d1@example.org> -> list:pirates-test@lists.test.example: 2 attempts"; }
check "after max-attempts it is a dead letter" wait_for 15 has_dead
out=$("$SYNCCTL" -c "$C2" dead)
case $out in
*"gave up after 2 attempts"*"Not a directory"*"syncctl retry"*) ok "syncctl dead says why and how to retry" ;;
*) not_ok "syncctl dead says why and how to retry"; diag "$out" ;;
esac
id=$("$SYNCCTL" -c "$C2" --json dead | sed -n 's/^\[{"id":\([0-9]*\),.*/\1/p')
rm -f "$T/blocked2"
out=$("$SYNCCTL" -c "$C2" retry "$id")
check_eq "syncctl retry ID" "1 dead letter queued again" "$out"
check "the retried message is delivered" wait_for 10 has_count "$T/blocked2/list" '<d1@example.org>' 1
out=$("$SYNCCTL" -c "$C2" retry 999999 2>&1)
check_eq "syncctl retry of an unknown id" "syncctl: retry: no dead letter with id 999999" "$out"
stop_syncd

done_testing
