#!/bin/sh
#
# Mail out: news posts reach the list by SMTP and by LMTP, with Postfix's
# smtp-sink as the server: what it receives (envelope and message), a
# 4xx that is retried until the server takes it, a 5xx that makes a dead
# letter and a notice to the author, and a list-from rewrite.

. "$(dirname "$0")/../lib.sh"

. "$srcdir/tests/peers/postfix.sh"

NNTPTOOL="/usr/bin/python3 -W ignore::DeprecationWarning $srcdir/tests/integration/nntp_tool.py"
if ! postfix_available; then
	skip "mail to the list" "Postfix (Debian's postfix, for smtp-sink) is not installed"
	done_testing
	exit 0
fi

# sunk DIR MSGID: the dump in DIR that holds MSGID, once it is whole
# (its last line came).
sunk() {
	grep -l -F "Message-ID: $2" "$1"/* 2>/dev/null |
	    xargs -r grep -l '^\.a line with a dot' 2>/dev/null | head -1
}

# sunk_wait DIR MSGID: wait for it.
sunk_wait() {
	wait_for 15 sh -c "grep -l -F 'Message-ID: $2' $1/* 2>/dev/null |
	    xargs -r grep -l '^\.a line with a dot' | grep -q ."
}

post() {
	printf 'From: Nora News <nora@example.org>\r\nNewsgroups: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n\r\nPosted on news.\r\n.a line with a dot\r\n' \
	    "$1" "$2" "$3" > "$T/post"
	$NNTPTOOL "$NNTP" post "$T/post" > "$T/post.out" 2>&1
}

NNTP=$(free_port)
PORT=$(free_port)
C=$T/syncd.conf
write_conf "$C" "listen nntp 127.0.0.1:$NNTP
nntp-post anonymous"
sed -i "s|^deliver list maildir .*|deliver list smtp 127.0.0.1:$PORT|" "$C"
sed -i 's|^\tlist pirates-test@lists.test.example$|\tlist pirates-test@lists.test.example\n\tgateway-address gateway+test@gw.test.example\n\tlist-password s3cret|' "$C"
sed -i 's|^\tlist syncom-technik@lists.test.example$|\tlist syncom-technik@lists.test.example\n\tgateway-address gateway+technik@gw.test.example\n\tlist-from rewrite|' "$C"

# A channel that mails its list needs the address it mails from.
sed 's|^\tgateway-address gateway+test@gw.test.example$||' "$C" > "$T/nogw.conf"
out=$("$SYNCD" -n "$T/nogw.conf" 2>&1)
case $out in
*"channel test: deliver list smtp needs a gateway-address"*) ok "deliver list smtp without a gateway-address is refused" ;;
*) not_ok "deliver list smtp without a gateway-address is refused"; diag "$out" ;;
esac

postfix_sink_start "$T/sink1" "$PORT"
start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }

post pirates.de.test "to the list" "<out1@example.org>"
check "a news post is taken" grep -q '^240' "$T/post.out" || diag "$(cat "$T/post.out")"
check "it reaches the list's server by SMTP" sunk_wait "$T/sink1" "<out1@example.org>"
f=$(sunk "$T/sink1" "<out1@example.org>")
check "from the channel's gateway address" grep -q '^X-Mail-Args: <gateway+test@gw.test.example>' "$f" ||
    diag "$(head -20 "$f")"
check "to the list" grep -q '^X-Rcpt-Args: <pirates-test@lists.test.example>' "$f"
check "addressed To the list" grep -q '^To: pirates-test@lists.test.example' "$f"
check "the author stays in From" grep -q '^From: Nora News <nora@example.org>' "$f"
check "with our gateway header" grep -q '^X-Syncom-Gateway: gw.test.example' "$f"
check "and the list password as Approved" grep -q '^Approved: s3cret' "$f"
check "without Path or Newsgroups" sh -c "! grep -q -E '^(Path|Newsgroups|Injection-Info):' $f"
check "a line starting with a dot arrives whole" grep -q '^\.a line with a dot' "$f"
check "the outbox row is done" wait_for 5 sh -c "grep -q 'event=delivered msgid=\"\\?<out1@example.org>' $T/syncd.log"

post pirates.de.etc.syncom.technik "rewritten" "<out2@example.org>"
check "a post to a list-from rewrite channel goes out" sunk_wait "$T/sink1" "<out2@example.org>"
f=$(sunk "$T/sink1" "<out2@example.org>")
check "From names the author via our host, at the gateway address" \
    grep -q '^From: "Nora News via gw.test.example" <gateway+technik@gw.test.example>' "$f" ||
    diag "$(grep -E '^(From|Reply-To):' "$f")"
check "Reply-To is the author" grep -q '^Reply-To: Nora News <nora@example.org>' "$f"
check "no Approved where no password is set" sh -c "! grep -q '^Approved:' $f"

# A reload takes a channel's new list-from at once, on the same transport.
sed -i 's|^\tlist-password s3cret$|\tlist-password s3cret\n\tlist-from rewrite|' "$C"
check "syncctl reload takes the new list-from" sh -c "'$SYNCCTL' -c '$C' reload > /dev/null"
post pirates.de.test "after the reload" "<out7@example.org>"
check "it goes out" sunk_wait "$T/sink1" "<out7@example.org>"
check "rewritten as the reloaded configuration says" \
    grep -q '^From: "Nora News via gw.test.example" <gateway+test@gw.test.example>' \
    "$(sunk "$T/sink1" "<out7@example.org>")"

# A server that refuses EHLO is spoken to with HELO (RFC 5321 4.1.1.1).
postfix_sink_stop
postfix_sink_start "$T/sink6" "$PORT" -f EHLO
post pirates.de.test "to an old server" "<out6@example.org>"
check "a server without EHLO gets the post by HELO" sunk_wait "$T/sink6" "<out6@example.org>"
check "sent without ESMTP parameters" grep -q '^X-Mail-Args: <gateway+test@gw.test.example>$' \
    "$(sunk "$T/sink6" "<out6@example.org>")"

# 4xx: deferred, and delivered once the server takes it.
postfix_sink_stop
postfix_sink_start "$T/sink2" "$PORT" -r RCPT
post pirates.de.test "soft" "<out3@example.org>"
check "a 4xx is deferred" wait_for 10 sh -c "grep -q 'event=deferred msgid=\"\\?<out3@example.org>' $T/syncd.log"
check "nothing was taken meanwhile" sh -c "! grep -q -F '<out3@example.org>' $T/sink2/* 2>/dev/null"
postfix_sink_stop
postfix_sink_start "$T/sink3" "$PORT"
check "the retry delivers it" sunk_wait "$T/sink3" "<out3@example.org>"
check "exactly once" test "$(grep -l -F 'Message-ID: <out3@example.org>' "$T"/sink3/* | wc -l)" -eq 1

# 5xx: a dead letter with the server's words, and a notice attempt (the
# notice that arrives is in mailman.sh, through a real Postfix).
postfix_sink_stop
postfix_sink_start "$T/sink4" "$PORT" -f . -B "554 5.7.1 the list does not take this"
post pirates.de.test "hard" "<out4@example.org>"
check "a 5xx makes a dead letter" wait_for 10 sh -c "grep -q 'event=dead-letter msgid=\"\\?<out4@example.org>' $T/syncd.log"
out=$("$SYNCCTL" -c "$C" dead 2>&1)
case $out in
*"the list does not take this"*) ok "syncctl dead shows the server's reply" ;;
*) not_ok "syncctl dead shows the server's reply"; diag "$out" ;;
esac
check "the author is sent a notice from the null sender" wait_for 5 \
    grep -q 'event=notice .*rcpt=nora@example.org' "$T/syncd.log"
check "the server refused that too, and that is logged, not retried" \
    grep -q 'event=notice .*result=not-sent' "$T/syncd.log"
stop_syncd
check_eq "syncd ran on and stops cleanly" 0 "$SYNCD_STATUS"
postfix_sink_stop

# LMTP straight to the list server.
sed -i "s|^deliver list smtp .*|deliver list lmtp 127.0.0.1:$PORT|" "$C"
postfix_sink_start "$T/sink5" "$PORT" -L
start_syncd "$C" || { not_ok "syncd starts with deliver list lmtp"; done_testing; exit 1; }
post pirates.de.test "by lmtp" "<out5@example.org>"
check "a news post reaches the list by LMTP" sunk_wait "$T/sink5" "<out5@example.org>"
f=$(sunk "$T/sink5" "<out5@example.org>")
check "to the list, by LMTP" grep -q '^X-Rcpt-Args: <pirates-test@lists.test.example>' "$f"
check "in an LMTP session" grep -q '^X-Client-Proto: LMTP' "$f" ||
    diag "$(head -5 "$f")"
stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
postfix_sink_stop

done_testing
