/*
 * fuzz_msg.c: libFuzzer target for the message module (common/msg.c,
 * msgid.c, rfc2047.c, mime.c).
 *
 * Each input is taken as a whole message and goes through every parser
 * and builder of the module; besides running clean under ASan and UBSan,
 * the results must keep the module's promises, checked here with
 * fuzz_assert: msg_build gives the input back with CRLF line ends,
 * Message-IDs handed out are valid, References fit their limit and keep
 * their first ID, rfc2047_encode output decodes to what went in and keeps
 * its line limits, and mime_check agrees with the tree libetpan builds.
 *
 * Build (see tests/fuzz/corpus/msg/ for seeds):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icommon \
 *       -D_GNU_SOURCE tests/fuzz/fuzz_msg.c common/[a-z]*.c -letpan \
 *       -o fuzz_msg
 *   ./fuzz_msg -max_len=65536 -timeout=10 tests/fuzz/corpus/msg
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Stop with a message libFuzzer shows when a promise is broken. */
#define fuzz_assert(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_msg: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

/* What msg_build must give for an input msg_parse accepted. */
static char *
fuzz_expected(const char *s, size_t len, int nobody, size_t *len_r)
{
	char *out = xmalloc(2 * len + 3);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out[n++] = '\r';
		out[n++] = s[i];
	}
	if (nobody && n > 0 && !(n >= 2 && out[n - 2] == '\r' &&
	    out[n - 1] == '\n')) {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

/* Whether some line of s is longer than MSG_LINE_MAX. */
static int
fuzz_long_line(const char *s, size_t len)
{
	size_t i = 0, e;
	const char *nl;

	while (i < len) {
		nl = memchr(s + i, '\n', len - i);
		e = nl == NULL ? len : (size_t)(nl - s);
		if (nl != NULL && e > i && s[e - 1] == '\r')
			e--;
		if (e - i > MSG_LINE_MAX)
			return 1;
		i = nl == NULL ? len : (size_t)(nl - s) + 1;
	}
	return 0;
}

/* s without CRLF pairs (unfolding, RFC 5322 section 2.2.3). */
static char *
fuzz_unfold(const char *s)
{
	char *out = xstrdup(s), *o = out;

	for (; *s != '\0'; s++) {
		if (s[0] == '\r' && s[1] == '\n') {
			s++;
			continue;
		}
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* s trimmed of the white space msg_get_unfolded trims. */
static char *
fuzz_trim(const char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	return xstrndup(s, len);
}

/* rfc2047_encode's promises for text, under a field named name. */
static void
fuzz_encode(const char *text, const char *name)
{
	char *enc, *unf, *dec, *word, *wdec;
	const char *p, *e, *q;
	size_t col;
	int fffd = strstr(text, "\xef\xbf\xbd") != NULL;

	enc = rfc2047_encode(text, name);
	/* Lines of at most 78 octets, "Name: " counted on the first. */
	col = strlen(name) + 2;
	for (p = enc; (e = strstr(p, "\r\n")) != NULL; p = e + 2) {
		if (strlen(name) <= 56)
			fuzz_assert(col + (size_t)(e - p) <= 78);
		fuzz_assert(e[2] == ' ' || e[2] == '\t');
		col = 0;
	}
	if (strlen(name) <= 56)
		fuzz_assert(col + strlen(p) <= 78);
	/* Encoded words of at most 75 octets, each whole UTF-8. */
	for (p = enc; (p = strstr(p, "=?UTF-8?")) != NULL; p = q) {
		q = strstr(p + 10, "?=");
		fuzz_assert(q != NULL);
		q += 2;
		fuzz_assert(q - p <= 75);
		word = xstrndup(p, q - p);
		wdec = rfc2047_decode(word);
		if (!fffd)
			fuzz_assert(strstr(wdec, "\xef\xbf\xbd") == NULL);
		free(word);
		free(wdec);
	}
	unf = fuzz_unfold(enc);
	dec = rfc2047_decode(unf);
	fuzz_assert(strcmp(dec, text) == 0);
	free(dec);
	free(unf);
	free(enc);
}

/* References promises: within max, first kept, the rest a real tail. */
static void
fuzz_references(const char *refs, size_t max)
{
	char **ids, **got, *t;
	size_t n, ngot, i;

	n = msgid_list(refs, &ids);
	t = references_trim(refs, max);
	if (n == 0 || strlen(ids[0]) > max)
		fuzz_assert(t == NULL);
	else {
		fuzz_assert(t != NULL && strlen(t) <= max);
		fuzz_assert(strchr(t, '\r') == NULL && strchr(t, '\n') == NULL);
		ngot = msgid_list(t, &got);
		fuzz_assert(ngot >= 1 && ngot <= n);
		fuzz_assert(strcmp(got[0], ids[0]) == 0);
		for (i = 1; i < ngot; i++)
			fuzz_assert(strcmp(got[i], ids[n - ngot + i]) == 0);
		msgid_list_free(got, ngot);
	}
	free(t);
	msgid_list_free(ids, n);
}

/*
 * Every ID in a list must pass msgid_valid.  So must what msgid_ours
 * takes for one of ours: the forum posts under it.
 */
static void
fuzz_ids(const char *value)
{
	char **ids;
	size_t n, i;

	n = msgid_list(value, &ids);
	for (i = 0; i < n; i++)
		fuzz_assert(msgid_valid(ids[i], NULL) == 0);
	msgid_list_free(ids, n);
	if (msgid_ours(value, "news.example.org"))
		fuzz_assert(msgid_valid(value, NULL) == 0);
}

/* The message side: parse, build back, read the fields. */
static void
fuzz_msg(const char *data, size_t size)
{
	struct msg *msg, *again;
	const char *err, *v;
	char *built, *expect, *s, *t, *rebuilt, *u;
	size_t blen, elen, rlen;
	time_t when;

	if (msg_parse(data, size, &msg, &err) == -1) {
		fuzz_assert(err != NULL);
		return;
	}
	fuzz_assert(!!(msg->flags & MSG_LONG_LINE) ==
	    fuzz_long_line(data, size));
	built = msg_build(msg, &blen);
	expect = fuzz_expected(data, size, msg->flags & MSG_NO_BODY, &elen);
	fuzz_assert(blen == elen && memcmp(built, expect, blen) == 0);
	free(expect);
	fuzz_assert(msg_parse(built, blen, &again, &err) == 0);
	fuzz_assert(!(again->flags & MSG_BARE_LF));
	rebuilt = msg_build(again, &rlen);
	fuzz_assert(rlen == blen && memcmp(rebuilt, built, blen) == 0);
	free(rebuilt);
	msg_free(&again);

	if ((s = msg_subject(msg)) != NULL) {
		fuzz_assert(utf8_valid(s, strlen(s)));
		/* Through a header and back: only outer white space goes. */
		again = msg_new();
		t = rfc2047_encode(s, "Subject");
		msg_set(again, "Subject", t);
		free(t);
		t = msg_subject(again);
		u = fuzz_trim(s);
		rebuilt = fuzz_trim(t);
		fuzz_assert(strcmp(u, rebuilt) == 0);
		free(u);
		free(rebuilt);
		free(t);
		msg_free(&again);
		free(s);
	}
	if ((s = msg_from(msg)) != NULL) {
		fuzz_assert(utf8_valid(s, strlen(s)));
		free(s);
	}
	when = msg_date(msg);
	fuzz_assert(when >= -1);
	if ((v = msg_get(msg, "Message-ID")) != NULL &&
	    (s = msgid_extract(v)) != NULL) {
		fuzz_assert(msgid_valid(s, NULL) == 0);
		free(s);
	}
	if ((v = msg_get(msg, "References")) != NULL) {
		fuzz_ids(v);
		fuzz_references(v, 0);
		fuzz_references(v, 30);
		fuzz_references(v, 250);
		fuzz_references(v, 998);
		fuzz_references(v, strlen(v));
	}
	if ((v = msg_get(msg, "In-Reply-To")) != NULL)
		fuzz_ids(v);
	if ((s = msg_parent_id(msg)) != NULL) {
		fuzz_assert(msgid_valid(s, NULL) == 0);
		free(s);
	}
	if ((s = references_build(msg, 998)) != NULL) {
		fuzz_assert(strlen(s) <= 998);
		fuzz_ids(s);
		free(s);
	}
	/* Fields we add keep to the line limits and stay one field. */
	if ((v = msg_get(msg, "Subject")) != NULL) {
		msg_add(msg, "X-Fuzz", v);
		rebuilt = msg_build(msg, &rlen);
		fuzz_assert(msg_parse(rebuilt, rlen, &again, &err) == 0);
		fuzz_assert(again->nheaders == msg->nheaders);
		msg_free(&again);
		free(rebuilt);
	}
	free(built);
	msg_free(&msg);
}

/* Checks on every part of a MIME tree. */
struct fuzz_walk {
	const char	*raw;
	size_t		 len;
	size_t		 n;
	int		 depth;
};

/* Decode a part; its offsets must lie in the message. */
static int
fuzz_part(struct mime_part *p, void *arg)
{
	struct fuzz_walk *w = arg;
	char *d;
	size_t dlen;

	fuzz_assert(p->header_off + p->header_len == p->body_off);
	fuzz_assert(p->body_off <= w->len && p->body_len <= w->len -
	    p->body_off);
	fuzz_assert(p->depth <= MIME_DEPTH_MAX);
	fuzz_assert(p->type != NULL && p->encoding != NULL);
	fuzz_assert(p->parent == NULL || p->depth == p->parent->depth + 1);
	d = mime_decode(p, w->raw, &dlen);
	fuzz_assert(dlen <= p->body_len);
	free(d);
	w->n++;
	if (p->depth > w->depth)
		w->depth = p->depth;
	return 0;
}

/* Stop the walk at the second part. */
static int
fuzz_stop(struct mime_part *p, void *arg)
{
	size_t *n = arg;

	return ++*n == 2;
}

/* The MIME side: mime_check must agree with libetpan's tree. */
static void
fuzz_mime(const char *data, size_t size)
{
	struct fuzz_walk w = { data, size, 0, -1 };
	struct mime_part *root;
	const char *err = NULL;
	size_t nparts, stop = 0;
	int depth, checked;

	checked = mime_check(data, size, &depth, &nparts, &err) == 0;
	if (mime_parse(data, size, &root, &err) == -1) {
		fuzz_assert(err != NULL);
		fuzz_assert(strcmp(err,
		    "MIME tree differs from the checked structure") != 0);
		fuzz_assert(strcmp(err, "MIME part outside the message") != 0);
		return;
	}
	fuzz_assert(checked);
	fuzz_assert(root->depth == 0 && root->parent == NULL);
	fuzz_assert(mime_walk(root, fuzz_part, &w) == 0);
	fuzz_assert(w.n == nparts && w.depth == depth);
	fuzz_assert(mime_walk(root, fuzz_stop, &stop) == (nparts >= 2));
	mime_free(&root);
	fuzz_assert(root == NULL);
}

/* Header text on its own: decode, then encode back. */
static void
fuzz_rfc2047(const char *data, size_t size)
{
	static const char *charsets[] = { "utf-8", "iso-8859-1",
	    "windows-1252", "iso-8859-2", "koi8-r", "shift_jis", "euc-jp",
	    "iso-2022-jp", "gb18030", "big5", "utf-16", "utf-7", "x-unknown" };
	char *s, *d, *c, **ids;
	size_t clen;

	s = xmemdup(data, size);
	d = rfc2047_decode(s);
	fuzz_assert(utf8_valid(d, strlen(d)));
	fuzz_encode(d, "Subject");
	fuzz_encode(d, "X-A-Rather-Long-Header-Field-Name");
	free(d);
	free(s);
	if (size > 0) {
		c = charset_to_utf8(charsets[(unsigned char)data[0] %
		    (sizeof(charsets) / sizeof(charsets[0]))], data + 1,
		    size - 1, &clen);
		if (c != NULL) {
			fuzz_assert(utf8_valid(c, clen));
			free(c);
		}
	}
	/* A valid ID alone is found as it is, or (libetpan) not at all. */
	s = xmemdup(data, size);
	if (msgid_valid(s, NULL) == 0) {
		fuzz_assert(strlen(s) <= MSGID_MAX);
		if ((d = msgid_extract(s)) != NULL)
			fuzz_assert(strcmp(d, s) == 0);
		free(d);
		fuzz_assert(msgid_list(s, &ids) == 1);
		fuzz_assert(strcmp(ids[0], s) == 0);
		msgid_list_free(ids, 1);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	fuzz_msg(s, size);
	fuzz_mime(s, size);
	fuzz_rfc2047(s, size);
	return 0;
}
