/*
 * fuzz_forum.c: libFuzzer target for the forum's parsers.  The first byte
 * of an input says what the rest is:
 *
 *   even  what a browser sends on one connection to the forum's HTTP
 *         server: requests (several on a keep-alive connection) with
 *         their headers, cookies and urlencoded forms, or garbage (with
 *         bit 1 set, the client ends its side at once: see fuzz_http);
 *   odd   a message as it reaches a board (header and body), which goes
 *         through forum_text_extract, forum_render_text, forum_quote and
 *         forum_attachment_get, and the same octets taken as HTML through
 *         forum_html_to_text; with bit 1 set, it is also posted (through
 *         the router, as the forum's own pages post) and its topic page,
 *         reply form and attachments are fetched, so that what the forum
 *         stored of it is shown too (see fuzz_post).
 *
 * As in fuzz_nntp and fuzz_smtp, one real forum serves the inputs: the
 * store and the forum's database in a private directory, the real router
 * and outbox, a configuration with "deliver forum builtin" and three
 * boards, and an evhttp server made as syncd makes it.  evhttp takes
 * only listening sockets, so the forum listens on 127.0.0.1 (an
 * ephemeral port) and each input is one connection to it: the input is
 * written, the connection half-closed once the forum is idle, and the
 * loop runs until the forum has closed its side.  Anything it answers is
 * read and dropped.  A connection the forum leaves open is a finding.
 *
 * So that the forms can be fuzzed past the login, the forum starts with
 * accounts and login sessions whose cookies and CSRF tokens the seeds
 * know (FUZZ_SID_* and FUZZ_CSRF_* below; a session an input logs out is
 * made again for the next input), and with a few posts, one with
 * attachments.  The rate limits, which count per wall-clock window, are
 * cleared before each input, so that an input does the same every time.
 * Posts and accounts pile up as inputs make them; after FUZZ_RESTART
 * inputs, or once FUZZ_MESSAGES_MAX messages are stored, the forum starts
 * over in a fresh directory, which keeps the pages as fast as they were.
 *
 * For the messages the promises checked are the ones the forum's safety
 * rests on: the HTML forum_render_text writes holds no markup but its
 * own, and links only to the schemes it names; an attachment listed by
 * forum_text_extract can be fetched with forum_attachment_get and is
 * what was listed; a quote quotes every line.
 *
 * Seeds: tests/fuzz/corpus/forum/: "H..." for HTTP, "M..." for a message,
 * "O..." for a message that is posted too.
 */

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <crypt.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "syncd.h"
#include "forum.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Stop with a message libFuzzer shows when a promise is broken. */
#define fuzz_assert(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_forum: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* The sessions the seeds use: cookie syncom_session=SID, form csrf=CSRF. */
#define FUZZ_SID_GUEST	"111111111111111111111111111111111111111111111111"
#define FUZZ_CSRF_GUEST	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FUZZ_SID_MEMBER	"222222222222222222222222222222222222222222222222"
#define FUZZ_CSRF_MEMBER "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define FUZZ_SID_ADMIN	"333333333333333333333333333333333333333333333333"
#define FUZZ_CSRF_ADMIN	"cccccccccccccccccccccccccccccccccccccccccccccccc"
#define FUZZ_SID_BANNED	"444444444444444444444444444444444444444444444444"
#define FUZZ_CSRF_BANNED "dddddddddddddddddddddddddddddddddddddddddddddddd"
/* The unconfirmed account's token: GET /confirm?token=... */
#define FUZZ_TOKEN_FRESH "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
/* Every account's password. */
#define FUZZ_PASSWORD	"fuzz-password"

/* When the forum starts over (see above). */
#define FUZZ_RESTART		10000
#define FUZZ_MESSAGES_MAX	200
/* How long one connection may take: a request left unanswered. */
#define FUZZ_CONN_SECONDS	5
/* Turns of the loop without news after which the forum is idle. */
#define FUZZ_QUIET		8

static const char fuzz_conf_text[] =
    "hostname gw.fuzz.example\n"
    "deliver forum builtin\n"
    "forum-title \"Fuzz <forum> & co\"\n"
    "max-message-size 32K\n"
    "channel test {\n\tnewsgroup fuzz.test\n\tboard test\n"
    "\tdescription \"The board the seeds post to\"\n}\n"
    "channel mod {\n\tnewsgroup fuzz.mod\n\tboard mod\n\tmoderated yes\n"
    "\tlist mod@lists.fuzz.example\n}\n"
    "channel ro {\n\tnewsgroup fuzz.ro\n\tboard ro\n"
    "\tdirection read-only\n}\n";

/* The accounts: the first made is the admin. */
static const struct {
	const char	*name;
	const char	*display;
	const char	*address;
	const char	*sid;
	const char	*csrf;
	int		 banned;
	int		 confirmed;
} fuzz_accounts[] = {
	{ "admin", "The Admin", "admin@fuzz.example", FUZZ_SID_ADMIN,
	    FUZZ_CSRF_ADMIN, 0, 1 },
	{ "member", "M\xc3\xa4mber \"M\" <m>", "member@fuzz.example",
	    FUZZ_SID_MEMBER, FUZZ_CSRF_MEMBER, 0, 1 },
	{ "banned", "Banned", "banned@fuzz.example", FUZZ_SID_BANNED,
	    FUZZ_CSRF_BANNED, 1, 1 },
	{ "fresh", "Fresh", "fresh@fuzz.example", NULL, NULL, 0, 0 },
};

/*
 * The posts the forum starts with: post 1 opens topic 1, post 2 answers
 * it (HTML only), post 3 opens topic 2 with attachments (parts 2 and 3),
 * post 4 is on the moderated board.
 */
static const struct {
	const char	*board;
	const char	*raw;
} fuzz_posts[] = {
	{ "test",
	    "From: =?utf-8?q?M=C3=A4mber?= <member@fuzz.example>\r\n"
	    "Subject: Welcome to the fuzz\r\n"
	    "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
	    "Message-ID: <post1@fuzz.example>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "Hello <all> & see https://example.org/wiki/A_(b). or\r\n"
	    "mailto:member@fuzz.example, news:fuzz.test, javascript:x\r\n"
	    "> quoted once\r\n"
	    ">> quoted twice\r\n"
	    "\r\n"
	    "-- \r\n"
	    "Member, ftp://ftp.example.org/\r\n" },
	{ "test",
	    "From: Other <other@example.org>\r\n"
	    "Subject: Re: Welcome to the fuzz\r\n"
	    "Date: Mon, 02 Mar 2026 11:00:00 +0000\r\n"
	    "Message-ID: <post2@fuzz.example>\r\n"
	    "In-Reply-To: <post1@fuzz.example>\r\n"
	    "References: <post1@fuzz.example>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/html; charset=iso-8859-1\r\n"
	    "\r\n"
	    "<html><head><title>t</title><style>p{}</style></head><body>\r\n"
	    "<p>Gr\xfc\xdf &amp; <b>bold</b>&nbsp;&#8364;&#x263a;</p>\r\n"
	    "<a href=\"https://example.org/\">https://example.org/</a>\r\n"
	    "<a href='javascript:alert(1)'>no</a><br><pre>  kept\r\n"
	    "</pre><ul><li>one<li>two</ul><!-- gone --></body></html>\r\n" },
	{ "test",
	    "From: The Admin <admin@fuzz.example>\r\n"
	    "Subject: Files\r\n"
	    "Date: Mon, 02 Mar 2026 12:00:00 +0000\r\n"
	    "Message-ID: <post3@fuzz.example>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	    "\r\n"
	    "--b1\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "\r\n"
	    "Two files.\r\n"
	    "--b1\r\n"
	    "Content-Type: application/pdf; name=\"r.pdf\"\r\n"
	    "Content-Disposition: attachment;"
	    " filename*=utf-8''dir%2Fre%C3%9Fport.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "JVBERi0xLjQKJeLjz9MK\r\n"
	    "--b1\r\n"
	    "Content-Type: text/html\r\n"
	    "Content-Disposition: attachment; filename=\"x\\\".html\"\r\n"
	    "\r\n"
	    "<script>alert(1)</script>\r\n"
	    "--b1--\r\n" },
	{ "mod",
	    "From: Member <member@fuzz.example>\r\n"
	    "Subject: Held?\r\n"
	    "Date: Mon, 02 Mar 2026 13:00:00 +0000\r\n"
	    "Message-ID: <post4@fuzz.example>\r\n"
	    "\r\n"
	    "On the moderated board.\r\n" },
};

/* The forum and everything under it; see fuzz_world_open. */
struct fuzz_world {
	char		 dir[256];
	struct conf	*conf;
	struct store	*store;
	struct outbox	*outbox;
	struct router	*router;
	struct forum	*forum;
	struct evhttp	*http;		/* syncd's part: the listener */
	struct transport *transport;	/* the forum side's, for the outbox */
	struct sockaddr_in addr;	/* where the forum listens */
	int64_t		 accounts[sizeof(fuzz_accounts) /
			    sizeof(*fuzz_accounts)];
	unsigned int	 inputs;
};

static struct event_base *base;
static struct fuzz_world *world;

/* The outbox's targets: the forum's boards, nothing else is configured. */
static struct transport *
fuzz_resolve(void *arg, const char *target)
{
	struct fuzz_world *w = arg;

	return strncmp(target, "forum:", 6) == 0 ? w->transport : NULL;
}

static void
fuzz_submitted(void *arg, int result, const char *reason, const char *msgid)
{
	int *pending = arg;

	if (result != ROUTER_ACCEPTED)
		fatalx("fuzz_init: a seed post was refused: %s (%s)",
		    router_result_name(result), reason != NULL ? reason : "-");
	(*pending)--;
}

static int
fuzz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Open a fresh forum in a new directory. */
static struct fuzz_world *
fuzz_world_open(void)
{
	struct fuzz_world *w = xcalloc(1, sizeof(*w));
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	socklen_t alen = sizeof(w->addr);
	const char *tmp, *hash;
	char *err = NULL;
	int64_t id, confirmed;
	size_t i;
	int fd, pending, n;

	/* The forum commits with synchronous=FULL: fsync is free on tmpfs. */
	if ((tmp = getenv("TMPDIR")) == NULL)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(w->dir, sizeof(w->dir), "%s/syncom-fuzz-forum.XXXXXX", tmp);
	if (mkdtemp(w->dir) == NULL)
		fatal("fuzz_init: mkdtemp %s", w->dir);
	if ((w->store = store_open(w->dir, base, &err)) == NULL)
		fatalx("fuzz_init: %s", err);
	if ((w->conf = conf_parse("fuzz", fuzz_conf_text,
	    sizeof(fuzz_conf_text) - 1, &err)) == NULL)
		fatalx("fuzz_init: %s", err);
	w->outbox = outbox_new(base, w->store, fuzz_resolve, w);
	w->router = router_new(w->store, w->outbox);
	router_set_conf(w->router, w->conf);

	w->addr.sin_family = AF_INET;
	w->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&w->addr, sizeof(w->addr)) == -1 ||
	    listen(fd, 64) == -1 ||
	    getsockname(fd, (struct sockaddr *)&w->addr, &alen) == -1)
		fatal("fuzz_init: listen");
	/* As syncd_http makes it for the "listen http" sockets. */
	if ((w->http = evhttp_new(base)) == NULL)
		fatalx("fuzz_init: evhttp_new failed");
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(w->http, 16 * 1024);
	evhttp_set_max_body_size(w->http, 1024 * 1024);
	evhttp_set_timeout(w->http, 60);
	if (evhttp_accept_socket(w->http, fd) == -1)
		fatal("fuzz_init: evhttp_accept_socket");
	if ((w->forum = forum_new(base, w->store, w->router, w->dir, w->http,
	    &err)) == NULL)
		fatalx("fuzz_init: %s", err);
	/* No forum-mail: confirmations fail at once, as they may. */
	forum_set_conf(w->forum, w->conf, NULL);
	w->transport = forum_transport_new(w->forum, w->conf);
	outbox_set_conf(w->outbox, w->conf);

	/* sha256-crypt at its fewest rounds: logging in stays cheap. */
	if ((hash = crypt_r(FUZZ_PASSWORD, "$5$rounds=1000$fuzzsalt$",
	    cd)) == NULL || *hash != '$')
		fatalx("fuzz_init: crypt_r failed");
	for (i = 0; i < sizeof(fuzz_accounts) / sizeof(*fuzz_accounts); i++) {
		if (forum_db_account_add(w->forum->db, fuzz_accounts[i].name,
		    fuzz_accounts[i].display, hash, fuzz_accounts[i].address,
		    FUZZ_TOKEN_FRESH, time(NULL) + 3600, &id) != 0)
			fatalx("fuzz_init: account %s", fuzz_accounts[i].name);
		w->accounts[i] = id;
		if (fuzz_accounts[i].confirmed &&
		    forum_db_confirm(w->forum->db, FUZZ_TOKEN_FRESH,
		    time(NULL), &confirmed) != 1)
			fatalx("fuzz_init: confirm %s", fuzz_accounts[i].name);
		if (fuzz_accounts[i].banned &&
		    forum_db_account_set(w->forum->db, id, FORUM_ROLE_MEMBER,
		    1) == -1)
			fatalx("fuzz_init: ban %s", fuzz_accounts[i].name);
	}
	free(cd);

	/* The posts, one after the other, so that their numbers are known. */
	for (i = 0; i < sizeof(fuzz_posts) / sizeof(*fuzz_posts); i++) {
		pending = 1;
		forum_submit(w->forum, fuzz_posts[i].board, fuzz_posts[i].raw,
		    strlen(fuzz_posts[i].raw), "fuzz", fuzz_submitted,
		    &pending);
		for (n = 0; pending > 0 && n < 10000; n++) {
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
			if (pending > 0)
				usleep(100);
		}
		if (pending > 0)
			fatalx("fuzz_init: seed post %zu not stored", i + 1);
	}
	return w;
}

/* Close the forum, once it has nothing in hand, and remove its files. */
static void
fuzz_world_close(struct fuzz_world **wp)
{
	struct fuzz_world *w = *wp;
	int i;

	*wp = NULL;
	outbox_stop(w->outbox);
	for (i = 0; i < 1000 && outbox_inflight(w->outbox) > 0; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	store_flush(w->store);
	for (i = 0; i < FUZZ_QUIET; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	router_free(&w->router);
	outbox_free(&w->outbox);
	transport_free(&w->transport);
	forum_free(&w->forum);
	evhttp_free(w->http);
	store_close(&w->store);
	conf_unref(&w->conf);
	nftw(w->dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
	free(w);
}

/*
 * Before an input: the fixed accounts as they were made (an admin's
 * input may have changed them), their sessions there, no rate limit
 * counted.
 */
static void
fuzz_world_ready(struct fuzz_world *w)
{
	struct forum_account a;
	int64_t account;
	char *csrf;
	size_t i;
	int role;

	for (i = 0; i < sizeof(fuzz_accounts) / sizeof(*fuzz_accounts); i++) {
		role = i == 0 ? FORUM_ROLE_ADMIN : FORUM_ROLE_MEMBER;
		memset(&a, 0, sizeof(a));
		if (forum_db_account(w->forum->db, NULL, w->accounts[i], NULL,
		    &a) == 1 && (a.role != role ||
		    a.banned != fuzz_accounts[i].banned))
			forum_db_account_set(w->forum->db, w->accounts[i], role,
			    fuzz_accounts[i].banned);
		forum_account_clear(&a);
		if (fuzz_accounts[i].sid == NULL)
			continue;
		csrf = NULL;
		if (forum_db_session(w->forum->db, fuzz_accounts[i].sid,
		    time(NULL), 3600, &account, &csrf) != 1)
			forum_db_session_add(w->forum->db,
			    fuzz_accounts[i].sid, w->accounts[i],
			    fuzz_accounts[i].csrf, time(NULL));
		free(csrf);
	}
	csrf = NULL;
	if (forum_db_session(w->forum->db, FUZZ_SID_GUEST, time(NULL), 3600,
	    &account, &csrf) != 1)
		forum_db_session_add(w->forum->db, FUZZ_SID_GUEST, 0,
		    FUZZ_CSRF_GUEST, time(NULL));
	free(csrf);
	free(w->forum->limits);
	w->forum->limits = NULL;
	w->forum->nlimits = 0;
}

/* One connection to the forum, from the client's side. */
struct fuzz_conn {
	int		 fd;
	const uint8_t	*data;
	size_t		 size, off;
	size_t		 got;		/* octets the forum answered */
	struct event	*rev, *wev, *timer;
	int		 closed;	/* the forum closed its side */
	int		 timeout;
};

static void
fuzz_conn_write(evutil_socket_t fd, short events, void *arg)
{
	struct fuzz_conn *c = arg;
	ssize_t n;

	while (c->off < c->size) {
		n = send(fd, c->data + c->off, c->size - c->off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			c->off = c->size;	/* the forum has closed */
			break;
		}
		c->off += n;
	}
	event_del(c->wev);
}

static void
fuzz_conn_read(evutil_socket_t fd, short events, void *arg)
{
	struct fuzz_conn *c = arg;
	char sink[65536];
	ssize_t n;

	while ((n = recv(fd, sink, sizeof(sink), 0)) > 0)
		c->got += n;
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		c->closed = 1;
		event_del(c->rev);
	}
}

static void
fuzz_conn_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct fuzz_conn *c = arg;

	c->timeout = 1;
}

/*
 * What a browser sends: one connection with the input.  evhttp drops
 * the requests still unread when the client half-closes while it
 * answers one, so the connection is half-closed only once the forum is
 * quiet: FUZZ_QUIET turns of the loop in a row in which nothing was
 * sent, answered or asked for (its work is all on the loop, so a busy
 * forum always has something to do in a turn; reading a large request
 * takes a few).  Then the forum must close its side.  An abrupt client
 * half-closes as soon as it has sent everything (as "nc -N" does), and
 * the forum sees the end while it reads or answers.
 */
static void
fuzz_http(struct fuzz_world *w, const uint8_t *data, size_t size, int abrupt)
{
	struct timeval tv = { FUZZ_CONN_SECONDS, 0 };
	struct fuzz_conn c;
	size_t off, got;
	unsigned int requests;
	int i, quiet = 0;

	memset(&c, 0, sizeof(c));
	c.data = data;
	c.size = size;
	if ((c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		fatal("fuzz: socket");
	if (connect(c.fd, (struct sockaddr *)&w->addr, sizeof(w->addr)) ==
	    -1 && errno != EINPROGRESS)
		fatal("fuzz: connect");
	c.rev = event_new(base, c.fd, EV_READ | EV_PERSIST, fuzz_conn_read,
	    &c);
	c.wev = event_new(base, c.fd, EV_WRITE | EV_PERSIST, fuzz_conn_write,
	    &c);
	c.timer = evtimer_new(base, fuzz_conn_timeout, &c);
	event_add(c.rev, NULL);
	event_add(c.wev, NULL);
	evtimer_add(c.timer, &tv);
	while (!c.closed && !c.timeout) {
		if (c.off == c.size && (abrupt || quiet >= FUZZ_QUIET))
			break;
		off = c.off;
		got = c.got;
		requests = w->forum->requests;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (off == c.off && got == c.got &&
		    requests == w->forum->requests)
			quiet++;
		else
			quiet = 0;
	}
	shutdown(c.fd, SHUT_WR);
	while (!c.closed && !c.timeout)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(c.rev);
	event_free(c.wev);
	event_free(c.timer);
	close(c.fd);
	if (c.timeout) {
		fprintf(stderr, "fuzz_forum: the forum left the connection"
		    " open for %d seconds (%zu of %zu octets written, %zu"
		    " answered)\n", FUZZ_CONN_SECONDS, c.off, c.size, c.got);
		abort();
	}
	/* What the input set going (commits, deliveries) ends here. */
	for (i = 0; i < FUZZ_QUIET; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/*
 * Where html, as forum_render_text writes it, has markup not its own
 * (every '<' must start one of its tags, every link one of its
 * schemes), or NULL.
 */
static const char *
fuzz_render_bad(const char *html, size_t len)
{
	static const char *tags[] = {
		"<div class=\"text\">", "<div class=\"sig\">", "</div>",
		"<details class=\"quote\">", "<summary>", "</summary>",
		"</details>", "</a>", "<a href=\""
	};
	static const char *schemes[] = {
		"http://", "https://", "ftp://", "news:", "mailto:"
	};
	const char *p, *end = html + len, *href;
	size_t i, k, n;

	for (p = html; (p = memchr(p, '<', end - p)) != NULL; p++) {
		for (i = 0; i < sizeof(tags) / sizeof(*tags); i++) {
			n = strlen(tags[i]);
			if ((size_t)(end - p) >= n &&
			    memcmp(p, tags[i], n) == 0)
				break;
		}
		if (i == sizeof(tags) / sizeof(*tags))
			return p;
		if (strcmp(tags[i], "<a href=\"") != 0)
			continue;
		href = p + strlen(tags[i]);
		for (k = 0; k < sizeof(schemes) / sizeof(*schemes); k++) {
			n = strlen(schemes[k]);
			if ((size_t)(end - href) > n &&
			    strncasecmp(href, schemes[k], n) == 0)
				break;
		}
		if (k == sizeof(schemes) / sizeof(*schemes))
			return p;
	}
	return NULL;
}

/* Whether every line of a quote after "NAME wrote:" starts with '>'. */
static int
fuzz_quote_ok(const char *q)
{
	const char *p = strchr(q, '\n');

	if (p == NULL || strncmp(p - 7, " wrote:", 7) != 0)
		return 0;
	for (p++; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (*p != '>' || strchr(p, '\n') == NULL)
			return 0;
	}
	return 1;
}

/* Render text as a post page does, and quote it as a reply does. */
static void
fuzz_text(const char *text, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	const char *html, *bad;
	size_t n;
	char *q;

	forum_render_text(b, text, len);
	n = evbuffer_get_length(b);
	html = (const char *)evbuffer_pullup(b, -1);
	if ((bad = fuzz_render_bad(html, n)) != NULL)
		fprintf(stderr, "fuzz_forum: markup not the forum's at %zu:"
		    " %.*s\n", (size_t)(bad - html), (int)(html + n - bad <
		    200 ? html + n - bad : 200), bad);
	fuzz_assert(bad == NULL);
	evbuffer_free(b);
	q = forum_quote("A \"B\"\t<c>\n", text, len);
	fuzz_assert(fuzz_quote_ok(q));
	free(q);
}

/* A message as it reaches a board, and the same octets as HTML. */
static void
fuzz_message(const char *raw, size_t len)
{
	struct forum_text t;
	const struct forum_attachment *a;
	const char *why;
	char *data, *type, *name, *text;
	size_t i, dlen, tlen;

	if (forum_text_extract(raw, len, &t, &why) == 0) {
		fuzz_assert(t.text != NULL && strlen(t.text) == t.len);
		fuzz_assert(utf8_valid(t.text, t.len));
		fuzz_text(t.text, t.len);
		for (i = 0; i < t.nattachments; i++) {
			a = &t.attachments[i];
			fuzz_assert(forum_attachment_get(raw, len, a->part,
			    &data, &dlen, &type, &name) == 0);
			fuzz_assert(dlen == a->size);
			fuzz_assert(strcmp(type, a->type) == 0);
			fuzz_assert(strcmp(name, a->filename) == 0);
			fuzz_assert(strpbrk(name, "/\\\n\r") == NULL);
			free(data);
			free(type);
			free(name);
		}
		/* Parts that are no attachment are refused. */
		fuzz_assert(forum_attachment_get(raw, len, -1, &data, &dlen,
		    &type, &name) == -1 && data == NULL);
		fuzz_assert(forum_attachment_get(raw, len, 0, &data, &dlen,
		    &type, &name) == -1 || t.nattachments > 0);
		free(data);
		free(type);
		free(name);
	} else
		fuzz_assert(why != NULL);
	forum_text_clear(&t);

	text = forum_html_to_text(raw, len, &tlen);
	fuzz_assert(strlen(text) == tlen && utf8_valid(text, tlen));
	fuzz_text(text, tlen);
	free(text);
	/* And the input itself as a post's text (which has no NUL). */
	if (memchr(raw, '\0', len) == NULL)
		fuzz_text(raw, len);
}

static void
fuzz_posted(void *arg, int result, const char *reason, const char *msgid)
{
	int *pending = arg;

	(*pending)--;
}

/*
 * The message as a post on board "test", handed to the router as the
 * forum's pages hand theirs (with a Message-ID of ours when it has
 * none, so that it is new); then its topic page, its reply form (a quote
 * of what was stored) and its attachments are fetched.
 */
static void
fuzz_post(struct fuzz_world *w, const char *raw, size_t len)
{
	static unsigned long long serial;
	struct forum_text t;
	struct forum_post p;
	struct evbuffer *req;
	struct msg *msg;
	const char *why;
	char *v, *msgid = NULL, *head, *mine = NULL;
	size_t i, hlen;
	int pending = 1, n;

	if (msg_parse(raw, len, &msg, &why) == 0) {
		if ((v = msg_get_unfolded(msg, "Message-ID")) != NULL)
			msgid = msgid_extract(v);
		free(v);
		msg_free(&msg);
	}
	if (msgid == NULL) {
		msgid = xasprintf("<post.%llu@fuzz.example>", ++serial);
		head = xasprintf("Message-ID: %s\r\n", msgid);
		hlen = strlen(head);
		mine = xmalloc(hlen + len);
		memcpy(mine, head, hlen);
		memcpy(mine + hlen, raw, len);
		free(head);
		raw = mine;
		len += hlen;
	}
	forum_submit(w->forum, "test", raw, len, "fuzz", fuzz_posted,
	    &pending);
	for (n = 0; pending > 0 && n < 1000; n++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	fuzz_assert(pending == 0);
	if (forum_db_post(w->forum->db, 0, msgid, &p) == 1) {
		req = evbuffer_new();
		evbuffer_add_printf(req, "GET /t/%lld HTTP/1.1\r\nHost: f\r\n"
		    "Cookie: syncom_session=" FUZZ_SID_ADMIN "\r\n\r\n"
		    "GET /p/%lld/reply HTTP/1.1\r\nHost: f\r\n"
		    "Cookie: syncom_session=" FUZZ_SID_MEMBER "\r\n\r\n",
		    (long long)p.topic, (long long)p.id);
		if (forum_text_extract(raw, len, &t, &why) == 0)
			for (i = 0; i < t.nattachments; i++)
				evbuffer_add_printf(req, "GET /p/%lld/att/%d"
				    " HTTP/1.1\r\nHost: f\r\n\r\n",
				    (long long)p.id, t.attachments[i].part);
		forum_text_clear(&t);
		fuzz_http(w, evbuffer_pullup(req, -1),
		    evbuffer_get_length(req), 0);
		evbuffer_free(req);
		forum_post_free(&p, 1);
	}
	free(msgid);
	free(mine);
}

/* At the end of the run the forum's directory goes too. */
static void
fuzz_cleanup(void)
{
	if (world != NULL)
		nftw(world->dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* The forum, made on first need and made again now and then. */
static struct fuzz_world *
fuzz_world(void)
{
	if (base == NULL) {
		/*
		 * Quiet (below warnings): a line per request would swamp
		 * the run's log.  FUZZ_FORUM_LOG=1 shows them all.
		 */
		log_init(1, getenv("FUZZ_FORUM_LOG") != NULL ? 1 : -1,
		    "fuzz_forum");
		evthread_use_pthreads();
		base = event_base_new();
		atexit(fuzz_cleanup);
	}
	if (world != NULL && (world->inputs >= FUZZ_RESTART ||
	    store_message_count(world->store) > FUZZ_MESSAGES_MAX))
		fuzz_world_close(&world);
	if (world == NULL)
		world = fuzz_world_open();
	world->inputs++;
	fuzz_world_ready(world);
	return world;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (!(data[0] & 1))
		fuzz_http(fuzz_world(), data + 1, size - 1, data[0] & 2);
	else {
		fuzz_message((const char *)data + 1, size - 1);
		if (data[0] & 2)
			fuzz_post(fuzz_world(), (const char *)data + 1,
			    size - 1);
	}
	return 0;
}
