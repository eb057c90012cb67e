/*
 * conf.c: syncd.conf, parsed into a struct conf and printed back in
 * canonical form (syncd -n).
 *
 * The file is a list of statements, one per line: a keyword and its
 * arguments, or "channel NAME {" opening a block of channel statements
 * closed by "}".  Arguments are bare words or "double-quoted strings" with
 * \" and \\ escapes; "#" starts a comment.  Every keyword is described once,
 * in the tables below, with where its value goes, its type and, for
 * numbers, its bounds and default; the parser and the printer both walk
 * those tables, which is what keeps print-then-parse a round trip.
 *
 * syncd.c loads the file at start-up and on SIGHUP; a conf is reference
 * counted because deliveries in flight keep the one they started with.
 */

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syncd.h"
#include "smtp.h"		/* the reactor's footer modes */

#define CONF_ARGS_MAX		8
#define CONF_TOKEN_MAX		4096

enum conf_type {
	T_STRING,	/* free text: printable, no control characters */
	T_PATH,
	T_HOSTNAME,
	T_IDENTITY,	/* a Path identity (RFC 5536 section 3.1.5) */
	T_NAME,		/* a channel, board, user or group name */
	T_NEWSGROUP,
	T_ADDRESS,	/* local@domain */
	T_LIST_ID,
	T_URL,		/* http:// or https:// */
	T_NUMBER,
	T_DURATION,
	T_SIZE,
	T_BOOL,
	T_ENUM,		/* one of names[], kept as its index */
	T_CUSTOM	/* handled by its own functions */
};

/* The context a keyword is allowed in. */
#define CTX_GLOBAL	0
#define CTX_CHANNEL	1

struct conf_parser;

struct conf_keyword {
	const char	*name;
	int		 ctx;
	enum conf_type	 type;
	size_t		 offset;	/* in struct conf or conf_channel */
	long long	 min, max, def;	/* numbers; def also for T_ENUM */
	const char *const *names;	/* T_ENUM */
	/* T_CUSTOM: parse nargs_min..nargs_max arguments; print them all. */
	int		 (*parse)(struct conf_parser *, char **args, int nargs);
	void		 (*print)(FILE *, const struct conf *);
	int		 nargs_min, nargs_max;
	int		 flags;
};

/* conf_keyword.flags */
#define CONF_MULTI	0x01	/* may appear more than once */
#define CONF_RESTART	0x02	/* a reload cannot change it */
#define CONF_KEYWORDS	(sizeof(conf_keywords) / sizeof(conf_keywords[0]))

struct conf_token {
	enum { TOK_WORD, TOK_OPEN, TOK_CLOSE, TOK_EOL, TOK_EOF } kind;
	char		*text;		/* TOK_WORD: unquoted value */
	int		 line;
};

struct conf_parser {
	const char	*name;
	const char	*p, *end;
	int		 line;		/* the lexer's line */
	int		 stmt_line;	/* where the statement in hand began */
	struct conf	*conf;
	struct conf_channel *channel;	/* the block we are in, or NULL */
	char		*err;
	int		 seen[64];	/* per keyword: line it was set on */
};

static void	 conf_print_word(FILE *, const char *);
static void	 conf_defaults(void *, int);
static int	 conf_parse_deliver(struct conf_parser *, char **, int);
static void	 conf_print_deliver(FILE *, const struct conf *);
static int	 conf_parse_archive(struct conf_parser *, char **, int);
static void	 conf_print_archive(FILE *, const struct conf *);
static int	 conf_parse_job(struct conf_parser *, char **, int);
static void	 conf_print_job(FILE *, const struct conf *);
static int	 conf_parse_forum_mail(struct conf_parser *, char **, int);
static void	 conf_print_forum_mail(FILE *, const struct conf *);
static int	 conf_parse_listen(struct conf_parser *, char **, int);
static void	 conf_print_listen(FILE *, const struct conf *);
static int	 conf_parse_feeders(struct conf_parser *, char **, int);
static void	 conf_print_feeders(FILE *, const struct conf *);
static int	 conf_parse_clients(struct conf_parser *, char **, int);
static void	 conf_print_clients(FILE *, const struct conf *);

static const char *const log_levels[] = { "info", "debug", NULL };
static const char *const direction_names[] = {
	[DIRECTION_BOTH] = "both",
	[DIRECTION_NEWS_TO_LIST] = "news-to-list",
	[DIRECTION_LIST_TO_NEWS] = "list-to-news",
	[DIRECTION_READ_ONLY] = "read-only",
	NULL
};
static const char *const footer_names[] = {
	[REACTOR_FOOTER_KEEP] = "keep",
	[REACTOR_FOOTER_OWN] = "own",
	[REACTOR_FOOTER_ANY] = "any",
	NULL
};
static const char *const list_from_names[] = {
	[LIST_FROM_AUTHOR] = "author",
	[LIST_FROM_REWRITE] = "rewrite",
	NULL
};
static const char *const access_names[] = {
	[ACCESS_ANONYMOUS] = "anonymous",
	[ACCESS_AUTHENTICATED] = "authenticated",
	[ACCESS_NOBODY] = "nobody",
	NULL
};

#define G(f)	offsetof(struct conf, f)
#define C(f)	offsetof(struct conf_channel, f)
#define DAY	86400LL

/* The table's rows, by kind. */
#define STRING(n, ctx_, t, off, fl) \
	{ .name = n, .ctx = ctx_, .type = t, .offset = off, .flags = fl }
#define NUMBER(n, t, off, lo, hi, d) \
	{ .name = n, .ctx = CTX_GLOBAL, .type = t, .offset = off, .min = lo, \
	  .max = hi, .def = d }
#define ENUM(n, ctx_, off, list, d) \
	{ .name = n, .ctx = ctx_, .type = T_ENUM, .offset = off, \
	  .names = list, .def = d }
#define BOOL(n, ctx_, off, d) \
	{ .name = n, .ctx = ctx_, .type = T_BOOL, .offset = off, .def = d }
#define CUSTOM(n, fn, lo, hi, fl) \
	{ .name = n, .ctx = CTX_GLOBAL, .type = T_CUSTOM, \
	  .parse = conf_parse_##fn, .print = conf_print_##fn, \
	  .nargs_min = lo, .nargs_max = hi, .flags = fl }

/* Every keyword, in the order syncd -n prints them. */
static const struct conf_keyword conf_keywords[] = {
	STRING("hostname", CTX_GLOBAL, T_HOSTNAME, G(hostname), 0),
	STRING("path-identity", CTX_GLOBAL, T_IDENTITY, G(path_identity), 0),
	STRING("data-dir", CTX_GLOBAL, T_PATH, G(data_dir), CONF_RESTART),
	STRING("user", CTX_GLOBAL, T_NAME, G(user), CONF_RESTART),
	STRING("pidfile", CTX_GLOBAL, T_PATH, G(pidfile), CONF_RESTART),
	STRING("control-socket", CTX_GLOBAL, T_PATH, G(control_socket),
	    CONF_RESTART),
	STRING("control-group", CTX_GLOBAL, T_NAME, G(control_group),
	    CONF_RESTART),
	ENUM("log-level", CTX_GLOBAL, G(log_verbose), log_levels, 0),
	NUMBER("max-message-size", T_SIZE, G(max_message_size),
	    1024, 1024LL * 1024 * 1024, 10LL * 1024 * 1024),
	NUMBER("max-attempts", T_NUMBER, G(max_attempts), 1, 1000, 30),
	NUMBER("max-age", T_DURATION, G(max_age), 60, 60 * DAY, 5 * DAY),
	NUMBER("retry-min", T_DURATION, G(retry_min), 1, DAY, 30),
	NUMBER("retry-max", T_DURATION, G(retry_max), 1, 7 * DAY, 3600),
	NUMBER("delivery-concurrency", T_NUMBER, G(delivery_concurrency),
	    1, 256, 8),
	CUSTOM("deliver", deliver, 2, 3, CONF_MULTI),
	CUSTOM("archive", archive, 2, 2, 0),
	CUSTOM("forum-mail", forum_mail, 2, 2, 0),
	STRING("forum-url", CTX_GLOBAL, T_URL, G(forum_url), 0),
	STRING("forum-title", CTX_GLOBAL, T_STRING, G(forum_title), 0),
	STRING("forum-sender", CTX_GLOBAL, T_ADDRESS, G(forum_sender), 0),
	CUSTOM("listen", listen, 2, 2, CONF_MULTI | CONF_RESTART),
	ENUM("nntp-read", CTX_GLOBAL, G(nntp_read), access_names,
	    ACCESS_ANONYMOUS),
	ENUM("nntp-post", CTX_GLOBAL, G(nntp_post), access_names,
	    ACCESS_AUTHENTICATED),
	STRING("nntp-users", CTX_GLOBAL, T_PATH, G(nntp_users), 0),
	CUSTOM("nntp-feeders", feeders, 1, CONF_ARGS_MAX - 1, 0),
	BOOL("nntp-insecure-auth", CTX_GLOBAL, G(nntp_insecure_auth), 0),
	NUMBER("nntp-idle-timeout", T_DURATION, G(nntp_idle_timeout),
	    5, DAY, 600),
	NUMBER("nntp-connections-per-address", T_NUMBER,
	    G(nntp_connections_per_address), 1, 100000, 50),
	STRING("nntp-motd", CTX_GLOBAL, T_PATH, G(nntp_motd), 0),
	STRING("tls-certificate", CTX_GLOBAL, T_PATH, G(tls_certificate), 0),
	STRING("tls-key", CTX_GLOBAL, T_PATH, G(tls_key), 0),
	CUSTOM("smtp-clients", clients, 1, CONF_ARGS_MAX - 1, 0),
	NUMBER("smtp-idle-timeout", T_DURATION, G(smtp_idle_timeout),
	    10, DAY, 300),
	NUMBER("smtp-connections-per-address", T_NUMBER,
	    G(smtp_connections_per_address), 1, 100000, 20),
	NUMBER("http-timeout", T_DURATION, G(http_timeout), 5, DAY, 60),
	STRING("blacklist", CTX_GLOBAL, T_PATH, G(blacklist), 0),
	STRING("notice-group", CTX_GLOBAL, T_NEWSGROUP, G(notice_group), 0),
	STRING("notice-from", CTX_GLOBAL, T_ADDRESS, G(notice_from), 0),
	NUMBER("notice-peer-down", T_DURATION, G(notice_peer_down), 10,
	    7 * DAY, 600),
	NUMBER("notice-interval", T_DURATION, G(notice_interval), 60,
	    7 * DAY, 3600),
	STRING("changes-file", CTX_GLOBAL, T_PATH, G(changes_file), 0),
	STRING("mailman-rest", CTX_GLOBAL, T_URL, G(mailman_rest), 0),
	CUSTOM("job", job, 2, 6, CONF_MULTI),

	STRING("newsgroup", CTX_CHANNEL, T_NEWSGROUP, C(newsgroup), 0),
	STRING("list", CTX_CHANNEL, T_ADDRESS, C(list), 0),
	STRING("list-id", CTX_CHANNEL, T_LIST_ID, C(list_id), 0),
	STRING("gateway-address", CTX_CHANNEL, T_ADDRESS, C(gateway_address),
	    0),
	STRING("board", CTX_CHANNEL, T_NAME, C(board), 0),
	ENUM("direction", CTX_CHANNEL, C(direction), direction_names,
	    DIRECTION_BOTH),
	BOOL("moderated", CTX_CHANNEL, C(moderated), 0),
	STRING("approve", CTX_CHANNEL, T_ADDRESS, C(approve), 0),
	/* Unset (-1): the global nntp-read and nntp-post. */
	ENUM("nntp-read", CTX_CHANNEL, C(nntp_read), access_names, -1),
	ENUM("nntp-post", CTX_CHANNEL, C(nntp_post), access_names, -1),
	STRING("subject-tag", CTX_CHANNEL, T_STRING, C(subject_tag), 0),
	/* How news and forum posts go to the list (smtp/mailout.c). */
	ENUM("list-from", CTX_CHANNEL, C(list_from), list_from_names,
	    LIST_FROM_AUTHOR),
	STRING("list-password", CTX_CHANNEL, T_STRING, C(list_password), 0),
	/* How list mail is cleaned (smtp/reactor.c). */
	ENUM("footer", CTX_CHANNEL, C(footer), footer_names,
	    REACTOR_FOOTER_ANY),
	BOOL("outlook-prefixes", CTX_CHANNEL, C(outlook_prefixes), 1),
	BOOL("strip-notes", CTX_CHANNEL, C(strip_notes), 0),
	BOOL("fix-date", CTX_CHANNEL, C(fix_date), 1),
	STRING("description", CTX_CHANNEL, T_STRING, C(description), 0),
	/* Articles older than this leave the group (job expire); 0 never. */
	{ .name = "expire", .ctx = CTX_CHANNEL, .type = T_DURATION,
	  .offset = C(expire), .min = 0, .max = 3650 * DAY, .def = 0 },
};

_Static_assert(CONF_KEYWORDS <= 64, "conf_parser.seen is too small");

static const char *side_names[SIDE_MAX] = { "news", "list", "forum" };

const char *
side_name(enum side side)
{
	return side < SIDE_MAX ? side_names[side] : "?";
}

int
side_from_name(const char *name, enum side *side_r)
{
	int i;

	for (i = 0; i < SIDE_MAX; i++)
		if (strcmp(name, side_names[i]) == 0) {
			*side_r = i;
			return 0;
		}
	return -1;
}

const char *
direction_name(enum direction d)
{
	return direction_names[d];
}

/* Where a keyword keeps a string value in base, or NULL if it has none. */
static char **
conf_string(const struct conf_keyword *kw, const void *base)
{
	switch (kw->type) {
	case T_CUSTOM:
	case T_NUMBER:
	case T_DURATION:
	case T_SIZE:
	case T_BOOL:
	case T_ENUM:
		return NULL;
	default:
		return (char **)((const char *)base + kw->offset);
	}
}

static int conf_error(struct conf_parser *, int, const char *, ...)
    PRINTFLIKE(3, 4);

/* Record the first error as "file:line: message"; returns -1. */
static int
conf_error(struct conf_parser *ps, int line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (ps->err != NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("conf_error");
	va_end(ap);
	ps->err = xasprintf("%s:%d: %s", ps->name, line, msg);
	free(msg);
	return -1;
}

/* Read the next token; -1 on a lexical error. */
static int
conf_next(struct conf_parser *ps, struct conf_token *tok)
{
	char buf[CONF_TOKEN_MAX];
	size_t n = 0;

	tok->text = NULL;
	for (;;) {
		while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
		    *ps->p == '\r'))
			ps->p++;
		if (ps->p < ps->end && *ps->p == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
			continue;
		}
		break;
	}
	tok->line = ps->line;
	if (ps->p >= ps->end) {
		tok->kind = TOK_EOF;
		return 0;
	}
	switch (*ps->p) {
	case '\n':
		ps->p++;
		ps->line++;
		tok->kind = TOK_EOL;
		return 0;
	case '{':
		ps->p++;
		tok->kind = TOK_OPEN;
		return 0;
	case '}':
		ps->p++;
		tok->kind = TOK_CLOSE;
		return 0;
	case '\0':
		return conf_error(ps, ps->line, "NUL byte in the file");
	case '"':
		ps->p++;
		for (;;) {
			if (ps->p >= ps->end || *ps->p == '\n')
				return conf_error(ps, tok->line,
				    "unterminated quoted string");
			if (*ps->p == '"')
				break;
			if (*ps->p == '\\') {
				ps->p++;
				if (ps->p >= ps->end ||
				    (*ps->p != '"' && *ps->p != '\\'))
					return conf_error(ps, tok->line,
					    "only \\\" and \\\\ may be escaped"
					    " in a quoted string");
			}
			if (*ps->p == '\0')
				return conf_error(ps, ps->line,
				    "NUL byte in the file");
			if (n == sizeof(buf) - 1)
				return conf_error(ps, tok->line,
				    "string longer than %d bytes",
				    CONF_TOKEN_MAX - 1);
			buf[n++] = *ps->p++;
		}
		ps->p++;
		break;
	default:
		while (ps->p < ps->end && strchr(" \t\r\n{}\"#", *ps->p) ==
		    NULL) {
			if (*ps->p == '\0')
				return conf_error(ps, ps->line,
				    "NUL byte in the file");
			if (n == sizeof(buf) - 1)
				return conf_error(ps, tok->line,
				    "word longer than %d bytes",
				    CONF_TOKEN_MAX - 1);
			buf[n++] = *ps->p++;
		}
		break;
	}
	tok->kind = TOK_WORD;
	tok->text = xmemdup(buf, n);
	return 0;
}

/* Free text: printable, valid UTF-8, no control characters. */
static int
conf_valid_text(const char *s)
{
	const unsigned char *p;

	if (!utf8_valid(s, strlen(s)))
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/*
 * A domain name (RFC 1123 section 2.1): dot-separated labels of letters,
 * digits and inner hyphens.
 */
static int
conf_valid_hostname(const char *s)
{
	size_t label = 0, len = strlen(s);

	if (len == 0 || len > 253)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0 || s[-1] == '-')
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*s) ||
		    (*s == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return label > 0 && s[-1] != '-';
}

/* A Path identity (RFC 5536 section 3.1.5): a hostname, "_" allowed. */
static int
conf_valid_identity(const char *s)
{
	char *copy = xstrdup(s), *p;
	int ok;

	for (p = copy; *p != '\0'; p++)
		if (*p == '_')
			*p = 'x';
	ok = conf_valid_hostname(copy);
	free(copy);
	return ok;
}

/* Names of channels, boards, users and groups. */
static int
conf_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || *s == '-' || *s == '.')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return 0;
	return 1;
}

/*
 * A newsgroup name (RFC 5536 section 3.1.4): components of lower-case
 * letters, digits, "+", "-" and "_" joined by dots.
 */
static int
conf_valid_newsgroup(const char *s)
{
	size_t comp = 0, len = strlen(s);

	if (len == 0 || len > 250)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (comp == 0)
				return 0;
			comp = 0;
		} else if (islower((unsigned char)*s) ||
		    isdigit((unsigned char)*s) || strchr("+-_", *s) != NULL)
			comp++;
		else
			return 0;
	}
	return comp > 0;
}

/* RFC 5322 section 3.2.3: a dot-atom of atext. */
static int
conf_valid_dot_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("!#$%&'*+-/=?^_`{|}~.", s[i]) == NULL)
			return 0;
	}
	return 1;
}

/* A bare mail address: a dot-atom local part, "@", a domain name. */
static int
conf_valid_address(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || strchr(at + 1, '@') != NULL || strlen(s) > 254)
		return 0;
	return conf_valid_dot_atom(s, at - s) && conf_valid_hostname(at + 1);
}

/* A List-Id (RFC 2919 section 2): a dot-atom with at least one dot. */
static int
conf_valid_list_id(const char *s)
{
	size_t len = strlen(s);

	return len <= 255 && strchr(s, '.') != NULL &&
	    conf_valid_dot_atom(s, len);
}

/* Parse "30", "30s", "5m", "4h", "2d", "1w" into seconds. */
static int
conf_parse_duration(const char *s, long long *v_r)
{
	static const struct { char unit; long long secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', DAY },
		{ 'w', 7 * DAY },
	};
	char *end;
	long long v;
	size_t i;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v > 100 * 365 * DAY)
		return -1;
	if (*end == '\0') {
		*v_r = v;
		return 0;
	}
	if (end[1] != '\0')
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit) {
			*v_r = v * units[i].secs;
			return 0;
		}
	return -1;
}

/* Parse "512", "64K", "10M", "1G" (powers of 1024) into bytes. */
static int
conf_parse_size(const char *s, long long *v_r)
{
	char *end;
	long long v, mult = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v > (1LL << 40))
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mult = 1024;
		break;
	case 'm': case 'M':
		mult = 1024 * 1024;
		break;
	case 'g': case 'G':
		mult = 1024 * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	/* Too large for any bound: the caller reports it out of range. */
	*v_r = v > LLONG_MAX / mult ? LLONG_MAX : v * mult;
	return 0;
}

static int
conf_parse_number(const char *s, long long *v_r)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v_r = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static const char *
conf_type_wants(enum conf_type type)
{
	switch (type) {
	case T_STRING:
		return "printable UTF-8 text";
	case T_PATH:
		return "a path";
	case T_HOSTNAME:
		return "a domain name";
	case T_IDENTITY:
		return "a Path identity (letters, digits, '-', '_', '.')";
	case T_NAME:
		return "a name of letters, digits, '.', '_' and '-'";
	case T_NEWSGROUP:
		return "a newsgroup name (lower-case components joined by"
		    " dots)";
	case T_ADDRESS:
		return "a mail address (local@domain)";
	case T_LIST_ID:
		return "a List-Id such as name.lists.example.org";
	case T_URL:
		return "an http:// or https:// address";
	case T_BOOL:
		return "yes or no";
	default:
		return "a value";
	}
}

/* One of kw->names, kept as its index. */
static int
conf_set_enum(struct conf_parser *ps, const struct conf_keyword *kw,
    int *value, const char *arg, int line)
{
	char *list = NULL, *tmp;
	int i;

	for (i = 0; kw->names[i] != NULL; i++)
		if (strcmp(arg, kw->names[i]) == 0) {
			*value = i;
			return 0;
		}
	for (i = 0; kw->names[i] != NULL; i++) {
		tmp = list == NULL ? xstrdup(kw->names[i]) :
		    xasprintf("%s%s %s", list, kw->names[i + 1] == NULL ?
		    " or" : ",", kw->names[i]);
		free(list);
		list = tmp;
	}
	conf_error(ps, line, "%s: '%s' is not %s", kw->name, arg, list);
	free(list);
	return -1;
}

/* Store one simple (table-described) value; -1 with an error set. */
static int
conf_set_simple(struct conf_parser *ps, const struct conf_keyword *kw,
    const char *arg, int line)
{
	char *base = kw->ctx == CTX_GLOBAL ? (char *)ps->conf :
	    (char *)ps->channel;
	char **strp = conf_string(kw, base);
	long long *nump = (long long *)(base + kw->offset);
	int *boolp = (int *)(base + kw->offset);
	long long v;
	int ok;

	switch (kw->type) {
	case T_NUMBER:
	case T_DURATION:
	case T_SIZE:
		if (kw->type == T_NUMBER)
			ok = conf_parse_number(arg, &v) == 0;
		else if (kw->type == T_DURATION)
			ok = conf_parse_duration(arg, &v) == 0;
		else
			ok = conf_parse_size(arg, &v) == 0;
		if (!ok)
			return conf_error(ps, line, "%s: '%s' is not %s",
			    kw->name, arg, kw->type == T_NUMBER ? "a number" :
			    kw->type == T_DURATION ?
			    "a duration (30s, 5m, 4h, 2d, 1w)" :
			    "a size (512, 64K, 10M, 1G)");
		if (v < kw->min || v > kw->max)
			return conf_error(ps, line,
			    "%s: %s is out of range (%lld to %lld%s)",
			    kw->name, arg, kw->min, kw->max,
			    kw->type == T_DURATION ? " seconds" :
			    kw->type == T_SIZE ? " bytes" : "");
		*nump = v;
		return 0;
	case T_BOOL:
		if (strcmp(arg, "yes") == 0)
			*boolp = 1;
		else if (strcmp(arg, "no") == 0)
			*boolp = 0;
		else
			return conf_error(ps, line, "%s: '%s' is not yes or no",
			    kw->name, arg);
		return 0;
	case T_ENUM:
		return conf_set_enum(ps, kw, boolp, arg, line);
	case T_STRING:
		ok = conf_valid_text(arg);
		break;
	case T_PATH:
		ok = *arg != '\0' && conf_valid_text(arg);
		break;
	case T_HOSTNAME:
		ok = conf_valid_hostname(arg);
		break;
	case T_IDENTITY:
		ok = conf_valid_identity(arg);
		break;
	case T_NAME:
		ok = conf_valid_name(arg);
		break;
	case T_NEWSGROUP:
		ok = conf_valid_newsgroup(arg);
		break;
	case T_ADDRESS:
		ok = conf_valid_address(arg);
		break;
	case T_LIST_ID:
		ok = conf_valid_list_id(arg);
		break;
	case T_URL:
		ok = (strncmp(arg, "http://", 7) == 0 ||
		    strncmp(arg, "https://", 8) == 0) && conf_valid_text(arg) &&
		    strpbrk(arg, " \"<>") == NULL;
		break;
	default:
		fatalx("conf_set_simple: type %d", kw->type);
	}
	if (!ok)
		return conf_error(ps, line, "%s: '%s' is not %s", kw->name,
		    arg, conf_type_wants(kw->type));
	free(*strp);
	*strp = xstrdup(arg);
	return 0;
}

/* The transports by name, in enum transport_kind order. */
static const char *const transport_names[] = {
	[TRANSPORT_NONE] = "none",
	[TRANSPORT_MAILDIR] = "maildir",
	[TRANSPORT_NNTP] = "nntp",
	[TRANSPORT_SMTP] = "smtp",
	[TRANSPORT_LMTP] = "lmtp",
	[TRANSPORT_BUILTIN] = "builtin",
};

static const char *
conf_transport_name(enum transport_kind kind)
{
	return transport_names[kind];
}

/* conf_set_deliver's side for forum-mail (the archive's is -1). */
#define CONF_FORUM_MAIL		SIDE_MAX

/*
 * Fill a conf_deliver from "maildir PATH", "nntp ADDRESS:PORT" (the news
 * side only), "smtp|lmtp ADDRESS:PORT" (the list side only; forum-mail
 * takes smtp) or "builtin" (the forum side only); side is -1 for the
 * archive.
 */
static int
conf_set_deliver(struct conf_parser *ps, struct conf_deliver *d,
    const char *what, char **args, int nargs, int side)
{
	static const char *const known[] = {
		[SIDE_NEWS] = "maildir, nntp",
		[SIDE_LIST] = "maildir, smtp, lmtp",
		[SIDE_FORUM] = "builtin, maildir",
		[CONF_FORUM_MAIL] = "smtp, maildir",
	};
	char *host;
	int port, any;

	if (d->kind != TRANSPORT_NONE)
		return conf_error(ps, ps->stmt_line, "%s is already set at line %d",
		    what, d->line);
	if (strcmp(args[0], "maildir") == 0)
		d->kind = TRANSPORT_MAILDIR;
	else if (strcmp(args[0], "nntp") == 0 && side == SIDE_NEWS)
		d->kind = TRANSPORT_NNTP;
	else if (strcmp(args[0], "smtp") == 0 && (side == SIDE_LIST ||
	    side == CONF_FORUM_MAIL))
		d->kind = TRANSPORT_SMTP;
	else if (strcmp(args[0], "lmtp") == 0 && side == SIDE_LIST)
		d->kind = TRANSPORT_LMTP;
	else if (strcmp(args[0], "builtin") == 0 && side == SIDE_FORUM)
		d->kind = TRANSPORT_BUILTIN;
	else
		return conf_error(ps, ps->stmt_line, "%s: unknown transport"
		    " '%s' (known: %s)", what, args[0], side >= 0 ?
		    known[side] : "maildir");
	if ((nargs == 1) != (d->kind == TRANSPORT_BUILTIN)) {
		d->kind = TRANSPORT_NONE;
		return conf_error(ps, ps->stmt_line, "%s %s: %s", what,
		    args[0], nargs == 1 ? "where to? (a path or an address)" :
		    "takes no path or address");
	}
	if (d->kind == TRANSPORT_BUILTIN) {
		d->path = xstrdup("");
	} else if (d->kind == TRANSPORT_MAILDIR) {
		if (*args[1] == '\0' || !conf_valid_text(args[1]))
			return conf_error(ps, ps->stmt_line, "%s: '%s' is not"
			    " a path", what, args[1]);
	} else {
		any = 1;
		if (conf_split_address(args[1], &host, &port) == 0) {
			any = strcmp(host, "*") == 0;
			free(host);
		}
		if (any)
			return conf_error(ps, ps->stmt_line, "%s: '%s' is not"
			    " an address and port such as 127.0.0.1:%d",
			    what, args[1], d->kind == TRANSPORT_NNTP ? 119 :
			    d->kind == TRANSPORT_SMTP ? 25 : 24);
	}
	if (d->path == NULL)
		d->path = xstrdup(args[1]);
	d->line = ps->stmt_line;
	return 0;
}

/* deliver SIDE TRANSPORT PATH */
static int
conf_parse_deliver(struct conf_parser *ps, char **args, int nargs)
{
	enum side side;
	char *what;
	int rc;

	if (side_from_name(args[0], &side) == -1)
		return conf_error(ps, ps->stmt_line,
		    "deliver: unknown side '%s' (news, list or forum)",
		    args[0]);
	what = xasprintf("deliver %s", args[0]);
	rc = conf_set_deliver(ps, &ps->conf->deliver[side], what, args + 1,
	    nargs - 1, side);
	free(what);
	return rc;
}

static void
conf_print_deliver(FILE *fp, const struct conf *conf)
{
	int i;

	for (i = 0; i < SIDE_MAX; i++) {
		if (conf->deliver[i].kind == TRANSPORT_NONE)
			continue;
		fprintf(fp, "deliver %s %s", side_name(i),
		    conf_transport_name(conf->deliver[i].kind));
		if (*conf->deliver[i].path != '\0') {
			fputc(' ', fp);
			conf_print_word(fp, conf->deliver[i].path);
		}
		fputc('\n', fp);
	}
}

/* archive TRANSPORT PATH */
static int
conf_parse_archive(struct conf_parser *ps, char **args, int nargs)
{
	return conf_set_deliver(ps, &ps->conf->archive, "archive", args, nargs,
	    -1);
}

static void
conf_print_archive(FILE *fp, const struct conf *conf)
{
	if (conf->archive.kind == TRANSPORT_NONE)
		return;
	fprintf(fp, "archive %s ", conf_transport_name(conf->archive.kind));
	conf_print_word(fp, conf->archive.path);
	fputc('\n', fp);
}

/* The names of syncd's jobs (syncd.c registers them with jobs.c). */
static const char *const conf_job_names[] = {
	"descriptions",		/* boards and LIST NEWSGROUPS from the lists */
	"expire",		/* articles past their channel's expire */
	"sweep",		/* delivered outbox rows past max-age */
	"summary",		/* the daily summary notice */
	NULL
};

/* job NAME SCHEDULE (five fields, one quoted word, @daily, or off) */
static int
conf_parse_job(struct conf_parser *ps, char **args, int nargs)
{
	struct conf *conf = ps->conf;
	struct cron c;
	char *spec, *err, *tmp;
	size_t i;
	int k;

	for (k = 0; conf_job_names[k] != NULL; k++)
		if (strcmp(args[0], conf_job_names[k]) == 0)
			break;
	if (conf_job_names[k] == NULL)
		return conf_error(ps, ps->stmt_line, "job: unknown job '%s'"
		    " (known: descriptions, expire, sweep, summary)", args[0]);
	for (i = 0; i < conf->njobs; i++)
		if (strcmp(conf->jobs[i].name, args[0]) == 0)
			return conf_error(ps, ps->stmt_line, "job %s is already"
			    " set at line %d", args[0], conf->jobs[i].line);
	spec = xstrdup(args[1]);
	for (k = 2; k < nargs; k++) {
		tmp = xasprintf("%s %s", spec, args[k]);
		free(spec);
		spec = tmp;
	}
	if (strcmp(spec, "off") != 0 && cron_parse(spec, &c, &err) == -1) {
		conf_error(ps, ps->stmt_line, "job %s: %s", args[0], err);
		free(err);
		free(spec);
		return -1;
	}
	conf->jobs = xreallocarray(conf->jobs, conf->njobs + 1,
	    sizeof(*conf->jobs));
	conf->jobs[conf->njobs].name = xstrdup(args[0]);
	conf->jobs[conf->njobs].schedule = spec;
	conf->jobs[conf->njobs++].line = ps->stmt_line;
	return 0;
}

static void
conf_print_job(FILE *fp, const struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->njobs; i++) {
		fprintf(fp, "job %s ", conf->jobs[i].name);
		conf_print_word(fp, conf->jobs[i].schedule);
		fputc('\n', fp);
	}
}

/* forum-mail TRANSPORT PATH */
static int
conf_parse_forum_mail(struct conf_parser *ps, char **args, int nargs)
{
	return conf_set_deliver(ps, &ps->conf->forum_mail, "forum-mail", args,
	    nargs, CONF_FORUM_MAIL);
}

static void
conf_print_forum_mail(FILE *fp, const struct conf *conf)
{
	if (conf->forum_mail.kind == TRANSPORT_NONE)
		return;
	fprintf(fp, "forum-mail %s ",
	    conf_transport_name(conf->forum_mail.kind));
	conf_print_word(fp, conf->forum_mail.path);
	fputc('\n', fp);
}

/* An IPv4 or IPv6 address literal. */
static int
conf_valid_ip(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

/*
 * "127.0.0.1:119", "[::1]:119" or "*:119": an address literal (or any)
 * and a port; the host part is returned in host_r without brackets.
 */
int
conf_split_address(const char *s, char **host_r, int *port_r)
{
	const char *colon, *end;
	char *host;
	long port;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return -1;
		host = xstrndup(s + 1, end - s - 1);
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		host = xstrndup(s, colon - s);
		if (strchr(host, ':') != NULL) {
			free(host);
			return -1;
		}
	}
	port = strtol(colon + 1, (char **)&end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535 ||
	    (strcmp(host, "*") != 0 && !conf_valid_ip(host))) {
		free(host);
		return -1;
	}
	*host_r = host;
	*port_r = (int)port;
	return 0;
}

static const char *const listen_names[] = {
	[LISTEN_NNTP] = "nntp",
	[LISTEN_NNTPS] = "nntps",
	[LISTEN_LMTP] = "lmtp",
	[LISTEN_SMTP] = "smtp",
	[LISTEN_HTTP] = "http",
	NULL
};

/* listen PROTOCOL ADDRESS:PORT */
static int
conf_parse_listen(struct conf_parser *ps, char **args, int nargs)
{
	struct conf *conf = ps->conf;
	char *host;
	size_t i;
	int port, proto;

	for (proto = 0; listen_names[proto] != NULL; proto++)
		if (strcmp(args[0], listen_names[proto]) == 0)
			break;
	if (listen_names[proto] == NULL)
		return conf_error(ps, ps->stmt_line, "listen: unknown protocol"
		    " '%s' (known: nntp, nntps, lmtp, smtp, http)", args[0]);
	if (conf_split_address(args[1], &host, &port) == -1)
		return conf_error(ps, ps->stmt_line, "listen: '%s' is not an"
		    " address and port such as 127.0.0.1:119, [::1]:119 or"
		    " *:119", args[1]);
	free(host);
	for (i = 0; i < conf->nlistens; i++)
		if (strcmp(conf->listens[i].address, args[1]) == 0)
			return conf_error(ps, ps->stmt_line, "listen: %s is"
			    " already used at line %d", args[1],
			    conf->listens[i].line);
	conf->listens = xreallocarray(conf->listens, conf->nlistens + 1,
	    sizeof(*conf->listens));
	conf->listens[conf->nlistens].proto = proto;
	conf->listens[conf->nlistens].address = xstrdup(args[1]);
	conf->listens[conf->nlistens].line = ps->stmt_line;
	conf->nlistens++;
	return 0;
}

static void
conf_print_listen(FILE *fp, const struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->nlistens; i++)
		fprintf(fp, "listen %s %s\n",
		    listen_names[conf->listens[i].proto],
		    conf->listens[i].address);
}

/* KEYWORD ADDRESS... | none: a list of IP addresses. */
static int
conf_parse_ips(struct conf_parser *ps, const char *name, char **args,
    int nargs, char ***v, size_t *n, int *set)
{
	int i;

	if (nargs == 1 && strcmp(args[0], "none") == 0) {
		*set = 1;
		return 0;
	}
	for (i = 0; i < nargs; i++) {
		if (!conf_valid_ip(args[i]))
			return conf_error(ps, ps->stmt_line, "%s: '%s' is not"
			    " an IP address", name, args[i]);
		*v = xreallocarray(*v, *n + 1, sizeof(char *));
		(*v)[(*n)++] = xstrdup(args[i]);
	}
	*set = 1;
	return 0;
}

static void
conf_print_ips(FILE *fp, const char *name, char **v, size_t n)
{
	size_t i;

	fprintf(fp, "%s", name);
	if (n == 0)
		fprintf(fp, " none");
	for (i = 0; i < n; i++)
		fprintf(fp, " %s", v[i]);
	fputc('\n', fp);
}

/* Loopback, the default for both lists: the MTA and INN on this host. */
static void
conf_default_ips(char ***v, size_t *n)
{
	*v = xcalloc(2, sizeof(char *));
	(*v)[0] = xstrdup("127.0.0.1");
	(*v)[1] = xstrdup("::1");
	*n = 2;
}

static void
conf_free_ips(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* nntp-feeders ADDRESS... | none */
static int
conf_parse_feeders(struct conf_parser *ps, char **args, int nargs)
{
	struct conf *conf = ps->conf;

	return conf_parse_ips(ps, "nntp-feeders", args, nargs,
	    &conf->nntp_feeders, &conf->nntp_nfeeders,
	    &conf->nntp_feeders_set);
}

static void
conf_print_feeders(FILE *fp, const struct conf *conf)
{
	conf_print_ips(fp, "nntp-feeders", conf->nntp_feeders,
	    conf->nntp_nfeeders);
}

/* smtp-clients ADDRESS... | none */
static int
conf_parse_clients(struct conf_parser *ps, char **args, int nargs)
{
	struct conf *conf = ps->conf;

	return conf_parse_ips(ps, "smtp-clients", args, nargs,
	    &conf->smtp_clients, &conf->smtp_nclients,
	    &conf->smtp_clients_set);
}

static void
conf_print_clients(FILE *fp, const struct conf *conf)
{
	conf_print_ips(fp, "smtp-clients", conf->smtp_clients,
	    conf->smtp_nclients);
}

static const struct conf_keyword *
conf_keyword_find(const char *name, int ctx)
{
	size_t i;

	for (i = 0; i < CONF_KEYWORDS; i++)
		if (conf_keywords[i].ctx == ctx &&
		    strcmp(conf_keywords[i].name, name) == 0)
			return &conf_keywords[i];
	return NULL;
}

/* Check a finished channel block and fill in what derives from it. */
static int
conf_channel_finish(struct conf_parser *ps, struct conf_channel *c)
{
	struct conf_channel *o;
	int sides = (c->newsgroup != NULL) + (c->list != NULL) +
	    (c->board != NULL);

	if (sides < 2)
		return conf_error(ps, c->line, "channel %s: needs at least two"
		    " of newsgroup, list and board", c->name);
	if (c->list == NULL && (c->list_id != NULL ||
	    c->gateway_address != NULL))
		return conf_error(ps, c->line, "channel %s: list-id and"
		    " gateway-address need a list", c->name);
	if (c->list != NULL && c->list_id == NULL) {
		/* Mailman 3 names a list's List-Id after its address. */
		c->list_id = xstrdup(c->list);
		*strrchr(c->list_id, '@') = '.';
	}
	if ((c->moderated || c->approve != NULL) && c->newsgroup == NULL)
		return conf_error(ps, c->line, "channel %s: moderated and"
		    " approve need a newsgroup", c->name);
	if (c->moderated && c->list == NULL)
		return conf_error(ps, c->line, "channel %s: moderated needs a"
		    " list, whose moderators approve the posts", c->name);

	TAILQ_FOREACH(o, &ps->conf->channels, entry) {
		if (strcmp(o->name, c->name) == 0)
			return conf_error(ps, c->line, "channel %s: already"
			    " defined at line %d", c->name, o->line);
#define SAME(f) (o->f != NULL && c->f != NULL && strcasecmp(o->f, c->f) == 0)
		if (SAME(newsgroup))
			return conf_error(ps, c->line, "channel %s: newsgroup"
			    " %s is already in channel %s", c->name,
			    c->newsgroup, o->name);
		if (SAME(list) || SAME(list_id))
			return conf_error(ps, c->line, "channel %s: list %s is"
			    " already in channel %s", c->name, c->list,
			    o->name);
		if (SAME(gateway_address))
			return conf_error(ps, c->line, "channel %s:"
			    " gateway-address %s is already in channel %s",
			    c->name, c->gateway_address, o->name);
		if (SAME(board))
			return conf_error(ps, c->line, "channel %s: board %s"
			    " is already in channel %s", c->name, c->board,
			    o->name);
#undef SAME
	}
	return 0;
}

/* Free the strings of one context's keywords in base. */
static void
conf_free_strings(void *base, int ctx)
{
	char **strp;
	size_t i;

	for (i = 0; i < CONF_KEYWORDS; i++)
		if (conf_keywords[i].ctx == ctx &&
		    (strp = conf_string(&conf_keywords[i], base)) != NULL)
			free(*strp);
}

static void
conf_channel_free(struct conf_channel *c)
{
	conf_free_strings(c, CTX_CHANNEL);
	free(c->name);
	free(c);
}

/* One statement: its words are in args; open is set if it ends in "{". */
static int
conf_statement(struct conf_parser *ps, char **args, int nargs, int open,
    int line)
{
	const struct conf_keyword *kw;
	int ctx = ps->channel != NULL ? CTX_CHANNEL : CTX_GLOBAL;
	size_t i;

	ps->stmt_line = line;
	if (ctx == CTX_GLOBAL && strcmp(args[0], "channel") == 0) {
		if (nargs != 2 || !open)
			return conf_error(ps, line,
			    "usage: channel NAME { ... }");
		if (!conf_valid_name(args[1]))
			return conf_error(ps, line, "channel: '%s' is not %s",
			    args[1], conf_type_wants(T_NAME));
		for (i = 0; i < CONF_KEYWORDS; i++)
			if (conf_keywords[i].ctx == CTX_CHANNEL)
				ps->seen[i] = 0;
		ps->channel = xcalloc(1, sizeof(*ps->channel));
		conf_defaults(ps->channel, CTX_CHANNEL);
		ps->channel->name = xstrdup(args[1]);
		ps->channel->line = line;
		return 0;
	}
	if (open)
		return conf_error(ps, line, "'%s' does not open a block",
		    args[0]);

	if ((kw = conf_keyword_find(args[0], ctx)) == NULL) {
		if (conf_keyword_find(args[0], !ctx) != NULL)
			return conf_error(ps, line, "'%s' belongs %s", args[0],
			    ctx == CTX_GLOBAL ? "inside a channel block" :
			    "outside channel blocks");
		return conf_error(ps, line, "unknown keyword '%s'", args[0]);
	}
	i = kw - conf_keywords;
	if (ps->seen[i] != 0 && !(kw->flags & CONF_MULTI))
		return conf_error(ps, line, "%s is already set at line %d",
		    kw->name, ps->seen[i]);
	ps->seen[i] = line;
	if (kw->type == T_CUSTOM) {
		if (nargs - 1 < kw->nargs_min || nargs - 1 > kw->nargs_max) {
			if (kw->nargs_min == kw->nargs_max)
				return conf_error(ps, line, "%s: wants %d"
				    " argument%s", kw->name, kw->nargs_min,
				    kw->nargs_min == 1 ? "" : "s");
			return conf_error(ps, line, "%s: wants %d to %d"
			    " arguments", kw->name, kw->nargs_min,
			    kw->nargs_max);
		}
		return kw->parse(ps, args + 1, nargs - 1);
	}
	if (nargs != 2)
		return conf_error(ps, line, "%s: wants one argument", kw->name);
	return conf_set_simple(ps, kw, args[1], line);
}

static void
conf_defaults(void *base, int ctx)
{
	const struct conf_keyword *kw;
	size_t i;

	for (i = 0; i < CONF_KEYWORDS; i++) {
		kw = &conf_keywords[i];
		if (kw->ctx != ctx)
			continue;
		if (kw->type == T_NUMBER || kw->type == T_DURATION ||
		    kw->type == T_SIZE)
			*(long long *)((char *)base + kw->offset) = kw->def;
		else if (kw->type == T_ENUM || kw->type == T_BOOL)
			*(int *)((char *)base + kw->offset) = (int)kw->def;
	}
}

/* Settings that depend on others, and checks across settings. */
static int
conf_finish(struct conf_parser *ps)
{
	struct conf *conf = ps->conf;
	const struct conf_channel *c;
	enum transport_kind k;
	size_t i;

	if (conf->hostname == NULL)
		return conf_error(ps, ps->stmt_line, "no hostname set; add a line"
		    " such as: hostname news.example.org");
	if (conf->path_identity == NULL)
		conf->path_identity = xstrdup(conf->hostname);
	if (conf->data_dir == NULL)
		conf->data_dir = xstrdup(SYNCOM_LOCALSTATEDIR "/lib/syncd");
	if (conf->pidfile == NULL)
		conf->pidfile = xstrdup(SYNCOM_RUNSTATEDIR "/syncd.pid");
	if (conf->control_socket == NULL)
		conf->control_socket = xstrdup(SYNCOM_RUNSTATEDIR
		    "/syncd.sock");
	/* innfeed and the MTA on the same host. */
	if (!conf->nntp_feeders_set)
		conf_default_ips(&conf->nntp_feeders, &conf->nntp_nfeeders);
	if (!conf->smtp_clients_set)
		conf_default_ips(&conf->smtp_clients, &conf->smtp_nclients);
	if ((conf->tls_certificate == NULL) != (conf->tls_key == NULL))
		return conf_error(ps, ps->stmt_line, "tls-certificate and"
		    " tls-key go together");
	for (i = 0; i < conf->nlistens; i++)
		if (conf->listens[i].proto == LISTEN_NNTPS &&
		    conf->tls_certificate == NULL)
			return conf_error(ps, conf->listens[i].line, "listen"
			    " nntps needs tls-certificate and tls-key");
	if (conf->notice_group != NULL &&
	    conf_channel_by_group(conf, conf->notice_group) == NULL)
		return conf_error(ps, ps->stmt_line, "notice-group %s is no"
		    " channel's newsgroup", conf->notice_group);
	if (conf->retry_min > conf->retry_max)
		return conf_error(ps, ps->stmt_line, "retry-min (%llds) is above"
		    " retry-max (%llds)", conf->retry_min, conf->retry_max);
	if (conf->nchannels == 0)
		return conf_error(ps, ps->stmt_line, "no channel defined; add at"
		    " least one: channel NAME { newsgroup ... list ... }");
	k = conf->deliver[SIDE_LIST].kind;
	TAILQ_FOREACH(c, &conf->channels, entry)
		if ((k == TRANSPORT_SMTP || k == TRANSPORT_LMTP) &&
		    c->list != NULL && c->gateway_address == NULL)
			return conf_error(ps, c->line, "channel %s: deliver"
			    " list %s needs a gateway-address, the sender of"
			    " what we mail to the list", c->name,
			    conf_transport_name(k));
	return 0;
}

struct conf *
conf_parse(const char *name, const char *text, size_t len, char **err_r)
{
	struct conf_parser ps;
	struct conf_token tok;
	char *args[CONF_ARGS_MAX];
	int nargs = 0, i, line = 1, open = 0, closed = 0;

	memset(&ps, 0, sizeof(ps));
	ps.name = name;
	ps.p = text;
	ps.end = text + len;
	ps.line = 1;
	ps.conf = xcalloc(1, sizeof(*ps.conf));
	ps.conf->refs = 1;
	TAILQ_INIT(&ps.conf->channels);
	conf_defaults(ps.conf, CTX_GLOBAL);
	ps.conf->file = xstrdup(name);

	for (;;) {
		if (conf_next(&ps, &tok) == -1)
			break;
		if (tok.kind == TOK_WORD || (closed && tok.kind != TOK_EOL &&
		    tok.kind != TOK_EOF)) {
			if (open || closed) {
				free(tok.text);
				conf_error(&ps, tok.line, "nothing may follow"
				    " '%c' on its line", open ? '{' : '}');
				break;
			}
			if (nargs == 0)
				line = tok.line;
			if (nargs == CONF_ARGS_MAX) {
				free(tok.text);
				conf_error(&ps, tok.line, "too many arguments");
				break;
			}
			args[nargs++] = tok.text;
			continue;
		}
		if (tok.kind == TOK_OPEN) {
			if (nargs == 0 || open) {
				conf_error(&ps, tok.line, "unexpected '{'");
				break;
			}
			open = 1;
			continue;
		}
		if (tok.kind == TOK_CLOSE) {
			if (nargs > 0 || open) {
				conf_error(&ps, tok.line,
				    "'}' must be on a line of its own");
				break;
			}
			if (ps.channel == NULL) {
				conf_error(&ps, tok.line, "'}' without a block");
				break;
			}
			if (conf_channel_finish(&ps, ps.channel) == -1)
				break;
			TAILQ_INSERT_TAIL(&ps.conf->channels, ps.channel,
			    entry);
			ps.conf->nchannels++;
			ps.channel = NULL;
			closed = 1;
			continue;
		}
		/* End of a line or of the file: the statement is complete. */
		if (nargs > 0) {
			if (open && ps.channel != NULL) {
				conf_error(&ps, line, "channel blocks do not"
				    " nest");
				break;
			}
			if (conf_statement(&ps, args, nargs, open, line) == -1)
				break;
			for (i = 0; i < nargs; i++)
				free(args[i]);
			nargs = 0;
			open = 0;
		}
		closed = 0;
		if (tok.kind == TOK_EOF) {
			/* Point at the last line, not past it. */
			ps.stmt_line = tok.line - (len > 0 &&
			    text[len - 1] == '\n');
			if (ps.channel != NULL)
				conf_error(&ps, ps.channel->line, "channel %s:"
				    " missing '}'", ps.channel->name);
			else
				conf_finish(&ps);
			break;
		}
	}
	for (i = 0; i < nargs; i++)
		free(args[i]);
	if (ps.channel != NULL)
		conf_channel_free(ps.channel);
	if (ps.err != NULL) {
		conf_unref(&ps.conf);
		*err_r = ps.err;
		return NULL;
	}
	return ps.conf;
}

struct conf *
conf_load(const char *file, char **err_r)
{
	struct conf *conf;
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	FILE *fp;

	if ((fp = fopen(file, "r")) == NULL) {
		*err_r = xasprintf("%s: %s", file, strerror(errno));
		return NULL;
	}
	do {
		if (cap - len < 8192) {
			if (cap > 16 * 1024 * 1024) {
				fclose(fp);
				free(text);
				*err_r = xasprintf("%s: larger than 16 MB",
				    file);
				return NULL;
			}
			cap = cap * 2 + 8192;
			text = xreallocarray(text, cap, 1);
		}
		n = fread(text + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	if (ferror(fp)) {
		*err_r = xasprintf("%s: %s", file, strerror(errno));
		fclose(fp);
		free(text);
		return NULL;
	}
	fclose(fp);
	conf = conf_parse(file, text, len, err_r);
	free(text);
	return conf;
}

struct conf *
conf_ref(struct conf *conf)
{
	conf->refs++;
	return conf;
}

void
conf_unref(struct conf **confp)
{
	struct conf *conf = *confp;
	struct conf_channel *c;
	size_t i;

	*confp = NULL;
	if (conf == NULL || --conf->refs > 0)
		return;
	while ((c = TAILQ_FIRST(&conf->channels)) != NULL) {
		TAILQ_REMOVE(&conf->channels, c, entry);
		conf_channel_free(c);
	}
	conf_free_strings(conf, CTX_GLOBAL);
	for (i = 0; i < conf->nlistens; i++)
		free(conf->listens[i].address);
	free(conf->listens);
	conf_free_ips(conf->nntp_feeders, conf->nntp_nfeeders);
	conf_free_ips(conf->smtp_clients, conf->smtp_nclients);
	for (i = 0; i < SIDE_MAX; i++)
		free(conf->deliver[i].path);
	free(conf->archive.path);
	free(conf->forum_mail.path);
	for (i = 0; i < conf->njobs; i++) {
		free(conf->jobs[i].name);
		free(conf->jobs[i].schedule);
	}
	free(conf->jobs);
	free(conf->file);
	free(conf);
}

/* A word as the tokenizer reads it back: quoted only when it must be. */
static void
conf_print_word(FILE *fp, const char *s)
{
	const char *p;

	if (*s != '\0' && strpbrk(s, " \t{}\"#\\") == NULL) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', fp);
		fputc(*p, fp);
	}
	fputc('"', fp);
}

/* A number in the largest unit that holds it exactly. */
static void
conf_print_number(FILE *fp, enum conf_type type, long long v)
{
	static const struct { const char *unit; long long n; } durations[] = {
		{ "w", 7 * DAY }, { "d", DAY }, { "h", 3600 }, { "m", 60 },
	}, sizes[] = {
		{ "G", 1024 * 1024 * 1024 }, { "M", 1024 * 1024 },
		{ "K", 1024 },
	};
	size_t i;

	if (type == T_DURATION) {
		for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++)
			if (v != 0 && v % durations[i].n == 0) {
				fprintf(fp, "%lld%s", v / durations[i].n,
				    durations[i].unit);
				return;
			}
		fprintf(fp, "%llds", v);
		return;
	}
	if (type == T_SIZE)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			if (v != 0 && v % sizes[i].n == 0) {
				fprintf(fp, "%lld%s", v / sizes[i].n,
				    sizes[i].unit);
				return;
			}
	fprintf(fp, "%lld", v);
}

/* The table-described settings of one context, in table order. */
static void
conf_print_simple(FILE *fp, const void *base, int ctx, const char *indent)
{
	const struct conf_keyword *kw;
	const char *s;
	size_t i;
	int v;

	for (i = 0; i < CONF_KEYWORDS; i++) {
		kw = &conf_keywords[i];
		if (kw->ctx != ctx)
			continue;
		switch (kw->type) {
		case T_CUSTOM:
			kw->print(fp, base);
			break;
		case T_NUMBER:
		case T_DURATION:
		case T_SIZE:
			fprintf(fp, "%s%s ", indent, kw->name);
			conf_print_number(fp, kw->type, *(const long long *)
			    ((const char *)base + kw->offset));
			fputc('\n', fp);
			break;
		case T_BOOL:
			fprintf(fp, "%s%s %s\n", indent, kw->name,
			    *(const int *)((const char *)base + kw->offset) ?
			    "yes" : "no");
			break;
		case T_ENUM:
			if ((v = *(const int *)((const char *)base +
			    kw->offset)) >= 0)
				fprintf(fp, "%s%s %s\n", indent, kw->name,
				    kw->names[v]);
			break;
		default:
			if ((s = *conf_string(kw, base)) == NULL)
				break;
			fprintf(fp, "%s%s ", indent, kw->name);
			conf_print_word(fp, s);
			fputc('\n', fp);
			break;
		}
	}
}

void
conf_print(const struct conf *conf, FILE *fp)
{
	const struct conf_channel *c;

	fprintf(fp, "# syncd.conf in canonical form (syncd -n)\n");
	conf_print_simple(fp, conf, CTX_GLOBAL, "");
	TAILQ_FOREACH(c, &conf->channels, entry) {
		fprintf(fp, "\nchannel ");
		conf_print_word(fp, c->name);
		fprintf(fp, " {\n");
		conf_print_simple(fp, c, CTX_CHANNEL, "\t");
		fprintf(fp, "}\n");
	}
}

#define CONF_CHANNEL_BY(fn, field)					\
struct conf_channel *							\
fn(const struct conf *conf, const char *value)				\
{									\
	struct conf_channel *c;						\
									\
	TAILQ_FOREACH(c, &conf->channels, entry)			\
		if (c->field != NULL && strcasecmp(c->field, value) == 0) \
			return c;					\
	return NULL;							\
}

CONF_CHANNEL_BY(conf_channel_by_group, newsgroup)
CONF_CHANNEL_BY(conf_channel_by_list_id, list_id)
CONF_CHANNEL_BY(conf_channel_by_board, board)

/* A list delivery's envelope recipient: our gateway address or the list's. */
struct conf_channel *
conf_channel_by_address(const struct conf *conf, const char *addr)
{
	struct conf_channel *c;

	TAILQ_FOREACH(c, &conf->channels, entry)
		if (c->gateway_address != NULL &&
		    strcasecmp(c->gateway_address, addr) == 0)
			return c;
	TAILQ_FOREACH(c, &conf->channels, entry)
		if (c->list != NULL && strcasecmp(c->list, addr) == 0)
			return c;
	return NULL;
}

int
conf_access(const struct conf *conf, const struct conf_channel *c, int post)
{
	int own = post ? c->nntp_post : c->nntp_read;

	if (own >= 0)
		return own;
	return post ? conf->nntp_post : conf->nntp_read;
}

/*
 * The outbox target for side s of channel c, or NULL if c lacks the side:
 * "news" (the one news feed), "list:ADDRESS" or "forum:BOARD".
 */
int
conf_target_side(const char *target)
{
	enum side side;
	char name[16];
	size_t n = strcspn(target, ":");

	if (n >= sizeof(name))
		return -1;
	memcpy(name, target, n);
	name[n] = '\0';
	return side_from_name(name, &side) == 0 ? (int)side : -1;
}

char *
conf_target(const struct conf_channel *c, enum side s)
{
	switch (s) {
	case SIDE_NEWS:
		return c->newsgroup != NULL ? xstrdup("news") : NULL;
	case SIDE_LIST:
		return c->list != NULL ? xasprintf("list:%s", c->list) : NULL;
	case SIDE_FORUM:
		return c->board != NULL ? xasprintf("forum:%s", c->board) :
		    NULL;
	default:
		return NULL;
	}
}

/* Every target the configuration delivers to, each once. */
size_t
conf_targets(const struct conf *conf, char ***targets_r)
{
	const struct conf_channel *c;
	char **targets = NULL, *t;
	size_t n = 0, i;
	int s;

	TAILQ_FOREACH(c, &conf->channels, entry) {
		for (s = 0; s < SIDE_MAX; s++) {
			if (conf->deliver[s].kind == TRANSPORT_NONE ||
			    (t = conf_target(c, s)) == NULL)
				continue;
			for (i = 0; i < n && strcmp(targets[i], t) != 0; i++)
				;
			if (i < n) {
				free(t);
				continue;
			}
			targets = xreallocarray(targets, n + 1,
			    sizeof(*targets));
			targets[n++] = t;
		}
	}
	if (conf->archive.kind != TRANSPORT_NONE) {
		targets = xreallocarray(targets, n + 1, sizeof(*targets));
		targets[n++] = xstrdup("archive");
	}
	*targets_r = targets;
	return n;
}

static int
conf_listens_equal(const struct conf *a, const struct conf *b)
{
	size_t i;

	if (a->nlistens != b->nlistens)
		return 0;
	for (i = 0; i < a->nlistens; i++)
		if (strcmp(a->listens[i].address, b->listens[i].address) != 0 ||
		    a->listens[i].proto != b->listens[i].proto)
			return 0;
	return 1;
}

/*
 * The settings a reload cannot change that differ between old and new, as
 * "data-dir,user", or NULL when there are none.
 */
char *
conf_restart_changes(const struct conf *old, const struct conf *new)
{
	const struct conf_keyword *kw;
	const char *a, *b;
	char *list = NULL, *tmp;
	size_t i;
	int same;

	for (i = 0; i < CONF_KEYWORDS; i++) {
		kw = &conf_keywords[i];
		if (!(kw->flags & CONF_RESTART))
			continue;
		if (kw->type == T_CUSTOM)	/* listen */
			same = conf_listens_equal(old, new);
		else {
			a = *conf_string(kw, old);
			b = *conf_string(kw, new);
			same = (a == NULL && b == NULL) ||
			    (a != NULL && b != NULL && strcmp(a, b) == 0);
		}
		if (same)
			continue;
		tmp = list == NULL ? xstrdup(kw->name) :
		    xasprintf("%s,%s", list, kw->name);
		free(list);
		list = tmp;
	}
	return list;
}
