/*
 * msg.c: an Internet message (RFC 5322) as a list of header fields and a
 * body.
 *
 * Every side of Syncom calls msg_parse on what it receives and msg_build
 * on what it sends; the NNTP server, the mail side and the forum read
 * and change fields in between.  The header section is split by our own
 * code so that every byte survives as it came (libetpan silently drops
 * raw 8-bit bytes it cannot decode), and msg_build gives a well-formed
 * CRLF message back byte for byte.  Only single structured fields are
 * handed to libetpan (mailimf_mailbox_list_parse, mailimf_date_time_parse),
 * each as a private copy that stays alive while its parse tree is used.
 *
 * A struct msg owns all its strings; msg_free releases them.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libetpan/libetpan.h>

#include "common.h"

/* The line length RFC 5322 section 2.1.1 asks senders to keep to. */
#define MSG_FOLD_WIDTH		78

/* Whether c may appear in a field name (RFC 5322 section 3.6.8 ftext). */
static int
msg_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Whether name is a valid field name. */
static int
msg_name_valid(const char *name)
{
	const char *p;

	if (*name == '\0')
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (!msg_ftext((unsigned char)*p))
			return 0;
	}
	return 1;
}

struct msg *
msg_new(void)
{
	struct msg *msg;

	msg = xcalloc(1, sizeof(*msg));
	msg->body = xstrdup("");
	return msg;
}

void
msg_free(struct msg **msgp)
{
	struct msg *msg = *msgp;
	size_t i;

	if (msg == NULL)
		return;
	for (i = 0; i < msg->nheaders; i++) {
		free(msg->headers[i].name);
		free(msg->headers[i].value);
	}
	free(msg->headers);
	free(msg->body);
	free(msg);
	*msgp = NULL;
}

/* Make room for one more field. */
static void
msg_grow(struct msg *msg)
{
	size_t cap;

	if (msg->nheaders < msg->headers_cap)
		return;
	cap = msg->headers_cap == 0 ? 16 : msg->headers_cap * 2;
	msg->headers = xreallocarray(msg->headers, cap, sizeof(*msg->headers));
	msg->headers_cap = cap;
}

/*
 * Copy len bytes with every line end (CRLF, or LF alone) made CRLF; sets
 * *bare_r when an LF stood alone.
 */
static char *
msg_crlf(const char *s, size_t len, size_t *outlen_r, int *bare_r)
{
	const char *p, *end = s + len, *nl;
	size_t n = 0, extra = 0;
	char *out;

	/* Line by line with memchr: a body is read for every ARTICLE. */
	for (p = s; (nl = memchr(p, '\n', end - p)) != NULL; p = nl + 1)
		if (nl == s || nl[-1] != '\r')
			extra++;
	if (extra > 0 && bare_r != NULL)
		*bare_r = 1;
	out = xmalloc(len + extra + 1);
	if (extra == 0) {
		memcpy(out, s, len);
		n = len;
	} else {
		for (p = s; p < end; p = nl) {
			if ((nl = memchr(p, '\n', end - p)) == NULL)
				nl = end;
			memcpy(out + n, p, nl - p);
			n += nl - p;
			if (nl == end)
				break;
			if (nl == s || nl[-1] != '\r')
				out[n++] = '\r';
			out[n++] = *nl++;
		}
	}
	out[n] = '\0';
	if (outlen_r != NULL)
		*outlen_r = n;
	return out;
}

/*
 * The end of the line starting at i: *eol_r is where its content stops
 * (before CRLF or LF), the return value where the next line starts.
 */
static size_t
msg_line(const char *p, size_t len, size_t i, size_t *eol_r, int *bare_r,
    int *term_r)
{
	const char *nl;
	size_t eol;

	if ((nl = memchr(p + i, '\n', len - i)) == NULL) {
		*eol_r = len;
		*term_r = 0;
		return len;
	}
	eol = nl - p;
	*term_r = 1;
	if (eol > i && p[eol - 1] == '\r')
		*eol_r = eol - 1;
	else {
		*eol_r = eol;
		*bare_r = 1;
	}
	return eol + 1;
}

int
msg_parse(const void *raw, size_t len, struct msg **msg_r, const char **err_r)
{
	const char *p = raw, *c;
	struct msg *msg;
	struct msg_header *h;
	size_t i = 0, next, eol, e2, fend, fnext, colon, vs, k;
	int bare = 0, term, inheader = 1;

	*msg_r = NULL;
	if (memchr(p, '\0', len) != NULL) {
		*err_r = "message contains a NUL byte";
		return -1;
	}
	msg = xcalloc(1, sizeof(*msg));
	while (i < len) {
		next = msg_line(p, len, i, &eol, &bare, &term);
		if (eol - i > MSG_LINE_MAX)
			msg->flags |= MSG_LONG_LINE;
		if (eol == i && term) {
			/* The empty line that ends the header section. */
			inheader = 0;
			i = next;
			break;
		}
		if (p[i] == ' ' || p[i] == '\t') {
			*err_r = "continuation line before the first field";
			goto fail;
		}
		if ((c = memchr(p + i, ':', eol - i)) == NULL) {
			*err_r = "header line without a colon";
			goto fail;
		}
		colon = c - p;
		if (colon == i) {
			*err_r = "empty header field name";
			goto fail;
		}
		for (k = i; k < colon; k++) {
			if (!msg_ftext((unsigned char)p[k])) {
				*err_r = "invalid header field name";
				goto fail;
			}
		}
		/* The field goes on over lines that start with white space. */
		fend = eol;
		fnext = next;
		while (term && fnext < len && (p[fnext] == ' ' ||
		    p[fnext] == '\t')) {
			next = msg_line(p, len, fnext, &e2, &bare, &term);
			if (e2 - fnext > MSG_LINE_MAX)
				msg->flags |= MSG_LONG_LINE;
			fend = e2;
			fnext = next;
		}
		if (msg->nheaders == MSG_HEADERS_MAX) {
			*err_r = "too many header fields";
			goto fail;
		}
		for (k = i; k < fend; k++) {
			if ((unsigned char)p[k] >= 0x80) {
				msg->flags |= MSG_8BIT_HEADER;
				break;
			}
		}
		msg_grow(msg);
		h = &msg->headers[msg->nheaders++];
		h->name = xmemdup(p + i, colon - i);
		h->flags = 0;
		vs = colon + 1;
		if (vs < fend && p[vs] == ' ')
			vs++;
		else
			h->flags |= MSG_HEADER_NOSPACE;
		h->value = msg_crlf(p + vs, fend - vs, NULL, NULL);
		i = fnext;
	}
	if (inheader) {
		msg->flags |= MSG_NO_BODY;
		msg->body = xstrdup("");
		msg->body_len = 0;
	} else {
		/* The line limit (RFC 5322 2.1.1) holds in the body too. */
		for (k = i; k < len; k = next) {
			next = msg_line(p, len, k, &eol, &bare, &term);
			if (eol - k > MSG_LINE_MAX) {
				msg->flags |= MSG_LONG_LINE;
				break;
			}
		}
		msg->body = msg_crlf(p + i, len - i, &msg->body_len, &bare);
	}
	if (bare)
		msg->flags |= MSG_BARE_LF;
	*msg_r = msg;
	return 0;

fail:
	msg_free(&msg);
	return -1;
}

void
msg_set_body(struct msg *msg, const char *body, size_t len)
{
	free(msg->body);
	msg->body = msg_crlf(body, len, &msg->body_len, NULL);
	msg->flags &= ~MSG_NO_BODY;
}

const char *
msg_get(const struct msg *msg, const char *name)
{
	size_t i;

	for (i = 0; i < msg->nheaders; i++) {
		if (strcasecmp(msg->headers[i].name, name) == 0)
			return msg->headers[i].value;
	}
	return NULL;
}

char *
msg_unfold(const char *value)
{
	const char *s, *e;
	char *out, *o;

	for (s = value; *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n';
	    s++)
		;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		e--;
	out = o = xmalloc(e - s + 1);
	for (; s < e; s++) {
		if (*s != '\r' && *s != '\n')
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

char *
msg_get_unfolded(const struct msg *msg, const char *name)
{
	const char *v;

	if ((v = msg_get(msg, name)) == NULL)
		return NULL;
	return msg_unfold(v);
}

size_t
msg_count(const struct msg *msg, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < msg->nheaders; i++) {
		if (strcasecmp(msg->headers[i].name, name) == 0)
			n++;
	}
	return n;
}

/*
 * Fold "Name: value" at white space so lines keep to 78 octets where a
 * break can be found (RFC 5322 section 2.2.3: CRLF goes before white
 * space).  A break never goes before the first word, nor before white
 * space that ends the value, which would leave a line of white space.
 */
static char *
msg_fold(const char *name, const char *value)
{
	size_t len = strlen(value), col = strlen(name) + 2, i = 0, g, w, e;
	size_t n = 0, cap;
	char *out;

	if (col + len <= MSG_FOLD_WIDTH)
		return xstrdup(value);
	/* At most one CRLF per run of white space. */
	cap = len + 2 * (len / 2 + 1) + 1;
	out = xmalloc(cap);
	while (i < len) {
		g = i;
		while (i < len && (value[i] == ' ' || value[i] == '\t'))
			i++;
		w = i;
		while (i < len && value[i] != ' ' && value[i] != '\t')
			i++;
		e = i;
		if (g > 0 && w > g && e > w && col + (e - g) > MSG_FOLD_WIDTH) {
			out[n++] = '\r';
			out[n++] = '\n';
			col = 0;
		}
		memcpy(out + n, value + g, e - g);
		n += e - g;
		col += e - g;
	}
	out[n] = '\0';
	return out;
}

/*
 * The value as stored: a line break not followed by white space becomes
 * a space so the value cannot start a field of its own; others become
 * CRLF.  A value with no line break left is folded if it is long.
 */
static char *
msg_value(const char *name, const char *value)
{
	size_t len = strlen(value), i, n = 0;
	char *out, *folded;
	int broken = 0;

	if (!msg_name_valid(name))
		fatalx("msg: invalid header field name \"%s\"", name);
	out = xmalloc(2 * len + 1);
	for (i = 0; i < len; i++) {
		if (value[i] != '\r' && value[i] != '\n') {
			out[n++] = value[i];
			continue;
		}
		if (value[i] == '\r' && value[i + 1] == '\n')
			i++;
		if (value[i + 1] == ' ' || value[i + 1] == '\t') {
			out[n++] = '\r';
			out[n++] = '\n';
			broken = 1;
		} else
			out[n++] = ' ';
	}
	out[n] = '\0';
	if (broken)
		return out;
	folded = msg_fold(name, out);
	free(out);
	return folded;
}

/* Insert a field at position at. */
static void
msg_insert(struct msg *msg, size_t at, const char *name, const char *value)
{
	struct msg_header *h;
	char *v;

	v = msg_value(name, value);
	msg_grow(msg);
	memmove(&msg->headers[at + 1], &msg->headers[at],
	    (msg->nheaders - at) * sizeof(*msg->headers));
	msg->nheaders++;
	h = &msg->headers[at];
	h->name = xstrdup(name);
	h->value = v;
	h->flags = 0;
}

void
msg_add(struct msg *msg, const char *name, const char *value)
{
	msg_insert(msg, msg->nheaders, name, value);
}

void
msg_prepend(struct msg *msg, const char *name, const char *value)
{
	msg_insert(msg, 0, name, value);
}

/* Remove the fields named name from position from on; how many went. */
static size_t
msg_remove_from(struct msg *msg, const char *name, size_t from)
{
	size_t i, j, n = 0;

	for (i = j = from; i < msg->nheaders; i++) {
		if (strcasecmp(msg->headers[i].name, name) == 0) {
			free(msg->headers[i].name);
			free(msg->headers[i].value);
			n++;
			continue;
		}
		msg->headers[j++] = msg->headers[i];
	}
	msg->nheaders = j;
	return n;
}

void
msg_set(struct msg *msg, const char *name, const char *value)
{
	struct msg_header *h;
	size_t i;

	for (i = 0; i < msg->nheaders; i++) {
		h = &msg->headers[i];
		if (strcasecmp(h->name, name) != 0)
			continue;
		free(h->value);
		h->value = msg_value(name, value);
		h->flags = 0;
		free(h->name);
		h->name = xstrdup(name);
		msg_remove_from(msg, name, i + 1);
		return;
	}
	msg_add(msg, name, value);
}

size_t
msg_remove(struct msg *msg, const char *name)
{
	return msg_remove_from(msg, name, 0);
}

char *
msg_build(const struct msg *msg, size_t *len_r)
{
	const struct msg_header *h;
	size_t i, len = 0, n;
	char *out, *o;

	for (i = 0; i < msg->nheaders; i++) {
		h = &msg->headers[i];
		len += strlen(h->name) + 1 + strlen(h->value) + 2;
		if (!(h->flags & MSG_HEADER_NOSPACE))
			len++;
	}
	if (!(msg->flags & MSG_NO_BODY))
		len += 2 + msg->body_len;
	out = o = xmalloc(len + 1);
	for (i = 0; i < msg->nheaders; i++) {
		h = &msg->headers[i];
		n = strlen(h->name);
		memcpy(o, h->name, n);
		o += n;
		*o++ = ':';
		if (!(h->flags & MSG_HEADER_NOSPACE))
			*o++ = ' ';
		n = strlen(h->value);
		memcpy(o, h->value, n);
		o += n;
		*o++ = '\r';
		*o++ = '\n';
	}
	if (!(msg->flags & MSG_NO_BODY)) {
		*o++ = '\r';
		*o++ = '\n';
		memcpy(o, msg->body, msg->body_len);
		o += msg->body_len;
	}
	*o = '\0';
	if (len_r != NULL)
		*len_r = o - out;
	return out;
}

char *
msg_subject(const struct msg *msg)
{
	char *v, *s;

	if ((v = msg_get_unfolded(msg, "Subject")) == NULL)
		return NULL;
	s = rfc2047_decode(v);
	free(v);
	return s;
}

/* s decoded with white space trimmed, or NULL when nothing is left. */
static char *
msg_display(const char *s, size_t len)
{
	char *raw, *dec, *t;

	raw = xmemdup(s, len);
	dec = rfc2047_decode(raw);
	free(raw);
	t = msg_unfold(dec);
	free(dec);
	if (*t == '\0') {
		free(t);
		return NULL;
	}
	return t;
}

/*
 * The old "addr (Name)" form: the comment that ends the value, if any
 * (RFC 5322 section 3.2.2 comments, nested, with quoted pairs; quoted
 * strings outside them skipped).  One pass forward, so a value full of
 * backslashes or parentheses costs linear time.
 */
static char *
msg_from_comment(const char *v)
{
	size_t len = strlen(v), i, start = 0, last_start = 0, last_end = 0;
	int depth = 0, found = 0, quoted = 0;

	for (i = 0; i < len; i++) {
		if ((depth > 0 || quoted) && v[i] == '\\') {
			i++;
			continue;
		}
		if (quoted) {
			if (v[i] == '"')
				quoted = 0;
			continue;
		}
		if (depth == 0 && v[i] == '"')
			quoted = 1;
		else if (v[i] == '(') {
			if (depth++ == 0)
				start = i;
		} else if (v[i] == ')' && depth > 0 && --depth == 0) {
			last_start = start;
			last_end = i;
			found = 1;
		}
	}
	if (!found || last_end != len - 1)
		return NULL;
	return msg_display(v + last_start + 1, last_end - last_start - 1);
}

/*
 * Whether libetpan's address looks like one: it reads "<" as an address
 * and glues the words of "Name <<broken" together, so an address with
 * brackets, white space or controls in it means the parse went wrong.
 */
static int
msg_addr_plausible(const char *addr)
{
	const unsigned char *p;

	if (*addr == '\0')
		return 0;
	for (p = (const unsigned char *)addr; *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
			return 0;
	}
	return 1;
}

int
msg_mailbox(const struct msg *msg, char **name_r, char **addr_r)
{
	struct mailimf_mailbox_list *list = NULL;
	struct mailimf_mailbox *mb;
	char *v;
	size_t idx = 0;

	*name_r = *addr_r = NULL;
	if ((v = msg_get_unfolded(msg, "From")) == NULL)
		return -1;
	/* v stays alive until list is freed: libetpan points into it. */
	if (!msg_comments_ok(v, strlen(v)) ||
	    mailimf_mailbox_list_parse(v, strlen(v), &idx, &list) !=
	    MAILIMF_NO_ERROR || clist_isempty(list->mb_list) ||
	    !msg_addr_plausible(((struct mailimf_mailbox *)clist_content(
	    clist_begin(list->mb_list)))->mb_addr_spec)) {
		if (list != NULL)
			mailimf_mailbox_list_free(list);
		free(v);
		return -1;
	}
	mb = clist_content(clist_begin(list->mb_list));
	if (mb->mb_display_name != NULL)
		*name_r = msg_display(mb->mb_display_name,
		    strlen(mb->mb_display_name));
	if (*name_r == NULL)
		*name_r = msg_from_comment(v);
	*addr_r = rfc2047_decode(mb->mb_addr_spec);
	mailimf_mailbox_list_free(list);
	free(v);
	return 0;
}

char *
msg_from(const struct msg *msg)
{
	char *v, *name, *addr, *out;

	if (msg_mailbox(msg, &name, &addr) == -1) {
		if ((v = msg_get_unfolded(msg, "From")) == NULL)
			return NULL;
		out = rfc2047_decode(v);
		free(v);
		return out;
	}
	if (name == NULL)
		return addr;
	out = xasprintf("%s <%s>", name, addr);
	free(name);
	free(addr);
	return out;
}

char *
msg_date_string(time_t t, int off)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t local = t + off * 60;
	struct tm tm;
	int a = off < 0 ? -off : off;

	gmtime_r(&local, &tm);
	return xasprintf("%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', a / 60, a % 60);
}

int
msg_comments_ok(const char *s, size_t len)
{
	size_t i;
	int depth = 0;

	/*
	 * Counted the way libetpan could at most nest: every "(" opens,
	 * a ")" closes, a quoted pair inside a comment does neither.  "("
	 * in a quoted string counts too, which only errs on the safe side.
	 */
	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '\\':
			if (depth > 0)
				i++;
			break;
		case '(':
			if (++depth > MSG_COMMENT_DEPTH_MAX)
				return 0;
			break;
		case ')':
			if (depth > 0)
				depth--;
			break;
		case '\n':
			/* CRLF ends a comment unless white space follows. */
			if (i + 1 < len && (s[i + 1] == ' ' || s[i + 1] == '\t'))
				break;
			if (i + 1 < len && (s[i + 1] == '\n' ||
			    (s[i + 1] == '\r' && i + 2 < len && s[i + 2] == '\n')))
				return 1;
			depth = 0;
			break;
		}
	}
	return 1;
}

/* Days in month mon (1..12) of year. */
static int
msg_mdays(int year, int mon)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (mon == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return 29;
	return days[mon - 1];
}

time_t
msg_date(const struct msg *msg)
{
	struct mailimf_date_time *dt = NULL;
	struct tm tm;
	char *v;
	size_t idx = 0;
	int year, zone, off;
	time_t t;

	if ((v = msg_get_unfolded(msg, "Date")) == NULL)
		return -1;
	if (!msg_comments_ok(v, strlen(v)) ||
	    mailimf_date_time_parse(v, strlen(v), &idx, &dt) !=
	    MAILIMF_NO_ERROR) {
		free(v);
		return -1;
	}
	free(v);
	/* libetpan checks the syntax only; the ranges are ours. */
	year = dt->dt_year;
	/* RFC 5322 section 4.3: two- and three-digit years. */
	if (year >= 0 && year < 50)
		year += 2000;
	else if (year >= 50 && year < 1000)
		year += 1900;
	zone = dt->dt_zone < 0 ? -dt->dt_zone : dt->dt_zone;
	if (year < 1900 || year > 9999 || dt->dt_month < 1 ||
	    dt->dt_month > 12 || dt->dt_day < 1 ||
	    dt->dt_day > msg_mdays(year, dt->dt_month) || dt->dt_hour < 0 ||
	    dt->dt_hour > 23 || dt->dt_min < 0 || dt->dt_min > 59 ||
	    dt->dt_sec < 0 || dt->dt_sec > 60 || zone > 9959 ||
	    zone % 100 > 59) {
		mailimf_date_time_free(dt);
		return -1;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = dt->dt_month - 1;
	tm.tm_mday = dt->dt_day;
	tm.tm_hour = dt->dt_hour;
	tm.tm_min = dt->dt_min;
	tm.tm_sec = dt->dt_sec;
	off = (zone / 100 * 60 + zone % 100) * 60;
	if (dt->dt_zone < 0)
		off = -off;
	mailimf_date_time_free(dt);
	/* Before 1970 is no date for a message, and -1 means "none". */
	if ((t = timegm(&tm)) == (time_t)-1 || t - off < 0)
		return -1;
	return t - off;
}

char *
msg_text_body(const char *text, size_t *len_r)
{
	char *out = xmalloc(2 * strlen(text) + 3), *o = out;

	for (; *text != '\0'; text++) {
		if (*text == '\r')
			continue;
		if (*text == '\n')
			*o++ = '\r';
		*o++ = *text;
	}
	while (o > out && (o[-1] == '\n' || o[-1] == '\r' || o[-1] == ' ' ||
	    o[-1] == '\t'))
		o--;
	*o++ = '\r';
	*o++ = '\n';
	*o = '\0';
	*len_r = (size_t)(o - out);
	return out;
}

struct msg *
msg_automated(const char *from, const char *subject, const char *msgid,
    const char *text)
{
	struct msg *m = msg_new();
	char *v, *body;
	size_t len;

	msg_add(m, "From", from);
	v = rfc2047_encode(subject, "Subject");
	msg_add(m, "Subject", v);
	free(v);
	v = msg_date_string(time(NULL), 0);
	msg_add(m, "Date", v);
	free(v);
	msg_add(m, "Message-ID", msgid);
	/* RFC 3834 section 5: nobody should answer it automatically. */
	msg_add(m, "Auto-Submitted", "auto-generated");
	msg_add(m, "MIME-Version", "1.0");
	msg_add(m, "Content-Type", "text/plain; charset=utf-8");
	msg_add(m, "Content-Transfer-Encoding", "8bit");
	body = msg_text_body(text, &len);
	msg_set_body(m, body, len);
	free(body);
	return m;
}
