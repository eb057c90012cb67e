/*
 * test_dotdata.c: dot-terminated text as NNTP articles and SMTP DATA
 * come, read in pieces: dot-stuffing, the end, and the refusals.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "common.h"
#include "syncd.h"

static void
test_end_and_stuffing(void **state)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	enum dotdata_refusal r = DOTDATA_OK;

	evbuffer_add_printf(in, "a\r\n..b\r\n");
	assert_int_equal(dotdata_read(in, out, 1000, &r, 1), 0);
	evbuffer_add_printf(in, ".\r\nNEXT\r\n");
	assert_int_equal(dotdata_read(in, out, 1000, &r, 1), 1);
	assert_int_equal(r, DOTDATA_OK);
	assert_int_equal(evbuffer_get_length(out), 7);
	assert_memory_equal(evbuffer_pullup(out, -1), "a\r\n.b\r\n", 7);
	assert_int_equal(evbuffer_get_length(in), 6);
	evbuffer_free(in);
	evbuffer_free(out);
}

/*
 * A line of exactly DOTDATA_LINE_MAX octets without its end is already
 * too long: it must be dropped then, for the SMTP server stops reading
 * when its input holds that much, and a line waiting for more than that
 * would wait for ever (a hung session, found by tests/integration/flood).
 */
static void
test_long_line_at_the_limit(void **state)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	enum dotdata_refusal r = DOTDATA_OK;
	char *line = malloc(DOTDATA_LINE_MAX);

	memset(line, 'y', DOTDATA_LINE_MAX);
	evbuffer_add(in, line, DOTDATA_LINE_MAX);
	assert_int_equal(dotdata_read(in, out, 1 << 30, &r, 1), 0);
	assert_int_equal(r, DOTDATA_LINE_TOO_LONG);
	assert_int_equal(evbuffer_get_length(in), 0);
	/* The rest of the line, then the end: read, not kept. */
	evbuffer_add_printf(in, "yyy\r\n.\r\n");
	assert_int_equal(dotdata_read(in, out, 1 << 30, &r, 1), 1);
	assert_int_equal(r, DOTDATA_LINE_TOO_LONG);
	free(line);
	evbuffer_free(in);
	evbuffer_free(out);
}

/* One octet less is a line that may still end in time. */
static void
test_long_line_below_the_limit(void **state)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	enum dotdata_refusal r = DOTDATA_OK;
	char *line = malloc(DOTDATA_LINE_MAX - 3);

	memset(line, 'y', DOTDATA_LINE_MAX - 3);
	evbuffer_add(in, line, DOTDATA_LINE_MAX - 3);
	assert_int_equal(dotdata_read(in, out, 1 << 30, &r, 1), 0);
	assert_int_equal(r, DOTDATA_OK);
	evbuffer_add_printf(in, "\r\n.\r\n");
	assert_int_equal(dotdata_read(in, out, 1 << 30, &r, 1), 1);
	assert_int_equal(r, DOTDATA_OK);
	assert_int_equal(evbuffer_get_length(out), DOTDATA_LINE_MAX - 1);
	free(line);
	evbuffer_free(in);
	evbuffer_free(out);
}

static void
test_too_big(void **state)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	enum dotdata_refusal r = DOTDATA_OK;

	evbuffer_add_printf(in, "0123456789\r\n0123456789\r\n.\r\n");
	assert_int_equal(dotdata_read(in, out, 20, &r, 1), 1);
	assert_int_equal(r, DOTDATA_TOO_BIG);
	evbuffer_free(in);
	evbuffer_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end_and_stuffing),
		cmocka_unit_test(test_long_line_at_the_limit),
		cmocka_unit_test(test_long_line_below_the_limit),
		cmocka_unit_test(test_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
