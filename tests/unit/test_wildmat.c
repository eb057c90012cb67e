/*
 * test_wildmat.c: RFC 3977 section 4 wildmats: the last matching pattern
 * decides, "?" is one UTF-8 character, and the grammar's limits.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nntp.h"

static void
test_match(void **state)
{
	/* The example of RFC 3977 section 4.4. */
	assert_true(wildmat_match("a*,!*b,*c*", "aaa"));
	assert_false(wildmat_match("a*,!*b,*c*", "abb"));
	assert_true(wildmat_match("a*,!*b,*c*", "ccb"));
	assert_false(wildmat_match("a*,!*b,*c*", "xxx"));

	assert_true(wildmat_match("*", "pirates.de.test"));
	assert_true(wildmat_match("*", ""));
	assert_true(wildmat_match("pirates.*", "pirates.de.test"));
	assert_false(wildmat_match("pirates.*", "pirates"));
	assert_true(wildmat_match("pirates.*,!pirates.de.*", "pirates.at.x"));
	assert_false(wildmat_match("pirates.*,!pirates.de.*", "pirates.de.x"));
	assert_true(wildmat_match("pirates.*,!pirates.de.*,pirates.de.test",
	    "pirates.de.test"));
	assert_true(wildmat_match("pirates.de.t?st", "pirates.de.test"));
	assert_false(wildmat_match("pirates.de.t?st", "pirates.de.tst"));
	assert_true(wildmat_match("*test", "pirates.de.test"));
	assert_true(wildmat_match("*.*.*", "a.b.c"));
	assert_false(wildmat_match("exact", "exactly"));
	assert_false(wildmat_match("!*", "anything"));
}

/* "?" takes a whole UTF-8 character, never half of one. */
static void
test_utf8(void **state)
{
	assert_true(wildmat_match("gr?n", "grün"));
	assert_false(wildmat_match("gr??n", "grün"));
	assert_true(wildmat_match("*ü*", "grün"));
	assert_true(wildmat_match("?", "\xe2\x82\xac"));	/* the euro sign */
}

/* Backtracking stays linear-ish: a hostile pattern ends quickly. */
static void
test_no_blowup(void **state)
{
	char text[20001], pattern[64];

	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	strcpy(pattern, "*a*a*a*a*a*a*a*a*a*a*a*a*b");
	assert_false(wildmat_match(pattern, text));
}

static void
test_valid(void **state)
{
	assert_true(wildmat_valid("*"));
	assert_true(wildmat_valid("!a"));
	assert_true(wildmat_valid("a,!b*,c?"));
	assert_true(wildmat_valid("grün.*"));
	assert_false(wildmat_valid(""));
	assert_false(wildmat_valid("a,,b"));
	assert_false(wildmat_valid("a,"));
	assert_false(wildmat_valid("!"));
	assert_false(wildmat_valid("!!a"));
	assert_false(wildmat_valid("a!b"));
	assert_false(wildmat_valid("a[bc]"));
	assert_false(wildmat_valid("a\\b"));
	assert_false(wildmat_valid("a b"));
	assert_false(wildmat_valid("a\tb"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_no_blowup),
		cmocka_unit_test(test_valid),
	};

	log_init(1, 0, "test_wildmat");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
