#!/bin/sh
#
# /metrics on syncd's HTTP listener: the exposition holds to the Prometheus
# text format 0.0.4 (a strict parser of our own, metrics_check.py, and
# promtool when it is installed), and the counters move by exactly what
# was done: messages routed by side and result, deliveries done, retried
# and dead by side, their latency, the outbox gauges and the connections.

. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
HELPER=$srcdir/tests/integration/metrics_check.py

# The parser first: it must refuse what the format does not allow.
$PY -B "$HELPER" selftest > "$T/selftest.tap" 2>&1
tap_import "$T/selftest.tap"

HTTP=$(free_port)
NNTP=$(free_port)
SMTP=$(free_port)
C=$T/syncd.conf
write_conf "$C" "listen http 127.0.0.1:$HTTP
listen nntp 127.0.0.1:$NNTP
listen smtp 127.0.0.1:$SMTP
archive maildir $T/out/archive
max-attempts 2"
# A retry waits 2 to 4 s: time to see the row pending before it dies.
sed -i 's/^retry-min .*/retry-min 4s/; s/^retry-max .*/retry-max 4s/' "$C"
started=$(date +%s)
start_syncd "$C" || { not_ok "syncd starts with an HTTP listener"; done_testing; exit 1; }
check "the HTTP listener answers" wait_for 10 listening "$HTTP"

# scrape NAME: fetch /metrics into $T/NAME (JSON) with its checks as TAP.
scrape() {
	$PY -B "$HELPER" scrape "$HTTP" "$T/$1" > "$T/$1.tap" 2>&1
	tap_import "$T/$1.tap"
}
# v NAME SERIES: one sample's value in a scrape ("" if it is not there).
v() {
	$PY -B "$HELPER" value "$T/$1" "$2"
}
# total NAME METRIC [LABEL=VALUE...]: the sum of matching samples.
total() {
	_t_name=$1
	shift
	$PY -B "$HELPER" sum "$T/$_t_name" "$@"
}
# reaches N METRIC [LABEL=VALUE...]: a fresh scrape's sum is N (for
# wait_for).
reaches() {
	_r_want=$1
	shift
	$PY -B "$HELPER" fetch "$HTTP" "$T/poll" || return 1
	[ "$(total poll "$@")" = "$_r_want" ]
}

scrape s0
check_eq "a new syncd has routed nothing" 0 "$(total s0 syncom_messages_in_total)"
check_eq "a new syncd has delivered nothing" 0 "$(total s0 syncom_deliveries_total)"
check_eq "every message series is there from the start" 18 \
	"$($PY -B -c 'import json, sys; print(sum(k.startswith("syncom_messages_in_total{") for k in json.load(open(sys.argv[1]))))' "$T/s0")"
check_eq "the store is empty" 0 "$(v s0 syncom_messages_stored)"
check_eq "no dead letters" 0 "$(v s0 syncom_dead_letters)"
version=$(sed -n 's/^VERSION=//p' "$srcdir/configure")
check_eq "build_info names the version" 1 "$(v s0 "syncom_build_info{version=\"$version\"}")"
st=$(v s0 syncom_start_time_seconds)
check "start_time_seconds is when syncd started ($st)" \
	test "$st" -ge "$started" -a "$st" -le "$(date +%s)"

# Seven arrivals: three from the list, one from news, a duplicate, a
# refusal and a loop.
for i in 1 2 3; do
	msg "$T/m$i" "<m$i@example.org>" "List-Id: Test list <pirates-test.lists.test.example>"
	"$SYNCCTL" -c "$C" inject --source list "$T/m$i" > /dev/null
done
msg "$T/n1" "<n1@example.org>" "Newsgroups: pirates.de.test"
"$SYNCCTL" -c "$C" inject --source news "$T/n1" > /dev/null
out=$("$SYNCCTL" -c "$C" inject --source list "$T/m1")
check_eq "a second copy is a duplicate" "duplicate <m1@example.org>: already have it" "$out"
msg "$T/bad" "<bad@example.org>" "Newsgroups: alt.unknown"
"$SYNCCTL" -c "$C" inject --source news "$T/bad" > /dev/null
msg "$T/loop" "<loop@example.org>" "Newsgroups: pirates.de.test" "X-Syncom-Gateway: gw.test.example"
"$SYNCCTL" -c "$C" inject --source news "$T/loop" > /dev/null

# List: news, forum, archive (3 x 3); news: list, forum, archive.
check "the twelve deliveries are counted" \
	wait_for 20 reaches 12 syncom_deliveries_total result=done
check "the outbox drains" wait_for 10 sh -c "'$SYNCCTL' -c '$C' queue | grep -q 'the outbox is empty'"
scrape s1
for series in 'side="list",result="accepted" 3' 'side="list",result="duplicate" 1' \
    'side="news",result="accepted" 1' 'side="news",result="rejected" 1' \
    'side="news",result="loop" 1'; do
	labels=${series% *}
	want=${series##* }
	check_eq "messages_in{$labels} +$want" "$want" \
		"$(( $(v s1 "syncom_messages_in_total{$labels}") - $(v s0 "syncom_messages_in_total{$labels}") ))"
done
check_eq "nothing else was counted as arriving" 7 "$(total s1 syncom_messages_in_total)"
for series in 'news 3' 'list 1' 'forum 4' 'archive 4'; do
	side=${series% *}
	want=${series#* }
	check_eq "deliveries{side=$side,result=done} is $want" "$want" \
		"$(v s1 "syncom_deliveries_total{side=\"$side\",result=\"done\"}")"
	check_eq "latency count{side=$side} is $want" "$want" \
		"$(v s1 "syncom_delivery_latency_seconds_count{side=\"$side\"}")"
	check_eq "all within a minute{side=$side}" "$want" \
		"$(v s1 "syncom_delivery_latency_seconds_bucket{side=\"$side\",le=\"60\"}")"
done
check_eq "no retries, no dead letters yet" 0 \
	"$(( $(total s1 syncom_deliveries_total result=retry) + $(total s1 syncom_deliveries_total result=dead) ))"
check_eq "messages_stored counts the four" 4 "$(v s1 syncom_messages_stored)"
check_eq "nothing pending" 0 "$(total s1 syncom_outbox_pending)"

# The list's Maildir is a file now: a retry, then a dead letter.
mv "$T/out/list" "$T/out/list.ok"
: > "$T/out/list"
msg "$T/n2" "<n2@example.org>" "Newsgroups: pirates.de.test"
"$SYNCCTL" -c "$C" inject --source news "$T/n2" > /dev/null
check "a failed delivery counts as a retry" \
	wait_for 20 reaches 1 syncom_deliveries_total side=list result=retry
scrape s2
check_eq "the row waits: outbox_pending{side=list} is 1" 1 \
	"$(v s2 'syncom_outbox_pending{side="list"}')"
check "the second failure counts as dead" \
	wait_for 20 reaches 1 syncom_deliveries_total side=list result=dead
scrape s3
check_eq "dead_letters is 1" 1 "$(v s3 syncom_dead_letters)"
check_eq "nothing pending after that" 0 "$(total s3 syncom_outbox_pending)"
check_eq "one retry in all" 1 "$(total s3 syncom_deliveries_total result=retry)"
check_eq "list latency counts only what was done" 1 \
	"$(v s3 'syncom_delivery_latency_seconds_count{side="list"}')"
check_eq "the forum and the archive still got it" "5 5" \
	"$(v s3 'syncom_deliveries_total{side="forum",result="done"}') $(v s3 'syncom_deliveries_total{side="archive",result="done"}')"

# Connections: one held open on each protocol, then closed.
hold() {
	$PY -c 'import socket, sys, time; s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); time.sleep(60)' "$1" &
	HOLD_PID=$!
	started_pids="$started_pids $HOLD_PID"
}
for proto in nntp smtp; do
	port=$NNTP
	[ $proto = smtp ] && port=$SMTP
	hold "$port"
	check "an open $proto connection counts" \
		wait_for 10 reaches 1 syncom_connections proto=$proto
	kill "$HOLD_PID"
	wait "$HOLD_PID" 2>/dev/null
	check "a closed $proto connection does not" \
		wait_for 10 reaches 0 syncom_connections proto=$proto
done

if command -v promtool > /dev/null 2>&1; then
	if promtool check metrics < "$T/s3.txt" > "$T/promtool.out" 2>&1; then
		ok "promtool check metrics"
	else
		not_ok "promtool check metrics"
		diag "$(cat "$T/promtool.out")"
	fi
else
	skip "promtool check metrics" "no promtool (Debian: prometheus)"
fi

stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
done_testing
