#!/bin/sh
#
# syncmigrate's TLS: STARTTLS and TLS from the first byte to a real
# Dovecot whose certificate a test CA signed for 127.0.0.1 only.  With
# the CA it works; without it, with the wrong name, or against a server
# that offers no STARTTLS, it refuses before any password is sent, and
# says why.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/dovecot.sh"

MIGRATE=$builddir/migrate/syncmigrate
if ! dovecot_available || ! command -v openssl > /dev/null; then
	skip "syncmigrate over TLS" "Dovecot (dovecot-imapd) or openssl is not installed"
	done_testing
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	skip "syncmigrate over TLS" "starting Dovecot needs root"
	done_testing
	exit 0
fi
trap 'dovecot_stop "$T/old"; dovecot_stop "$T/new"; cleanup' EXIT

# A CA, and a server certificate it signed for the address 127.0.0.1.
{
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Syncom test CA" \
	    -keyout "$T/ca.key" -out "$T/ca.pem" &&
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
	    -keyout "$T/server.key" -out "$T/server.csr" &&
	printf 'subjectAltName = IP:127.0.0.1\n' > "$T/san.ext" &&
	openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
	    -CAcreateserial -days 2 -extfile "$T/san.ext" -out "$T/server.pem"
} > "$T/openssl.log" 2>&1 || { not_ok "a test CA and certificate"; diag "$(cat "$T/openssl.log")"; done_testing; exit 1; }

OLD=$(free_port)
OLDS=$(free_port)
NEW=$(free_port)
dovecot_setup "$T/old" "$OLD" syncom-tls-old / &&
    dovecot_tls "$T/old" "$T/server.pem" "$T/server.key" "$OLDS" &&
    dovecot_setup "$T/new" "$NEW" syncom-tls-new . ||
    { not_ok "two Dovecots are set up"; done_testing; exit 1; }
dovecot_user "$T/old" alice old-alice
dovecot_user "$T/new" alice new-alice
check "the old Dovecot starts with TLS" dovecot_start "$T/old"
check "the new Dovecot starts without" dovecot_start "$T/new"
/usr/bin/python3 "$srcdir/tests/migrate/corpus.py" "$OLD" alice old-alice \
    --messages 20 --folders 2 > "$T/corpus.out" 2>&1 ||
    diag "$(cat "$T/corpus.out")"

# conf OLD-LINE [MORE...]: a configuration with that old server.
conf() {
	{
		echo "$1"
		shift
		for l in "$@"; do
			echo "$l"
		done
		echo "new 127.0.0.1:$NEW plain"
		echo "state $T/state.db"
		echo "account alice alice old-alice alice new-alice"
	} > "$T/m.conf"
}

# attempt: run; its status in $rc and its log in $T/run.log.
attempt() {
	"$MIGRATE" -c "$T/m.conf" run > "$T/run.log" 2>&1
	rc=$?
}

logins() {
	grep -c "imap-login: Login: user=<alice>" "$T/old/log/dovecot.log"
}

conf "old 127.0.0.1:$OLD starttls" "old-ca-file $T/ca.pem"
attempt
check_eq "STARTTLS with the test CA works" 0 "$rc" || diag "$(tail -3 "$T/run.log")"
check "and copies the mail" grep -q 'event=account .*copied=2[0-9]' "$T/run.log"

conf "old 127.0.0.1:$OLDS tls" "old-ca-file $T/ca.pem"
attempt
check_eq "TLS from the first byte works" 0 "$rc" || diag "$(tail -3 "$T/run.log")"

before=$(logins)
conf "old 127.0.0.1:$OLD"
attempt
check_eq "STARTTLS (the default) with the system's CAs is refused" 69 "$rc"
check "saying the certificate is not trusted" \
    grep -q 'the certificate is not trusted' "$T/run.log" || diag "$(cat "$T/run.log")"
conf "old localhost:$OLDS tls" "old-ca-file $T/ca.pem"
attempt
check_eq "a certificate for another name is refused" 69 "$rc"
check "saying so" grep -q 'hostname mismatch\|not trusted' "$T/run.log" ||
    diag "$(cat "$T/run.log")"
check_eq "no password went to the server meanwhile" "$before" "$(logins)"

conf "old 127.0.0.1:$OLD starttls" "old-verify no"
attempt
check_eq "old-verify no takes any certificate" 0 "$rc" || diag "$(tail -3 "$T/run.log")"

# The new server offers no STARTTLS: without "plain" nothing is sent.
sed -i "s|^new 127.0.0.1:$NEW plain\$|new 127.0.0.1:$NEW|" "$T/m.conf"
attempt
check_eq "a server without STARTTLS is refused by default" 69 "$rc"
check "with what to write instead" grep -q 'offers no STARTTLS' "$T/run.log" ||
    diag "$(cat "$T/run.log")"
done_testing
