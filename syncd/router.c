/*
 * router.c: the one path every message takes, whatever side it came from.
 *
 * router_submit() parses the cleaned message, refuses what is malformed,
 * stops loops (Message-ID history first, then our gateway header, our Path
 * identity, and the List-Id of lists we feed), maps the message to channels
 * (Newsgroups for news, List-Id or the envelope recipient for list mail,
 * the board for forum posts), applies each channel's direction, and hands
 * the message with one outbox row per distinct target to the store.  The
 * side hears the outcome through its callback only after the commit.
 *
 * The router knows no protocol: it sees messages, channels and targets.
 * Target names are "news" (the news feed), "list:ADDRESS" (one per list),
 * "forum:BOARD" (one per board) and "archive".
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "syncd.h"

struct router {
	struct store	*store;
	struct outbox	*outbox;
	struct conf	*conf;
};

/* A message on its way through the store. */
struct router_pending {
	struct router	*router;
	router_cb	 cb;
	void		*arg;
	char		*msgid;
	char		*session;
	enum side	 source;
	char		*channels;	/* for the log: "a,b" */
	char		**targets;	/* for the outbox, after the commit */
	size_t		 ntargets;
	char		*reason;	/* an accepted one's: held, released */
	int		 release;	/* a held post approved by the list */
};

/* What a channel's direction does with a message from one side. */
enum router_gate {
	GATE_CARRY,		/* store it, deliver to the sides allowed */
	GATE_NOT_GATED,		/* leave it where it is */
	GATE_REFUSED		/* the channel takes nothing from there */
};

static const char *router_result_names[] = {
	[ROUTER_ACCEPTED] = "accepted",
	[ROUTER_DUPLICATE] = "duplicate",
	[ROUTER_LOOP] = "loop",
	[ROUTER_NOT_GATED] = "not-gated",
	[ROUTER_REJECTED] = "rejected",
	[ROUTER_TEMPFAIL] = "tempfail",
};

const char *
router_result_name(enum router_result r)
{
	return router_result_names[r];
}

struct router *
router_new(struct store *store, struct outbox *outbox)
{
	struct router *r = xcalloc(1, sizeof(*r));

	r->store = store;
	r->outbox = outbox;
	return r;
}

void
router_set_conf(struct router *r, struct conf *conf)
{
	conf_unref(&r->conf);
	r->conf = conf_ref(conf);
}

void
router_free(struct router **rp)
{
	struct router *r = *rp;

	*rp = NULL;
	if (r == NULL)
		return;
	conf_unref(&r->conf);
	free(r);
}

/*
 * The gate table (syncd.conf(5), "direction"): news-to-list keeps list
 * mail on the list; list-to-news stores news posts (our NNTP server is the
 * news side) but mails nothing to the list; read-only takes only list mail.
 * The forum always talks to both other sides when it may post at all.
 * Nothing goes back to its own side, but for a post made here, which the
 * side's other servers (the news feed's peer) have yet to see.
 */
static enum router_gate
router_gate(enum direction dir, enum side from, int posted_here, int *to_r)
{
	int all = (1 << SIDE_MAX) - 1;
	int all_but_source = posted_here ? all : all & ~(1 << from);

	*to_r = all_but_source;
	switch (dir) {
	case DIRECTION_BOTH:
		return GATE_CARRY;
	case DIRECTION_NEWS_TO_LIST:
		return from == SIDE_LIST ? GATE_NOT_GATED : GATE_CARRY;
	case DIRECTION_LIST_TO_NEWS:
		if (from == SIDE_NEWS)
			*to_r = all_but_source & ~(1 << SIDE_LIST);
		return GATE_CARRY;
	case DIRECTION_READ_ONLY:
		return from == SIDE_LIST ? GATE_CARRY : GATE_REFUSED;
	}
	return GATE_REFUSED;
}

/* Add s to a string set unless it is there already. */
static void
router_set_add(char ***set, size_t *n, const char *s)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*set)[i], s) == 0)
			return;
	*set = xreallocarray(*set, *n + 1, sizeof(**set));
	(*set)[(*n)++] = xstrdup(s);
}

int
router_full(struct router *r)
{
	return store_full(r->store);
}

int
router_is_ours(const char *value, const char *identity)
{
	size_t n;

	while (isspace((unsigned char)*value))
		value++;
	n = strlen(identity);
	if (strncasecmp(value, identity, n) != 0)
		return 0;
	for (value += n; isspace((unsigned char)*value); value++)
		;
	return *value == '\0';
}

/*
 * Does the Path (RFC 5536 section 3.1.5) name us?  Entries are separated
 * by "!"; diagnostics such as ".POSTED" or "!!" are entries of their own
 * and never equal our identity.
 */
static int
router_path_has(const char *path, const char *identity)
{
	size_t n = strlen(identity), len;
	const char *p = path, *end;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		end = strchr(p, '!');
		len = end != NULL ? (size_t)(end - p) : strcspn(p, " \t\r\n");
		if (len == n && strncasecmp(p, identity, n) == 0)
			return 1;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

/* The id inside a List-Id value ("Name <id>" or a bare id). */
static char *
router_list_id(const char *value)
{
	const char *lt = strrchr(value, '<'), *gt;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL)
		return xstrndup(lt + 1, gt - lt - 1);
	while (isspace((unsigned char)*value))
		value++;
	return xstrndup(value, strcspn(value, " \t\r\n"));
}

/* Which of our loop guards does this message trip, if any? */
static const char *
router_loop_check(const struct conf *conf, const struct msg *msg,
    enum side source)
{
	const struct msg_header *h;
	struct conf_channel *c;
	char *id;
	size_t i;

	for (i = 0; i < msg->nheaders; i++) {
		h = &msg->headers[i];
		if (strcasecmp(h->name, GATEWAY_HEADER) == 0 &&
		    router_is_ours(h->value, conf->path_identity))
			return "it carries our gateway header";
		if (strcasecmp(h->name, "Path") == 0 &&
		    router_path_has(h->value, conf->path_identity))
			return "our Path identity is in its Path";
		if (source != SIDE_LIST && strcasecmp(h->name, "List-Id") == 0) {
			id = router_list_id(h->value);
			c = conf_channel_by_list_id(conf, id);
			free(id);
			if (c != NULL)
				return "it carries the List-Id of a list we"
				    " feed";
		}
	}
	return NULL;
}

/* Channels for a news article: one per newsgroup we carry. */
static void
router_news_channels(const struct conf *conf, const struct msg *msg,
    struct conf_channel ***chans, size_t *n)
{
	struct conf_channel *c;
	char *groups, *g, *save = NULL;
	size_t i;

	if ((groups = msg_get_unfolded(msg, "Newsgroups")) == NULL)
		return;
	for (g = strtok_r(groups, ", \t", &save); g != NULL;
	    g = strtok_r(NULL, ", \t", &save)) {
		if ((c = conf_channel_by_group(conf, g)) == NULL)
			continue;
		for (i = 0; i < *n && (*chans)[i] != c; i++)
			;
		if (i < *n)
			continue;
		*chans = xreallocarray(*chans, *n + 1, sizeof(**chans));
		(*chans)[(*n)++] = c;
	}
	free(groups);
}

/*
 * A header value as overview data carries it (RFC 3977 section 8.3):
 * unfolded, with TAB, CR and LF as spaces.
 */
static char *
router_ov_field(const struct msg *msg, const char *name)
{
	char *v = msg_get_unfolded(msg, name), *p;

	if (v != NULL)
		for (p = v; *p != '\0'; p++)
			if (*p == '\t' || *p == '\r' || *p == '\n')
				*p = ' ';
	return v;
}

static long long
router_body_lines(const struct msg *msg)
{
	long long n = 0;
	size_t i;

	for (i = 0; i < msg->body_len; i++)
		if (msg->body[i] == '\n')
			n++;
	/* A last line without its CRLF is a line too. */
	if (msg->body_len > 0 && msg->body[msg->body_len - 1] != '\n')
		n++;
	return n;
}

static void
router_finish(struct router_pending *p, enum router_result result,
    const char *reason)
{
	if (result == ROUTER_ACCEPTED)
		log_info("event=route session=%s source=%s msgid=%s"
		    " result=accepted channels=%s targets=%zu%s%s",
		    log_q(p->session), side_name(p->source), log_q(p->msgid),
		    log_q(p->channels), p->ntargets, reason != NULL ?
		    " note=" : "", reason != NULL ? log_q(reason) : "");
	else
		log_info("event=route session=%s source=%s msgid=%s result=%s"
		    " reason=%s", log_q(p->session), side_name(p->source),
		    log_q(p->msgid), router_result_name(result),
		    log_q(reason));
	metrics_message_in(p->source, result);
	p->cb(p->arg, result, reason, p->msgid);
	while (p->ntargets > 0)
		free(p->targets[--p->ntargets]);
	free(p->targets);
	free(p->reason);
	free(p->msgid);
	free(p->session);
	free(p->channels);
	free(p);
}

static void
router_committed(void *arg, enum store_result result, const char *err)
{
	struct router_pending *p = arg;
	size_t i;

	switch (result) {
	case STORE_OK:
		for (i = 0; i < p->ntargets; i++)
			outbox_notify(p->router->outbox, p->targets[i]);
		router_finish(p, ROUTER_ACCEPTED, p->release ?
		    "approved by the list's moderators" : p->reason);
		break;
	case STORE_DUPLICATE:
		router_finish(p, ROUTER_DUPLICATE, "already have it");
		break;
	case STORE_TEMPFAIL:
		router_finish(p, ROUTER_TEMPFAIL, err);
		break;
	}
}

static void
router_set_clear(char ***set, size_t *n)
{
	while (*n > 0)
		free((*set)[--*n]);
	free(*set);
	*set = NULL;
}

/*
 * A post made here to a moderated group is not injected: it goes to the
 * moderators of the first such group, which are the list's (RFC 5537
 * section 3.5), and is held.  When the list sends it back approved, the
 * router releases it into the groups and the forum.
 */
static enum router_result
router_moderate(const struct conf *conf, const struct conf_channel *c,
    struct store_msg *m, char **reason_r)
{
	char *target;

	router_set_clear(&m->channels, &m->nchannels);
	router_set_clear(&m->groups, &m->ngroups);
	router_set_clear(&m->targets, &m->ntargets);
	if (conf->deliver[SIDE_LIST].kind == TRANSPORT_NONE) {
		*reason_r = xasprintf("%s is moderated and its moderators (the"
		    " list) cannot be reached: no deliver list", c->newsgroup);
		return ROUTER_REJECTED;
	}
	router_set_add(&m->channels, &m->nchannels, c->name);
	target = conf_target(c, SIDE_LIST);
	router_set_add(&m->targets, &m->ntargets, target);
	free(target);
	m->held = 1;
	*reason_r = xasprintf("%s is moderated: sent to its moderators at %s",
	    c->newsgroup, c->list);
	return ROUTER_ACCEPTED;
}

/*
 * Decide everything about msg; on success fill m (channels, groups,
 * targets) and return ROUTER_ACCEPTED, else the result and *reason_r.
 * A moderated post is accepted too, held, with the reason saying so.
 */
static enum router_result
router_decide(struct router *r, const struct router_input *in,
    const struct msg *msg, struct store_msg *m, char **reason_r)
{
	const struct conf *conf = r->conf;
	struct conf_channel **chans = NULL, *c = NULL, *moderated = NULL;
	const char *refused = NULL, *not_gated = NULL;
	char *v, *target;
	size_t nchans = 0, i;
	int s, to;
	enum router_gate gate;

	switch (in->source) {
	case SIDE_NEWS:
		router_news_channels(conf, msg, &chans, &nchans);
		if (nchans == 0) {
			v = msg_get_unfolded(msg, "Newsgroups");
			*reason_r = v == NULL ? xstrdup("no Newsgroups header") :
			    xasprintf("no channel carries %s", v);
			free(v);
			return ROUTER_REJECTED;
		}
		break;
	case SIDE_LIST:
		if ((v = msg_get_unfolded(msg, "List-Id")) != NULL) {
			char *id = router_list_id(v);
			c = conf_channel_by_list_id(conf, id);
			free(id);
		}
		if (c == NULL && in->recipient != NULL)
			c = conf_channel_by_address(conf, in->recipient);
		if (c == NULL) {
			*reason_r = xasprintf("no channel for this list mail"
			    " (List-Id %s, recipient %s)", v != NULL ? v :
			    "none", in->recipient != NULL ? in->recipient :
			    "none");
			free(v);
			return ROUTER_REJECTED;
		}
		free(v);
		break;
	case SIDE_FORUM:
		if (in->board == NULL ||
		    (c = conf_channel_by_board(conf, in->board)) == NULL) {
			*reason_r = xasprintf("no channel has board %s",
			    in->board != NULL ? in->board : "(none)");
			return ROUTER_REJECTED;
		}
		break;
	default:
		fatalx("router_decide: source %d", in->source);
	}
	if (c != NULL) {
		chans = xcalloc(1, sizeof(*chans));
		chans[nchans++] = c;
	}

	for (i = 0; i < nchans; i++) {
		c = chans[i];
		gate = router_gate(c->direction, in->source, in->posted_here,
		    &to);
		if (gate == GATE_REFUSED) {
			refused = c->name;
			continue;
		}
		if (gate == GATE_NOT_GATED) {
			not_gated = c->name;
			continue;
		}
		if (c->moderated && in->source == SIDE_NEWS &&
		    in->posted_here && moderated == NULL)
			moderated = c;
		router_set_add(&m->channels, &m->nchannels, c->name);
		if (c->newsgroup != NULL)
			router_set_add(&m->groups, &m->ngroups, c->newsgroup);
		for (s = 0; s < SIDE_MAX; s++) {
			if (!(to & (1 << s)) ||
			    conf->deliver[s].kind == TRANSPORT_NONE ||
			    (target = conf_target(c, s)) == NULL)
				continue;
			router_set_add(&m->targets, &m->ntargets, target);
			free(target);
		}
	}
	free(chans);
	if (m->nchannels == 0) {
		if (refused != NULL) {
			*reason_r = xasprintf("channel %s is read-only from"
			    " %s", refused, side_name(in->source));
			return ROUTER_REJECTED;
		}
		*reason_r = xasprintf("channel %s does not carry %s messages",
		    not_gated, side_name(in->source));
		return ROUTER_NOT_GATED;
	}
	if (moderated != NULL)
		return router_moderate(conf, moderated, m, reason_r);
	if (conf->archive.kind != TRANSPORT_NONE)
		router_set_add(&m->targets, &m->ntargets, "archive");
	return ROUTER_ACCEPTED;
}

/* The address of a message's From, lower case, or NULL. */
static char *
router_author(const struct msg *msg)
{
	char *name = NULL, *addr = NULL, *p;

	if (msg_mailbox(msg, &name, &addr) == -1)
		return NULL;
	free(name);
	for (p = addr; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return addr;
}

/*
 * Whether msg may take back the message id: we have it, and both are
 * from the same address (RFC 5537 section 5.3 leaves the check to the
 * server; this is the one INN makes without cancel locks).  1, or 0 and
 * why not.
 */
static int
router_may_take_back(struct router *r, const struct msg *msg, const char *id,
    char **reason_r)
{
	struct msg *orig = NULL;
	char *a = NULL, *b = NULL, *raw = NULL;
	int64_t message;
	size_t len;
	int ok = 0;

	if (store_message_id(r->store, id, &message) != 1 ||
	    store_message_raw(r->store, message, &raw, &len) == -1 ||
	    msg_parse(raw, len, &orig, NULL) == -1)
		*reason_r = xasprintf("%s is not here", id);
	else if ((a = router_author(msg)) == NULL ||
	    (b = router_author(orig)) == NULL || strcmp(a, b) != 0)
		*reason_r = xasprintf("%s is not from the same author", id);
	else
		ok = 1;
	msg_free(&orig);
	free(raw);
	free(a);
	free(b);
	return ok;
}

/*
 * The Message-ID a cancel takes back, when it is one we carry it for: a
 * cancel (RFC 5537 section 5.3) of a message we have, from that
 * message's author.  NULL and why when not.
 */
static char *
router_cancel_check(struct router *r, const struct msg *msg,
    char **reason_r)
{
	char *v, *id = NULL, *why;

	v = msg_get_unfolded(msg, "Control");
	if (v == NULL || strncasecmp(v, "cancel", 6) != 0 ||
	    !isspace((unsigned char)v[6]) || (id = msgid_extract(v + 7)) ==
	    NULL) {
		free(v);
		*reason_r = xstrdup("control message");
		return NULL;
	}
	free(v);
	if (!router_may_take_back(r, msg, id, &why)) {
		*reason_r = xasprintf("cancel not taken: %s", why);
		free(why);
		free(id);
		return NULL;
	}
	return id;
}

/*
 * What a message supersedes (RFC 5536 section 3.2.12): the article it
 * replaces comes off our server as by a cancel, when it is here and from
 * the same author; else NULL, and the message is just a new one.
 */
static char *
router_superseded(struct router *r, const struct msg *msg)
{
	char *v, *id, *why;

	if ((v = msg_get_unfolded(msg, "Supersedes")) == NULL)
		return NULL;
	id = msgid_extract(v);
	free(v);
	if (id != NULL && !router_may_take_back(r, msg, id, &why)) {
		log_debug("event=supersedes msgid=%s result=ignored reason=%s",
		    log_q(id), log_q(why));
		free(why);
		free(id);
		id = NULL;
	}
	return id;
}

/*
 * A cancel is numbered in no group (news servers file it under
 * control.cancel) and goes to no list: mail cannot be taken back.  m
 * takes cancels.
 */
static void
router_cancel_targets(struct store_msg *m, char *cancels)
{
	size_t i, j;

	for (i = 0; i < m->ngroups; i++)
		free(m->groups[i]);
	m->ngroups = 0;
	for (i = j = 0; i < m->ntargets; i++) {
		if (strncmp(m->targets[i], "list:", 5) == 0)
			free(m->targets[i]);
		else
			m->targets[j++] = m->targets[i];
	}
	m->ntargets = j;
	m->cancels = cancels;
}

void
router_submit(struct router *r, const struct router_input *in, router_cb cb,
    void *arg)
{
	struct router_pending *p = xcalloc(1, sizeof(*p));
	struct store_msg *m = NULL;
	struct msg *msg = NULL;
	enum router_result result;
	const char *err, *loop;
	char *reason = NULL, *v, *cancels = NULL;
	size_t i, len;
	int have;

	p->router = r;
	p->cb = cb;
	p->arg = arg;
	p->source = in->source;
	p->session = xstrdup(in->session != NULL ? in->session : "-");

	if ((long long)in->len > r->conf->max_message_size) {
		reason = xasprintf("message of %zu bytes is larger than"
		    " max-message-size (%lld)", in->len,
		    r->conf->max_message_size);
		result = ROUTER_REJECTED;
		goto out;
	}
	if (msg_parse(in->raw, in->len, &msg, &err) == -1) {
		reason = xasprintf("malformed message: %s", err);
		result = ROUTER_REJECTED;
		goto out;
	}
	if (msg->flags & MSG_LONG_LINE) {
		reason = xstrdup("a line is longer than 998 octets"
		    " (RFC 5322 section 2.1.1)");
		result = ROUTER_REJECTED;
		goto out;
	}
	if ((v = msg_get_unfolded(msg, "Message-ID")) == NULL) {
		reason = xstrdup("no Message-ID");
		result = ROUTER_REJECTED;
		goto out;
	}
	p->msgid = msgid_extract(v);
	if (p->msgid == NULL || msgid_valid(p->msgid, &err) == -1) {
		reason = xasprintf("invalid Message-ID %s: %s", v,
		    p->msgid == NULL ? "no <id@domain> in it" : err);
		free(v);
		result = ROUTER_REJECTED;
		goto out;
	}
	free(v);

	/*
	 * Control messages (RFC 5537 section 5) are never gated, but for a
	 * cancel by the author of what we have (section 5.3): that one
	 * takes the article off our server and goes to the news peer and
	 * the forum, which can take a post back; mail cannot.
	 */
	if (msg_get(msg, "Control") != NULL) {
		if ((cancels = router_cancel_check(r, msg, &reason)) == NULL) {
			result = ROUTER_NOT_GATED;
			goto out;
		}
	}
	/*
	 * Message-ID history: the first and strongest loop guard.  A post
	 * held for the list's moderators comes back by the list when they
	 * approve it (with our gateway header: we sent it there).
	 */
	have = store_has_msgid(r->store, p->msgid);
	if (have == 2 && in->source == SIDE_LIST) {
		p->release = 1;
	} else if (have != 0) {
		reason = xstrdup(have != -1 ? "already have it" :
		    "could not read the store");
		result = have != -1 ? ROUTER_DUPLICATE : ROUTER_TEMPFAIL;
		goto out;
	}
	if (!p->release &&
	    (loop = router_loop_check(r->conf, msg, in->source)) != NULL) {
		reason = xstrdup(loop);
		result = ROUTER_LOOP;
		goto out;
	}

	m = xcalloc(1, sizeof(*m));
	if ((result = router_decide(r, in, msg, m, &reason)) !=
	    ROUTER_ACCEPTED)
		goto out;
	if (cancels != NULL) {
		router_cancel_targets(m, cancels);
		cancels = NULL;
	} else
		m->cancels = router_superseded(r, msg);
	/* Only an accepted but held post has a reason now: say it. */
	p->reason = reason;
	reason = NULL;
	m->msgid = xstrdup(p->msgid);
	m->source = in->source;
	m->arrived = time(NULL);
	m->date = msg_date(msg);
	m->subject = msg_subject(msg);
	m->from = msg_from(msg);
	m->refs = msg_get_unfolded(msg, "References");
	m->ov_subject = router_ov_field(msg, "Subject");
	m->ov_from = router_ov_field(msg, "From");
	m->ov_date = router_ov_field(msg, "Date");
	m->lines = router_body_lines(msg);
	m->parent = msg_parent_id(msg);
	if (m->parent != NULL && strcmp(m->parent, m->msgid) == 0) {
		/* A message is not its own parent. */
		free(m->parent);
		m->parent = NULL;
	}
	/* Stored in canonical form: CRLF line ends. */
	m->raw = msg_build(msg, &len);
	m->len = len;
	msg_free(&msg);

	p->ntargets = m->ntargets;
	p->targets = xcalloc(m->ntargets + 1, sizeof(*p->targets));
	for (i = 0; i < m->ntargets; i++)
		p->targets[i] = xstrdup(m->targets[i]);
	for (i = 0; i < m->nchannels; i++) {
		v = p->channels;
		p->channels = v == NULL ? xstrdup(m->channels[i]) :
		    xasprintf("%s,%s", v, m->channels[i]);
		free(v);
	}
	if (p->release)
		store_release(r->store, m, router_committed, p);
	else
		store_add(r->store, m, router_committed, p);
	return;

out:
	msg_free(&msg);
	store_msg_free(&m);
	free(cancels);
	router_finish(p, result, reason);
	free(reason);
}
