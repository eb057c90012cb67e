/*
 * nntp_article.c: articles coming in from readers and peers, and going out
 * to readers.
 *
 * The store keeps an article as it arrived, without our own Path entry;
 * whatever leaves (a reader's ARTICLE, later a feed to a peer) gets our
 * identity prepended to Path then.  So the router's Path loop guard only
 * ever sees what others wrote, a message from the list or the forum gets
 * "Path: ourselves!not-for-mail" on the way out, and an article we
 * injected reads "ourselves!.POSTED.client!not-for-mail" (RFC 5537
 * section 3.5) because what we store for it starts at ".POSTED".  Xref is
 * always ours, from the store's article numbers.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "nntp.h"

/* Header fields a reader may not set (RFC 5537 section 3.5). */
static const char *nntp_system_headers[] = {
	"Xref", "Injection-Info", "Injection-Date", "NNTP-Posting-Host",
	"NNTP-Posting-Date", "X-Trace", "X-Complaints-To", NULL
};

/* What a relayed article must carry (RFC 5536 section 3.1). */
static const char *nntp_transit_required[] = {
	"Path", "From", "Subject", "Newsgroups", "Date", "Message-ID", NULL
};

/* What a reader must supply; the rest we add (RFC 5537 section 3.5). */
static const char *nntp_post_required[] = {
	"From", "Subject", "Newsgroups", NULL
};

/* An RFC 5322 date for now, in UTC. */
static void
nntp_date_now(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* The first required header that is missing, or NULL. */
static const char *
nntp_missing(const struct msg *msg, const char **required)
{
	const char *v;

	for (; *required != NULL; required++)
		if ((v = msg_get(msg, *required)) == NULL ||
		    v[strspn(v, " \t\r\n")] == '\0')
			return *required;
	return NULL;
}

/* Every group of a Newsgroups value is one we carry, or the first not. */
static char *
nntp_unknown_group(const struct conf *conf, const struct msg *msg)
{
	char *groups = msg_get_unfolded(msg, "Newsgroups"), *g, *save = NULL;
	char *unknown = NULL;

	if (groups == NULL)
		return NULL;
	for (g = strtok_r(groups, ", \t", &save); g != NULL && unknown == NULL;
	    g = strtok_r(NULL, ", \t", &save))
		if (conf_channel_by_group(conf, g) == NULL)
			unknown = xstrdup(g);
	free(groups);
	return unknown;
}

/* What an injecting agent adds to a reader's article. */
static int
nntp_inject(const struct conf *conf, struct msg *msg, const char *client,
    const char *user, char **reason_r)
{
	const char **h;
	char date[64], *v, *path, *info, *unknown, *id;

	for (h = nntp_system_headers; *h != NULL; h++)
		if (msg_get(msg, *h) != NULL) {
			*reason_r = xasprintf("a reader may not set %s", *h);
			return -1;
		}
	if ((unknown = nntp_unknown_group(conf, msg)) != NULL) {
		*reason_r = xasprintf("no such newsgroup: %s", unknown);
		free(unknown);
		return -1;
	}
	if (msg_get(msg, "Message-ID") == NULL) {
		id = msgid_generate(conf->hostname);
		msg_set(msg, "Message-ID", id);
		free(id);
	}
	nntp_date_now(date, sizeof(date));
	if (msg_get(msg, "Date") == NULL)
		msg_set(msg, "Date", date);
	/* Our own identity goes in front on the way out. */
	v = msg_get_unfolded(msg, "Path");
	path = xasprintf(".POSTED.%s!%s", client, v != NULL ? v :
	    "not-for-mail");
	free(v);
	msg_remove(msg, "Path");
	msg_prepend(msg, "Path", path);
	free(path);
	msg_add(msg, "Injection-Date", date);
	if (user != NULL)
		info = xasprintf("%s; posting-host=\"%s\"; posting-account="
		    "\"%s\"", conf->path_identity, client, user);
	else
		info = xasprintf("%s; posting-host=\"%s\"",
		    conf->path_identity, client);
	msg_add(msg, "Injection-Info", info);
	free(info);
	return 0;
}

char *
nntp_article_accept(const struct conf *conf, enum nntp_intake intake,
    const char *raw, size_t len, const char *offered, const char *client,
    const char *user, size_t *len_r, char **msgid_r, char **reason_r)
{
	struct msg *msg;
	const char *err, *missing;
	char *v, *id, *out = NULL;

	*msgid_r = NULL;
	if (msg_parse(raw, len, &msg, &err) == -1) {
		*reason_r = xasprintf("malformed article: %s", err);
		return NULL;
	}
	missing = nntp_missing(msg, intake == NNTP_POST ? nntp_post_required :
	    nntp_transit_required);
	if (missing != NULL) {
		*reason_r = xasprintf("missing required header: %s", missing);
		goto out;
	}
	if ((v = msg_get_unfolded(msg, "Message-ID")) != NULL) {
		id = msgid_extract(v);
		if (id == NULL || msgid_valid(id, &err) == -1) {
			*reason_r = xasprintf("bad Message-ID %s: %s", v,
			    id == NULL ? "no <id@domain> in it" : err);
			free(id);
			free(v);
			goto out;
		}
		free(v);
		if (offered != NULL && strcmp(id, offered) != 0) {
			*reason_r = xasprintf("Message-ID %s is not the %s"
			    " offered", id, offered);
			free(id);
			goto out;
		}
		*msgid_r = id;
	}
	if (intake == NNTP_POST) {
		if (nntp_inject(conf, msg, client, user, reason_r) == -1)
			goto out;
		if (*msgid_r == NULL) {
			v = msg_get_unfolded(msg, "Message-ID");
			*msgid_r = msgid_extract(v);
			free(v);
		}
	}
	out = msg_build(msg, len_r);
out:
	msg_free(&msg);
	if (out == NULL) {
		free(*msgid_r);
		*msgid_r = NULL;
	}
	return out;
}

/*
 * Append data to out, doubling a "." that starts a line (RFC 3977 3.1.1).
 * The runs between such lines go in whole: few lines start with a dot.
 */
static void
nntp_dot_stuff(struct evbuffer *out, const char *data, size_t len)
{
	const char *p = data, *run = data, *end = data + len, *nl;

	while (p < end) {
		if (*p == '.') {
			evbuffer_add(out, run, p - run);
			evbuffer_add(out, ".", 1);
			run = p;
		}
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			break;
		p = nl + 1;
	}
	evbuffer_add(out, run, end - run);
	if (len > 0 && end[-1] != '\n')
		evbuffer_add(out, "\r\n", 2);
}

int
nntp_article_view(const struct conf *conf, struct store *store,
    int64_t message, int part, struct evbuffer *out)
{
	const struct conf_channel *c;
	struct store_xref *xr = NULL;
	struct msg *msg = NULL;
	const char *err;
	char *raw, *v, *path, *xref = NULL, *groups = NULL, *tmp, *built;
	size_t len, n = 0, i;

	if (store_message_raw(store, message, &raw, &len) == -1)
		return -1;
	if (msg_parse(raw, len, &msg, &err) == -1) {
		/* The router stored only what parsed; a raw view will do. */
		log_warnx("event=nntp-view message=%lld error=%s",
		    (long long)message, log_q(err));
		nntp_dot_stuff(out, raw, len);
		free(raw);
		return 0;
	}
	free(raw);
	if (store_xref(store, message, &xr, &n) == -1) {
		msg_free(&msg);
		return -1;
	}
	for (i = 0; i < n; i++) {
		/*
		 * In a moderated group an article from the list was approved
		 * there: say so, or a peer such as INN refuses it.
		 */
		if (msg_get(msg, "Approved") == NULL &&
		    (c = conf_channel_by_group(conf, xr[i].group)) != NULL &&
		    c->moderated)
			msg_add(msg, "Approved", c->approve != NULL ?
			    c->approve : c->list);
		tmp = xasprintf("%s %s:%lld", xref != NULL ? xref :
		    conf->path_identity, xr[i].group, xr[i].number);
		free(xref);
		xref = tmp;
		tmp = xasprintf("%s%s%s", groups != NULL ? groups : "",
		    groups != NULL ? "," : "", xr[i].group);
		free(groups);
		groups = tmp;
	}
	store_xref_free(xr, n);

	v = msg_get_unfolded(msg, "Path");
	path = xasprintf("%s!%s", conf->path_identity, v != NULL ? v :
	    "not-for-mail");
	free(v);
	msg_remove(msg, "Path");
	msg_prepend(msg, "Path", path);
	free(path);
	if (msg_get(msg, "Newsgroups") == NULL && groups != NULL)
		msg_add(msg, "Newsgroups", groups);
	/* A peer numbers articles itself: it gets no Xref of ours. */
	msg_remove(msg, "Xref");
	if (xref != NULL && part != 'F')
		msg_add(msg, "Xref", xref);
	free(xref);
	free(groups);

	built = msg_build(msg, &len);
	/* The head ends at the empty line; the body follows it. */
	v = strstr(built, "\r\n\r\n");
	n = v != NULL ? (size_t)(v - built) + 2 : len;
	if (part == 'H')
		nntp_dot_stuff(out, built, n);
	else if (part == 'B')
		nntp_dot_stuff(out, built + (v != NULL ? n + 2 : len),
		    v != NULL ? len - n - 2 : 0);
	else
		nntp_dot_stuff(out, built, len);
	free(built);
	msg_free(&msg);
	return 0;
}

/* Unfolded, with TAB, CR and LF as spaces, as overview and HDR want it. */
static void
nntp_flatten(char *v)
{
	for (; v != NULL && *v != '\0'; v++)
		if (*v == '\t' || *v == '\r' || *v == '\n')
			*v = ' ';
}

char *
nntp_article_header(struct store *store, int64_t message, const char *name)
{
	struct msg *msg;
	const char *err;
	char *raw, *v;
	size_t len;

	if (store_message_raw(store, message, &raw, &len) == -1)
		return NULL;
	if (msg_parse(raw, len, &msg, &err) == -1) {
		free(raw);
		return NULL;
	}
	free(raw);
	v = msg_get_unfolded(msg, name);
	nntp_flatten(v);
	msg_free(&msg);
	return v;
}

#define OV(s)	((s) != NULL ? (s) : "")

/* Copy s (NULL: nothing) to p with TAB, CR and LF as spaces; the end. */
static char *
nntp_put_flat(char *p, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		*p++ = *s == '\t' || *s == '\r' || *s == '\n' ? ' ' : *s;
	return p;
}

/* Write n in decimal at p; the end. */
static char *
nntp_put_num(char *p, long long n)
{
	char digits[24];
	unsigned long long u = n < 0 ? -(unsigned long long)n :
	    (unsigned long long)n;
	size_t i = 0;

	do
		digits[i++] = '0' + u % 10;
	while ((u /= 10) != 0);
	if (n < 0)
		*p++ = '-';
	while (i > 0)
		*p++ = digits[--i];
	return p;
}

void
nntp_overview_line(struct store *store, const struct store_overview *o,
    long long number, struct evbuffer *out)
{
	const char *subject = o->subject, *from = o->from, *date = o->date;
	char *fsubject = NULL, *ffrom = NULL, *fdate = NULL, *raw, *p;
	long long lines = o->lines;
	struct evbuffer_iovec v;
	struct msg *msg;
	const char *err;
	size_t len, i;

	/* Rows stored before the overview columns: read the message. */
	if (o->subject == NULL && store_message_raw(store, o->message, &raw,
	    &len) == 0) {
		if (msg_parse(raw, len, &msg, &err) == 0) {
			subject = fsubject = msg_get_unfolded(msg, "Subject");
			from = ffrom = msg_get_unfolded(msg, "From");
			date = fdate = msg_get_unfolded(msg, "Date");
			for (lines = 0, i = 0; i < msg->body_len; i++)
				lines += msg->body[i] == '\n';
			msg_free(&msg);
		}
		free(raw);
	}
	/*
	 * Copied into the output's own space, one line at a time, rather
	 * than by printf: a whole group's overview is read at once, and
	 * printf was a third of its time.  Each field takes its length;
	 * each number at most 20 digits and a sign.
	 */
	len = strlen(OV(subject)) + strlen(OV(from)) + strlen(OV(date)) +
	    strlen(o->msgid) + strlen(OV(o->refs)) + 3 * 21 + 7 + 2;
	if (evbuffer_reserve_space(out, len, &v, 1) < 1 || v.iov_len < len)
		goto out;	/* out of memory: the line is left out */
	p = nntp_put_num(v.iov_base, number);
	*p++ = '\t';
	p = nntp_put_flat(p, subject);
	*p++ = '\t';
	p = nntp_put_flat(p, from);
	*p++ = '\t';
	p = nntp_put_flat(p, date);
	*p++ = '\t';
	p = nntp_put_flat(p, o->msgid);
	*p++ = '\t';
	p = nntp_put_flat(p, o->refs);
	*p++ = '\t';
	p = nntp_put_num(p, o->bytes);
	*p++ = '\t';
	p = nntp_put_num(p, lines < 0 ? 0 : lines);
	*p++ = '\r';
	*p++ = '\n';
	v.iov_len = p - (char *)v.iov_base;
	evbuffer_commit_space(out, &v, 1);
out:
	free(fsubject);
	free(ffrom);
	free(fdate);
}
