/*
 * forum_render.c: what a post shows, made from the message it is.
 *
 * A post is stored as the raw message it came as, from a list, a
 * newsgroup or the forum's own form.  The forum's pages call this file
 * to find a message's readable text and its attachments (through
 * common/mime.c and charset_to_utf8, never a parser of our own), to turn
 * that text into the HTML fragment a post page shows, to turn HTML mail
 * into plain text, and to quote a post in a reply.  Everything returned
 * is the caller's to free.
 *
 * No HTML from a message ever reaches a page: an HTML part is made plain
 * text first and then shown like any other text, so the only markup in
 * a post's body is what forum_render_text writes itself, and every byte
 * of the message goes through forum_escape, the one place that escapes
 * HTML.  Links are made only for a fixed list of schemes, so no
 * javascript: (or data:) address can become one.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "common.h"
#include "forum.h"

/* A message's MIME parts in mime_walk order, and its readable text. */
struct forum_message {
	struct mime_part	 *root;
	struct mime_part	**parts;
	size_t			  nparts;
	struct mime_part	 *text;		/* or NULL */
};

/* A growing string, NUL-terminated once it holds anything. */
struct forum_buf {
	char		*p;
	size_t		 len;
	size_t		 cap;
};

/* The state of one forum_html_to_text. */
struct forum_h2t {
	struct forum_buf out;
	int		 space;		/* collapsed white space pending */
	int		 pre;		/* inside <pre>: white space kept */
	char		*href;		/* of the open <a>, or NULL */
	size_t		 a_start;	/* where the text of that <a> starts */
};

/* Append n octets. */
static void
forum_buf_add(struct forum_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append a string. */
static void
forum_buf_puts(struct forum_buf *b, const char *s)
{
	forum_buf_add(b, s, strlen(s));
}

/* The buffer's string, given to the caller (never NULL). */
static char *
forum_buf_take(struct forum_buf *b, size_t *len_r)
{
	if (b->p == NULL)
		b->p = xstrdup("");
	if (len_r != NULL)
		*len_r = b->len;
	return b->p;
}

/* Whether c is an ASCII letter or digit (no locale). */
static int
forum_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Where the line after s[i] starts, or end. */
static size_t
forum_next_line(const char *s, size_t i, size_t end)
{
	const char *nl;

	if ((nl = memchr(s + i, '\n', end - i)) == NULL)
		return end;
	return nl - s + 1;
}

/*
 * Where the signature starts: the last line that is "-- " (RFC 3676
 * section 4.3) or the common "--", else len.
 */
static size_t
forum_sig_start(const char *s, size_t len)
{
	size_t i = 0, next, n, sig = len;

	while (i < len) {
		next = forum_next_line(s, i, len);
		n = next - i;
		if (n > 0 && s[i + n - 1] == '\n')
			n--;
		if (n > 0 && s[i + n - 1] == '\r')
			n--;
		if ((n == 3 && memcmp(s + i, "-- ", 3) == 0) ||
		    (n == 2 && memcmp(s + i, "--", 2) == 0))
			sig = i;
		i = next;
	}
	return sig;
}

/* Collect a part into the forum_message given as arg (a mime_walk callback). */
static int
forum_collect(struct mime_part *p, void *arg)
{
	struct forum_message *m = arg;

	m->parts = xreallocarray(m->parts, m->nparts + 1, sizeof(*m->parts));
	m->parts[m->nparts++] = p;
	return 0;
}

/* Whether p lies inside an embedded message (message/rfc822 and such). */
static int
forum_embedded(const struct mime_part *p)
{
	for (p = p->parent; p != NULL; p = p->parent) {
		if (strncmp(p->type, "message/", 8) == 0)
			return 1;
	}
	return 0;
}

/* Whether p is an inline part of type type that may be the text. */
static int
forum_is_text(const struct mime_part *p, const char *type)
{
	return strcmp(p->type, type) == 0 && p->nchildren == 0 &&
	    (p->disposition == NULL ||
	    strcmp(p->disposition, "attachment") != 0) && !forum_embedded(p);
}

/*
 * Whether p is an attachment: a part that is not a multipart, not the
 * text, not inside an embedded message (the message/rfc822 part is one
 * attachment as a whole) and not another version of the text (a sibling
 * under a multipart/alternative the text is in, RFC 2046 section 5.1.4).
 */
static int
forum_is_attachment(const struct forum_message *m, const struct mime_part *p)
{
	const struct mime_part *a, *t;

	if (p == m->text || strncmp(p->type, "multipart/", 10) == 0 ||
	    forum_embedded(p))
		return 0;
	if (m->text == NULL)
		return 1;
	for (a = p->parent; a != NULL; a = a->parent) {
		if (strcmp(a->type, "multipart/alternative") != 0)
			continue;
		for (t = m->text->parent; t != NULL; t = t->parent) {
			if (t == a)
				return 0;
		}
	}
	return 1;
}

/* Parse raw and find its parts and its text: 0, or -1 and why. */
static int
forum_message_open(const char *raw, size_t len, struct forum_message *m,
    const char **err_r)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	if (mime_parse(raw, len, &m->root, err_r) == -1)
		return -1;
	mime_walk(m->root, forum_collect, m);
	for (i = 0; i < m->nparts && m->text == NULL; i++) {
		if (forum_is_text(m->parts[i], "text/plain"))
			m->text = m->parts[i];
	}
	for (i = 0; i < m->nparts && m->text == NULL; i++) {
		if (forum_is_text(m->parts[i], "text/html"))
			m->text = m->parts[i];
	}
	return 0;
}

/* Free what forum_message_open made. */
static void
forum_message_close(struct forum_message *m)
{
	mime_free(&m->root);
	free(m->parts);
	memset(m, 0, sizeof(*m));
}

/*
 * Text as it may be shown: CRLF and lone CR become LF, and NUL (which
 * would end the string early) becomes U+FFFD.  Consumes s.
 */
static char *
forum_lines(char *s, size_t len, size_t *len_r)
{
	struct forum_buf b = { NULL, 0, 0 };
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (s[i] != '\r' && s[i] != '\0')
			continue;
		forum_buf_add(&b, s + start, i - start);
		if (s[i] == '\0')
			forum_buf_puts(&b, "\xef\xbf\xbd");
		else if (i + 1 == len || s[i + 1] != '\n')
			forum_buf_puts(&b, "\n");
		start = i + 1;
	}
	forum_buf_add(&b, s + start, len - start);
	free(s);
	return forum_buf_take(&b, len_r);
}

/*
 * A text part's body as UTF-8 in its charset (US-ASCII when it names
 * none, RFC 2045 section 5.2); a charset we do not convert is read as
 * UTF-8 if it is, else windows-1252, so the result is always UTF-8.
 */
static char *
forum_part_text(const struct mime_part *p, const char *raw, size_t *len_r)
{
	char *d, *u;
	size_t n, ulen;

	d = mime_decode(p, raw, &n);
	u = charset_to_utf8(p->charset != NULL ? p->charset : "us-ascii", d,
	    n, &ulen);
	if (u == NULL)
		u = charset_to_utf8("us-ascii", d, n, &ulen);
	free(d);
	return forum_lines(u, ulen, len_r);
}

/*
 * An attachment's file name: the last path component of what MIME named
 * it (already RFC 2231 and 2047 decoded by mime.c), control characters
 * made '_', or "part-N" when it has none.
 */
static char *
forum_filename(const struct mime_part *p, int part)
{
	const char *s, *base;
	char *t, *c;

	if (p->filename != NULL) {
		base = p->filename;
		for (s = p->filename; *s != '\0'; s++) {
			if (*s == '/' || *s == '\\')
				base = s + 1;
		}
		if (*base != '\0' && strcmp(base, ".") != 0 &&
		    strcmp(base, "..") != 0) {
			t = xstrdup(base);
			for (c = t; *c != '\0'; c++) {
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '_';
			}
			return t;
		}
	}
	return xasprintf("part-%d", part);
}

int
forum_text_extract(const char *raw, size_t len, struct forum_text *t,
    const char **err_r)
{
	struct forum_message m;
	struct forum_attachment *a;
	struct mime_part *p;
	size_t i, n;
	char *s;

	memset(t, 0, sizeof(*t));
	if (forum_message_open(raw, len, &m, err_r) == -1)
		return -1;
	if (m.text == NULL)
		t->text = xstrdup("");
	else if (strcmp(m.text->type, "text/html") == 0) {
		s = forum_part_text(m.text, raw, &n);
		t->text = forum_html_to_text(s, n, &t->len);
		t->from_html = 1;
		free(s);
	} else
		t->text = forum_part_text(m.text, raw, &t->len);
	for (i = 0; i < m.nparts; i++) {
		p = m.parts[i];
		if (!forum_is_attachment(&m, p))
			continue;
		t->attachments = xreallocarray(t->attachments,
		    t->nattachments + 1, sizeof(*t->attachments));
		a = &t->attachments[t->nattachments++];
		a->part = (int)i;
		a->type = xstrdup(p->type);
		a->filename = forum_filename(p, a->part);
		free(mime_decode(p, raw, &a->size));
	}
	forum_message_close(&m);
	return 0;
}

void
forum_text_clear(struct forum_text *t)
{
	size_t i;

	free(t->text);
	for (i = 0; i < t->nattachments; i++) {
		free(t->attachments[i].filename);
		free(t->attachments[i].type);
	}
	free(t->attachments);
	memset(t, 0, sizeof(*t));
}

int
forum_attachment_get(const char *raw, size_t len, int part, char **data_r,
    size_t *len_r, char **type_r, char **filename_r)
{
	struct forum_message m;
	struct mime_part *p;
	const char *err;

	*data_r = *type_r = *filename_r = NULL;
	*len_r = 0;
	if (part < 0 || forum_message_open(raw, len, &m, &err) == -1)
		return -1;
	if ((size_t)part >= m.nparts ||
	    !forum_is_attachment(&m, m.parts[part])) {
		forum_message_close(&m);
		return -1;
	}
	p = m.parts[part];
	*data_r = mime_decode(p, raw, len_r);
	*type_r = xstrdup(p->type);
	*filename_r = forum_filename(p, part);
	forum_message_close(&m);
	return 0;
}

void
forum_escape(struct evbuffer *b, const char *s, size_t len)
{
	/* The five characters HTML needs escaped, by byte. */
	static const char *const refs[256] = {
		['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;",
		['"'] = "&quot;", ['\''] = "&#39;",
	};
	const char *e;
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if ((e = refs[(unsigned char)s[i]]) == NULL)
			continue;
		evbuffer_add(b, s + start, i - start);
		evbuffer_add(b, e, strlen(e));
		start = i + 1;
	}
	evbuffer_add(b, s + start, len - start);
}

/* Append fixed markup (never text from a message). */
static void
forum_markup(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, s, strlen(s));
}

/* The schemes forum_render_text makes links of. */
static const char *forum_schemes[] = {
	"http://", "https://", "ftp://", "news:", "mailto:"
};

/*
 * The length of an address starting at s[i], or 0: one of our schemes
 * at the start of a word, then anything up to white space, a control
 * character, '<', '>', '"' or '`', less punctuation at the end that
 * belongs to the sentence (a ')' stays when it closes a '(' of the
 * address, as in Wikipedia's).
 */
static size_t
forum_url(const char *s, size_t len, size_t i)
{
	size_t j, k, slen = 0, open = 0, close = 0;
	unsigned char c;

	if (i > 0 && forum_alnum(s[i - 1]))
		return 0;
	for (k = 0; k < sizeof(forum_schemes) / sizeof(*forum_schemes); k++) {
		slen = strlen(forum_schemes[k]);
		if (len - i > slen &&
		    strncasecmp(s + i, forum_schemes[k], slen) == 0)
			break;
	}
	if (k == sizeof(forum_schemes) / sizeof(*forum_schemes))
		return 0;
	for (j = i + slen; j < len; j++) {
		c = s[j];
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' ||
		    c == '"' || c == '`')
			break;
		if (c == '(')
			open++;
		else if (c == ')')
			close++;
	}
	while (j > i + slen) {
		c = s[j - 1];
		if (c == ')' && close > open)
			close--;
		else if (c != '.' && c != ',' && c != ';' && c != ':' &&
		    c != '!' && c != '?' && c != '\'' && c != '*')
			break;
		j--;
	}
	return j - i - slen > 0 ? j - i : 0;
}

/*
 * Append text escaped, its addresses made links.  Every scheme ends in
 * ':', so only the colons are looked at, and each scheme's name is
 * looked for just before one.
 */
static void
forum_linkify(struct evbuffer *b, const char *s, size_t len)
{
	const char *colon;
	size_t c, i, k, n, start = 0, name;

	for (c = 0; c < len && (colon = memchr(s + c, ':', len - c)) != NULL;
	    c++) {
		c = (size_t)(colon - s);
		for (k = 0, n = 0; k < sizeof(forum_schemes) /
		    sizeof(*forum_schemes) && n == 0; k++) {
			name = strcspn(forum_schemes[k], ":");
			if (c < start + name)
				continue;
			i = c - name;
			n = forum_url(s, len, i);
		}
		if (n == 0)
			continue;
		forum_escape(b, s + start, i - start);
		forum_markup(b, "<a href=\"");
		forum_escape(b, s + i, n);
		forum_markup(b, "\" rel=\"nofollow noopener\">");
		forum_escape(b, s + i, n);
		forum_markup(b, "</a>");
		c = i + n - 1;
		start = i + n;
	}
	forum_escape(b, s + start, len - start);
}

void
forum_render_text(struct evbuffer *b, const char *text, size_t len)
{
	size_t i = 0, j, n, sig;

	sig = forum_sig_start(text, len);
	forum_markup(b, "<div class=\"text\">");
	while (i < sig) {
		if (text[i] != '>') {
			for (j = i; j < sig && text[j] != '>';)
				j = forum_next_line(text, j, sig);
			forum_linkify(b, text + i, j - i);
			i = j;
			continue;
		}
		/* A run of quoted lines, folded. */
		for (j = i, n = 0; j < sig && text[j] == '>'; n++)
			j = forum_next_line(text, j, sig);
		evbuffer_add_printf(b, "<details class=\"quote\"><summary>%zu "
		    "quoted line%s</summary>", n, n == 1 ? "" : "s");
		forum_linkify(b, text + i, j - i);
		forum_markup(b, "</details>");
		i = j;
	}
	if (sig < len) {
		forum_markup(b, "<div class=\"sig\">");
		forum_linkify(b, text + sig, len - sig);
		forum_markup(b, "</div>");
	}
	forum_markup(b, "</div>");
}

/* The named character references we decode: the common ones. */
static const struct {
	const char	*name;
	const char	*utf8;
} forum_entities[] = {
	{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" },
	{ "apos", "'" }, { "nbsp", "\xc2\xa0" }, { "shy", "" },
	{ "copy", "\xc2\xa9" }, { "reg", "\xc2\xae" },
	{ "laquo", "\xc2\xab" }, { "raquo", "\xc2\xbb" },
	{ "auml", "\xc3\xa4" }, { "ouml", "\xc3\xb6" }, { "uuml", "\xc3\xbc" },
	{ "Auml", "\xc3\x84" }, { "Ouml", "\xc3\x96" }, { "Uuml", "\xc3\x9c" },
	{ "szlig", "\xc3\x9f" }, { "eacute", "\xc3\xa9" },
	{ "ndash", "\xe2\x80\x93" }, { "mdash", "\xe2\x80\x94" },
	{ "lsquo", "\xe2\x80\x98" }, { "rsquo", "\xe2\x80\x99" },
	{ "ldquo", "\xe2\x80\x9c" }, { "rdquo", "\xe2\x80\x9d" },
	{ "bdquo", "\xe2\x80\x9e" }, { "hellip", "\xe2\x80\xa6" },
	{ "euro", "\xe2\x82\xac" }, { "trade", "\xe2\x84\xa2" }
};

/* Code point cp as UTF-8 in buf (at least 4 octets): its length. */
static size_t
forum_utf8(unsigned long cp, char *buf)
{
	char *t;
	size_t n;

	if (cp >= 0x80 && cp <= 0x9f) {
		/* HTML reads these as windows-1252, as senders meant. */
		buf[0] = (char)cp;
		t = charset_to_utf8("windows-1252", buf, 1, &n);
		memcpy(buf, t, n);
		free(t);
		return n;
	}
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	/* "&#13;" and the like: the text has LF line ends and no others. */
	if (cp < 0x20 && cp != '\n' && cp != '\t')
		cp = ' ';
	if (cp < 0x80) {
		buf[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = 0xc0 | (cp >> 6);
		buf[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = 0xe0 | (cp >> 12);
		buf[1] = 0x80 | ((cp >> 6) & 0x3f);
		buf[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	buf[0] = 0xf0 | (cp >> 18);
	buf[1] = 0x80 | ((cp >> 12) & 0x3f);
	buf[2] = 0x80 | ((cp >> 6) & 0x3f);
	buf[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/*
 * The character reference at s (s[0] is '&'), with its ';': its UTF-8
 * in buf (at least 8 octets) and its length in s in *n_r; -1 when s
 * starts none we know, which then stays as it is.
 */
static int
forum_entity(const char *s, size_t len, char *buf, size_t *blen_r,
    size_t *n_r)
{
	unsigned long cp = 0;
	size_t i = 1, k, start;
	int hex = 0, d;

	if (i < len && s[i] == '#') {
		if (++i < len && (s[i] == 'x' || s[i] == 'X')) {
			hex = 1;
			i++;
		}
		for (start = i; i < len; i++) {
			if (s[i] >= '0' && s[i] <= '9')
				d = s[i] - '0';
			else if (hex && s[i] >= 'a' && s[i] <= 'f')
				d = s[i] - 'a' + 10;
			else if (hex && s[i] >= 'A' && s[i] <= 'F')
				d = s[i] - 'A' + 10;
			else
				break;
			if (cp <= 0x10ffff)
				cp = cp * (hex ? 16 : 10) + d;
		}
		if (i == start || i >= len || s[i] != ';')
			return -1;
		*blen_r = forum_utf8(cp, buf);
		*n_r = i + 1;
		return 0;
	}
	for (start = i; i < len && i < 12 && forum_alnum(s[i]); i++)
		;
	if (i == start || i >= len || s[i] != ';')
		return -1;
	for (k = 0; k < sizeof(forum_entities) / sizeof(*forum_entities);
	    k++) {
		if (strlen(forum_entities[k].name) == i - start &&
		    memcmp(forum_entities[k].name, s + start, i - start) == 0) {
			*blen_r = strlen(forum_entities[k].utf8);
			memcpy(buf, forum_entities[k].utf8, *blen_r);
			*n_r = i + 1;
			return 0;
		}
	}
	return -1;
}

/* Whether c is HTML white space. */
static int
forum_html_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Append n octets of text, after the white space pending (if any). */
static void
forum_h2t_add(struct forum_h2t *h, const char *s, size_t n)
{
	struct forum_buf *o = &h->out;

	if (h->space && o->len > 0 && o->p[o->len - 1] != '\n' &&
	    o->p[o->len - 1] != ' ')
		forum_buf_puts(o, " ");
	h->space = 0;
	forum_buf_add(o, s, n);
}

/* Append text from an HTML document: references decoded, spaces folded. */
static void
forum_h2t_text(struct forum_h2t *h, const char *s, size_t len)
{
	char buf[8];
	size_t i, n, blen;

	for (i = 0; i < len; i++) {
		if (s[i] == '\0')
			continue;
		if (forum_html_space(s[i])) {
			if (!h->pre)
				h->space = 1;
			else if (s[i] != '\r')
				forum_h2t_add(h, s + i, 1);
			else if (i + 1 == len || s[i + 1] != '\n')
				forum_h2t_add(h, "\n", 1);
			continue;
		}
		if (s[i] != '&' || forum_entity(s + i, len - i, buf, &blen,
		    &n) == -1) {
			forum_h2t_add(h, s + i, 1);
			continue;
		}
		/* A no-break space is a space that is not folded. */
		if (blen == 2 && memcmp(buf, "\xc2\xa0", 2) == 0)
			forum_h2t_add(h, " ", 1);
		else
			forum_h2t_add(h, buf, blen);
		i += n - 1;
	}
}

/* End the line, unless at the start of one; blank makes it a paragraph. */
static void
forum_h2t_line(struct forum_h2t *h, int blank)
{
	struct forum_buf *o = &h->out;

	h->space = 0;
	if (o->len == 0)
		return;
	if (o->p[o->len - 1] != '\n')
		forum_buf_puts(o, "\n");
	if (blank && (o->len < 2 || o->p[o->len - 2] != '\n'))
		forum_buf_puts(o, "\n");
}

/* Whether a link goes somewhere we may show: http, https or mailto. */
static int
forum_href_ok(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0 ||
	    strncasecmp(s, "mailto:", 7) == 0;
}

/* Whether link text says what its address is (then it is not repeated). */
static int
forum_href_same(const char *text, size_t len, const char *href)
{
	size_t hlen = strlen(href);

	while (len > 0 && forum_html_space(text[len - 1]))
		len--;
	while (len > 0 && forum_html_space(*text)) {
		text++;
		len--;
	}
	if (strncasecmp(href, "mailto:", 7) == 0 && len == hlen - 7 &&
	    memcmp(text, href + 7, len) == 0)
		return 1;
	if (hlen > 0 && href[hlen - 1] == '/' &&
	    (len == 0 || text[len - 1] != '/'))
		hlen--;
	return len == hlen && memcmp(text, href, len) == 0;
}

/* An <a>'s end: its address after its text, unless the text is it. */
static void
forum_h2t_link_end(struct forum_h2t *h)
{
	struct forum_buf *o = &h->out;

	if (h->href == NULL)
		return;
	if (!forum_href_same(o->p != NULL ? o->p + h->a_start : "",
	    o->len - h->a_start, h->href)) {
		h->space = 1;
		forum_h2t_add(h, "<", 1);
		forum_buf_puts(o, h->href);
		forum_buf_puts(o, ">");
	}
	free(h->href);
	h->href = NULL;
}

/* An attribute's value, references decoded, white space and controls cut. */
static char *
forum_h2t_attr(const char *s, size_t len)
{
	struct forum_h2t v;
	struct forum_buf out = { NULL, 0, 0 };
	size_t i;

	memset(&v, 0, sizeof(v));
	v.pre = 1;
	forum_h2t_text(&v, s, len);
	for (i = 0; i < v.out.len; i++) {
		if ((unsigned char)v.out.p[i] > ' ' && v.out.p[i] != 0x7f)
			forum_buf_add(&out, v.out.p + i, 1);
	}
	free(v.out.p);
	return forum_buf_take(&out, NULL);
}

/*
 * Skip the contents of a raw text element (script, style) or one whose
 * text nobody reads (head, title) from s[i]: past its end tag, or to the
 * end when it has none.
 */
static size_t
forum_h2t_skip(const char *s, size_t len, size_t i, const char *name)
{
	size_t n = strlen(name);
	const char *lt, *gt;

	while ((lt = memchr(s + i, '<', len - i)) != NULL) {
		i = lt - s + 1;
		if (len - i > n + 1 && s[i] == '/' &&
		    strncasecmp(s + i + 1, name, n) == 0 &&
		    !forum_alnum(s[i + 1 + n])) {
			if ((gt = memchr(s + i, '>', len - i)) == NULL)
				return len;
			return gt - s + 1;
		}
	}
	return len;
}

/* Elements that start and end lines of their own. */
static const char *forum_blocks[] = {
	"address", "article", "blockquote", "caption", "center", "dd", "div",
	"dl", "dt", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
	"header", "hr", "li", "ol", "pre", "section", "table", "tr", "ul"
};

/* Elements whose contents are not text anyone reads. */
static const char *forum_dropped[] = { "head", "script", "style", "title" };

/* Whether name is one of the n in list. */
static int
forum_in(const char *name, const char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(name, list[i]) == 0)
			return 1;
	}
	return 0;
}

/* What a start or end tag does to the text; href is the <a>'s (taken). */
static void
forum_h2t_element(struct forum_h2t *h, const char *name, int end,
    char *href)
{
	if (strcmp(name, "br") == 0) {
		h->space = 0;
		forum_buf_puts(&h->out, "\n");
	} else if (strcmp(name, "p") == 0)
		forum_h2t_line(h, 1);
	else if (forum_in(name, forum_blocks, sizeof(forum_blocks) /
	    sizeof(*forum_blocks))) {
		forum_h2t_line(h, 0);
		if (strcmp(name, "li") == 0 && !end)
			forum_h2t_add(h, "- ", 2);
		else if (strcmp(name, "pre") == 0 && !end)
			h->pre++;
		else if (strcmp(name, "pre") == 0 && h->pre > 0)
			h->pre--;
	} else if (strcmp(name, "a") == 0) {
		forum_h2t_link_end(h);
		if (!end && href != NULL && forum_href_ok(href)) {
			h->href = href;
			h->a_start = h->out.len;
			href = NULL;
		}
	}
	free(href);
}

/*
 * The markup at s[i] ('<'): a tag, a comment or a declaration, which
 * goes; returns where it ends.  A '<' that starts none of them is text.
 */
static size_t
forum_h2t_tag(struct forum_h2t *h, const char *s, size_t len, size_t i)
{
	char name[16], *href = NULL;
	size_t lt = i, n = 0, as, vs, ve;
	const char *e;
	int end = 0, self = 0;

	if (i + 1 < len && (s[i + 1] == '!' || s[i + 1] == '?')) {
		if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
			e = memmem(s + i + 4, len - i - 4, "-->", 3);
			return e == NULL ? len : (size_t)(e - s) + 3;
		}
		e = memchr(s + i, '>', len - i);
		return e == NULL ? len : (size_t)(e - s) + 1;
	}
	if (++i < len && s[i] == '/') {
		end = 1;
		i++;
	}
	if (i >= len || !((s[i] >= 'a' && s[i] <= 'z') ||
	    (s[i] >= 'A' && s[i] <= 'Z'))) {
		forum_h2t_add(h, "<", 1);
		return lt + 1;
	}
	for (; i < len && forum_alnum(s[i]); i++) {
		if (n < sizeof(name) - 1)
			name[n++] = s[i] | 0x20;
	}
	name[n] = '\0';
	/* Attributes: only an <a>'s href is kept. */
	while (i < len && s[i] != '>') {
		if (forum_html_space(s[i]) || s[i] == '/') {
			self = s[i++] == '/';
			continue;
		}
		self = 0;
		for (as = i; i < len && !forum_html_space(s[i]) &&
		    s[i] != '=' && s[i] != '>' && s[i] != '/'; i++)
			;
		if (i == as)
			i++;
		n = i - as;
		while (i < len && forum_html_space(s[i]))
			i++;
		if (i >= len || s[i] != '=')
			continue;
		for (i++; i < len && forum_html_space(s[i]); i++)
			;
		if (i < len && (s[i] == '"' || s[i] == '\'')) {
			vs = i + 1;
			e = memchr(s + vs, s[i], len - vs);
			ve = e == NULL ? len : (size_t)(e - s);
			i = e == NULL ? len : ve + 1;
		} else {
			for (vs = i; i < len && !forum_html_space(s[i]) &&
			    s[i] != '>'; i++)
				;
			ve = i;
		}
		if (href == NULL && n == 4 &&
		    strncasecmp(s + as, "href", 4) == 0)
			href = forum_h2t_attr(s + vs, ve - vs);
	}
	if (i < len)
		i++;
	if (!end && !self && forum_in(name, forum_dropped,
	    sizeof(forum_dropped) / sizeof(*forum_dropped))) {
		free(href);
		return forum_h2t_skip(s, len, i, name);
	}
	forum_h2t_element(h, name, end, href);
	return i;
}

/*
 * The text with white space cut from the end of every line and blank
 * lines at the start and the end dropped, runs of them made one; it
 * ends in LF unless it is empty.  Consumes in.
 */
static char *
forum_h2t_finish(struct forum_buf *in, size_t *len_r)
{
	struct forum_buf b = { NULL, 0, 0 };
	size_t i = 0, next, n;
	int blank = 0;

	while (i < in->len) {
		next = forum_next_line(in->p, i, in->len);
		for (n = next - i; n > 0 && forum_html_space(in->p[i + n - 1]);
		    n--)
			;
		if (n == 0)
			blank = 1;
		else {
			if (blank && b.len > 0)
				forum_buf_puts(&b, "\n");
			blank = 0;
			forum_buf_add(&b, in->p + i, n);
			forum_buf_puts(&b, "\n");
		}
		i = next;
	}
	free(in->p);
	return forum_buf_take(&b, len_r);
}

char *
forum_html_to_text(const char *html, size_t len, size_t *len_r)
{
	struct forum_h2t h;
	const char *lt;
	char *fixed = NULL;
	size_t i = 0;

	if (!utf8_valid(html, len)) {
		fixed = charset_to_utf8("utf-8", html, len, &len);
		html = fixed;
	}
	memset(&h, 0, sizeof(h));
	while (i < len) {
		if ((lt = memchr(html + i, '<', len - i)) == NULL) {
			forum_h2t_text(&h, html + i, len - i);
			break;
		}
		forum_h2t_text(&h, html + i, lt - (html + i));
		i = forum_h2t_tag(&h, html, len, lt - html);
	}
	forum_h2t_link_end(&h);
	free(fixed);
	return forum_h2t_finish(&h.out, len_r);
}

char *
forum_quote(const char *name, const char *text, size_t len)
{
	struct forum_buf b = { NULL, 0, 0 };
	size_t i, k, n, next, end = 0, sig;
	const char *c;

	for (c = name; *c != '\0'; c++)
		forum_buf_add(&b, (unsigned char)*c < ' ' || *c == 0x7f ?
		    " " : c, 1);
	forum_buf_puts(&b, " wrote:\n");
	/* Up to the signature, less the blank lines before it. */
	sig = forum_sig_start(text, len);
	for (i = 0; i < sig; i = next) {
		next = forum_next_line(text, i, sig);
		for (k = i; k < next && forum_html_space(text[k]); k++)
			;
		if (k < next)
			end = next;
	}
	for (i = 0; i < end; i = next) {
		next = forum_next_line(text, i, end);
		n = next - i;
		if (n > 0 && text[i + n - 1] == '\n')
			n--;
		if (n > 0 && text[i + n - 1] == '\r')
			n--;
		/*
		 * No space after an empty line's '>': format=flowed would
		 * read a trailing space as a soft line break.
		 */
		if (n == 0)
			forum_buf_puts(&b, ">");
		else {
			forum_buf_puts(&b, text[i] == '>' ? ">" : "> ");
			forum_buf_add(&b, text + i, n);
		}
		forum_buf_puts(&b, "\n");
	}
	return forum_buf_take(&b, NULL);
}
