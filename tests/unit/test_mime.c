/*
 * test_mime.c: unit tests for common/mime.c (the MIME tree, the checks
 * that keep libetpan away from input that crashes or stalls it, and the
 * transfer decodings).
 *
 * The tests named regress_* hold inputs that crashed libetpan 1.9.4, or
 * made it take quadratic time, before mime_check refused them.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common.h"

/* A growing string for building big test messages. */
struct text {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

/* Append s. */
static void
add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	memcpy(t->p + t->len, s, n + 1);
	t->len += n;
}

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Parse raw, which must succeed, and check mime_check agrees. */
static struct mime_part *
parse(const char *raw, size_t len)
{
	struct mime_part *root = NULL;
	const char *err = NULL;
	size_t nparts;
	int depth;

	assert_int_equal(mime_check(raw, len, &depth, &nparts, &err), 0);
	if (mime_parse(raw, len, &root, &err) != 0)
		fail_msg("mime_parse: %s", err);
	assert_non_null(root);
	return root;
}

/* Check that raw is refused for the reason expect. */
static void
check_refused(const char *raw, size_t len, const char *expect)
{
	struct mime_part *root = (struct mime_part *)1;
	const char *err = NULL;

	assert_int_equal(mime_check(raw, len, NULL, NULL, &err), -1);
	assert_string_equal(err, expect);
	err = NULL;
	assert_int_equal(mime_parse(raw, len, &root, &err), -1);
	assert_null(root);
	assert_string_equal(err, expect);
}

/* The body of part p, with its transfer encoding undone. */
static char *
body(const struct mime_part *p, const char *raw, size_t *len_r)
{
	char *s;

	s = mime_decode(p, raw, len_r);
	assert_non_null(s);
	return s;
}

/* A message without MIME is one text/plain part. */
static void
test_plain(void **state)
{
	const char *raw = "From: a@example.org\r\nSubject: x\r\n\r\nhello\r\n";
	struct mime_part *root;
	size_t n, nparts;
	int depth;
	char *b;
	const char *err;

	root = parse(raw, strlen(raw));
	assert_string_equal(root->type, "text/plain");
	assert_null(root->charset);
	assert_null(root->boundary);
	assert_null(root->filename);
	assert_null(root->disposition);
	assert_string_equal(root->encoding, "7bit");
	assert_int_equal(root->depth, 0);
	assert_null(root->parent);
	assert_int_equal(root->nchildren, 0);
	assert_int_equal(root->header_off, 0);
	assert_int_equal(root->header_len, 35);
	assert_int_equal(root->body_off, 35);
	assert_int_equal(root->body_len, 7);
	b = body(root, raw, &n);
	assert_int_equal(n, 7);
	assert_string_equal(b, "hello\r\n");
	free(b);
	mime_free(&root);
	assert_null(root);
	mime_free(&root);
	assert_int_equal(mime_check(raw, strlen(raw), &depth, &nparts, &err),
	    0);
	assert_int_equal(depth, 0);
	assert_int_equal(nparts, 1);
	/* An empty message, and one with no header at all. */
	root = parse("", 0);
	assert_string_equal(root->type, "text/plain");
	mime_free(&root);
	root = parse("\r\nbody", 6);
	assert_int_equal(root->body_off, 2);
	mime_free(&root);
}

static const char alt[] =
    "From: a@example.org\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: Multipart/Alternative; boundary=\"=_alt 1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--=_alt 1\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: Quoted-Printable\r\n"
    "\r\n"
    "Gr=C3=BC=C3=9Fe, soft=\r\n"
    "break\r\n"
    "--=_alt 1\r\n"
    "Content-Type: text/html; charset=\"iso-8859-1\"\r\n"
    "\r\n"
    "<p>Gr\xfc\xdf" "e</p>\r\n"
    "--=_alt 1--\r\n"
    "epilogue\r\n";

/* multipart/alternative: the parts, their types, charsets and bodies. */
static void
test_alternative(void **state)
{
	struct mime_part *root, *p;
	size_t n;
	char *b;

	root = parse(alt, sizeof(alt) - 1);
	assert_string_equal(root->type, "multipart/alternative");
	assert_string_equal(root->boundary, "=_alt 1");
	assert_int_equal(root->nchildren, 2);
	p = root->children[0];
	assert_ptr_equal(p->parent, root);
	assert_int_equal(p->depth, 1);
	assert_string_equal(p->type, "text/plain");
	assert_string_equal(p->charset, "utf-8");
	assert_string_equal(p->encoding, "quoted-printable");
	assert_memory_equal(alt + p->header_off, "Content-Type: text/plain",
	    24);
	assert_memory_equal(alt + p->body_off, "Gr=C3", 5);
	b = body(p, alt, &n);
	assert_string_equal(b, "Gr\xc3\xbc\xc3\x9f" "e, softbreak");
	assert_int_equal(n, strlen(b));
	free(b);
	p = root->children[1];
	assert_string_equal(p->type, "text/html");
	assert_string_equal(p->charset, "iso-8859-1");
	assert_string_equal(p->encoding, "7bit");
	b = body(p, alt, &n);
	assert_string_equal(b, "<p>Gr\xfc\xdf" "e</p>");
	free(b);
	mime_free(&root);
}

static const char nested[] =
    "Content-Type: multipart/mixed; boundary=outer\r\n"
    "\r\n"
    "--outer\r\n"
    "Content-Type: multipart/related; boundary=inner\r\n"
    "\r\n"
    "--inner\r\n"
    "\r\n"
    "default text\r\n"
    "--inner\r\n"
    "Content-Type: image/png; name=\"pic.png\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: inline\r\n"
    "\r\n"
    "iVBORw0K\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename*0*=utf-8''%C3%A4;\r\n"
    " filename*1=rger.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQK\r\n"
    "--outer\r\n"
    "Content-Type: text/plain; name*=iso-8859-1'de'%E4.txt\r\n"
    "Content-Disposition: attachment; filename=\"=?utf-8?q?=C3=B6.txt?=\"\r\n"
    "\r\n"
    "text\r\n"
    "--outer--\r\n";

/* Nested multiparts, attachments and their file names. */
static void
test_nested(void **state)
{
	struct mime_part *root, *rel, *p;
	size_t n;
	char *b;

	root = parse(nested, sizeof(nested) - 1);
	assert_int_equal(root->nchildren, 3);
	rel = root->children[0];
	assert_string_equal(rel->type, "multipart/related");
	assert_int_equal(rel->nchildren, 2);
	p = rel->children[0];
	/* No Content-Type: text/plain (RFC 2045 section 5.2). */
	assert_string_equal(p->type, "text/plain");
	assert_int_equal(p->depth, 2);
	/* libetpan skips empty lines after the first delimiter. */
	assert_int_equal(p->header_len, 0);
	b = body(p, nested, &n);
	assert_string_equal(b, "default text");
	free(b);
	p = rel->children[1];
	assert_string_equal(p->type, "image/png");
	assert_string_equal(p->filename, "pic.png");
	assert_string_equal(p->disposition, "inline");
	b = body(p, nested, &n);
	assert_int_equal(n, 6);
	assert_memory_equal(b, "\x89PNG\r\n", 6);
	free(b);
	p = root->children[1];
	assert_string_equal(p->type, "application/pdf");
	assert_string_equal(p->disposition, "attachment");
	/* RFC 2231 sections 3 and 4: continuations and a charset. */
	assert_string_equal(p->filename, "\xc3\xa4rger.pdf");
	b = body(p, nested, &n);
	assert_string_equal(b, "%PDF-1.4\n");
	free(b);
	p = root->children[2];
	/* The disposition's name wins over the type's. */
	assert_string_equal(p->filename, "\xc3\xb6.txt");
	mime_free(&root);
}

static const char digest[] =
    "From: digest@example.org\r\n"
    "Content-Type: multipart/digest; boundary=d\r\n"
    "\r\n"
    "--d\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: one@example.org\r\n"
    "Subject: first\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "one\r\n"
    "--d\r\n"
    "X-Note: default type here is message/rfc822\r\n"
    "\r\n"
    "From: two@example.org\r\n"
    "\r\n"
    "two\r\n"
    "--d--\r\n";

/* message/rfc822 parts, also as the default type inside a digest. */
static void
test_message(void **state)
{
	struct mime_part *root, *m, *c;

	root = parse(digest, sizeof(digest) - 1);
	assert_string_equal(root->type, "multipart/digest");
	assert_int_equal(root->nchildren, 2);
	m = root->children[0];
	assert_string_equal(m->type, "message/rfc822");
	assert_int_equal(m->nchildren, 1);
	c = m->children[0];
	assert_int_equal(c->depth, 2);
	assert_string_equal(c->type, "text/plain");
	assert_string_equal(c->charset, "us-ascii");
	/* The embedded message's header is the rfc822 part's body. */
	assert_int_equal(c->header_off, m->body_off);
	assert_memory_equal(digest + c->header_off, "From: one@", 10);
	assert_memory_equal(digest + c->body_off, "one", 3);
	assert_int_equal(c->body_len, 3);
	m = root->children[1];
	assert_string_equal(m->type, "message/rfc822");
	assert_int_equal(m->nchildren, 1);
	assert_memory_equal(digest + m->children[0]->body_off, "two", 3);
	mime_free(&root);
}

/* Count parts; stop when the count reaches *(size_t *)arg. */
static int
count_parts(struct mime_part *p, void *arg)
{
	size_t *n = arg;

	n[0]++;
	return n[0] == n[1] ? 42 : 0;
}

/* mime_walk goes depth first and stops when told. */
static void
test_walk(void **state)
{
	struct mime_part *root;
	size_t n[2];

	root = parse(nested, sizeof(nested) - 1);
	n[0] = 0;
	n[1] = 0;
	assert_int_equal(mime_walk(root, count_parts, n), 0);
	assert_int_equal(n[0], 6);
	n[0] = 0;
	n[1] = 3;
	assert_int_equal(mime_walk(root, count_parts, n), 42);
	assert_int_equal(n[0], 3);
	mime_free(&root);
}

/* Decode body with encoding through a part of our own. */
static char *
decode(const char *encoding, const char *text, size_t *len_r)
{
	struct mime_part p;

	memset(&p, 0, sizeof(p));
	p.encoding = (char *)encoding;
	p.body_off = 0;
	p.body_len = strlen(text);
	return body(&p, text, len_r);
}

/* Base64, RFC 2045 section 6.8 and the RFC 4648 test vectors. */
static void
test_base64(void **state)
{
	static const char *vec[][2] = {
		{ "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" },
		{ "Zm9v", "foo" }, { "Zm9vYg==", "foob" },
		{ "Zm9vYmE=", "fooba" }, { "Zm9vYmFy", "foobar" },
		/* Line breaks and junk are skipped, "=" ends the data. */
		{ "Zm9v\r\nYmFy\r\n", "foobar" }, { "Zm 9v*Y!mFy", "foobar" },
		{ "Zm9v=YmFy", "foo" }, { "Zm9vY", "foo" },
		{ "Zm9vYm", "foob" },
	};
	size_t i, n;
	char *s;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		s = decode("base64", vec[i][0], &n);
		assert_int_equal(n, strlen(vec[i][1]));
		assert_memory_equal(s, vec[i][1], n);
		assert_int_equal(s[n], '\0');
		free(s);
	}
	s = decode("base64", "AAEC/w==", &n);
	assert_int_equal(n, 4);
	assert_memory_equal(s, "\0\1\2\377", 4);
	free(s);
}

/* Quoted-printable, RFC 2045 section 6.7. */
static void
test_qp(void **state)
{
	static const char *vec[][2] = {
		{ "a=3Db", "a=b" },
		{ "=E2=82=AC=e2=82=ac", "\xe2\x82\xac\xe2\x82\xac" },
		/* Soft line breaks, also after transport padding. */
		{ "soft=\r\nbreak", "softbreak" },
		{ "soft= \t\r\nbreak", "softbreak" },
		{ "soft=\nbreak\n", "softbreak\n" },
		/* Rule 3: trailing white space is padding; =20 is not. */
		{ "keep=20  \r\nnext  \r\n", "keep \r\nnext\r\n" },
		/* Robustness: "=" that fits no rule stays. */
		{ "a = b =4 =ZZ", "a = b =4 =ZZ" },
		{ "end=", "end" },
		{ "tab\there", "tab\there" },
		{ "", "" },
	};
	size_t i, n;
	char *s;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		s = decode("quoted-printable", vec[i][0], &n);
		assert_int_equal(n, strlen(vec[i][1]));
		assert_memory_equal(s, vec[i][1], n);
		free(s);
	}
	s = decode("8bit", "as =3D is", &n);
	assert_string_equal(s, "as =3D is");
	free(s);
}

/* Every line of an encoded body is at most 76 characters, CRLF-ended. */
static void
assert_lines(const char *s, size_t n)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			assert_true(i + 1 < n && s[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(s[i] != '\n');
		assert_true(++col <= 76);
	}
}

/* mime_encode: known vectors, then round trips through mime_decode. */
static void
test_encode(void **state)
{
	static const char *const texts[] = {
		"", "f", "fo", "foo", "foobar",
		"a=b\r\ntrailing space \r\ntab\t\r\n",
		"Gr\xc3\xbc\xc3\x9f Gott\r\n.\r\nFrom here\r\n",
		"lone\rCR and bare\nLF\n",
		"0123456789012345678901234567890123456789012345678901234567"
		"89012345678901234567890123456789 end\r\n",
		"=================================================="
		"==================================================\r\n",
	};
	char bin[1000], *e, *d, *want;
	size_t i, k, n, dn, wn;

	e = mime_encode("base64", "foobar", 6, &n);
	assert_string_equal(e, "Zm9vYmFy\r\n");
	free(e);
	e = mime_encode("quoted-printable", "a=b \r\n", 6, &n);
	assert_string_equal(e, "a=3Db=20\r\n");
	free(e);
	e = mime_encode("8bit", "x\r\n", 3, &n);
	assert_string_equal(e, "x\r\n");
	free(e);

	for (k = 0; k < sizeof(bin); k++)
		bin[k] = (char)(k * 7 + k / 3);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]) + 1; i++) {
		const char *t = i < sizeof(texts) / sizeof(texts[0]) ?
		    texts[i] : bin;
		size_t tn = t == bin ? sizeof(bin) : strlen(t);

		e = mime_encode("base64", t, tn, &n);
		assert_lines(e, n);
		d = decode("base64", e, &dn);
		assert_int_equal(dn, tn);
		assert_memory_equal(d, t, tn);
		free(d);
		free(e);
		if (t == bin)
			continue;
		/* Quoted-printable brings line breaks back as CRLF. */
		e = mime_encode("quoted-printable", t, tn, &n);
		assert_lines(e, n);
		d = decode("quoted-printable", e, &dn);
		want = xmalloc(tn * 2 + 1);
		for (k = 0, wn = 0; k < tn; k++) {
			if (t[k] == '\n' && (k == 0 || t[k - 1] != '\r'))
				want[wn++] = '\r';
			want[wn++] = t[k];
		}
		assert_int_equal(dn, wn);
		assert_memory_equal(d, want, wn);
		free(want);
		free(d);
		free(e);
	}
}

/* Nested multiparts n deep: depth n for the innermost text part. */
static void
nest_multipart(struct text *t, int n)
{
	char line[128];
	int i;

	add(t, "From: a@example.org\r\n");
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "Content-Type: multipart/mixed; "
		    "boundary=b%d\r\n\r\n--b%d\r\n", i, i);
		add(t, line);
	}
	add(t, "Content-Type: text/plain\r\n\r\ninnermost\r\n");
	for (i = n - 1; i >= 0; i--) {
		snprintf(line, sizeof(line), "--b%d--\r\n", i);
		add(t, line);
	}
}

/* MIME_DEPTH_MAX levels are accepted, one more is refused. */
static void
test_depth_limit(void **state)
{
	struct text t = { NULL, 0, 0 };
	struct mime_part *root, *p;
	size_t nparts;
	int depth;
	const char *err;

	nest_multipart(&t, MIME_DEPTH_MAX);
	assert_int_equal(mime_check(t.p, t.len, &depth, &nparts, &err), 0);
	assert_int_equal(depth, MIME_DEPTH_MAX);
	assert_int_equal(nparts, MIME_DEPTH_MAX + 1);
	root = parse(t.p, t.len);
	for (p = root; p->nchildren > 0; p = p->children[0])
		assert_int_equal(p->nchildren, 1);
	assert_int_equal(p->depth, MIME_DEPTH_MAX);
	assert_string_equal(p->type, "text/plain");
	mime_free(&root);
	t.len = 0;
	nest_multipart(&t, MIME_DEPTH_MAX + 1);
	check_refused(t.p, t.len, "MIME parts nested too deep");
	free(t.p);
}

/* MIME_PARTS_MAX parts are accepted, one more is refused. */
static void
test_parts_limit(void **state)
{
	struct text t = { NULL, 0, 0 };
	struct mime_part *root;
	int i;

	add(&t, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (i = 0; i < MIME_PARTS_MAX - 1; i++)
		add(&t, "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n");
	add(&t, "--p--\r\n");
	root = parse(t.p, t.len);
	assert_int_equal(root->nchildren, MIME_PARTS_MAX - 1);
	mime_free(&root);
	t.len -= strlen("--p--\r\n");
	add(&t, "--p\r\n\r\nx\r\n--p--\r\n");
	check_refused(t.p, t.len, "too many MIME parts");
	free(t.p);
}

/*
 * libetpan 1.9.4: boundary="\"" leaves a one-byte value starting with a
 * quote, and mailmime_extract_boundary then copies len - 2 bytes, which
 * is (size_t)-1 (ASan: negative-size-param in strncpy).
 */
static void
regress_boundary_quote(void **state)
{
	const char *raw = "Content-Type: multipart/mixed; boundary=\"\\\"\"\r\n"
	    "\r\n--x\r\n\r\nhi\r\n";
	const char *inner = "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
	    "--o\r\nContent-Type: multipart/alternative; boundary=\"\\\"\"\r\n"
	    "\r\n--\"\r\n\r\nhi\r\n--o--\r\n";
	struct mime_part *root;

	check_refused(raw, strlen(raw), "unusable multipart boundary");
	check_refused(inner, strlen(inner), "unusable multipart boundary");
	/* Two bytes are fine: libetpan strips them both. */
	root = parse("Content-Type: multipart/mixed; boundary=\"\\\"a\"\r\n"
	    "\r\n--\r\n\r\nhi\r\n", 60);
	assert_string_equal(root->boundary, "");
	mime_free(&root);
}

/*
 * libetpan 1.9.4: each message/rfc822 level is one more recursion of
 * mailmime_parse_with_default; 50000 of them overflow the stack.
 */
static void
regress_deep_message(void **state)
{
	struct text t = { NULL, 0, 0 };
	double t0;
	int i;

	for (i = 0; i < 50000; i++)
		add(&t, "Content-Type: message/rfc822\r\n\r\n");
	add(&t, "text\r\n");
	t0 = now();
	check_refused(t.p, t.len, "MIME parts nested too deep");
	assert_true(now() - t0 < 2.0);
	free(t.p);
}

/*
 * libetpan 1.9.4: nested multiparts cost depth times size; 10000 levels
 * (560 KiB) took 3.4 s under ASan, 20000 far longer.  Refused at once.
 */
static void
regress_deep_multipart(void **state)
{
	struct text t = { NULL, 0, 0 };
	double t0;

	nest_multipart(&t, 20000);
	t0 = now();
	check_refused(t.p, t.len, "MIME parts nested too deep");
	assert_true(now() - t0 < 2.0);
	free(t.p);
}

/*
 * libetpan 1.9.4 parses comments recursively: 200000 nested comments in
 * a From or a part's Content-Type overflowed the stack in
 * mailimf_cfws_parse under mailmime_parse.
 */
static void
regress_deep_comments(void **state)
{
	struct text t = { NULL, 0, 0 };
	struct mime_part *root;
	char *deep;
	size_t n = 200000;

	deep = malloc(2 * n + 1);
	assert_non_null(deep);
	memset(deep, '(', n);
	memset(deep + n, ')', n);
	deep[2 * n] = '\0';
	add(&t, "From: a@example.org ");
	add(&t, deep);
	add(&t, "\r\n\r\nbody\r\n");
	check_refused(t.p, t.len, "comments nested too deep in a MIME header");
	t.len = 0;
	add(&t, "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain ");
	add(&t, deep);
	add(&t, "\r\n\r\nx\r\n--b--\r\n");
	check_refused(t.p, t.len, "comments nested too deep in a MIME header");
	t.len = 0;
	add(&t, "Content-Type: message/rfc822\r\n\r\nTo: x@example.org ");
	add(&t, deep);
	add(&t, "\r\n\r\nx\r\n");
	check_refused(t.p, t.len, "comments nested too deep in a MIME header");
	/* In a body, parentheses are text. */
	t.len = 0;
	add(&t, "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain\r\n\r\n");
	add(&t, deep);
	add(&t, "\r\n--b--\r\n");
	root = parse(t.p, t.len);
	assert_int_equal(root->nchildren, 1);
	mime_free(&root);
	free(deep);
	free(t.p);
}

/* A big message within the limits parses in linear time. */
static void
test_big_message_time(void **state)
{
	struct text t = { NULL, 0, 0 };
	struct mime_part *root;
	double t0;
	int i, j;

	add(&t, "Content-Type: multipart/mixed; boundary=big\r\n\r\n");
	for (i = 0; i < 500; i++) {
		add(&t, "--big\r\nContent-Type: text/plain\r\n\r\n");
		for (j = 0; j < 100; j++)
			add(&t, "-- a line that starts like a delimiter but is "
			    "not one\r\n");
	}
	add(&t, "--big--\r\n");
	assert_true(t.len > 2000000);
	t0 = now();
	root = parse(t.p, t.len);
	assert_int_equal(root->nchildren, 500);
	assert_true(now() - t0 < 5.0);
	mime_free(&root);
	free(t.p);
}

/* Odd structures come out the way libetpan reads them, and agree. */
static void
test_odd_structures(void **state)
{
	static const char *raws[] = {
		/* No delimiter at all: one part with the whole body. */
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		    "no parts\r\n",
		/* No close delimiter. */
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		    "--b\r\n\r\nx\r\n",
		/* Delimiter followed by junk stays in the part. */
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		    "--b\r\n\r\nx\r\n--b junk\r\ny\r\n--b--\r\n",
		/* Multipart without a boundary: a single part. */
		"Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n",
		/* An encoded message/rfc822 is not looked into. */
		"Content-Type: message/rfc822\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n"
		    "U3ViamVjdDogeA0KDQp4DQo=\r\n",
		/* Bare LF line ends. */
		"Content-Type: multipart/mixed; boundary=b\n\n"
		    "--b\n\nx\n--b--\n",
		/* An empty boundary. */
		"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n"
		    "--\r\n\r\nx\r\n",
	};
	struct mime_part *root;
	size_t i;

	for (i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
		root = parse(raws[i], strlen(raws[i]));
		assert_non_null(root->type);
		mime_free(&root);
	}
	root = parse(raws[0], strlen(raws[0]));
	assert_int_equal(root->nchildren, 1);
	mime_free(&root);
	root = parse(raws[2], strlen(raws[2]));
	assert_int_equal(root->nchildren, 1);
	mime_free(&root);
	root = parse(raws[3], strlen(raws[3]));
	assert_string_equal(root->type, "multipart/mixed");
	assert_null(root->boundary);
	assert_int_equal(root->nchildren, 0);
	mime_free(&root);
	root = parse(raws[4], strlen(raws[4]));
	assert_int_equal(root->nchildren, 0);
	mime_free(&root);
}

/* A small deterministic generator for the random structures. */
static uint32_t
rng(uint32_t *seed)
{
	*seed = *seed * 1103515245 + 12345;
	return (*seed >> 8) & 0xffffff;
}

/* A random, often broken, MIME entity at nesting level depth. */
static void
gen_entity(struct text *t, uint32_t *seed, int depth)
{
	static const char *bounds[] = { "b", "bb", "b1", "=_x", "", "b b",
	    "a", "-", "--" };
	const char *nl = rng(seed) % 5 == 0 ? "\n" : "\r\n", *b;
	int kind = depth > 5 ? 0 : (int)(rng(seed) % 6), i, n;

	if (rng(seed) % 8 == 0) {
		add(t, "X-Junk: (a (b) c)");
		add(t, nl);
	}
	if (kind == 0 || kind == 5) {
		if (rng(seed) % 3 != 0) {
			add(t, "Content-Type: text/plain");
			add(t, nl);
		}
		add(t, nl);
		add(t, rng(seed) % 2 ? "text" : "--b");
		add(t, nl);
		return;
	}
	if (kind == 4) {
		add(t, "Content-Type: message/rfc822");
		add(t, nl);
		if (rng(seed) % 5 == 0) {
			add(t, "Content-Transfer-Encoding: base64");
			add(t, nl);
		}
		add(t, nl);
		add(t, "Subject: inner");
		add(t, nl);
		gen_entity(t, seed, depth + 1);
		return;
	}
	b = bounds[rng(seed) % (sizeof(bounds) / sizeof(bounds[0]))];
	add(t, kind == 2 ? "Content-Type: multipart/digest; boundary=\"" :
	    "Content-Type: multipart/mixed; boundary=\"");
	add(t, b);
	add(t, "\"");
	add(t, nl);
	add(t, nl);
	if (rng(seed) % 3 == 0) {
		add(t, "preamble");
		add(t, nl);
	}
	n = 1 + rng(seed) % 4;
	for (i = 0; i < n; i++) {
		add(t, "--");
		add(t, b);
		if (rng(seed) % 6 == 0)
			add(t, "  ");
		if (rng(seed) % 10 == 0)
			add(t, "junk");
		add(t, nl);
		if (rng(seed) % 5 == 0)
			add(t, nl);
		gen_entity(t, seed, depth + 1);
	}
	if (rng(seed) % 4 != 0) {
		add(t, "--");
		add(t, b);
		add(t, "--");
		add(t, nl);
	}
}

/* Count parts and the deepest depth. */
static int
measure(struct mime_part *p, void *arg)
{
	size_t *m = arg;

	m[0]++;
	if ((size_t)p->depth > m[1])
		m[1] = p->depth;
	return 0;
}

/*
 * mime_check follows libetpan's rules for finding parts: on thousands of
 * random, often broken structures the tree libetpan builds has exactly
 * the parts and depth mime_check promised.
 */
static void
test_check_agrees(void **state)
{
	struct text t = { NULL, 0, 0 };
	struct mime_part *root;
	const char *err;
	uint32_t seed = 2045;
	size_t nparts, m[2];
	int depth, iter, checked = 0;

	for (iter = 0; iter < 4000; iter++) {
		t.len = 0;
		add(&t, "From: a@example.org\r\n");
		gen_entity(&t, &seed, 0);
		if (mime_check(t.p, t.len, &depth, &nparts, &err) == -1)
			continue;
		if (mime_parse(t.p, t.len, &root, &err) == -1)
			fail_msg("mime_parse: %s", err);
		m[0] = 0;
		m[1] = 0;
		mime_walk(root, measure, m);
		assert_int_equal(m[0], nparts);
		assert_int_equal(m[1], depth);
		mime_free(&root);
		checked++;
	}
	assert_true(checked > 3000);
	free(t.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_alternative),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_parts_limit),
		cmocka_unit_test(regress_boundary_quote),
		cmocka_unit_test(regress_deep_message),
		cmocka_unit_test(regress_deep_multipart),
		cmocka_unit_test(regress_deep_comments),
		cmocka_unit_test(test_big_message_time),
		cmocka_unit_test(test_odd_structures),
		cmocka_unit_test(test_check_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
