/*
 * forum_http.c: the forum's pages, served by libevent's evhttp.
 *
 * A small fixed set of pages, rendered on the server as HTML that needs
 * no JavaScript and loads nothing from elsewhere: the boards, a board's
 * topics, a topic's posts in thread order, search, the forms to post,
 * reply, edit and delete, and the account pages (register, confirm, log
 * in, log out).  Every text that reaches a page goes through one escaping
 * function, forum_escape().
 *
 * Sessions are a random cookie (HttpOnly, SameSite=Lax) naming a row in
 * the forum's database with its CSRF token; every form carries the token
 * and every POST must bring it back.  Logging in makes a new session, so
 * an id planted before cannot be taken over (session fixation).  Failed
 * logins and posts are counted per address and account over a window,
 * and refused (429) past a limit.
 *
 * A post goes to the router (forum_submit) and the request waits for its
 * verdict: the page answers only after the commit, like every side.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "syncd.h"
#include "forum.h"

#define FORUM_COOKIE		"syncom_session"
#define FORUM_TOPICS_PER_PAGE	30
#define FORUM_POSTS_PER_PAGE	20
#define FORUM_SEARCH_MAX	50
#define FORUM_SESSION_IDLE	(14 * 24 * 3600)
#define FORUM_CONFIRM_TIME	(2 * 24 * 3600)
#define FORUM_BODY_MAX		(256 * 1024)
#define FORUM_SUBJECT_MAX	200
#define FORUM_NAME_MAX		40
/* Rate limits: at most max events per key in window seconds. */
#define FORUM_LOGIN_FAILURES	5
#define FORUM_LOGIN_WINDOW	(15 * 60)
#define FORUM_POSTS_MAX		10
#define FORUM_POSTS_WINDOW	(10 * 60)
#define FORUM_LIMITS_MAX	4096
#define FORUM_REFERENCES_MAX	900
#define FORUM_KEPT_PAGES	64
#define FORUM_KEPT_MAX		(256 * 1024)

struct forum_limit {
	char		 key[128];
	time_t		 start;
	int		 count;
};

/* One request being answered. */
struct forum_req {
	struct forum	*f;
	struct evhttp_request *req;
	struct evbuffer	*out;
	unsigned int	 id;		/* for the log */
	char		 peer[64];
	char		*path;		/* decoded */
	struct evkeyvalq query;
	struct evkeyvalq form;		/* a POST's fields */
	struct forum_account account;	/* id 0: nobody logged in */
	char		*sid;		/* the session cookie, or NULL */
	char		*csrf;
	int		 post;		/* a POST request */
	char		*board;		/* a submission's board */
	char		*back;		/* where to go after it, or NULL */
	struct forum_kept *kept;	/* where to keep the page made */
	struct forum_db_stamp stamp;	/* as it was before its reads */
};

/*
 * A board's or a topic's page as it is for anyone not logged in, who all
 * see the same: kept while the database's stamp is the one it was read
 * under, so that a page read by many costs one making until somebody
 * writes.  One place for each (path, page), by hash; a page over
 * FORUM_KEPT_MAX is made each time.
 */
struct forum_kept {
	char		*path;		/* NULL: nothing kept here */
	long long	 page;
	struct forum_db_stamp stamp;
	char		*html;
	size_t		 len;
};

static const char forum_css[] =
    "body{font-family:sans-serif;max-width:60em;margin:0 auto;"
    "padding:0 .6em;line-height:1.4;color:#222;background:#fff;"
    "overflow-wrap:anywhere}"
    "header{display:flex;flex-wrap:wrap;justify-content:space-between;"
    "align-items:center;border-bottom:1px solid #ccc;padding:.4em 0}"
    "header form{display:inline}"
    "a{color:#0645ad}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{padding:.3em;border-bottom:1px solid #eee;text-align:left;"
    "vertical-align:top}"
    ".meta{color:#666;font-size:.9em}"
    ".post{border:1px solid #ddd;border-radius:4px;margin:.8em 0;"
    "padding:.5em}"
    ".text{white-space:pre-wrap;overflow-wrap:anywhere}"
    ".sig{color:#888}"
    "details.quote{color:#555;border-left:3px solid #ccc;padding-left:.5em}"
    ".error{color:#a00;font-weight:bold}"
    "input[type=text],input[type=email],input[type=password],textarea"
    "{width:100%;box-sizing:border-box}"
    "textarea{min-height:12em}"
    "@media (max-width:40em){td.count,th.count{display:none}}";

/* Rate limits. */

/*
 * With count, count one event for key: 1 when that makes more than max
 * in window.  Without, only look: 1 when max are reached already.
 */
static int
forum_limit_hit(struct forum *f, const char *key, int max, time_t window,
    int count)
{
	struct forum_limit *l = NULL, *free_slot = NULL;
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < f->nlimits; i++) {
		if (f->limits[i].start + window < now ||
		    f->limits[i].key[0] == '\0') {
			if (free_slot == NULL)
				free_slot = &f->limits[i];
			continue;
		}
		if (strcmp(f->limits[i].key, key) == 0) {
			l = &f->limits[i];
			break;
		}
	}
	if (l == NULL) {
		if (!count)
			return 0;
		if (free_slot == NULL && f->nlimits < FORUM_LIMITS_MAX) {
			f->limits = xreallocarray(f->limits, f->nlimits + 1,
			    sizeof(*f->limits));
			free_slot = &f->limits[f->nlimits++];
		}
		if (free_slot == NULL)
			/* Full of live entries: a flood; refuse. */
			return 1;
		l = free_slot;
		snprintf(l->key, sizeof(l->key), "%s", key);
		l->start = now;
		l->count = 0;
	}
	if (!count)
		return l->count >= max;
	return ++l->count > max;
}

/* Random tokens and password hashes. */

/* A random token for sessions, CSRF and confirmation links. */
static char *
forum_token(void)
{
	unsigned char b[24];
	char *s = xmalloc(2 * sizeof(b) + 1);
	size_t i;

	if (RAND_bytes(b, sizeof(b)) != 1)
		fatalx("forum_token: no random bytes");
	for (i = 0; i < sizeof(b); i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	return s;
}

/* Output. */

static void
forum_out(struct forum_req *r, const char *fmt, ...) PRINTFLIKE(2, 3);

static void
forum_out(struct forum_req *r, const char *fmt, ...)
{
	va_list ap;

	/*
	 * Most of a page is markup without a conversion: copied as it is,
	 * it costs a tenth of what vsnprintf takes to find nothing to do.
	 */
	if (strchr(fmt, '%') == NULL) {
		evbuffer_add(r->out, fmt, strlen(fmt));
		return;
	}
	va_start(ap, fmt);
	evbuffer_add_vprintf(r->out, fmt, ap);
	va_end(ap);
}

/* Escaped text. */
static void
forum_text(struct forum_req *r, const char *s)
{
	forum_escape(r->out, s, strlen(s));
}

static void
forum_date(struct forum_req *r, time_t t)
{
	char buf[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
	forum_out(r, "<time>%s</time>", buf);
}

/* A session for forms: made on first need, its cookie sent back. */
static void
forum_session_need(struct forum_req *r)
{
	struct evkeyvalq *h;
	const char *secure;
	char *cookie;

	if (r->csrf != NULL)
		return;
	free(r->sid);
	r->sid = forum_token();
	r->csrf = forum_token();
	if (forum_db_session_add(r->f->db, r->sid, r->account.id, r->csrf,
	    time(NULL)) == -1)
		log_warnx("event=forum-session request=%u error=%s", r->id,
		    log_q("could not write the forum's database"));
	secure = r->f->conf->forum_url != NULL &&
	    strncmp(r->f->conf->forum_url, "https:", 6) == 0 ? "; Secure" : "";
	cookie = xasprintf(FORUM_COOKIE "=%s; Path=/; HttpOnly;"
	    " SameSite=Lax%s", r->sid, secure);
	h = evhttp_request_get_output_headers(r->req);
	evhttp_remove_header(h, "Set-Cookie");
	evhttp_add_header(h, "Set-Cookie", cookie);
	free(cookie);
}

static void
forum_csrf_field(struct forum_req *r)
{
	forum_session_need(r);
	forum_out(r, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
	    r->csrf);
}

static void
forum_page_begin(struct forum_req *r, const char *title)
{
	const char *site = r->f->conf->forum_title != NULL ?
	    r->f->conf->forum_title : r->f->conf->hostname;

	forum_out(r, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\""
	    " content=\"width=device-width, initial-scale=1\"><title>");
	forum_text(r, title);
	forum_out(r, " - ");
	forum_text(r, site);
	forum_out(r, "</title><style>%s</style></head><body><header>"
	    "<a href=\"/\"><strong>", forum_css);
	forum_text(r, site);
	forum_out(r, "</strong></a><nav>");
	if (r->account.id != 0) {
		if (r->account.role >= FORUM_ROLE_MODERATOR)
			forum_out(r, "<a href=\"/mod\">Moderation</a> &middot; ");
		if (r->account.role >= FORUM_ROLE_ADMIN)
			forum_out(r, "<a href=\"/admin\">Accounts</a> &middot; ");
		forum_text(r, r->account.display);
		forum_out(r, " <form method=\"post\" action=\"/logout\">");
		forum_csrf_field(r);
		forum_out(r, "<button>Log out</button></form>");
	} else
		forum_out(r, "<a href=\"/login\">Log in</a> &middot;"
		    " <a href=\"/register\">Register</a>");
	forum_out(r, "</nav></header><main>");
}

static void
forum_page_end(struct forum_req *r)
{
	forum_out(r, "</main><footer class=\"meta\"><p>Syncom %s</p>"
	    "</footer></body></html>\n", SYNCOM_VERSION);
}

static void
forum_reply(struct forum_req *r, int code, const char *reason)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "same-origin");
	/* No script at all, and nothing from elsewhere. */
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none';"
	    " style-src 'unsafe-inline'; img-src 'self'; form-action 'self';"
	    " frame-ancestors 'none'");
	log_info("event=http request=%u peer=%s method=%s path=%s status=%d"
	    " account=%lld", r->id, r->peer, r->post ? "POST" : "GET",
	    log_q(r->path), code, (long long)r->account.id);
	http_reply(r->req, code, reason, r->out);
}

/* A whole page that says one thing. */
static void
forum_message(struct forum_req *r, int code, const char *reason,
    const char *title, const char *text)
{
	evbuffer_drain(r->out, evbuffer_get_length(r->out));
	forum_page_begin(r, title);
	forum_out(r, "<h1>");
	forum_text(r, title);
	forum_out(r, "</h1><p%s>", code >= 400 ? " class=\"error\"" : "");
	forum_text(r, text);
	forum_out(r, "</p><p><a href=\"/\">Back to the boards</a></p>");
	forum_page_end(r);
	forum_reply(r, code, reason);
}

static void
forum_redirect(struct forum_req *r, const char *location)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Location", location);
	log_info("event=http request=%u peer=%s method=%s path=%s status=303"
	    " location=%s account=%lld", r->id, r->peer, r->post ? "POST" :
	    "GET", log_q(r->path), log_q(location), (long long)r->account.id);
	http_reply(r->req, 303, "See Other", r->out);
}

/* Input. */

static const char *
forum_field(struct forum_req *r, const char *name)
{
	const char *v = evhttp_find_header(&r->form, name);

	return v != NULL ? v : "";
}

static long long
forum_page_number(struct forum_req *r)
{
	const char *v = evhttp_find_header(&r->query, "page");
	long long n;
	char *end;

	if (v == NULL)
		return 1;
	n = strtoll(v, &end, 10);
	return *end != '\0' || n < 1 || n > 1000000 ? 1 : n;
}

/* Text typed into a form: UTF-8, no control characters but new lines. */
static int
forum_valid_text(const char *s, int multiline)
{
	const unsigned char *p;

	if (!utf8_valid(s, strlen(s)))
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\r' ||
		    *p == '\t'))) || *p == 0x7f)
			return 0;
	return 1;
}

/* A POST must bring back its session's CSRF token. */
static int
forum_csrf_ok(struct forum_req *r)
{
	const char *t = forum_field(r, "csrf");

	return r->csrf != NULL && strlen(t) == strlen(r->csrf) &&
	    CRYPTO_memcmp(t, r->csrf, strlen(t)) == 0;
}

/* Pages. */

/* "news://HOST/GROUP" and the list with its subscribe address. */
static void
forum_board_where(struct forum_req *r, const struct forum_board *b)
{
	size_t at;

	if (*b->newsgroup != '\0') {
		forum_out(r, "<br><span class=\"meta\">News: <a href=\"news://");
		forum_text(r, r->f->conf->hostname);
		forum_out(r, "/");
		forum_text(r, b->newsgroup);
		forum_out(r, "\">news://");
		forum_text(r, r->f->conf->hostname);
		forum_out(r, "/");
		forum_text(r, b->newsgroup);
		forum_out(r, "</a></span>");
	}
	if (*b->list != '\0') {
		/* Mailman 3 subscribes whoever writes to LIST-join@DOMAIN. */
		at = strcspn(b->list, "@");
		forum_out(r, "<br><span class=\"meta\">List: <a href=\"mailto:");
		forum_text(r, b->list);
		forum_out(r, "\">");
		forum_text(r, b->list);
		forum_out(r, "</a> (<a href=\"mailto:");
		forum_escape(r->out, b->list, at);
		forum_out(r, "-join");
		forum_text(r, b->list + at);
		forum_out(r, "?subject=subscribe\">subscribe</a>)</span>");
	}
}

static void
forum_page_boards(struct forum_req *r)
{
	struct forum_board *b;
	size_t n, i;

	if (forum_db_boards(r->f->db, &b, &n) == -1) {
		forum_message(r, 503, "Service Unavailable", "Try again",
		    "The forum's database cannot be read just now.");
		return;
	}
	forum_page_begin(r, "Boards");
	forum_out(r, "<h1>Boards</h1><table><tr><th>Board</th>"
	    "<th class=\"count\">Topics</th><th class=\"count\">Posts</th>"
	    "<th>Last post</th></tr>");
	for (i = 0; i < n; i++) {
		forum_out(r, "<tr><td><a href=\"/b/");
		forum_text(r, b[i].name);
		forum_out(r, "\">");
		forum_text(r, b[i].name);
		forum_out(r, "</a><br>");
		forum_text(r, b[i].description);
		forum_board_where(r, &b[i]);
		forum_out(r, "</td><td class=\"count\">%lld</td>"
		    "<td class=\"count\">%lld</td><td>", b[i].topics,
		    b[i].posts);
		if (b[i].last != 0)
			forum_date(r, b[i].last);
		forum_out(r, "</td></tr>");
	}
	forum_out(r, "</table>");
	forum_page_end(r);
	forum_board_free(b, n);
	free(b);
	forum_reply(r, 200, "OK");
}

/* The page for forum_db_board's 0 (no such board) or -1. */
static void
forum_no_board(struct forum_req *r, int rc)
{
	if (rc == 0)
		forum_message(r, 404, "Not Found", "No such board",
		    "There is no board of that name.");
	else
		forum_message(r, 503, "Service Unavailable", "Try again",
		    "The forum's database cannot be read just now.");
}

/* The board named by the path, or a 404 page. */
static int
forum_find_board(struct forum_req *r, const char *name, struct forum_board *b)
{
	int rc = forum_db_board(r->f->db, name, 0, b);

	if (rc == 1)
		return 0;
	forum_no_board(r, rc);
	return -1;
}

static void
forum_pager(struct forum_req *r, const char *base, long long page,
    int more)
{
	if (page <= 1 && !more)
		return;
	forum_out(r, "<p>");
	if (page > 1) {
		forum_out(r, "<a rel=\"prev\" href=\"");
		forum_text(r, base);
		forum_out(r, "?page=%lld\">&larr; Newer</a> ", page - 1);
	}
	forum_out(r, "Page %lld", page);
	if (more) {
		forum_out(r, " <a rel=\"next\" href=\"");
		forum_text(r, base);
		forum_out(r, "?page=%lld\">Older &rarr;</a>", page + 1);
	}
	forum_out(r, "</p>");
}

/*
 * The page of r's path kept for nobody logged in, sent: 1.  Or 0, and
 * r->kept is where forum_kept_set will keep the page made for it.  The
 * stamp is taken before the page's reads: a write in between leaves it
 * kept under an older stamp than its content, so made again.
 */
static int
forum_kept_send(struct forum_req *r, long long page)
{
	struct forum *f = r->f;
	struct forum_kept *k;
	uint64_t h = (uint64_t)page;
	const char *c;

	if (r->account.id != 0 || forum_db_stamp(f->db, &r->stamp) == -1)
		return 0;
	for (c = r->path; *c != '\0'; c++)
		h = h * 31 + (unsigned char)*c;
	if (f->kept == NULL)
		f->kept = xcalloc(FORUM_KEPT_PAGES, sizeof(*f->kept));
	k = &f->kept[h % FORUM_KEPT_PAGES];
	if (k->path != NULL && k->page == page &&
	    strcmp(k->path, r->path) == 0 &&
	    forum_db_stamp_same(&k->stamp, &r->stamp)) {
		evbuffer_add(r->out, k->html, k->len);
		forum_reply(r, 200, "OK");
		return 1;
	}
	r->kept = k;
	return 0;
}

static void
forum_kept_set(struct forum_req *r, long long page)
{
	struct forum_kept *k = r->kept;
	size_t len = evbuffer_get_length(r->out);

	if (k == NULL)
		return;
	free(k->path);
	free(k->html);
	k->path = k->html = NULL;
	if (len > FORUM_KEPT_MAX)
		return;
	k->path = xstrdup(r->path);
	k->page = page;
	k->stamp = r->stamp;
	k->html = xmalloc(len);
	k->len = len;
	evbuffer_copyout(r->out, k->html, len);
}

void
forum_http_forget(struct forum *f)
{
	size_t i;

	if (f->kept == NULL)
		return;
	for (i = 0; i < FORUM_KEPT_PAGES; i++) {
		free(f->kept[i].path);
		free(f->kept[i].html);
	}
	free(f->kept);
	f->kept = NULL;
}

static void
forum_page_board(struct forum_req *r, const char *name)
{
	struct forum_board b;
	struct forum_topic *t;
	long long page = forum_page_number(r);
	size_t n = 0, i;
	char *base;
	int began, rc;

	if (forum_kept_send(r, page))
		return;
	/* Read first, all at once; a page may write its session after. */
	t = NULL;
	began = forum_db_read_begin(r->f->db);
	if ((rc = forum_db_board(r->f->db, name, 0, &b)) == 1 &&
	    forum_db_topics(r->f->db, b.id, (size_t)(page - 1) *
	    FORUM_TOPICS_PER_PAGE, FORUM_TOPICS_PER_PAGE + 1, &t, &n) == -1) {
		forum_topic_free(t, n);
		free(t);
		forum_board_free(&b, 1);
		rc = -1;
	}
	forum_db_read_end(r->f->db, began);
	if (rc != 1) {
		forum_no_board(r, rc);
		return;
	}
	forum_page_begin(r, b.name);
	forum_out(r, "<h1>");
	forum_text(r, b.name);
	forum_out(r, "</h1><p>");
	forum_text(r, b.description);
	forum_board_where(r, &b);
	forum_out(r, "</p><p><a href=\"/b/");
	forum_text(r, b.name);
	forum_out(r, "/new\">New topic</a></p><form method=\"get\""
	    " action=\"/b/");
	forum_text(r, b.name);
	forum_out(r, "/search\"><input type=\"search\" name=\"q\""
	    " aria-label=\"Search\"> <button>Search</button></form>"
	    "<table><tr><th>Topic</th><th class=\"count\">Posts</th>"
	    "<th>Last post</th></tr>");
	for (i = 0; i < n && i < FORUM_TOPICS_PER_PAGE; i++) {
		forum_out(r, "<tr><td><a href=\"/t/%lld\">",
		    (long long)t[i].id);
		forum_text(r, t[i].subject);
		forum_out(r, "</a><br><span class=\"meta\">");
		forum_text(r, t[i].author);
		forum_out(r, "</span></td><td class=\"count\">%lld</td><td>",
		    t[i].posts);
		forum_date(r, t[i].last);
		forum_out(r, "<br><span class=\"meta\">");
		forum_text(r, t[i].last_author);
		forum_out(r, "</span></td></tr>");
	}
	forum_out(r, "</table>");
	base = xasprintf("/b/%s", b.name);
	forum_pager(r, base, page, n > FORUM_TOPICS_PER_PAGE);
	free(base);
	forum_page_end(r);
	forum_kept_set(r, page);
	forum_topic_free(t, n);
	free(t);
	forum_board_free(&b, 1);
	forum_reply(r, 200, "OK");
}

/* Thread order: each post after its parent, siblings by arrival. */
static void
forum_thread_order(struct forum_post *p, size_t n, size_t *order,
    int *depth)
{
	size_t *stack = xcalloc(n + 1, sizeof(*stack));
	char *placed = xcalloc(n + 1, 1);
	size_t i, j, k = 0, sp;

	for (i = 0; i < n; i++) {
		int has_parent = 0;

		/* Roots: no parent, or a parent not in this topic. */
		if (p[i].parent != 0)
			for (j = 0; j < n; j++)
				if (p[j].id == p[i].parent && j != i) {
					has_parent = 1;
					break;
				}
		if (has_parent || placed[i])
			continue;
		sp = 0;
		stack[sp++] = i;
		depth[i] = 0;
		while (sp > 0) {
			size_t cur = stack[--sp];

			if (placed[cur])
				continue;
			placed[cur] = 1;
			order[k++] = cur;
			/* Children pushed newest first, so oldest pops first. */
			for (j = n; j > 0; j--)
				if (p[j - 1].parent == p[cur].id &&
				    !placed[j - 1] && sp < n) {
					depth[j - 1] = depth[cur] + 1;
					stack[sp++] = j - 1;
				}
		}
	}
	/* Anything left (a cycle cannot happen, but be safe): by arrival. */
	for (i = 0; i < n; i++)
		if (!placed[i]) {
			depth[i] = 0;
			order[k++] = i;
		}
	free(stack);
	free(placed);
}

static const char *
forum_source_name(int source)
{
	switch (source) {
	case SIDE_NEWS:
		return "news";
	case SIDE_LIST:
		return "mail";
	default:
		return "forum";
	}
}

/*
 * One line of forum_post.attachments, "PART TYPE SIZE NAME" as forum.c
 * writes it, from line to end: 0 and a (free its type and filename),
 * or -1 when it is not such a line.  The name may be empty or blank.
 */
static int
forum_attachment_line(const char *line, const char *end,
    struct forum_attachment *a)
{
	const char *p = line, *t;
	char *e;
	long part;
	unsigned long long size;

	part = strtol(p, &e, 10);
	if (e == p || *e != ' ' || part < 0 || part > INT_MAX)
		return -1;
	t = e + 1;
	if ((p = memchr(t, ' ', (size_t)(end - t))) == NULL || p == t)
		return -1;
	size = strtoull(p + 1, &e, 10);
	if (e == p + 1 || e > end || (e < end && *e != ' '))
		return -1;
	a->part = (int)part;
	a->type = xstrndup(t, (size_t)(p - t));
	a->size = (size_t)size;
	a->filename = e < end ? xstrndup(e + 1, (size_t)(end - e - 1)) :
	    xstrdup("");
	return 0;
}

static void
forum_post_html(struct forum_req *r, const struct forum_post *p, int depth,
    int actions)
{
	const char *line, *end;

	forum_out(r, "<article class=\"post\" id=\"p%lld\" style=\"margin-left:"
	    "%dem\"><div class=\"meta\"><strong>", (long long)p->id,
	    depth > 8 ? 8 : depth);
	forum_text(r, p->author);
	forum_out(r, "</strong> &middot; ");
	forum_date(r, p->date);
	forum_out(r, " &middot; via %s", forum_source_name(p->source));
	if (p->edited != 0)
		forum_out(r, " &middot; edited");
	forum_out(r, "</div><h3>");
	forum_text(r, p->subject);
	forum_out(r, "</h3>");
	if (p->state == FORUM_POST_DELETED) {
		forum_out(r, "<p class=\"meta\">(deleted)</p></article>");
		return;
	}
	if (p->from_html)
		forum_out(r, "<p class=\"meta\">(sent as HTML; shown as"
		    " text)</p>");
	if (*p->html != '\0')
		evbuffer_add(r->out, p->html, strlen(p->html));
	else
		forum_render_text(r->out, p->body, strlen(p->body));
	if (*p->attachments != '\0') {
		forum_out(r, "<ul class=\"attachments\">");
		for (line = p->attachments; *line != '\0'; line = end + 1) {
			struct forum_attachment a;

			if ((end = strchr(line, '\n')) == NULL)
				break;
			if (forum_attachment_line(line, end, &a) == -1)
				continue;
			forum_out(r, "<li><a href=\"/p/%lld/att/%d\">",
			    (long long)p->id, a.part);
			forum_text(r, a.filename);
			forum_out(r, "</a> <span class=\"meta\">(");
			forum_text(r, a.type);
			forum_out(r, ", %zu bytes)</span></li>", a.size);
			free(a.type);
			free(a.filename);
		}
		forum_out(r, "</ul>");
	}
	if (actions && r->account.id == 0) {
		forum_out(r, "<p><a href=\"/login?back=/t/%lld%%23p%lld\">Log"
		    " in to reply</a></p>", (long long)p->topic,
		    (long long)p->id);
	} else if (actions) {
		forum_out(r, "<p><a href=\"/p/%lld/reply\">Reply</a>",
		    (long long)p->id);
		if (r->account.id != 0 && p->account == r->account.id)
			forum_out(r, " &middot; <a href=\"/p/%lld/edit\">Edit"
			    "</a>", (long long)p->id);
		forum_out(r, "</p>");
		if (r->account.id != 0 && (p->account == r->account.id ||
		    r->account.role >= FORUM_ROLE_MODERATOR)) {
			forum_out(r, "<form method=\"post\" action=\"/p/%lld/"
			    "delete\">", (long long)p->id);
			forum_csrf_field(r);
			forum_out(r, "<button>Delete</button></form>");
		}
	}
	forum_out(r, "</article>");
}

static void
forum_page_topic(struct forum_req *r, int64_t id)
{
	struct forum_topic t;
	struct forum_board b;
	struct forum_post *p = NULL, *show = NULL;
	long long page = forum_page_number(r);
	size_t n = 0, i, *order, first, shown = 0, nshow = 0;
	int *depth, *show_depth = NULL, rc, began;
	char *base;

	if (forum_kept_send(r, page))
		return;
	/* Read first, all at once; a page may write its session after. */
	began = forum_db_read_begin(r->f->db);
	if ((rc = forum_db_topic(r->f->db, id, &t)) != 1 || t.posts == 0) {
		forum_db_read_end(r->f->db, began);
		if (rc == 1)
			forum_topic_free(&t, 1);
		forum_message(r, rc == -1 ? 503 : 404, rc == -1 ?
		    "Service Unavailable" : "Not Found", "No such topic",
		    "There is no topic with that number.");
		return;
	}
	/*
	 * The thread's order from every post's id, parent and state, which
	 * the index holds; the text only of the page's posts.
	 */
	if (forum_db_board(r->f->db, NULL, t.board, &b) != 1 ||
	    forum_db_thread(r->f->db, t.id, &p, &n) == -1) {
		forum_db_read_end(r->f->db, began);
		forum_post_free(p, n);
		free(p);
		forum_topic_free(&t, 1);
		forum_board_free(&b, 1);
		forum_message(r, 503, "Service Unavailable", "Try again",
		    "The forum's database cannot be read just now.");
		return;
	}
	order = xcalloc(n + 1, sizeof(*order));
	depth = xcalloc(n + 1, sizeof(*depth));
	forum_thread_order(p, n, order, depth);
	first = (size_t)(page - 1) * FORUM_POSTS_PER_PAGE;
	show = xcalloc(FORUM_POSTS_PER_PAGE, sizeof(*show));
	show_depth = xcalloc(FORUM_POSTS_PER_PAGE, sizeof(*show_depth));
	for (i = 0; i < n; i++) {
		const struct forum_post *q = &p[order[i]];

		/* Held posts only for moderators; deleted ones as such. */
		if (q->state == FORUM_POST_HELD &&
		    r->account.role < FORUM_ROLE_MODERATOR)
			continue;
		if (shown >= first && shown < first + FORUM_POSTS_PER_PAGE) {
			if (forum_db_post(r->f->db, q->id, NULL,
			    &show[nshow]) != 1) {
				forum_post_free(&show[nshow], 1);
				break;
			}
			show_depth[nshow++] = depth[order[i]];
		}
		shown++;
	}
	forum_db_read_end(r->f->db, began);
	if (i < n) {
		forum_message(r, 503, "Service Unavailable", "Try again",
		    "The forum's database cannot be read just now.");
		goto out;
	}
	forum_page_begin(r, t.subject);
	forum_out(r, "<p><a href=\"/b/");
	forum_text(r, b.name);
	forum_out(r, "\">");
	forum_text(r, b.name);
	forum_out(r, "</a></p><h1>");
	forum_text(r, t.subject);
	forum_out(r, "</h1>");
	for (i = 0; i < nshow; i++)
		forum_post_html(r, &show[i], show_depth[i], 1);
	base = xasprintf("/t/%lld", (long long)t.id);
	forum_pager(r, base, page, shown > first + FORUM_POSTS_PER_PAGE);
	free(base);
	forum_page_end(r);
	forum_kept_set(r, page);
	forum_reply(r, 200, "OK");
out:
	forum_post_free(show, nshow);
	free(show);
	free(show_depth);
	free(order);
	free(depth);
	forum_post_free(p, n);
	free(p);
	forum_board_free(&b, 1);
	forum_topic_free(&t, 1);
}

static void
forum_page_search(struct forum_req *r, const char *name)
{
	struct forum_board b;
	struct forum_post *p = NULL;
	const char *q = evhttp_find_header(&r->query, "q");
	size_t n = 0, i;

	if (forum_find_board(r, name, &b) == -1)
		return;
	if (q == NULL || !forum_valid_text(q, 0))
		q = "";
	if (*q != '\0' && forum_db_search(r->f->db, b.id, q, FORUM_SEARCH_MAX,
	    &p, &n) == -1) {
		forum_board_free(&b, 1);
		forum_message(r, 503, "Service Unavailable", "Try again",
		    "The search failed just now.");
		return;
	}
	forum_page_begin(r, "Search");
	forum_out(r, "<p><a href=\"/b/");
	forum_text(r, b.name);
	forum_out(r, "\">");
	forum_text(r, b.name);
	forum_out(r, "</a></p><h1>Search</h1><form method=\"get\"><input"
	    " type=\"search\" name=\"q\" aria-label=\"Search\" value=\"");
	forum_text(r, q);
	forum_out(r, "\"> <button>Search</button></form>");
	if (*q != '\0')
		forum_out(r, "<p>%zu found</p>", n);
	if (n == FORUM_SEARCH_MAX)
		forum_out(r, "<p class=\"meta\">The newest %d; add a word to"
		    " find older ones.</p>", FORUM_SEARCH_MAX);
	for (i = 0; i < n; i++) {
		forum_out(r, "<p><a href=\"/t/%lld#p%lld\">",
		    (long long)p[i].topic, (long long)p[i].id);
		forum_text(r, p[i].subject);
		forum_out(r, "</a> <span class=\"meta\">");
		forum_text(r, p[i].author);
		forum_out(r, ", ");
		forum_date(r, p[i].date);
		forum_out(r, "</span><br>");
		forum_text(r, p[i].body);
		forum_out(r, "</p>");
	}
	forum_page_end(r);
	forum_post_free(p, n);
	free(p);
	forum_board_free(&b, 1);
	forum_reply(r, 200, "OK");
}

static void
forum_page_attachment(struct forum_req *r, int64_t id, int part)
{
	struct forum_post p;
	struct evkeyvalq *h;
	char *raw = NULL, *data = NULL, *type = NULL, *name = NULL, *cd;
	size_t len, dlen;
	int64_t message;
	int rc;

	if ((rc = forum_db_post(r->f->db, id, NULL, &p)) != 1 ||
	    p.state != FORUM_POST_VISIBLE) {
		if (rc == 1)
			forum_post_free(&p, 1);
		forum_message(r, 404, "Not Found", "No such attachment",
		    "There is no such post.");
		return;
	}
	if (store_message_id(r->f->store, p.msgid, &message) != 1 ||
	    store_message_raw(r->f->store, message, &raw, &len) == -1 ||
	    forum_attachment_get(raw, len, part, &data, &dlen, &type,
	    &name) == -1) {
		forum_post_free(&p, 1);
		free(raw);
		forum_message(r, 404, "Not Found", "No such attachment",
		    "The post has no such attachment.");
		return;
	}
	h = evhttp_request_get_output_headers(r->req);
	/*
	 * Always a download, never rendered here: an HTML or SVG file from
	 * a mail must not run as a page of the forum.
	 */
	evhttp_add_header(h, "Content-Type", "application/octet-stream");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none';"
	    " sandbox");
	for (cd = name; *cd != '\0'; cd++)
		if ((unsigned char)*cd < 0x20 || *cd == '"' || *cd == '\\' ||
		    (unsigned char)*cd >= 0x80)
			*cd = '_';
	cd = xasprintf("attachment; filename=\"%s\"", name);
	evhttp_add_header(h, "Content-Disposition", cd);
	free(cd);
	evbuffer_add(r->out, data, dlen);
	log_info("event=http request=%u peer=%s method=GET path=%s status=200"
	    " type=%s", r->id, r->peer, log_q(r->path), log_q(type));
	http_reply(r->req, 200, "OK", r->out);
	forum_post_free(&p, 1);
	free(raw);
	free(data);
	free(type);
	free(name);
}

/* Forms. */

static void
forum_error_line(struct forum_req *r, const char *error)
{
	if (error == NULL)
		return;
	forum_out(r, "<p class=\"error\">");
	forum_text(r, error);
	forum_out(r, "</p>");
}

static void
forum_form_register(struct forum_req *r, int code, const char *error)
{
	evbuffer_drain(r->out, evbuffer_get_length(r->out));
	forum_page_begin(r, "Register");
	forum_out(r, "<h1>Register</h1>");
	forum_error_line(r, error);
	forum_out(r, "<form method=\"post\" action=\"/register\">");
	forum_csrf_field(r);
	forum_out(r, "<p><label>User name<br><input type=\"text\" name=\"name\""
	    " required maxlength=\"%d\" autocomplete=\"username\" value=\"",
	    FORUM_NAME_MAX);
	forum_text(r, forum_field(r, "name"));
	forum_out(r, "\"></label></p><p><label>Name shown with your posts<br>"
	    "<input type=\"text\" name=\"display\" maxlength=\"80\" value=\"");
	forum_text(r, forum_field(r, "display"));
	forum_out(r, "\"></label></p><p><label>Mail address<br><input"
	    " type=\"email\" name=\"address\" required value=\"");
	forum_text(r, forum_field(r, "address"));
	forum_out(r, "\"></label></p><p><label>Password (at least 8"
	    " characters)<br><input type=\"password\" name=\"password\""
	    " required minlength=\"8\" autocomplete=\"new-password\">"
	    "</label></p><p><button>Register</button></p></form>");
	forum_page_end(r);
	forum_reply(r, code, code == 200 ? "OK" : "Bad Request");
}

/*
 * Where to go after logging in: the page that sent the visitor here, if
 * it is one of ours (a path, not "//host": no open redirect), else "/".
 */
static const char *
forum_back(struct forum_req *r)
{
	const char *back = r->post ? forum_field(r, "back") :
	    evhttp_find_header(&r->query, "back");

	if (back == NULL || back[0] != '/' || back[1] == '/' ||
	    back[1] == '\\' || !forum_valid_text(back, 0) ||
	    strlen(back) > 200)
		return "/";
	return back;
}

static void
forum_form_login(struct forum_req *r, int code, const char *error)
{
	evbuffer_drain(r->out, evbuffer_get_length(r->out));
	forum_page_begin(r, "Log in");
	forum_out(r, "<h1>Log in</h1>");
	forum_error_line(r, error);
	forum_out(r, "<form method=\"post\" action=\"/login\">");
	forum_csrf_field(r);
	forum_out(r, "<input type=\"hidden\" name=\"back\" value=\"");
	forum_text(r, forum_back(r));
	forum_out(r, "\"><p><label>User name<br><input type=\"text\""
	    " name=\"name\" required autocomplete=\"username\" value=\"");
	forum_text(r, forum_field(r, "name"));
	forum_out(r, "\"></label></p><p><label>Password<br><input"
	    " type=\"password\" name=\"password\" required"
	    " autocomplete=\"current-password\"></label></p>"
	    "<p><button>Log in</button></p></form>");
	forum_page_end(r);
	forum_reply(r, code, code == 200 ? "OK" : code == 429 ?
	    "Too Many Requests" : "Forbidden");
}

/* A user name: letters, digits, '.', '_', '-'. */
static int
forum_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > FORUM_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' &&
		    *s != '-')
			return 0;
	return 1;
}

/* A plain local@domain address, nothing a header could trip over. */
static int
forum_valid_address(const char *s)
{
	const char *at = strchr(s, '@');
	const char *p;

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') !=
	    NULL || strlen(s) > 254 || strchr(at, '.') == NULL)
		return 0;
	for (p = s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p) !=
		    NULL)
			return 0;
	return 1;
}

/* The base of links in mail: forum-url, else the Host we were asked. */
static char *
forum_base_url(struct forum_req *r)
{
	const char *host;
	size_t n;

	if (r->f->conf->forum_url != NULL) {
		n = strlen(r->f->conf->forum_url);
		while (n > 0 && r->f->conf->forum_url[n - 1] == '/')
			n--;
		return xstrndup(r->f->conf->forum_url, n);
	}
	host = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Host");
	if (host == NULL || strpbrk(host, " \t\r\n/\\\"<>@") != NULL)
		host = r->f->conf->hostname;
	return xasprintf("http://%s", host);
}

/* A display name for a From field: as is, quoted, or encoded. */
static char *
forum_phrase(const char *name)
{
	const unsigned char *p;
	int ascii = 1, atext = 1;
	char *enc, *s, *out;
	size_t len;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p >= 0x80)
			ascii = 0;
		else if (!isalnum(*p) && *p != ' ' &&
		    strchr("!#$%&'*+-/=?^_`{|}~", *p) == NULL)
			atext = 0;
	}
	if (ascii && atext)
		return xstrdup(name);
	if (ascii) {
		out = xmalloc(2 * strlen(name) + 3);
		s = out;
		*s++ = '"';
		for (p = (const unsigned char *)name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				*s++ = '\\';
			*s++ = (char)*p;
		}
		*s++ = '"';
		*s = '\0';
		return out;
	}
	/* RFC 2047 section 5 (3): a B word is safe in a phrase. */
	enc = mime_encode("base64", name, strlen(name), &len);
	while (len > 0 && (enc[len - 1] == '\n' || enc[len - 1] == '\r'))
		enc[--len] = '\0';
	if (strpbrk(enc, "\r\n") != NULL || len > 60) {
		/* Too long for one word: the address alone will do. */
		free(enc);
		return NULL;
	}
	out = xasprintf("=?UTF-8?B?%s?=", enc);
	free(enc);
	return out;
}

/* The mail that asks a new member to confirm the address. */
static void
forum_send_confirm(struct forum_req *r, const char *name, const char *addr,
    const char *token)
{
	struct msg *m;
	char *base = forum_base_url(r), *from, *body, *msgid, *raw;
	size_t len;

	from = r->f->conf->forum_sender != NULL ?
	    xasprintf("Forum <%s>", r->f->conf->forum_sender) :
	    xasprintf("Forum <forum@%s>", r->f->conf->hostname);
	msgid = msgid_generate(r->f->conf->hostname);
	body = xasprintf("Someone, probably you, registered the account %s\n"
	    "on the forum at %s/ with this address.\n\n"
	    "To confirm it, open this link within two days:\n\n"
	    "  %s/confirm?token=%s\n\n"
	    "If it was not you, do nothing: the account stays unconfirmed.\n",
	    name, base, base, token);
	m = msg_automated(from, "Confirm your forum account", msgid, body);
	msg_add(m, "To", addr);
	raw = msg_build(m, &len);
	forum_mail(r->f, addr, msgid, raw, len);
	free(body);
	free(msgid);
	free(from);
	free(base);
	msg_free(&m);
}

static void
forum_do_register(struct forum_req *r)
{
	const char *name = forum_field(r, "name");
	const char *display = forum_field(r, "display");
	const char *addr = forum_field(r, "address");
	const char *password = forum_field(r, "password");
	char *hash, *token, *key;
	int64_t id;
	int rc;

	if (!forum_valid_name(name)) {
		forum_form_register(r, 400, "A user name has letters, digits,"
		    " '.', '_' and '-', at most 40 of them.");
		return;
	}
	if (*display == '\0')
		display = name;
	if (!forum_valid_text(display, 0) || strlen(display) > 80) {
		forum_form_register(r, 400, "The name shown is not plain text"
		    " of at most 80 bytes.");
		return;
	}
	if (!forum_valid_address(addr)) {
		forum_form_register(r, 400, "That is not a mail address.");
		return;
	}
	if (strlen(password) < 8 || strlen(password) > 1024) {
		forum_form_register(r, 400, "The password needs at least 8"
		    " characters.");
		return;
	}
	key = xasprintf("register %s", r->peer);
	rc = forum_limit_hit(r->f, key, FORUM_POSTS_MAX, FORUM_POSTS_WINDOW, 1);
	free(key);
	if (rc) {
		forum_form_register(r, 429, "Too many registrations from your"
		    " address; try again later.");
		return;
	}
	if ((hash = forum_password_hash(password)) == NULL) {
		forum_message(r, 500, "Internal Server Error", "Sorry",
		    "The password could not be hashed.");
		return;
	}
	token = forum_token();
	rc = forum_db_account_add(r->f->db, name, display, hash, addr, token,
	    time(NULL) + FORUM_CONFIRM_TIME, &id);
	free(hash);
	if (rc != 0) {
		free(token);
		if (rc == -1)
			forum_message(r, 503, "Service Unavailable",
			    "Try again", "The account could not be saved.");
		else
			forum_form_register(r, 400, rc == FORUM_TAKEN_NAME ?
			    "That user name is taken." :
			    "That mail address has an account already.");
		return;
	}
	log_info("event=forum-register request=%u account=%lld name=%s",
	    r->id, (long long)id, log_q(name));
	forum_send_confirm(r, name, addr, token);
	free(token);
	forum_message(r, 200, "OK", "Check your mail",
	    "We have sent a link to your mail address. Open it to confirm"
	    " the account, then log in.");
}

static void
forum_do_confirm(struct forum_req *r)
{
	const char *token = evhttp_find_header(&r->query, "token");
	int64_t id;
	int rc;

	if (token == NULL || strlen(token) != 48)
		rc = 0;
	else
		rc = forum_db_confirm(r->f->db, token, time(NULL), &id);
	if (rc != 1) {
		forum_message(r, rc == -1 ? 503 : 404, rc == -1 ?
		    "Service Unavailable" : "Not Found", "Not confirmed",
		    "This link is unknown, used or expired.");
		return;
	}
	log_info("event=forum-confirm request=%u account=%lld", r->id,
	    (long long)id);
	forum_message(r, 200, "OK", "Confirmed",
	    "Your address is confirmed. You can log in now.");
}

/* A new session for account; the old one is gone (session fixation). */
static void
forum_session_renew(struct forum_req *r, int64_t account)
{
	if (r->sid != NULL)
		forum_db_session_delete(r->f->db, r->sid);
	free(r->csrf);
	r->csrf = NULL;
	forum_account_clear(&r->account);
	if (account != 0)
		forum_db_account(r->f->db, NULL, account, NULL, &r->account);
	forum_session_need(r);
}

static void
forum_do_login(struct forum_req *r)
{
	const char *name = forum_field(r, "name");
	const char *password = forum_field(r, "password");
	struct forum_account a;
	const char *why;
	char *kpeer, *kname;
	int rc;

	kpeer = xasprintf("login %s", r->peer);
	kname = xasprintf("login-name %s", name);
	if (forum_limit_hit(r->f, kpeer, FORUM_LOGIN_FAILURES,
	    FORUM_LOGIN_WINDOW, 0) || forum_limit_hit(r->f, kname,
	    FORUM_LOGIN_FAILURES, FORUM_LOGIN_WINDOW, 0)) {
		log_info("event=forum-login request=%u name=%s result=limited",
		    r->id, log_q(name));
		free(kpeer);
		free(kname);
		forum_form_login(r, 429, "Too many failed logins; try again in"
		    " 15 minutes.");
		return;
	}
	if ((rc = forum_login(r->f, name, password, &a)) == -1) {
		free(kpeer);
		free(kname);
		forum_message(r, 503, "Service Unavailable", "Try again",
		    "The forum's database cannot be read just now.");
		return;
	}
	if (rc == 0 || !a.verified || a.banned) {
		if (rc == 0) {
			forum_limit_hit(r->f, kpeer, FORUM_LOGIN_FAILURES,
			    FORUM_LOGIN_WINDOW, 1);
			forum_limit_hit(r->f, kname, FORUM_LOGIN_FAILURES,
			    FORUM_LOGIN_WINDOW, 1);
			why = "Wrong user name or password.";
		} else if (a.banned)
			why = "This account is banned.";
		else
			why = "Confirm your mail address first: follow the"
			    " link we sent.";
		log_info("event=forum-login request=%u name=%s result=%s",
		    r->id, log_q(name), rc == 0 ? "wrong" : a.banned ?
		    "banned" : "unconfirmed");
		forum_account_clear(&a);
		free(kpeer);
		free(kname);
		forum_form_login(r, 403, why);
		return;
	}
	free(kpeer);
	free(kname);
	log_info("event=forum-login request=%u account=%lld result=ok", r->id,
	    (long long)a.id);
	forum_session_renew(r, a.id);
	forum_account_clear(&a);
	forum_redirect(r, forum_back(r));
}

static void
forum_do_logout(struct forum_req *r)
{
	forum_session_renew(r, 0);
	forum_redirect(r, "/");
}

/* Posting. */

/* Who may post at all: 0, or a page has said why not. */
static int
forum_may_post(struct forum_req *r)
{
	char *key;
	int over;

	if (r->account.id == 0) {
		forum_message(r, 403, "Forbidden", "Log in first",
		    "Only members may post. Log in or register.");
		return -1;
	}
	if (r->account.banned) {
		forum_message(r, 403, "Forbidden", "Banned",
		    "This account may not post.");
		return -1;
	}
	if (r->post) {
		key = xasprintf("post %lld", (long long)r->account.id);
		over = forum_limit_hit(r->f, key, FORUM_POSTS_MAX,
		    FORUM_POSTS_WINDOW, 1);
		free(key);
		if (over) {
			forum_message(r, 429, "Too Many Requests", "Slow down",
			    "You have posted a lot just now; wait a few"
			    " minutes.");
			return -1;
		}
	}
	return 0;
}

/*
 * A post's Message-ID is made with its form and comes back with it: a
 * form sent twice (a double click, a reload, a try again after the
 * answer was lost with the connection or a restart) is then one message,
 * which the store takes once.  What the form sent is used only if it has
 * the form of our own IDs; otherwise (a form without one, a control
 * message) the ID is new.
 */
static char *
forum_form_msgid(struct forum_req *r)
{
	const char *id = r->post ? forum_field(r, "msgid") : "";

	if (msgid_ours(id, r->f->conf->hostname))
		return xstrdup(id);
	return msgid_generate(r->f->conf->hostname);
}

static void
forum_form_post(struct forum_req *r, const char *action, const char *title,
    const char *subject, const char *body, const char *error, int code)
{
	char *msgid = forum_form_msgid(r);

	evbuffer_drain(r->out, evbuffer_get_length(r->out));
	forum_page_begin(r, title);
	forum_out(r, "<h1>");
	forum_text(r, title);
	forum_out(r, "</h1>");
	forum_error_line(r, error);
	forum_out(r, "<form method=\"post\" action=\"");
	forum_text(r, action);
	forum_out(r, "\">");
	forum_csrf_field(r);
	forum_out(r, "<input type=\"hidden\" name=\"msgid\" value=\"");
	forum_text(r, msgid);
	forum_out(r, "\">");
	free(msgid);
	forum_out(r, "<p><label>Subject<br><input type=\"text\" name=\"subject\""
	    " required maxlength=\"%d\" value=\"", FORUM_SUBJECT_MAX);
	forum_text(r, subject);
	forum_out(r, "\"></label></p><p><label>Text<br><textarea name=\"body\""
	    " required>");
	forum_text(r, body);
	forum_out(r, "</textarea></label></p><p><button>Post</button></p>"
	    "</form>");
	forum_page_end(r);
	forum_reply(r, code, code == 200 ? "OK" : "Bad Request");
}

/* The post being answered or edited, or a 404 page. */
static int
forum_find_post(struct forum_req *r, int64_t id, struct forum_post *p,
    struct forum_board *b)
{
	struct forum_topic t;

	memset(b, 0, sizeof(*b));
	if (forum_db_post(r->f->db, id, NULL, p) != 1) {
		forum_message(r, 404, "Not Found", "No such post",
		    "There is no post with that number.");
		return -1;
	}
	if (p->state != FORUM_POST_VISIBLE ||
	    forum_db_topic(r->f->db, p->topic, &t) != 1 ||
	    forum_db_board(r->f->db, NULL, t.board, b) != 1) {
		forum_post_free(p, 1);
		forum_board_free(b, 1);
		forum_message(r, 404, "Not Found", "No such post",
		    "That post is not shown any more.");
		return -1;
	}
	forum_topic_free(&t, 1);
	return 0;
}

/*
 * The message for a post: From the account, the Message-ID of its form,
 * References after the parent's (RFC 5322 section 3.6.4), one extra
 * field when asked (Supersedes, Control), the text as UTF-8
 * (quoted-printable when a line is too long for 8bit).
 */
static char *
forum_build(struct forum_req *r, const char *subject, const char *text,
    const struct forum_post *parent, const char *extra_name,
    const char *extra_value, char **msgid_r, size_t *len_r)
{
	struct msg *m = msg_new(), *pm = NULL;
	char *v, *phrase, *body, *raw, *praw = NULL, *enc = NULL;
	const char *line, *cte = "8bit";
	size_t plen, elen, blen;
	int64_t message;

	phrase = forum_phrase(r->account.display);
	v = phrase != NULL ? xasprintf("%s <%s>", phrase, r->account.address) :
	    xstrdup(r->account.address);
	msg_add(m, "From", v);
	free(v);
	free(phrase);
	v = rfc2047_encode(subject, "Subject");
	msg_add(m, "Subject", v);
	free(v);
	v = msg_date_string(time(NULL), 0);
	msg_add(m, "Date", v);
	free(v);
	*msgid_r = forum_form_msgid(r);
	msg_add(m, "Message-ID", *msgid_r);
	if (parent != NULL) {
		v = NULL;
		if (store_message_id(r->f->store, parent->msgid, &message) == 1 &&
		    store_message_raw(r->f->store, message, &praw, &plen) == 0 &&
		    msg_parse(praw, plen, &pm, NULL) == 0)
			v = references_build(pm, FORUM_REFERENCES_MAX);
		if (v == NULL)
			v = xstrdup(parent->msgid);
		msg_add(m, "In-Reply-To", parent->msgid);
		msg_add(m, "References", v);
		free(v);
		msg_free(&pm);
		free(praw);
	}
	if (extra_name != NULL)
		msg_add(m, extra_name, extra_value);
	msg_add(m, "MIME-Version", "1.0");
	msg_add(m, "Content-Type", "text/plain; charset=utf-8");
	body = msg_text_body(text, &blen);
	for (line = body; *line != '\0'; line += strcspn(line, "\n") + 1)
		if (strcspn(line, "\r\n") > MSG_LINE_MAX - 2 ||
		    line[strcspn(line, "\n")] == '\0')
			break;
	if (*line != '\0') {
		enc = mime_encode("quoted-printable", body, blen,
		    &elen);
		cte = "quoted-printable";
	}
	msg_add(m, "Content-Transfer-Encoding", cte);
	msg_add(m, "User-Agent", "Syncom forum " SYNCOM_VERSION);
	if (enc != NULL)
		msg_set_body(m, enc, elen);
	else
		msg_set_body(m, body, blen);
	raw = msg_build(m, len_r);
	free(enc);
	free(body);
	msg_free(&m);
	return raw;
}

/* The form's subject and text, checked; NULL and a page when bad. */
static int
forum_post_fields(struct forum_req *r, const char **subject_r,
    const char **body_r, const char **error_r)
{
	const char *subject = forum_field(r, "subject");
	const char *body = forum_field(r, "body");

	*subject_r = subject;
	*body_r = body;
	*error_r = NULL;
	if (*subject == '\0' || strlen(subject) > FORUM_SUBJECT_MAX ||
	    !forum_valid_text(subject, 0))
		*error_r = "The subject must be one line of text, at most 200"
		    " bytes.";
	else if (strspn(body, " \t\r\n") == strlen(body))
		*error_r = "The text is empty.";
	else if (strlen(body) > FORUM_BODY_MAX || !forum_valid_text(body, 1))
		*error_r = "The text is too long or not plain text.";
	return *error_r == NULL ? 0 : -1;
}

/* The router's verdict on a post: to its topic, or why not. */
static void
forum_posted(void *arg, int result, const char *reason, const char *msgid)
{
	struct forum_req *r = arg;
	struct forum_post p;
	char *where;

	if (r->req == NULL) {
		/* The visitor left; the post stands. */
		return;
	}
	evhttp_connection_set_closecb(evhttp_request_get_connection(r->req),
	    NULL, NULL);
	switch (result) {
	case ROUTER_ACCEPTED:
	case ROUTER_DUPLICATE:
		/* A form sent again (forum_form_msgid): it is there. */
		if (r->back != NULL) {
			where = xstrdup(r->back);
		} else if (forum_db_post(r->f->db, 0, msgid, &p) == 1) {
			where = xasprintf("/t/%lld#p%lld", (long long)p.topic,
			    (long long)p.id);
			forum_post_free(&p, 1);
		} else
			where = xasprintf("/b/%s", r->board);
		forum_redirect(r, where);
		free(where);
		break;
	case ROUTER_TEMPFAIL:
		forum_message(r, 503, "Service Unavailable", "Not posted",
		    "The post could not be stored just now; go back and try"
		    " again in a minute.");
		break;
	default:
		forum_message(r, 400, "Bad Request", "Not posted", reason !=
		    NULL ? reason : router_result_name(result));
		break;
	}
}

static void forum_req_free(struct forum_req *);

/* The connection closed while the router had the post. */
static void
forum_gone(struct evhttp_connection *conn, void *arg)
{
	struct forum_req *r = arg;

	(void)conn;
	r->req = NULL;
}

/* After forum_posted answered (or the visitor left): free the request. */
static void
forum_posted_free(void *arg, int result, const char *reason,
    const char *msgid)
{
	struct forum_req *r = arg;

	forum_posted(r, result, reason, msgid);
	forum_req_free(r);
}

/* Hand a built message to the router; the request waits for it. */
static int
forum_send(struct forum_req *r, const char *board, const char *raw,
    size_t len)
{
	char session[32];

	snprintf(session, sizeof(session), "http:%u", r->id);
	r->board = xstrdup(board);
	evhttp_connection_set_closecb(evhttp_request_get_connection(r->req),
	    forum_gone, r);
	forum_submit(r->f, board, raw, len, session, forum_posted_free, r);
	return 1;
}

/*
 * A member's post to a moderated board waits in the queue; everyone
 * else's goes to the router now.
 */
static int
forum_post_out(struct forum_req *r, const struct forum_board *b,
    const char *raw, size_t len)
{
	char *err = NULL;

	if (!b->moderated || r->account.role >= FORUM_ROLE_MODERATOR)
		return forum_send(r, b->name, raw, len);
	if (forum_take(r->f, b->name, raw, len, SIDE_FORUM, 1, &err) !=
	    DELIVERY_OK) {
		forum_message(r, 503, "Service Unavailable", "Not posted", err);
		free(err);
		return 0;
	}
	forum_message(r, 202, "Accepted", "Waiting for a moderator",
	    "This board is moderated: your post appears, and goes to the"
	    " newsgroup and the list, once a moderator has approved it.");
	return 0;
}

/* What a posting form makes. */
enum forum_compose {
	FORUM_NEW,		/* a topic */
	FORUM_REPLY,		/* a reply to p */
	FORUM_EDIT		/* a new text for p (RFC 5536 section 3.2.12:
				   a Supersedes, which news servers put in
				   the old one's place; the forum takes it
				   as the post's new text) */
};

/*
 * The form for a topic, a reply or an edit, or what it sent: checked,
 * made a message and sent on.  1 when the request waits for the router.
 */
static int
forum_compose(struct forum_req *r, enum forum_compose kind,
    const struct forum_board *b, const struct forum_post *p)
{
	static const char *const titles[] = { "New topic", "Reply", "Edit" };
	const char *subject, *body, *error;
	char *action, *raw, *msgid, *quote = NULL, *re = NULL;
	size_t len;
	int rc = 0;

	action = kind == FORUM_NEW ? xasprintf("/b/%s/new", b->name) :
	    xasprintf("/p/%lld/%s", (long long)p->id, kind == FORUM_REPLY ?
	    "reply" : "edit");
	if (forum_may_post(r) == -1) {
		;
	} else if (kind == FORUM_EDIT && p->account != r->account.id) {
		forum_message(r, 403, "Forbidden", "Not yours",
		    "Only its author can edit a post.");
	} else if (!r->post) {
		if (kind == FORUM_REPLY) {
			quote = forum_quote(p->author, p->body,
			    strlen(p->body));
			re = strncasecmp(p->subject, "Re:", 3) == 0 ?
			    xstrdup(p->subject) : xasprintf("Re: %s",
			    p->subject);
		}
		forum_form_post(r, action, titles[kind], kind == FORUM_NEW ?
		    "" : re != NULL ? re : p->subject, kind == FORUM_NEW ? "" :
		    quote != NULL ? quote : p->body, NULL, 200);
	} else if (forum_post_fields(r, &subject, &body, &error) == -1) {
		forum_form_post(r, action, titles[kind], subject, body, error,
		    400);
	} else {
		raw = forum_build(r, subject, body, kind == FORUM_REPLY ? p :
		    NULL, kind == FORUM_EDIT ? "Supersedes" : NULL,
		    kind == FORUM_EDIT ? p->msgid : NULL, &msgid, &len);
		/* An edit of a post that was approved is not held again. */
		rc = kind == FORUM_EDIT ? forum_send(r, b->name, raw, len) :
		    forum_post_out(r, b, raw, len);
		free(raw);
		free(msgid);
	}
	free(action);
	free(quote);
	free(re);
	return rc;
}

static int
forum_do_new(struct forum_req *r, const char *name)
{
	struct forum_board b;
	int rc;

	if (forum_find_board(r, name, &b) == -1)
		return 0;
	rc = forum_compose(r, FORUM_NEW, &b, NULL);
	forum_board_free(&b, 1);
	return rc;
}

static int
forum_do_post(struct forum_req *r, int64_t id, enum forum_compose kind)
{
	struct forum_post p;
	struct forum_board b;
	int rc;

	if (forum_find_post(r, id, &p, &b) == -1)
		return 0;
	rc = forum_compose(r, kind, &b, &p);
	forum_post_free(&p, 1);
	forum_board_free(&b, 1);
	return rc;
}

/*
 * Delete a post.  Its author's delete is a cancel (RFC 5537 section
 * 5.3) that takes it off the news servers too; a moderator's hides it
 * on the forum only, for the news and list copies are the author's.
 */
static int
forum_do_delete(struct forum_req *r, int64_t id)
{
	struct forum_post p;
	struct forum_board b;
	char *raw, *msgid, *subject, *control;
	size_t len;
	int rc = 0;

	if (forum_find_post(r, id, &p, &b) == -1)
		return 0;
	if (forum_may_post(r) == -1) {
		;
	} else if (p.account != r->account.id &&
	    r->account.role < FORUM_ROLE_MODERATOR) {
		forum_message(r, 403, "Forbidden", "Not yours",
		    "Only its author or a moderator can delete a post.");
	} else if (p.account != r->account.id) {
		if (forum_db_post_state(r->f->db, p.id, FORUM_POST_DELETED) ==
		    -1) {
			forum_message(r, 503, "Service Unavailable",
			    "Try again", "The post could not be deleted.");
		} else {
			log_info("event=forum-delete request=%u post=%lld"
			    " msgid=%s moderator=%lld", r->id,
			    (long long)p.id, log_q(p.msgid),
			    (long long)r->account.id);
			r->back = xasprintf("/t/%lld", (long long)p.topic);
			forum_redirect(r, r->back);
		}
	} else {
		subject = xasprintf("cmsg cancel %s", p.msgid);
		control = xasprintf("cancel %s", p.msgid);
		raw = forum_build(r, subject, "Deleted by its author on the"
		    " forum.\n", NULL, "Control", control, &msgid, &len);
		r->back = xasprintf("/t/%lld", (long long)p.topic);
		rc = forum_send(r, b.name, raw, len);
		free(raw);
		free(msgid);
		free(subject);
		free(control);
	}
	forum_post_free(&p, 1);
	forum_board_free(&b, 1);
	return rc;
}

/* The moderation queue and the accounts. */

static void
forum_page_queue(struct forum_req *r)
{
	struct forum_post *p;
	size_t n, i;

	if (forum_db_held(r->f->db, 100, &p, &n) == -1) {
		forum_message(r, 503, "Service Unavailable", "Try again",
		    "The forum's database cannot be read just now.");
		return;
	}
	forum_page_begin(r, "Moderation");
	forum_out(r, "<h1>Waiting for a moderator</h1>");
	if (n == 0)
		forum_out(r, "<p>Nothing waits.</p>");
	for (i = 0; i < n; i++) {
		forum_post_html(r, &p[i], 0, 0);
		forum_out(r, "<form method=\"post\" action=\"/mod/%lld\">",
		    (long long)p[i].id);
		forum_csrf_field(r);
		forum_out(r, "<button name=\"do\" value=\"approve\">Approve"
		    "</button> <button name=\"do\" value=\"reject\">Reject"
		    "</button></form>");
	}
	forum_page_end(r);
	forum_post_free(p, n);
	free(p);
	forum_reply(r, 200, "OK");
}

/* The router's verdict on an approved post. */
static void
forum_moderated(void *arg, int result, const char *reason, const char *msgid)
{
	/* Approved before (a second click): done all the same. */
	if (result == ROUTER_DUPLICATE)
		result = ROUTER_ACCEPTED;
	forum_posted_free(arg, result, reason, msgid);
}

static int
forum_do_moderate(struct forum_req *r, int64_t id)
{
	const char *what = forum_field(r, "do");
	char session[32];
	int rc;

	if (strcmp(what, "reject") == 0) {
		rc = forum_db_held_done(r->f->db, id, FORUM_POST_DELETED);
		if (rc != 1) {
			forum_message(r, rc == 0 ? 404 : 503, rc == 0 ?
			    "Not Found" : "Service Unavailable", "Not done",
			    "That post does not wait any more.");
			return 0;
		}
		log_info("event=forum-reject request=%u post=%lld"
		    " moderator=%lld", r->id, (long long)id,
		    (long long)r->account.id);
		forum_redirect(r, "/mod");
		return 0;
	}
	if (strcmp(what, "approve") != 0) {
		forum_message(r, 400, "Bad Request", "Not done",
		    "Approve or reject?");
		return 0;
	}
	snprintf(session, sizeof(session), "http:%u", r->id);
	r->back = xstrdup("/mod");
	evhttp_connection_set_closecb(evhttp_request_get_connection(r->req),
	    forum_gone, r);
	if ((rc = forum_approve(r->f, id, session, forum_moderated, r)) != 1) {
		evhttp_connection_set_closecb(
		    evhttp_request_get_connection(r->req), NULL, NULL);
		forum_message(r, rc == 0 ? 404 : 503, rc == 0 ? "Not Found" :
		    "Service Unavailable", "Not done",
		    "That post does not wait any more.");
		return 0;
	}
	log_info("event=forum-approve request=%u post=%lld moderator=%lld",
	    r->id, (long long)id, (long long)r->account.id);
	return 1;
}

static const char *const forum_role_names[] = {
	[FORUM_ROLE_MEMBER] = "member",
	[FORUM_ROLE_MODERATOR] = "moderator",
	[FORUM_ROLE_ADMIN] = "admin",
};

static void
forum_page_accounts(struct forum_req *r)
{
	struct forum_account *a;
	long long page = forum_page_number(r);
	size_t n, i;
	int k;

	if (forum_db_accounts(r->f->db, (size_t)(page - 1) * 100, 101, &a,
	    &n) == -1) {
		forum_message(r, 503, "Service Unavailable", "Try again",
		    "The forum's database cannot be read just now.");
		return;
	}
	forum_page_begin(r, "Accounts");
	forum_out(r, "<h1>Accounts</h1><table><tr><th>Name</th>"
	    "<th>Address</th><th>Role</th></tr>");
	for (i = 0; i < n && i < 100; i++) {
		forum_out(r, "<tr><td>");
		forum_text(r, a[i].name);
		forum_out(r, "<br><span class=\"meta\">");
		forum_text(r, a[i].display);
		forum_out(r, "</span></td><td>");
		forum_text(r, a[i].address);
		forum_out(r, "%s</td><td><form method=\"post\""
		    " action=\"/admin/%lld\">", a[i].verified ? "" :
		    " (unconfirmed)", (long long)a[i].id);
		forum_csrf_field(r);
		forum_out(r, "<select name=\"role\" aria-label=\"Role\">");
		for (k = 0; k <= FORUM_ROLE_ADMIN; k++)
			forum_out(r, "<option value=\"%s\"%s>%s</option>",
			    forum_role_names[k], a[i].role == k ?
			    " selected" : "", forum_role_names[k]);
		forum_out(r, "</select> <label><input type=\"checkbox\""
		    " name=\"banned\" value=\"yes\"%s> banned</label>"
		    " <button>Save</button></form></td></tr>", a[i].banned ?
		    " checked" : "");
		forum_account_clear(&a[i]);
	}
	for (; i < n; i++)
		forum_account_clear(&a[i]);
	forum_out(r, "</table>");
	forum_pager(r, "/admin", page, n > 100);
	forum_page_end(r);
	free(a);
	forum_reply(r, 200, "OK");
}

static void
forum_do_account(struct forum_req *r, int64_t id)
{
	const char *role = forum_field(r, "role");
	struct forum_account a;
	int k, banned = strcmp(forum_field(r, "banned"), "yes") == 0;

	for (k = 0; k <= FORUM_ROLE_ADMIN; k++)
		if (strcmp(role, forum_role_names[k]) == 0)
			break;
	if (k > FORUM_ROLE_ADMIN ||
	    forum_db_account(r->f->db, NULL, id, NULL, &a) != 1) {
		forum_message(r, 400, "Bad Request", "Not saved",
		    "No such account or role.");
		return;
	}
	forum_account_clear(&a);
	if (id == r->account.id && (k != FORUM_ROLE_ADMIN || banned)) {
		forum_message(r, 400, "Bad Request", "Not saved",
		    "Admins cannot demote or ban themselves here.");
		return;
	}
	if (forum_db_account_set(r->f->db, id, k, banned) == -1) {
		forum_message(r, 503, "Service Unavailable", "Not saved",
		    "The forum's database cannot be written just now.");
		return;
	}
	log_info("event=forum-account request=%u account=%lld role=%s"
	    " banned=%s admin=%lld", r->id, (long long)id,
	    forum_role_names[k], banned ? "yes" : "no",
	    (long long)r->account.id);
	forum_redirect(r, "/admin");
}

/* Pages for moderators and admins only: 0, or a page said no. */
static int
forum_need_role(struct forum_req *r, int role)
{
	if (r->account.id != 0 && r->account.role >= role)
		return 0;
	forum_message(r, 403, "Forbidden", "Not for you",
	    role == FORUM_ROLE_ADMIN ? "Only admins may manage accounts." :
	    "Only moderators may do this.");
	return -1;
}

/* Dispatch. */

static int
forum_route(struct forum_req *r)
{
	const char *p = r->path;
	char name[128], rest[32];
	long long id;
	int part, n = 0;

	if (strcmp(p, "/") == 0 && !r->post) {
		forum_page_boards(r);
		return 0;
	}
	if (strcmp(p, "/favicon.ico") == 0 && !r->post) {
		/* None, and browsers need not ask again today. */
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Cache-Control", "max-age=86400");
		evhttp_send_reply(r->req, 204, "No Content", r->out);
		return 0;
	}
	if (strcmp(p, "/register") == 0) {
		if (r->post)
			forum_do_register(r);
		else
			forum_form_register(r, 200, NULL);
		return 0;
	}
	if (strcmp(p, "/confirm") == 0 && !r->post) {
		forum_do_confirm(r);
		return 0;
	}
	if (strcmp(p, "/login") == 0) {
		if (r->post)
			forum_do_login(r);
		else
			forum_form_login(r, 200, NULL);
		return 0;
	}
	if (strcmp(p, "/logout") == 0 && r->post) {
		forum_do_logout(r);
		return 0;
	}
	if (strcmp(p, "/mod") == 0 && !r->post) {
		if (forum_need_role(r, FORUM_ROLE_MODERATOR) == 0)
			forum_page_queue(r);
		return 0;
	}
	if (sscanf(p, "/mod/%lld%n", &id, &n) == 1 && p[n] == '\0' &&
	    r->post) {
		if (forum_need_role(r, FORUM_ROLE_MODERATOR) == -1)
			return 0;
		return forum_do_moderate(r, id);
	}
	if (strcmp(p, "/admin") == 0 && !r->post) {
		if (forum_need_role(r, FORUM_ROLE_ADMIN) == 0)
			forum_page_accounts(r);
		return 0;
	}
	if (sscanf(p, "/admin/%lld%n", &id, &n) == 1 && p[n] == '\0' &&
	    r->post) {
		if (forum_need_role(r, FORUM_ROLE_ADMIN) == 0)
			forum_do_account(r, id);
		return 0;
	}
	if (sscanf(p, "/b/%127[A-Za-z0-9._-]%n", name, &n) == 1 &&
	    p[n] == '\0' && !r->post) {
		forum_page_board(r, name);
		return 0;
	}
	if (sscanf(p, "/b/%127[A-Za-z0-9._-]/%31[a-z]%n", name, rest, &n) ==
	    2 && p[n] == '\0') {
		if (strcmp(rest, "new") == 0)
			return forum_do_new(r, name);
		if (strcmp(rest, "search") == 0 && !r->post) {
			forum_page_search(r, name);
			return 0;
		}
	}
	if (sscanf(p, "/t/%lld%n", &id, &n) == 1 && p[n] == '\0' && !r->post) {
		forum_page_topic(r, id);
		return 0;
	}
	if (sscanf(p, "/p/%lld/att/%d%n", &id, &part, &n) == 2 &&
	    p[n] == '\0' && !r->post) {
		forum_page_attachment(r, id, part);
		return 0;
	}
	if (sscanf(p, "/p/%lld/%31[a-z]%n", &id, rest, &n) == 2 &&
	    p[n] == '\0') {
		if (strcmp(rest, "reply") == 0)
			return forum_do_post(r, id, FORUM_REPLY);
		if (strcmp(rest, "edit") == 0)
			return forum_do_post(r, id, FORUM_EDIT);
		if (strcmp(rest, "delete") == 0 && r->post)
			return forum_do_delete(r, id);
	}
	forum_message(r, 404, "Not Found", "Not found",
	    "There is no such page here.");
	return 0;
}

static void
forum_req_free(struct forum_req *r)
{
	evbuffer_free(r->out);
	evhttp_clear_headers(&r->query);
	evhttp_clear_headers(&r->form);
	forum_account_clear(&r->account);
	free(r->path);
	free(r->sid);
	free(r->csrf);
	free(r->board);
	free(r->back);
	free(r);
}

/* The session cookie's value from a Cookie header, or NULL. */
static char *
forum_cookie(const char *header)
{
	const char *p = header;
	size_t n = strlen(FORUM_COOKIE);

	while (p != NULL && *p != '\0') {
		p += strspn(p, " ;");
		if (strncmp(p, FORUM_COOKIE, n) == 0 && p[n] == '=') {
			p += n + 1;
			n = strcspn(p, "; ");
			if (n != 48 || strspn(p, "0123456789abcdef") < n)
				return NULL;
			return xstrndup(p, n);
		}
		p = strchr(p, ';');
	}
	return NULL;
}

static void
forum_request(struct evhttp_request *req, void *arg)
{
	struct forum *f = arg;
	struct forum_req *r = xcalloc(1, sizeof(*r));
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	const char *q, *ct, *cookie;
	char *host = NULL, *form;
	ev_uint16_t port = 0;
	int64_t account;
	size_t len;

	r->f = f;
	r->req = req;
	r->out = evbuffer_new();
	r->id = ++f->requests;
	TAILQ_INIT(&r->query);
	TAILQ_INIT(&r->form);
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &host,
	    &port);
	snprintf(r->peer, sizeof(r->peer), "%s", host != NULL ? host : "?");
	r->post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
	r->path = evhttp_uridecode(evhttp_uri_get_path(uri) != NULL &&
	    *evhttp_uri_get_path(uri) != '\0' ? evhttp_uri_get_path(uri) : "/",
	    0, NULL);
	if (r->path == NULL || !forum_valid_text(r->path, 0)) {
		free(r->path);
		r->path = xstrdup("?");
		forum_message(r, 400, "Bad Request", "Bad request",
		    "That address cannot be read.");
		forum_req_free(r);
		return;
	}
	if ((q = evhttp_uri_get_query(uri)) != NULL)
		evhttp_parse_query_str(q, &r->query);
	if ((cookie = evhttp_find_header(in, "Cookie")) != NULL &&
	    (r->sid = forum_cookie(cookie)) != NULL &&
	    forum_db_session(f->db, r->sid, time(NULL), FORUM_SESSION_IDLE,
	    &account, &r->csrf) == 1) {
		if (account != 0 && (forum_db_account(f->db, NULL, account,
		    NULL, &r->account) != 1 || r->account.banned))
			forum_account_clear(&r->account);
	} else {
		free(r->sid);
		r->sid = NULL;
	}
	if (r->post) {
		ct = evhttp_find_header(in, "Content-Type");
		len = evbuffer_get_length(body);
		if (ct == NULL || strncasecmp(ct,
		    "application/x-www-form-urlencoded", 33) != 0) {
			forum_message(r, 415, "Unsupported Media Type",
			    "Bad request", "Forms come urlencoded.");
			forum_req_free(r);
			return;
		}
		form = xmalloc(len + 1);
		evbuffer_remove(body, form, len);
		form[len] = '\0';
		if (strlen(form) != len ||
		    evhttp_parse_query_str(form, &r->form) == -1) {
			free(form);
			forum_message(r, 400, "Bad Request", "Bad request",
			    "The form cannot be read.");
			forum_req_free(r);
			return;
		}
		free(form);
		if (!forum_csrf_ok(r)) {
			log_info("event=forum-csrf request=%u peer=%s path=%s"
			    " result=refused", r->id, r->peer,
			    log_q(r->path));
			forum_message(r, 403, "Forbidden", "Form expired",
			    "This form is too old or did not come from this"
			    " forum. Go back, reload the page and send it"
			    " again.");
			forum_req_free(r);
			return;
		}
	}
	/* 1: the request waits for the router, which frees it. */
	if (forum_route(r) == 0)
		forum_req_free(r);
}

int
forum_http_sweep(struct forum *f)
{
	return forum_db_session_expire(f->db, time(NULL) - FORUM_SESSION_IDLE);
}

void
forum_http_start(struct forum *f, struct evhttp *http)
{
	f->http = http;
	if (http != NULL)
		evhttp_set_gencb(http, forum_request, f);
}

void
forum_http_stop(struct forum *f)
{
	if (f->http != NULL)
		evhttp_set_gencb(f->http, NULL, NULL);
	f->http = NULL;
	free(f->limits);
	f->limits = NULL;
	f->nlimits = 0;
	forum_http_forget(f);
}
