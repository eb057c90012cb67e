/*
 * test_blacklist.c: the reactor's blacklist: SynFU's file format and our
 * action words, errors with their line, matching without case and by
 * domain.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "smtp.h"

static struct blacklist *
parse(const char *text, char **err_r)
{
	*err_r = NULL;
	return blacklist_parse("bl", text, strlen(text), err_r);
}

static void
test_rules(void **state)
{
	static const char text[] =
	    "# SynFU's format\n"
	    "troll@example.org; d\n"
	    "  Quiet@Example.ORG ; n   # a comment\n"
	    "short@example.org; e; 7\r\n"
	    "both@example.org; ne; 30\n"
	    "\n"
	    "@spam.example; drop\n"
	    "words@example.org; expires; 2\n"
	    "words@example.org; no-archive\n";
	struct blacklist *bl;
	char *err;
	int days;

	bl = parse(text, &err);
	assert_non_null(bl);
	assert_int_equal(blacklist_count(bl), 7);
	assert_int_equal(blacklist_match(bl, "troll@example.org", &days),
	    BLACKLIST_DROP);
	assert_int_equal(blacklist_match(bl, "TROLL@example.org", &days),
	    BLACKLIST_DROP);
	/* Rules written with capitals match too (SynFU's never did). */
	assert_int_equal(blacklist_match(bl, "quiet@example.org", &days),
	    BLACKLIST_NO_ARCHIVE);
	assert_int_equal(blacklist_match(bl, "short@example.org", &days),
	    BLACKLIST_EXPIRES);
	assert_int_equal(days, 7);
	assert_int_equal(blacklist_match(bl, "both@example.org", &days),
	    BLACKLIST_NO_ARCHIVE | BLACKLIST_EXPIRES);
	assert_int_equal(days, 30);
	assert_int_equal(blacklist_match(bl, "anyone@SPAM.example", &days),
	    BLACKLIST_DROP);
	assert_int_equal(blacklist_match(bl, "words@example.org", &days),
	    BLACKLIST_NO_ARCHIVE | BLACKLIST_EXPIRES);
	assert_int_equal(days, 2);
	assert_int_equal(blacklist_match(bl, "friend@example.org", &days), 0);
	assert_int_equal(blacklist_match(bl, "no-at-sign", &days), 0);
	assert_int_equal(blacklist_match(bl, NULL, &days), 0);
	assert_int_equal(blacklist_match(NULL, "troll@example.org", &days),
	    0);
	blacklist_free(&bl);
	assert_null(bl);
}

static void
test_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "a@b\n", "bl:1: expected \"address; action[; days]\"" },
		{ "\nnobody; d\n", "bl:2: \"nobody\" is not an address or"
		    " @domain" },
		{ "a@b; x\n", "bl:1: unknown action \"x\" (drop, no-archive,"
		    " expires, or SynFU's d, n, e, ne)" },
		{ "a@b; e\n", "bl:1: expires needs a number of days" },
		{ "a@b; e; soon\n", "bl:1: \"soon\" is not a number of days"
		    " from 1 to 3650" },
		{ "a@b; e; 0\n", "bl:1: \"0\" is not a number of days from 1"
		    " to 3650" },
		{ "a@b; d; 3\n", "bl:1: only expires takes a number of days" },
		{ "a@b; e; 3; x\n", "bl:1: more than three fields" },
		{ "a b@c; d\n", "bl:1: \"a b@c\" is not an address or"
		    " @domain" },
	};
	struct blacklist *bl;
	size_t i;
	char *err;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bl = parse(bad[i][0], &err);
		assert_null(bl);
		assert_non_null(err);
		assert_string_equal(err, bad[i][1]);
		free(err);
	}
	bl = blacklist_parse("bl", "a@b; d\0", 7, &err);
	assert_null(bl);
	assert_string_equal(err, "bl: NUL byte in the file");
	free(err);
}

static void
test_load(void **state)
{
	char path[] = "/tmp/syncom-bl.XXXXXX", *err = NULL;
	struct blacklist *bl;
	int fd, days;

	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "x@y; n\n", 7), 7);
	close(fd);
	bl = blacklist_load(path, &err);
	assert_non_null(bl);
	assert_int_equal(blacklist_match(bl, "x@y", &days),
	    BLACKLIST_NO_ARCHIVE);
	blacklist_free(&bl);
	unlink(path);
	assert_null(blacklist_load(path, &err));
	assert_non_null(strstr(err, "No such file"));
	free(err);
	assert_null(blacklist_load("/tmp", &err));
	assert_non_null(strstr(err, "not a regular file"));
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
