/*
 * test_log.c: log lines stay key=value even when a value holds spaces,
 * quotes, "=" or control bytes, and nothing outgrows its buffer.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

static void
test_quote(void **state)
{
	char big[2000];

	assert_string_equal(log_q("plain"), "plain");
	assert_string_equal(log_q("<id@example.org>"), "<id@example.org>");
	assert_string_equal(log_q(NULL), "-");
	assert_string_equal(log_q(""), "\"\"");
	assert_string_equal(log_q("two words"), "\"two words\"");
	assert_string_equal(log_q("a=b"), "\"a=b\"");
	assert_string_equal(log_q("say \"hi\""), "\"say \\\"hi\\\"\"");
	assert_string_equal(log_q("back\\slash"), "\"back\\\\slash\"");
	assert_string_equal(log_q("line\r\nbreak"), "\"line\\x0d\\x0abreak\"");
	assert_string_equal(log_q("Grüße"), "Grüße");

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = ' ';
	assert_true(strlen(log_q(big)) < 512);
	assert_string_equal(log_q(big) + strlen(log_q(big)) - 3, "..\"");
}

/* Four values of one line may be quoted at once. */
static void
test_buffers(void **state)
{
	const char *a = log_q("a a"), *b = log_q("b b"), *c = log_q("c c");
	const char *d = log_q("d d");

	assert_string_equal(a, "\"a a\"");
	assert_string_equal(b, "\"b b\"");
	assert_string_equal(c, "\"c c\"");
	assert_string_equal(d, "\"d d\"");
}

static void
test_verbose(void **state)
{
	log_setverbose(1);
	assert_int_equal(log_getverbose(), 1);
	log_debug("event=test level=debug");
	log_setverbose(0);
	assert_int_equal(log_getverbose(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_buffers),
		cmocka_unit_test(test_verbose),
	};

	log_init(1, 0, "test_log");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
