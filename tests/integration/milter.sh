#!/bin/sh
#
# syncd-milter between an MTA and the real syncd, the MTA played by
# miltertest(8): list posts and other mail accepted, and refused what the
# gateway would refuse later (too large by SIZE= or by its real size, a
# blacklisted envelope sender or From, a Message-ID syncd has unless it
# carries our gateway header), odd input taken, and syncd down: accepted
# with --fail open, 451 with --fail closed, also when syncd does not
# answer at all or goes away in the middle of a message.
#
# miltertest shows the text of a reply only at the end of the message;
# for a refusal after the header the reply code travels as SMFIR_REPLYCODE
# and its text is read from syncd-milter's log line, which logs what it
# hands to smfi_setreply.

. "$(dirname "$0")/../lib.sh"

MILTER=$builddir/smtp/syncd-milter
MT=$(command -v miltertest)
PY=/usr/bin/python3
if [ -z "$MT" ]; then
	skip "syncd-milter with an MTA" "no miltertest (apt-get install miltertest)"
	done_testing
	exit 0
fi

LIST=pirates-test@lists.test.example
MAX=20000
C=$T/syncd.conf
printf 'troll@example.org; drop\n@spam.example; d\nquiet@example.org; n\n' > "$T/blacklist"
write_conf "$C" "max-message-size $MAX
blacklist $T/blacklist"
cat >> "$C" <<EOF

channel oneway {
	newsgroup pirates.de.oneway
	list oneway@lists.test.example
	direction news-to-list
}
EOF
start_syncd "$C" || { not_ok "syncd starts"; done_testing; exit 1; }
SOCK=$T/run/syncd.sock

# start_milter NAME ARGS...: syncd-milter on a free port; sets PORT_NAME.
start_milter() {
	_sm_name=$1
	shift
	_sm_port=$(free_port)
	"$MILTER" -p "inet:$_sm_port@127.0.0.1" "$@" > "$T/$_sm_name.log" 2>&1 &
	_sm_pid=$!
	started_pids="$started_pids $_sm_pid"
	eval "PORT_$_sm_name=$_sm_port PID_$_sm_name=$_sm_pid"
	wait_for 10 grep -q "event=start" "$T/$_sm_name.log"
}

start_milter open -s "$SOCK" -d || not_ok "syncd-milter starts"
start_milter closed -s "$SOCK" -f closed -t 2 || not_ok "syncd-milter --fail closed starts"

# The MTA's side of one message, driven by -D variables: port, sender,
# rcpt (comma-separated), declared (SIZE=), from, msgid, gateway,
# subject, body (octets), want: accept-eoh, reject-eoh, accept,
# reject (at the end, with code, xcode and text checked exactly; "SIZE"
# in text stands for the message's size as the milter counts it).
cat > "$T/message.lua" <<'EOF'
local function expect(what, got, want)
	if got ~= want then
		error(string.format("%s: reply %q, wanted %q", what,
		    string.char(got), string.char(want)))
	end
end

local conn = mt.connect("inet:" .. port .. "@127.0.0.1", 40, 0.25)
if conn == nil then
	error("cannot connect to the milter")
end
if mt.conninfo(conn, "mx.test.example", "127.0.0.1") ~= nil then
	error("conninfo failed")
end
expect("connect", mt.getreply(conn), SMFIR_CONTINUE)
local r
if declared ~= nil then
	r = mt.mailfrom(conn, "<" .. sender .. ">", "SIZE=" .. declared)
else
	r = mt.mailfrom(conn, "<" .. sender .. ">")
end
if r ~= nil then
	error("mailfrom: " .. r)
end
-- Postfix sends its queue ID with the end of the header.
mt.macro(conn, SMFIC_MAIL, "i", qid)
expect("MAIL", mt.getreply(conn), SMFIR_CONTINUE)
for a in string.gmatch(rcpt, "[^,]+") do
	if mt.rcptto(conn, "<" .. a .. ">") ~= nil then
		error("rcptto failed")
	end
	expect("RCPT", mt.getreply(conn), SMFIR_CONTINUE)
end

local size = 0
local function header(name, value)
	if mt.header(conn, name, value) ~= nil then
		error("header failed")
	end
	expect("header " .. name, mt.getreply(conn), SMFIR_CONTINUE)
	size = size + #name + #value + 4
end
header("From", from or ("Tester <" .. sender .. ">"))
header("Subject", subject or "milter test")
if msgid ~= nil and msgid ~= "" then
	header("Message-ID", msgid)
end
if gateway ~= nil then
	header("X-Syncom-Gateway", gateway)
end
if mt.eoh(conn) ~= nil then
	error("eoh failed")
end
size = size + 2
if want == "accept-eoh" then
	expect("end of header", mt.getreply(conn), SMFIR_ACCEPT)
	mt.disconnect(conn)
	return
end
if want == "reject-eoh" then
	expect("end of header", mt.getreply(conn), SMFIR_REPLYCODE)
	mt.disconnect(conn)
	return
end
expect("end of header", mt.getreply(conn), SMFIR_CONTINUE)

local left = tonumber(body or "200")
local line = string.rep("x", 78) .. "\r\n"
while left > 0 do
	local chunk = string.rep(line, math.min(100, math.ceil(left / 80)))
	if #chunk > left then
		chunk = string.sub(chunk, 1, left)
	end
	if mt.bodystring(conn, chunk) ~= nil then
		error("bodystring failed")
	end
	expect("body", mt.getreply(conn), SMFIR_CONTINUE)
	size = size + #chunk
	left = left - #chunk
end
if mt.eom(conn) ~= nil then
	error("eom failed")
end
if want == "accept" then
	expect("end of message", mt.getreply(conn), SMFIR_ACCEPT)
else
	expect("end of message", mt.getreply(conn), SMFIR_REPLYCODE)
	local t = string.gsub(text, "SIZE", tostring(size))
	if not mt.eom_check(conn, MT_SMTPREPLY, code, xcode, t) then
		error("the reply is not: " .. code .. " " .. xcode .. " " .. t)
	end
end
mt.disconnect(conn)
EOF

# send DESCRIPTION MILTER -D VAR=VALUE...: one message through that
# milter; a later -D overrides the defaults.
nmsg=0
send() {
	_s_desc=$1
	eval "_s_port=\$PORT_$2"
	shift 2
	nmsg=$((nmsg + 1))
	if "$MT" -D "port=$_s_port" -D "qid=Q$nmsg" -D sender=alice@example.org \
	    -D "rcpt=$LIST" -D "msgid=<m$nmsg.milter@example.org>" "$@" \
	    -s "$T/message.lua" > "$T/mt.out" 2>&1; then
		ok "$_s_desc"
	else
		not_ok "$_s_desc"
		diag "$(cat "$T/mt.out")"
	fi
}

# logged MILTER PATTERN: syncd-milter's last milter-check line matches.
logged() {
	grep "event=milter-check" "$T/$1.log" | tail -1 | grep -q -- "$2"
}

# A normal list post, and mail that is not for a list at all.
send "a list post passes the header and is accepted at its end" open \
    -D want=accept -D declared=400
send "mail to no synced list is accepted after the header" open \
    -D want=accept-eoh -D rcpt=someone@example.org -D sender=troll@example.org
send "also to a list the gateway takes nothing from (news-to-list)" open \
    -D want=accept-eoh -D rcpt=oneway@lists.test.example

# Too large: by SIZE= at once, by what came at the end.
send "SIZE= beyond max-message-size is refused after the header" open \
    -D want=reject-eoh -D declared=$((MAX + 1))
check "with 552 5.3.4 naming the list and the limit" logged open \
    "session=Q$nmsg client=mx.test.example sender=alice@example.org rcpt=$LIST rcpts=1 result=reject code=552 text=\"5.3.4 The message is too large for the news gateway of $LIST: $((MAX + 1)) bytes, at most $MAX (max-message-size)\""
send "a message growing beyond it is refused at its end: 552 5.3.4" open \
    -D want=reject -D declared=1000 -D body=$((MAX + 500)) -D code=552 \
    -D xcode=5.3.4 \
    -D "text=The message is too large for the news gateway of $LIST: SIZE bytes, at most $MAX (max-message-size)"
send "a message within it passes" open -D want=accept -D body=$((MAX - 1000))

# The blacklist: envelope sender or From.
send "a blacklisted envelope sender is refused" open \
    -D want=reject-eoh -D sender=troll@example.org
check "with 550 5.7.1 naming the list" logged open \
    "code=550 text=\"5.7.1 troll@example.org may not post to $LIST: the sender is on the news gateway's blacklist\""
send "a blacklisted From is refused" open -D want=reject-eoh \
    -D "from=The Troll <Troll@Example.ORG>"
check "with 550 5.7.1" logged open "code=550 text=\"5.7.1 Troll@Example.ORG may not post"
send "a blacklisted domain too" open -D want=reject-eoh -D sender=x@spam.example
send "no-archive senders are gated, so accepted" open -D want=accept \
    -D sender=quiet@example.org
send "a bounce (null sender) to the list is accepted" open -D want=accept -D sender=

# A loop: a Message-ID syncd has, without our gateway header.
msg "$T/seen" "<seen@example.org>" "Newsgroups: pirates.de.test"
check_eq "syncd has a message from news" "accepted <seen@example.org>" \
    "$("$SYNCCTL" -s "$SOCK" inject --source news "$T/seen")"
send "its Message-ID by the list again is refused" open -D want=reject-eoh \
    -D "msgid=<seen@example.org>"
check "with 554 5.7.0: already in the group" logged open \
    "code=554 text=\"5.7.0 <seen@example.org> is already in the group pirates.de.test"
send "our own copy, with our gateway header, is accepted" open -D want=accept \
    -D "msgid=<seen@example.org>" -D "gateway=gw.test.example"
send "another gateway's header is no excuse" open -D want=reject-eoh \
    -D "msgid=<seen@example.org>" -D "gateway=other.example"

# The control verb itself, as syncctl passes it on.
out=$("$SYNCCTL" -s "$SOCK" milter-check "rcpt=$LIST" sender=troll@example.org)
check_eq "milter-check answers one line" \
    "reject 550 5.7.1 troll@example.org may not post to $LIST: the sender is on the news gateway's blacklist" "$out"
check_eq "continue for a list post whose size is not known yet" continue \
    "$("$SYNCCTL" -s "$SOCK" milter-check "rcpt=$LIST" "sender=a@example.org")"
check_eq "accept for other mail" accept \
    "$("$SYNCCTL" -s "$SOCK" milter-check rcpt=a+2Bb@example.org)"
"$SYNCCTL" -s "$SOCK" milter-check sender=a@example.org > /dev/null 2> "$T/err"
check "no recipient: an error" grep -q "no rcpt= given" "$T/err"

# Odd input gets accepted, not a crash.
send "no Message-ID: accepted" open -D want=accept -D msgid=
send "a Message-ID that is none: accepted" open -D want=accept \
    -D "msgid=<<<%s%n>>>"
send "a long From with control bytes and %: accepted" open -D want=accept \
    -D "from=$(printf '%0900d\001%%s <a@b>' 0)"
send "many recipients, one a list, in several requests" open -D want=reject-eoh \
    -D sender=troll@example.org \
    -D "rcpt=$(i=0; while [ $i -lt 120 ]; do printf 'r%d@example.org,' $i; i=$((i + 1)); done)$LIST"
check "the milter still runs" kill -0 "$PID_open"

# What the MTA is asked to send and wait for, as Postfix 3.7 negotiates
# (protocol 6, all actions, all steps and no-reply flags offered): over
# TCP the DATA step is taken and answered, so that Postfix's next write
# does not wait for a delayed ACK (see milter_negotiate); over a unix
# socket it is skipped.  Only the steps that decide are answered.
if $PY -c 'import socket' 2>/dev/null; then
	cat > "$T/mta.py" <<'PYEOF'
import socket, struct, sys

NODATA, NR = 0x200, 0x1000 | 0x4000 | 0x8000 | 0x80 | 0x80000

def pkt(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data

def recv(s, n):
    b = b""
    while len(b) < n:
        got = s.recv(n - len(b))
        if not got:
            raise SystemExit("the milter closed the connection")
        b += got
    return b

def reply(s):
    n = struct.unpack(">I", recv(s, 4))[0]
    return recv(s, n)

where = sys.argv[1]
if where.startswith("unix:"):
    s = socket.socket(socket.AF_UNIX)
    s.connect(where[5:])
else:
    s = socket.create_connection(("127.0.0.1", int(where)))
s.settimeout(10)
s.sendall(pkt(b"O", struct.pack(">III", 6, 0x1ff, 0x1fffff)))
r = reply(s)
steps = struct.unpack(">I", r[9:13])[0]
out = ["nr=%s" % ("all" if steps & NR == NR else "missing %#x" % (NR & ~steps))]
if steps & NODATA:
    out.append("data=skipped")
else:
    s.sendall(pkt(b"C", b"localhost\0" + b"4" + struct.pack(">H", 25) +
        b"127.0.0.1\0") + pkt(b"M", b"<a@example.org>\0") +
        pkt(b"R", b"<b@example.org>\0") + pkt(b"T"))
    out.append("data=" + reply(s)[:1].decode())
s.sendall(pkt(b"Q"))
s.close()
print(" ".join(out))
PYEOF
	"$MILTER" -p "unix:$T/milter.sock" -s "$SOCK" > "$T/unix.log" 2>&1 &
	PID_unix=$!
	started_pids="$started_pids $PID_unix"
	wait_for 10 grep -q "event=start" "$T/unix.log"
	check_eq "over TCP: DATA answered, the other steps unanswered" \
	    "nr=all data=c" "$($PY "$T/mta.py" "$PORT_open" 2>&1)"
	check_eq "over a unix socket: DATA skipped" \
	    "nr=all data=skipped" "$($PY "$T/mta.py" "unix:$T/milter.sock" 2>&1)"
	kill -TERM "$PID_unix"
	wait "$PID_unix" 2>/dev/null
else
	skip "over TCP: DATA answered" "no python3 at $PY"
	skip "over a unix socket: DATA skipped" "no python3 at $PY"
fi

# syncd down: the socket is gone.
stop_syncd
check_eq "syncd stops" 0 "$SYNCD_STATUS"
send "syncd down, --fail open: accepted" open -D want=accept-eoh
check "and logged" logged open "result=accept error="
send "syncd down, --fail closed: refused after the header" closed -D want=reject-eoh
check "with 451 4.3.0 (logged as tempfail)" logged closed "result=tempfail error="

# Fake syncds on the socket: "mute" takes connections and never answers;
# "once" answers "continue" once, then closes every connection unanswered.
if $PY -c 'import socket' 2>/dev/null; then
	cat > "$T/fake.py" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[2])
s.listen(16)
held = []
first = True
while True:
    c, _ = s.accept()
    if sys.argv[1] == "mute":
        held.append(c)
        continue
    if first:
        c.recv(65536)
        c.sendall(b"ok\ncontinue\n")
        first = False
    c.close()
PYEOF
	# fake MODE: start one on syncd's socket; sets FAKE_PID.
	fake() {
		rm -f "$SOCK"
		$PY "$T/fake.py" "$1" "$SOCK" > "$T/fake.log" 2>&1 &
		FAKE_PID=$!
		started_pids="$started_pids $FAKE_PID"
		wait_for 5 test -S "$SOCK"
	}
	fake mute
	start=$(date +%s)
	send "a mute syncd, --fail closed -t 2: refused" closed -D want=reject-eoh
	check "after the timeout" logged closed "error=\"no answer within 2 seconds\""
	check "and not much later" test $(( $(date +%s) - start )) -le 6
	kill "$FAKE_PID"
	wait "$FAKE_PID" 2>/dev/null
	fake once
	send "syncd gone by the end of the message, --fail closed: 451 4.3.0" \
	    closed -D want=reject -D code=451 -D xcode=4.3.0 \
	    -D "text=the gateway is not reachable, try again later"
	kill "$FAKE_PID"
	wait "$FAKE_PID" 2>/dev/null
else
	for t in 1 2 3 4; do
		skip "fake syncd case $t" "no python3 at $PY"
	done
fi

kill -TERM "$PID_open"
wait "$PID_open"
check_eq "SIGTERM stops syncd-milter cleanly" 0 $?
kill -TERM "$PID_closed"
wait "$PID_closed" 2>/dev/null
"$MILTER" > /dev/null 2>&1
check_eq "without -p: usage, exit 64" 64 $?
"$MILTER" -p "inet:1@127.0.0.1" -f maybe > /dev/null 2>&1
check_eq "a bad --fail: exit 64" 64 $?
"$MILTER" -p "$T/nowhere" > /dev/null 2>&1
check_eq "a -p without inet:, inet6: or unix:: exit 64" 64 $?
check "and no socket made" test ! -e "$T/nowhere"
port=$(free_port)
"$MILTER" -p "inet:$port@127.0.0.1" -s "$T/none" > "$T/first.log" 2>&1 &
first=$!
started_pids="$started_pids $first"
wait_for 10 grep -q "event=start" "$T/first.log"
"$MILTER" -p "inet:$port@127.0.0.1" -s "$T/none" > "$T/second.log" 2>&1
check_eq "a port in use: exit 69" 69 $?
kill -TERM "$first"
wait "$first" 2>/dev/null
check_eq "-V prints the version" "syncd-milter $(sed -n 's/^VERSION=//p' "$srcdir/configure")" "$("$MILTER" -V)"

done_testing
