/*
 * reactor.c: list mail cleaned for news and the forum.
 *
 * What a list adds for its subscribers (the tag in the Subject, the
 * footer, its List-* fields, the transport trail) means nothing in a
 * newsgroup, and what mail programs get wrong (Outlook's "AW:", a broken
 * Message-ID or Date) must not reach news.  SynFU's reactor did this
 * with regular expressions; the rules here are the same where SynFU was
 * right (its test messages are ours too) and narrower where it was wrong:
 * only a bracketed group that is exactly a tag goes, reply prefixes are
 * normalised only at the start, header names compare without case, and
 * nothing from a message is ever handed to a shell.
 *
 * Called by the mail side of syncd for each list delivery and by
 * syncd-reactor; the caller owns the result and frees it with
 * reactor_result_free().
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common.h"
#include "smtp.h"

#define REACTOR_NO_SUBJECT	"<No Subject>"
/* References longer than this are trimmed (998 less "References: "). */
#define REACTOR_REFS_MAX	986
/* How much of a broken value is kept in X-Message-ID / X-Original-Date. */
#define REACTOR_KEEP_MAX	900

/* Reply and forward prefixes (outlook), compared without case. */
static const struct {
	const char	*word;
	const char	*as;
} reactor_prefixes[] = {
	{ "re", "Re" }, { "aw", "Re" }, { "antwort", "Re" }, { "antw", "Re" },
	{ "r", "Re" }, { "reply", "Re" }, { "sv", "Re" },
	{ "fwd", "Fwd" }, { "fw", "Fwd" }, { "wg", "Fwd" }, { "wtr", "Fwd" },
	{ "wtr.", "Fwd" }, { "weitergeleitet", "Fwd" },
};

/*
 * Fields that mean nothing in a newsgroup: the mail transport's trail,
 * the list's own fields, and what a news server sets itself.  List-Id
 * and our gateway header stay: they show where a message came from, and
 * are loop guards.
 */
static const char *const reactor_drop_exact[] = {
	"Received", "To", "Cc", "Bcc", "Precedence", "Sender", "Path", "Xref",
	"Lines", "Return-Receipt-To",
};
static const char *const reactor_drop_prefix[] = {
	"Delivered-", "X-", "List-", "NNTP-Posting-",
};
static const char *const reactor_keep[] = {
	"X-No-Archive", "List-Id", GATEWAY_HEADER
};

/* Unstructured fields (RFC 5322 section 3.6.5 and friends). */
static const char *const reactor_unstructured[] = {
	"Subject", "Comments", "Keywords", "Organization", "Summary",
	"Content-Description", "User-Agent",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int
reactor_in(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(name, list[i]) == 0)
			return 1;
	return 0;
}

static int
reactor_drop_field(const char *name)
{
	size_t i;

	if (reactor_in(name, reactor_keep, NELEM(reactor_keep)))
		return 0;
	if (reactor_in(name, reactor_drop_exact, NELEM(reactor_drop_exact)))
		return 1;
	for (i = 0; i < NELEM(reactor_drop_prefix); i++)
		if (strncasecmp(name, reactor_drop_prefix[i],
		    strlen(reactor_drop_prefix[i])) == 0)
			return 1;
	return 0;
}

/* s with white space trimmed from both ends (a new string). */
static char *
reactor_trim(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* Printable ASCII of s, at most max octets, for a field of our own. */
static char *
reactor_printable(const char *s, size_t max)
{
	size_t n = strlen(s), i;
	char *p;

	if (n > max)
		n = max;
	p = xstrndup(s, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			p[i] = '?';
	return p;
}

/*
 * Dates.  A Date that is plain RFC 5322 stays byte for byte; anything
 * else that still names a day, a month, a year and a time (a zone
 * comment in 8-bit, "CEST" for a zone, a German month, an ISO date) is
 * written again in RFC 5322 form with the same instant.
 */

struct reactor_tm {
	int		 year, mon, day, hour, min, sec;
	int		 off;		/* minutes east of UTC */
	int		 have_off;
	int		 odd;		/* not plain RFC 5322 */
};

static const struct {
	const char	*name;
	int		 off;		/* minutes */
	int		 rfc;		/* in RFC 5322's obs-zone */
} reactor_zones[] = {
	{ "UT", 0, 1 }, { "GMT", 0, 1 }, { "Z", 0, 1 },
	{ "EST", -300, 1 }, { "EDT", -240, 1 }, { "CST", -360, 1 },
	{ "CDT", -300, 1 }, { "MST", -420, 1 }, { "MDT", -360, 1 },
	{ "PST", -480, 1 }, { "PDT", -420, 1 },
	{ "UTC", 0, 0 }, { "WET", 0, 0 }, { "WEST", 60, 0 },
	{ "BST", 60, 0 }, { "CET", 60, 0 }, { "MET", 60, 0 },
	{ "MEZ", 60, 0 }, { "CEST", 120, 0 }, { "MEST", 120, 0 },
	{ "MESZ", 120, 0 }, { "EET", 120, 0 }, { "EEST", 180, 0 },
	{ "MSK", 180, 0 },
};

/* Month names: English, and German where they differ (UTF-8 and Latin-1). */
static const struct {
	const char	*name;
	int		 mon;
} reactor_months[] = {
	{ "jan", 1 }, { "feb", 2 }, { "mar", 3 }, { "apr", 4 }, { "may", 5 },
	{ "jun", 6 }, { "jul", 7 }, { "aug", 8 }, { "sep", 9 }, { "oct", 10 },
	{ "nov", 11 }, { "dec", 12 }, { "m\xc3\xa4r", 3 }, { "m\xe4r", 3 },
	{ "mrz", 3 }, { "mai", 5 }, { "okt", 10 }, { "dez", 12 },
};

static const char *const reactor_weekdays[] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun",
	"mo", "di", "mi", "do", "fr", "sa", "so",
};

static int
reactor_mdays(int year, int mon)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31 };

	if (mon == 2 && ((year % 4 == 0 && year % 100 != 0) ||
	    year % 400 == 0))
		return 29;
	return d[mon - 1];
}

/* value without comments (RFC 5322 section 3.2.2); odd if it had any. */
static char *
reactor_uncomment(const char *value, int *had_r)
{
	char *out = xmalloc(strlen(value) + 1);
	size_t n = 0;
	int depth = 0;

	*had_r = 0;
	for (; *value != '\0'; value++) {
		if (*value == '\\' && depth > 0 && value[1] != '\0') {
			value++;
			continue;
		}
		if (*value == '(') {
			depth++;
			*had_r = 1;
			continue;
		}
		if (*value == ')' && depth > 0) {
			depth--;
			continue;
		}
		if (depth == 0)
			out[n++] = *value;
	}
	out[n] = '\0';
	return out;
}

static int
reactor_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/* One token of a date; -1 when it cannot be part of one. */
static int
reactor_date_token(struct reactor_tm *t, char *tok)
{
	size_t n = strlen(tok), i;
	int a, b, c;
	char x;

	if (sscanf(tok, "%d:%d:%d%c", &a, &b, &c, &x) == 3 ||
	    (c = 0, sscanf(tok, "%d:%d%c", &a, &b, &x) == 2)) {
		if (t->hour != -1)
			return -1;
		t->hour = a;
		t->min = b;
		t->sec = c;
		return 0;
	}
	if ((tok[0] == '+' || tok[0] == '-') && n == 5 &&
	    reactor_digits(tok + 1, 4)) {
		a = atoi(tok + 1);
		if (t->have_off || a % 100 > 59 || a > 9959)
			return -1;
		t->off = (a / 100 * 60 + a % 100) * (tok[0] == '-' ? -1 : 1);
		t->have_off = 1;
		return 0;
	}
	if (sscanf(tok, "%4d-%2d-%2d%c", &a, &b, &c, &x) == 3 && n == 10) {
		if (t->year != -1)
			return -1;
		t->year = a;
		t->mon = b;
		t->day = c;
		t->odd = 1;
		return 0;
	}
	/* "21." as German dates write the day. */
	if (n >= 2 && n <= 3 && tok[n - 1] == '.' &&
	    reactor_digits(tok, n - 1) && t->day == -1) {
		t->day = atoi(tok);
		t->odd = 1;
		return 0;
	}
	if (reactor_digits(tok, n)) {
		if (t->day == -1 && n <= 2)
			t->day = atoi(tok);
		else if (t->year == -1 && (n == 2 || n == 4)) {
			t->year = atoi(tok);
			if (n == 2) {
				t->year += t->year < 50 ? 2000 : 1900;
				t->odd = 1;
			}
		} else
			return -1;
		return 0;
	}
	for (i = 0; i < n; i++)
		tok[i] = tolower((unsigned char)tok[i]);
	for (i = 0; i < NELEM(reactor_zones); i++)
		if (strcasecmp(tok, reactor_zones[i].name) == 0) {
			if (t->have_off)
				return -1;
			t->off = reactor_zones[i].off;
			t->have_off = 1;
			if (!reactor_zones[i].rfc)
				t->odd = 1;
			return 0;
		}
	for (i = 0; i < NELEM(reactor_weekdays); i++)
		if (strncmp(tok, reactor_weekdays[i],
		    strlen(reactor_weekdays[i])) == 0) {
			if (i >= 7 || n != 3)
				t->odd = 1;
			return 0;
		}
	for (i = 0; i < NELEM(reactor_months); i++)
		if (strncmp(tok, reactor_months[i].name,
		    strlen(reactor_months[i].name)) == 0) {
			if (t->mon != -1)
				return -1;
			t->mon = reactor_months[i].mon;
			if (i >= 12 || n != 3)
				t->odd = 1;
			return 0;
		}
	return -1;
}

char *
reactor_date(const char *value)
{
	struct reactor_tm t = { -1, -1, -1, -1, -1, -1, 0, 0, 0 };
	struct tm tm;
	char *s, *tok, *save;
	const char *p;
	time_t when;
	int comments;

	for (p = value; *p != '\0'; p++)
		if ((unsigned char)*p > 0x7e || ((unsigned char)*p < 0x20 &&
		    *p != '\t'))
			t.odd = 1;
	s = reactor_uncomment(value, &comments);
	for (tok = strtok_r(s, " \t,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,", &save))
		if (reactor_date_token(&t, tok) == -1) {
			/* A word we do not know: only in an odd date. */
			if ((unsigned char)tok[0] < 0x80 &&
			    !isalpha((unsigned char)tok[0])) {
				free(s);
				return NULL;
			}
			t.odd = 1;
		}
	free(s);
	if (t.year < 1970 || t.year > 9999 || t.mon < 1 || t.mon > 12 ||
	    t.day < 1 || t.day > reactor_mdays(t.year, t.mon) || t.hour < 0 ||
	    t.hour > 23 || t.min < 0 || t.min > 59 || t.sec < 0 ||
	    t.sec > 60)
		return NULL;
	if (!t.odd && t.have_off)
		return xstrdup(value);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = t.year - 1900;
	tm.tm_mon = t.mon - 1;
	tm.tm_mday = t.day;
	tm.tm_hour = t.hour;
	tm.tm_min = t.min;
	tm.tm_sec = t.sec == 60 ? 59 : t.sec;
	when = timegm(&tm) - t.off * 60;
	/* No zone at all: RFC 5322 section 3.3 says -0000. */
	s = msg_date_string(when, t.off);
	if (!t.have_off)
		memcpy(s + strlen(s) - 5, "-0000", 5);
	return s;
}

/* Tags */

/* A tag as configured ("[Pirates-test]") without brackets and spaces. */
static char *
reactor_bare_tag(const char *tag)
{
	size_t n = strlen(tag);

	while (n > 0 && (isspace((unsigned char)*tag) || *tag == '[')) {
		tag++;
		n--;
	}
	while (n > 0 && (isspace((unsigned char)tag[n - 1]) ||
	    tag[n - 1] == ']'))
		n--;
	return xstrndup(tag, n);
}

static void
reactor_push(char ***v, size_t *n, char *s)
{
	if (*s == '\0') {
		free(s);
		return;
	}
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

/* The local part of an address in value ("<mailto:a@b>", "a@b"). */
static char *
reactor_local_part(const char *value)
{
	const char *p = value, *at, *b;

	if ((b = strcasestr(p, "mailto:")) != NULL)
		p = b + 7;
	else if ((b = strrchr(p, '<')) != NULL)
		p = b + 1;
	while (isspace((unsigned char)*p))
		p++;
	if ((at = strchr(p, '@')) == NULL || at == p)
		return NULL;
	return xstrndup(p, at - p);
}

size_t
reactor_tags(const struct msg *msg, const char *recipient, char ***tags_r)
{
	static const char *const ids[] = { "List-Id", "X-List-Id" };
	static const char *const posts[] = { "List-Post", "X-List-Post" };
	static const char *const envs[] = { "AF-Envelope-to",
	    "X-AF-Envelope-to" };
	char **tags = NULL, *v, *d, *p, *e, *save;
	size_t n = 0, i;

	*tags_r = NULL;
	if ((v = msg_get_unfolded(msg, "X-SynFU-Tags")) != NULL) {
		d = rfc2047_decode(v);
		free(v);
		for (p = strtok_r(d, ",", &save); p != NULL;
		    p = strtok_r(NULL, ",", &save))
			reactor_push(&tags, &n, reactor_trim(p, strlen(p)));
		free(d);
		if (n > 0) {
			*tags_r = tags;
			return n;
		}
	}
	for (i = 0; i < NELEM(ids); i++) {
		if ((v = msg_get_unfolded(msg, ids[i])) == NULL)
			continue;
		d = rfc2047_decode(v);
		free(v);
		/* RFC 2919: "phrase <label.domain>"; the label is the tag. */
		p = (p = strrchr(d, '<')) != NULL ? p + 1 : d;
		e = p + strcspn(p, ".>");
		reactor_push(&tags, &n, reactor_trim(p, e - p));
		free(d);
		if (n > 0) {
			*tags_r = tags;
			return n;
		}
	}
	for (i = 0; i < NELEM(posts) + NELEM(envs) + 1; i++) {
		if (i < NELEM(posts))
			v = msg_get_unfolded(msg, posts[i]);
		else if (i < NELEM(posts) + NELEM(envs))
			v = msg_get_unfolded(msg, envs[i - NELEM(posts)]);
		else
			v = recipient != NULL ? xstrdup(recipient) : NULL;
		if (v == NULL)
			continue;
		p = reactor_local_part(v);
		free(v);
		if (p != NULL)
			reactor_push(&tags, &n, p);
		if (n > 0)
			break;
	}
	*tags_r = tags;
	return n;
}

static int
reactor_is_tag(const char *s, size_t n, char **tags, size_t ntags)
{
	size_t i;

	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	for (i = 0; i < ntags; i++)
		if (strlen(tags[i]) == n && strncasecmp(s, tags[i], n) == 0)
			return 1;
	return 0;
}

/*
 * text without the bracketed groups that are exactly a tag, and the
 * white space after each (or before it, at the end); NULL when none was
 * there or nothing would be left.
 */
static char *
reactor_untag(const char *text, char **tags, size_t ntags)
{
	size_t len = strlen(text), i = 0, n = 0, close, rest;
	char *out = xmalloc(len + 1), *trimmed;
	int removed = 0;

	while (i < len) {
		if (text[i] != '[') {
			out[n++] = text[i++];
			continue;
		}
		close = i + 1;
		while (close < len && text[close] != ']' && text[close] != '[')
			close++;
		if (close == len || text[close] != ']' ||
		    !reactor_is_tag(text + i + 1, close - i - 1, tags, ntags)) {
			out[n++] = text[i++];
			continue;
		}
		removed = 1;
		i = close + 1;
		while (i < len && isspace((unsigned char)text[i]))
			i++;
		if (i == len)
			while (n > 0 && isspace((unsigned char)out[n - 1]))
				n--;
	}
	out[n] = '\0';
	for (rest = 0; rest < n && isspace((unsigned char)out[rest]); rest++)
		;
	if (!removed || rest == n) {
		free(out);
		return NULL;
	}
	trimmed = reactor_trim(out, n);
	free(out);
	return trimmed;
}

/* The leading reply and forward prefixes in one spelling; or NULL. */
static char *
reactor_prefix(const char *text)
{
	const char *p = text, *w, *e, *best = text;
	char *out = xstrdup(""), *tmp;
	size_t i, n;
	int changed = 0;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		w = p;
		while (isalpha((unsigned char)*p) || *p == '.')
			p++;
		e = p;
		while (*p == ' ')
			p++;
		if (e == w || *p != ':')
			break;
		n = e - w;
		for (i = 0; i < NELEM(reactor_prefixes); i++)
			if (strlen(reactor_prefixes[i].word) == n &&
			    strncasecmp(w, reactor_prefixes[i].word, n) == 0)
				break;
		if (i == NELEM(reactor_prefixes))
			break;
		if (strncmp(w, reactor_prefixes[i].as, n) != 0 ||
		    strlen(reactor_prefixes[i].as) != n || p != e)
			changed = 1;
		tmp = xasprintf("%s%s: ", out, reactor_prefixes[i].as);
		free(out);
		out = tmp;
		best = ++p;
	}
	while (isspace((unsigned char)*best))
		best++;
	if (!changed) {
		free(out);
		return NULL;
	}
	tmp = xasprintf("%s%s", out, best);
	free(out);
	return tmp;
}

static void
reactor_subject(struct msg *msg, char **tags, size_t ntags, int outlook,
    unsigned int *done)
{
	const char *raw = msg_get(msg, "Subject");
	char *v, *text, *t, *enc;
	int changed = 0, eight = 0;

	v = msg_get_unfolded(msg, "Subject");
	text = v != NULL ? rfc2047_decode(v) : xstrdup("");
	free(v);
	if (raw != NULL)
		for (v = (char *)raw; *v != '\0'; v++)
			if ((unsigned char)*v >= 0x80)
				eight = 1;
	if ((t = reactor_untag(text, tags, ntags)) != NULL) {
		free(text);
		text = t;
		changed = 1;
		*done |= REACTOR_DID_TAG;
	}
	if (outlook && (t = reactor_prefix(text)) != NULL) {
		free(text);
		text = t;
		changed = 1;
		*done |= REACTOR_DID_PREFIX;
	}
	t = reactor_trim(text, strlen(text));
	if (*t == '\0') {
		msg_set(msg, "Subject", REACTOR_NO_SUBJECT);
		*done |= REACTOR_DID_SUBJECT;
	} else if (changed || eight) {
		enc = rfc2047_encode(t, "Subject");
		msg_set(msg, "Subject", enc);
		free(enc);
		if (eight && !changed)
			*done |= REACTOR_DID_CHARSET;
	}
	free(t);
	free(text);
}

/* Message-IDs */

/* A Message-ID of our own for msg, the same for the same bytes. */
static char *
reactor_hash_id(const char *raw, size_t len, const char *domain)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[33], *id;

	if (EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < 16)
		return msgid_generate(domain);
	for (i = 0; i < 16; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	id = xasprintf("<%s.syncd@%s>", hex, domain);
	if (msgid_valid(id, NULL) == -1) {
		free(id);
		return msgid_generate(domain);
	}
	return id;
}

/*
 * SynFU's repairs: the missing bracket, and an ID with several "@" keeps
 * only the last.  Space inside goes too.  NULL if still not valid.
 */
static char *
reactor_repair_id(const char *v)
{
	size_t n = strlen(v), i, k = 0;
	char *id = xmalloc(n + 3), *last;

	if (v[0] != '<')
		id[k++] = '<';
	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)v[i]))
			id[k++] = v[i];
	if (k == 0 || id[k - 1] != '>')
		id[k++] = '>';
	id[k] = '\0';
	if ((last = strrchr(id, '@')) != NULL)
		for (i = k = 0; id[i] != '\0'; i++)
			if (id[i] != '@' || id + i == last)
				id[k++] = id[i];
	id[k] = '\0';
	if (msgid_valid(id, NULL) == -1) {
		free(id);
		return NULL;
	}
	return id;
}

static void
reactor_msgid(struct msg *msg, const char *raw, size_t len,
    const char *domain, unsigned int *done)
{
	char *v, *t, *id, *keep;

	if ((v = msg_get_unfolded(msg, "Message-ID")) == NULL) {
		id = reactor_hash_id(raw, len, domain);
		msg_set(msg, "Message-ID", id);
		free(id);
		*done |= REACTOR_DID_MSGID;
		return;
	}
	t = reactor_trim(v, strlen(v));
	id = msgid_valid(t, NULL) == 0 ? xstrdup(t) : msgid_extract(v);
	free(v);
	if (id != NULL) {
		/* Valid, perhaps with a comment or a second copy: keep it. */
		if (strcmp(id, t) != 0 || msg_count(msg, "Message-ID") > 1) {
			msg_set(msg, "Message-ID", id);
			*done |= REACTOR_DID_MSGID;
		}
		free(id);
		free(t);
		return;
	}
	if ((id = reactor_repair_id(t)) == NULL)
		id = reactor_hash_id(raw, len, domain);
	msg_set(msg, "Message-ID", id);
	keep = reactor_printable(t, REACTOR_KEEP_MAX);
	msg_add(msg, "X-Message-ID", keep);
	free(keep);
	free(id);
	free(t);
	*done |= REACTOR_DID_MSGID;
}

static void
reactor_fix_date(struct msg *msg, time_t now, unsigned int *done)
{
	char *v, *fixed, *keep;

	if ((v = msg_get_unfolded(msg, "Date")) == NULL) {
		fixed = msg_date_string(now, 0);
		msg_add(msg, "Date", fixed);
		free(fixed);
		*done |= REACTOR_DID_DATE;
		return;
	}
	if ((fixed = reactor_date(v)) != NULL && strcmp(fixed, v) == 0 &&
	    msg_count(msg, "Date") == 1) {
		free(fixed);
		free(v);
		return;
	}
	if (fixed == NULL) {
		fixed = msg_date_string(now, 0);
		keep = reactor_printable(v, REACTOR_KEEP_MAX);
		msg_add(msg, "X-Original-Date", keep);
		free(keep);
	}
	msg_set(msg, "Date", fixed);
	free(fixed);
	free(v);
	*done |= REACTOR_DID_DATE;
}

static void
reactor_references(struct msg *msg, unsigned int *done)
{
	char *refs, *irt, **ids, *joined, *t;
	size_t n, i;

	if ((refs = msg_get_unfolded(msg, "References")) != NULL) {
		if (strlen(refs) > REACTOR_REFS_MAX) {
			if ((t = references_trim(refs,
			    REACTOR_REFS_MAX)) != NULL)
				msg_set(msg, "References", t);
			else
				msg_remove(msg, "References");
			free(t);
			*done |= REACTOR_DID_REFERENCES;
		}
		free(refs);
		return;
	}
	if ((irt = msg_get_unfolded(msg, "In-Reply-To")) == NULL)
		return;
	n = msgid_list(irt, &ids);
	free(irt);
	if (n == 0)
		return;
	joined = xstrdup(ids[0]);
	for (i = 1; i < n; i++) {
		t = xasprintf("%s %s", joined, ids[i]);
		free(joined);
		joined = t;
	}
	if ((t = references_trim(joined, REACTOR_REFS_MAX)) != NULL)
		msg_add(msg, "References", t);
	free(t);
	free(joined);
	msgid_list_free(ids, n);
	*done |= REACTOR_DID_REFERENCES;
}

/* Fields */

static void
reactor_strip_fields(struct msg *msg, unsigned int *done)
{
	size_t i = 0;
	char *name;

	while (i < msg->nheaders) {
		if (!reactor_drop_field(msg->headers[i].name)) {
			i++;
			continue;
		}
		name = xstrdup(msg->headers[i].name);
		msg_remove(msg, name);
		free(name);
		*done |= REACTOR_DID_HEADERS;
	}
}

/*
 * Header text in an unknown 8-bit charset becomes UTF-8 (read as
 * windows-1252, what such mail nearly always is); unstructured fields
 * are then RFC 2047 encoded, so that every reader can show them.
 */
static void
reactor_fix_8bit(struct msg *msg, unsigned int *done)
{
	struct msg_header *h;
	char *u, *dec, *enc;
	size_t i, n, k;
	const char *p;

	for (i = 0; i < msg->nheaders; i++) {
		h = &msg->headers[i];
		for (p = h->value; *p != '\0' && (unsigned char)*p < 0x80; p++)
			;
		if (*p == '\0' || strcasecmp(h->name, "Subject") == 0)
			continue;
		n = strlen(h->value);
		if (!utf8_valid(h->value, n)) {
			u = charset_to_utf8("windows-1252", h->value, n, NULL);
			if (u == NULL)
				continue;
			free(h->value);
			h->value = u;
			*done |= REACTOR_DID_CHARSET;
		}
		if (!reactor_in(h->name, reactor_unstructured,
		    NELEM(reactor_unstructured)))
			continue;
		/* Unfold: CRLF before white space goes. */
		u = xstrdup(h->value);
		for (n = k = 0; u[n] != '\0'; n++)
			if (!(u[n] == '\r' || u[n] == '\n'))
				u[k++] = u[n];
		u[k] = '\0';
		dec = rfc2047_decode(u);
		enc = rfc2047_encode(dec, h->name);
		free(h->value);
		h->value = enc;
		free(dec);
		free(u);
		*done |= REACTOR_DID_CHARSET;
	}
}

char *
reactor_sender(const struct msg *msg)
{
	char *v, *addr, *lt, *gt;

	if ((v = msg_get_unfolded(msg, "From")) == NULL &&
	    (v = msg_get_unfolded(msg, "Sender")) == NULL)
		return NULL;
	if ((lt = strrchr(v, '<')) != NULL && (gt = strchr(lt, '>')) != NULL)
		addr = reactor_trim(lt + 1, gt - lt - 1);
	else {
		/* "addr (Name)": the address is the first word. */
		lt = v + strspn(v, " \t");
		addr = xstrndup(lt, strcspn(lt, " \t("));
	}
	free(v);
	if (strchr(addr, '@') == NULL) {
		free(addr);
		return NULL;
	}
	return addr;
}

/* Footer names: the tags, the list's address and its local part. */
static void
reactor_names(const struct reactor_conf *conf, const struct msg *msg,
    char **tags, size_t ntags, struct footer_conf *fc)
{
	char *v, *lp;
	size_t i;

	for (i = 0; i < ntags; i++)
		reactor_push(&fc->names, &fc->nnames, xstrdup(tags[i]));
	if (conf->list != NULL) {
		reactor_push(&fc->names, &fc->nnames, xstrdup(conf->list));
		if ((lp = reactor_local_part(conf->list)) != NULL)
			reactor_push(&fc->names, &fc->nnames, lp);
	}
	if ((v = msg_get_unfolded(msg, "List-Post")) != NULL) {
		if ((lp = reactor_local_part(v)) != NULL)
			reactor_push(&fc->names, &fc->nnames, lp);
		free(v);
	}
}

static void
reactor_free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
reactor_clean(const struct reactor_conf *conf, const char *raw, size_t len,
    struct reactor_result *res)
{
	struct footer_conf fc;
	struct msg *msg;
	const char *err, *domain;
	char **tags = NULL, *sender, *b, *body, *exp, *t;
	size_t ntags = 0, blen, bodylen, i;
	unsigned int did;
	time_t now = conf->now != 0 ? conf->now : time(NULL);
	int actions, days;

	memset(res, 0, sizeof(*res));
	if (msg_parse(raw, len, &msg, &err) == -1) {
		res->verdict = REACTOR_REFUSE;
		res->reason = err;
		return;
	}
	/* RFC 5537 section 5: control messages are for news servers. */
	if (msg_get(msg, "Control") != NULL ||
	    msg_get(msg, "Also-Control") != NULL) {
		res->verdict = REACTOR_CONTROL;
		res->reason = "a control message is never gated";
		msg_free(&msg);
		return;
	}
	sender = reactor_sender(msg);
	actions = blacklist_match(conf->blacklist, sender, &days);
	free(sender);
	if (actions & BLACKLIST_DROP) {
		res->verdict = REACTOR_DROP;
		res->reason = "the sender is on the blacklist";
		msg_free(&msg);
		return;
	}

	if (conf->tag != NULL)
		reactor_push(&tags, &ntags, reactor_bare_tag(conf->tag));
	else
		ntags = reactor_tags(msg, conf->recipient, &tags);
	for (i = 0; i < ntags; i++) {
		t = res->tags == NULL ? xstrdup(tags[i]) :
		    xasprintf("%s,%s", res->tags, tags[i]);
		free(res->tags);
		res->tags = t;
	}

	if (conf->footer != REACTOR_FOOTER_KEEP || conf->strip_notes) {
		memset(&fc, 0, sizeof(fc));
		fc.mode = conf->footer;
		fc.strip_notes = conf->strip_notes;
		reactor_names(conf, msg, tags, ntags, &fc);
		b = msg_build(msg, &blen);
		if (footer_strip(b, blen, &fc, &body, &bodylen, &did) == 1) {
			msg_set_body(msg, body, bodylen);
			free(body);
			res->done |= did;
		}
		free(b);
		reactor_free_list(fc.names, fc.nnames);
	}

	reactor_subject(msg, tags, ntags, conf->outlook, &res->done);
	reactor_free_list(tags, ntags);
	reactor_strip_fields(msg, &res->done);
	domain = conf->domain != NULL ? conf->domain : "gateway.invalid";
	reactor_msgid(msg, raw, len, domain, &res->done);
	if (conf->fix_date)
		reactor_fix_date(msg, now, &res->done);
	reactor_references(msg, &res->done);
	reactor_fix_8bit(msg, &res->done);
	if (actions & BLACKLIST_NO_ARCHIVE) {
		msg_set(msg, "X-No-Archive", "yes");
		res->done |= REACTOR_DID_NO_ARCHIVE;
	}
	if (actions & BLACKLIST_EXPIRES) {
		exp = msg_date_string(now + days * 86400LL, 0);
		msg_set(msg, "Expires", exp);
		free(exp);
		res->done |= REACTOR_DID_EXPIRES;
	}
	res->out = msg_build(msg, &res->len);
	res->verdict = REACTOR_GATE;
	msg_free(&msg);
}

char *
reactor_did_names(unsigned int done)
{
	static const char *const names[] = { "tag", "prefix", "subject",
	    "footer", "footer-part", "notes", "headers", "msgid", "date",
	    "references", "charset", "no-archive", "expires" };
	char *out = xstrdup(""), *t;
	size_t i;

	for (i = 0; i < NELEM(names); i++)
		if (done & (1U << i)) {
			t = xasprintf("%s%s%s", out, *out != '\0' ? "," : "",
			    names[i]);
			free(out);
			out = t;
		}
	return out;
}

void
reactor_result_free(struct reactor_result *res)
{
	free(res->tags);
	free(res->out);
	memset(res, 0, sizeof(*res));
}
