/*
 * test_describe.c: the description member of Mailman's JSON answers:
 * escapes, surrogate pairs, nesting, and what is not there.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "syncd.h"

static void
expect(const char *json, const char *want)
{
	char *got = describe_json_member(json, "description");

	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s: got '%s'", json, got);
		return;
	}
	if (got == NULL)
		fail_msg("%s: got nothing", json);
	assert_string_equal(got, want);
	free(got);
}

static void
test_member(void **state)
{
	(void)state;
	expect("{\"description\": \"Die Testliste\"}", "Die Testliste");
	expect("{\"a\": {\"description\": \"inner\"}, \"description\":"
	    " \"outer\"}", "outer");
	expect("{\"x\": \"\\\"description\\\": no\", \"description\": \"yes\"}",
	    "yes");
	expect("{\"description\": \"f\\u00fcr \\ud83d\\ude00 \\\"q\\\" a\\/b\"}",
	    "f\xc3\xbcr \xf0\x9f\x98\x80 \"q\" a/b");
	/* One line: line breaks and controls become spaces. */
	expect("{\"description\": \"a\\nb\\u0007c\"}", "a b c");
	expect("{\"description\": \"\"}", "");
	expect("{\"display_name\": \"x\"}", NULL);
	expect("{\"description\": 42}", NULL);
	expect("{\"description\": \"unterminated", NULL);
	expect("{\"description\": \"bad \\x escape\"}", NULL);
	/* Found by fuzz_describe: the string ends inside \u. */
	expect("{\"description\": \"unterminated \\u12", NULL);
	expect("{\"description\": \"\\u", NULL);
	expect("{\"a\": \"b", NULL);
	expect("{\"description\"", NULL);
	expect("{\"description\" , \"description\": \"x\"}", "x");
	expect("[\"description\", \"x\"]", NULL);
	expect("", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
