/*
 * smtp_check.c: would the gateway refuse this list mail?  Asked by
 * syncd-milter while the MTA in front of the lists still talks to the
 * sender, so that the sender hears the reason at once instead of the
 * gateway dropping the list's copy later.
 *
 * syncd-milter sends what it knows of a message over the control socket
 * as "milter-check KEY=VALUE..." (control.c); smtp_server_check() parses
 * the words with smtp_check_parse() and answers with smtp_check_run() on
 * the running configuration, blacklist and store.  Only mail to the
 * posting address of a list that a channel gates from (any direction but
 * news-to-list) is looked at; everything else is accepted.
 *
 * The values are xtext (RFC 3461 section 4), so that an address or a
 * header value with spaces or control bytes stays one word.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "syncd.h"
#include "smtp.h"

/* Longest value we take; an address is at most 254 octets anyway. */
#define SMTP_CHECK_VALUE_MAX	1000

/* RFC 3461 section 4: "+" and two hex digits for what is not xchar. */
static char *
smtp_check_xtext_decode(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;
	unsigned int v;
	int i, d;

	while (*s != '\0') {
		if (*s == '+') {
			for (v = 0, i = 1; i <= 2; i++) {
				d = s[i];
				if (d >= '0' && d <= '9')
					d -= '0';
				else if (d >= 'A' && d <= 'F')
					d -= 'A' - 10;
				else if (d >= 'a' && d <= 'f')
					d -= 'a' - 10;
				else
					goto bad;
				v = v * 16 + d;
			}
			if (v == 0)
				goto bad;	/* no NUL inside a C string */
			*o++ = v;
			s += 3;
			continue;
		}
		if ((unsigned char)*s < 33 || (unsigned char)*s > 126 ||
		    *s == '=')
			goto bad;
		*o++ = *s++;
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static void
smtp_check_push(char ***list, size_t *n, char *s)
{
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = s;
}

static int
smtp_check_number(const char *s, long long *n_r)
{
	char *end;

	errno = 0;
	*n_r = strtoll(s, &end, 10);
	return *s < '0' || *s > '9' || *end != '\0' || errno != 0 ? -1 : 0;
}

int
smtp_check_parse(char *const *words, int nwords, struct smtp_check *q,
    char **err_r)
{
	const char *eq;
	char *key, *value, **single;
	long long *num;
	int i;

	memset(q, 0, sizeof(*q));
	q->declared = q->size = -1;
	for (i = 0; i < nwords; i++) {
		if ((eq = strchr(words[i], '=')) == NULL) {
			*err_r = xasprintf("milter-check: '%s' is not"
			    " KEY=VALUE", words[i]);
			goto fail;
		}
		key = xstrndup(words[i], eq - words[i]);
		if (strlen(eq + 1) > 3 * SMTP_CHECK_VALUE_MAX ||
		    (value = smtp_check_xtext_decode(eq + 1)) == NULL) {
			*err_r = xasprintf("milter-check: the value of %s is"
			    " not xtext (RFC 3461) or too long", key);
			free(key);
			goto fail;
		}
		single = NULL;
		num = NULL;
		if (strcmp(key, "rcpt") == 0)
			smtp_check_push(&q->rcpts, &q->nrcpts, value);
		else if (strcmp(key, "gateway") == 0)
			smtp_check_push(&q->gateways, &q->ngateways, value);
		else if (strcmp(key, "sender") == 0)
			single = &q->sender;
		else if (strcmp(key, "from") == 0)
			single = &q->from;
		else if (strcmp(key, "msgid") == 0)
			single = &q->msgid;
		else if (strcmp(key, "declared") == 0)
			num = &q->declared;
		else if (strcmp(key, "size") == 0)
			num = &q->size;
		else {
			*err_r = xasprintf("milter-check: unknown key '%s'",
			    key);
			free(key);
			free(value);
			goto fail;
		}
		if (single != NULL && *single != NULL) {
			*err_r = xasprintf("milter-check: %s given twice", key);
			free(key);
			free(value);
			goto fail;
		}
		if (single != NULL)
			*single = value;
		if (num != NULL) {
			if (*num != -1 || smtp_check_number(value, num) == -1) {
				*err_r = xasprintf("milter-check: %s is not a"
				    " size or given twice", key);
				free(key);
				free(value);
				goto fail;
			}
			free(value);
		}
		free(key);
	}
	if (q->nrcpts == 0) {
		*err_r = xstrdup("milter-check: no rcpt= given");
		goto fail;
	}
	return 0;
fail:
	smtp_check_clear(q);
	return -1;
}

void
smtp_check_clear(struct smtp_check *q)
{
	size_t i;

	for (i = 0; i < q->nrcpts; i++)
		free(q->rcpts[i]);
	for (i = 0; i < q->ngateways; i++)
		free(q->gateways[i]);
	free(q->rcpts);
	free(q->gateways);
	free(q->sender);
	free(q->from);
	free(q->msgid);
	memset(q, 0, sizeof(*q));
	q->declared = q->size = -1;
}

/* The channel whose list's posting address addr is, if it gates list mail. */
static const struct conf_channel *
smtp_check_channel(const struct conf *conf, const char *addr)
{
	const struct conf_channel *c;

	TAILQ_FOREACH(c, &conf->channels, entry)
		if (c->list != NULL && strcasecmp(c->list, addr) == 0 &&
		    c->direction != DIRECTION_NEWS_TO_LIST)
			return c;
	return NULL;
}

/* Whether one of the message's gateway headers names us. */
static int
smtp_check_ours(const struct conf *conf, const struct smtp_check *q)
{
	size_t i;

	for (i = 0; i < q->ngateways; i++)
		if (router_is_ours(q->gateways[i], conf->path_identity))
			return 1;
	return 0;
}

/* A peer's text for a reply line: printable ASCII, at most max octets. */
static char *
smtp_check_printable(const char *s, size_t max)
{
	char *out = xstrndup(s, max), *p;

	for (p = out; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || (unsigned char)*p > '~')
			*p = '?';
	return out;
}

static void
smtp_check_reject(struct smtp_check_result *res, int code, char *text)
{
	res->verdict = SMTP_CHECK_REJECT;
	res->code = code;
	res->text = text;
}

int
smtp_check_run(const struct conf *conf, const struct blacklist *bl,
    struct store *store, const struct smtp_check *q,
    struct smtp_check_result *res, char **err_r)
{
	const struct conf_channel *c = NULL;
	const char *addrs[2];
	char *who, *where;
	long long size;
	size_t i;
	int days, have;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < q->nrcpts && c == NULL; i++)
		c = smtp_check_channel(conf, q->rcpts[i]);
	if (c == NULL) {
		res->verdict = SMTP_CHECK_ACCEPT;
		return 0;
	}
	res->channel = c->name;

	/* Larger than syncd takes: its listener would answer 552 too. */
	size = q->size > q->declared ? q->size : q->declared;
	if (size > conf->max_message_size) {
		smtp_check_reject(res, 552, xasprintf("5.3.4 The message is"
		    " too large for the news gateway of %s: %lld bytes, at"
		    " most %lld (max-message-size)", c->list, size,
		    conf->max_message_size));
		return 0;
	}

	/* The reactor drops these senders' list mail (blacklist.c). */
	addrs[0] = q->sender;
	addrs[1] = q->from;
	for (i = 0; i < 2; i++) {
		if (addrs[i] == NULL || !(blacklist_match(bl, addrs[i],
		    &days) & BLACKLIST_DROP))
			continue;
		who = smtp_check_printable(addrs[i], 254);
		smtp_check_reject(res, 550, xasprintf("5.7.1 %s may not post"
		    " to %s: the sender is on the news gateway's blacklist",
		    who, c->list));
		free(who);
		return 0;
	}

	/*
	 * A Message-ID the store has: the group has the message already, so
	 * this copy came round in a loop (or is sent again).  Our own copy to
	 * the list carries our gateway header and is welcome; a post held
	 * for the list's moderators (2) comes back by the list to be
	 * released, so it is welcome too.
	 */
	if (q->msgid != NULL && !smtp_check_ours(conf, q)) {
		if ((have = store_has_msgid(store, q->msgid)) == -1) {
			*err_r = xstrdup("could not read the store");
			return -1;
		}
		if (have == 1) {
			who = smtp_check_printable(q->msgid, MSGID_MAX);
			where = c->newsgroup != NULL ?
			    xasprintf("the group %s", c->newsgroup) :
			    c->board != NULL ?
			    xasprintf("the forum board %s", c->board) :
			    xstrdup("the news gateway");
			smtp_check_reject(res, 554, xasprintf("5.7.0 %s is"
			    " already in %s: not taken again from %s (a"
			    " loop?)", who, where, c->list));
			free(who);
			free(where);
			return 0;
		}
	}
	res->verdict = q->size < 0 ? SMTP_CHECK_CONTINUE : SMTP_CHECK_ACCEPT;
	return 0;
}

char *
smtp_check_line(const struct smtp_check_result *res)
{
	switch (res->verdict) {
	case SMTP_CHECK_ACCEPT:
		break;
	case SMTP_CHECK_CONTINUE:
		return xstrdup("continue");
	case SMTP_CHECK_REJECT:
		return xasprintf("reject %d %s", res->code, res->text);
	}
	return xstrdup("accept");
}

void
smtp_check_result_free(struct smtp_check_result *res)
{
	free(res->text);
	memset(res, 0, sizeof(*res));
}
