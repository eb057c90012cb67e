/*
 * notice.c: automated notices to the technik group.
 *
 * A notice is an article syncd writes itself and hands to the router as
 * posted here, so it goes where any article of the group goes: our news
 * server, the news peer, the channel's list and board.  Its Message-ID
 * derives from the event it tells of ("version/0.2.0", "peer-down/news/
 * 1764400000"), so the store's Message-ID history makes one event one
 * article, across restarts too.
 *
 * The events: syncd started with a version it has not announced (the
 * version's entries of the CHANGES file), a side's peer failing for
 * longer than notice-peer-down and its return, a dead letter, and the
 * daily summary (jobs.c runs it).  A flapping peer gives one notice per
 * notice-interval; dead letters past a few per interval are only counted,
 * for the summary.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <openssl/evp.h>

#include "syncd.h"

/* How often failing peers are looked at, in seconds. */
#define NOTICE_CHECK		10
/* Dead letter notices per notice-interval; the rest are counted. */
#define NOTICE_DEAD_MAX		5
/* The CHANGES entries we read for one version, at most. */
#define NOTICE_CHANGES_MAX	(32 * 1024)

/* What we know of one side's peer. */
struct notice_peer {
	time_t		 since;		/* failing since, or 0 */
	int		 announced;	/* its down notice went out */
	time_t		 last;		/* the last down notice */
	char		*error;		/* the first failure's reason */
};

struct notice {
	struct event_base *base;
	struct store	*store;
	struct router	*router;
	struct conf	*conf;
	struct event	*timer;
	struct notice_peer peers[SIDE_MAX];
	time_t		 dead_window;	/* start of this interval */
	int		 dead_posted;	/* dead letter notices in it */
	long long	 dead_quiet;	/* not noticed, since the summary */
};

/* "<notice.HEX@host>": the same key gives the same Message-ID. */
static char *
notice_msgid(const struct conf *conf, const char *key)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[33];
	int i;

	if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) != 1)
		fatalx("notice_msgid: no SHA-256");
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return xasprintf("<notice.%s@%s>", hex, conf->hostname);
}

/* What a notice the router has done with is logged as. */
static void
notice_routed(void *arg, enum router_result result, const char *reason,
    const char *msgid)
{
	char *key = arg;

	log_info("event=notice key=%s msgid=%s result=%s%s%s", log_q(key),
	    log_q(msgid), router_result_name(result), reason != NULL ?
	    " reason=" : "", reason != NULL ? log_q(reason) : "");
	free(key);
}

int
notice_post(struct notice *n, const char *group, const char *key,
    const char *subject, const char *body, router_cb cb, void *arg,
    char **err_r)
{
	const struct conf *conf = n->conf;
	struct router_input in;
	struct msg *m;
	char *v, *msgid, *raw;
	size_t len;

	if (group == NULL)
		group = conf->notice_group;
	if (group == NULL) {
		*err_r = xstrdup("no notice-group is configured");
		return -1;
	}
	if (conf_channel_by_group(conf, group) == NULL) {
		*err_r = xasprintf("no channel carries %s", group);
		return -1;
	}
	msgid = key != NULL ? notice_msgid(conf, key) :
	    msgid_generate(conf->hostname);
	v = conf->notice_from != NULL ? xasprintf("Syncom <%s>",
	    conf->notice_from) : xasprintf("Syncom <syncd@%s>",
	    conf->hostname);
	m = msg_automated(v, subject, msgid, body);
	free(v);
	msg_prepend(m, "Newsgroups", group);
	/* The news side puts our identity in front on the way out. */
	msg_prepend(m, "Path", "not-for-mail");
	raw = msg_build(m, &len);
	msg_free(&m);

	memset(&in, 0, sizeof(in));
	in.source = SIDE_NEWS;
	in.raw = raw;
	in.len = len;
	in.session = "notice";
	in.posted_here = 1;
	if (cb == NULL) {
		cb = notice_routed;
		arg = xstrdup(key != NULL ? key : msgid);
	}
	router_submit(n->router, &in, cb, arg);
	free(raw);
	free(msgid);
	return 0;
}

/* Post, or log why not (automatic notices have nobody else to tell). */
static void
notice_auto(struct notice *n, const char *key, const char *subject,
    const char *body)
{
	char *err = NULL;

	if (n->conf->notice_group == NULL) {
		log_info("event=notice key=%s subject=%s result=not-posted"
		    " reason=\"no notice-group\"", log_q(key), log_q(subject));
		return;
	}
	if (notice_post(n, NULL, key, subject, body, NULL, NULL, &err) == -1) {
		log_warnx("event=notice key=%s error=%s", log_q(key),
		    log_q(err));
		free(err);
	}
}

/*
 * The entries of version in a CHANGES file: the lines after the one that
 * starts with the version, up to the next empty line.  NULL if none.
 */
static char *
notice_changes(const char *path, const char *version)
{
	char line[1024], *out = NULL, *tmp;
	size_t vlen = strlen(version), total = 0;
	int in = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (!in) {
			in = strncmp(line, version, vlen) == 0 &&
			    (isspace((unsigned char)line[vlen]) ||
			    line[vlen] == '\0');
			continue;
		}
		if (line[strspn(line, " \t\r\n")] == '\0')
			break;
		total += strlen(line);
		if (total > NOTICE_CHANGES_MAX)
			break;
		tmp = xasprintf("%s%s", out != NULL ? out : "", line);
		free(out);
		out = tmp;
	}
	fclose(fp);
	return out;
}

void
notice_started(struct notice *n)
{
	const char *path = n->conf->changes_file != NULL ?
	    n->conf->changes_file : SYNCOM_DOCDIR "/CHANGES";
	char *changes, *key, *subject, *body;

	changes = notice_changes(path, SYNCOM_VERSION);
	key = xasprintf("version/%s", SYNCOM_VERSION);
	subject = xasprintf("Syncom %s runs on %s", SYNCOM_VERSION,
	    n->conf->hostname);
	body = xasprintf("syncd %s started on %s for the first time.\n\n%s",
	    SYNCOM_VERSION, n->conf->hostname, changes != NULL ? changes :
	    "(no entries for this version in the CHANGES file)\n");
	notice_auto(n, key, subject, body);
	free(changes);
	free(key);
	free(subject);
	free(body);
}

/* What a side's peer is, for people. */
static const char *
notice_peer_name(const struct conf *conf, int side)
{
	switch (side) {
	case SIDE_NEWS:
		return "the news peer";
	case SIDE_LIST:
		return conf->deliver[SIDE_LIST].kind == TRANSPORT_LMTP ?
		    "Mailman" : "the mail server";
	default:
		return "the forum";
	}
}

static void
notice_dead(struct notice *n, const struct outbox_row *row, const char *err)
{
	time_t now = time(NULL);
	char *key, *subject, *body;

	/* A notice that cannot go out is not told of by another one. */
	if (strncmp(row->msgid, "<notice.", 8) == 0)
		return;
	if (now - n->dead_window >= n->conf->notice_interval) {
		n->dead_window = now;
		n->dead_posted = 0;
	}
	if (n->dead_posted >= NOTICE_DEAD_MAX) {
		n->dead_quiet++;
		return;
	}
	n->dead_posted++;
	key = xasprintf("dead/%lld/%lld", (long long)row->id,
	    (long long)row->created);
	subject = xasprintf("Dead letter: %s for %s", row->msgid,
	    row->target);
	body = xasprintf("syncd gave up delivering %s to %s:\n\n  %s\n\n"
	    "When the cause is mended, send it again with\n\n"
	    "  syncctl retry %lld\n", row->msgid, row->target,
	    err != NULL ? err : "(no reason given)", (long long)row->id);
	notice_auto(n, key, subject, body);
	free(key);
	free(subject);
	free(body);
}

void
notice_outcome(struct notice *n, const struct outbox_row *row, int state,
    const char *err)
{
	struct notice_peer *p;
	char *key, *subject, *body;
	int side;

	if (state == OUTBOX_DEAD)
		notice_dead(n, row, err);
	if ((side = conf_target_side(row->target)) == -1 || side == SIDE_FORUM)
		return;
	p = &n->peers[side];
	if (state != OUTBOX_DONE) {
		if (p->since == 0) {
			p->since = time(NULL);
			free(p->error);
			p->error = xstrdup(err != NULL ? err : "unknown");
		}
		return;
	}
	if (p->since != 0 && p->announced) {
		key = xasprintf("peer-back/%s/%lld", side_name(side),
		    (long long)p->since);
		subject = xasprintf("Back: %s delivers again",
		    notice_peer_name(n->conf, side));
		body = xasprintf("Deliveries to %s work again since %s after"
		    " failing for %lld seconds.\nWhat waited is being"
		    " delivered now.\n", notice_peer_name(n->conf, side),
		    row->target, (long long)(time(NULL) - p->since));
		notice_auto(n, key, subject, body);
		free(key);
		free(subject);
		free(body);
	}
	p->since = 0;
	p->announced = 0;
}

/* Every little while: a peer failing long enough is noticed, once. */
static void
notice_check(evutil_socket_t fd, short events, void *arg)
{
	struct notice *n = arg;
	struct timeval tv = { NOTICE_CHECK, 0 };
	struct notice_peer *p;
	time_t now = time(NULL);
	char *key, *subject, *body;
	int side;

	for (side = 0; side < SIDE_MAX; side++) {
		p = &n->peers[side];
		if (p->since == 0 || p->announced ||
		    now - p->since < n->conf->notice_peer_down)
			continue;
		/* Flapping: one notice per notice-interval. */
		if (p->last != 0 && now - p->last < n->conf->notice_interval)
			continue;
		p->announced = 1;
		p->last = now;
		key = xasprintf("peer-down/%s/%lld", side_name(side),
		    (long long)p->since);
		subject = xasprintf("Down: %s has failed for %lld minutes",
		    notice_peer_name(n->conf, side),
		    (long long)(now - p->since) / 60);
		body = xasprintf("Deliveries to %s have failed since %lld"
		    " seconds ago; the first failure said:\n\n  %s\n\n"
		    "syncd keeps them and tries again; another notice says"
		    " when it is back.\n", notice_peer_name(n->conf, side),
		    (long long)(now - p->since), p->error);
		notice_auto(n, key, subject, body);
		free(key);
		free(subject);
		free(body);
	}
	evtimer_add(n->timer, &tv);
}

void
notice_peers(struct notice *n, struct evbuffer *out, int json)
{
	const struct notice_peer *p;
	time_t now = time(NULL);
	int side, first = 1;

	for (side = 0; side < SIDE_MAX; side++) {
		if (side == SIDE_FORUM ||
		    n->conf->deliver[side].kind == TRANSPORT_NONE)
			continue;
		p = &n->peers[side];
		if (json) {
			evbuffer_add_printf(out, "%s\"%s\":{\"failing\":%lld,"
			    "\"error\":", first ? "" : ",", side_name(side),
			    p->since != 0 ? (long long)(now - p->since) : 0LL);
			control_json_str(out, p->since != 0 ? p->error : NULL);
			evbuffer_add(out, "}", 1);
		} else if (p->since == 0)
			evbuffer_add_printf(out, "  %-6s %s: ok\n",
			    side_name(side), notice_peer_name(n->conf, side));
		else
			evbuffer_add_printf(out, "  %-6s %s: failing for %llds:"
			    " %s\n", side_name(side), notice_peer_name(n->conf,
			    side), (long long)(now - p->since), p->error);
		first = 0;
	}
}

int
notice_summary(struct notice *n, char **result_r)
{
	struct store_channel_info *ch;
	struct store_queue_info *q;
	size_t nch, nq, i;
	long long pending = 0, dead = 0;
	char day[16], *body, *tmp, *key, *subject;
	struct tm tm;
	time_t now = time(NULL);
	int rc = 0;

	if (store_channels(n->store, &ch, &nch) == -1 ||
	    store_queue(n->store, &q, &nq) == -1) {
		*result_r = xstrdup("could not read the store");
		return -1;
	}
	localtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	body = xasprintf("Syncom on %s, %s.\n\nMessages per channel:\n",
	    n->conf->hostname, day);
	for (i = 0; i < nch; i++) {
		tmp = xasprintf("%s  %-24s %8lld\n", body, ch[i].channel,
		    ch[i].messages);
		free(body);
		body = tmp;
	}
	tmp = xasprintf("%s\nOutbox:\n", body);
	free(body);
	body = tmp;
	for (i = 0; i < nq; i++) {
		if (q[i].state == OUTBOX_DONE)
			continue;
		if (q[i].state == OUTBOX_PENDING)
			pending += q[i].count;
		else
			dead += q[i].count;
		tmp = xasprintf("%s  %-32s %-8s %8lld\n", body, q[i].target,
		    q[i].state == OUTBOX_PENDING ? "waiting" : "dead",
		    q[i].count);
		free(body);
		body = tmp;
	}
	tmp = xasprintf("%s\n%lld waiting, %lld dead letters (syncctl dead),"
	    " %lld dead letters not noticed one by one.\n", body, pending,
	    dead, n->dead_quiet);
	free(body);
	body = tmp;
	store_channels_free(ch, nch);
	store_queue_free(q, nq);
	key = xasprintf("summary/%s", day);
	subject = xasprintf("Summary for %s: %lld waiting, %lld dead", day,
	    pending, dead);
	if (n->conf->notice_group == NULL) {
		*result_r = xstrdup("no notice-group: summary not posted");
	} else if (notice_post(n, NULL, key, subject, body, NULL, NULL,
	    result_r) == 0) {
		*result_r = xasprintf("posted: %s", subject);
		n->dead_quiet = 0;
	} else
		rc = -1;
	free(key);
	free(subject);
	free(body);
	return rc;
}

struct notice *
notice_new(struct event_base *base, struct store *store,
    struct router *router)
{
	struct notice *n = xcalloc(1, sizeof(*n));
	struct timeval tv = { NOTICE_CHECK, 0 };

	n->base = base;
	n->store = store;
	n->router = router;
	n->timer = evtimer_new(base, notice_check, n);
	evtimer_add(n->timer, &tv);
	return n;
}

void
notice_set_conf(struct notice *n, struct conf *conf)
{
	conf_unref(&n->conf);
	n->conf = conf_ref(conf);
}

void
notice_free(struct notice **np)
{
	struct notice *n = *np;
	int i;

	if (n == NULL)
		return;
	event_free(n->timer);
	for (i = 0; i < SIDE_MAX; i++)
		free(n->peers[i].error);
	conf_unref(&n->conf);
	free(n);
	*np = NULL;
}
