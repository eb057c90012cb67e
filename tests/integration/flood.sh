#!/bin/sh
#
# Floods on every listener of syncd at once (flood.py): ten thousand
# connections, so that everything syncd opens meanwhile, outbound
# deliveries too, gets a descriptor above 1024; slowloris clients on the
# NNTP, SMTP, LMTP and HTTP listeners; oversized lines, header blocks and
# bodies.  The list side is delivered by LMTP to Postfix's smtp-sink.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/postfix.sh"

PY=/usr/bin/python3
if [ ! -x "$POSTFIX_SINK" ] || ! id postfix >/dev/null 2>&1; then
	skip "floods" "Postfix's smtp-sink is not installed"
	done_testing
	exit 0
fi
# Room for ten thousand connections on both ends, and some.
if ! ulimit -n 16384 2>/dev/null; then
	skip "floods" "cannot raise the descriptor limit to 16384 (hard limit $(ulimit -Hn))"
	done_testing
	exit 0
fi

NNTP=$(free_port)
LMTP=$(free_port)
SMTP=$(free_port)
HTTP=$(free_port)
SINK=$(free_port)
C=$T/syncd.conf
write_conf "$C" "listen nntp 127.0.0.1:$NNTP
listen lmtp 127.0.0.1:$LMTP
listen smtp 127.0.0.1:$SMTP
listen http 127.0.0.1:$HTTP
nntp-post anonymous
max-message-size 1M
nntp-idle-timeout 10s
smtp-idle-timeout 10s
http-timeout 10s

nntp-connections-per-address 100000
smtp-connections-per-address 100000"
sed -i "s|^deliver list maildir .*|deliver list lmtp 127.0.0.1:$SINK|" "$C"
sed -i 's|^\tlist \(.*\)@lists.test.example$|&\n\tgateway-address gateway+\1@gw.test.example|' "$C"
sed -i 's|gateway+pirates-test@|gateway+test@|' "$C"

postfix_sink_start "$T/sink" "$SINK" -L || { not_ok "smtp-sink starts"; done_testing; exit 1; }
start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }

$PY "$srcdir/tests/integration/flood.py" "$SYNCD_PID" "$NNTP" "$LMTP" \
    "$SMTP" "$HTTP" "$T/sink" "$T/out/news" 10 > "$T/flood.tap" 2>&1
rc=$?
tap_import "$T/flood.tap"
check_eq "the flood client finished" 0 "$rc"
check "syncd survived the floods" kill -0 "$SYNCD_PID"
# The slowloris clients were ended by the rule for unfinished lines, not
# by an idle timeout (they never were idle for a second).
for proto in nntp smtp http; do
	check "the $proto log says why the slow ones went" \
	    grep -q "event=$proto .*result=slow" "$T/syncd.log"
done
check_eq "and logged no error of its own" "" \
    "$(grep -E ' (crit|emerg|alert) |fatal|Too many open files' "$T/syncd.log" | head -3)"
stop_syncd
check_eq "syncd stops cleanly after the floods" 0 "$SYNCD_STATUS"
postfix_sink_stop
done_testing
