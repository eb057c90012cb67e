#!/bin/sh
#
# Started as root, syncd binds, then runs as its user; the data directory
# and the control socket are not open to everyone; without -f it becomes a
# daemon with a pidfile, and a second syncd on the same pidfile gives up.

. "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "privilege drop" "needs root"
	done_testing
	exit 0
fi
if ! id nobody > /dev/null 2>&1; then
	skip "privilege drop" "no user 'nobody' on this machine"
	done_testing
	exit 0
fi
nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)

C=$T/syncd.conf
write_conf "$C" "user nobody"
# The Maildirs are written by the daemon, that is by nobody.
mkdir -p "$T/out"
chown nobody "$T/out"
start_syncd "$C" || { not_ok "syncd starts as root with user nobody"; done_testing; exit 1; }
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$SYNCD_PID/status")
check_eq "all its uids are nobody's" "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" "$uids"
gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$SYNCD_PID/status")
check_eq "all its gids are nobody's group" "$nobody_gid $nobody_gid $nobody_gid $nobody_gid" "$gids"
groups=$(awk '/^Groups:/ { print $2 }' "/proc/$SYNCD_PID/status")
check_eq "it kept no supplementary group but its own" "$nobody_gid" "$groups"
check_eq "the data directory is nobody's and private" "nobody 750" "$(stat -c '%U %a' "$T/data")"
check_eq "the store belongs to nobody" "nobody" "$(stat -c '%U' "$T/data/syncd.db")"
check_eq "the store is not world-readable" "640" "$(stat -c '%a' "$T/data/syncd.db")"
check_eq "the control socket is not world-accessible" "socket nobody 660" "$(stat -c '%F %U %a' "$T/run/syncd.sock" | sed 's/^socket /socket /')"
out=$(setpriv --reuid=daemon --regid=daemon --clear-groups "$SYNCCTL" -c "$C" status 2>&1)
rc=$?
check_eq "another user cannot use the control socket" 3 "$rc"
msg "$T/m1" "<p1@example.org>" "Newsgroups: pirates.de.test"
"$SYNCCTL" -c "$C" inject --source news "$T/m1" > /dev/null
owned_by_nobody() { [ "$(find "$T/out/list" -type f -user nobody | wc -l)" -eq 1 ]; }
check "deliveries run as nobody" wait_for 10 owned_by_nobody
stop_syncd
check_eq "it stops cleanly as nobody" 0 "$SYNCD_STATUS"

# The control socket never replaces a file that is not a socket.
C3=$T/clobber.conf
write_conf "$C3"
sed -i "s|$T/data|$T/data3|; s|control-socket .*|control-socket $T/precious|; s|pidfile .*|pidfile $T/run3/syncd.pid|" "$C3"
echo keep > "$T/precious"
"$SYNCD" -f "$C3" > "$T/clobber.out" 2>&1
rc=$?
check_eq "a control-socket path holding a file stops the start" 1 "$rc"
check "and says why" grep -q "exists and is not a socket" "$T/clobber.out"
check_eq "the file is untouched" keep "$(cat "$T/precious")"

# Daemon mode: the starting process returns, the daemon writes its pid.
C2=$T/daemon.conf
write_conf "$C2"
sed -i "s|$T/data|$T/data2|; s|$T/run|$T/run2|g" "$C2"
"$SYNCD" "$C2" > "$T/daemon.out" 2>&1
rc=$?
check_eq "syncd without -f returns at once with status 0" 0 "$rc"
check "the daemon answers" wait_for 10 "$SYNCCTL" -c "$C2" status
pid=$(cat "$T/run2/syncd.pid" 2>/dev/null)
started_pids="$started_pids $pid"
check "the pidfile names the running daemon" test -n "$pid" -a -d "/proc/$pid"
"$SYNCD" -f "$C2" > "$T/second.out" 2>&1
rc=$?
check_eq "a second syncd on the same pidfile gives up" 1 "$rc"
check "and says why" grep -q "another syncd is running with this configuration" "$T/second.out"
check "the first one is still running" kill -0 "$pid"
kill -TERM "$pid"
gone() { ! kill -0 "$pid" 2>/dev/null; }
check "the daemon stops on SIGTERM" wait_for 10 gone
check "and removes its pidfile" test ! -e "$T/run2/syncd.pid"

done_testing
