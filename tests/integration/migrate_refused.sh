#!/bin/sh
#
# syncmigrate to a new server that refuses one message: the new Dovecot's
# quota plugin takes no message above 512 KB (quota_max_mail_size), and
# the corpus has one of 1 MB in a folder of small ones, in the same
# batch.  The server says NO to the batch's one APPEND (MULTIAPPEND), so
# the batch is tried again one message at a time: the big one is
# reported as refused, every other one is copied, the run is not a
# failure, and a rerun copies nothing twice and reports the big one
# again.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/dovecot.sh"

PY=/usr/bin/python3
MIGRATE=$builddir/migrate/syncmigrate
CORPUS="$PY $srcdir/tests/migrate/corpus.py"
dovecot_require "syncmigrate with a message refused"
if [ ! -f /usr/lib/dovecot/modules/lib10_quota_plugin.so ]; then
	skip "syncmigrate with a message refused" "Dovecot's quota plugin is not installed"
	done_testing
	exit 0
fi
trap 'dovecot_stop "$T/old"; dovecot_stop "$T/new"; cleanup' EXIT

OLD=$(free_port)
NEW=$(free_port)
dovecot_setup "$T/old" "$OLD" syncom-old / &&
    dovecot_setup "$T/new" "$NEW" syncom-new . ||
    { not_ok "two Dovecots are set up"; done_testing; exit 1; }
cat >> "$T/new/dovecot.conf" <<'QUOTA'
# No message above 512 KB (Dovecot 2.3's quota plugin).
mail_plugins = $mail_plugins quota
plugin {
  quota = maildir:User quota
  quota_max_mail_size = 512k
}
QUOTA
check "the new Dovecot takes the quota settings" \
    doveconf -c "$T/new/dovecot.conf" -n > /dev/null
dovecot_user "$T/old" alice old-alice
dovecot_user "$T/new" alice new-alice
check "the old Dovecot starts" dovecot_start "$T/old"
check "the new Dovecot starts" dovecot_start "$T/new"
out=$($CORPUS "$OLD" alice old-alice --messages 60 --folders 3 --big-mb 1 \
    --seed 13 2>&1)
check_eq "a corpus of 60 messages and one of 1 MB is made" 61 \
    "$(printf '%s\n' "$out" | sed -n 's/.* messages=\([0-9]*\).*/\1/p')" ||
    diag "$out"

C=$T/syncmigrate.conf
dovecot_migrate_conf "$C" "$OLD" "$NEW" alice

"$MIGRATE" -c "$C" run > "$T/run.log" 2>&1
check_eq "the run is not a failure" 0 "$?" || diag "$(tail -5 "$T/run.log")"
check "the big message is reported as refused, with the server's reason" \
    grep -q "event=copy .*result=refused error=.*APPEND failed" \
    "$T/run.log" || diag "$(grep -e event=copy -e event=account "$T/run.log")"
check_eq "only that one" 1 "$(grep -c "result=refused" "$T/run.log")"
check "every other message is copied" \
    grep -q "event=account .*copied=60 .*refused=1" "$T/run.log" ||
    diag "$(grep event=account "$T/run.log")"

"$MIGRATE" -c "$C" verify alice > "$T/verify.log" 2>&1
check_eq "verify finds the two sides different" 1 "$?" ||
    diag "$(tail -5 "$T/verify.log")"
check_eq "by the big message alone" 1 \
    "$(grep -c "missing on the new server" "$T/verify.log")" ||
    diag "$(grep -v "^ok" "$T/verify.log")"
check_eq "nothing is on the new server that is not on the old" 0 \
    "$(grep -c "only on the new server" "$T/verify.log")"

"$MIGRATE" -c "$C" run > "$T/rerun.log" 2>&1
check_eq "a rerun is not a failure either" 0 "$?" ||
    diag "$(tail -5 "$T/rerun.log")"
check "it copies nothing and reports the big message again" \
    grep -q "event=account .*copied=0 .*refused=1" "$T/rerun.log" ||
    diag "$(grep event=account "$T/rerun.log")"
"$MIGRATE" -c "$C" verify alice > "$T/verify2.log" 2>&1
check_eq "and leaves no duplicate" 1 \
    "$(grep -c -e "missing on the new server" -e "only on the new server" \
    "$T/verify2.log")" || diag "$(grep -v "^ok" "$T/verify2.log")"

done_testing
