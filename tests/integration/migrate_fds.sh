#!/bin/sh
#
# syncmigrate with its IMAP sockets numbered above 1024: a wrapper holds
# 1,100 descriptors open when it starts syncmigrate, as a process in a
# crowded supervisor might.  libetpan's own socket driver waits in
# select(), whose fd_set ends at 1023 (glibc aborts the process on a
# larger number); the copy must work anyway, over plain IMAP and TLS.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/dovecot.sh"

PY=/usr/bin/python3
MIGRATE=$builddir/migrate/syncmigrate
CORPUS="$PY $srcdir/tests/migrate/corpus.py"
dovecot_require "syncmigrate above descriptor 1024"
if ! ulimit -n 4096 2>/dev/null; then
	skip "syncmigrate above descriptor 1024" "cannot raise the descriptor limit to 4096"
	done_testing
	exit 0
fi
trap 'dovecot_stop "$T/old"; dovecot_stop "$T/new"; cleanup' EXIT

OLD=$(free_port)
NEW=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -keyout "$T/server.key" -out "$T/server.pem" > "$T/openssl.log" 2>&1 ||
    { not_ok "a test certificate"; diag "$(cat "$T/openssl.log")"; done_testing; exit 1; }
dovecot_setup "$T/old" "$OLD" syncom-old / &&
    dovecot_tls "$T/old" "$T/server.pem" "$T/server.key" "$(free_port)" &&
    dovecot_setup "$T/new" "$NEW" syncom-new . ||
    { not_ok "two Dovecots are set up"; done_testing; exit 1; }
dovecot_user "$T/old" alice old-alice
dovecot_user "$T/new" alice new-alice
dovecot_master "$T/old" migrator old-secret
dovecot_master "$T/new" migrator new-secret
check "the old Dovecot starts" dovecot_start "$T/old"
check "the new Dovecot starts" dovecot_start "$T/new"
out=$($CORPUS "$OLD" alice old-alice --messages 60 --folders 3 --seed 11 2>&1)
check "a small corpus is made" [ $? -eq 0 ] || diag "$out"

# crowded ARGS...: run syncmigrate ARGS with descriptors 3 to 1102 taken.
crowded() {
	$PY -c '
import os, sys
for _ in range(1100):
    os.set_inheritable(os.open("/dev/null", os.O_RDONLY), True)
os.execv(sys.argv[1], sys.argv[1:])' "$MIGRATE" "$@"
}

C=$T/syncmigrate.conf
cat > "$C" <<EOF2
old 127.0.0.1:$OLD plain
new 127.0.0.1:$NEW plain
old-master migrator old-secret
new-master migrator new-secret
state $T/state.db
account alice
EOF2
crowded -c "$C" run > "$T/run.log" 2>&1
rc=$?
check_eq "syncmigrate run over plain IMAP above descriptor 1024" 0 "$rc" ||
    diag "$(tail -5 "$T/run.log")"
check "it copied every message" grep -q "event=account .*copied=60" "$T/run.log" ||
    diag "$(grep event=account "$T/run.log")"
crowded -c "$C" verify alice > "$T/verify.log" 2>&1
check_eq "syncmigrate verify agrees, above descriptor 1024 too" 0 "$?" ||
    diag "$(tail -5 "$T/verify.log")"
# STARTTLS: the plain stream first, then TLS on the same socket.
sed -i "s|^old .*|old 127.0.0.1:$OLD starttls\nold-verify no|" "$C"
crowded -c "$C" verify alice > "$T/verify-tls.log" 2>&1
check_eq "and over STARTTLS" 0 "$?" || diag "$(tail -5 "$T/verify-tls.log")"

done_testing
