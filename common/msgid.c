/*
 * msgid.c: Message-IDs (RFC 5322 section 3.6.4, RFC 5536 section 3.1.3,
 * RFC 3977 section 3.6) and the References chain built from them.
 *
 * The NNTP server validates the IDs it is offered with msgid_valid, the
 * forum gives each new post an ID from msgid_generate, and every side
 * threads replies with msg_parent_id and references_build.  A Message-ID
 * is never rewritten: what we cannot use as it stands is dropped, not
 * repaired.  Returned strings are the caller's to free.
 */

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <libetpan/libetpan.h>

#include "common.h"

/* The shortest Message-ID: "<a@b>". */
#define MSGID_MIN	5

int
msgid_valid(const char *id, const char **err_r)
{
	const char *err = NULL, *at = NULL;
	size_t len = strlen(id), i;
	unsigned char c;

	if (len > MSGID_MAX)
		err = "Message-ID longer than 250 octets";
	else if (len < MSGID_MIN)
		err = "Message-ID too short";
	else if (id[0] != '<')
		err = "Message-ID does not start with <";
	else if (id[len - 1] != '>')
		err = "Message-ID does not end with >";
	for (i = 1; err == NULL && i < len - 1; i++) {
		c = id[i];
		/* RFC 3977 section 3.6: printable US-ASCII, no white space. */
		if (c < 33 || c > 126)
			err = "Message-ID holds white space or a byte that "
			    "is not printable US-ASCII";
		else if (c == '<' || c == '>')
			err = "Message-ID holds < or > inside";
		else if (c == '@') {
			if (at != NULL)
				err = "Message-ID holds more than one @";
			at = id + i;
		}
	}
	if (err == NULL) {
		if (at == NULL)
			err = "Message-ID has no @";
		else if (at == id + 1)
			err = "Message-ID has nothing before the @";
		else if (at == id + len - 2)
			err = "Message-ID has nothing after the @";
	}
	if (err != NULL) {
		if (err_r != NULL)
			*err_r = err;
		return -1;
	}
	return 0;
}

char *
msgid_extract(const char *value)
{
	char *copy, *id, *out;
	size_t idx = 0, n;

	/*
	 * libetpan reads the comments and white space around the ID, but
	 * it also rewrites the ID itself: "<a b@c>" comes back as "ab@c"
	 * and control bytes vanish.  So what it returns is used only if
	 * it stands in the value exactly as it was sent, and then only if
	 * it is valid.  copy outlives nothing libetpan returns (id is a
	 * fresh string).
	 */
	copy = xstrdup(value);
	if (!msg_comments_ok(copy, strlen(copy)) ||
	    mailimf_msg_id_parse(copy, strlen(copy), &idx, &id) !=
	    MAILIMF_NO_ERROR) {
		free(copy);
		return NULL;
	}
	out = xasprintf("<%s>", id);
	free(id);
	n = strlen(out);
	if (memmem(copy, strlen(copy), out, n) == NULL ||
	    msgid_valid(out, NULL) == -1) {
		free(out);
		out = NULL;
	}
	free(copy);
	return out;
}

/* The offset after the comment that starts at s[i] (RFC 5322 3.2.2). */
static size_t
msgid_skip_comment(const char *s, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return len;
}

/*
 * The valid <...> tokens of value, outside comments, in order.
 *
 * This is our own scanner, not mailimf_msg_id_list_parse: libetpan's
 * list parser stops at the first token it cannot read, so one folded or
 * broken ID loses every ID after it (measured on 1.9.4 with
 * "<a@b> <c@d" and "<a@b> <c>d@e> <f@g>"), restarting it after the bad
 * token takes quadratic time on hostile input (3.7 s for 64 KiB of
 * "<a "), and it rewrites the IDs it does read.  Each step here moves
 * forward, so the work is linear.
 */
size_t
msgid_list(const char *value, char ***ids_r)
{
	char **ids = NULL, *tok;
	size_t len = strlen(value), i = 0, j, n = 0, cap = 0;

	while (i < len) {
		if (value[i] == '(') {
			i = msgid_skip_comment(value, len, i);
			continue;
		}
		if (value[i] != '<') {
			i++;
			continue;
		}
		for (j = i + 1; j < len && value[j] != '>' && value[j] != '<';
		    j++)
			;
		if (j == len)
			break;
		if (value[j] == '<') {
			/* "<junk <id>": the token starts again here. */
			i = j;
			continue;
		}
		if (j + 1 - i <= MSGID_MAX) {
			tok = xmemdup(value + i, j + 1 - i);
			if (msgid_valid(tok, NULL) == 0) {
				if (n == cap) {
					cap = cap == 0 ? 8 : cap * 2;
					ids = xreallocarray(ids, cap,
					    sizeof(*ids));
				}
				ids[n++] = tok;
			} else
				free(tok);
		}
		i = j + 1;
	}
	*ids_r = ids;
	return n;
}

void
msgid_list_free(char **ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* Write v in base 36 to out, NUL-terminated; returns the digit count. */
static size_t
msgid_base36(char *out, uint64_t v)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char tmp[16];
	size_t n = 0, i;

	do {
		tmp[n++] = digits[v % 36];
		v /= 36;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

/* id-right from domain: dot-atom-text bytes only (RFC 5322 section 3.2.3). */
static char *
msgid_domain(const char *domain, size_t room)
{
	char *dom;
	size_t i;
	unsigned char c;

	dom = xstrndup(*domain == '\0' ? "invalid" : domain, room);
	for (i = 0; dom[i] != '\0'; i++) {
		c = dom[i];
		if (c < 33 || c > 126 || strchr("()<>[]:;@\\,\"", c) != NULL)
			dom[i] = '-';
	}
	return dom;
}

char *
msgid_generate(const char *domain)
{
	static unsigned int counter;
	char left[64], *dom, *out;
	struct timespec ts;
	uint64_t r, usec;
	size_t n;
	ssize_t got;

	/* 64 random bits make the ID unique; the time keeps them sortable. */
	do {
		got = getrandom(&r, sizeof(r), 0);
	} while (got == -1 && errno == EINTR);
	if (got != (ssize_t)sizeof(r))
		fatal("msgid_generate: getrandom");
	clock_gettime(CLOCK_REALTIME, &ts);
	usec = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	n = msgid_base36(left, usec);
	left[n++] = '.';
	n += msgid_base36(left + n, r);
	left[n++] = '.';
	n += msgid_base36(left + n,
	    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));

	dom = msgid_domain(domain, MSGID_MAX - n - 3);
	out = xasprintf("<%s@%s>", left, dom);
	free(dom);
	if (msgid_valid(out, NULL) == -1)
		fatalx("msgid_generate: made an invalid Message-ID %s", out);
	return out;
}

int
msgid_ours(const char *id, const char *domain)
{
	size_t left, dots = 0;
	char *dom;
	int ours;

	/* Three base-36 numbers, none empty, joined by dots. */
	if (id[0] != '<')
		return 0;
	for (left = 1; id[left] != '@'; left++) {
		if (id[left] == '.') {
			if (id[left - 1] == '<' || id[left - 1] == '.')
				return 0;
			dots++;
		} else if (!isdigit((unsigned char)id[left]) &&
		    !islower((unsigned char)id[left]))
			return 0;
	}
	if (dots != 2 || id[left - 1] == '.' || left + 2 > MSGID_MAX)
		return 0;
	dom = msgid_domain(domain, MSGID_MAX - (left - 1) - 3);
	ours = strncmp(id + left + 1, dom, strlen(dom)) == 0 &&
	    strcmp(id + left + 1 + strlen(dom), ">") == 0;
	free(dom);
	return ours;
}

char *
msg_parent_id(const struct msg *msg)
{
	const char *v;
	char **ids, *id = NULL;
	size_t n;

	if ((v = msg_get(msg, "References")) != NULL &&
	    (n = msgid_list(v, &ids)) > 0) {
		id = xstrdup(ids[n - 1]);
		msgid_list_free(ids, n);
		return id;
	}
	if ((v = msg_get(msg, "In-Reply-To")) != NULL &&
	    (n = msgid_list(v, &ids)) > 0) {
		id = xstrdup(ids[0]);
		msgid_list_free(ids, n);
	}
	return id;
}

char *
references_build(const struct msg *parent, size_t max)
{
	const char *v;
	char **ids = NULL, *mid, *joined, *out;
	size_t n = 0, i, len = 0, off = 0;

	/*
	 * RFC 5322 section 3.6.4: the parent's References, else its
	 * In-Reply-To when that holds a single ID, then its Message-ID.
	 * A References field with no valid ID in it counts as missing.
	 */
	if ((v = msg_get(parent, "References")) != NULL)
		n = msgid_list(v, &ids);
	if (n == 0 && (v = msg_get(parent, "In-Reply-To")) != NULL) {
		n = msgid_list(v, &ids);
		if (n != 1) {
			msgid_list_free(ids, n);
			ids = NULL;
			n = 0;
		}
	}
	if ((v = msg_get(parent, "Message-ID")) != NULL &&
	    (mid = msgid_extract(v)) != NULL) {
		ids = xreallocarray(ids, n + 1, sizeof(*ids));
		ids[n++] = mid;
	}
	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++)
		len += strlen(ids[i]) + 1;
	joined = xmalloc(len);
	for (i = 0; i < n; i++) {
		if (i > 0)
			joined[off++] = ' ';
		memcpy(joined + off, ids[i], strlen(ids[i]));
		off += strlen(ids[i]);
	}
	joined[off] = '\0';
	msgid_list_free(ids, n);
	out = references_trim(joined, max);
	free(joined);
	return out;
}

char *
references_trim(const char *refs, size_t max)
{
	char **ids, *out;
	size_t n, i, first, len, k, off;

	if ((n = msgid_list(refs, &ids)) == 0)
		return NULL;
	if ((first = strlen(ids[0])) > max) {
		msgid_list_free(ids, n);
		return NULL;
	}
	/*
	 * Keep the first ID (the thread's root) and the longest tail that
	 * fits after it: the nearest ancestors matter most, and RFC 5537
	 * section 3.4.4 asks for the first to stay.  The tail is taken
	 * without gaps so that the ancestors it lists are a real chain.
	 */
	len = first;
	for (k = n; k > 1; k--) {
		if (len + 1 + strlen(ids[k - 1]) > max)
			break;
		len += 1 + strlen(ids[k - 1]);
	}
	out = xmalloc(len + 1);
	memcpy(out, ids[0], first);
	off = first;
	for (i = k; i < n; i++) {
		out[off++] = ' ';
		memcpy(out + off, ids[i], strlen(ids[i]));
		off += strlen(ids[i]);
	}
	out[off] = '\0';
	msgid_list_free(ids, n);
	return out;
}
