#!/usr/bin/python3
#
# The clients mailman.sh needs besides nntp_tool.py:
#   mailman_tool.py smtp PORT FROM RCPT FILE   submit FILE by SMTP, print
#                                              the refused recipients ({})
#   mailman_tool.py count PORT GROUP MSGID     how many of GROUP's articles
#                                              carry that Message-ID
#   mailman_tool.py held PORT LIST-ID          the messages Mailman holds
#                                              for the list, and why (REST)
#   mailman_tool.py describe PORT LIST-ID TEXT set the list's description
#                                              (REST)
#   mailman_tool.py groups PORT GROUP          LIST NEWSGROUPS GROUP

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


def describe(port, list_id, text):
    req = urllib.request.Request(
        "http://127.0.0.1:%s/3.1/lists/%s/config" % (port, list_id),
        data=json.dumps({"description": text}).encode(), method="PATCH")
    auth = base64.b64encode(b"restadmin:restpass").decode()
    req.add_header("Authorization", "Basic " + auth)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status)


def groups(port, group):
    s = nntplib.NNTP("127.0.0.1", int(port))
    print(s.descriptions(group)[1].get(group, ""))
    s.quit()


try:
    verb, args = sys.argv[1], sys.argv[2:]
    {"smtp": smtp, "count": count, "held": held, "describe": describe,
     "groups": groups}[verb](*args)
except (smtplib.SMTPException, nntplib.NNTPError, OSError) as e:
    print(e)
    sys.exit(1)
