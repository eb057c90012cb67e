#!/bin/sh
#
# syncmigrate's special-use folders (RFC 6154) between two real Dovecots:
# the old one calls its sent mail "Sent Items" and its trash
# "Papierkorb", the new one "Sent" and "Trash", each marked with its use.
# Without a map line the mail goes to the new server's folder of the same
# use (and a folder below it along with it); a map line still wins; a
# folder without a use keeps its name; verify agrees.

. "$(dirname "$0")/../lib.sh"
. "$srcdir/tests/peers/dovecot.sh"

PY=/usr/bin/python3
MIGRATE=$builddir/migrate/syncmigrate
dovecot_require "syncmigrate's special-use folders"
trap 'dovecot_stop "$T/old"; dovecot_stop "$T/new"; cleanup' EXIT

# uses DIR SEPARATOR MAILBOX-LINES: the inbox namespace's mailboxes with
# their special use, created when a user first logs in.
uses() {
	sed -i "s|^  separator = $2\$|&\n$3|" "$1/dovecot.conf"
}

OLD=$(free_port)
NEW=$(free_port)
dovecot_setup "$T/old" "$OLD" syncom-old / &&
    uses "$T/old" / '  mailbox "Sent Items" {\n    auto = create\n    special_use = \\Sent\n  }\n  mailbox Papierkorb {\n    auto = create\n    special_use = \\Trash\n  }\n  mailbox Entwuerfe {\n    auto = create\n    special_use = \\Drafts\n  }' &&
    dovecot_setup "$T/new" "$NEW" syncom-new . &&
    uses "$T/new" . '  mailbox Sent {\n    auto = create\n    special_use = \\Sent\n  }\n  mailbox Trash {\n    auto = create\n    special_use = \\Trash\n  }\n  mailbox Drafts {\n    auto = create\n    special_use = \\Drafts\n  }' ||
    { not_ok "two Dovecots with special-use folders are set up"; done_testing; exit 1; }
check "the old Dovecot takes its special-use folders" \
    sh -c "doveconf -c $T/old/dovecot.conf -n > /dev/null"
for u in alice bob; do
	dovecot_user "$T/old" $u "old-$u"
	dovecot_user "$T/new" $u "new-$u"
done
check "the old Dovecot starts" dovecot_start "$T/old"
check "the new Dovecot starts" dovecot_start "$T/new"

# A few messages in each old folder, with the folder's name as subject.
$PY - "$OLD" > "$T/fill.out" 2>&1 <<'PYEOF'
import imaplib, sys
for user in ("alice", "bob"):
    c = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
    c.login(user, "old-" + user)
    c.create('"Sent Items/2019"')
    c.create("Projekte")
    for box, n in (("INBOX", 2), ('"Sent Items"', 3), ('"Sent Items/2019"', 1),
                   ("Papierkorb", 2), ("Entwuerfe", 1), ("Projekte", 2)):
        for i in range(n):
            c.append(box, "(\\Seen)", None, (
                "From: %s@example.org\r\nSubject: %s %d\r\n"
                "Message-ID: <%s.%s.%d@example.org>\r\n\r\nbody\r\n"
                % (user, box.strip('"'), i, user, box.strip('"').replace(" ", "_").replace("/", "-"), i)).encode())
    c.logout()
print("filled")
PYEOF
check "the old server's folders are filled" grep -q filled "$T/fill.out" ||
    diag "$(cat "$T/fill.out")"

C=$T/syncmigrate.conf
dovecot_migrate_conf "$C" "$OLD" "$NEW" alice bob

# count PORT USER PASSWORD FOLDER: the messages a folder holds, or "none".
count() {
	$PY - "$@" <<'PYEOF'
import imaplib, sys
c = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
c.login(sys.argv[2], sys.argv[3])
typ, data = c.select('"%s"' % sys.argv[4], readonly=True)
print(data[0].decode() if typ == "OK" else "none")
c.logout()
PYEOF
}

"$MIGRATE" -c "$C" run alice > "$T/run.log" 2>&1
check_eq "syncmigrate run succeeds" 0 "$?" || diag "$(tail -5 "$T/run.log")"
check "it says where each special-use folder goes" \
    grep -q 'folder="Sent Items" special-use=Sent to=Sent' "$T/run.log" ||
    diag "$(grep special-use "$T/run.log")"
check_eq "Sent Items went to Sent" 3 "$(count "$NEW" alice new-alice Sent)"
check_eq "the folder below it to below Sent" 1 "$(count "$NEW" alice new-alice Sent.2019)"
check_eq "Papierkorb to Trash" 2 "$(count "$NEW" alice new-alice Trash)"
check_eq "Entwuerfe to Drafts" 1 "$(count "$NEW" alice new-alice Drafts)"
check_eq "a folder without a use keeps its name" 2 "$(count "$NEW" alice new-alice Projekte)"
check_eq "no folder Sent Items was made" none "$(count "$NEW" alice new-alice "Sent Items")"
"$MIGRATE" -c "$C" verify alice > "$T/verify.log" 2>&1
check_eq "verify finds both sides alike" 0 "$?" || diag "$(cat "$T/verify.log")"
check "verify compares Sent Items with Sent" grep -q '^ok Sent Items -> Sent: 3 old, 3 new' "$T/verify.log" ||
    diag "$(cat "$T/verify.log")"

# A map line wins over the special use.
echo 'map "Sent Items" Archiv.Gesendet' >> "$C"
"$MIGRATE" -c "$C" run bob > "$T/run2.log" 2>&1
check_eq "a run with a map line succeeds" 0 "$?" || diag "$(tail -5 "$T/run2.log")"
check_eq "the map line decides" 3 "$(count "$NEW" bob new-bob Archiv.Gesendet)"
check_eq "and Sent stays empty" 0 "$(count "$NEW" bob new-bob Sent)"
check_eq "Papierkorb still goes to Trash" 2 "$(count "$NEW" bob new-bob Trash)"

check "no password is in syncmigrate's logs" \
    absent 'old-alice|new-alice|old-bob|new-bob' "$T"/*.log
done_testing
