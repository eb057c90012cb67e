#!/bin/sh
#
# The real syncd on a private directory: syncctl, the fan-out through the
# router, duplicates, loops, crossposts, reload and a clean stop.

. "$(dirname "$0")/../lib.sh"

check_eq "syncd -V prints the version" "syncd $(sed -n 's/^VERSION=//p' "$srcdir/configure")" "$("$SYNCD" -V)"

C=$T/syncd.conf
write_conf "$C"
if ! start_syncd "$C"; then
	not_ok "syncd starts"
	done_testing
	exit 1
fi
ok "syncd starts and syncctl status answers"

out=$("$SYNCCTL" -c "$C" status)
case $out in
*"syncd "*"channels:"*"test "*"pirates.de.test"*) ok "status names version and channels" ;;
*) not_ok "status names version and channels"; diag "$out" ;;
esac
out=$("$SYNCCTL" -c "$C" --json status)
case $out in
'{"version":'*'"channels":[{"name":"test"'*) ok "status --json" ;;
*) not_ok "status --json"; diag "$out" ;;
esac

# A list message reaches news and forum, once each, and not the list.
msg "$T/m1" "<m1@example.org>" "List-Id: Test list <pirates-test.lists.test.example>"
out=$("$SYNCCTL" -c "$C" inject --source list "$T/m1")
check_eq "inject from the list is accepted" "accepted <m1@example.org>" "$out"
check "it reaches the news side" wait_for 10 has_count "$T/out/news" '<m1@example.org>' 1
check "it reaches the forum side" wait_for 10 has_count "$T/out/forum" '<m1@example.org>' 1
check_eq "it is not sent back to the list" 0 "$(count_in "$T/out/list" '<m1@example.org>')"
check "delivered copies carry our gateway header" grep -q "^X-Syncom-Gateway: gw.test.example" "$(grep -rlF '<m1@example.org>' "$T/out/news")"

# The same message again: acknowledged as a duplicate, stored nowhere.
out=$("$SYNCCTL" -c "$C" inject --source list "$T/m1")
check_eq "a second copy is a duplicate" "duplicate <m1@example.org>: already have it" "$out"
out=$("$SYNCCTL" -c "$C" inject --source news "$T/m1")
check_eq "a second copy from another side too" "duplicate <m1@example.org>: already have it" "$out"

# The envelope recipient selects the channel when there is no List-Id.
msg "$T/m2" "<m2@example.org>"
out=$("$SYNCCTL" -c "$C" inject --source list --to syncom-technik@lists.test.example "$T/m2")
check_eq "the recipient selects the channel" "accepted <m2@example.org>" "$out"
check "and it reaches that channel's board" wait_for 10 has_count "$T/out/forum" '<m2@example.org>' 1

# Loop guards.
msg "$T/l1" "<l1@example.org>" "Newsgroups: pirates.de.test" "X-Syncom-Gateway: gw.test.example"
out=$("$SYNCCTL" -c "$C" inject --source news "$T/l1")
check_eq "our gateway header stops a loop" "loop <l1@example.org>: it carries our gateway header" "$out"
msg "$T/l2" "<l2@example.org>" "Newsgroups: pirates.de.test" "Path: inn.example!gw.test.example!not-for-mail"
out=$("$SYNCCTL" -c "$C" inject --source news "$T/l2")
check_eq "our Path identity stops a loop" "loop <l2@example.org>: our Path identity is in its Path" "$out"
msg "$T/l3" "<l3@example.org>" "Newsgroups: pirates.de.test" "List-Id: <pirates-test.lists.test.example>"
out=$("$SYNCCTL" -c "$C" inject --source news "$T/l3")
check_eq "the List-Id of a list we feed stops a loop" "loop <l3@example.org>: it carries the List-Id of a list we feed" "$out"
msg "$T/l4" "<l4@example.org>" "Newsgroups: pirates.de.test" "X-Syncom-Gateway: other.example"
out=$("$SYNCCTL" -c "$C" inject --source news "$T/l4")
check_eq "another gateway's header is no loop" "accepted <l4@example.org>" "$out"

# A crosspost: stored once, one delivery per target.
before=$("$SYNCCTL" -c "$C" --json status | sed 's/.*"messages":\([0-9]*\).*/\1/')
msg "$T/x1" "<x1@example.org>" "Newsgroups: pirates.de.test,pirates.de.etc.syncom.technik"
out=$("$SYNCCTL" -c "$C" inject --source news "$T/x1")
check_eq "a crosspost is accepted" "accepted <x1@example.org>" "$out"
after=$("$SYNCCTL" -c "$C" --json status | sed 's/.*"messages":\([0-9]*\).*/\1/')
check_eq "a crosspost is stored once" "$((before + 1))" "$after"
check "a crosspost reaches both lists" wait_for 10 has_count "$T/out/list" '<x1@example.org>' 2
check "a crosspost reaches both boards" wait_for 10 has_count "$T/out/forum" '<x1@example.org>' 2
check_eq "a crosspost from news is not sent to news" 0 "$(count_in "$T/out/news" '<x1@example.org>')"

# Refusals come with a reason and exit status 1.
printf 'Subject: no id\r\n\r\nbody\r\n' > "$T/bad1"
out=$("$SYNCCTL" -c "$C" inject --source list --to pirates-test@lists.test.example "$T/bad1")
rc=$?
check_eq "a message without Message-ID is rejected" "1 rejected -: no Message-ID" "$rc $out"
msg "$T/bad2" "<bad2@example.org>" "Newsgroups: alt.unknown"
out=$("$SYNCCTL" -c "$C" inject --source news "$T/bad2")
check_eq "an article for no channel is rejected" "rejected <bad2@example.org>: no channel carries alt.unknown" "$out"
out=$("$SYNCCTL" -c "$C" frobnicate 2>&1)
check_eq "an unknown command is refused" "syncctl: unknown command 'frobnicate'" "$out"

# Refusals reach syncctl with their reason, even before it sent it all.
head -c 11000000 /dev/zero | tr '\0' 'x' > "$T/huge"
out=$("$SYNCCTL" -c "$C" inject --source news "$T/huge" 2>&1)
rc=$?
check_eq "an oversized inject is refused with the reason" \
	"1 syncctl: inject: 11000000 bytes is larger than max-message-size (10485760)" "$rc $out"
printf 'From: a@example.org\r\nMessage-ID: <u8@example.org>\r\nNewsgroups: caf\351.test\r\n\r\nx\r\n' > "$T/latin1"
"$SYNCCTL" -c "$C" --json inject --source news "$T/latin1" > "$T/latin1.json"
check "--json stays valid JSON with 8-bit input" /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['result']=='rejected'" "$T/latin1.json"

check "the outbox drains" wait_for 10 sh -c "'$SYNCCTL' -c '$C' queue | grep -q 'the outbox is empty'"

# Reload: a broken file is refused and the old configuration keeps running.
cp "$C" "$T/good.conf"
printf 'frobnicate yes\n' >> "$C"
out=$("$SYNCCTL" -c "$T/good.conf" reload 2>&1)
rc=$?
check_eq "syncctl reload refuses a bad config with file:line" \
	"1 syncctl: reload failed, the old configuration stays: $C:$(wc -l < "$C"): unknown keyword 'frobnicate'" "$rc $out"
kill -HUP "$SYNCD_PID"
refusals() { test "$(grep -c 'event=reload result=refused' "$T/syncd.log")" -eq 2; }
check "SIGHUP with a bad config is refused and logged" wait_for 5 refusals
msg "$T/r1" "<r1@example.org>" "Newsgroups: pirates.de.test"
out=$("$SYNCCTL" -c "$T/good.conf" inject --source news "$T/r1")
check_eq "the old configuration still routes" "accepted <r1@example.org>" "$out"

cp "$T/good.conf" "$C"
cat >> "$C" <<EOF
channel extra {
	newsgroup pirates.de.extra
	board extra
}
EOF
msg "$T/r2" "<r2@example.org>" "Newsgroups: pirates.de.extra"
out=$("$SYNCCTL" -c "$C" inject --source news "$T/r2")
check_eq "before the reload the new group is unknown" "rejected <r2@example.org>: no channel carries pirates.de.extra" "$out"
out=$("$SYNCCTL" -c "$C" reload)
check_eq "syncctl reload takes a good config" "reloaded $C" "$out"
out=$("$SYNCCTL" -c "$C" inject --source news "$T/r2")
check_eq "after the reload the new channel routes" "accepted <r2@example.org>" "$out"
check "syncd is the same process after reloads" kill -0 "$SYNCD_PID"

# A clean stop.
start=$(date +%s)
stop_syncd
check_eq "SIGTERM: exit status 0" 0 "$SYNCD_STATUS"
check "SIGTERM: gone within 5 s" test $(( $(date +%s) - start )) -le 5
check "SIGTERM: the pidfile is removed" test ! -e "$T/run/syncd.pid"
check "SIGTERM: the control socket is removed" test ! -e "$T/run/syncd.sock"
check "SIGTERM: logged as a clean stop" grep -q "event=stop result=clean" "$T/syncd.log"

# Relative paths are taken from where syncd started, on reload as well.
mkdir "$T/rel"
cat > "$T/rel/rel.conf" <<EOF
hostname gw.test.example
data-dir var/lib
pidfile var/run/syncd.pid
control-socket var/run/syncd.sock
deliver news maildir var/out/news
channel test {
	list pirates-test@lists.test.example
	newsgroup pirates.de.test
}
EOF
(cd "$T/rel" && exec "$SYNCD" -f rel.conf) > "$T/rel.log" 2>&1 &
rel_pid=$!
started_pids="$started_pids $rel_pid"
check "syncd starts on a config with relative paths" wait_for 10 "$SYNCCTL" -s "$T/rel/var/run/syncd.sock" status
"$SYNCCTL" -s "$T/rel/var/run/syncd.sock" reload > /dev/null
msg "$T/rel1" "<rel1@example.org>" "List-Id: <pirates-test.lists.test.example>"
"$SYNCCTL" -s "$T/rel/var/run/syncd.sock" inject --source list "$T/rel1" > /dev/null
check "after a reload, relative paths still start there" wait_for 10 has_count "$T/rel/var/out/news" '<rel1@example.org>' 1
kill -TERM "$rel_pid"

# Started again, it still knows everything it stored.
start_syncd "$C"
out=$("$SYNCCTL" -c "$C" inject --source list "$T/m1")
check_eq "after a restart the history still catches duplicates" "duplicate <m1@example.org>: already have it" "$out"
stop_syncd

done_testing
