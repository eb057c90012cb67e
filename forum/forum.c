/*
 * forum.c: the forum side of the sync, for syncd's built-in forum.
 *
 * Messages reach the forum the way they reach every side: the outbox
 * hands a committed row for "forum:BOARD" to the transport made here,
 * which stores the message as a post (forum_take).  A post written on the
 * forum's pages goes the other way: forum_http.c builds a message with a
 * Message-ID of ours and gives it to forum_submit, which hands it to the
 * router as posted here, so that the forum is one of its targets too; once
 * the router has committed it, the post is stored at once (forum_take
 * again), so its author sees it on the next page, and the outbox's later
 * delivery finds it there.  Every path into the forum's database is
 * forum_take, and a Message-ID is stored once.
 *
 * The forum's own mail (address confirmations) goes by the forum-mail
 * transport, retried a few times while syncd runs: a lost confirmation
 * is asked for again, never a lost post.
 */

#include <crypt.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <openssl/crypto.h>

#include "syncd.h"
#include "forum.h"

/* How often and how far apart the forum's own mail is tried. */
#define FORUM_MAIL_TRIES	5
#define FORUM_MAIL_RETRY	60

/* A post submitted from the web, on its way through the router. */
struct forum_submission {
	struct forum	*forum;
	char		*board;
	char		*raw;
	size_t		 len;
	forum_submit_cb	 cb;
	void		*arg;
};

/* One mail of the forum's own on its way. */
struct forum_mail {
	struct forum	*forum;
	struct delivery	 d;
	struct outbox_row row;
	struct event	*retry;
	int		 tries;
	TAILQ_ENTRY(forum_mail) entry;
};

static void	forum_mail_try(struct forum_mail *);

/* References, or else In-Reply-To, as a list of Message-IDs. */
static size_t
forum_refs(const struct msg *msg, char ***refs_r)
{
	char *v;
	size_t n = 0;

	*refs_r = NULL;
	if ((v = msg_get_unfolded(msg, "References")) != NULL)
		n = msgid_list(v, refs_r);
	free(v);
	if (n == 0 && (v = msg_get_unfolded(msg, "In-Reply-To")) != NULL) {
		msgid_list_free(*refs_r, n);
		n = msgid_list(v, refs_r);
		free(v);
	}
	return n;
}

/*
 * The login of whoever posted msg to our own news server: Injection-Info
 * (RFC 5536 section 3.2.8) with our Path identity and posting-account,
 * as nntp_article.c writes it; NULL when another server injected it.
 */
static char *
forum_posting_account(const struct forum *f, const struct msg *msg)
{
	const char *id = f->conf->path_identity, *p, *end;
	size_t n = strlen(id);
	char *v, *name = NULL;

	if ((v = msg_get_unfolded(msg, "Injection-Info")) == NULL)
		return NULL;
	if (strncasecmp(v, id, n) == 0 && (v[n] == ';' || isspace((unsigned
	    char)v[n])) && (p = strstr(v, "posting-account=\"")) != NULL &&
	    (end = strchr(p + 17, '"')) != NULL)
		name = xstrndup(p + 17, end - p - 17);
	free(v);
	return name;
}

/* What forum_related asks about: the reply being stored. */
struct forum_reply {
	struct forum	*forum;
	const char	*msgid;
};

/*
 * Does a parent post on another board belong to this reply's thread?
 * When the two share a channel in the store: the parent was crossposted
 * to where the reply goes, or the reply to where the parent is.
 */
static int
forum_related(void *arg, const char *parent)
{
	struct forum_reply *r = arg;

	return store_share_channel(r->forum->store, r->msgid, parent);
}

/* The attachment lines of forum_post.attachments. */
static char *
forum_attachment_lines(const struct forum_text *t)
{
	char *s = xstrdup(""), *next;
	size_t i;

	for (i = 0; i < t->nattachments; i++) {
		const struct forum_attachment *a = &t->attachments[i];

		next = xasprintf("%s%d %s %zu %s\n", s, a->part, a->type,
		    a->size, a->filename);
		free(s);
		s = next;
	}
	return s;
}

/* A line break or tab in a name would break the lines above: spaces. */
static void
forum_flatten(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
}

/* A post's text as the pages show it (caller frees). */
static char *
forum_html(const char *text, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	char *html;
	size_t n;

	if (b == NULL)
		fatalx("forum_html: evbuffer_new failed");
	forum_render_text(b, text, len);
	n = evbuffer_get_length(b);
	html = xmalloc(n + 1);
	evbuffer_remove(b, html, n);
	html[n] = '\0';
	evbuffer_free(b);
	return html;
}

/*
 * An edit (Supersedes) of a post we have: take its new text.  1 when
 * msg was one, 0 when not, -1 on error.
 */
static int
forum_take_edit(struct forum *f, const struct msg *msg, const char *msgid,
    int64_t board, const char *raw, size_t len, char **err_r)
{
	struct forum_post p;
	struct forum_topic t;
	struct forum_text text;
	const char *why;
	char *v, *old, *addr = NULL, *name = NULL, *subject, *html;
	int found, rc = 0;

	if ((v = msg_get_unfolded(msg, "Supersedes")) == NULL)
		return 0;
	old = msgid_extract(v);
	free(v);
	if (old == NULL)
		return 0;
	found = forum_db_post(f->db, 0, old, &p);
	free(old);
	if (found != 1)
		return found == -1 ? -1 : 0;
	/*
	 * Only its author may change a post: the same address.  The edit
	 * comes through the post's board, or through a channel the post
	 * shares with it (a reply that joined a crosspost's topic).
	 */
	if (forum_db_topic(f->db, p.topic, &t) != 1 || (t.board != board &&
	    store_share_channel(f->store, msgid, p.msgid) != 1) ||
	    msg_mailbox(msg, &name, &addr) == -1 ||
	    strcasecmp(addr, p.address) != 0) {
		forum_topic_free(&t, 1);
		forum_post_free(&p, 1);
		free(name);
		free(addr);
		return 0;
	}
	forum_topic_free(&t, 1);
	free(name);
	free(addr);
	if (forum_text_extract(raw, len, &text, &why) == -1) {
		*err_r = xasprintf("not a message: %s", why);
		forum_post_free(&p, 1);
		return -1;
	}
	subject = msg_subject(msg);
	html = forum_html(text.text, text.len);
	if (forum_db_post_edit(f->db, p.id, msgid, subject != NULL ?
	    subject : p.subject, text.text, html, time(NULL)) == -1) {
		*err_r = xstrdup("could not write the forum's database");
		rc = -1;
	} else
		rc = 1;
	free(subject);
	free(html);
	forum_text_clear(&text);
	forum_post_free(&p, 1);
	return rc;
}

/*
 * A cancel (RFC 5537 section 5.3) of a post we have by its author: hide
 * the post.  1 when msg was a control message (taken or not), 0 when
 * not one, -1 on error.
 */
static int
forum_take_cancel(struct forum *f, const struct msg *msg, const char *msgid)
{
	struct forum_post p;
	char *v, *old = NULL, *name = NULL, *addr = NULL;
	int rc = 1;

	if ((v = msg_get_unfolded(msg, "Control")) == NULL)
		return 0;
	if (strncasecmp(v, "cancel", 6) == 0 && isspace((unsigned char)v[6]))
		old = msgid_extract(v + 7);
	free(v);
	if (old == NULL || forum_db_post(f->db, 0, old, &p) != 1) {
		free(old);
		return 1;
	}
	if (msg_mailbox(msg, &name, &addr) == 0 &&
	    strcasecmp(addr, p.address) == 0 &&
	    p.state != FORUM_POST_DELETED) {
		if (forum_db_post_state(f->db, p.id, FORUM_POST_DELETED) == -1)
			rc = -1;
		else
			log_info("event=forum-cancel msgid=%s post=%lld by=%s",
			    log_q(old), (long long)p.id, log_q(msgid));
	}
	forum_post_free(&p, 1);
	free(old);
	free(name);
	free(addr);
	return rc;
}

int
forum_take(struct forum *f, const char *board, const char *raw, size_t len,
    int source, int held, char **err_r)
{
	struct forum_new_post np;
	struct forum_reply reply;
	struct forum_account a;
	struct forum_board b;
	struct forum_text text;
	struct msg *msg = NULL;
	const char *why;
	char *v, *msgid = NULL, *name = NULL, *addr = NULL, *subject = NULL;
	char *attachments = NULL, **refs = NULL, *login, *html = NULL;
	size_t nrefs = 0;
	int64_t id, topic;
	enum delivery_result result = DELIVERY_PERMFAIL;
	int rc, have_account = 0;

	*err_r = NULL;
	memset(&text, 0, sizeof(text));
	if ((rc = forum_db_board(f->db, board, 0, &b)) != 1) {
		*err_r = rc == 0 ? xasprintf("no board %s", board) :
		    xstrdup("could not read the forum's database");
		return rc == 0 ? DELIVERY_PERMFAIL : DELIVERY_TEMPFAIL;
	}
	if (msg_parse(raw, len, &msg, &why) == -1) {
		*err_r = xasprintf("not a message: %s", why);
		goto out;
	}
	if ((v = msg_get_unfolded(msg, "Message-ID")) != NULL)
		msgid = msgid_extract(v);
	free(v);
	if (msgid == NULL) {
		*err_r = xstrdup("no Message-ID");
		goto out;
	}
	if ((rc = forum_take_cancel(f, msg, msgid)) != 0) {
		if (rc == -1)
			*err_r = xstrdup("could not write the forum's database");
		result = rc == 1 ? DELIVERY_OK : DELIVERY_TEMPFAIL;
		goto out;
	}
	if ((rc = forum_take_edit(f, msg, msgid, b.id, raw, len, err_r)) != 0) {
		result = rc == 1 ? DELIVERY_OK : DELIVERY_TEMPFAIL;
		goto out;
	}
	if (forum_text_extract(raw, len, &text, &why) == -1) {
		*err_r = xasprintf("not a message: %s", why);
		goto out;
	}
	if (msg_mailbox(msg, &name, &addr) == -1) {
		name = NULL;
		addr = xstrdup("");
	}
	/*
	 * One identity: mail from a confirmed address, or news posted to
	 * our server under a member's login, shows as that member's.
	 */
	memset(&a, 0, sizeof(a));
	if (*addr != '\0' &&
	    forum_db_account(f->db, NULL, 0, addr, &a) == 1 && !a.banned)
		have_account = 1;
	if (!have_account && (login = forum_posting_account(f, msg)) != NULL) {
		forum_account_clear(&a);
		if (forum_db_account(f->db, login, 0, NULL, &a) == 1 &&
		    a.verified && !a.banned)
			have_account = 1;
		free(login);
	}
	if (have_account) {
		free(name);
		name = xstrdup(a.display);
	} else if (name == NULL || *name == '\0') {
		free(name);
		name = *addr != '\0' ? xstrndup(addr, strcspn(addr, "@")) :
		    xstrdup("(unknown)");
	}
	forum_flatten(name);
	if ((subject = msg_subject(msg)) == NULL || *subject == '\0') {
		free(subject);
		subject = xstrdup("(no subject)");
	}
	attachments = forum_attachment_lines(&text);
	nrefs = forum_refs(msg, &refs);

	memset(&np, 0, sizeof(np));
	np.board = b.id;
	np.msgid = msgid;
	np.refs = refs;
	np.nrefs = nrefs;
	reply.forum = f;
	reply.msgid = msgid;
	np.related = forum_related;
	np.related_arg = &reply;
	np.account = have_account ? a.id : 0;
	np.author = name;
	np.address = addr;
	np.subject = subject;
	np.body = text.text;
	np.html = html = forum_html(text.text, text.len);
	np.attachments = attachments;
	np.from_html = text.from_html;
	/* From the outbox: a news article has a Path, list mail has not. */
	np.source = source >= 0 ? source : msg_get(msg, "Path") != NULL ?
	    SIDE_NEWS : SIDE_LIST;
	if ((np.date = msg_date(msg)) == (time_t)-1 || np.date > time(NULL))
		np.date = time(NULL);
	np.state = held ? FORUM_POST_HELD : FORUM_POST_VISIBLE;
	np.board_name = board;
	np.raw = raw;
	np.len = len;
	forum_account_clear(&a);
	if ((rc = forum_db_post_add(f->db, &np, &id, &topic)) == -1) {
		*err_r = xstrdup("could not write the forum's database");
		result = DELIVERY_TEMPFAIL;
		goto out;
	}
	if (rc == 1)
		log_info("event=forum-post board=%s msgid=%s post=%lld"
		    " topic=%lld%s", board, log_q(msgid), (long long)id,
		    (long long)topic, held ? " result=held" : "");
	result = DELIVERY_OK;
out:
	forum_board_free(&b, 1);
	msgid_list_free(refs, nrefs);
	forum_text_clear(&text);
	msg_free(&msg);
	free(msgid);
	free(name);
	free(addr);
	free(subject);
	free(attachments);
	free(html);
	return result;
}

/*
 * The transport of the forum side ("deliver forum builtin").  What the
 * outbox hands over in one turn of the loop is stored in one transaction
 * (one fsync, not one per post), and each delivery hears its outcome
 * after that commit, as the store's group commit does it.
 */

struct forum_queued {
	struct delivery	*d;
	int		 result;
	char		*err;
	TAILQ_ENTRY(forum_queued) entry;
};

static void
forum_flush(evutil_socket_t fd, short events, void *arg)
{
	struct forum *f = arg;
	TAILQ_HEAD(, forum_queued) batch = TAILQ_HEAD_INITIALIZER(batch);
	struct forum_queued *q;
	const char *board;
	int open;

	(void)fd;
	(void)events;
	TAILQ_CONCAT(&batch, &f->queued, entry);
	open = forum_db_batch_begin(f->db) == 0;
	TAILQ_FOREACH(q, &batch, entry) {
		if (!open) {
			q->result = DELIVERY_TEMPFAIL;
			q->err = xstrdup("could not write the forum's"
			    " database");
			continue;
		}
		board = q->d->row->target + strcspn(q->d->row->target, ":");
		if (*board == ':')
			board++;
		q->result = forum_take(f, board, q->d->raw, q->d->len, -1, 0,
		    &q->err);
	}
	if (open && forum_db_batch_end(f->db) == -1)
		TAILQ_FOREACH(q, &batch, entry)
			if (q->result == DELIVERY_OK) {
				q->result = DELIVERY_TEMPFAIL;
				q->err = xstrdup("could not commit the forum's"
				    " database");
			}
	while ((q = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, q, entry);
		q->d->done(q->d, q->result, q->err);
		free(q->err);
		free(q);
	}
}

static void
forum_transport_deliver(struct transport *t, struct delivery *d)
{
	struct forum *f = t->priv;
	struct forum_queued *q = xcalloc(1, sizeof(*q));

	q->d = d;
	if (TAILQ_EMPTY(&f->queued))
		event_active(f->flush, 0, 0);
	TAILQ_INSERT_TAIL(&f->queued, q, entry);
}

static void
forum_transport_free(struct transport *t)
{
	(void)t;
}

static const struct transport_ops forum_transport_ops = {
	.name = "builtin",
	.deliver = forum_transport_deliver,
	.free = forum_transport_free,
};

struct transport *
forum_transport_new(struct forum *f, struct conf *conf)
{
	struct transport *t = xcalloc(1, sizeof(*t));

	t->ops = &forum_transport_ops;
	t->conf = conf_ref(conf);
	t->priv = f;
	return t;
}

/* Posts from the web. */

static void
forum_submitted(void *arg, enum router_result result, const char *reason,
    const char *msgid)
{
	struct forum_submission *s = arg;
	char *err = NULL;

	if (result == ROUTER_ACCEPTED &&
	    forum_take(s->forum, s->board, s->raw, s->len, SIDE_FORUM, 0, &err) !=
	    DELIVERY_OK)
		/* The outbox's delivery to the forum stores it later. */
		log_warnx("event=forum-post board=%s msgid=%s error=%s",
		    s->board, log_q(msgid), log_q(err));
	free(err);
	if (s->cb != NULL)
		s->cb(s->arg, result, reason, msgid);
	free(s->board);
	free(s->raw);
	free(s);
}

void
forum_submit(struct forum *f, const char *board, const char *raw,
    size_t len, const char *session, forum_submit_cb cb, void *arg)
{
	struct forum_submission *s = xcalloc(1, sizeof(*s));
	struct router_input in;

	s->forum = f;
	s->board = xstrdup(board);
	s->raw = xmemdup(raw, len);
	s->len = len;
	s->cb = cb;
	s->arg = arg;
	memset(&in, 0, sizeof(in));
	in.source = SIDE_FORUM;
	in.raw = s->raw;
	in.len = s->len;
	in.board = board;
	in.session = session;
	in.posted_here = 1;
	router_submit(f->router, &in, forum_submitted, s);
}

/* A held post's way out, once a moderator approved it. */
struct forum_approval {
	struct forum	*forum;
	int64_t		 post;
	forum_submit_cb	 cb;
	void		*arg;
};

static void
forum_approved(void *arg, int result, const char *reason, const char *msgid)
{
	struct forum_approval *a = arg;

	/* A duplicate was approved before: show it all the same. */
	if ((result == ROUTER_ACCEPTED || result == ROUTER_DUPLICATE) &&
	    forum_db_held_done(a->forum->db, a->post, FORUM_POST_VISIBLE) == -1)
		log_warnx("event=forum-approve post=%lld msgid=%s error=%s",
		    (long long)a->post, log_q(msgid), log_q("could not write"
		    " the forum's database"));
	if (a->cb != NULL)
		a->cb(a->arg, result, reason, msgid);
	free(a);
}

int
forum_approve(struct forum *f, int64_t post, const char *session,
    forum_submit_cb cb, void *arg)
{
	struct forum_approval *a;
	char *board, *raw;
	size_t len;
	int rc;

	if ((rc = forum_db_held_get(f->db, post, &board, &raw, &len)) != 1)
		return rc;
	a = xcalloc(1, sizeof(*a));
	a->forum = f;
	a->post = post;
	a->cb = cb;
	a->arg = arg;
	forum_submit(f, board, raw, len, session, forum_approved, a);
	free(board);
	free(raw);
	return 1;
}

/* The forum's own mail. */

static void
forum_mail_free(struct forum_mail *m)
{
	TAILQ_REMOVE(&m->forum->mails, m, entry);
	if (m->retry != NULL)
		event_free(m->retry);
	free(m->row.msgid);
	free(m->row.target);
	free(m->d.raw);
	free(m);
}

static void
forum_mail_retry(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	forum_mail_try(arg);
}

static void
forum_mail_done(struct delivery *d, enum delivery_result r, const char *err)
{
	struct forum_mail *m = d->arg;
	struct timeval tv = { FORUM_MAIL_RETRY, 0 };

	log_info("event=forum-mail msgid=%s rcpt=%s try=%d result=%s%s%s",
	    log_q(m->row.msgid), log_q(m->row.target + 5), m->tries,
	    r == DELIVERY_OK ? "sent" : r == DELIVERY_TEMPFAIL ? "later" :
	    "failed", err != NULL ? " error=" : "", err != NULL ?
	    log_q(err) : "");
	if (r == DELIVERY_TEMPFAIL && m->tries < FORUM_MAIL_TRIES &&
	    m->forum->mail != NULL) {
		if (m->retry == NULL)
			m->retry = evtimer_new(m->forum->base,
			    forum_mail_retry, m);
		evtimer_add(m->retry, &tv);
		return;
	}
	forum_mail_free(m);
}

static void
forum_mail_try(struct forum_mail *m)
{
	m->tries++;
	m->row.attempts = m->tries - 1;
	if (m->forum->mail == NULL) {
		forum_mail_done(&m->d, DELIVERY_PERMFAIL, "no forum-mail");
		return;
	}
	m->forum->mail->ops->deliver(m->forum->mail, &m->d);
}

void
forum_mail(struct forum *f, const char *rcpt, const char *msgid,
    char *raw, size_t len)
{
	struct forum_mail *m = xcalloc(1, sizeof(*m));

	m->forum = f;
	m->row.msgid = xstrdup(msgid);
	m->row.target = xasprintf("mail:%s", rcpt);
	m->row.created = m->row.since = time(NULL);
	m->d.row = &m->row;
	m->d.raw = raw;
	m->d.len = len;
	m->d.done = forum_mail_done;
	m->d.arg = m;
	TAILQ_INSERT_TAIL(&f->mails, m, entry);
	forum_mail_try(m);
}

/* Passwords. */

/* What a login for an unknown name is checked against. */
static char *forum_dummy_hash;

char *
forum_password_hash(const char *password)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	char *salt, *h, *res = NULL;

	if ((salt = crypt_gensalt_ra("$y$", 0, NULL, 0)) != NULL &&
	    (h = crypt_r(password, salt, cd)) != NULL && *h == '$')
		res = xstrdup(h);
	free(salt);
	free(cd);
	return res;
}

static int
forum_password_check(const char *password, const char *hash)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h;
	int ok;

	h = crypt_r(password, hash, cd);
	ok = h != NULL && *h == '$' && strlen(h) == strlen(hash) &&
	    CRYPTO_memcmp(h, hash, strlen(hash)) == 0;
	free(cd);
	return ok;
}

int
forum_login(struct forum *f, const char *name, const char *password,
    struct forum_account *a)
{
	int found;

	if ((found = forum_db_account(f->db, name, 0, NULL, a)) == -1)
		return -1;
	/* Hash even for an unknown name, so that timing tells nothing. */
	if (forum_dummy_hash == NULL)
		forum_dummy_hash = forum_password_hash("no account has this");
	if (forum_password_check(password, found == 1 ? a->hash :
	    forum_dummy_hash != NULL ? forum_dummy_hash : "*") && found == 1)
		return 1;
	forum_account_clear(a);
	return 0;
}

int
forum_nntp_auth(void *arg, const char *name, const char *password,
    char **err_r)
{
	struct forum *f = arg;
	struct forum_account a;
	int rc;

	if ((rc = forum_login(f, name, password, &a)) == -1) {
		*err_r = xstrdup("could not read the forum's database");
		return -1;
	}
	if (rc == 1 && (!a.verified || a.banned))
		rc = 0;
	forum_account_clear(&a);
	return rc;
}

/* The forum itself. */

struct forum *
forum_new(struct event_base *base, struct store *store,
    struct router *router, const char *data_dir, struct evhttp *http,
    char **err_r)
{
	struct forum *f = xcalloc(1, sizeof(*f));

	f->base = base;
	f->store = store;
	f->router = router;
	TAILQ_INIT(&f->mails);
	TAILQ_INIT(&f->queued);
	f->flush = event_new(base, -1, 0, forum_flush, f);
	if ((f->db = forum_db_open(data_dir, err_r)) == NULL) {
		event_free(f->flush);
		free(f);
		return NULL;
	}
	forum_http_start(f, http);
	return f;
}

void
forum_set_conf(struct forum *f, struct conf *conf, struct transport *mail)
{
	struct conf_channel *c;
	char *desc;
	int rc;

	conf_unref(&f->conf);
	f->conf = conf_ref(conf);
	f->mail = mail;
	forum_http_forget(f);
	/* The boards follow the channels: names, descriptions, addresses. */
	TAILQ_FOREACH(c, &conf->channels, entry) {
		if (c->board == NULL)
			continue;
		/* The list's own description first (describe.c). */
		desc = store_description(f->store, c->name);
		rc = forum_db_board_set(f->db, c->board, desc != NULL ? desc :
		    c->description, c->newsgroup, c->list, c->moderated);
		free(desc);
		if (rc == -1)
			log_warnx("event=forum-board board=%s error=%s",
			    c->board, log_q("could not write the forum's"
			    " database"));
	}
}

void
forum_free(struct forum **fp)
{
	struct forum *f = *fp;
	struct forum_mail *m;
	struct forum_queued *q;

	if (f == NULL)
		return;
	forum_http_stop(f);
	/* Deliveries not stored stay pending in the outbox for next time. */
	while ((q = TAILQ_FIRST(&f->queued)) != NULL) {
		TAILQ_REMOVE(&f->queued, q, entry);
		free(q);
	}
	event_free(f->flush);
	while ((m = TAILQ_FIRST(&f->mails)) != NULL)
		forum_mail_free(m);
	forum_db_close(&f->db);
	conf_unref(&f->conf);
	free(f);
	*fp = NULL;
}
