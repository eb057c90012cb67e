#!/bin/sh
#
# A full data directory (ENOSPC): syncd's data-dir and its Maildir
# outputs on a small tmpfs of the test's, with a filler file in it.
# Articles by IHAVE, CHECK/TAKETHIS and TAKETHIS alone, and list mail by
# LMTP, are fed until the disk is full (diskfull_client.py).  Every
# answer must be 2xx for what was stored or a temporary refusal (436,
# 431, 400, 452/451), never a 5xx; syncd logs "data directory full" (not
# once per refusal) and does not spin.  Then the filler goes: syncd takes input again
# without a restart, serves everything it acknowledged, whole, and
# delivers each of them exactly once.

. "$(dirname "$0")/../lib.sh"

PY="/usr/bin/python3 -W ignore::DeprecationWarning"
DC="$PY $srcdir/tests/integration/diskfull_client.py"
if ! $PY -c 'import nntplib, smtplib' 2>/dev/null; then
	skip "a full data directory" "no python3 with nntplib at /usr/bin/python3"
	done_testing
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	skip "a full data directory" "mounting a small tmpfs needs root"
	done_testing
	exit 0
fi
D=$T/disk
mkdir -p "$D"
# 40 MiB less a 16 MiB filler: full after a checkpoint of the store's WAL
# (it checkpoints at 1000 pages of 8 KiB), so that both the WAL and the
# database file meet ENOSPC; 16 MiB freed lets the checkpoint finish.
if ! mount -t tmpfs -o size=40m,mode=0755 syncom-test "$D" 2>"$T/mount.err"; then
	skip "a full data directory" "cannot mount a tmpfs: $(cat "$T/mount.err")"
	done_testing
	exit 0
fi
mounted=1
trap '[ -n "${SYNCD_PID:-}" ] && stop_syncd; [ -n "$mounted" ] && umount "$D"; cleanup' EXIT
dd if=/dev/zero of="$D/filler" bs=1M count=16 2>/dev/null

NNTP=$(free_port)
LMTP=$(free_port)
C=$T/syncd.conf
write_conf "$C" "listen nntp 127.0.0.1:$NNTP
listen lmtp 127.0.0.1:$LMTP"
sed -i "s|^data-dir .*|data-dir $D/data|
s|^deliver forum maildir .*|deliver forum builtin|
s|^deliver list maildir .*|deliver list maildir $D/out/list|
s|^deliver news maildir .*|deliver news maildir $D/out/news|" "$C"
sed -i 's|^\tlist pirates-test@lists.test.example$|\tlist pirates-test@lists.test.example\n\tlist-id pirates-test.lists.test.example\n\tgateway-address gateway+test@gw.test.example|' "$C"
start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }

# cpu: syncd's user and system time so far, in clock ticks.
cpu() {
	awk '{ print $14 + $15 }' "/proc/$SYNCD_PID/stat"
}

t0=$(date +%s)
$DC fill "$NNTP" "$LMTP" "$T/acked" 2000 > "$T/fill.out" 2>&1
rc=$?
check_eq "every answer is 2xx for what was stored, or a 4xx refusal" 0 "$rc" ||
    diag "$(grep -e '^BAD' -e '^Traceback' "$T/fill.out")"
rounds=$(sed -n 's/^rounds //p' "$T/fill.out")
check "until the disk was full (not the round limit)" test "${rounds:-2000}" -lt 2000
check "some articles and mail were stored first" test "$(wc -l < "$T/acked")" -gt 100
for way in "ihave 436" "check 431" "takethis 400" "lmtp 452"; do
	check "full: ${way% *} is refused with ${way#* }" grep -q "^$way " "$T/fill.out"
done
check "the LMTP refusal says why, in RFC 3463 terms" \
    grep -q "^lmtp 452 452 4.3.1 .*data directory full" "$T/fill.out"
check "so do the NNTP ones" grep -q "^ihave 436 .*data directory full" "$T/fill.out"
check "syncd runs on" kill -0 "$SYNCD_PID"
# Near the edge a small message may still fit after a big one did not
# (and a failed Maildir write frees its space), so "full" may be said
# again, but only when it is full again after a message went in.
nfull=$(grep 'event=store-full' "$T/syncd.log" | grep -c 'data directory full')
check "the log says \"data directory full\", not for every refusal" \
    test "$nfull" -ge 1 -a "$nfull" -le 3 ||
    diag "$(grep -c 'event=store-full' "$T/syncd.log") store-full lines"

# Full for a while: no busy loop, and still refusing.
c0=$(cpu)
sleep 3
check "syncd does not spin while the disk is full (<0.5 s CPU in 3 s)" \
    test $(($(cpu) - c0)) -lt 50
if $DC again "$NNTP" "$LMTP" "$T/acked" full > "$T/again0.out" 2>&1; then
	not_ok "still full: new input is refused"
	diag "$(cat "$T/again0.out")"
else
	check "still full: new input is refused, temporarily" \
	    sh -c "! grep -q ^BAD '$T/again0.out'"
fi

# Space comes back: no restart.
rm -f "$D/filler"
tag=0
again() {
	tag=$((tag + 1))
	$DC again "$NNTP" "$LMTP" "$T/acked" "$tag" > "$T/again.out" 2>&1
}
check "space back: syncd accepts by every way again, by itself" wait_for 30 again ||
    diag "$(cat "$T/again.out")"
check "and says so" wait_for 5 sh -c "[ \$(grep -c 'event=store-writable' '$T/syncd.log') -eq \$(grep -c 'event=store-full' '$T/syncd.log') ]" ||
    diag "$(grep -e 'event=store-' -e 'event=checkpoint ' "$T/syncd.log")"
$DC read "$NNTP" "$T/acked" > "$T/read.out" 2>&1
check "every acknowledged article and mail is served, whole ($(wc -l < "$T/acked"))" \
    test "$?" -eq 0 || diag "$(head -5 "$T/read.out")"

check "the outbox empties" wait_for 60 sh -c "'$SYNCCTL' -c '$C' queue | grep -q 'the outbox is empty'" ||
    diag "$("$SYNCCTL" -c "$C" queue)"
# What each acknowledged message must have become: news to the list,
# list mail to the news side, both to the forum; once each.
sort -u "$T/acked" > "$T/want"
grep -rh '^Message-ID: ' "$D/out/list" "$D/out/news" | sed 's/^Message-ID: //; s/\r$//' |
    sort > "$T/got"
check_eq "each is delivered to its Maildir exactly once" "" \
    "$(sort -u "$T/got" | comm -3 - "$T/want"; uniq -d "$T/got")"
grep 'event=delivered .*target=forum:test' "$T/syncd.log" |
    sed 's/.*msgid=\([^ ]*\) .*/\1/' | sort > "$T/forum"
check_eq "and to the forum exactly once" "" \
    "$(sort -u "$T/forum" | comm -3 - "$T/want"; uniq -d "$T/forum")"
check_eq "nothing became a dead letter" "" "$("$SYNCCTL" -c "$C" dead | grep -v '^no dead')"

stop_syncd
check_eq "syncd stops cleanly" 0 "$SYNCD_STATUS"
SYNCD_PID=
diag "$(($(date +%s) - t0)) s, $rounds rounds, $(wc -l < "$T/acked") acknowledged"
done_testing
