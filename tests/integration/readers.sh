#!/bin/sh
#
# Real newsreaders against syncd: INN's pullnews pulls a whole group into
# INN, and slrn, driven under tmux, lists the groups, shows a thread and
# posts a followup; the test reads what slrn draws on its screen.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/inn.sh"

PY="/usr/bin/python3 -W ignore::DeprecationWarning"
TOOL="$PY $srcdir/tests/integration/nntp_tool.py"

GWPORT=$(free_port)
C=$T/syncd.conf
write_conf "$C" "listen nntp 127.0.0.1:$GWPORT
nntp-post anonymous"
start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }

# A thread of two in one group, twenty articles from a list in another.
printf 'From: A <a@example.org>\r\nNewsgroups: pirates.de.test\r\nSubject: Thread start\r\nMessage-ID: <t1@example.org>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nFirst.\r\n' > "$T/t1"
printf 'From: B <b@example.org>\r\nNewsgroups: pirates.de.test\r\nSubject: Re: Thread start\r\nMessage-ID: <t2@example.org>\r\nReferences: <t1@example.org>\r\nDate: Sun, 29 Nov 2026 11:00:00 +0000\r\n\r\nSecond.\r\n' > "$T/t2"
"$SYNCCTL" -c "$C" inject --source news "$T/t1" > /dev/null
"$SYNCCTL" -c "$C" inject --source news "$T/t2" > /dev/null
i=1
while [ $i -le 20 ]; do
	msg "$T/l$i" "<pull$i@example.org>" "List-Id: <syncom-technik.lists.test.example>"
	"$SYNCCTL" -c "$C" inject --source list "$T/l$i" > /dev/null
	i=$((i + 1))
done

# pullnews, as a small site would run it from cron.
if inn_available && [ "$(id -u)" -eq 0 ] && [ -x "$INN_BIN/pullnews" ]; then
	INNPORT=$(free_port)
	inn_setup "$T/inn" "$INNPORT" inn.test.example
	check "innd starts" inn_start "$T/inn"
	printf '127.0.0.1:%s\n\tpirates.de.test\n\tpirates.de.etc.syncom.technik\n' "$GWPORT" > "$T/pullnews.marks"
	"$INN_BIN/pullnews" -c "$T/pullnews.marks" -s "127.0.0.1:$INNPORT" > "$T/pullnews.log" 2>&1
	check_eq "pullnews runs to the end" 0 "$?"
	check "pullnews offered all 22 articles" grep -q "22 articles were accepted" "$T/pullnews.log"
	check_eq "INN holds the whole groups" "20 2" "$($TOOL -r "$INNPORT" count pirates.de.etc.syncom.technik) $($TOOL -r "$INNPORT" count pirates.de.test)"
	check "pullnews kept its place: the high mark is 20" grep -q "pirates.de.etc.syncom.technik [0-9]* 20$" "$T/pullnews.marks"
	inn_stop "$T/inn"
else
	skip "pullnews pulls a group" "INN (inn2) is not installed, or not root"
fi

# slrn under tmux.
if ! command -v slrn > /dev/null || ! command -v tmux > /dev/null; then
	skip "slrn reads and posts" "slrn or tmux is not installed"
	stop_syncd
	done_testing
	exit 0
fi
mkdir "$T/home"
cat > "$T/home/.slrnrc" <<EOF
set hostname "test.example"
set username "erika"
set realname "Erika Tester"
set editor_command "$T/edit.sh %s"
EOF
printf '#!/bin/sh\nprintf "\\nA followup written in slrn.\\n" >> "$1"\n' > "$T/edit.sh"
chmod +x "$T/edit.sh"
TMUX_SOCKET=syncom-$$
tm() {
	tmux -L "$TMUX_SOCKET" "$@"
}
screen_has() {
	tm capture-pane -p -t slrn | grep -q -- "$1"
}
# Subscribed to the thread's group only, as a reader would be.
printf 'pirates.de.test:\npirates.de.etc.syncom.technik!\n' > "$T/newsrc"
tm new-session -d -s slrn -x 120 -y 40 "HOME=$T/home LANG=C.UTF-8 slrn --nntp -h 127.0.0.1 -p $GWPORT -f $T/newsrc; sleep 60"
started_pids="$started_pids $(tm display-message -p '#{pid}')"

check "slrn lists the group with its two unread articles" wait_for 10 screen_has "^-> *2  pirates.de.test" ||
    diag "$(tm capture-pane -p -t slrn)"
tm send-keys -t slrn Enter
check "slrn shows the thread, collapsed, with two articles" wait_for 10 screen_has "\[A  *\]  2 Thread start" ||
    diag "$(tm capture-pane -p -t slrn)"
tm send-keys -t slrn Space
check "slrn shows the first article" wait_for 10 screen_has "^First\.$" ||
    diag "$(tm capture-pane -p -t slrn)"
check "and opens the thread: the reply by B is under it" screen_has "\[B  *\]" ||
    diag "$(tm capture-pane -p -t slrn)"
tm send-keys -t slrn f
check "slrn asks about the followup" wait_for 10 screen_has "followup?" ||
    diag "$(tm capture-pane -p -t slrn)"
tm send-keys -t slrn y
check "slrn asks to post it" wait_for 10 screen_has "Post the message?" ||
    diag "$(tm capture-pane -p -t slrn)"
tm send-keys -t slrn y
check "slrn posts it" wait_for 15 screen_has "Posting\.\.\.done\." ||
    diag "$(tm capture-pane -p -t slrn)"
posted() {
	[ "$($TOOL "$GWPORT" count pirates.de.test)" = 3 ]
}
check "syncd has the followup" wait_for 10 posted
id=$(grep -o 'intake=post msgid=<[^>]*>' "$T/syncd.log" | tail -1 | cut -d= -f3)
out=$($TOOL "$GWPORT" article "$id")
case $out in
*"References: <t1@example.org>"*"A followup written in slrn."*) ok "the followup is in the thread, with its text" ;;
*) not_ok "the followup is in the thread, with its text"; diag "$id: $out" ;;
esac
tm send-keys -t slrn q
tm send-keys -t slrn q
tm send-keys -t slrn y
tm kill-server 2>/dev/null

stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
done_testing
