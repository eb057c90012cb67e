#!/bin/sh
#
# syncd's NNTP server with real clients: python's nntplib for the reader
# and feeder dialogue (nntp_client.py), and plain sockets for the floods.

. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
if ! $PY -W ignore -c 'import nntplib' 2>/dev/null; then
	skip "NNTP dialogue" "no python3 with nntplib at $PY"
	done_testing
	exit 0
fi

PORT=$(free_port)
C=$T/syncd.conf
$PY -W ignore -c 'import crypt; print("erika:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_SHA512)))' > "$T/users"
echo "Welcome to the test gateway" > "$T/motd"
write_conf "$C" "listen nntp 127.0.0.1:$PORT
nntp-users $T/users
nntp-motd $T/motd"
sed -i 's|^\tboard test$|\tboard test\n\tdescription "Tests of the gateway"|' "$C"
cat >> "$C" <<EOF2

channel moderated {
	newsgroup pirates.de.moderated
	list moderated@lists.test.example
	moderated yes
}

channel private {
	newsgroup pirates.de.private
	list private@lists.test.example
	nntp-read authenticated
}

channel closed {
	newsgroup pirates.de.closed
	list closed@lists.test.example
	nntp-post nobody
}

channel announce {
	newsgroup pirates.de.announce
	list announce@lists.test.example
	direction read-only
}
EOF2
printf 'From: a@example.org\r\nSubject: secret\r\nMessage-ID: <private1@example.org>\r\nList-Id: <private.lists.test.example>\r\n\r\nsecret\r\n' > "$T/private1"
start_syncd "$C" || { not_ok "syncd starts with an NNTP listener"; done_testing; exit 1; }
"$SYNCCTL" -c "$C" inject --source list "$T/private1" > /dev/null

$PY -W ignore::DeprecationWarning "$srcdir/tests/integration/nntp_client.py" "$PORT" erika s3cret "$SYNCCTL" "$C" > "$T/client.tap" 2>&1
rc=$?
tap_import "$T/client.tap"
check_eq "the NNTP client finished" 0 "$rc"

stop_syncd
check_eq "syncd stops cleanly after the NNTP dialogue" 0 "$SYNCD_STATUS"

# The floods, on a syncd with room for them and a short idle timeout.
ulimit -n 4096
sed -i 's|^nntp-users .*|nntp-connections-per-address 2000\nnntp-idle-timeout 5s|' "$C"
start_syncd "$C" "$T/flood.log" || { not_ok "syncd starts again"; done_testing; exit 1; }
$PY "$srcdir/tests/integration/nntp_flood.py" "$PORT" 5 > "$T/flood.tap" 2>&1
rc=$?
tap_import "$T/flood.tap"
check_eq "the flood client finished" 0 "$rc"
check "syncd survived the floods" kill -0 "$SYNCD_PID"
stop_syncd
check_eq "syncd stops cleanly after the floods" 0 "$SYNCD_STATUS"
check "no AUTHINFO password is in syncd's log" absent s3cret "$T/syncd.log"
done_testing
