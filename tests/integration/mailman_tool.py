#!/usr/bin/python3
#
# The clients mailman.sh needs besides nntp_tool.py:
#   mailman_tool.py smtp PORT FROM RCPT FILE   submit FILE by SMTP, print
#                                              the refused recipients ({})
#   mailman_tool.py count PORT GROUP MSGID     how many of GROUP's articles
#                                              carry that Message-ID
#   mailman_tool.py held PORT LIST-ID          the messages Mailman holds
#                                              for the list, and why (REST)

import base64
import json
import nntplib
import smtplib
import sys
import urllib.request


def smtp(port, sender, rcpt, path):
    with open(path, "rb") as f:
        data = f.read()
    s = smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.test.example")
    print(s.sendmail(sender, [rcpt], data))
    s.quit()


def count(port, group, msgid):
    s = nntplib.NNTP("127.0.0.1", int(port))
    _, n, first, last, _ = s.group(group)
    found = 0
    if n > 0:
        for _, fields in s.over((first, last))[1]:
            if fields.get("message-id", "").strip() == msgid:
                found += 1
    s.quit()
    print(found)


def held(port, list_id):
    req = urllib.request.Request(
        "http://127.0.0.1:%s/3.1/lists/%s/held" % (port, list_id))
    auth = base64.b64encode(b"restadmin:restpass").decode()
    req.add_header("Authorization", "Basic " + auth)
    with urllib.request.urlopen(req, timeout=10) as r:
        entries = json.load(r).get("entries", [])
    for e in entries:
        print("held: %s from %s: %s" % (e.get("message_id"), e.get("sender"),
                                        e.get("reasons") or e.get("reason")))
    if not entries:
        print("nothing held")


try:
    verb, args = sys.argv[1], sys.argv[2:]
    {"smtp": smtp, "count": count, "held": held}[verb](*args)
except (smtplib.SMTPException, nntplib.NNTPError, OSError) as e:
    print(e)
    sys.exit(1)
