/*
 * footer.c: list footers out of message bodies.
 *
 * Mailman appends its footer after a line of underscores, either to the
 * last text part or, when it cannot (a multipart, a base64 part in
 * another charset), as a text part of its own.  We cut a footer only
 * from the end of an inline text/plain part, only after such a line,
 * and only when what follows is short and reads like a list footer.  A
 * part that is nothing but a footer goes; attachments, forwarded
 * messages and everything inside a signed or encrypted part stay as they
 * are, so a signature stays valid.  A part's transfer encoding is undone
 * for the search and done again afterwards.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "smtp.h"

/* The separator: at least this many underscores alone on a line. */
#define FOOTER_RULE_MIN		10
/* A footer has at most this many lines after the separator. */
#define FOOTER_LINES_MAX	15

/* Preamble notes that mail programs write for readers without MIME. */
static const char *const footer_notes[] = {
	"This is a cryptographically signed message in MIME format.",
	"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)",
	"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)",
	"This is a multi-part message in MIME format.",
	"This is a multipart message in MIME format.",
};

/* What tells a footer from text a person wrote (compared ignoring case). */
static const char *const footer_signals[] = {
	"mailing list", "mailingliste", "listinfo", "-leave@", "-request@",
	"unsubscribe", "abbestellen", "abmelden", "mailman",
};

struct footer_edit {
	size_t		 off, len;	/* what goes, in raw */
	char		*data;		/* what comes instead */
	size_t		 dlen;
};

struct footer_state {
	const char	*raw;
	const struct footer_conf *fc;
	struct footer_edit *edits;
	size_t		 nedits;
	unsigned int	 done;
};

/* needle in s[0..n) ignoring ASCII case. */
static int
footer_has(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	if (k == 0 || k > n)
		return 0;
	for (i = 0; i + k <= n; i++)
		if (strncasecmp(s + i, needle, k) == 0)
			return 1;
	return 0;
}

static int
footer_is_rule(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && l[i] == '_')
		i++;
	if (i < FOOTER_RULE_MIN)
		return 0;
	while (i < n && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'))
		i++;
	return i == n;
}

static int
footer_is_blank(const char *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (l[i] != ' ' && l[i] != '\t' && l[i] != '\r')
			return 0;
	return 1;
}

/* Whether the text after a separator reads like this list's footer. */
static int
footer_reads_as_footer(const char *s, size_t n, const struct footer_conf *fc)
{
	size_t i;

	for (i = 0; i < fc->nnames; i++)
		if (footer_has(s, n, fc->names[i]))
			return 1;
	if (fc->mode != REACTOR_FOOTER_ANY)
		return 0;
	for (i = 0; i < sizeof(footer_signals) / sizeof(footer_signals[0]);
	    i++)
		if (footer_has(s, n, footer_signals[i]))
			return 1;
	return 0;
}

/* The start of the line before the one starting at pos (pos > 0). */
static size_t
footer_prev_line(const char *text, size_t pos)
{
	size_t i = pos - 1;	/* the '\n' that ends the previous line */

	while (i > 0 && text[i - 1] != '\n')
		i--;
	return i;
}

/* The start of the one footer at the end of text, or -1. */
static long
footer_find_one(const char *text, size_t len, const struct footer_conf *fc)
{
	size_t end = len, start, le, lines = 0;

	if (fc->mode == REACTOR_FOOTER_KEEP || len == 0)
		return -1;
	/* Lines are [start, le); the last may lack its line end. */
	start = len;
	if (text[len - 1] != '\n')
		while (start > 0 && text[start - 1] != '\n')
			start--;
	else
		start = footer_prev_line(text, len);
	for (;;) {
		le = start;
		while (le < len && text[le] != '\n')
			le++;
		if (footer_is_blank(text + start, le - start)) {
			if (lines == 0)
				end = start;
		} else if (footer_is_rule(text + start, le - start)) {
			if (lines > 0 && footer_reads_as_footer(text + le,
			    end - le, fc))
				break;
			lines++;
		} else if (++lines > FOOTER_LINES_MAX)
			return -1;
		if (start == 0)
			return -1;
		start = footer_prev_line(text, start);
	}
	/* The blank lines before the separator go with it. */
	while (start > 0) {
		size_t prev = footer_prev_line(text, start);

		if (!footer_is_blank(text + prev, start - prev - 1))
			break;
		start = prev;
	}
	return start;
}

/* Footers may stack (a list's own above the site's): all of them go. */
long
footer_find(const char *text, size_t len, const struct footer_conf *fc)
{
	long start = -1, prev;

	while ((prev = footer_find_one(text, len, fc)) != -1) {
		start = prev;
		len = prev;
	}
	return start;
}

static void
footer_edit(struct footer_state *st, size_t off, size_t len, char *data,
    size_t dlen)
{
	st->edits = xreallocarray(st->edits, st->nedits + 1,
	    sizeof(*st->edits));
	st->edits[st->nedits].off = off;
	st->edits[st->nedits].len = len;
	st->edits[st->nedits].data = data;
	st->edits[st->nedits].dlen = dlen;
	st->nedits++;
}

static int
footer_type_is(const struct mime_part *p, const char *prefix)
{
	return p->type != NULL && strncmp(p->type, prefix, strlen(prefix)) ==
	    0;
}

/* Parts whose bytes we must not change: signed or encrypted content. */
static int
footer_sealed(const struct mime_part *p)
{
	return footer_type_is(p, "multipart/signed") ||
	    footer_type_is(p, "multipart/encrypted") ||
	    footer_type_is(p, "application/pkcs7-mime") ||
	    footer_type_is(p, "application/x-pkcs7-mime");
}

/* The multipart p's preamble as [*off_r, *off_r + *len_r) of raw. */
static int
footer_preamble(const struct footer_state *st, const struct mime_part *p,
    size_t *off_r, size_t *len_r)
{
	size_t first, delim;

	if (p->nchildren == 0)
		return -1;
	first = p->children[0]->header_off;
	if (first < p->body_off + 2)
		return -1;
	/* The delimiter line "--boundary" ends right before the header. */
	delim = footer_prev_line(st->raw, first);
	if (delim < p->body_off)
		return -1;
	*off_r = p->body_off;
	*len_r = delim - p->body_off;
	return 0;
}

static void
footer_strip_notes(struct footer_state *st, const struct mime_part *p)
{
	size_t off, len, i, b, e;

	if (footer_preamble(st, p, &off, &len) == -1)
		return;
	for (b = off, e = off + len; b < e && isspace((unsigned char)
	    st->raw[b]); b++)
		;
	while (e > b && isspace((unsigned char)st->raw[e - 1]))
		e--;
	for (i = 0; i < sizeof(footer_notes) / sizeof(footer_notes[0]); i++)
		if (e - b == strlen(footer_notes[i]) &&
		    memcmp(st->raw + b, footer_notes[i], e - b) == 0) {
			footer_edit(st, off, len, NULL, 0);
			st->done |= REACTOR_DID_NOTES;
			return;
		}
}

/* An inline text/plain part, where Mailman puts its footer. */
static int
footer_candidate(const struct mime_part *p)
{
	return p->type != NULL && strcmp(p->type, "text/plain") == 0 &&
	    p->filename == NULL && (p->disposition == NULL ||
	    strcmp(p->disposition, "attachment") != 0);
}

/*
 * Cut the footer from the text part p: 1 when p is nothing but a footer
 * (the caller removes it), else 0.
 */
static int
footer_text(struct footer_state *st, const struct mime_part *p)
{
	char *text, *enc;
	size_t n, en;
	long cut;

	text = mime_decode(p, st->raw, &n);
	cut = footer_find(text, n, st->fc);
	if (cut == -1) {
		free(text);
		return 0;
	}
	if (cut == 0) {
		free(text);
		return 1;
	}
	n = cut;
	/* Keep the line end of the last line that stays. */
	if (text[n - 1] != '\n') {
		text = xreallocarray(text, n + 3, 1);
		memcpy(text + n, "\r\n", 2);
		n += 2;
	}
	enc = mime_encode(p->encoding, text, n, &en);
	free(text);
	/* In a multipart, the CRLF before the delimiter is the delimiter's. */
	if (p->parent != NULL && en >= 2 && enc[en - 2] == '\r' &&
	    enc[en - 1] == '\n')
		en -= 2;
	footer_edit(st, p->body_off, p->body_len, enc, en);
	st->done |= REACTOR_DID_FOOTER;
	return 0;
}

static void
footer_part(struct footer_state *st, const struct mime_part *p)
{
	const struct mime_part *c, *prev;
	size_t i;

	if (st->fc->strip_notes && footer_type_is(p, "multipart/"))
		footer_strip_notes(st, p);
	if (footer_sealed(p) || footer_type_is(p, "message/"))
		return;
	if (footer_type_is(p, "multipart/")) {
		for (i = 0; i < p->nchildren; i++) {
			c = p->children[i];
			if (!footer_candidate(c)) {
				footer_part(st, c);
				continue;
			}
			if (footer_text(st, c) == 0)
				continue;
			/*
			 * A footer part of its own goes with the delimiter
			 * before it; the first part of a multipart only
			 * loses its text (a multipart needs a part).
			 */
			if (i == 0)
				footer_edit(st, c->body_off, c->body_len, NULL,
				    0);
			else {
				prev = p->children[i - 1];
				footer_edit(st, prev->body_off +
				    prev->body_len, c->body_off + c->body_len -
				    (prev->body_off + prev->body_len), NULL, 0);
			}
			st->done |= REACTOR_DID_FOOTER_PART;
		}
		return;
	}
	/* A single-part message that is nothing but a footer. */
	if (footer_candidate(p) && footer_text(st, p) == 1) {
		footer_edit(st, p->body_off, p->body_len, NULL, 0);
		st->done |= REACTOR_DID_FOOTER;
	}
}

static int
footer_edit_cmp(const void *a, const void *b)
{
	const struct footer_edit *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

int
footer_strip(const char *raw, size_t len, const struct footer_conf *fc,
    char **body_r, size_t *body_len_r, unsigned int *done_r)
{
	struct footer_state st;
	struct mime_part *root;
	const char *err;
	char *out;
	size_t i, pos, n;

	*done_r = 0;
	if (mime_parse(raw, len, &root, &err) == -1)
		return 0;
	memset(&st, 0, sizeof(st));
	st.raw = raw;
	st.fc = fc;
	footer_part(&st, root);
	if (st.nedits == 0) {
		mime_free(&root);
		return 0;
	}
	qsort(st.edits, st.nedits, sizeof(*st.edits), footer_edit_cmp);
	out = xmalloc(len + 1);
	pos = root->body_off;
	n = 0;
	for (i = 0; i < st.nedits; i++) {
		/* Edits are of disjoint parts; guard the invariant anyway. */
		if (st.edits[i].off < pos)
			fatalx("footer_strip: overlapping edits");
		memcpy(out + n, raw + pos, st.edits[i].off - pos);
		n += st.edits[i].off - pos;
		out = xreallocarray(out, n + st.edits[i].dlen + (len - pos) +
		    1, 1);
		if (st.edits[i].dlen > 0)
			memcpy(out + n, st.edits[i].data, st.edits[i].dlen);
		n += st.edits[i].dlen;
		pos = st.edits[i].off + st.edits[i].len;
		free(st.edits[i].data);
	}
	memcpy(out + n, raw + pos, len - pos);
	n += len - pos;
	out[n] = '\0';
	free(st.edits);
	mime_free(&root);
	*body_r = out;
	*body_len_r = n;
	*done_r = st.done;
	return 1;
}
