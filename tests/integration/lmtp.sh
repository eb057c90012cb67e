#!/bin/sh
#
# List mail in: syncd's LMTP and SMTP listeners with python's smtplib as
# the MTA (lmtp_client.py), what lands in the group read back with
# nntplib, and a delivery acknowledged just before a SIGKILL that must
# survive it.

. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
if ! $PY -W ignore -c 'import smtplib, nntplib' 2>/dev/null; then
	skip "LMTP dialogue" "no python3 with smtplib and nntplib at $PY"
	done_testing
	exit 0
fi

NNTP=$(free_port)
LMTP=$(free_port)
SMTP=$(free_port)
C=$T/syncd.conf
printf 'troll@example.org; drop\n' > "$T/blacklist"
write_conf "$C" "listen nntp 127.0.0.1:$NNTP
listen lmtp 127.0.0.1:$LMTP
listen smtp 127.0.0.1:$SMTP
max-message-size 60M
smtp-idle-timeout 10s
smtp-connections-per-address 5
blacklist $T/blacklist"
sed -i 's|^\tlist pirates-test@lists.test.example$|\tlist pirates-test@lists.test.example\n\tlist-id pirates-test.lists.test.example\n\tgateway-address gateway+test@gw.test.example\n\tsubject-tag "[Pirates-test]"|' "$C"
sed -i 's|^\tlist syncom-technik@lists.test.example$|\tlist syncom-technik@lists.test.example\n\tgateway-address gateway+technik@gw.test.example|' "$C"
start_syncd "$C" || { not_ok "syncd starts with LMTP and SMTP listeners"; done_testing; exit 1; }

$PY -W ignore::DeprecationWarning "$srcdir/tests/integration/lmtp_client.py" "$LMTP" "$SMTP" "$NNTP" > "$T/client.tap" 2>&1
rc=$?
tap_import "$T/client.tap"
check_eq "the LMTP client finished" 0 "$rc"

# Acknowledged means stored: 250, then SIGKILL at once, then look.
msg "$T/durable" "<durable@example.org>" "List-Id: <pirates-test.lists.test.example>"
$PY - "$LMTP" "$T/durable" <<'PYEOF' > "$T/durable.out" 2>&1
import smtplib, sys
l = smtplib.LMTP("127.0.0.1", int(sys.argv[1]))
l.ehlo("mx.test.example")
print(l.sendmail("list-bounces@lists.test.example", ["gateway+test@gw.test.example"], open(sys.argv[2], "rb").read()))
PYEOF
check_eq "LMTP accepts the message" "{}" "$(cat "$T/durable.out")"
kill -KILL "$SYNCD_PID"
wait "$SYNCD_PID" 2>/dev/null
start_syncd "$C" || { not_ok "syncd starts again after SIGKILL"; done_testing; exit 1; }
$PY -W ignore - "$NNTP" <<'PYEOF' > "$T/after.out" 2>&1
import nntplib, sys
n = nntplib.NNTP("127.0.0.1", int(sys.argv[1]))
print(n.stat("<durable@example.org>")[0].split()[0])
PYEOF
check_eq "what LMTP acknowledged survives SIGKILL" "223" "$(cat "$T/after.out")"

stop_syncd
check_eq "syncd stops cleanly after the mail dialogue" 0 "$SYNCD_STATUS"

done_testing
