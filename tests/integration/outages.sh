#!/bin/sh
#
# Outages of the mail side during a stream of news posts that must go
# out as list mail: syncd --SMTP--> Postfix --LMTP--> Mailman --SMTP-->
# Postfix --> smtp-sink (the subscribers), as in mailman.sh.
#
#   (a) Postfix, the server syncd's mail-out talks to, is stopped while
#       a thread is posted, and started again: syncd keeps the posts,
#       posts one "Down: the mail server" notice to the technik group
#       and one "Back:" when it delivers again, then hands the thread to
#       Postfix parent first; every subscriber gets each post once.  The
#       order in which Postfix passes it on is Postfix's (its deliveries
#       run in parallel) and is only reported.
#   (b) Mailman is stopped while another thread is posted: Postfix
#       takes the posts from syncd and holds them in its queue; the job
#       "descriptions" cannot reach Mailman's REST API, says so and keeps
#       the descriptions it had.  Mailman is started again and every
#       subscriber gets each post once.  syncd sees nothing of this
#       outage on its mail path (Postfix took the mail), so there is no
#       technik notice for it; Postfix's deferred queue was seen to hand
#       the thread to Mailman newest first (reported, not judged).
#   (c) syncd's mail-out straight to Mailman's LMTP runner, Mailman
#       stopped: one "Down: Mailman" notice, one "Back:", and the thread
#       reaches Mailman and its subscribers parent first.
#
# INN's outage, with its notices, is in notices.sh.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/postfix.sh"
. "$srcdir/tests/peers/mailman.sh"

PY="/usr/bin/python3 -W ignore::DeprecationWarning"
NNTPTOOL="$PY $srcdir/tests/integration/nntp_tool.py"
MMTOOL="$PY $srcdir/tests/integration/mailman_tool.py"
if ! postfix_available || ! mailman_available; then
	skip "outages of Postfix and Mailman" "Postfix or Mailman 3 (Debian's postfix, mailman3) is not installed"
	done_testing
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	skip "outages of Postfix and Mailman" "starting Postfix and Mailman needs root"
	done_testing
	exit 0
fi
trap 'mailman_stop; postfix_stop; postfix_sink_stop; cleanup' EXIT

LIST=pirates-test@lists.test.example
LISTID=pirates-test.lists.test.example
GW=gateway+test@gw.test.example
TECHNIK=pirates.de.etc.syncom.technik
FOOTER="To unsubscribe send an email to pirates-test-leave@lists.test.example"
SINKPORT=$(free_port)
PFPORT=$(free_port)
MMLMTP=$(free_port)
MMREST=$(free_port)
GWLMTP=$(free_port)
NNTP=$(free_port)
MMDATA=$T/mm/var/data
MAILLOG=$T/pf/log/maillog
t0=$(date +%s)

# copies MSGID RCPT: how many whole copies of MSGID (with Mailman's
# footer) the sink has for RCPT.
copies() {
	grep -lF "Message-ID: $1" "$T/sink"/* 2>/dev/null |
	    xargs -r grep -lF "X-Rcpt-Args: <$2>" 2>/dev/null |
	    xargs -r grep -lF "$FOOTER" 2>/dev/null | wc -l
}

# everyone_once MSGID...: each subscriber has exactly one copy of each.
everyone_once() {
	for _eo_m in "$@"; do
		for _eo_r in sub1@remote.example sub2@remote.example; do
			[ "$(copies "$_eo_m" "$_eo_r")" -eq 1 ] || return 1
		done
	done
}

# sent_line MSGID RCPT PORT: the maillog line number at which Postfix
# delivered MSGID to RCPT at 127.0.0.1:PORT (the first such), or nothing.
sent_line() {
	for _sl_q in $(grep -F "message-id=$1" "$MAILLOG" 2>/dev/null |
	    sed -n 's/.*: \([0-9A-Z]*\): message-id=.*/\1/p'); do
		grep -nF "$_sl_q: to=<$2>," "$MAILLOG" |
		    grep -F "relay=127.0.0.1[127.0.0.1]:$3," |
		    grep -F "status=sent" | cut -d: -f1
	done | sort -n | head -1
}

# handed_line MSGID: the line of syncd's log at which it had delivered
# MSGID to the list (Postfix said 250).
handed_line() {
	grep -nF "event=delivered msgid=$1 target=list:" "$T/syncd.log" |
	    cut -d: -f1 | head -1
}

# in_order FN PARENT CHILD [ARG...]: "FN PARENT ARG..." gives a smaller
# line number than "FN CHILD ARG...".
in_order() {
	_io_fn=$1
	_io_p=$2
	_io_c=$3
	shift 3
	_io_a=$($_io_fn "$_io_p" "$@")
	_io_b=$($_io_fn "$_io_c" "$@")
	[ -n "$_io_a" ] && [ -n "$_io_b" ] && [ "$_io_a" -lt "$_io_b" ]
}

# thread_order FN [ARG...]: for each "parent,reply" pair in PAIRS, the
# reply comes after its parent.
thread_order() {
	_to_fn=$1
	shift
	for _to_pair in $PAIRS; do
		in_order "$_to_fn" "${_to_pair%,*}" "${_to_pair#*,}" "$@" ||
		    return 1
	done
}

# postfix_order NAME MSGID...: report (not judge) the order in which
# Postfix gave the thread to Mailman: Postfix promises none, and its
# parallel deliveries and its deferred queue were both seen to hand a
# reply over before its parent.
postfix_order() {
	_po_name=$1
	shift
	if thread_order sent_line "$LIST" "$MMLMTP"; then
		diag "($_po_name) Postfix gave Mailman the thread parent first"
	else
		diag "($_po_name) Postfix gave Mailman the thread out of order (maillog lines):"
		for _po_m in "$@"; do
			diag "  $_po_m $(sent_line "$_po_m" "$LIST" "$MMLMTP")"
		done
	fi
}

# post MSGID SUBJECT [PARENT-REFS]: a news post to the test group.
post() {
	{
		printf 'From: Nora News <nora@news.example>\r\n'
		printf 'Newsgroups: pirates.de.test\r\nSubject: %s\r\n' "$2"
		printf 'Message-ID: %s\r\n' "$1"
		[ -n "${3:-}" ] && printf 'References: %s\r\n' "$3"
		printf '\r\nPosted while a peer is away.\r\n'
	} > "$T/post"
	$NNTPTOOL "$NNTP" post "$T/post" 2>&1
}

# count_notices PATTERN: technik articles whose Subject matches.
count_notices() {
	$NNTPTOOL "$NNTP" subjects "$TECHNIK" | grep -c -- "$1"
}
notices_are() {
	[ "$(count_notices "$1")" -eq "$2" ]
}

mailman_setup "$T/mm" "$MMLMTP" "$MMREST" "$PFPORT"
if mailman_list "$T/mm" "$LIST" sub1@remote.example sub2@remote.example \
    "Syncom gateway <$GW>"; then
	ok "Mailman has the list with two subscribers and the gateway"
else
	not_ok "Mailman has the list with two subscribers and the gateway"
	diag "$(cat "$T/mm/list.out")"
fi
mailman_start "$T/mm"
check "Mailman writes its maps for Postfix" mailman_cmd "$T/mm" aliases
postfix_sink_start "$T/sink" "$SINKPORT" || { not_ok "smtp-sink starts"; done_testing; exit 1; }

# syncd: news posts to the list through Postfix, notices to technik (a
# group only: its list is not in Mailman), Mailman's REST API for the
# descriptions, the shortest notice-peer-down.
C=$T/syncd.conf
write_conf "$C" "listen nntp 127.0.0.1:$NNTP
nntp-post anonymous
listen lmtp 127.0.0.1:$GWLMTP
notice-group $TECHNIK
notice-peer-down 10s
notice-interval 1m
mailman-rest http://restadmin:restpass@127.0.0.1:$MMREST/3.1"
sed -i "s|^\tlist $LIST\$|\tlist $LIST\n\tlist-id $LISTID\n\tgateway-address $GW|" "$C"
sed -i '/^\tlist syncom-technik@lists.test.example$/d' "$C"
sed -i "s|^deliver list maildir .*|deliver list smtp 127.0.0.1:$PFPORT|" "$C"
start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }

postfix_setup "$T/pf" "$PFPORT" "$SINKPORT"
postfix_lists "$T/pf" "$MMDATA" "$GWLMTP" "$GW"
check "Postfix starts" postfix_start "$T/pf" || { done_testing; exit 1; }
check "Mailman's LMTP runner and REST API listen" mailman_wait || { done_testing; exit 1; }

# A description from Mailman, for (b).
$MMTOOL describe "$MMREST" "$LISTID" "Die Liste vor dem Ausfall" > /dev/null 2>&1
"$SYNCCTL" -c "$C" run-job descriptions > /dev/null 2>&1
check "the descriptions job reads Mailman" wait_for 10 sh -c \
    "'$SYNCCTL' -c '$C' jobs | grep -q '^descriptions .* ok: 1 descriptions from Mailman'"
t1=$(date +%s)

# (a) Postfix away.
postfix_stop
A1="<a1-$$@news.example>"
A2="<a2-$$@news.example>"
A3="<a3-$$@news.example>"
A4="<a4-$$@news.example>"
ok=0
post "$A1" "outage a" > "$T/a.out" && grep -q '^240' "$T/a.out" && ok=$((ok + 1))
post "$A2" "Re: outage a" "$A1" > "$T/a.out" && grep -q '^240' "$T/a.out" && ok=$((ok + 1))
post "$A3" "Re: Re: outage a" "$A1 $A2" > "$T/a.out" && grep -q '^240' "$T/a.out" && ok=$((ok + 1))
post "$A4" "Re: outage a, too" "$A1" > "$T/a.out" && grep -q '^240' "$T/a.out" && ok=$((ok + 1))
check_eq "Postfix down: syncd takes a thread of four posts" 4 "$ok"
check "its mail-out is deferred" wait_for 10 grep -q "event=deferred msgid=$A1 target=list:" "$T/syncd.log"
check "one notice says the mail server is down" wait_for 40 notices_are "Down: the mail server" 1 ||
    diag "$($NNTPTOOL "$NNTP" subjects "$TECHNIK")"
check "Postfix starts again" postfix_start "$T/pf"
check "one notice says it is back" wait_for 30 notices_are "Back: the mail server" 1
check "every subscriber gets each post of the thread once" wait_for 60 everyone_once "$A1" "$A2" "$A3" "$A4" ||
    diag "$(for m in "$A1" "$A2" "$A3" "$A4"; do echo "$m $(copies "$m" sub1@remote.example) $(copies "$m" sub2@remote.example)"; done)"
PAIRS="$A1,$A2 $A2,$A3 $A1,$A4"
check "syncd hands the thread to Postfix parent first" thread_order handed_line
postfix_order a "$A1" "$A2" "$A3" "$A4"
check "syncd sent each post to Postfix once" sh -c \
    "[ \$(grep -c -e 'event=delivered msgid=<a[1-4]-$$@news.example> target=list:' '$T/syncd.log') -eq 4 ]"
t2=$(date +%s)

# (b) Mailman away.
mailman_stop
B1="<b1-$$@news.example>"
B2="<b2-$$@news.example>"
B3="<b3-$$@news.example>"
ok=0
post "$B1" "outage b" > "$T/b.out" && grep -q '^240' "$T/b.out" && ok=$((ok + 1))
post "$B2" "Re: outage b" "$B1" > "$T/b.out" && grep -q '^240' "$T/b.out" && ok=$((ok + 1))
post "$B3" "Re: Re: outage b" "$B1 $B2" > "$T/b.out" && grep -q '^240' "$T/b.out" && ok=$((ok + 1))
check_eq "Mailman down: syncd takes a thread of three posts" 3 "$ok"
PAIRS="$B1,$B2 $B2,$B3"
check "and hands it to Postfix, parent first" wait_for 15 thread_order handed_line
check "Postfix holds it: Mailman's LMTP does not answer" wait_for 20 sh -c \
    "grep -F 'to=<$LIST>' '$MAILLOG' | grep -F ':$MMLMTP' | grep -q 'status=deferred'"
"$SYNCCTL" -c "$C" run-job descriptions > /dev/null 2>&1
check "the descriptions job says Mailman did not answer" wait_for 20 sh -c \
    "'$SYNCCTL' -c '$C' jobs | grep -q '^descriptions .*failed: list $LISTID: Mailman did not answer'" ||
    diag "$("$SYNCCTL" -c "$C" jobs | grep '^descriptions')"
check_eq "and keeps the description it had" "Die Liste vor dem Ausfall" \
    "$($MMTOOL groups "$NNTP" pirates.de.test)"
# syncd's own mail path works: its list peer is not failing, so no
# notice will come.
check "syncd's peer for the list, Postfix, is not failing" sh -c \
    "'$SYNCCTL' -c '$C' status | grep -q '^  list   the mail server: ok'" ||
    diag "$("$SYNCCTL" -c "$C" status)"
mailman_start "$T/mm"
check "Mailman starts again" mailman_wait
check "every subscriber gets each post once" wait_for 60 everyone_once "$B1" "$B2" "$B3" ||
    diag "$(for m in "$B1" "$B2" "$B3"; do echo "$m $(copies "$m" sub1@remote.example) $(copies "$m" sub2@remote.example)"; done)"
postfix_order b "$B1" "$B2" "$B3"
"$SYNCCTL" -c "$C" run-job descriptions > /dev/null 2>&1
check "the descriptions job reads Mailman again" wait_for 20 sh -c \
    "'$SYNCCTL' -c '$C' jobs | grep -q '^descriptions .* ok: 1 descriptions from Mailman'"
out=$("$SYNCCTL" -c "$C" queue)
check_eq "nothing waits in syncd's outbox" "the outbox is empty" "$out"
check_eq "in all, one Down and one Back notice" "1 1" \
    "$(count_notices 'Down:') $(count_notices 'Back:')"
stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
t3=$(date +%s)

# (c) syncd's mail-out straight to Mailman's LMTP runner.  Then a
# Mailman outage is syncd's to see (one notice down, one back) and syncd
# keeps the thread's order up to Mailman.
sed -i "s|^deliver list smtp .*|deliver list lmtp 127.0.0.1:$MMLMTP|" "$C"
start_syncd "$C" || { not_ok "syncd starts with deliver list lmtp"; done_testing; exit 1; }
mailman_stop
C1="<c1-$$@news.example>"
C2="<c2-$$@news.example>"
C3="<c3-$$@news.example>"
ok=0
post "$C1" "outage c" > "$T/c.out" && grep -q '^240' "$T/c.out" && ok=$((ok + 1))
post "$C2" "Re: outage c" "$C1" > "$T/c.out" && grep -q '^240' "$T/c.out" && ok=$((ok + 1))
post "$C3" "Re: Re: outage c" "$C1 $C2" > "$T/c.out" && grep -q '^240' "$T/c.out" && ok=$((ok + 1))
check_eq "LMTP to Mailman, Mailman down: syncd takes a thread" 3 "$ok"
check "one notice says Mailman is down" wait_for 40 notices_are "Down: Mailman" 1 ||
    diag "$($NNTPTOOL "$NNTP" subjects "$TECHNIK")"
mailman_start "$T/mm"
check "Mailman starts again" mailman_wait
check "one notice says it is back" wait_for 30 notices_are "Back: Mailman" 1
check "every subscriber gets each post once" wait_for 60 everyone_once "$C1" "$C2" "$C3"
PAIRS="$C1,$C2 $C2,$C3"
check "syncd hands the thread to Mailman parent first" thread_order handed_line
check "and Mailman sends it on in that order" thread_order sent_line sub1@remote.example "$SINKPORT"
stop_syncd
check_eq "syncd stops cleanly again" 0 "$SYNCD_STATUS"
t4=$(date +%s)
mailman_stop
postfix_stop
postfix_sink_stop
diag "setup $((t1 - t0)) s, Postfix away $((t2 - t1)) s, Mailman away $((t3 - t2)) s, (c) $((t4 - t3)) s, stop $(($(date +%s) - t4)) s"
done_testing
