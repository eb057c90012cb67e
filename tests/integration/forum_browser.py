"""forum_browser.py: syncd's forum in a real browser.  Speaks TAP.

Headless Chromium, driven through chromedriver over the W3C WebDriver
protocol (plain HTTP and JSON, so the standard library is enough), goes
through the forum like a member would, with JavaScript off: register,
confirm by the link in the mail, log in, start a topic, see a reply from
the list and one from news in the thread, reply, edit, delete, log out.
It saves a screenshot after each step.  Then the same posts are read back
over NNTP and from the list's Maildir, each there exactly once.  A second
browser, a phone's screen with JavaScript on, checks that the pages fit
it without scrolling sideways.

Run by forum_browser.sh, which starts syncd and chromedriver:
forum_browser.py HTTP-PORT NNTP-PORT DRIVER-PORT SYNCCTL CONF WORK-DIR
SHOT-DIR, with the forum's mail, the list's and the news peer's Maildirs
at WORK-DIR/out/{mail,list,news}.  It writes the browsers' process ids to
WORK-DIR/chromium.pids, for the script to stop what is left of them.
"""

import base64
import email.parser
import glob
import json
import nntplib
import os
import re
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

http_port, nntp_port, driver_port = (int(a) for a in sys.argv[1:4])
syncctl, conf, work, shot_dir = sys.argv[4:8]
mail_dir = os.path.join(work, "out", "mail")
list_dir = os.path.join(work, "out", "list")
news_dir = os.path.join(work, "out", "news")
forum = "http://127.0.0.1:%d" % http_port

n = 0
failed = 0


def ok(cond, name, diag=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        if diag is not None:
            for line in str(diag).splitlines()[-30:]:
                print("# " + line)
    sys.stdout.flush()
    return cond


def wait(pred, seconds=15, every=0.2):
    """pred's first true value within seconds, else its last."""
    end = time.time() + seconds
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    return pred()


class WebDriverError(Exception):
    pass


class Browser:
    """One WebDriver session: one Chromium with its own profile."""

    def __init__(self, profile, javascript=True, phone=None):
        prefs = {}
        if not javascript:
            prefs["profile.managed_default_content_settings.javascript"] = 2
        options = {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run",
                     "--user-data-dir=" + profile,
                     "--window-size=1024,768"],
            "prefs": prefs,
        }
        if phone is not None:
            # A phone's screen: Chromium lays the page out as a phone
            # would, by its viewport meta element, not as a narrow
            # desktop window.
            options["mobileEmulation"] = {"deviceMetrics": {
                "width": phone[0], "height": phone[1], "pixelRatio": 2,
                "mobile": True, "touch": True}}
        self.sid = None
        v = self.call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "pageLoadStrategy": "normal",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": options}}})
        self.sid = v["sessionId"]
        pid = v["capabilities"].get("goog:processID")
        if pid:
            with open(os.path.join(work, "chromium.pids"), "a") as f:
                f.write("%d\n" % pid)
        self.call("POST", "/session/%s/timeouts" % self.sid,
                  {"pageLoad": 15000, "script": 5000, "implicit": 0})

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (driver_port, path), data=data,
            method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)["value"]
        except urllib.error.HTTPError as e:
            try:
                v = json.load(e)["value"]
                msg = "%s: %s" % (v.get("error"), v.get("message", "")[:300])
            except ValueError:
                msg = str(e)
            raise WebDriverError("%s %s: %s" % (method, path, msg))

    def s(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.sid, path), body)

    def quit(self):
        if self.sid is not None:
            try:
                self.call("DELETE", "/session/" + self.sid)
            finally:
                self.sid = None

    # Pages.

    def go(self, url):
        if url.startswith("/"):
            url = forum + url
        self.s("POST", "/url", {"url": url})

    def url(self):
        return self.s("GET", "/url")

    def path(self):
        return urllib.parse.urlsplit(self.url()).path

    def title(self):
        return self.s("GET", "/title")

    def script(self, js):
        return self.s("POST", "/execute/sync", {"script": js, "args": []})

    def shot(self, name):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        with open(os.path.join(shot_dir, name + ".png"), "wb") as f:
            f.write(png)
        return png[:8] == b"\x89PNG\r\n\x1a\n"

    # Elements, by CSS selector.

    def all(self, css, within=None):
        base = "/element/%s" % within if within else ""
        return [list(e.values())[0] for e in
                self.s("POST", base + "/elements",
                       {"using": "css selector", "value": css})]

    def one(self, css, within=None):
        found = self.all(css, within)
        if not found:
            raise WebDriverError("no element %r on %s" % (css, self.url()))
        return found[0]

    def text(self, css="body", within=None):
        return self.s("GET", "/element/%s/text" % self.one(css, within))

    def value(self, css):
        return self.s("GET", "/element/%s/property/value" % self.one(css))

    def attr(self, el, name):
        return self.s("GET", "/element/%s/attribute/%s" % (el, name))

    def height(self, el):
        return self.s("GET", "/element/%s/rect" % el)["height"]

    def type(self, css, text, clear=True):
        el = self.one(css)
        if clear:
            self.s("POST", "/element/%s/clear" % el, {})
        self.s("POST", "/element/%s/value" % el, {"text": text})

    def stale(self, el):
        """el's page is gone.  Chromium says so by a "stale element
        reference", or, caught in the middle of the navigation, by an
        "unknown error" that the node is not in the document."""
        try:
            self.s("GET", "/element/%s/name" % el)
            return False
        except WebDriverError as e:
            if "stale element" in str(e) or \
               "does not belong to the document" in str(e):
                return True
            raise

    def click(self, css, within=None, navigates=True):
        """Click a link or button and wait for the next page: the
        click returns before a form's POST has been answered."""
        page = self.one("html")
        self.s("POST", "/element/%s/click" % self.one(css, within), {})
        if navigates and not wait(lambda: self.stale(page), 15, 0.02):
            raise WebDriverError("clicking %r led nowhere from %s" %
                                 (css, self.url()))

    def submit(self, form_action):
        """Click the button of the form that posts to form_action."""
        self.click('main form[action="%s"] button' % form_action)

    def console(self):
        """What the page's console got since last asked (chromedriver's
        own command: W3C WebDriver has no logs)."""
        return [e.get("message", "") for e in
                self.s("POST", "/se/log", {"type": "browser"})]

    def heading(self):
        found = self.all("main h1")
        return self.s("GET", "/element/%s/text" % found[0]) if found else ""

    def posts(self):
        """The topic's posts in page order: [(id, text)]."""
        return [(self.attr(el, "id")[1:],
                 self.s("GET", "/element/%s/text" % el))
                for el in self.all("article.post")]


shots = 0


def step(b, name):
    """A screenshot of what the browser shows now, NN-name.png."""
    global shots
    shots += 1
    name = "%02d-%s" % (shots, name)
    ok(b.shot(name), "screenshot %s.png" % name)


# Mail and news.

def maildir_msgs(d):
    out = []
    for f in sorted(glob.glob(os.path.join(d, "new", "*")) +
                    glob.glob(os.path.join(d, "cur", "*"))):
        with open(f, "rb") as fh:
            raw = fh.read()
        out.append((email.parser.BytesHeaderParser().parsebytes(raw), raw))
    return out


def own_text(raw, words):
    """words are in raw on a line that is no quote."""
    return any(words.encode() in line and not line.startswith(b">")
               for line in raw.splitlines())


def maildir_ids(d, words):
    """Message-IDs of the messages in d that say words themselves."""
    return [h.get("Message-ID", "").strip() for h, raw in maildir_msgs(d)
            if own_text(raw, words)]


def maildir_count(d, msgid):
    return sum(1 for h, raw in maildir_msgs(d)
               if h.get("Message-ID", "").strip() == msgid)


def nntp():
    return nntplib.NNTP("127.0.0.1", nntp_port, readermode=True, timeout=10)


def article(msgid):
    s = nntp()
    try:
        _, info = s.article(msgid)
        return b"\n".join(info.lines)
    except nntplib.NNTPTemporaryError:
        return None
    finally:
        s.quit()


def group_ids(group):
    """The Message-IDs of the group's articles, by OVER."""
    s = nntp()
    try:
        _, count, first, last, _ = s.group(group)
        if count == 0:
            return []
        _, over = s.over((first, last))
        return [o["message-id"] for _, o in over]
    finally:
        s.quit()


def member_flow(b):
    """The whole visit of a member, JavaScript off."""
    # The browser really runs without JavaScript.
    b.go("data:text/html,<title>-</title>"
         "<script>document.title='script ran'</script>")
    ok(b.title() == "-", "JavaScript is off in this browser", b.title())

    b.go("/")
    ok(b.heading() == "Boards" and b.all('main a[href="/b/test"]'),
       "the board list is shown", b.text())
    step(b, "boards")

    # Register.
    b.click('header a[href="/register"]')
    ok(b.path() == "/register" and b.heading() == "Register",
       "the Register link leads to the form", b.url())
    b.type('input[name="name"]', "joerg")
    b.type('input[name="display"]', "Jörg Müller")
    b.type('input[name="address"]', "joerg@example.org")
    b.type('input[name="password"]', "correct horse")
    step(b, "register-form")
    b.submit("/register")
    ok(b.heading() == "Check your mail",
       "registering asks to confirm by mail", b.text())
    step(b, "check-your-mail")

    # Confirm: the browser follows the link from the mail.
    def confirm_link():
        for h, raw in maildir_msgs(mail_dir):
            if "joerg@example.org" in h.get("To", ""):
                m = re.search(rb"https?://\S+/confirm\?token=[0-9a-f]+", raw)
                return m and m.group(0).decode()
        return None
    link = wait(confirm_link)
    ok(link is not None and link.startswith(forum + "/confirm?"),
       "the confirmation mail links back to this forum", link)
    b.go(link or "/confirm?token=none")
    ok(b.heading() == "Confirmed", "following the link confirms", b.text())
    step(b, "confirmed")

    # Log in.
    b.go("/")
    b.click('header a[href="/login"]')
    b.type('input[name="name"]', "joerg")
    b.type('input[name="password"]', "correct horse")
    step(b, "login-form")
    b.submit("/login")
    header = b.text("header")
    ok(b.path() == "/" and "Jörg Müller" in header and "Log out" in header,
       "logging in leads to the boards, logged in", (b.url(), header))
    step(b, "logged-in")

    # A new topic.
    b.click('main a[href="/b/test"]')
    b.click('main a[href="/b/test/new"]')
    ok(b.heading() == "New topic", "the board has a New topic form", b.text())
    b.type('input[name="subject"]', "Grüße aus dem Browser")
    b.type('textarea[name="body"]',
           "Erster Beitrag aus dem Browser.\nZweite Zeile.\n\n-- \nJörg")
    step(b, "new-topic-form")
    b.submit("/b/test/new")
    topic = b.path()
    posts = b.posts()
    ok(re.fullmatch(r"/t/\d+", topic) and len(posts) == 1 and
       "Erster Beitrag aus dem Browser.\nZweite Zeile." in posts[0][1],
       "posting shows the new topic with its lines", (b.url(), posts))
    ok(b.heading() == "Grüße aus dem Browser", "under its subject",
       b.heading())
    first = posts[0][0] if posts else "0"
    step(b, "topic")

    # A reply from news and one from the list come into the thread.
    found = wait(lambda: maildir_ids(list_dir, "Erster Beitrag aus dem"))
    forum_id = found[0] if found else "<none>"
    ok(bool(found), "the topic goes out to the list", forum_id)
    s = nntp()
    s.post(("From: Nora News <nora@example.net>\r\n"
            "Newsgroups: pirates.de.test\r\n"
            "Subject: Re: Gruesse aus dem Browser\r\n"
            "Message-ID: <browser-news@example.net>\r\n"
            "References: %s\r\n\r\n"
            "Antwort aus dem Usenet.\r\n" % forum_id).encode().splitlines())
    s.quit()
    eml = os.path.join(work, "browser-list.eml")
    with open(eml, "w") as f:
        f.write("From: Lisa List <lisa@example.com>\r\n"
                "To: pirates-test@lists.test.example\r\n"
                "List-Id: <pirates-test.lists.test.example>\r\n"
                "Subject: Re: Gruesse aus dem Browser\r\n"
                "Date: Sun, 29 Nov 2026 12:00:00 +0000\r\n"
                "Message-ID: <browser-list@example.com>\r\n"
                "In-Reply-To: <browser-news@example.net>\r\n"
                "References: %s <browser-news@example.net>\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                "Antwort von der Liste.\r\n" % forum_id)
    r = subprocess.run([syncctl, "-c", conf, "inject", "--source", "list",
                        eml], capture_output=True, text=True, timeout=30)
    ok(r.returncode == 0, "list mail goes in", r.stdout + r.stderr)

    def thread_complete():
        b.go(topic)
        return len(b.posts()) == 3 and b.posts()
    posts = wait(thread_complete) or b.posts()
    texts = [t for _, t in posts]
    ok(len(posts) == 3 and "Erster Beitrag" in texts[0] and
       "Antwort aus dem Usenet." in texts[1] and
       "Antwort von der Liste." in texts[2],
       "news and list replies show in the topic, in thread order", texts)
    ok(len(posts) == 3 and "via forum" in texts[0] and
       "via news" in texts[1] and "via mail" in texts[2],
       "each says where it came from", texts)
    ok(len(posts) == 3 and "Edit" in texts[0] and
       "Edit" not in texts[1] and "Edit" not in texts[2],
       "only one's own post offers Edit", texts)
    list_post = posts[2][0] if len(posts) == 3 else "0"
    step(b, "thread-news-and-mail")

    # Reply to the list's post: the form quotes it.
    b.click('a[href="/p/%s/reply"]' % list_post,
            within=b.one("#p" + list_post))
    quote = b.value('textarea[name="body"]')
    ok(b.heading() == "Reply" and "Lisa List wrote:" in quote and
       "> Antwort von der Liste." in quote and
       b.value('input[name="subject"]') == "Re: Gruesse aus dem Browser",
       "the reply form quotes the post", (b.text(), quote))
    b.type('textarea[name="body"]', "\nDer Browser antwortet der Liste.\n",
           clear=False)
    step(b, "reply-form")
    b.submit("/p/%s/reply" % list_post)
    posts = b.posts()
    texts = [t for _, t in posts]
    ok(b.path() == topic and len(posts) == 4 and
       "Der Browser antwortet der Liste." in texts[3],
       "the reply follows its parent", texts)
    reply = posts[3][0] if len(posts) == 4 else "0"
    # The quote is folded to one line, and opens without JavaScript.
    quote = b.one("#p%s details.quote" % reply)
    summary = b.one("summary", within=quote)
    folded = b.height(quote)
    ok(b.attr(quote, "open") is None and
       b.s("GET", "/element/%s/text" % summary) == "1 quoted line" and
       folded <= b.height(summary) + 1,
       "the quote shows folded, as its summary line", folded)
    step(b, "replied")
    b.click("summary", within=quote, navigates=False)
    ok(b.attr(quote, "open") is not None and b.height(quote) > folded,
       "clicking the summary opens the quote", b.height(quote))

    # Edit the topic's first post.
    b.click('a[href="/p/%s/edit"]' % first, within=b.one("#p" + first))
    ok(b.heading() == "Edit" and "Erster Beitrag aus dem Browser." in
       b.value('textarea[name="body"]'), "the edit form holds the text",
       b.text())
    b.type('textarea[name="body"]', "Erster Beitrag, im Browser verbessert.")
    step(b, "edit-form")
    b.submit("/p/%s/edit" % first)
    def edited():
        b.go(topic)
        return "verbessert" in b.text("#p" + first) and b.posts()
    texts = [t for _, t in wait(edited) or []]
    ok(len(texts) == 4 and "Erster Beitrag, im Browser verbessert." in
       texts[0] and "edited" in texts[0] and "Zweite Zeile" not in texts[0],
       "the topic shows the new text, marked edited", texts)
    step(b, "edited")
    return topic, first, reply, forum_id


def read_back(forum_id):
    """The posts over NNTP and as list mail, each there exactly once."""
    edit = wait(lambda: maildir_ids(list_dir, "im Browser verbessert"))
    reply = wait(lambda: maildir_ids(list_dir, "Der Browser antwortet"))
    edit_id = edit[0] if edit else "<none>"
    reply_id = reply[0] if reply else "<none>"
    news_id = "<browser-news@example.net>"
    list_id = "<browser-list@example.com>"
    ok(len(edit) == 1 and len(reply) == 1,
       "the reply and the edit go out to the list", (edit, reply))

    for mid, what in ((reply_id, "the reply"), (edit_id, "the edit"),
                      (news_id, "the news post"), (list_id, "the list post")):
        art = wait(lambda: article(mid), 10)
        ok(art is not None and ("Message-ID: " + mid).encode() in art,
           "%s is an article by its Message-ID" % what, mid)
    ids = group_ids("pirates.de.test")
    for mid, what in ((reply_id, "the reply"), (edit_id, "the edit"),
                      (news_id, "the news post"), (list_id, "the list post")):
        ok(ids.count(mid) == 1, "%s is in the group once" % what,
           (mid, ids))
    # The forum's edit supersedes the topic's first version (RFC 5537
    # section 5.4); syncd may serve that one still, but only once.
    ok(ids.count(forum_id) <= 1,
       "the topic's first version is in the group at most once",
       (forum_id, ids))

    # Everything has gone out by now; wait a moment for a stray second
    # delivery before counting.
    time.sleep(1)
    for mid, what in ((forum_id, "the topic"), (reply_id, "the reply"),
                      (edit_id, "the edit"), (news_id, "the news post")):
        c = maildir_count(list_dir, mid)
        ok(c == 1, "%s went to the list once" % what, (mid, c))
    c = maildir_count(list_dir, list_id)
    ok(c == 0, "the list's own post is not sent back to it", c)
    return reply_id


def delete_flow(b, topic, reply, reply_id):
    """Delete one's own reply: gone on the forum and from news."""
    b.go(topic)
    action = "/p/%s/delete" % reply
    forms = b.all('#p%s form[action="%s"]' % (reply, action))
    ok(len(forms) == 1, "one's own post has a Delete button", b.text())
    b.click("button", within=forms[0] if forms else None)
    text = b.text("#p" + reply) if b.all("#p" + reply) else ""
    ok(b.path() == topic and "(deleted)" in text and
       "Der Browser antwortet" not in text,
       "after Delete the topic shows the post as deleted", (b.url(), text))
    ok(not b.all("#p%s form" % reply) and not b.all("#p%s a" % reply),
       "with nothing left to do to it", text)
    b.go("%s#p%s" % (topic, reply))
    step(b, "deleted")
    ok(wait(lambda: article(reply_id) is None, 10),
       "the deleted post is no longer an article")
    ok(reply_id not in group_ids("pirates.de.test"),
       "nor in the group's overview")
    cancel = wait(lambda: [1 for h, _ in maildir_msgs(news_dir)
                           if h.get("Control", "").strip() ==
                           "cancel " + reply_id])
    ok(cancel and len(cancel) == 1, "one cancel goes to the news peer")
    ok(not [1 for h, _ in maildir_msgs(list_dir) if h.get("Control")],
       "and none to the list")


def phone_check(b, topic):
    """Pages fit a phone's screen: no scrolling sideways."""
    for path, name in (("/", "phone-boards"), ("/b/test", None),
                       (topic, "phone-topic"), ("/register", None)):
        b.go(path)
        w = b.script("return [window.innerWidth,"
                     " document.documentElement.scrollWidth]")
        # Chromium widens the layout viewport, innerWidth, to what the
        # page needs; 390 means it needed no more than the screen.
        ok(w[0] == 390 and w[1] <= w[0],
           "%s fits a phone's screen, no scrolling sideways" % path,
           "innerWidth %d, page width %d" % tuple(w))
        if name is not None:
            step(b, name)
    # With JavaScript on, an inline script would break the policy too.
    csp = [m for m in b.console() if "Content Security Policy" in m]
    ok(not csp, "nor with JavaScript on", csp)


def main():
    b = phone = None
    try:
        b = Browser(os.path.join(work, "chromium-member"), javascript=False)
        topic, first, reply, forum_id = member_flow(b)
        reply_id = read_back(forum_id)
        delete_flow(b, topic, reply, reply_id)
        b.click('header form[action="/logout"] button')
        ok("Log in" in b.text("header") and not b.all('a[href$="/edit"]'),
           "logging out ends the session")
        step(b, "logged-out")
        csp = [m for m in b.console() if "Content Security Policy" in m]
        ok(not csp, "no page broke its own Content-Security-Policy", csp)
        b.quit()
        phone = Browser(os.path.join(work, "chromium-phone"),
                        phone=(390, 844))
        phone_check(phone, topic)
        ok(True, "the browser went through to the end")
    except Exception:
        ok(False, "the browser went through to the end",
           traceback.format_exc())
    finally:
        for x in (b, phone):
            try:
                if x is not None:
                    x.quit()
            except Exception as e:
                print("# could not end a browser session: %s" % e)
    print("1..%d" % n)
    return 1 if failed else 0


sys.exit(main())
