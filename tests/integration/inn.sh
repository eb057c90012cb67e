#!/bin/sh
#
# syncd beside a real INN 2.7: INN feeds the synced groups to syncd
# through innfeed, syncd feeds INN by streaming; an article posted on
# either side reaches the other exactly once, and nothing echoes back.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/inn.sh"

PY="/usr/bin/python3 -W ignore::DeprecationWarning"
TOOL="$PY $srcdir/tests/integration/nntp_tool.py"
if ! inn_available; then
	skip "syncd and INN feed each other" "INN (Debian's inn2) is not installed"
	done_testing
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	skip "syncd and INN feed each other" "starting innd needs root"
	done_testing
	exit 0
fi

INNPORT=$(free_port)
GWPORT=$(free_port)
# syncd first: innfeed tries its peer once at start, then waits 30 s.
C=$T/syncd.conf
write_conf "$C" "listen nntp 127.0.0.1:$GWPORT
nntp-post anonymous"
sed -i "s|^deliver news maildir .*|deliver news nntp 127.0.0.1:$INNPORT|" "$C"
start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }

inn_setup "$T/inn" "$INNPORT" inn.test.example gw.test.example "$GWPORT"
check "innd starts" inn_start "$T/inn"

# Posted to INN: reaches syncd through innfeed.
printf 'From: Reader <r@example.org>\r\nNewsgroups: pirates.de.test\r\nSubject: posted at INN\r\nMessage-ID: <from-inn@example.org>\r\n\r\nHello from INN.\r\n' > "$T/a1"
out=$($TOOL -r "$INNPORT" post "$T/a1")
case $out in 240*) ok "INN takes a post" ;; *) not_ok "INN takes a post"; diag "$out" ;; esac
check "INN feeds it to syncd" wait_for 30 $TOOL "$GWPORT" has "<from-inn@example.org>" ||
    diag "$(tail -40 "$T/inn/log/innfeed.log"; tail -5 "$T/inn/log/news"; ls -l "$T/inn/spool/innfeed")"
out=$($TOOL "$GWPORT" article "<from-inn@example.org>")
case $out in
*"Path: gw.test.example!inn.test.example!"*) ok "syncd serves it with both in the Path" ;;
*) not_ok "syncd serves it with both in the Path"; diag "$out" ;;
esac

# Posted to syncd: reaches INN by syncd's feed.
printf 'From: Reader <r@example.org>\r\nNewsgroups: pirates.de.test\r\nSubject: posted at syncd\r\nMessage-ID: <from-gw@example.org>\r\n\r\nHello from syncd.\r\n' > "$T/a2"
out=$($TOOL "$GWPORT" post "$T/a2")
case $out in 240*) ok "syncd takes a post" ;; *) not_ok "syncd takes a post"; diag "$out" ;; esac
check "syncd feeds it to INN" wait_for 30 $TOOL -r "$INNPORT" has "<from-gw@example.org>"
out=$($TOOL -r "$INNPORT" article "<from-gw@example.org>")
case $out in
*"Path: inn.test.example!gw.test.example!.POSTED.127.0.0.1!not-for-mail"*)
	ok "INN has it with our .POSTED Path" ;;
*) not_ok "INN has it with our .POSTED Path"; diag "$out" ;;
esac

# A list message: syncd gives it Newsgroups and Path for INN.
msg "$T/l1" "<from-list@example.org>" "List-Id: <pirates-test.lists.test.example>"
"$SYNCCTL" -c "$C" inject --source list "$T/l1" > /dev/null
check "a list message reaches INN too" wait_for 30 $TOOL -r "$INNPORT" has "<from-list@example.org>"
out=$($TOOL -r "$INNPORT" article "<from-list@example.org>")
case $out in
*"Newsgroups: pirates.de.test"*"Path: inn.test.example!gw.test.example!not-for-mail"*|*"Path: inn.test.example!gw.test.example!not-for-mail"*"Newsgroups: pirates.de.test"*)
	ok "with Newsgroups and our Path" ;;
*) not_ok "with Newsgroups and our Path"; diag "$out" ;;
esac

# Let anything that would echo have time to do it, then count.
sleep 3
check_eq "INN holds each article once" 3 "$($TOOL -r "$INNPORT" count pirates.de.test)"
check_eq "syncd holds each article once" 3 "$($TOOL "$GWPORT" count pirates.de.test)"
check_eq "nothing was refused as a loop or duplicate on syncd" 0 "$(grep -c 'result=loop\|result=duplicate' "$T/syncd.log")"
check "syncd streamed to INN" grep -q "event=feed peer=127.0.0.1:$INNPORT result=connected mode=streaming" "$T/syncd.log"

# INN goes away: syncd keeps the article and delivers it when INN is back.
inn_stop "$T/inn"
printf 'From: Reader <r@example.org>\r\nNewsgroups: pirates.de.test\r\nSubject: while INN was down\r\nMessage-ID: <while-down@example.org>\r\n\r\nQueued.\r\n' > "$T/a3"
out=$($TOOL "$GWPORT" post "$T/a3")
case $out in 240*) ok "syncd takes posts while INN is down" ;; *) not_ok "syncd takes posts while INN is down"; diag "$out" ;; esac
check "the feed is deferred, not lost" wait_for 15 grep -q "event=deferred msgid=<while-down@example.org> target=news" "$T/syncd.log"
check "innd starts again" inn_start "$T/inn"
check "the queued article reaches INN once it is back" wait_for 30 $TOOL -r "$INNPORT" has "<while-down@example.org>"

inn_stop "$T/inn"
stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
done_testing
