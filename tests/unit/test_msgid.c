/*
 * test_msgid.c: unit tests for common/msgid.c (Message-ID validation,
 * extraction and generation, References building and trimming).
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

/* A message from literal text, which must parse. */
static struct msg *
parse(const char *text)
{
	struct msg *msg;
	const char *err = NULL;

	assert_int_equal(msg_parse(text, strlen(text), &msg, &err), 0);
	return msg;
}

/* Check that id is refused for the reason expect. */
static void
check_invalid(const char *id, const char *expect)
{
	const char *err = NULL;

	assert_int_equal(msgid_valid(id, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, expect);
}

/* RFC 5536 section 3.1.3 and RFC 3977 section 3.6: what is accepted. */
static void
test_valid(void **state)
{
	char id[MSGID_MAX + 2];
	const char *err = NULL;

	assert_int_equal(msgid_valid("<a@b>", &err), 0);
	assert_null(err);
	assert_int_equal(msgid_valid("<20240305.0930.alice@example.org>",
	    NULL), 0);
	assert_int_equal(msgid_valid("<a.b+c!#$%&'*/=?^_`{|}~-@[1.2.3.4]>",
	    NULL), 0);
	assert_int_equal(msgid_valid("<\"q\"@x>", NULL), 0);
	/* Exactly 250 octets is fine, 251 is not. */
	memset(id, 'a', MSGID_MAX);
	id[0] = '<';
	id[10] = '@';
	id[MSGID_MAX - 1] = '>';
	id[MSGID_MAX] = '\0';
	assert_int_equal(msgid_valid(id, NULL), 0);
	id[MSGID_MAX - 1] = 'a';
	id[MSGID_MAX] = '>';
	id[MSGID_MAX + 1] = '\0';
	check_invalid(id, "Message-ID longer than 250 octets");
}

/* What is refused, and why. */
static void
test_invalid(void **state)
{
	check_invalid("", "Message-ID too short");
	check_invalid("<a@>", "Message-ID too short");
	check_invalid("a@bcd>", "Message-ID does not start with <");
	check_invalid("<a@bcd", "Message-ID does not end with >");
	check_invalid("<abcde>", "Message-ID has no @");
	check_invalid("<@bcde>", "Message-ID has nothing before the @");
	check_invalid("<abcd@>", "Message-ID has nothing after the @");
	check_invalid("<a@b@c>", "Message-ID holds more than one @");
	check_invalid("<a b@c>", "Message-ID holds white space or a byte "
	    "that is not printable US-ASCII");
	check_invalid("<a\t@bc>", "Message-ID holds white space or a byte "
	    "that is not printable US-ASCII");
	check_invalid("<a\x7f@bc>", "Message-ID holds white space or a byte "
	    "that is not printable US-ASCII");
	check_invalid("<\xc3\xa4@bc>", "Message-ID holds white space or a "
	    "byte that is not printable US-ASCII");
	check_invalid("<a<b@cd>", "Message-ID holds < or > inside");
	check_invalid("<a>b@cd>", "Message-ID holds < or > inside");
	/* err_r may be NULL. */
	assert_int_equal(msgid_valid("nope", NULL), -1);
}

/* Check that extracting from value gives expect (NULL: nothing). */
static void
check_extract(const char *value, const char *expect)
{
	char *id;

	id = msgid_extract(value);
	if (expect == NULL)
		assert_null(id);
	else {
		assert_non_null(id);
		assert_string_equal(id, expect);
	}
	free(id);
}

/* The ID in a Message-ID field: comments and white space around it go. */
static void
test_extract(void **state)
{
	check_extract("<a@b>", "<a@b>");
	check_extract("  <id@example.org>  ", "<id@example.org>");
	check_extract("(comment) <id@example.org> (more)", "<id@example.org>");
	check_extract("\r\n <id@example.org>", "<id@example.org>");
	check_extract("<id@example.org> trailing junk", "<id@example.org>");
	/* Never repaired: libetpan would give "ab@c" for these. */
	check_extract("<a b@c>", NULL);
	check_extract("<a\x01@bc>", NULL);
	check_extract("<id @ example.org>", NULL);
	check_extract("<a@b@c>", NULL);
	check_extract("id@example.org", NULL);
	check_extract("", NULL);
	check_extract("<>", NULL);
}

/* Check msgid_list on value against the n IDs in expect. */
static void
check_list(const char *value, const char **expect, size_t n)
{
	char **ids;
	size_t got, i;

	got = msgid_list(value, &ids);
	assert_int_equal(got, n);
	for (i = 0; i < n; i++)
		assert_string_equal(ids[i], expect[i]);
	if (n == 0)
		assert_null(ids);
	msgid_list_free(ids, got);
}

/* References and In-Reply-To as they come: junk, commas, comments. */
static void
test_list(void **state)
{
	const char *two[] = { "<a@b>", "<c@d>" };
	const char *three[] = { "<a@b>", "<e@f>", "<l@m>" };
	const char *tail[] = { "<a@b>", "<d@e>" };
	const char *folded[] = { "<a@b>", "<c@d>", "<e@f>" };

	check_list("<a@b> <c@d>", two, 2);
	check_list("<a@b>,<c@d>", two, 2);
	check_list("<a@b>\r\n\t<c@d>", two, 2);
	check_list("<a@b> (a comment <x@y>) <c@d>", two, 2);
	check_list("Your message of Monday <a@b> about <c@d>", two, 2);
	check_list("<a@b>, junk <c@d (x) <e@f> <i j@k> <l@m>", three, 3);
	/* One broken ID does not lose the ones after it. */
	check_list("<a@b> <c@exa\r\n mple.org> <d@e>", tail, 2);
	check_list("<a@b> <c>d@e> <f@g>", (const char *[]){ "<a@b>", "<f@g>" },
	    2);
	check_list("<a@b>\r\n <c@d>\r\n <e@f>", folded, 3);
	check_list("", NULL, 0);
	check_list("no ids here", NULL, 0);
	check_list("<unterminated@x", NULL, 0);
	check_list("(<hidden@x>)", NULL, 0);
	check_list("((nested) <hidden@x>) <a@b>", (const char *[]){ "<a@b>" },
	    1);
	check_list("(\\) <hidden@x>) <a@b>", (const char *[]){ "<a@b>" }, 1);
}

/*
 * Hostile References: linear time, whatever the input.  Restarting
 * libetpan's list parser after each bad token took 3.7 s for 64 KiB of
 * "<a "; this is 1 MiB.
 */
static void
test_list_hostile(void **state)
{
	size_t n = 1 << 20, i, got;
	char *s = malloc(n + 1), **ids;
	struct timespec t0, t1;

	assert_non_null(s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i + 3 <= n; i += 3)
		memcpy(s + i, "<a ", 3);
	s[i] = '\0';
	got = msgid_list(s, &ids);
	assert_int_equal(got, 0);
	assert_null(ids);
	memset(s, '(', n);
	s[n] = '\0';
	assert_int_equal(msgid_list(s, &ids), 0);
	for (i = 0; i + 6 <= n; i += 6)
		memcpy(s + i, "<a@b> ", 6);
	s[i] = '\0';
	got = msgid_list(s, &ids);
	assert_int_equal(got, n / 6);
	msgid_list_free(ids, got);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	free(s);
}

/* Generated IDs are valid, unique and under our domain. */
static void
test_generate(void **state)
{
	char *ids[1000];
	size_t i, j, len;

	for (i = 0; i < 1000; i++) {
		ids[i] = msgid_generate("news.example.org");
		assert_int_equal(msgid_valid(ids[i], NULL), 0);
		len = strlen(ids[i]);
		assert_true(len > 18);
		assert_string_equal(ids[i] + len - 18, "@news.example.org>");
	}
	for (i = 0; i < 1000; i++) {
		for (j = i + 1; j < 1000; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	for (i = 0; i < 1000; i++)
		free(ids[i]);
}

/* A domain that is not fit for an ID still gives a valid one. */
static void
test_generate_bad_domain(void **state)
{
	char dom[400], *id;
	size_t len;

	id = msgid_generate("exa mple<>@.org");
	assert_int_equal(msgid_valid(id, NULL), 0);
	len = strlen(id);
	assert_string_equal(id + len - 17, "@exa-mple---.org>");
	free(id);
	id = msgid_generate("");
	assert_int_equal(msgid_valid(id, NULL), 0);
	assert_non_null(strstr(id, "@invalid>"));
	free(id);
	id = msgid_generate("k\xc3\xb6ln.example");
	assert_int_equal(msgid_valid(id, NULL), 0);
	free(id);
	memset(dom, 'd', sizeof(dom) - 1);
	dom[sizeof(dom) - 1] = '\0';
	id = msgid_generate(dom);
	assert_int_equal(msgid_valid(id, NULL), 0);
	assert_true(strlen(id) <= MSGID_MAX);
	free(id);
}

/* What msgid_generate makes is recognised; nothing else is. */
static void
test_ours(void **state)
{
	static const char *const not_ours[] = {
		"", "<>", "<a@news.example.org>",
		"<mk1.2@news.example.org>",		/* one dot */
		"<mk1.2.3.4@news.example.org>",		/* three */
		"<.1.2@news.example.org>",		/* one empty */
		"<1..2@news.example.org>",
		"<1.2.@news.example.org>",
		"<MK1.2.3@news.example.org>",		/* upper case */
		"<mk1.2.3@news.example.org",		/* no '>' */
		"<mk1.2.3@news.example.org>x",
		"<mk1.2.3@news.example.orgx>",
		"<mk1.2.3@other.example.org>",
		"<mk1.2.3@news.example.or>",
		"<mk1.2.3@@news.example.org>",
		"<mk1.2.3\"@news.example.org>",
		"news.example.org", NULL
	};
	char dom[400], *id;
	size_t i;

	id = msgid_generate("news.example.org");
	assert_int_equal(msgid_ours(id, "news.example.org"), 1);
	assert_int_equal(msgid_ours(id, "example.org"), 0);
	free(id);
	assert_int_equal(msgid_ours("<mk1.2.3@news.example.org>",
	    "news.example.org"), 1);
	for (i = 0; not_ours[i] != NULL; i++)
		assert_int_equal(msgid_ours(not_ours[i], "news.example.org"),
		    0);
	/* Under a domain that had to be mended or cut, too. */
	id = msgid_generate("exa mple<>@.org");
	assert_int_equal(msgid_ours(id, "exa mple<>@.org"), 1);
	free(id);
	memset(dom, 'd', sizeof(dom) - 1);
	dom[sizeof(dom) - 1] = '\0';
	id = msgid_generate(dom);
	assert_int_equal(msgid_ours(id, dom), 1);
	free(id);
}

/* Check msg_parent_id of a message given as text. */
static void
check_parent(const char *text, const char *expect)
{
	struct msg *msg = parse(text);
	char *id;

	id = msg_parent_id(msg);
	if (expect == NULL)
		assert_null(id);
	else {
		assert_non_null(id);
		assert_string_equal(id, expect);
	}
	free(id);
	msg_free(&msg);
}

/* The parent: last of References, else first of In-Reply-To. */
static void
test_parent_id(void **state)
{
	check_parent("References: <r1@x> <r2@x>\r\nIn-Reply-To: <i@x>\r\n\r\n",
	    "<r2@x>");
	check_parent("In-Reply-To: <i1@x> <i2@x>\r\n\r\n", "<i1@x>");
	check_parent("References: junk\r\nIn-Reply-To: <i@x>\r\n\r\n",
	    "<i@x>");
	check_parent("references: <r1@x>\r\n <r2@x> (x)\r\n\r\n", "<r2@x>");
	check_parent("Subject: none\r\n\r\n", NULL);
}

/* Check references_build(max) of a message given as text. */
static void
check_build(const char *text, size_t max, const char *expect)
{
	struct msg *msg = parse(text);
	char *refs;

	refs = references_build(msg, max);
	if (expect == NULL)
		assert_null(refs);
	else {
		assert_non_null(refs);
		assert_string_equal(refs, expect);
		assert_true(strlen(refs) <= max);
	}
	free(refs);
	msg_free(&msg);
}

/* RFC 5322 section 3.6.4, case by case. */
static void
test_references_build(void **state)
{
	check_build("Message-ID: <p@x>\r\nReferences: <a@x>\r\n <b@x>\r\n"
	    "In-Reply-To: <b@x>\r\n\r\n", 998, "<a@x> <b@x> <p@x>");
	/* No References, one ID in In-Reply-To: that, then the ID. */
	check_build("Message-ID: <p@x>\r\nIn-Reply-To: <i@x>\r\n\r\n", 998,
	    "<i@x> <p@x>");
	/* Several IDs in In-Reply-To: not used. */
	check_build("Message-ID: <p@x>\r\nIn-Reply-To: <i@x> <j@x>\r\n\r\n",
	    998, "<p@x>");
	check_build("Message-ID: <p@x>\r\n\r\n", 998, "<p@x>");
	/* No Message-ID: the parent's own chain. */
	check_build("References: <a@x> <b@x>\r\n\r\n", 998, "<a@x> <b@x>");
	check_build("Message-ID: broken\r\n\r\n", 998, NULL);
	check_build("Subject: nothing\r\n\r\n", 998, NULL);
	/* Trimmed from the middle. */
	check_build("Message-ID: <p@x>\r\nReferences: <a@x> <b@x> <c@x>\r\n"
	    "\r\n", 17, "<a@x> <c@x> <p@x>");
}

/* Check references_trim(refs, max) against expect. */
static void
check_trim(const char *refs, size_t max, const char *expect)
{
	char *t;

	t = references_trim(refs, max);
	if (expect == NULL)
		assert_null(t);
	else {
		assert_non_null(t);
		assert_string_equal(t, expect);
		assert_true(strlen(t) <= max);
	}
	free(t);
}

/* The first ID stays, then as many of the last as fit. */
static void
test_references_trim(void **state)
{
	const char *refs = "<1@x> <2@x> <3@x> <4@x> <5@x>";

	check_trim(refs, 998, refs);
	check_trim(refs, strlen(refs), refs);
	check_trim(refs, strlen(refs) - 1, "<1@x> <3@x> <4@x> <5@x>");
	check_trim(refs, 17, "<1@x> <4@x> <5@x>");
	check_trim(refs, 16, "<1@x> <5@x>");
	check_trim(refs, 11, "<1@x> <5@x>");
	check_trim(refs, 10, "<1@x>");
	check_trim(refs, 5, "<1@x>");
	check_trim(refs, 4, NULL);
	/* Folding and junk go; single spaces join what is left. */
	check_trim("<1@x>,\r\n\t<bad id@x>  <2@x>", 998, "<1@x> <2@x>");
	check_trim("nothing", 998, NULL);
	check_trim("", 998, NULL);
	/* A long tail ID that does not fit stops the tail there. */
	check_trim("<1@x> <long-long-long@x> <3@x>", 12, "<1@x> <3@x>");
	check_trim("<1@x> <3@x> <long-long-long@x>", 12, "<1@x>");
}

/* The trimming promises on random chains. */
static void
test_references_trim_random(void **state)
{
	char refs[8192], id[64], **ids, **got, *t;
	uint32_t seed = 7;
	size_t n, ngot, i, k, len, max;
	int iter;

	for (iter = 0; iter < 500; iter++) {
		len = 0;
		n = 1 + (seed = seed * 1103515245 + 12345) % 60;
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			k = snprintf(id, sizeof(id), "<%zu.%u@host%u.example>",
			    i, seed % 100000, (seed >> 16) % 7);
			memcpy(refs + len, id, k);
			len += k;
			refs[len++] = (seed >> 8) % 3 == 0 ? '\t' : ' ';
		}
		refs[len] = '\0';
		max = (seed >> 4) % 1100;
		n = msgid_list(refs, &ids);
		t = references_trim(refs, max);
		if (strlen(ids[0]) > max)
			assert_null(t);
		else {
			assert_non_null(t);
			assert_true(strlen(t) <= max);
			ngot = msgid_list(t, &got);
			assert_string_equal(got[0], ids[0]);
			for (i = 1; i < ngot; i++)
				assert_string_equal(got[i], ids[n - ngot + i]);
			/* The next ID back would not have fitted. */
			if (ngot < n)
				assert_true(strlen(t) + 1 +
				    strlen(ids[n - ngot]) > max);
			msgid_list_free(got, ngot);
		}
		free(t);
		msgid_list_free(ids, n);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_extract),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_hostile),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_generate_bad_domain),
		cmocka_unit_test(test_ours),
		cmocka_unit_test(test_parent_id),
		cmocka_unit_test(test_references_build),
		cmocka_unit_test(test_references_trim),
		cmocka_unit_test(test_references_trim_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
