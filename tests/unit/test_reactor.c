/*
 * test_reactor.c: the reactor.  First SynFU's own test messages (from the
 * shared corpus, with the expectations its README and .json files give),
 * then our cases for every rule, including each SynFU defect we must not
 * repeat.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common.h"
#include "smtp.h"

/* 2026-11-29 12:00:00 UTC, so that made-up dates are known. */
#define NOW	1795953600

static struct reactor_conf
conf_default(void)
{
	struct reactor_conf c;

	memset(&c, 0, sizeof(c));
	c.domain = "gw.example.org";
	c.footer = REACTOR_FOOTER_ANY;
	c.fix_date = 1;
	c.now = NOW;
	return c;
}

static void
clean(const struct reactor_conf *c, const char *text,
    struct reactor_result *res)
{
	reactor_clean(c, text, strlen(text), res);
}

static struct msg *
parsed(const struct reactor_result *res)
{
	struct msg *m;
	const char *err;

	assert_int_equal(res->verdict, REACTOR_GATE);
	assert_int_equal(msg_parse(res->out, res->len, &m, &err), 0);
	return m;
}

/* A field of the cleaned message, unfolded and decoded; NULL if none. */
static char *
field(const struct reactor_result *res, const char *name)
{
	struct msg *m = parsed(res);
	char *v, *d = NULL;

	if ((v = msg_get_unfolded(m, name)) != NULL)
		d = rfc2047_decode(v);
	free(v);
	msg_free(&m);
	return d;
}

static void
assert_field(const struct reactor_result *res, const char *name,
    const char *want)
{
	char *v = field(res, name);

	if (want == NULL) {
		if (v != NULL)
			fail_msg("%s: unexpected \"%s\"", name, v);
		return;
	}
	if (v == NULL)
		fail_msg("%s: missing, want \"%s\"", name, want);
	assert_string_equal(v, want);
	free(v);
}

/* The cleaned message's body (a new string). */
static char *
body_of(const struct reactor_result *res)
{
	struct msg *m = parsed(res);
	char *b = xstrdup(m->body);

	msg_free(&m);
	return b;
}

static void
subject_is(const struct reactor_conf *c, const char *subject,
    const char *want)
{
	struct reactor_result res;
	char *text;

	text = xasprintf("From: a@example.org\r\nSubject: %s\r\n"
	    "Message-ID: <s@example.org>\r\nDate: Sun, 29 Nov 2026 10:00:00"
	    " +0000\r\n\r\nbody\r\n", subject);
	clean(c, text, &res);
	assert_field(&res, "Subject", want);
	reactor_result_free(&res);
	free(text);
}

/* The shared corpus */

static char *
corpus_file(const char *name, size_t *len_r)
{
	const char *dir = getenv("SYNCOM_CORPUS"), *src;
	char path[4096], *buf;
	size_t cap = 1 << 20;
	FILE *f;

	if (dir == NULL) {
		if ((src = getenv("SYNCOM_SRCDIR")) == NULL)
			return NULL;
		snprintf(path, sizeof(path), "%s/../shared/corpus/synfu/%s",
		    src, name);
	} else
		snprintf(path, sizeof(path), "%s/synfu/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	buf = xmalloc(cap + 1);
	*len_r = fread(buf, 1, cap, f);
	buf[*len_r] = '\0';
	fclose(f);
	return buf;
}

static char *
corpus(const char *name, size_t *len_r)
{
	char *buf;

	if ((buf = corpus_file(name, len_r)) == NULL)
		skip();
	return buf;
}

/* The next JSON string at *p (escapes \" \\ \/ \r \n \t \uXXXX). */
static char *
json_string(const char **p)
{
	char *out, *o;
	unsigned int cp;

	while (**p != '"') {
		if (**p == '\0')
			return NULL;
		(*p)++;
	}
	(*p)++;
	out = o = xmalloc(strlen(*p) * 3 + 1);
	while (**p != '"' && **p != '\0') {
		if (**p != '\\') {
			*o++ = *(*p)++;
			continue;
		}
		(*p)++;
		switch (*(*p)++) {
		case 'r': *o++ = '\r'; break;
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			assert_int_equal(sscanf(*p, "%4x", &cp), 1);
			*p += 4;
			if (cp < 0x80)
				*o++ = cp;
			else if (cp < 0x800) {
				*o++ = 0xc0 | cp >> 6;
				*o++ = 0x80 | (cp & 0x3f);
			} else {
				*o++ = 0xe0 | cp >> 12;
				*o++ = 0x80 | (cp >> 6 & 0x3f);
				*o++ = 0x80 | (cp & 0x3f);
			}
			break;
		default: *o++ = (*p)[-1]; break;
		}
	}
	(*p)++;
	*o = '\0';
	return out;
}

/* Unfolded, decoded, white space collapsed and trimmed. */
static char *
normal(const char *value)
{
	char *u = xstrdup(value), *d, *o, *p;
	size_t n, k;

	for (n = k = 0; u[n] != '\0'; n++)
		if (u[n] != '\r' && u[n] != '\n')
			u[k++] = u[n];
	u[k] = '\0';
	d = rfc2047_decode(u);
	free(u);
	for (p = o = d; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t') {
			if (o == d || o[-1] == ' ')
				continue;
			*o++ = ' ';
		} else
			*o++ = *p;
	}
	while (o > d && o[-1] == ' ')
		o--;
	*o = '\0';
	return d;
}

/*
 * The .json beside a corpus message: every [name, value] pair must be in
 * the cleaned message (names without case, values compared as decoded
 * text); with exact, nothing else may be.
 */
static void
check_json(const char *json, const struct reactor_result *res, int exact)
{
	struct msg *m = parsed(res);
	const char *p = json;
	char *name, *value, *want, *got;
	size_t i, pairs = 0;
	int found;

	while ((name = json_string(&p)) != NULL) {
		value = json_string(&p);
		assert_non_null(value);
		want = normal(value);
		found = 0;
		for (i = 0; i < m->nheaders && !found; i++) {
			if (strcasecmp(m->headers[i].name, name) != 0)
				continue;
			got = normal(m->headers[i].value);
			found = strcmp(got, want) == 0;
			free(got);
		}
		if (!found)
			fail_msg("%s: \"%s\" not in the cleaned message", name,
			    want);
		free(want);
		free(name);
		free(value);
		pairs++;
	}
	if (exact)
		assert_int_equal(m->nheaders, pairs);
	msg_free(&m);
}

static void
test_corpus_cancel(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	size_t len;
	char *raw;

	raw = corpus("fucore_00_detect_cancel_00.msg", &len);
	reactor_clean(&c, raw, len, &res);
	assert_int_equal(res.verdict, REACTOR_CONTROL);
	assert_null(res.out);
	reactor_result_free(&res);
	free(raw);
	raw = corpus("fucore_00_detect_cancel_01.msg", &len);
	reactor_clean(&c, raw, len, &res);
	assert_int_equal(res.verdict, REACTOR_GATE);
	reactor_result_free(&res);
	free(raw);
}

static void
test_corpus_tags(void **state)
{
	static const char *const want[] = {
		"test", "test", "test", "test", "test", "test,neu",
		"\xc3\x84\xc3\x96\xc3\x9c\xc3\x9f",
	};
	struct msg *m;
	const char *err;
	char name[64], **tags, *raw, *joined, *t;
	size_t i, k, n, len;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(name, sizeof(name), "fucore_01_find_list_tag_%02zu.msg",
		    i);
		raw = corpus(name, &len);
		assert_int_equal(msg_parse(raw, len, &m, &err), 0);
		n = reactor_tags(m, NULL, &tags);
		assert_true(n > 0);
		joined = xstrdup(tags[0]);
		for (k = 1; k < n; k++) {
			t = xasprintf("%s,%s", joined, tags[k]);
			free(joined);
			joined = t;
		}
		assert_string_equal(joined, want[i]);
		for (k = 0; k < n; k++)
			free(tags[k]);
		free(tags);
		free(joined);
		msg_free(&m);
		free(raw);
	}
}

static void
test_corpus_filter_headers(void **state)
{
	/* The tag and outlook setting SynFU's test used for each case. */
	static const struct {
		const char	*tag;
		int		 outlook;
		int		 exact;
	} cases[] = {
		{ "Test", 0, 1 }, { "Test", 0, 0 }, { "Test", 1, 0 },
		{ "Test", 0, 0 },
		{ "\xc3\x84\xc3\x96\xc3\x9c\xc3\x9f", 1, 0 },
	};
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	char name[64], *raw, *json;
	size_t i, len, jlen;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name),
		    "fucore_02_filter_headers_%02zu.msg", i);
		raw = corpus(name, &len);
		snprintf(name, sizeof(name),
		    "fucore_02_filter_headers_%02zu.json", i);
		json = corpus(name, &jlen);
		c.tag = cases[i].tag;
		c.outlook = cases[i].outlook;
		reactor_clean(&c, raw, len, &res);
		check_json(json, &res, cases[i].exact);
		reactor_result_free(&res);
		free(raw);
		free(json);
	}
}

/* The variant of _00 with a folded User-Agent: the fold survives. */
static void
test_corpus_folded(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	struct msg *m;
	size_t len;
	char *raw;

	raw = corpus("fucore_02_filter_headers_0x.msg", &len);
	c.tag = "Test";
	reactor_clean(&c, raw, len, &res);
	m = parsed(&res);
	assert_non_null(strstr(msg_get(m, "User-Agent"), "\r\n\trv:1.9.1.8)"));
	assert_string_equal(msg_get(m, "Subject"), "Test Header [ignore]");
	assert_null(msg_get(m, "X-Mailman-Version"));
	assert_null(msg_get(m, "List-Subscribe"));
	msg_free(&m);
	reactor_result_free(&res);
	free(raw);
}

/* Subject */

static void
test_tag_exact(void **state)
{
	struct reactor_conf c = conf_default();

	c.tag = "[Test]";
	subject_is(&c, "[Test] hello", "hello");
	subject_is(&c, "[test] hello", "hello");
	subject_is(&c, "[ Test ] hello", "hello");
	subject_is(&c, "Re: [Test] hello", "Re: hello");
	subject_is(&c, "[Test] Re: [Test] hello", "Re: hello");
	subject_is(&c, "hello [Test]", "hello");
	/* Real subject text in brackets stays (SynFU lost it). */
	subject_is(&c, "[Test] [Testing] Termine [ignore] [Test-2]",
	    "[Testing] Termine [ignore] [Test-2]");
	subject_is(&c, "[Announce] hello", "[Announce] hello");
	subject_is(&c, "no tag at all", "no tag at all");
	/* A subject that is only the tag keeps it rather than go empty. */
	subject_is(&c, "[Test]", "[Test]");
	subject_is(&c, "[Test", "[Test");
	subject_is(&c, "", "<No Subject>");
	/* A tag with what a regular expression would read as syntax. */
	c.tag = "c++";
	subject_is(&c, "[c++] templates", "templates");
	subject_is(&c, "[cc] templates", "[cc] templates");
}

static void
test_tag_found(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;

	clean(&c, "List-Id: Pirates test <pirates-test.lists.example.org>\r\n"
	    "Subject: [Pirates-test] hello\r\nMessage-ID: <t@x.org>\r\n"
	    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nb\r\n", &res);
	assert_string_equal(res.tags, "pirates-test");
	assert_field(&res, "Subject", "hello");
	assert_true(res.done & REACTOR_DID_TAG);
	reactor_result_free(&res);
	/* The envelope recipient when nothing else names the list. */
	c.recipient = "aktive-nds@lists.example.org";
	clean(&c, "Subject: [aktive-nds] hi\r\nMessage-ID: <t@x.org>\r\n"
	    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nb\r\n", &res);
	assert_string_equal(res.tags, "aktive-nds");
	assert_field(&res, "Subject", "hi");
	reactor_result_free(&res);
}

static void
test_tag_encoded(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	struct msg *m;
	const char *raw;

	c.tag = "Test";
	clean(&c, "Subject: =?ISO-8859-1?Q?=5BTest=5D_Gr=FC=DFe?= aus"
	    " =?utf-8?b?TcO8bmNoZW4=?=\r\nMessage-ID: <e@x.org>\r\n"
	    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nb\r\n", &res);
	assert_field(&res, "Subject",
	    "Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen");
	m = parsed(&res);
	raw = msg_get(m, "Subject");
	/* Encoded again, and in plain ASCII on the wire. */
	for (; *raw != '\0'; raw++)
		assert_true((unsigned char)*raw < 0x80);
	msg_free(&m);
	reactor_result_free(&res);
}

static void
test_outlook(void **state)
{
	struct reactor_conf c = conf_default();

	c.tag = "Test";
	c.outlook = 1;
	subject_is(&c, "AW: WG: hello", "Re: Fwd: hello");
	subject_is(&c, "Antwort: Wtr.: R: hello", "Re: Fwd: Re: hello");
	subject_is(&c, "aw: [Test] FW: hello", "Re: Fwd: hello");
	subject_is(&c, "[Test] AW: hello", "Re: hello");
	subject_is(&c, "Re: Fwd: hello", "Re: Fwd: hello");
	/* Only at the start: a WG (shared flat) in the text stays. */
	subject_is(&c, "Suche WG: Zimmer frei", "Suche WG: Zimmer frei");
	subject_is(&c, "Re: Termin: Mittwoch", "Re: Termin: Mittwoch");
	c.outlook = 0;
	subject_is(&c, "AW: hello", "AW: hello");
}

/* Footers */

#define MM3_FOOTER \
	"_______________________________________________\r\n" \
	"Test mailing list -- test@lists.example.org\r\n" \
	"To unsubscribe send an email to test-leave@lists.example.org\r\n"

#define HEAD \
	"From: a@example.org\r\nSubject: [Test] s\r\n" \
	"Message-ID: <f@example.org>\r\n" \
	"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"

static char *
body_after(const struct reactor_conf *c, const char *text, unsigned int *done)
{
	struct reactor_result res;
	char *b;

	clean(c, text, &res);
	b = body_of(&res);
	if (done != NULL)
		*done = res.done;
	reactor_result_free(&res);
	return b;
}

static void
test_footer_plain(void **state)
{
	struct reactor_conf c = conf_default();
	unsigned int done;
	char *b;

	c.tag = "Test";
	b = body_after(&c, HEAD "\r\nHello all.\r\n\r\n" MM3_FOOTER, &done);
	assert_string_equal(b, "Hello all.\r\n");
	assert_true(done & REACTOR_DID_FOOTER);
	free(b);
	/* Mailman 2's footer, with a listinfo URL. */
	b = body_after(&c, HEAD "\r\nHi\r\n-- \r\nAlice\r\n"
	    "_______________________________________________\r\n"
	    "Test mailing list\r\ntest@lists.example.org\r\n"
	    "https://lists.example.org/mailman/listinfo/test\r\n", NULL);
	/* The signature stays; only the footer goes. */
	assert_string_equal(b, "Hi\r\n-- \r\nAlice\r\n");
	free(b);
	/* A signature with the list's URL and no footer is not a footer. */
	b = body_after(&c, HEAD "\r\nHi\r\n-- \r\nAlice\r\n"
	    "https://lists.example.org/mailman/listinfo/test\r\n", &done);
	assert_string_equal(b, "Hi\r\n-- \r\nAlice\r\n"
	    "https://lists.example.org/mailman/listinfo/test\r\n");
	assert_false(done & REACTOR_DID_FOOTER);
	free(b);
	/* A rule in the text followed by more text is not a footer. */
	b = body_after(&c, HEAD "\r\nA\r\n__________________\r\nmailing list"
	    " talk\r\n" "1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n7\r\n8\r\n9\r\n10\r\n"
	    "11\r\n12\r\n13\r\n14\r\n15\r\n16\r\n", &done);
	assert_false(done & REACTOR_DID_FOOTER);
	free(b);
	/* A body that is only a footer: empty, and nothing crashes. */
	b = body_after(&c, HEAD "\r\n" MM3_FOOTER, &done);
	assert_string_equal(b, "");
	assert_true(done & REACTOR_DID_FOOTER);
	free(b);
	/* Footers left alone when asked to. */
	c.footer = REACTOR_FOOTER_KEEP;
	b = body_after(&c, HEAD "\r\nHello\r\n" MM3_FOOTER, NULL);
	assert_string_equal(b, "Hello\r\n" MM3_FOOTER);
	free(b);
	/* "own" removes this list's footer only. */
	c.footer = REACTOR_FOOTER_OWN;
	c.tag = "Other";
	b = body_after(&c, HEAD "\r\nHello\r\n" MM3_FOOTER, NULL);
	assert_string_equal(b, "Hello\r\n" MM3_FOOTER);
	free(b);
	c.list = "test@lists.example.org";
	b = body_after(&c, HEAD "\r\nHello\r\n" MM3_FOOTER, NULL);
	assert_string_equal(b, "Hello\r\n");
	free(b);
}

/* A part's decoded text, located by its type in the cleaned message. */
static char *
part_text(const struct reactor_result *res, const char *type, int nth)
{
	struct mime_part *root, *p, *stack[64];
	const char *err;
	size_t sp = 0, i;
	char *out = NULL;

	assert_int_equal(mime_parse(res->out, res->len, &root, &err), 0);
	stack[sp++] = root;
	while (sp > 0 && out == NULL) {
		p = stack[--sp];
		if (strcmp(p->type, type) == 0 && nth-- == 0)
			out = mime_decode(p, res->out, NULL);
		for (i = p->nchildren; i > 0; i--)
			stack[sp++] = p->children[i - 1];
	}
	mime_free(&root);
	return out;
}

static int
count_parts(struct mime_part *p, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int
parts_of(const struct reactor_result *res)
{
	struct mime_part *root;
	const char *err;
	int n = 0;

	assert_int_equal(mime_parse(res->out, res->len, &root, &err), 0);
	mime_walk(root, count_parts, &n);
	mime_free(&root);
	return n;
}

static void
test_footer_encoded(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	char *t, *enc, *text;
	size_t n;

	c.tag = "Test";
	/* base64, re-encoded after the cut. */
	t = "Gr\xc3\xbc\xc3\x9f" "e\r\n\r\n" MM3_FOOTER;
	enc = mime_encode("base64", t, strlen(t), &n);
	text = xasprintf(HEAD "MIME-Version: 1.0\r\nContent-Type: text/plain;"
	    " charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n%s",
	    enc);
	clean(&c, text, &res);
	assert_true(res.done & REACTOR_DID_FOOTER);
	t = part_text(&res, "text/plain", 0);
	assert_string_equal(t, "Gr\xc3\xbc\xc3\x9f" "e\r\n");
	free(t);
	reactor_result_free(&res);
	free(text);
	free(enc);
	/* quoted-printable */
	text = xstrdup(HEAD "MIME-Version: 1.0\r\nContent-Type: text/plain;"
	    " charset=iso-8859-1\r\nContent-Transfer-Encoding:"
	    " quoted-printable\r\n\r\nSch=F6ne Gr=FC=DFe, a long line that is"
	    " soft=\r\n broken\r\n\r\n"
	    "_______________________________________________\r\n"
	    "Test mailing list -- test@lists.example.org\r\n"
	    "To unsubscribe send an email to test-leave@lists.example.org\r\n");
	clean(&c, text, &res);
	t = part_text(&res, "text/plain", 0);
	assert_string_equal(t, "Sch\xf6ne Gr\xfc\xdf" "e, a long line that"
	    " is soft broken\r\n");
	free(t);
	reactor_result_free(&res);
	free(text);
}

static void
test_footer_parts(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	char *t;

	c.tag = "Test";
	/*
	 * Mailman 3 on a message with an attachment: the footer is a part
	 * of its own, after a nested multipart/alternative and a PDF.
	 */
	clean(&c, HEAD "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
	    "--outer\r\n"
	    "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
	    "--alt\r\nContent-Type: text/plain\r\n\r\nPlain text.\r\n\r\n"
	    MM3_FOOTER
	    "--alt\r\nContent-Type: text/html\r\n\r\n<p>HTML</p>\r\n"
	    "--alt--\r\n"
	    "--outer\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n"
	    "Content-Disposition: attachment; filename=\"a.pdf\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
	    "--outer\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n" MM3_FOOTER
	    "--outer--\r\n", &res);
	assert_true(res.done & REACTOR_DID_FOOTER);
	assert_true(res.done & REACTOR_DID_FOOTER_PART);
	/* Nested footer cut; the attachment kept; the footer part gone. */
	/* (A part's last CRLF belongs to the delimiter after it.) */
	t = part_text(&res, "text/plain", 0);
	assert_string_equal(t, "Plain text.");
	free(t);
	t = part_text(&res, "application/pdf", 0);
	assert_memory_equal(t, "%PDF-1.4\n", 9);
	free(t);
	assert_null(part_text(&res, "text/plain", 1));
	assert_int_equal(parts_of(&res), 5);
	reactor_result_free(&res);

	/* An attachment that is a text file with a footer is not touched. */
	clean(&c, HEAD "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
	    "--b\r\nContent-Type: text/plain; name=old.txt\r\n"
	    "Content-Disposition: attachment; filename=old.txt\r\n\r\n"
	    "Old mail\r\n" MM3_FOOTER "--b--\r\n", &res);
	t = part_text(&res, "text/plain", 1);
	assert_memory_equal(t, "Old mail\r\n" MM3_FOOTER,
	    strlen("Old mail\r\n" MM3_FOOTER) - 2);
	free(t);
	reactor_result_free(&res);
}

/* A signed part stays byte for byte; the footer outside it goes. */
static void
test_footer_signed(void **state)
{
	static const char signed_part[] =
	    "Content-Type: multipart/signed; micalg=pgp-sha256;"
	    " protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n"
	    "This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n"
	    "--sig\r\nContent-Type: text/plain\r\n\r\nSigned text.\r\n"
	    MM3_FOOTER
	    "--sig\r\nContent-Type: application/pgp-signature\r\n\r\n"
	    "-----BEGIN PGP SIGNATURE-----\r\nxyz\r\n"
	    "-----END PGP SIGNATURE-----\r\n--sig--\r\n";
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	const char *sealed;
	char *text, *t;

	c.tag = "Test";
	text = xasprintf(HEAD "MIME-Version: 1.0\r\nContent-Type:"
	    " multipart/mixed; boundary=\"wrap\"\r\n\r\n--wrap\r\n%s"
	    "--wrap\r\nContent-Type: text/plain\r\n\r\n" MM3_FOOTER
	    "--wrap--\r\n", signed_part);
	clean(&c, text, &res);
	sealed = strstr(signed_part, "--sig\r\n");
	assert_non_null(memmem(res.out, res.len, sealed, strlen(sealed)));
	t = part_text(&res, "text/plain", 0);
	assert_memory_equal(t, "Signed text.\r\n" MM3_FOOTER,
	    strlen("Signed text.\r\n" MM3_FOOTER) - 2);
	free(t);
	assert_null(part_text(&res, "text/plain", 1));
	assert_true(res.done & REACTOR_DID_FOOTER_PART);
	reactor_result_free(&res);
	/* The preamble note goes when asked; the signed bytes stay. */
	c.strip_notes = 1;
	clean(&c, text, &res);
	assert_true(res.done & REACTOR_DID_NOTES);
	assert_null(memmem(res.out, res.len, "OpenPGP/MIME signed message",
	    27));
	assert_non_null(memmem(res.out, res.len, "--sig\r\nContent-Type:"
	    " text/plain\r\n\r\nSigned text.\r\n" MM3_FOOTER "--sig\r\n",
	    strlen("--sig\r\nContent-Type: text/plain\r\n\r\nSigned text."
	    "\r\n" MM3_FOOTER "--sig\r\n")));
	reactor_result_free(&res);
	free(text);
}

/* Fields */

static void
test_fields(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	struct msg *m;

	clean(&c, "Received: from a by b\r\nDelivered-To: gw@example.org\r\n"
	    "Return-Path: <list-bounces@example.org>\r\n"
	    "From: a@example.org\r\nTo: list@example.org\r\n"
	    "CC: b@example.org\r\nSubject: s\r\n"
	    "Message-ID: <h@example.org>\r\n"
	    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
	    "x-spam-score: 1\r\nX-No-Archive: yes\r\nX-Mailer: mutt\r\n"
	    "List-Id: <test.example.org>\r\nList-Post: <mailto:t@x>\r\n"
	    "LIST-UNSUBSCRIBE: <mailto:u@x>\r\nPrecedence: list\r\n"
	    "Sender: list-bounces@example.org\r\nPath: a!b\r\n"
	    "Xref: a b:1\r\nNNTP-Posting-Host: h\r\nLines: 1\r\n"
	    "Reply-To: a@example.org\r\nOrganization: Pirates\r\n"
	    "\r\nb\r\n", &res);
	m = parsed(&res);
	assert_null(msg_get(m, "Received"));
	assert_null(msg_get(m, "Delivered-To"));
	assert_null(msg_get(m, "To"));
	assert_null(msg_get(m, "Cc"));
	assert_null(msg_get(m, "X-Spam-Score"));
	assert_null(msg_get(m, "X-Mailer"));
	assert_null(msg_get(m, "List-Post"));
	assert_null(msg_get(m, "List-Unsubscribe"));
	assert_null(msg_get(m, "Precedence"));
	assert_null(msg_get(m, "Sender"));
	assert_null(msg_get(m, "Path"));
	assert_null(msg_get(m, "Xref"));
	assert_null(msg_get(m, "NNTP-Posting-Host"));
	assert_null(msg_get(m, "Lines"));
	assert_string_equal(msg_get(m, "X-No-Archive"), "yes");
	assert_string_equal(msg_get(m, "List-Id"), "<test.example.org>");
	assert_string_equal(msg_get(m, "Reply-To"), "a@example.org");
	assert_string_equal(msg_get(m, "Organization"), "Pirates");
	assert_string_equal(msg_get(m, "Return-Path"),
	    "<list-bounces@example.org>");
	assert_true(res.done & REACTOR_DID_HEADERS);
	msg_free(&m);
	reactor_result_free(&res);
}

static void
test_msgid(void **state)
{
	static const char nomid[] = "From: a@example.org\r\nSubject: s\r\n"
	    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nb\r\n";
	struct reactor_conf c = conf_default();
	struct reactor_result res, again;
	char *id, *id2;

	/* Missing: made from the bytes, so a second delivery matches. */
	clean(&c, nomid, &res);
	clean(&c, nomid, &again);
	id = field(&res, "Message-ID");
	id2 = field(&again, "Message-ID");
	assert_non_null(id);
	assert_int_equal(msgid_valid(id, NULL), 0);
	assert_non_null(strstr(id, "@gw.example.org>"));
	assert_string_equal(id, id2);
	assert_true(res.done & REACTOR_DID_MSGID);
	free(id);
	free(id2);
	reactor_result_free(&res);
	reactor_result_free(&again);

	/* Repairs keep the original in X-Message-ID. */
	clean(&c, "Message-ID: abc@example.org\r\nSubject: s\r\n\r\nb\r\n",
	    &res);
	assert_field(&res, "Message-ID", "<abc@example.org>");
	assert_field(&res, "X-Message-ID", "abc@example.org");
	reactor_result_free(&res);
	clean(&c, "Message-ID: <a b@example.org>\r\nSubject: s\r\n\r\nb\r\n",
	    &res);
	assert_field(&res, "Message-ID", "<ab@example.org>");
	reactor_result_free(&res);
	/* Hopeless: one of ours. */
	clean(&c, "Message-ID: <>\r\nSubject: s\r\n\r\nb\r\n", &res);
	id = field(&res, "Message-ID");
	assert_non_null(strstr(id, ".syncd@gw.example.org>"));
	assert_field(&res, "X-Message-ID", "<>");
	free(id);
	reactor_result_free(&res);
	/* A valid ID with a comment is kept as the ID alone. */
	clean(&c, "Message-ID: <ok@example.org> (from mutt)\r\nSubject: s"
	    "\r\n\r\nb\r\n", &res);
	assert_field(&res, "Message-ID", "<ok@example.org>");
	assert_field(&res, "X-Message-ID", NULL);
	reactor_result_free(&res);
}

static void
test_references(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	char *text, *refs, *v;
	int i;

	clean(&c, HEAD "In-Reply-To: <p@example.org> (Alice's mail)\r\n\r\n"
	    "b\r\n", &res);
	assert_field(&res, "References", "<p@example.org>");
	assert_true(res.done & REACTOR_DID_REFERENCES);
	reactor_result_free(&res);
	/* Overlong References: trimmed from the middle, the first kept. */
	refs = xstrdup("<first@example.org>");
	for (i = 0; i < 60; i++) {
		v = xasprintf("%s\r\n <id%02d@example.org>", refs, i);
		free(refs);
		refs = v;
	}
	text = xasprintf(HEAD "References: %s\r\n\r\nb\r\n", refs);
	clean(&c, text, &res);
	v = field(&res, "References");
	assert_true(strlen(v) <= 986);
	assert_memory_equal(v, "<first@example.org> ", 20);
	assert_non_null(strstr(v, "<id59@example.org>"));
	assert_null(strstr(v, "<id00@example.org>"));
	free(v);
	reactor_result_free(&res);
	free(text);
	free(refs);
}

static void
test_dates(void **state)
{
	static const char *const cases[][2] = {
		{ "Sun, 21 Mar 2010 19:07:44 +0100",
		  "Sun, 21 Mar 2010 19:07:44 +0100" },
		{ "21 Mar 2010 19:07 +0100 (CET)",
		  "21 Mar 2010 19:07 +0100 (CET)" },
		{ "Sun, 21 Mar 2010 19:07:44 +0100 (Mitteleurop\xe4ische"
		  " Zeit)", "Sun, 21 Mar 2010 19:07:44 +0100" },
		{ "Sun, 21 Mar 2010 19:07:44 CEST",
		  "Sun, 21 Mar 2010 19:07:44 +0200" },
		{ "Sonntag, 21. M\xc3\xa4rz 2010 19:07:44 MEZ",
		  "Sun, 21 Mar 2010 19:07:44 +0100" },
		{ "2010-03-21 19:07:44 +0100",
		  "Sun, 21 Mar 2010 19:07:44 +0100" },
		{ "Sun, 21 Mar 10 19:07:44 GMT",
		  "Sun, 21 Mar 2010 19:07:44 +0000" },
		{ "Sun, 21 Mar 2010 19:07:44",
		  "Sun, 21 Mar 2010 19:07:44 -0000" },
		{ "Sun, 21 Mar 2010 25:07:44 +0100", NULL },
		{ "31 Feb 2010 10:00 +0000", NULL },
		{ "gestern", NULL },
		{ "", NULL },
	};
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	char *text, *v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = reactor_date(cases[i][0]);
		if (cases[i][1] == NULL)
			assert_null(v);
		else {
			assert_non_null(v);
			assert_string_equal(v, cases[i][1]);
		}
		free(v);
	}
	/* Unreadable: now, with the original kept. */
	clean(&c, "Message-ID: <d@x.org>\r\nDate: gestern\r\nSubject: s\r\n"
	    "\r\nb\r\n", &res);
	assert_field(&res, "Date", "Sun, 29 Nov 2026 12:00:00 +0000");
	assert_field(&res, "X-Original-Date", "gestern");
	reactor_result_free(&res);
	/* Missing: now. */
	clean(&c, "Message-ID: <d@x.org>\r\nSubject: s\r\n\r\nb\r\n", &res);
	assert_field(&res, "Date", "Sun, 29 Nov 2026 12:00:00 +0000");
	assert_true(res.done & REACTOR_DID_DATE);
	reactor_result_free(&res);
	/* Unless asked not to touch it. */
	c.fix_date = 0;
	text = xstrdup("Message-ID: <d@x.org>\r\nDate: gestern\r\n"
	    "Subject: s\r\n\r\nb\r\n");
	clean(&c, text, &res);
	assert_field(&res, "Date", "gestern");
	reactor_result_free(&res);
	free(text);
}

static void
test_control(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;

	clean(&c, "Control: newgroup pirates.de.x\r\nSubject: cmsg\r\n\r\n",
	    &res);
	assert_int_equal(res.verdict, REACTOR_CONTROL);
	assert_string_equal(res.reason, "a control message is never gated");
	reactor_result_free(&res);
	clean(&c, "Also-Control: cancel <x@y>\r\nSubject: s\r\n\r\nb\r\n",
	    &res);
	assert_int_equal(res.verdict, REACTOR_CONTROL);
	reactor_result_free(&res);
}

static void
test_blacklisted(void **state)
{
	static const char bltext[] = "troll@example.org; drop\n"
	    "shy@example.org; no-archive\nbrief@example.org; expires; 7\n";
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	struct blacklist *bl;
	char *err;

	bl = blacklist_parse("bl", bltext, strlen(bltext), &err);
	assert_non_null(bl);
	c.blacklist = bl;
	clean(&c, "From: Troll <TROLL@example.org>\r\nSubject: s\r\n\r\nb\r\n",
	    &res);
	assert_int_equal(res.verdict, REACTOR_DROP);
	assert_null(res.out);
	reactor_result_free(&res);
	clean(&c, "From: shy@example.org (Shy)\r\nSubject: s\r\n\r\nb\r\n",
	    &res);
	assert_field(&res, "X-No-Archive", "yes");
	reactor_result_free(&res);
	clean(&c, "Sender: brief@example.org\r\nSubject: s\r\n\r\nb\r\n",
	    &res);
	assert_field(&res, "Expires", "Sun, 6 Dec 2026 12:00:00 +0000");
	assert_true(res.done & REACTOR_DID_EXPIRES);
	reactor_result_free(&res);
	blacklist_free(&bl);
}

static void
test_eight_bit(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	struct msg *m;
	const char *p;
	size_t i;

	clean(&c, "From: Ren\xe9 K\xf6" "cher <rk@example.org>\r\n"
	    "Subject: Gr\xfc\xdf" "e\r\nOrganization: Piraten M\xfcnchen\r\n"
	    "Message-ID: <8@x.org>\r\n"
	    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n\r\nb\r\n", &res);
	assert_field(&res, "Subject", "Gr\xc3\xbc\xc3\x9f" "e");
	assert_field(&res, "Organization", "Piraten M\xc3\xbcnchen");
	assert_field(&res, "From", "Ren\xc3\xa9 K\xc3\xb6" "cher"
	    " <rk@example.org>");
	assert_true(res.done & REACTOR_DID_CHARSET);
	m = parsed(&res);
	for (i = 0; i < m->nheaders; i++)
		assert_true(utf8_valid(m->headers[i].value,
		    strlen(m->headers[i].value)));
	for (p = msg_get(m, "Subject"); *p != '\0'; p++)
		assert_true((unsigned char)*p < 0x80);
	msg_free(&m);
	reactor_result_free(&res);
}

static void
test_refused(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;

	reactor_clean(&c, "Subject: a\0b\r\n\r\n", 15, &res);
	assert_int_equal(res.verdict, REACTOR_REFUSE);
	assert_non_null(res.reason);
	assert_null(res.out);
	reactor_result_free(&res);
	clean(&c, "no colon here\r\n\r\nbody\r\n", &res);
	assert_int_equal(res.verdict, REACTOR_REFUSE);
	reactor_result_free(&res);
}

/* MIME we cannot read is gated with its body as it came. */
static void
test_broken_mime(void **state)
{
	struct reactor_conf c = conf_default();
	struct reactor_result res;
	char *text, *t, *b;
	int i;

	/* Nested deeper than mime_parse goes. */
	text = xstrdup(HEAD "MIME-Version: 1.0\r\n");
	for (i = 0; i < MIME_DEPTH_MAX + 2; i++) {
		t = xasprintf("%sContent-Type: multipart/mixed;"
		    " boundary=\"b%d\"\r\n\r\n--b%d\r\n", text, i, i);
		free(text);
		text = t;
	}
	t = xasprintf("%s\r\nText\r\n" MM3_FOOTER, text);
	free(text);
	text = t;
	c.tag = "Test";
	clean(&c, text, &res);
	assert_int_equal(res.verdict, REACTOR_GATE);
	b = body_of(&res);
	assert_non_null(strstr(b, "Text\r\n" MM3_FOOTER));
	assert_false(res.done & REACTOR_DID_FOOTER);
	free(b);
	reactor_result_free(&res);
	free(text);
}

static void
test_did_names(void **state)
{
	char *s;

	s = reactor_did_names(REACTOR_DID_TAG | REACTOR_DID_FOOTER |
	    REACTOR_DID_EXPIRES);
	assert_string_equal(s, "tag,footer,expires");
	free(s);
	s = reactor_did_names(0);
	assert_string_equal(s, "");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_cancel),
		cmocka_unit_test(test_corpus_tags),
		cmocka_unit_test(test_corpus_filter_headers),
		cmocka_unit_test(test_corpus_folded),
		cmocka_unit_test(test_tag_exact),
		cmocka_unit_test(test_tag_found),
		cmocka_unit_test(test_tag_encoded),
		cmocka_unit_test(test_outlook),
		cmocka_unit_test(test_footer_plain),
		cmocka_unit_test(test_footer_encoded),
		cmocka_unit_test(test_footer_parts),
		cmocka_unit_test(test_footer_signed),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_msgid),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_blacklisted),
		cmocka_unit_test(test_eight_bit),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_broken_mime),
		cmocka_unit_test(test_did_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
