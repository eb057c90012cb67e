/*
 * test_cron.c: crontab(5)-like schedules: what parses, what is refused,
 * and the next run after a given time (in UTC, for the test).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "syncd.h"

/* 2026-11-29 (a Sunday) 14:55:19 UTC */
#define NOW	((time_t)1795964119)

static time_t
next_of(const char *spec, time_t after)
{
	struct cron c;
	char *err = NULL;

	if (cron_parse(spec, &c, &err) == -1)
		fail_msg("%s: %s", spec, err);
	return cron_next(&c, after);
}

/* The next run as "YYYY-MM-DD HH:MM" (UTC). */
static char *
next_str(const char *spec, time_t after)
{
	static char buf[32];
	time_t t = next_of(spec, after);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
	return buf;
}

static void
test_next(void **state)
{
	(void)state;
	assert_string_equal(next_str("* * * * *", NOW), "2026-11-29 14:56");
	assert_string_equal(next_str("0 7 * * *", NOW), "2026-11-30 07:00");
	assert_string_equal(next_str("*/30 * * * *", NOW), "2026-11-29 15:00");
	assert_string_equal(next_str("15 3 * * *", NOW), "2026-11-30 03:15");
	assert_string_equal(next_str("@hourly", NOW), "2026-11-29 15:00");
	assert_string_equal(next_str("@daily", NOW), "2026-11-30 00:00");
	/* Monday to Friday: Sunday's next is Monday. */
	assert_string_equal(next_str("30 3 * * 1-5", NOW), "2026-11-30 03:30");
	/* 7 is Sunday too: the next Sunday. */
	assert_string_equal(next_str("0 12 * * 7", NOW), "2026-12-06 12:00");
	assert_string_equal(next_str("@monthly", NOW), "2026-12-01 00:00");
	assert_string_equal(next_str("0 0 1 1 *", NOW), "2027-01-01 00:00");
	/* Both day fields restricted: either matches (the 1st, or Friday). */
	assert_string_equal(next_str("0 0 1 * 5", NOW), "2026-12-01 00:00");
	assert_string_equal(next_str("0 0 31 * 5", NOW), "2026-12-04 00:00");
	/* Lists and steps from a start. */
	assert_string_equal(next_str("5,50 14,15 * * *", NOW),
	    "2026-11-29 15:05");
	assert_string_equal(next_str("10/20 * * * *", NOW), "2026-11-29 15:10");
	/* February 30th never comes. */
	assert_int_equal(next_of("0 0 30 2 *", NOW), -1);
}

static void
test_refused(void **state)
{
	static const char *bad[] = {
		"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
		"* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *",
		"*/0 * * * *", "a * * * *", "1,,2 * * * *", "@often",
		"-1 * * * *", "* * * * *x",
	};
	struct cron c;
	char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (cron_parse(bad[i], &c, &err) != -1)
			fail_msg("'%s' was taken", bad[i]);
		assert_non_null(err);
		free(err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_refused),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
