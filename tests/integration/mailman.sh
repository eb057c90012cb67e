#!/bin/sh
#
# syncd between a real Postfix and a real Mailman 3, end to end:
#
#   list post --SMTP--> Postfix --LMTP--> Mailman --SMTP--> Postfix
#       --> smtp-sink (the subscribers)
#       --LMTP--> syncd (the gateway's subscription) --> the newsgroup
#   news post --NNTP--> syncd --SMTP--> Postfix --LMTP--> Mailman --> ...
#       and the gateway's own copy comes back and must not be taken again;
#   then the same with syncd's LMTP straight to Mailman.
#
# Postfix routes gw.test.example to syncd's LMTP listener, the list
# domain to Mailman's LMTP runner (the maps Mailman writes), everything
# else to smtp-sink.  Mailman sends all its mail through Postfix.
#
# Mailman lets syncd's posts through because the envelope sender is the
# gateway address, a member: Mailman counts the envelope sender among a
# message's senders (sender_headers), and a member's post is accepted
# with the list's default settings even when From, the news author, is
# not a member.  No moderation setting is changed for it.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/postfix.sh"
. "$srcdir/tests/peers/mailman.sh"

PY="/usr/bin/python3 -W ignore::DeprecationWarning"
NNTPTOOL="$PY $srcdir/tests/integration/nntp_tool.py"
MMTOOL="$PY $srcdir/tests/integration/mailman_tool.py"
if ! postfix_available; then
	skip "syncd with Postfix and Mailman" "Postfix (Debian's postfix) is not installed"
	done_testing
	exit 0
fi
if ! mailman_available; then
	skip "syncd with Postfix and Mailman" "Mailman 3 (Debian's mailman3) is not installed"
	done_testing
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	skip "syncd with Postfix and Mailman" "starting Postfix and Mailman needs root"
	done_testing
	exit 0
fi

# Peers first stopped gently: a SIGKILLed Mailman master leaves its
# runners behind, still listening.
trap 'mailman_stop; postfix_stop; postfix_sink_stop; cleanup' EXIT

LIST=pirates-test@lists.test.example
LISTID=pirates-test.lists.test.example
GW=gateway+test@gw.test.example
FOOTER="To unsubscribe send an email to pirates-test-leave@lists.test.example"
SINKPORT=$(free_port)
PFPORT=$(free_port)
MMLMTP=$(free_port)
MMREST=$(free_port)
GWLMTP=$(free_port)
NNTP=$(free_port)
MMDATA=$T/mm/var/data
t0=$(date +%s)

# sink_copy MSGID RCPT: the sink's whole copy of MSGID for RCPT (Mailman's
# footer is its last line).
sink_copy() {
	for _sc_f in $(grep -lF "Message-ID: $1" "$T/sink"/* 2>/dev/null); do
		if grep -qF "X-Rcpt-Args: <$2>" "$_sc_f" &&
		    grep -qF "$FOOTER" "$_sc_f"; then
			echo "$_sc_f"
			return 0
		fi
	done
	return 1
}

# pf_sent MSGID RCPT PORT: Postfix's log says it delivered MSGID to RCPT
# at 127.0.0.1:PORT.
pf_sent() {
	for _pf_q in $(grep -F "message-id=$1" "$T/pf/log/maillog" 2>/dev/null |
	    sed -n 's/.*: \([0-9A-Z]*\): message-id=.*/\1/p'); do
		grep -F "$_pf_q: to=<$2>," "$T/pf/log/maillog" |
		    grep -F "relay=127.0.0.1[127.0.0.1]:$3," |
		    grep -q "status=sent" && return 0
	done
	return 1
}

# pf_from MSGID SENDER: Postfix took MSGID with the envelope sender SENDER.
pf_from() {
	for _pf_q in $(grep -F "message-id=$1" "$T/pf/log/maillog" 2>/dev/null |
	    sed -n 's/.*: \([0-9A-Z]*\): message-id=.*/\1/p'); do
		grep -qF "$_pf_q: from=<$2>," "$T/pf/log/maillog" && return 0
	done
	return 1
}

# routes MSGID: syncd's routing decisions for MSGID, one a line.
routes() {
	grep 'event=route ' "$T/syncd.log" | grep -F "$1"
}

# mailman_diag: what Mailman holds and logged, after a failure.
mailman_diag() {
	diag "$($MMTOOL held "$MMREST" "$LISTID" 2>&1)"
	diag "$(tail -n 5 "$T/mm/var/logs/"* 2>/dev/null)"
	diag "$(tail -n 15 "$T/pf/log/maillog")"
}

# Mailman.  The list and its members are made before the master starts,
# the first command creating the database; the master's runners then
# start while the rest is set up.
mailman_setup "$T/mm" "$MMLMTP" "$MMREST" "$PFPORT"
if mailman_list "$T/mm" "$LIST" "Sub One <sub1@remote.example>" \
    sub2@remote.example "Syncom gateway <$GW>"; then
	ok "Mailman has the list with two subscribers and the gateway"
else
	not_ok "Mailman has the list with two subscribers and the gateway"
	diag "$(cat "$T/mm/list.out")"
fi
mailman_start "$T/mm"
# Postfix reads the list domain's maps Mailman writes (and postmaps).
check "Mailman writes its maps for Postfix" mailman_cmd "$T/mm" aliases ||
    diag "$(ls -l "$MMDATA")"

postfix_sink_start "$T/sink" "$SINKPORT" || { not_ok "smtp-sink starts"; done_testing; exit 1; }

# syncd: mail from the list by LMTP, mail to the list by SMTP through
# Postfix.  The technik channel's list does not exist in Mailman.
C=$T/syncd.conf
write_conf "$C" "listen nntp 127.0.0.1:$NNTP
nntp-post anonymous
listen lmtp 127.0.0.1:$GWLMTP"
sed -i "s|^\tlist $LIST\$|\tlist $LIST\n\tlist-id $LISTID\n\tgateway-address $GW\n\tsubject-tag \"[Pirates-test]\"|" "$C"
sed -i 's|^\tlist syncom-technik@lists.test.example$|&\n\tgateway-address gateway+technik@gw.test.example|' "$C"
sed -i "s|^deliver list maildir .*|deliver list smtp 127.0.0.1:$PFPORT|" "$C"
start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }

postfix_setup "$T/pf" "$PFPORT" "$SINKPORT"
postfix_lists "$T/pf" "$MMDATA" "$GWLMTP" "$GW"
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
t1=$(date +%s)

# (a) A subscriber's post to the list.
MID_A="<list-$$-$t0@remote.example>"
printf 'From: Sub One <sub1@remote.example>\r\nTo: %s\r\nSubject: hello from the list\r\nDate: %s\r\nMessage-ID: %s\r\n\r\nPosted to the list by mail.\r\n' \
    "$LIST" "$(date -R)" "$MID_A" > "$T/a.eml"
check_eq "Postfix takes a post to the list" "{}" \
    "$($MMTOOL smtp "$PFPORT" sub1@remote.example "$LIST" "$T/a.eml")"
if check "Mailman sends it to the first subscriber" wait_for 60 sink_copy "$MID_A" sub1@remote.example; then
	f=$(sink_copy "$MID_A" sub1@remote.example)
	check "with its subject tag and footer" grep -q '^Subject: \[Pirates-test\] hello from the list' "$f" ||
	    diag "$(cat "$f")"
else
	mailman_diag
fi
check "and to the second" wait_for 10 sink_copy "$MID_A" sub2@remote.example
check "Postfix hands the gateway's copy to syncd by LMTP" wait_for 30 pf_sent "$MID_A" "$GW" "$GWLMTP" ||
    diag "$(tail -n 15 "$T/pf/log/maillog")"
check "the post is in syncd's group" wait_for 10 $NNTPTOOL "$NNTP" has "$MID_A" ||
    diag "$(tail -n 15 "$T/syncd.log")"
$NNTPTOOL "$NNTP" article "$MID_A" > "$T/a.art" 2>&1
check "under its own Message-ID" grep -qxF "Message-ID: $MID_A" "$T/a.art"
check "without the subject tag" grep -qx 'Subject: hello from the list' "$T/a.art" ||
    diag "$(grep '^Subject:' "$T/a.art")"
check "without Mailman's footer" sh -c "! grep -q -e '^____*\$' -e 'mailing list --' -e 'To unsubscribe' '$T/a.art'" ||
    diag "$(tail -n 5 "$T/a.art")"
check "with its body" grep -qx 'Posted to the list by mail.' "$T/a.art"
check_eq "once" 1 "$($MMTOOL count "$NNTP" pirates.de.test "$MID_A")"
check_eq "and syncd does not send it back to the list" 0 \
    "$(grep 'event=deliver ' "$T/syncd.log" | grep -F "$MID_A" | grep -c "target=list:")"

# (b) A news post, to the list and its subscribers through Mailman.
MID_B="<news-$$-$t0@news.example>"
printf 'From: Nora News <nora@news.example>\r\nNewsgroups: pirates.de.test\r\nSubject: hello from the group\r\nMessage-ID: %s\r\n\r\nPosted to the group by NNTP.\r\n' \
    "$MID_B" > "$T/b.art"
out=$($NNTPTOOL "$NNTP" post "$T/b.art")
case $out in 240*) ok "syncd takes a news post" ;; *) not_ok "syncd takes a news post"; diag "$out" ;; esac
check "Postfix passes it to Mailman" wait_for 30 pf_sent "$MID_B" "$LIST" "$MMLMTP" ||
    diag "$(tail -n 15 "$T/pf/log/maillog"; tail -n 10 "$T/syncd.log")"
check "from the gateway address" pf_from "$MID_B" "$GW"
if check "Mailman sends it to the first subscriber" wait_for 60 sink_copy "$MID_B" sub1@remote.example; then
	f=$(sink_copy "$MID_B" sub1@remote.example)
	check "tagged, from the news author" sh -c "grep -q '^Subject: \[Pirates-test\] hello from the group' '$f' &&
	    grep -q '^From: Nora News <nora@news.example>' '$f'" || diag "$(cat "$f")"
else
	mailman_diag
fi
check "and to the second" wait_for 10 sink_copy "$MID_B" sub2@remote.example
check "the gateway's own copy comes back to syncd" wait_for 30 pf_sent "$MID_B" "$GW" "$GWLMTP"
if routes "$MID_B" | grep -q 'source=list .*result=\(duplicate\|loop\)'; then
	ok "syncd does not take it again"
else
	not_ok "syncd does not take it again"
	diag "$(routes "$MID_B")"
fi
check_eq "syncd routed it once" 1 "$(routes "$MID_B" | grep -c 'result=accepted')"
check_eq "the group has it once" 1 "$($MMTOOL count "$NNTP" pirates.de.test "$MID_B")"
out=$("$SYNCCTL" -c "$C" queue)
case $out in
*pending*|*dead*) not_ok "nothing is left in syncd's outbox"; diag "$out" ;;
*) ok "nothing is left in syncd's outbox" ;;
esac
check_eq "syncd sent it to the list once" 1 \
    "$(grep 'event=delivered ' "$T/syncd.log" | grep -F "$MID_B" | grep -c "target=list:$LIST ")"

# A list Postfix does not know: a dead letter, and the author is told.
MID_D="<news-nolist-$$-$t0@news.example>"
sed "s|^Message-ID: .*|Message-ID: $MID_D\r|; s|^Newsgroups: .*|Newsgroups: pirates.de.etc.syncom.technik\r|" "$T/b.art" > "$T/d.art"
out=$($NNTPTOOL "$NNTP" post "$T/d.art")
case $out in 240*) ok "syncd takes a post to a group whose list is gone" ;; *) not_ok "syncd takes a post to a group whose list is gone"; diag "$out" ;; esac
check "Postfix's 550 makes it a dead letter" wait_for 15 sh -c \
    "'$SYNCCTL' -c '$C' dead | grep -A1 -F '$MID_D' | grep -q '5.1.1'" ||
    diag "$("$SYNCCTL" -c "$C" dead; tail -n 5 "$T/syncd.log")"
# notice RCPT: the sink's copy of a notice about MID_D to RCPT.
notice() {
	grep -lF "In-Reply-To: $MID_D" "$T/sink"/* 2>/dev/null |
	    xargs -r grep -lF "X-Rcpt-Args: <$1>" 2>/dev/null | head -1
}
if check "its author gets a notice through Postfix" wait_for 30 sh -c "[ -n \"\$(grep -lF 'In-Reply-To: $MID_D' '$T/sink'/* 2>/dev/null)\" ]"; then
	f=$(notice nora@news.example)
	check "addressed to the author, from the null sender" sh -c "[ -n '$f' ] && grep -q '^X-Mail-Args: <>' '$f'" ||
	    diag "$(head -20 "$f")"
	check "marked Auto-Submitted, with Postfix's reason" sh -c "grep -q '^Auto-Submitted: auto-replied' '$f' &&
	    grep -q '5.1.1' '$f'" || diag "$(cat "$f")"
else
	diag "$(grep 'event=notice' "$T/syncd.log"; tail -n 10 "$T/pf/log/maillog")"
fi
stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"

# The other way to the list: LMTP straight to Mailman's runner.
sed -i "s|^deliver list smtp .*|deliver list lmtp 127.0.0.1:$MMLMTP|" "$C"
start_syncd "$C" || { not_ok "syncd starts with deliver list lmtp"; done_testing; exit 1; }
MID_C="<news-lmtp-$$-$t0@news.example>"
sed "s|^Message-ID: .*|Message-ID: $MID_C\r|; s|^Subject: .*|Subject: by LMTP\r|" "$T/b.art" > "$T/c.art"
out=$($NNTPTOOL "$NNTP" post "$T/c.art")
case $out in 240*) ok "syncd takes another news post" ;; *) not_ok "syncd takes another news post"; diag "$out" ;; esac
check "by LMTP, Mailman sends it to the subscribers" wait_for 60 sink_copy "$MID_C" sub2@remote.example ||
    mailman_diag
if pf_sent "$MID_C" "$LIST" "$MMLMTP"; then
	not_ok "straight to Mailman, not through Postfix"
else
	ok "straight to Mailman, not through Postfix"
fi
check "the gateway's copy comes back" wait_for 30 pf_sent "$MID_C" "$GW" "$GWLMTP"
check_eq "and is not taken again" 1 "$($MMTOOL count "$NNTP" pirates.de.test "$MID_C")"

# The list's description, from Mailman's REST API, for LIST NEWSGROUPS.
check_eq "Mailman takes a description for the list" 204 \
    "$($MMTOOL describe "$MMREST" "$LISTID" 'Die Testliste – für alle Tests' 2>&1)"
sed -i "s|^hostname .*|&\nmailman-rest http://restadmin:restpass@127.0.0.1:$MMREST/3.1|" "$C"
"$SYNCCTL" -c "$C" reload > /dev/null
"$SYNCCTL" -c "$C" run-job descriptions > "$T/describe.out" 2>&1
check_eq "run-job descriptions starts" 0 "$?"
check "and takes the description from Mailman" wait_for 10 sh -c \
    "'$SYNCCTL' -c '$C' jobs | grep -q '^descriptions .* ok: 1 descriptions from Mailman, 1 from the configuration\$'"
check_eq "LIST NEWSGROUPS says what Mailman says" "Die Testliste – für alle Tests" \
    "$($MMTOOL groups "$NNTP" pirates.de.test)"
stop_syncd
check_eq "syncd stops cleanly again" 0 "$SYNCD_STATUS"
t2=$(date +%s)

mailman_stop
postfix_stop
postfix_sink_stop
diag "setup $((t1 - t0)) s, tests $((t2 - t1)) s, stop $(($(date +%s) - t2)) s"
done_testing
