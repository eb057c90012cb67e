"""metrics_check.py: fetch syncd's /metrics and hold it to the Prometheus
text exposition format, version 0.0.4, strictly.

Run by metrics.sh:

  metrics_check.py scrape PORT FILE   GET /metrics (and HEAD, and a POST
                                      that must be refused), check the
                                      reply and parse it; TAP on stdout,
                                      the samples as JSON into FILE
  metrics_check.py fetch PORT FILE    the same GET, quietly: exit 1 if
                                      the reply is wrong, for polling
  metrics_check.py value FILE SERIES  print one sample's value from FILE,
                                      SERIES as 'name{a="x",b="y"}' with
                                      the labels in any order ("" if none)
  metrics_check.py sum FILE NAME [LABEL=VALUE...]
                                      the sum of NAME's samples whose
                                      labels include those given
  metrics_check.py selftest           the parser refuses what it must

The parser is stricter than Prometheus's own where syncd has no reason to
differ: every family has one HELP and one TYPE line before its samples,
comment lines other than those and blank lines are refused, tokens are
separated by exactly one space, and no label list ends in a comma.  What
the format itself demands is all checked: name syntax, label-value
escapes, floats, a family's samples together, no series twice, and for a
histogram ascending le bounds, cumulative buckets ending in +Inf and
_count equal to the +Inf bucket.
"""

import json
import math
import re
import sys
import urllib.error
import urllib.request

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
# What Go's strconv.ParseFloat takes, as the format says, less hex and
# underscores, which no exposition should need.
FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z|"
                   r"[+-]?Inf\Z|NaN\Z")
TIMESTAMP = re.compile(r"-?\d+\Z")


class FormatError(Exception):
    pass


def parse_float(s, what):
    if not FLOAT.match(s):
        raise FormatError("%s %r is no float" % (what, s))
    return float(s)


def unescape(s, quote, what):
    """A HELP text (quote False) or a label value's inside, unescaped."""
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 == len(s):
                raise FormatError("%s ends in a backslash" % what)
            e = s[i + 1]
            if e == "\\":
                out.append("\\")
            elif e == "n":
                out.append("\n")
            elif e == '"' and quote:
                out.append('"')
            else:
                raise FormatError("%s has the escape \\%s" % (what, e))
            i += 2
            continue
        if c == '"' and quote:
            raise FormatError("%s has an unescaped quote" % what)
        if c == "\n":
            raise FormatError("%s has a raw line feed" % what)
        out.append(c)
        i += 1
    return "".join(out)


def parse_labels(s, lineno):
    """'{a="x",b="y"}' at the start of s: (labels, rest of s)."""
    labels = {}
    i = 1
    if s[i:i + 1] == "}":
        raise FormatError("line %d: empty label list" % lineno)
    while True:
        m = re.compile(r"[^=]*").match(s, i)
        name = m.group(0)
        if not LABEL_NAME.match(name):
            raise FormatError("line %d: bad label name %r" % (lineno, name))
        if name.startswith("__"):
            raise FormatError("line %d: label name %r is reserved"
                              % (lineno, name))
        if name in labels:
            raise FormatError("line %d: label %r twice" % (lineno, name))
        i = m.end()
        if s[i:i + 2] != '="':
            raise FormatError("line %d: label %r has no quoted value"
                              % (lineno, name))
        i += 2
        j = i
        while j < len(s) and s[j] != '"':
            j += 2 if s[j] == "\\" else 1
        if j >= len(s):
            raise FormatError("line %d: unterminated label value" % lineno)
        labels[name] = unescape(s[i:j], True,
                                "line %d: label %r" % (lineno, name))
        i = j + 1
        if s[i:i + 1] == "}":
            return labels, s[i + 1:]
        if s[i:i + 1] != ",":
            raise FormatError("line %d: expected , or } after label %r"
                              % (lineno, name))
        i += 1
        if s[i:i + 1] == "}":
            raise FormatError("line %d: label list ends in a comma"
                              % lineno)


def family_of(name, families):
    """The family a sample name belongs to, by the declared types."""
    if name in families and families[name]["type"] != "histogram":
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[:-len(suffix)]
            f = families.get(base)
            if f is not None and f["type"] == "histogram":
                return base
            if (f is not None and f["type"] == "summary" and
                    suffix != "_bucket"):
                return base
    return None


def escape(v):
    return v.replace("\\", "\\\\").replace('"', '\\"').replace(
        "\n", "\\n")


def series_key(name, labels):
    """One spelling per series: labels sorted, values escaped."""
    return name + "{" + ",".join('%s="%s"' % (k, escape(labels[k]))
                                 for k in sorted(labels)) + "}"


def parse(text):
    """Parse an exposition: (families, samples) or FormatError.

    families: name -> {"type", "help"}; samples: series key -> value.
    """
    if text == "":
        raise FormatError("empty exposition")
    if not text.endswith("\n"):
        raise FormatError("the last line has no line feed")
    families = {}
    samples = {}
    order = []          # families in the order their samples came
    done = set()        # families whose samples are over
    current = None
    hist = {}           # histogram family -> label set -> parts
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        if line == "":
            raise FormatError("line %d: blank line" % lineno)
        if "\r" in line:
            raise FormatError("line %d: carriage return" % lineno)
        if line.startswith("#"):
            m = re.match(r"# (HELP|TYPE) (\S+) ?(.*)\Z", line, re.S)
            if m is None:
                raise FormatError("line %d: not a HELP or TYPE line: %r"
                                  % (lineno, line))
            kind, name, rest = m.groups()
            if not METRIC_NAME.match(name):
                raise FormatError("line %d: bad metric name %r"
                                  % (lineno, name))
            f = families.setdefault(name, {"type": None, "help": None})
            if name in done or name == current:
                raise FormatError("line %d: %s of %s after its samples"
                                  % (lineno, kind, name))
            if kind == "HELP":
                if f["help"] is not None:
                    raise FormatError("line %d: second HELP for %s"
                                      % (lineno, name))
                if rest == "":
                    raise FormatError("line %d: empty HELP for %s"
                                      % (lineno, name))
                f["help"] = unescape(rest, False, "line %d: HELP" % lineno)
            else:
                if f["type"] is not None:
                    raise FormatError("line %d: second TYPE for %s"
                                      % (lineno, name))
                if rest not in TYPES:
                    raise FormatError("line %d: unknown type %r"
                                      % (lineno, rest))
                f["type"] = rest
            continue

        m = re.match(r"[^{ ]*", line)
        name = m.group(0)
        if not METRIC_NAME.match(name):
            raise FormatError("line %d: bad metric name %r"
                              % (lineno, name))
        rest = line[m.end():]
        labels = {}
        if rest.startswith("{"):
            labels, rest = parse_labels(rest, lineno)
        parts = rest.split(" ")
        if len(parts) not in (2, 3) or parts[0] != "":
            raise FormatError("line %d: expected ' VALUE [TIMESTAMP]': %r"
                              % (lineno, rest))
        value = parse_float(parts[1], "line %d: value" % lineno)
        if len(parts) == 3 and not TIMESTAMP.match(parts[2]):
            raise FormatError("line %d: bad timestamp %r"
                              % (lineno, parts[2]))

        fam = family_of(name, families)
        if fam is None:
            raise FormatError("line %d: sample %s of no declared family"
                              % (lineno, name))
        f = families[fam]
        if f["help"] is None or f["type"] is None:
            raise FormatError("line %d: %s has samples before its HELP"
                              " and TYPE" % (lineno, fam))
        if fam != current:
            if fam in done:
                raise FormatError("line %d: samples of %s are not together"
                                  % (lineno, fam))
            if current is not None:
                done.add(current)
            current = fam
            order.append(fam)
        key = series_key(name, labels)
        if key in samples:
            raise FormatError("line %d: series %s twice" % (lineno, key))
        samples[key] = value

        t = f["type"]
        if "le" in labels and not (t == "histogram" and
                                   name == fam + "_bucket"):
            raise FormatError("line %d: le label outside a histogram's"
                              " buckets" % lineno)
        if "quantile" in labels and not (t == "summary" and name == fam):
            raise FormatError("line %d: quantile label outside a summary"
                              % lineno)
        if (t == "counter" or (t == "histogram" and
                               name != fam + "_sum")) and (
                math.isnan(value) or value < 0):
            raise FormatError("line %d: %s %s is negative or NaN"
                              % (lineno, t, key))
        if t == "histogram":
            rest_labels = dict(labels)
            le = rest_labels.pop("le", None)
            h = hist.setdefault(fam, {}).setdefault(
                series_key("", rest_labels),
                {"buckets": [], "sum": None, "count": None})
            if name == fam + "_bucket":
                if le is None:
                    raise FormatError("line %d: bucket without le" % lineno)
                bound = parse_float(le, "line %d: le" % lineno)
                if h["sum"] is not None or h["count"] is not None:
                    raise FormatError("line %d: bucket after _sum/_count"
                                      % lineno)
                h["buckets"].append((bound, value))
            elif name == fam + "_sum":
                h["sum"] = value
            else:
                if value != math.floor(value):
                    raise FormatError("line %d: _count %r is no integer"
                                      % (lineno, value))
                h["count"] = value

    for fam, f in families.items():
        if f["type"] is None or f["help"] is None:
            raise FormatError("%s lacks HELP or TYPE" % fam)
    for fam, sets in hist.items():
        for ls, h in sets.items():
            what = "%s%s" % (fam, ls)
            b = h["buckets"]
            if not b:
                raise FormatError("%s has no buckets" % what)
            if b[-1][0] != math.inf:
                raise FormatError("%s: the last bucket is not +Inf" % what)
            for (b1, c1), (b2, c2) in zip(b, b[1:]):
                if not b1 < b2:
                    raise FormatError("%s: le %r then %r" % (what, b1, b2))
                if not c1 <= c2:
                    raise FormatError("%s: buckets not cumulative" % what)
            if h["count"] is None or h["sum"] is None:
                raise FormatError("%s lacks _sum or _count" % what)
            if h["count"] != b[-1][1]:
                raise FormatError("%s: _count %r but +Inf bucket %r"
                                  % (what, h["count"], b[-1][1]))
    return families, samples


# The families syncd must expose, with their types.
EXPECTED = {
    "syncom_messages_in_total": "counter",
    "syncom_deliveries_total": "counter",
    "syncom_delivery_latency_seconds": "histogram",
    "syncom_outbox_pending": "gauge",
    "syncom_dead_letters": "gauge",
    "syncom_messages_stored": "gauge",
    "syncom_connections": "gauge",
    "syncom_start_time_seconds": "gauge",
    "syncom_build_info": "gauge",
}

n = 0
failed = 0


def ok(cond, name, diag=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        if diag:
            for line in str(diag).splitlines():
                print("#   " + line)
    return cond


def request(port, method, data=None):
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port,
                                 method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def save(out, samples, body):
    with open(out, "w") as f:
        json.dump(samples, f, indent=0, sort_keys=True)
    with open(out + ".txt", "wb") as f:
        f.write(body)


def fetch(port, out):
    status, headers, body = request(port, "GET")
    if status != 200 or headers.get("Content-Type") != CONTENT_TYPE:
        return 1
    try:
        save(out, parse(body.decode("utf-8"))[1], body)
    except (FormatError, UnicodeDecodeError):
        return 1
    return 0


def scrape(port, out):
    status, headers, body = request(port, "GET")
    ok(status == 200, "GET /metrics: 200", status)
    ok(headers.get("Content-Type") == CONTENT_TYPE,
       "GET /metrics: Content-Type %s" % CONTENT_TYPE,
       headers.get("Content-Type"))
    try:
        families, samples = parse(body.decode("utf-8"))
        ok(True, "the exposition parses strictly")
    except (FormatError, UnicodeDecodeError) as e:
        ok(False, "the exposition parses strictly", e)
        families, samples = {}, {}
    wrong = ["%s: %s" % (k, families.get(k, {}).get("type"))
             for k, t in EXPECTED.items()
             if families.get(k, {}).get("type") != t]
    ok(not wrong, "every family is there with its type", "\n".join(wrong))

    hstatus, hheaders, hbody = request(port, "HEAD")
    ok(hstatus == 200 and hbody == b"" and
       hheaders.get("Content-Type") == CONTENT_TYPE,
       "HEAD /metrics: 200, the type, no body", (hstatus, hbody[:80]))
    pstatus, pheaders, _ = request(port, "POST", b"x=1")
    ok(pstatus == 405 and pheaders.get("Allow") == "GET, HEAD",
       "POST /metrics: 405 with Allow: GET, HEAD",
       (pstatus, pheaders.get("Allow")))
    save(out, samples, body)


def lookup(file, series):
    with open(file) as f:
        samples = json.load(f)
    m = re.match(r"([^{]*)(\{.*\})?\Z", series)
    labels = parse_labels(m.group(2), 0)[0] if m.group(2) else {}
    return samples.get(series_key(m.group(1), labels))


def number(v):
    return "%d" % v if math.isfinite(v) and v == int(v) else repr(v)


def value(file, series):
    v = lookup(file, series)
    print("" if v is None else number(v))


def total(file, name, wants):
    with open(file) as f:
        samples = json.load(f)
    s = 0.0
    for key, v in samples.items():
        m = re.match(r"([^{]*)(\{.*\})\Z", key)
        if m.group(1) != name:
            continue
        labels = parse_labels(m.group(2), 0)[0] if m.group(2) != "{}" \
            else {}
        if all(labels.get(k) == w for k, w in wants):
            s += v
    print(number(s))


GOOD = """# HELP a_total A counter.
# TYPE a_total counter
a_total{x="1"} 3
a_total{x="q\\"\\\\\\n"} 0
# HELP h A histogram with a \\\\ and a \\n.
# TYPE h histogram
h_bucket{le="1"} 1
h_bucket{le="5.5"} 2
h_bucket{le="+Inf"} 2
h_sum 4.5
h_count 2
# HELP g A gauge.
# TYPE g gauge
g -1.5e3 1700000000000
"""

# Each one wrong in one way; the parser must refuse them all.
BAD = {
    "no final line feed": "# HELP g x\n# TYPE g gauge\ng 1",
    "a blank line": "# HELP g x\n# TYPE g gauge\n\ng 1\n",
    "another comment": "# HELP g x\n# TYPE g gauge\n# hello\ng 1\n",
    "no TYPE": "# HELP g x\ng 1\n",
    "no HELP": "# TYPE g gauge\ng 1\n",
    "TYPE after the samples": "# HELP g x\ng 1\n# TYPE g gauge\n",
    "unknown type": "# HELP g x\n# TYPE g meter\ng 1\n",
    "two TYPEs": "# HELP g x\n# TYPE g gauge\n# TYPE g gauge\ng 1\n",
    "bad metric name": "# HELP 1g x\n# TYPE 1g gauge\n1g 1\n",
    "bad label name": "# HELP g x\n# TYPE g gauge\ng{a-b=\"1\"} 1\n",
    "reserved label name": "# HELP g x\n# TYPE g gauge\ng{__a=\"1\"} 1\n",
    "bad escape": "# HELP g x\n# TYPE g gauge\ng{a=\"\\t\"} 1\n",
    "raw quote": "# HELP g x\n# TYPE g gauge\ng{a=\"x\"y\"} 1\n",
    "unterminated value": "# HELP g x\n# TYPE g gauge\ng{a=\"x} 1\n",
    "trailing comma": "# HELP g x\n# TYPE g gauge\ng{a=\"x\",} 1\n",
    "label twice": "# HELP g x\n# TYPE g gauge\ng{a=\"x\",a=\"y\"} 1\n",
    "bad float": "# HELP g x\n# TYPE g gauge\ng 1,5\n",
    "two spaces": "# HELP g x\n# TYPE g gauge\ng  1\n",
    "bad escape in HELP": "# HELP g a\\tb\n# TYPE g gauge\ng 1\n",
    "series twice": "# HELP g x\n# TYPE g gauge\ng 1\ng 2\n",
    "samples not together": "# HELP g x\n# TYPE g gauge\n# HELP f x\n"
                            "# TYPE f gauge\ng 1\nf 1\ng{a=\"1\"} 1\n",
    "undeclared sample": "# HELP g x\n# TYPE g gauge\nf 1\n",
    "negative counter": "# HELP c x\n# TYPE c counter\nc -1\n",
    "no +Inf bucket": "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
                      "h_sum 1\nh_count 1\n",
    "buckets not cumulative": "# HELP h x\n# TYPE h histogram\n"
                              "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                              "h_sum 1\nh_count 1\n",
    "le not ascending": "# HELP h x\n# TYPE h histogram\n"
                        "h_bucket{le=\"5\"} 1\nh_bucket{le=\"1\"} 1\n"
                        "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    "_count unlike +Inf": "# HELP h x\n# TYPE h histogram\n"
                          "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
    "no _count": "# HELP h x\n# TYPE h histogram\n"
                 "h_bucket{le=\"+Inf\"} 1\nh_sum 1\n",
    "le on a gauge": "# HELP g x\n# TYPE g gauge\ng{le=\"1\"} 1\n",
}


def selftest():
    try:
        families, samples = parse(GOOD)
        good = (samples['a_total{x="q\\"\\\\\\n"}'] == 0 and
                families["h"]["help"] == "A histogram with a \\ and a \n." and
                samples["g{}"] == -1500)
        ok(good, "the parser takes a valid exposition", samples)
    except FormatError as e:
        ok(False, "the parser takes a valid exposition", e)
    for what, text in BAD.items():
        try:
            parse(text)
            ok(False, "the parser refuses %s" % what)
        except FormatError:
            ok(True, "the parser refuses %s" % what)


def main():
    cmd = sys.argv[1]
    if cmd == "scrape":
        scrape(int(sys.argv[2]), sys.argv[3])
    elif cmd == "fetch":
        return fetch(int(sys.argv[2]), sys.argv[3])
    elif cmd == "value":
        value(sys.argv[2], sys.argv[3])
        return 0
    elif cmd == "sum":
        total(sys.argv[2], sys.argv[3],
              [a.split("=", 1) for a in sys.argv[4:]])
        return 0
    elif cmd == "selftest":
        selftest()
    else:
        sys.exit("usage: metrics_check.py scrape|value|sum|selftest ...")
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
