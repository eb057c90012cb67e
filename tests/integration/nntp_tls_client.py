#!/usr/bin/python3
#
# TLS on syncd's NNTP server, with python's nntplib: STARTTLS (RFC 4642)
# on a plain listener, TLS from the start (RFC 8143) on an nntps one,
# AUTHINFO refused without TLS off loopback, and the STARTTLS injection
# guard.  Prints TAP.
#   nntp_tls_client.py HOST PLAIN-PORT TLS-PORT USER PASSWORD LOOPBACK
# LOOPBACK is 1 when HOST is a loopback address, 0 when the client runs
# in a network namespace of its own.

import nntplib
import socket
import ssl
import sys

host = sys.argv[1]
plain, tls = int(sys.argv[2]), int(sys.argv[3])
user, password = sys.argv[4], sys.argv[5]
loopback = sys.argv[6] == "1"
n = failed = 0


def ok(cond, what, detail=None):
    global n, failed
    n += 1
    print("%s %d - %s%s" % ("ok" if cond else "not ok", n, what,
                            "" if loopback else " (off loopback)"))
    if not cond:
        failed += 1
        if detail is not None:
            print("#   %s" % detail)
    sys.stdout.flush()


ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

s = nntplib.NNTP(host, plain)
caps = s.getcapabilities()
ok("STARTTLS" in caps, "CAPABILITIES offers STARTTLS", caps)
if loopback:
    ok(caps.get("AUTHINFO") == ["USER"], "from loopback AUTHINFO USER is"
       " offered in the clear", caps)
else:
    ok(caps.get("AUTHINFO") == [], "off loopback AUTHINFO waits for TLS",
       caps)
    try:
        s._shortcmd("AUTHINFO USER " + user)
        ok(False, "AUTHINFO without TLS is refused")
    except nntplib.NNTPError as e:
        ok(str(e).startswith("483"), "AUTHINFO without TLS: 483", e)
s.starttls(ctx)
ok(s.sock.version() is not None and s.sock.version().startswith("TLS"),
   "STARTTLS: 382 and a TLS handshake", s.sock.version())
caps = s.getcapabilities()
ok("STARTTLS" not in caps and caps.get("AUTHINFO") == ["USER"],
   "after STARTTLS: no STARTTLS, AUTHINFO USER", caps)
try:
    s.login(user, password, usenetrc=False)
    ok(True, "AUTHINFO USER/PASS over TLS: 281")
except nntplib.NNTPError as e:
    ok(False, "AUTHINFO USER/PASS over TLS: 281", e)
try:
    s._shortcmd("STARTTLS")
    ok(False, "a second STARTTLS is refused")
except nntplib.NNTPError as e:
    ok(str(e).startswith("502"), "a second STARTTLS: 502", e)
resp = s.post([b"From: a@example.org", b"Newsgroups: pirates.de.test",
               b"Subject: over TLS", b"", b"Encrypted."])
ok(resp.startswith("240"), "POST over TLS", resp)
s.quit()

t = nntplib.NNTP_SSL(host, tls, ssl_context=ctx)
ok(t.getwelcome().startswith("200"), "nntps: a greeting over TLS",
   t.getwelcome())
caps = t.getcapabilities()
ok("STARTTLS" not in caps and caps.get("AUTHINFO") == ["USER"],
   "nntps: AUTHINFO USER, no STARTTLS", caps)
t.login(user, password, usenetrc=False)
resp, count, first, last, name = t.group("pirates.de.test")
ok(count >= 1, "nntps: reading after AUTHINFO", resp)
t.quit()

# Plaintext sent after STARTTLS would be taken as sent through TLS.
r = socket.create_connection((host, plain), timeout=10)
f = r.makefile("rb")
f.readline()
r.sendall(b"STARTTLS\r\nAUTHINFO USER injected\r\n")
line = f.readline()
ok(line.startswith(b"580") and f.readline() == b"",
   "STARTTLS with data behind it: 580 and closed", line)
r.close()

print("1..%d" % n)
sys.exit(1 if failed else 0)
