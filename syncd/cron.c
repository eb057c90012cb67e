/*
 * cron.c: cron-like schedules for syncd's jobs ("job NAME SCHEDULE").
 *
 * A schedule is five fields as crontab(5) has them, minute (0-59), hour
 * (0-23), day of month (1-31), month (1-12) and day of week (0-7, 0 and 7
 * Sunday), each "*", a number, a range "a-b", a list "a,b" or any of them
 * with a step "/n"; or one of @hourly, @daily (@midnight), @weekly,
 * @monthly, @yearly (@annually).  As in cron, when both the day of month
 * and the day of week are restricted, either may match.  Times are local.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "syncd.h"

static const struct {
	const char	*name;
	const char	*spec;
} cron_aliases[] = {
	{ "@hourly", "0 * * * *" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@monthly", "0 0 1 * *" },
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
};

static const struct {
	const char	*what;
	int		 lo, hi;
} cron_fields[5] = {
	{ "minute", 0, 59 },
	{ "hour", 0, 23 },
	{ "day of month", 1, 31 },
	{ "month", 1, 12 },
	{ "day of week", 0, 7 },
};

/* A number in [lo, hi] at *p, which moves past it; -1 if none. */
static int
cron_number(const char **p, int lo, int hi)
{
	char *end;
	long n;

	if (**p < '0' || **p > '9')
		return -1;
	n = strtol(*p, &end, 10);
	if (n < lo || n > hi)
		return -1;
	*p = end;
	return (int)n;
}

/* One field (len octets at s) into the bit set *bits. */
static int
cron_field(const char *s, size_t len, int field, uint64_t *bits,
    int *star_r, char **err_r)
{
	int lo = cron_fields[field].lo, hi = cron_fields[field].hi;
	char *copy = xstrndup(s, len), *item, *save = NULL;
	const char *p;
	int a, b, step, i;

	*bits = 0;
	*star_r = strcmp(copy, "*") == 0;
	if (*copy == ',' || copy[len - 1] == ',' || strstr(copy, ",,") != NULL)
		goto bad;
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		p = item;
		if (*p == '*') {
			a = lo;
			b = hi;
			p++;
		} else {
			if ((a = cron_number(&p, lo, hi)) == -1)
				goto bad;
			b = a;
			if (*p == '-') {
				p++;
				if ((b = cron_number(&p, a, hi)) == -1)
					goto bad;
			}
		}
		step = 1;
		if (*p == '/') {
			p++;
			if ((step = cron_number(&p, 1, hi)) == -1)
				goto bad;
			/* "5/15" runs from 5 to the end, as in Vixie cron. */
			if (a == b && item[0] != '*')
				b = hi;
		}
		if (*p != '\0')
			goto bad;
		for (i = a; i <= b; i += step)
			*bits |= (uint64_t)1 << i;
	}
	free(copy);
	if (*bits == 0)
		goto bad_nocopy;
	/* Sunday is 0 and 7. */
	if (field == 4 && (*bits & ((uint64_t)1 << 7)))
		*bits |= 1;
	return 0;
bad:
	free(copy);
bad_nocopy:
	*err_r = xasprintf("'%.*s' is not a valid %s (%d-%d, *, a-b, a,b or /n)",
	    (int)len, s, cron_fields[field].what, lo, hi);
	return -1;
}

int
cron_parse(const char *spec, struct cron *c, char **err_r)
{
	uint64_t bits[5];
	const char *p, *end;
	int field, star[5];
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(cron_aliases) / sizeof(cron_aliases[0]); i++)
		if (strcmp(spec, cron_aliases[i].name) == 0)
			spec = cron_aliases[i].spec;
	p = spec;
	for (field = 0; field < 5; field++) {
		p += strspn(p, " \t");
		if (*p == '\0') {
			*err_r = xasprintf("'%s' has %d fields, a schedule has"
			    " 5 (minute hour day-of-month month day-of-week)"
			    " or is @hourly, @daily, @weekly or @monthly",
			    spec, field);
			return -1;
		}
		end = p + strcspn(p, " \t");
		if (cron_field(p, end - p, field, &bits[field], &star[field],
		    err_r) == -1)
			return -1;
		p = end;
	}
	if (p[strspn(p, " \t")] != '\0') {
		*err_r = xasprintf("'%s' has more than 5 fields", spec);
		return -1;
	}
	c->minutes = bits[0];
	c->hours = (uint32_t)bits[1];
	c->days = (uint32_t)bits[2];
	c->months = (uint16_t)bits[3];
	c->weekdays = (uint8_t)bits[4];
	c->days_any = star[2];
	c->weekdays_any = star[4];
	return 0;
}

/* Whether the day of tm matches (cron: either restricted day field). */
static int
cron_day(const struct cron *c, const struct tm *tm)
{
	int dom = (c->days >> tm->tm_mday) & 1;
	int dow = (c->weekdays >> tm->tm_wday) & 1;

	if (c->days_any || c->weekdays_any)
		return dom && dow;
	return dom || dow;
}

time_t
cron_next(const struct cron *c, time_t after)
{
	struct tm tm;
	time_t t;
	int steps;

	/* The next whole minute; at most a little over four years ahead. */
	t = after - after % 60 + 60;
	for (steps = 0; steps < 4 * 366 * 24 * 60; steps++) {
		localtime_r(&t, &tm);
		if (!((c->months >> (tm.tm_mon + 1)) & 1) || !cron_day(c, &tm)) {
			/* Skip to the next day's midnight. */
			t += (time_t)(24 * 60 - tm.tm_hour * 60 - tm.tm_min) *
			    60;
			continue;
		}
		if (!((c->hours >> tm.tm_hour) & 1)) {
			t += (time_t)(60 - tm.tm_min) * 60;
			continue;
		}
		if ((c->minutes >> tm.tm_min) & 1)
			return t;
		t += 60;
	}
	return (time_t)-1;
}
