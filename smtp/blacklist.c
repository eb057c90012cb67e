/*
 * blacklist.c: senders whose list mail is dropped, kept out of archives
 * or given an expiry before it reaches news and the forum.  The file
 * format is SynFU's, so an existing blacklist keeps working; the action
 * words are ours as well.  Addresses compare without regard to case.
 */

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "smtp.h"

/* A blacklist file larger than this is a mistake, not a blacklist. */
#define BLACKLIST_FILE_MAX	(16 * 1024 * 1024)
#define BLACKLIST_DAYS_MAX	3650

struct blacklist_rule {
	char		*addr;		/* lower case; "@domain" for a domain */
	int		 actions;
	int		 days;
};

struct blacklist {
	struct blacklist_rule *rules;
	size_t		 n;
};

static const struct {
	const char	*name;
	int		 actions;
} blacklist_actions[] = {
	{ "d", BLACKLIST_DROP }, { "drop", BLACKLIST_DROP },
	{ "n", BLACKLIST_NO_ARCHIVE }, { "no-archive", BLACKLIST_NO_ARCHIVE },
	{ "e", BLACKLIST_EXPIRES }, { "expires", BLACKLIST_EXPIRES },
	{ "ne", BLACKLIST_NO_ARCHIVE | BLACKLIST_EXPIRES },
	{ "en", BLACKLIST_NO_ARCHIVE | BLACKLIST_EXPIRES },
};

/* s without white space at either end, in place. */
static char *
blacklist_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static char *
blacklist_lower(const char *s)
{
	char *l = xstrdup(s), *p;

	for (p = l; *p != '\0'; p++)
		*p = tolower((unsigned char)*p);
	return l;
}

static int blacklist_error(char **, const char *, int, const char *, ...)
    PRINTFLIKE(4, 5);

static int
blacklist_error(char **err_r, const char *name, int line, const char *fmt,
    ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("blacklist_error");
	va_end(ap);
	*err_r = xasprintf("%s:%d: %s", name, line, msg);
	free(msg);
	return -1;
}

/* One rule from line (modified in place); 0 for a blank line too. */
static int
blacklist_line(struct blacklist *bl, char *line, const char *name, int lineno,
    char **err_r)
{
	struct blacklist_rule r;
	char *fields[3], *p, *end;
	size_t i, nf = 0;
	long days;

	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	if (*blacklist_trim(line) == '\0')
		return 0;
	for (p = line; nf < 3; nf++) {
		fields[nf] = p;
		if ((p = strchr(p, ';')) == NULL) {
			nf++;
			break;
		}
		*p++ = '\0';
	}
	if (p != NULL)
		return blacklist_error(err_r, name, lineno,
		    "more than three fields");
	for (i = 0; i < nf; i++)
		fields[i] = blacklist_trim(fields[i]);
	if (nf < 2)
		return blacklist_error(err_r, name, lineno,
		    "expected \"address; action[; days]\"");
	if (fields[0][0] == '\0' || strchr(fields[0], ' ') != NULL ||
	    strchr(fields[0], '@') == NULL)
		return blacklist_error(err_r, name, lineno,
		    "\"%s\" is not an address or @domain", fields[0]);
	memset(&r, 0, sizeof(r));
	for (i = 0; i < sizeof(blacklist_actions) /
	    sizeof(blacklist_actions[0]); i++)
		if (strcasecmp(fields[1], blacklist_actions[i].name) == 0)
			r.actions = blacklist_actions[i].actions;
	if (r.actions == 0)
		return blacklist_error(err_r, name, lineno,
		    "unknown action \"%s\" (drop, no-archive, expires, or"
		    " SynFU's d, n, e, ne)", fields[1]);
	if ((r.actions & BLACKLIST_EXPIRES) != 0) {
		if (nf < 3)
			return blacklist_error(err_r, name, lineno,
			    "expires needs a number of days");
		errno = 0;
		days = strtol(fields[2], &end, 10);
		if (errno != 0 || *end != '\0' || end == fields[2] ||
		    days < 1 || days > BLACKLIST_DAYS_MAX)
			return blacklist_error(err_r, name, lineno,
			    "\"%s\" is not a number of days from 1 to %d",
			    fields[2], BLACKLIST_DAYS_MAX);
		r.days = days;
	} else if (nf > 2)
		return blacklist_error(err_r, name, lineno,
		    "only expires takes a number of days");
	r.addr = blacklist_lower(fields[0]);
	bl->rules = xreallocarray(bl->rules, bl->n + 1, sizeof(*bl->rules));
	bl->rules[bl->n++] = r;
	return 0;
}

struct blacklist *
blacklist_parse(const char *name, const char *text, size_t len, char **err_r)
{
	struct blacklist *bl = xcalloc(1, sizeof(*bl));
	const char *p = text, *end = text + len, *nl;
	char *line;
	int lineno = 0, rc;

	if (memchr(text, '\0', len) != NULL) {
		*err_r = xasprintf("%s: NUL byte in the file", name);
		blacklist_free(&bl);
		return NULL;
	}
	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		line = xstrndup(p, nl - p);
		rc = blacklist_line(bl, line, name, lineno, err_r);
		free(line);
		if (rc == -1) {
			blacklist_free(&bl);
			return NULL;
		}
		p = nl + 1;
	}
	return bl;
}

struct blacklist *
blacklist_load(const char *path, char **err_r)
{
	struct blacklist *bl;
	struct stat st;
	char *buf;
	ssize_t r;
	size_t n = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		*err_r = xasprintf("%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > BLACKLIST_FILE_MAX) {
		*err_r = xasprintf("%s: not a regular file of at most %d MB",
		    path, BLACKLIST_FILE_MAX / (1024 * 1024));
		close(fd);
		return NULL;
	}
	buf = xmalloc(st.st_size + 1);
	while (n < (size_t)st.st_size && (r = read(fd, buf + n,
	    st.st_size - n)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			*err_r = xasprintf("%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		n += r;
	}
	close(fd);
	bl = blacklist_parse(path, buf, n, err_r);
	free(buf);
	return bl;
}

int
blacklist_match(const struct blacklist *bl, const char *addr, int *days_r)
{
	const char *at;
	char *l;
	size_t i;
	int actions = 0;

	*days_r = 0;
	if (bl == NULL || addr == NULL || (at = strrchr(addr, '@')) == NULL)
		return 0;
	l = blacklist_lower(addr);
	at = l + (at - addr);
	for (i = 0; i < bl->n; i++)
		if (strcmp(bl->rules[i].addr, l) == 0 ||
		    strcmp(bl->rules[i].addr, at) == 0) {
			actions |= bl->rules[i].actions;
			if (bl->rules[i].days > *days_r)
				*days_r = bl->rules[i].days;
		}
	free(l);
	return actions;
}

size_t
blacklist_count(const struct blacklist *bl)
{
	return bl != NULL ? bl->n : 0;
}

void
blacklist_free(struct blacklist **blp)
{
	struct blacklist *bl = *blp;
	size_t i;

	if (bl == NULL)
		return;
	for (i = 0; i < bl->n; i++)
		free(bl->rules[i].addr);
	free(bl->rules);
	free(bl);
	*blp = NULL;
}
