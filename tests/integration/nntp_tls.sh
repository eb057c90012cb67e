#!/bin/sh
#
# TLS on the NNTP server: STARTTLS and nntps, from loopback and from a
# client in a network namespace of the test's own (AUTHINFO off loopback
# needs TLS: 483 before, 281 after).

. "$(dirname "$0")/../lib.sh"

PY="/usr/bin/python3 -W ignore::DeprecationWarning"
if ! command -v openssl > /dev/null; then
	skip "NNTP over TLS" "no openssl command to make a certificate"
	done_testing
	exit 0
fi
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 \
    -keyout "$T/key.pem" -out "$T/cert.pem" > "$T/openssl.log" 2>&1
chmod 600 "$T/key.pem"
$PY -c 'import crypt; print("erika:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_SHA512)))' > "$T/users"

# A namespace with a veth pair, if we may: the client's address there is
# not loopback.
ns=
if [ "$(id -u)" -eq 0 ] && command -v ip > /dev/null &&
    ip netns add "synt$$" 2>/dev/null; then
	ns=synt$$
	net=10.251.$(( $$ % 250 ))
	ip link add "vh$$" type veth peer name "vn$$" &&
	ip link set "vn$$" netns "$ns" &&
	ip addr add "$net.1/30" dev "vh$$" &&
	ip link set "vh$$" up &&
	ip netns exec "$ns" ip addr add "$net.2/30" dev "vn$$" &&
	ip netns exec "$ns" ip link set "vn$$" up &&
	ip netns exec "$ns" ip link set lo up || ns=
fi
cleanup_ns() {
	[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	ip link del "vh$$" 2>/dev/null
	cleanup
}
trap cleanup_ns EXIT

P1=$(free_port)
P2=$(free_port)
C=$T/syncd.conf
write_conf "$C" "listen nntp 127.0.0.1:$P1
listen nntps 127.0.0.1:$P2
${ns:+listen nntp $net.1:$P1
listen nntps $net.1:$P2}
nntp-post authenticated
nntp-users $T/users
tls-certificate $T/cert.pem
tls-key $T/key.pem"
start_syncd "$C" || { not_ok "syncd starts with TLS listeners"; done_testing; exit 1; }

$PY "$srcdir/tests/integration/nntp_tls_client.py" 127.0.0.1 "$P1" "$P2" erika s3cret 1 > "$T/lo.tap" 2>&1
check_eq "the TLS client from loopback finished" 0 "$?"
tap_import "$T/lo.tap"
if [ -n "$ns" ]; then
	ip netns exec "$ns" $PY "$srcdir/tests/integration/nntp_tls_client.py" "$net.1" "$P1" "$P2" erika s3cret 0 > "$T/ns.tap" 2>&1
	check_eq "the TLS client off loopback finished" 0 "$?"
	tap_import "$T/ns.tap"
else
	skip "AUTHINFO off loopback" "cannot make a network namespace here (needs root and iproute2)"
fi

# A key it cannot read stops the start, with the reason.
C2=$T/bad.conf
sed "s|^tls-key .*|tls-key $T/missing.pem|; s|$T/data|$T/data2|; s|$T/run|$T/run2|g; /^listen/d" "$C" > "$C2"
"$SYNCD" -f "$C2" > "$T/bad.out" 2>&1
check_eq "syncd refuses to start without its key" 1 "$?"
check "and names the file" grep -q "missing.pem" "$T/bad.out"

stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
done_testing
