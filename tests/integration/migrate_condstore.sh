#!/bin/sh
#
# syncmigrate's reruns with CONDSTORE (RFC 7162) between two real
# Dovecots.  The old Dovecot keeps a raw log of each IMAP session, so
# the test sees what syncmigrate asked: a rerun with nothing new lists
# no folder (no FETCH on the old server); a new message, a flag, a
# keyword and an expunge each make their folder listed again and reach
# the new side; a deletion left by a run without --sync-deletes is still
# made by a later run with it.  Then the old Dovecot stops offering
# CONDSTORE, and every run lists every folder and still brings a flag
# change over.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/dovecot.sh"

PY=/usr/bin/python3
MIGRATE=$builddir/migrate/syncmigrate
dovecot_require "syncmigrate with CONDSTORE"
trap 'dovecot_stop "$T/old"; dovecot_stop "$T/new"; cleanup' EXIT

OLD=$(free_port)
NEW=$(free_port)
RAW=$T/old/rawlog
dovecot_setup "$T/old" "$OLD" syncom-old / &&
    dovecot_setup "$T/new" "$NEW" syncom-new . ||
    { not_ok "two Dovecots are set up"; done_testing; exit 1; }
mkdir -p "$RAW" && chown 5000:5000 "$RAW"
sed -i "s|^protocol imap {\$|&\n  rawlog_dir = $RAW|" "$T/old/dovecot.conf"
check "the old Dovecot takes its raw log" \
    sh -c "doveconf -c $T/old/dovecot.conf -n > /dev/null"
for u in alice bob; do
	dovecot_user "$T/old" $u "old-$u"
	dovecot_user "$T/new" $u "new-$u"
done
check "the old Dovecot starts" dovecot_start "$T/old"
check "the new Dovecot starts" dovecot_start "$T/new"
# imap USER PORT PASSWORD CODE: run CODE with c, a logged-in IMAP4.
imap() {
	$PY - "$@" <<'PYEOF'
import imaplib, sys
c = imaplib.IMAP4("127.0.0.1", int(sys.argv[2]))
c.login(sys.argv[1], sys.argv[3])
def uid_of(box, msgid):
    c.select(box)
    typ, data = c.uid("SEARCH", None, "HEADER", "Message-ID", msgid)
    return data[0].split()[0]
def flags(box, msgid):
    u = uid_of(box, msgid)
    typ, data = c.uid("FETCH", u, "(FLAGS)")
    f = data[0].decode()
    return " ".join(sorted(f[f.index("FLAGS (") + 7:f.index(")", f.index("FLAGS ("))].split()))
exec(sys.argv[4])
c.logout()
PYEOF
}

# fill USER: a few messages in three folders, one nested.
fill() {
	imap "$1" "$OLD" "old-$1" '
c.create("Projekte/2026")
c.create("Archiv")
for box, n in (("INBOX", 3), ("Projekte/2026", 3), ("Archiv", 4)):
    for i in range(n):
        c.append(box, "(\\Seen)", None, ("From: a@example.org\r\nSubject: %s %d\r\n"
            "Message-ID: <%s.%s.%d@example.org>\r\n\r\nbody\r\n" % (box, i,
            sys.argv[1], box.replace("/", "-"), i)).encode())
print("filled")'
}

C=$T/syncmigrate.conf
dovecot_migrate_conf "$C" "$OLD" "$NEW" alice bob

# run USER ARGS...: syncmigrate run, its log in $T/run.log, the old
# server's raw log of it in $T/asked (what syncmigrate sent).
run() {
	rm -f "$RAW"/*
	"$MIGRATE" -c "$C" run "$@" > "$T/run.log" 2>&1
	rc=$?
	cat "$RAW"/*.in > "$T/asked" 2>/dev/null
	cat "$T/run.log" >> "$T/all.log"
	return $rc
}

# folders RESULT: how many folders the last run logged with RESULT.
folders() {
	grep -c "event=folder .* result=$1\$" "$T/run.log"
}

# stat NAME: a figure from the last run's account line.
stat() {
	sed -n "s/.*event=account .* $1=\([0-9]*\).*/\1/p" "$T/run.log" | tail -1
}

check_eq "the old server offers CONDSTORE" True \
    "$(imap alice "$OLD" old-alice 'print(b"CONDSTORE" in c.capability()[1][0].split())')"
fill alice > "$T/fill.out" 2>&1
check "alice's mail is on the old server" grep -q filled "$T/fill.out" ||
    diag "$(cat "$T/fill.out")"
run alice
check_eq "the first run succeeds" 0 "$rc" || diag "$(tail -5 "$T/run.log")"
check_eq "it lists and copies the three folders" 3 "$(folders synced)"
check_eq "ten messages" 10 "$(stat copied)"

run alice
check_eq "a rerun with nothing new succeeds" 0 "$rc" || diag "$(tail -5 "$T/run.log")"
check_eq "it finds every folder unchanged" 3 "$(folders unchanged)" ||
    diag "$(grep event=folder "$T/run.log")"
check "the old server was asked for its HIGHESTMODSEQ" grep -q 'EXAMINE .*(CONDSTORE)' "$T/asked" ||
    diag "$(head -20 "$T/asked")"
check "and listed nothing" absent ' FETCH ' "$T/asked" ||
    diag "$(grep -i fetch "$T/asked" | head -5)"

# A flag, a keyword, a new message and an expunge, each in a folder.
imap alice "$OLD" old-alice '
c.select("Projekte/2026")
c.uid("STORE", uid_of("Projekte/2026", "<alice.Projekte-2026.1@example.org>"), "+FLAGS", "(\\Flagged)")
c.uid("STORE", uid_of("Archiv", "<alice.Archiv.2@example.org>"), "+FLAGS", "($Wichtig)")
c.append("Archiv", "(\\Seen \\Answered)", None, b"From: a@example.org\r\nSubject: new\r\nMessage-ID: <alice.new@example.org>\r\n\r\nnew\r\n")
c.uid("STORE", uid_of("INBOX", "<alice.INBOX.0@example.org>"), "+FLAGS", "(\\Deleted)")
c.expunge()
print("changed")' > "$T/change.out" 2>&1
check "the old side is changed" grep -q changed "$T/change.out" || diag "$(cat "$T/change.out")"
run alice
check_eq "the run after the changes succeeds" 0 "$rc" || diag "$(tail -5 "$T/run.log")"
check_eq "it lists the three changed folders" 3 "$(folders synced)" ||
    diag "$(grep event=folder "$T/run.log")"
check_eq "copies the new message" 1 "$(stat copied)"
check_eq "and sets the flag and the keyword" 2 "$(stat flags)"
check_eq "the flag is on the new side" '\Flagged \Seen' \
    "$(imap alice "$NEW" new-alice 'print(flags("Projekte.2026", "<alice.Projekte-2026.1@example.org>"))')"
check_eq "the keyword too" '$Wichtig \Seen' \
    "$(imap alice "$NEW" new-alice 'print(flags("Archiv", "<alice.Archiv.2@example.org>"))')"
check_eq "the new message with its flags" '\Answered \Seen' \
    "$(imap alice "$NEW" new-alice 'print(flags("Archiv", "<alice.new@example.org>"))')"

run alice
check_eq "the next rerun finds every folder unchanged" 3 "$(folders unchanged)" ||
    diag "$(grep event=folder "$T/run.log")"
run --sync-deletes alice
check_eq "with --sync-deletes the run succeeds" 0 "$rc" || diag "$(tail -5 "$T/run.log")"
check_eq "it lists the INBOX, where a deletion is left" 1 "$(folders synced)" ||
    diag "$(grep event=folder "$T/run.log")"
check_eq "and makes it" 1 "$(stat deleted)"
check_eq "the new INBOX holds two" 2 \
    "$(imap alice "$NEW" new-alice 'print(c.select("INBOX", readonly=True)[1][0].decode())')"
"$MIGRATE" -c "$C" verify alice > "$T/verify.log" 2>&1
check_eq "verify finds both sides alike" 0 "$?" || diag "$(cat "$T/verify.log")"

# The old server without CONDSTORE: the flags are compared every run.
dovecot_stop "$T/old"
sed -i "s|^protocol imap {\$|&\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED ESEARCH SPECIAL-USE MOVE|" \
    "$T/old/dovecot.conf"
check "the old Dovecot starts again without CONDSTORE" dovecot_start "$T/old"
fill bob > "$T/fill.out" 2>&1
check "bob's mail is on the old server" grep -q filled "$T/fill.out" ||
    diag "$(cat "$T/fill.out")"
run bob
check_eq "bob's first run succeeds" 0 "$rc" || diag "$(tail -5 "$T/run.log")"
run bob
check_eq "a rerun without CONDSTORE lists every folder" 3 "$(folders synced)" ||
    diag "$(grep event=folder "$T/run.log")"
check "it did not ask for CONDSTORE" absent CONDSTORE "$T/asked"
check "it fetched the flags" grep -qi 'FETCH .*FLAGS' "$T/asked"
imap bob "$OLD" old-bob '
c.uid("STORE", uid_of("Archiv", "<bob.Archiv.3@example.org>"), "+FLAGS", "(\\Flagged)")
print("changed")' > "$T/change.out" 2>&1
run bob
check_eq "and still brings a flag change over" 1 "$(stat flags)"
check_eq "to the new side" '\Flagged \Seen' \
    "$(imap bob "$NEW" new-bob 'print(flags("Archiv", "<bob.Archiv.3@example.org>"))')"

check "no password is in syncmigrate's logs" absent 'old-alice|new-alice|old-bob|new-bob' "$T"/*.log
done_testing
