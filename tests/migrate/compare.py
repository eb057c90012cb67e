#!/usr/bin/python3
"""tests/migrate/compare.py: do two mail accounts hold the same mail?

    compare.py OLDPORT OLDUSER OLDPASS NEWPORT NEWUSER NEWPASS
               [--host HOST] [--map 'OLD=NEW']...
    compare.py --doveadm OLDCONF OLDUSER NEWCONF NEWUSER [--map 'OLD=NEW']...

The migration tests' judge: it looks at the old and the new account
without syncmigrate's code, so a bug there cannot hide itself.  The
first form asks both servers over IMAP (imaplib, read-only EXAMINE);
the second reads two local Dovecots' mail stores with "doveadm -c CONF
fetch", without IMAP at all.

Folders are matched by their path components, so "Projekte/Ökologie"
on a server with separator '/' is the same folder as "Projekte.Ökologie"
on one with '.'.  --map renames a folder (and everything under it) of
the old account before matching; each side is written in UTF-8 with its
own server's separator: --map 'Sent Items=Sent'.  Folders that cannot
hold mail (\\Noselect, \\NonExistent) are not folders here.

A message is the tuple (Message-ID, size, INTERNALDATE as an instant,
flags and keywords sorted, \\Recent left out); one without a Message-ID
is known by a hash of its header instead.  Per folder the two multisets
must be equal.  The bodies are never fetched: a 30 MB message costs no
more than a small one.  Sizes are RFC822.SIZE over IMAP (CRLF) and
size.physical with doveadm (as stored, LF in Maildir), so only compare
one mode with the same mode.

It prints "ok NAME COUNT" per equal folder, or what differs, then
"identical" (exit 0) or "DIFFERENT" (exit 1); exit 2 on errors.
"""

import base64
import calendar
import collections
import hashlib
import imaplib
import json
import re
import subprocess
import sys
import time

BATCH = 500
MAX_LINES = 20                  # differences shown per folder
SYSTEM_FLAGS = {f.lower(): f for f in
                ["\\Seen", "\\Answered", "\\Flagged", "\\Draft",
                 "\\Deleted"]}
MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun",
     "jul", "aug", "sep", "oct", "nov", "dec"])}

Msg = collections.namedtuple("Msg", "key size date flags")


def die(text):
    print("compare: " + text, file=sys.stderr)
    sys.exit(2)


# --- modified UTF-7 (RFC 3501 5.1.3) -------------------------------------

def mutf7_decode(s):
    out = []
    i = 0
    while i < len(s):
        if s[i] != "&":
            out.append(s[i])
            i += 1
            continue
        j = s.index("-", i)
        if j == i + 1:
            out.append("&")
        else:
            b64 = s[i + 1:j].replace(",", "/")
            b64 += "=" * (-len(b64) % 4)
            out.append(base64.b64decode(b64).decode("utf-16-be"))
        i = j + 1
    return "".join(out)


# --- IMAP responses --------------------------------------------------------

class Lit(bytes):
    """A literal's bytes, as opposed to text of the response line."""


def responses(data):
    """imaplib hands over a response with literals as (line, literal)
    tuples followed by the rest of the line as bytes: one response is
    any number of tuples ended by one bytes element.  Yield each as a
    list of bytes and Lit pieces."""
    cur = []
    for d in data:
        if d is None:
            continue
        if isinstance(d, tuple):
            cur.append(re.sub(rb"\{\d+\+?\}$", b"", d[0]))
            cur.append(Lit(d[1]))
        else:
            cur.append(d)
            yield cur
            cur = []
    if cur:
        yield cur


def parse(pieces):
    """The response as nested lists of bytes (atoms, strings, literals;
    NIL is None).  An atom keeps a [section] with its spaces and parens:
    BODY[HEADER.FIELDS (MESSAGE-ID)] is one atom."""
    stack = [[]]
    for p in pieces:
        if isinstance(p, Lit):
            stack[-1].append(bytes(p))
            continue
        i, n = 0, len(p)
        while i < n:
            ch = p[i:i + 1]
            if ch == b" ":
                i += 1
            elif ch == b"(":
                stack.append([])
                i += 1
            elif ch == b")":
                if len(stack) < 2:
                    raise ValueError("unbalanced ) in %r" % (p,))
                done = stack.pop()
                stack[-1].append(done)
                i += 1
            elif ch == b'"':
                j = i + 1
                s = bytearray()
                while p[j:j + 1] != b'"':
                    if p[j:j + 1] == b"\\":
                        j += 1
                    s += p[j:j + 1]
                    j += 1
                stack[-1].append(bytes(s))
                i = j + 1
            else:
                j = i
                while j < n and p[j:j + 1] not in b" ()":
                    if p[j:j + 1] == b"[":
                        j = p.index(b"]", j)
                    j += 1
                atom = p[i:j]
                stack[-1].append(None if atom == b"NIL" else atom)
                i = j
    if len(stack) != 1:
        raise ValueError("unbalanced ( in %r" % (pieces,))
    return stack[0]


def internaldate(s):
    """ "11-Feb-2015 06:43:47 +0100" as seconds since the epoch."""
    m = re.match(r"\s*(\d+)-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) "
                 r"([+-])(\d\d)(\d\d)$", s)
    if not m:
        raise ValueError("bad INTERNALDATE %r" % s)
    d, mon, y, hh, mm, ss, sign, zh, zm = m.groups()
    t = calendar.timegm((int(y), MONTHS[mon.lower()], int(d), int(hh),
                         int(mm), int(ss)))
    off = (int(zh) * 60 + int(zm)) * 60
    return t - off if sign == "+" else t + off


def norm_flags(flags):
    out = []
    for f in flags:
        if f.lower() == "\\recent":
            continue
        out.append(SYSTEM_FLAGS.get(f.lower(), f))
    return tuple(sorted(out))


def message_id(header):
    """The Message-ID field's value, unfolded, or "" without one."""
    h = header.decode("utf-8", "replace").replace("\r\n", "\n")
    m = re.search(r"^message-id:[ \t]*(.*(?:\n[ \t].*)*)", h,
                  re.I | re.M)
    return " ".join(m.group(1).split()) if m else ""


def header_key(header):
    return "hdr-sha256:" + hashlib.sha256(header).hexdigest()[:24]


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ImapSide:
    def __init__(self, host, port, user, password):
        self.label = "%s@%s:%s" % (user, host, port)
        try:
            self.c = imaplib.IMAP4(host, port)
            self.c.login(user, password)
        except (OSError, imaplib.IMAP4.error) as e:
            die("%s: %s" % (self.label, e))
        self.sep = None

    def folders(self):
        """{display name: IMAP name} of the folders that hold mail."""
        typ, data = self.c.list('""', '"*"')
        if typ != "OK":
            die("%s: LIST failed: %r" % (self.label, data))
        out = {}
        for r in responses(data):
            flags, delim, name = parse(r)[:3]
            if delim:
                self.sep = delim.decode()
            if any(f.lower() in (b"\\noselect", b"\\nonexistent")
                   for f in flags):
                continue
            raw = name.decode("utf-8", "surrogateescape")
            out[mutf7_decode(raw)] = raw
        if self.sep is None:
            self.sep = "/"
        return out

    def fetch(self, mailbox):
        typ, data = self.c.select(quote(mailbox), readonly=True)
        if typ != "OK":
            die("%s: EXAMINE %s failed: %r" % (self.label, mailbox, data))
        exists = int(data[0])
        msgs = {}
        for lo in range(1, exists + 1, BATCH):
            hi = min(exists, lo + BATCH - 1)
            typ, data = self.c.fetch(
                "%d:%d" % (lo, hi), "(UID RFC822.SIZE INTERNALDATE FLAGS "
                "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            if typ != "OK":
                die("%s: FETCH in %s failed: %r" % (self.label, mailbox,
                                                     data))
            for r in responses(data):
                v = parse(r)
                if len(v) < 2 or not isinstance(v[1], list):
                    continue    # an unsolicited untagged response
                seq, items = int(v[0]), v[1]
                it = {}
                for k in range(0, len(items) - 1, 2):
                    it[items[k].upper()] = items[k + 1]
                if b"RFC822.SIZE" not in it:
                    continue    # a flag change another session made
                hdr = [val for key, val in it.items()
                       if key.startswith(b"BODY[HEADER.FIELDS")]
                msgs[seq] = [message_id(hdr[0] or b"") if hdr else "",
                             int(it[b"RFC822.SIZE"]),
                             internaldate(it[b"INTERNALDATE"].decode()),
                             norm_flags(f.decode() for f in it[b"FLAGS"])]
        # Without a Message-ID: the header's hash.
        need = sorted(s for s, m in msgs.items() if not m[0])
        for lo in range(0, len(need), BATCH):
            seqs = ",".join(str(s) for s in need[lo:lo + BATCH])
            typ, data = self.c.fetch(seqs, "(BODY.PEEK[HEADER])")
            if typ != "OK":
                die("%s: FETCH in %s failed: %r" % (self.label, mailbox,
                                                     data))
            for r in responses(data):
                v = parse(r)
                if len(v) < 2 or not isinstance(v[1], list):
                    continue
                items = v[1]
                for k in range(0, len(items) - 1, 2):
                    if items[k].upper() == b"BODY[HEADER]":
                        msgs[int(v[0])][0] = header_key(items[k + 1] or b"")
        if len(msgs) != exists:
            die("%s: %s has %d messages, fetched %d" % (
                self.label, mailbox, exists, len(msgs)))
        self.c.close()
        return [Msg(*m) for m in msgs.values()]

    def done(self):
        try:
            self.c.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


class DoveadmSide:
    FIELDS = "mailbox flags date.received.unixtime size.physical " \
             "hdr.message-id hdr"

    def __init__(self, conf, user):
        self.conf, self.user = conf, user
        self.label = "%s in %s" % (user, conf)
        sep = subprocess.run(["doveconf", "-c", conf, "-h",
                              "namespace/inbox/separator"],
                             capture_output=True, text=True)
        # Maildir++'s own separator when the namespace names none.
        self.sep = sep.stdout.strip() if sep.returncode == 0 else ""
        self.sep = self.sep or "."
        self.by_mailbox = None

    def doveadm(self, *args):
        r = subprocess.run(["doveadm", "-c", self.conf, "-f", "json"] +
                           list(args), capture_output=True)
        if r.returncode != 0:
            die("%s: doveadm %s: %s" % (self.label, args[0],
                                        r.stderr.decode(errors="replace")))
        return json.loads(r.stdout or b"[]")

    def folders(self):
        st = self.doveadm("mailbox", "status", "-u", self.user,
                          "messages", "*")
        return {s["mailbox"]: s["mailbox"] for s in st}

    def fetch(self, mailbox):
        if self.by_mailbox is None:
            self.by_mailbox = collections.defaultdict(list)
            for m in self.doveadm("fetch", "-u", self.user, self.FIELDS,
                                  "ALL"):
                key = " ".join(m["hdr.message-id"].split()) or \
                    header_key(m["hdr"].encode("utf-8", "surrogateescape"))
                self.by_mailbox[m["mailbox"]].append(Msg(
                    key, int(m["size.physical"]),
                    int(m["date.received.unixtime"]),
                    norm_flags(m["flags"].split())))
        return self.by_mailbox.get(mailbox, [])

    def done(self):
        pass


# --- comparing ----------------------------------------------------------

def path(name, sep):
    comps = name.split(sep) if sep else [name]
    if comps[0].upper() == "INBOX":
        comps[0] = "INBOX"
    return tuple(comps)


def show(m):
    return "%s size %d date %s flags (%s)" % (
        m.key, m.size, time.strftime("%Y-%m-%d %H:%M:%SZ",
                                     time.gmtime(m.date)),
        " ".join(m.flags))


def differences(old, new):
    """Lines saying how the multiset new differs from old."""
    co, cn = collections.Counter(old), collections.Counter(new)
    common = co & cn
    ro = sorted((co - common).elements())
    rn = sorted((cn - common).elements())
    by_o, by_n = collections.defaultdict(list), collections.defaultdict(list)
    for m in ro:
        by_o[m.key].append(m)
    for m in rn:
        by_n[m.key].append(m)
    lines = []
    for key in sorted(set(by_o) | set(by_n)):
        a, b = by_o.get(key, []), by_n.get(key, [])
        for x, y in zip(a, b):
            what = []
            if x.flags != y.flags:
                what.append("flags (%s) -> (%s)" % (" ".join(x.flags),
                                                    " ".join(y.flags)))
            if x.date != y.date:
                what.append("date %s -> %s" % (
                    time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(x.date)),
                    time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(y.date))))
            if x.size != y.size:
                what.append("size %d -> %d" % (x.size, y.size))
            lines.append("  differs %s: %s" % (key, ", ".join(what)))
        for x in a[len(b):]:
            lines.append("  missing " + show(x))
        for y in b[len(a):]:
            lines.append("  extra " + show(y))
    return lines


def parse_maps(args):
    maps, rest = [], []
    i = 0
    while i < len(args):
        if args[i] == "--map" and i + 1 < len(args):
            spec = args[i + 1]
            i += 2
        elif args[i].startswith("--map="):
            spec = args[i][6:]
            i += 1
        else:
            rest.append(args[i])
            i += 1
            continue
        if "=" not in spec:
            die("--map wants OLD=NEW, not %r" % spec)
        maps.append(tuple(spec.split("=", 1)))
    return maps, rest


def main():
    maps, args = parse_maps(sys.argv[1:])
    host = "127.0.0.1"
    if "--host" in args:
        i = args.index("--host")
        host = args[i + 1]
        del args[i:i + 2]
    if args and args[0] == "--doveadm":
        if len(args) != 5:
            die("usage: compare.py --doveadm OLDCONF OLDUSER NEWCONF "
                "NEWUSER [--map OLD=NEW]...")
        old = DoveadmSide(args[1], args[2])
        new = DoveadmSide(args[3], args[4])
    elif len(args) == 6:
        old = ImapSide(host, int(args[0]), args[1], args[2])
        new = ImapSide(host, int(args[3]), args[4], args[5])
    else:
        die("usage: compare.py OLDPORT OLDUSER OLDPASS NEWPORT NEWUSER "
            "NEWPASS [--host HOST] [--map OLD=NEW]...\n"
            "       compare.py --doveadm OLDCONF OLDUSER NEWCONF NEWUSER "
            "[--map OLD=NEW]...")

    of, nf = old.folders(), new.folders()
    omap = [(path(a, old.sep), path(b, new.sep)) for a, b in maps]

    def mapped(p):
        for a, b in omap:
            if p[:len(a)] == a:
                return b + p[len(a):]
        return p

    opaths = {}
    for name in of:
        opaths.setdefault(mapped(path(name, old.sep)), []).append(name)
    npaths = {path(name, new.sep): name for name in nf}

    same = True
    for p in sorted(set(opaths) | set(npaths)):
        if len(opaths.get(p, [])) > 1:
            print("DIFF %s: old folders %s all map here" % (
                "/".join(p), ", ".join(opaths[p])))
            same = False
            continue
        oname = opaths[p][0] if p in opaths else None
        nname = npaths.get(p)
        shown = oname if oname is not None else nname
        if nname is None:
            print("missing folder %s (%d messages)" % (
                shown, len(old.fetch(of[oname]))))
            same = False
            continue
        if oname is None:
            print("extra folder %s (%d messages)" % (
                shown, len(new.fetch(nf[nname]))))
            same = False
            continue
        om, nm = old.fetch(of[oname]), new.fetch(nf[nname])
        lines = differences(om, nm)
        if not lines:
            print("ok %s %d" % (shown, len(om)))
            continue
        same = False
        print("DIFF %s: %d old, %d new messages" % (shown, len(om), len(nm)))
        for line in lines[:MAX_LINES]:
            print(line)
        if len(lines) > MAX_LINES:
            print("  ... %d more" % (len(lines) - MAX_LINES))
    old.done()
    new.done()
    print("identical" if same else "DIFFERENT")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
