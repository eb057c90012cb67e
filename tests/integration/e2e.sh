#!/bin/sh
#
# End to end: one conversation across all three sides at once, with the
# real peers, all on loopback in one private directory:
#
#   news:  INN 2.7, feeding syncd through innfeed and fed by syncd;
#   mail:  Postfix (with syncd-milter) in front of a Mailman 3 with two
#          lists, syncd subscribed to both through its LMTP listener;
#   forum: syncd's built-in forum over HTTP.
#
# e2e_client.py starts threads on each side, replies to each from the
# other two, replies to replies, crossposts to both groups, mails an
# attachment, and writes German subjects in several encodings; then, after
# a quiet period, it reads every side back (INN's groups, syncd's own
# groups, what Mailman sent the subscriber who never posts, forum.db and
# the forum's pages) and checks that each holds every message once, in
# the same thread, under the same subject, and that nothing came round
# again.  A missing peer skips the checks that need it: news is then
# posted to syncd's own server, list mail handed to syncd's LMTP as the
# list would.  SYNCOM_E2E_QUIET sets the quiet period (default 5 s).
# It takes about 45 s, most of it starting and stopping the peers.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/inn.sh"
. "$srcdir/tests/peers/postfix.sh"
. "$srcdir/tests/peers/mailman.sh"

PY="/usr/bin/python3 -W ignore::DeprecationWarning"
MILTER=$builddir/smtp/syncd-milter
if ! $PY -c 'import nntplib, smtplib, sqlite3' 2>/dev/null; then
	skip "end to end" "no python3 with nntplib and sqlite3 at /usr/bin/python3"
	done_testing
	exit 0
fi

# Which peers this run has.
use_inn=no
use_mail=no
why_inn="INN (Debian's inn2) is not installed"
why_mail="Postfix and Mailman 3 (Debian's postfix, mailman3) are not installed"
if [ "$(id -u)" -ne 0 ]; then
	why_inn="starting innd needs root"
	why_mail="starting Postfix and Mailman needs root"
else
	inn_available && use_inn=yes
	postfix_available && mailman_available && use_mail=yes
fi

# Peers stopped gently first: a SIGKILLed Mailman master leaves its
# runners behind, still listening.
stop_all() {
	[ $use_inn = yes ] && [ -n "${INN_PID:-}" ] && inn_stop "$T/inn"
	INN_PID=
	if [ $use_mail = yes ]; then
		mailman_stop
		postfix_stop
		postfix_sink_stop
	fi
}
trap 'stop_all; cleanup' EXIT

HTTP=$(free_port)
GWNNTP=$(free_port)
GWLMTP=$(free_port)
INNPORT=$(free_port)
SINKPORT=$(free_port)
PFPORT=$(free_port)
MMLMTP=$(free_port)
MMREST=$(free_port)
MILTERPORT=$(free_port)
MMDATA=$T/mm/var/data
t0=$(date +%s)

# Mailman first: its runners take seconds to start, and the lists and
# their members are made meanwhile.  Each list has two subscribers, sub1
# who writes and sub2 who only reads, and the channel's gateway address.
if [ $use_mail = yes ]; then
	mailman_setup "$T/mm" "$MMLMTP" "$MMREST" "$PFPORT"
	for l in test talk; do
		mailman_list "$T/mm" "pirates-$l@lists.test.example" \
		    "Sub One <sub1@remote.example>" \
		    "Sub Two <sub2@remote.example>" "gateway+$l@gw.test.example" ||
		    { not_ok "Mailman has the list pirates-$l"; diag "$(cat "$T/mm/list.out")"; }
	done
	mailman_start "$T/mm"
	mailman_cmd "$T/mm" aliases >> "$T/mm/list.out" 2>&1 ||
	    { not_ok "Mailman writes its maps for Postfix"; diag "$(cat "$T/mm/list.out")"; }
	postfix_sink_start "$T/sink" "$SINKPORT" ||
	    { not_ok "smtp-sink starts"; done_testing; exit 1; }
fi

# syncd: news to INN, mail to Postfix, its forum, and the two channels.
C=$T/syncd.conf
{
	cat <<EOF
hostname gw.test.example
data-dir $T/data
pidfile $T/run/syncd.pid
control-socket $T/run/syncd.sock
log-level debug
retry-min 1s
retry-max 2s
listen nntp 127.0.0.1:$GWNNTP
nntp-post anonymous
listen lmtp 127.0.0.1:$GWLMTP
listen http 127.0.0.1:$HTTP
deliver forum builtin
forum-title "Ende zu Ende"
EOF
	if [ $use_inn = yes ]; then
		echo "deliver news nntp 127.0.0.1:$INNPORT"
	else
		echo "deliver news maildir $T/out/news"
	fi
	if [ $use_mail = yes ]; then
		echo "deliver list smtp 127.0.0.1:$PFPORT"
		echo "forum-mail smtp 127.0.0.1:$PFPORT"
	else
		echo "deliver list maildir $T/out/list"
		echo "forum-mail maildir $T/out/mail"
	fi
	for l in test talk; do
		cat <<EOF

channel $l {
	newsgroup pirates.de.$l
	list pirates-$l@lists.test.example
	list-id pirates-$l.lists.test.example
	gateway-address gateway+$l@gw.test.example
	subject-tag "[Pirates-$l]"
	board $l
}
EOF
	done
} > "$C"
start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }
ok "syncd starts with its forum"

if [ $use_mail = yes ]; then
	"$MILTER" -p "inet:$MILTERPORT@127.0.0.1" -s "$T/run/syncd.sock" -d \
	    > "$T/milter.log" 2>&1 &
	MILTER_PID=$!
	started_pids="$started_pids $MILTER_PID"
	check "syncd-milter starts" wait_for 10 grep -q "event=start" "$T/milter.log"
fi

# INN after syncd: innfeed tries its peer at once.
if [ $use_inn = yes ]; then
	INN_GROUPS="pirates.de.test pirates.de.talk" \
	    inn_setup "$T/inn" "$INNPORT" inn.test.example gw.test.example "$GWNNTP"
	if ! check "innd starts" inn_start "$T/inn"; then
		diag "$(cat "$T/inn/log/innd.out")"
		done_testing
		exit 1
	fi
fi

# Postfix: the list domain to Mailman, the gateway's domain to syncd,
# the rest to the sink; every message through syncd-milter, and a
# milter that does not answer holds the mail rather than waving it by.
if [ $use_mail = yes ]; then
	postfix_setup "$T/pf" "$PFPORT" "$SINKPORT"
	postfix_lists "$T/pf" "$MMDATA" "$GWLMTP" \
	    gateway+test@gw.test.example gateway+talk@gw.test.example
	postfix_conf "$T/pf" "smtpd_milters = inet:127.0.0.1:$MILTERPORT" \
	    "milter_default_action = tempfail"
	if ! check "Postfix starts" postfix_start "$T/pf"; then
		diag "$(tail -n 10 "$T/pf/log/maillog" "$T/pf/log/master.out")"
		done_testing
		exit 1
	fi
	if ! check "Mailman's LMTP runner and REST API listen" mailman_wait; then
		diag "$(cat "$T/mm/master.out"; tail -n 20 "$T/mm/var/logs/mailman.log")"
		done_testing
		exit 1
	fi
fi
t1=$(date +%s)

[ $use_inn = yes ] || skip "news through INN" "$why_inn"
[ $use_mail = yes ] || skip "mail through Postfix and Mailman" "$why_mail"

E2E_HTTP=$HTTP E2E_GWNNTP=$GWNNTP E2E_GWLMTP=$GWLMTP \
E2E_INN=$([ $use_inn = yes ] && echo "$INNPORT") \
E2E_SMTP=$([ $use_mail = yes ] && echo "$PFPORT") \
E2E_SINK=$T/sink E2E_MAILDIR=$T/out/mail E2E_FORUMDB=$T/data/forum.db \
E2E_SYNCDLOG=$T/syncd.log E2E_MAILLOG=$T/pf/log/maillog \
E2E_MILTERLOG=$T/milter.log E2E_SYNCCTL=$SYNCCTL E2E_CONF=$C \
E2E_QUIET=${SYNCOM_E2E_QUIET:-5} \
    $PY "$srcdir/tests/integration/e2e_client.py" > "$T/client.tap" 2>&1
rc=$?
tap_import "$T/client.tap"
check_eq "the conversation ran to its end" 0 "$rc"
t2=$(date +%s)
if [ "$tap_failed" -gt 0 ] && [ $use_mail = yes ]; then
	diag "$($PY "$srcdir/tests/integration/mailman_tool.py" held "$MMREST" pirates-test.lists.test.example 2>&1)"
	diag "$(grep -h 'error\|warn' "$T/mm/var/logs/"* 2>/dev/null | tail -n 5)"
fi

stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
stop_all
diag "setup $((t1 - t0)) s, conversation and checks $((t2 - t1)) s, stop $(($(date +%s) - t2)) s"
done_testing
