/*
 * mime.c: the MIME structure of a message (RFC 2045, RFC 2046), parsed
 * with libetpan's mailmime_parse, and the transfer encodings undone.
 *
 * The forum calls mime_parse to show a post's text and list its
 * attachments; the mail side walks the tree to find list footers.  The
 * tree (struct mime_part) belongs to the caller, who frees it with
 * mime_free; it holds offsets into the raw message, not pointers, and
 * libetpan's own tree, which does point into raw, is freed before
 * mime_parse returns.
 *
 * libetpan 1.9.4 must not see every message.  mailmime_parse recurses
 * once per nested part and per message/rfc822 with no limit (50000
 * nested messages overflow the stack), its time grows with depth times
 * size (10000 nested multiparts: 3.4 s for 560 KiB), its header parsers
 * recurse once per nested comment (200000 "(" in a From or Content-Type
 * overflow the stack), and a boundary parameter that is a single '"'
 * makes mailmime_extract_boundary copy (size_t)-1 bytes.  So mime_check
 * first walks the structure the way libetpan will, without its
 * recursion: it checks each header's comment depth (msg_comments_ok)
 * before handing the header to libetpan's field parsers, and follows
 * mailmime_parse's rules for finding parts (written out below, quirks
 * and all, so that its count agrees with the tree libetpan builds); it
 * refuses what is too deep, too big or known to crash.  The fuzz target
 * checks that the two always agree.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "common.h"

/* What mailmime_parse makes of a part. */
enum mime_kind {
	MIME_KIND_SINGLE,
	MIME_KIND_MULTIPLE,
	MIME_KIND_MESSAGE
};

/* The state of one mime_check walk. */
struct mime_scan {
	size_t		 visited;	/* parts libetpan will parse */
	const char	*err;
};

/* The first Content-Type in libetpan's MIME fields, or NULL. */
static struct mailmime_content *
mime_fields_type(struct mailmime_fields *fields)
{
	struct mailmime_field *f;
	clistiter *it;

	if (fields == NULL)
		return NULL;
	for (it = clist_begin(fields->fld_list); it != NULL;
	    it = clist_next(it)) {
		f = clist_content(it);
		if (f->fld_type == MAILMIME_FIELD_TYPE)
			return f->fld_data.fld_content;
	}
	return NULL;
}

/*
 * The boundary libetpan will use for a multipart, as
 * mailmime_extract_boundary makes it (a value starting with '"' loses
 * its first and last bytes): 1 and the boundary, 0 if there is none, -1
 * if the value would make libetpan 1.9.4 copy a negative length.
 */
static int
mime_boundary(struct mailmime_content *ct, char **b_r)
{
	char name[] = "boundary", *v;
	size_t len;

	*b_r = NULL;
	if ((v = mailmime_content_param_get(ct, name)) == NULL)
		return 0;
	len = strlen(v);
	if (v[0] == '"') {
		if (len < 2)
			return -1;
		*b_r = xstrndup(v + 1, len - 2);
	} else
		*b_r = xstrdup(v);
	return 1;
}

/* Whether boundary b starts at m[i] with at least one byte after it. */
static int
mime_at_boundary(const char *m, size_t len, size_t i, const char *b,
    size_t blen)
{
	return i + blen < len && memcmp(m + i, b, blen) == 0;
}

/* Skip one CRLF or LF at *i (mailimf_crlf_parse). */
static int
mime_crlf(const char *m, size_t len, size_t *i)
{
	if (*i < len && m[*i] == '\n') {
		*i += 1;
		return 1;
	}
	if (*i + 1 < len && m[*i] == '\r' && m[*i + 1] == '\n') {
		*i += 2;
		return 1;
	}
	return 0;
}

/* Skip spaces and tabs. */
static void
mime_wsp(const char *m, size_t len, size_t *i)
{
	while (*i < len && (m[*i] == ' ' || m[*i] == '\t'))
		(*i)++;
}

/*
 * Find "--" at the start of a line from *i, as libetpan's preamble
 * reader does; *i ends after the dashes.  Its notion of a line start is
 * loose: the start (when bol), after CR or LF, and also one byte after
 * CR or LF.
 */
static int
mime_find_dashes(const char *m, size_t len, size_t *i, int bol)
{
	enum { MID, BOL, BOL_DASH, CR, LF, NL_DASH } st = bol ? BOL : MID;
	size_t k;
	char c;

	for (k = *i; k < len; k++) {
		c = m[k];
		switch (st) {
		case BOL:
			st = c == '-' ? BOL_DASH : c == '\r' ? CR :
			    c == '\n' ? LF : MID;
			break;
		case MID:
			st = c == '\r' ? CR : c == '\n' ? LF : MID;
			break;
		case BOL_DASH:
		case NL_DASH:
			if (c == '-') {
				*i = k + 1;
				return 1;
			}
			st = st == NL_DASH ? MID : c == '\r' ? CR :
			    c == '\n' ? LF : MID;
			break;
		case CR:
		case LF:
			st = c == '-' ? NL_DASH : c == '\r' ? CR :
			    c == '\n' ? LF : BOL;
			break;
		}
	}
	return 0;
}

/*
 * libetpan's search for the next delimiter line ("\n--boundary"): the
 * text from *i to it, without the line end before it, in [*begin_r,
 * *end_r).  *i ends after the boundary, or at len when none is found;
 * then the text stops at the last "\n-" seen, not at len (a libetpan
 * quirk kept here).  0 when the text is empty.
 */
static int
mime_delimiter(const char *m, size_t len, size_t *i, const char *b,
    size_t blen, size_t *begin_r, size_t *end_r)
{
	enum { TEXT, CR, LF, DASH, DASH2 } st = TEXT;
	size_t k = *i, begin = *i, end = len;
	char c;

	while (k < len) {
		c = m[k];
		switch (st) {
		case TEXT:
			st = c == '\r' ? CR : c == '\n' ? LF : TEXT;
			break;
		case CR:
			st = c == '\n' ? LF : TEXT;
			break;
		case LF:
			if (c == '-') {
				end = k;
				st = DASH;
			} else
				st = c == '\r' ? CR : c == '\n' ? LF : TEXT;
			break;
		case DASH:
			st = c == '-' ? DASH2 : c == '\r' ? CR :
			    c == '\n' ? LF : TEXT;
			break;
		case DASH2:
			if (mime_at_boundary(m, len, k, b, blen)) {
				k += blen;
				goto found;
			}
			/* Look at the same byte again as text. */
			st = TEXT;
			continue;
		}
		k++;
	}
found:
	if (end > begin) {
		if (m[end - 1] == '\r')
			end--;
		else if (m[end - 1] == '\n') {
			end--;
			if (end > begin && m[end - 1] == '\r')
				end--;
		}
	}
	if (end == begin)
		return 0;
	*i = k;
	*begin_r = begin;
	*end_r = end;
	return 1;
}

/*
 * The next body part ending at a delimiter line followed by white space
 * and a line end (libetpan's "dash2 transport crlf"); delimiters
 * followed by anything else stay inside the part.
 */
static int
mime_part_open(const char *m, size_t len, size_t *i, const char *b,
    size_t blen, size_t *begin_r, size_t *end_r)
{
	size_t k = *i, db, de;

	for (;;) {
		if (!mime_delimiter(m, len, &k, b, blen, &db, &de))
			return 0;
		mime_wsp(m, len, &k);
		if (mime_crlf(m, len, &k))
			break;
	}
	*begin_r = *i;
	*end_r = de;
	*i = k;
	return 1;
}

/*
 * The last body part: up to a close delimiter ("--" after the boundary)
 * or to the end of the text (libetpan's "dash2 close").
 */
static int
mime_part_close(const char *m, size_t len, size_t *i, const char *b,
    size_t blen, size_t *begin_r, size_t *end_r)
{
	size_t k = *i, db, de;

	for (;;) {
		if (!mime_delimiter(m, len, &k, b, blen, &db, &de))
			return 0;
		if (k >= len)
			break;
		if (k + 1 < len && m[k] == '-' && m[k + 1] == '-')
			break;
	}
	*begin_r = *i;
	*end_r = de;
	*i = k;
	return 1;
}

static int	mime_scan_part(struct mime_scan *, const char *, size_t,
		    size_t, int, struct mailmime_fields *, int, size_t *,
		    int *);

/*
 * The parts of a multipart body from m[i] on, as
 * mailmime_multipart_body_parse finds them.  When it meets a part it
 * cannot end, libetpan drops every part it found: so does this (the
 * parts were still parsed, and count against the limits).
 */
static int
mime_scan_multipart(struct mime_scan *s, const char *m, size_t len, size_t i,
    const char *b, int digest, int level, size_t *nparts_r, int *depth_r)
{
	struct mailimf_fields *f;
	struct mailmime_fields *mf;
	size_t blen = strlen(b), begin, end, part, bp, n, total = 0;
	int found, last = 0, d, deepest = -1;

	/* The preamble: up to the first "--boundary" at a line start. */
	if (mime_find_dashes(m, len, &i, 1)) {
		for (;;) {
			if (mime_at_boundary(m, len, i, b, blen)) {
				i += blen;
				break;
			}
			if (!mime_find_dashes(m, len, &i, 0))
				break;
		}
	}
	/* Transport padding and empty lines after the first delimiter. */
	part = i;
	for (;;) {
		mime_wsp(m, len, &i);
		if (!mime_crlf(m, len, &i))
			break;
		part = i;
	}
	i = part;
	while (!last) {
		found = mime_part_open(m, len, &i, b, blen, &begin, &end);
		if (!found) {
			if (!mime_part_close(m, len, &i, b, blen, &begin,
			    &end)) {
				*nparts_r = 0;
				*depth_r = -1;
				return 0;
			}
			last = 1;
		}
		if (!msg_comments_ok(m + begin, end - begin)) {
			s->err = "comments nested too deep in a MIME header";
			return -1;
		}
		bp = 0;
		if (mailimf_optional_fields_parse(m + begin, end - begin, &bp,
		    &f) != MAILIMF_NO_ERROR) {
			s->err = "MIME part header unreadable";
			return -1;
		}
		mailimf_crlf_parse(m + begin, end - begin, &bp);
		mf = NULL;
		mailmime_fields_parse(f, &mf);
		mailimf_fields_free(f);
		if (mime_scan_part(s, m + begin, end - begin, bp, digest, mf,
		    level + 1, &n, &d) == -1) {
			if (mf != NULL)
				mailmime_fields_free(mf);
			return -1;
		}
		if (mf != NULL)
			mailmime_fields_free(mf);
		total += n;
		if (d > deepest)
			deepest = d;
		/* White space and a line end after the delimiter. */
		bp = i;
		mime_wsp(m, len, &bp);
		if (mime_crlf(m, len, &bp))
			i = bp;
	}
	*nparts_r = total;
	*depth_r = deepest;
	return 0;
}

/*
 * An embedded message from m[i] on: its header, read with libetpan's
 * envelope parser as mailmime_parse does, then its body as a part.
 */
static int
mime_scan_message(struct mime_scan *s, const char *m, size_t len, size_t i,
    int level, size_t *nparts_r, int *depth_r)
{
	struct mailimf_fields *f = NULL;
	struct mailmime_fields *mf = NULL;
	int r;

	if (!msg_comments_ok(m + i, len - i)) {
		s->err = "comments nested too deep in a MIME header";
		return -1;
	}
	if (mailimf_envelope_and_optional_fields_parse(m, len, &i, &f) !=
	    MAILIMF_NO_ERROR || f == NULL) {
		/* libetpan would go on with no fields and crash. */
		s->err = "message header unreadable";
		return -1;
	}
	mailimf_crlf_parse(m, len, &i);
	mailmime_fields_parse(f, &mf);
	mailimf_fields_free(f);
	r = mime_scan_part(s, m, len, i, 0, mf, level + 1, nparts_r, depth_r);
	if (mf != NULL)
		mailmime_fields_free(mf);
	return r;
}

/*
 * One part as mailmime_parse_with_default sees it: its body starts at
 * m[i], fields are its MIME header fields (or NULL), level is libetpan's
 * recursion depth (0 for the message itself, which is not a part of
 * ours: our root, at depth 0, is level 1).  The number of parts in the
 * resulting subtree and its deepest depth come back.
 */
static int
mime_scan_part(struct mime_scan *s, const char *m, size_t len, size_t i,
    int dflt_message, struct mailmime_fields *fields, int level,
    size_t *nparts_r, int *depth_r)
{
	struct mailmime_content *ct;
	enum mime_kind kind = MIME_KIND_SINGLE;
	char *b = NULL;
	size_t n = 0;
	int r = 0, enc, d = -1;

	if (level == 0)
		return mime_scan_message(s, m, len, i, level, nparts_r,
		    depth_r);
	if (level - 1 > MIME_DEPTH_MAX) {
		s->err = "MIME parts nested too deep";
		return -1;
	}
	if (++s->visited > MIME_PARTS_MAX) {
		s->err = "too many MIME parts";
		return -1;
	}
	if ((ct = mime_fields_type(fields)) == NULL) {
		if (dflt_message)
			kind = MIME_KIND_MESSAGE;
	} else if (ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE) {
		switch (ct->ct_type->tp_data.tp_composite_type->ct_type) {
		case MAILMIME_COMPOSITE_TYPE_MULTIPART:
			if ((r = mime_boundary(ct, &b)) == -1) {
				s->err = "unusable multipart boundary";
				return -1;
			}
			if (r == 1)
				kind = MIME_KIND_MULTIPLE;
			break;
		case MAILMIME_COMPOSITE_TYPE_MESSAGE:
			if (strcasecmp(ct->ct_subtype, "rfc822") == 0)
				kind = MIME_KIND_MESSAGE;
			break;
		default:
			s->err = "unknown composite MIME type";
			return -1;
		}
	}
	enc = fields != NULL ? mailmime_transfer_encoding_get(fields) :
	    MAILMIME_MECHANISM_8BIT;
	/* An encoded message/rfc822 is not looked into. */
	if (kind == MIME_KIND_MESSAGE &&
	    (enc == MAILMIME_MECHANISM_QUOTED_PRINTABLE ||
	    enc == MAILMIME_MECHANISM_BASE64))
		kind = MIME_KIND_SINGLE;
	switch (kind) {
	case MIME_KIND_MESSAGE:
		r = mime_scan_message(s, m, len, i, level, &n, &d);
		break;
	case MIME_KIND_MULTIPLE:
		r = mime_scan_multipart(s, m, len, i, b,
		    strcasecmp(ct->ct_subtype, "digest") == 0, level, &n, &d);
		break;
	case MIME_KIND_SINGLE:
		break;
	}
	free(b);
	if (r == -1)
		return -1;
	*nparts_r = n + 1;
	*depth_r = d > level - 1 ? d : level - 1;
	return 0;
}

int
mime_check(const char *raw, size_t len, int *depth_r, size_t *nparts_r,
    const char **err_r)
{
	struct mime_scan s = { 0, NULL };
	size_t n = 0;
	int d = -1;

	if (mime_scan_part(&s, raw, len, 0, 0, NULL, 0, &n, &d) == -1) {
		*err_r = s.err;
		return -1;
	}
	if (depth_r != NULL)
		*depth_r = d;
	if (nparts_r != NULL)
		*nparts_r = n;
	return 0;
}

/* A libetpan string in lower case, or NULL. */
static char *
mime_lower(const char *s)
{
	char *t, *p;

	if (s == NULL)
		return NULL;
	t = xstrdup(s);
	for (p = t; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	}
	return t;
}

/* "type/subtype" of a libetpan content type, in lower case. */
static char *
mime_type_name(struct mailmime_content *ct)
{
	const char *type = "application";
	char *s, *t;

	if (ct == NULL)
		return xstrdup("text/plain");
	if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		switch (ct->ct_type->tp_data.tp_discrete_type->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT:
			type = "text";
			break;
		case MAILMIME_DISCRETE_TYPE_IMAGE:
			type = "image";
			break;
		case MAILMIME_DISCRETE_TYPE_AUDIO:
			type = "audio";
			break;
		case MAILMIME_DISCRETE_TYPE_VIDEO:
			type = "video";
			break;
		case MAILMIME_DISCRETE_TYPE_EXTENSION:
			type = ct->ct_type->tp_data.tp_discrete_type->
			    dt_extension;
			break;
		}
	} else {
		switch (ct->ct_type->tp_data.tp_composite_type->ct_type) {
		case MAILMIME_COMPOSITE_TYPE_MESSAGE:
			type = "message";
			break;
		case MAILMIME_COMPOSITE_TYPE_MULTIPART:
			type = "multipart";
			break;
		default:
			type = ct->ct_type->tp_data.tp_composite_type->
			    ct_token;
			break;
		}
	}
	s = xasprintf("%s/%s", type != NULL ? type : "application",
	    ct->ct_subtype != NULL ? ct->ct_subtype : "octet-stream");
	t = mime_lower(s);
	free(s);
	return t;
}

/* The value of a parameter named name in a libetpan parameter list. */
static const char *
mime_param(clist *params, const char *name)
{
	struct mailmime_parameter *p;
	clistiter *it;

	if (params == NULL)
		return NULL;
	for (it = clist_begin(params); it != NULL; it = clist_next(it)) {
		p = clist_content(it);
		if (p->pa_name != NULL && strcasecmp(p->pa_name, name) == 0)
			return p->pa_value;
	}
	return NULL;
}

/* The value of a hexadecimal digit, or -1. */
static int
mime_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * An RFC 2231 extended value (charset'language'%XX...) as UTF-8, or
 * NULL when it is not one (section 4).
 */
static char *
mime_rfc2231(const char *v)
{
	const char *q1, *q2, *p;
	char *cs, *bytes, *out;
	size_t n = 0, outlen;
	int h, l;

	if ((q1 = strchr(v, '\'')) == NULL || (q2 = strchr(q1 + 1, '\'')) ==
	    NULL)
		return NULL;
	bytes = xmalloc(strlen(q2) + 1);
	for (p = q2 + 1; *p != '\0'; p++) {
		if (*p == '%' && (h = mime_hex(p[1])) != -1 &&
		    (l = mime_hex(p[2])) != -1) {
			bytes[n++] = (h << 4) | l;
			p += 2;
		} else
			bytes[n++] = *p;
	}
	cs = xstrndup(v, q1 - v);
	if ((out = charset_to_utf8(*cs == '\0' ? "us-ascii" : cs, bytes, n,
	    &outlen)) == NULL)
		out = charset_to_utf8("us-ascii", bytes, n, &outlen);
	free(cs);
	free(bytes);
	return out;
}

/*
 * A file name parameter: base*= (RFC 2231 section 4), base*0*= ...
 * continuations (section 3), else base= decoded as RFC 2047 (not allowed
 * there, but common).
 */
static char *
mime_filename_param(clist *params, const char *base)
{
	const char *v;
	char name[32], *joined = NULL, *t, *out;
	size_t k;
	int ext = 0;

	snprintf(name, sizeof(name), "%s*", base);
	if ((v = mime_param(params, name)) != NULL)
		return mime_rfc2231(v);
	for (k = 0; k < 100; k++) {
		snprintf(name, sizeof(name), "%s*%zu*", base, k);
		if ((v = mime_param(params, name)) != NULL)
			ext = ext || k == 0;
		else {
			snprintf(name, sizeof(name), "%s*%zu", base, k);
			if ((v = mime_param(params, name)) == NULL)
				break;
		}
		t = xasprintf("%s%s", joined != NULL ? joined : "", v);
		free(joined);
		joined = t;
	}
	if (joined != NULL) {
		out = ext ? mime_rfc2231(joined) : rfc2047_decode(joined);
		if (out == NULL)
			out = rfc2047_decode(joined);
		free(joined);
		return out;
	}
	if ((v = mime_param(params, base)) != NULL)
		return rfc2047_decode(v);
	return NULL;
}

/* Fill in a part from libetpan's node. */
static void
mime_describe(struct mime_part *p, struct mailmime *mm)
{
	struct mailmime_content *ct = mm->mm_content_type;
	struct mailmime_disposition *dsp = NULL;
	struct mailmime_disposition_parm *dp;
	struct mailmime_mechanism *mech = NULL;
	struct mailmime_field *f;
	clist *dparams = NULL;
	clistiter *it;
	const char *v;
	char *t;

	p->type = mime_type_name(ct);
	if (ct != NULL && (v = mime_param(ct->ct_parameters, "charset")) !=
	    NULL)
		p->charset = mime_lower(v);
	if (mm->mm_type == MAILMIME_MULTIPLE && ct != NULL)
		mime_boundary(ct, &p->boundary);
	if (mm->mm_mime_fields != NULL) {
		for (it = clist_begin(mm->mm_mime_fields->fld_list);
		    it != NULL; it = clist_next(it)) {
			f = clist_content(it);
			if (f->fld_type == MAILMIME_FIELD_DISPOSITION &&
			    dsp == NULL)
				dsp = f->fld_data.fld_disposition;
			if (f->fld_type == MAILMIME_FIELD_TRANSFER_ENCODING &&
			    mech == NULL)
				mech = f->fld_data.fld_encoding;
		}
	}
	if (dsp != NULL) {
		switch (dsp->dsp_type->dsp_type) {
		case MAILMIME_DISPOSITION_TYPE_INLINE:
			p->disposition = xstrdup("inline");
			break;
		case MAILMIME_DISPOSITION_TYPE_ATTACHMENT:
			p->disposition = xstrdup("attachment");
			break;
		default:
			p->disposition = mime_lower(
			    dsp->dsp_type->dsp_extension);
			break;
		}
		/* libetpan files filename= apart from other parameters. */
		dparams = clist_new();
		for (it = clist_begin(dsp->dsp_parms); it != NULL;
		    it = clist_next(it)) {
			dp = clist_content(it);
			if (dp->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME &&
			    p->filename == NULL)
				p->filename = rfc2047_decode(
				    dp->pa_data.pa_filename);
			else if (dp->pa_type ==
			    MAILMIME_DISPOSITION_PARM_PARAMETER)
				clist_append(dparams,
				    dp->pa_data.pa_parameter);
		}
		if ((t = mime_filename_param(dparams, "filename")) != NULL) {
			free(p->filename);
			p->filename = t;
		}
		clist_free(dparams);
	}
	if (p->filename == NULL && ct != NULL)
		p->filename = mime_filename_param(ct->ct_parameters, "name");
	if (mech == NULL)
		/* RFC 2045 section 6.1: the default. */
		p->encoding = xstrdup("7bit");
	else {
		switch (mech->enc_type) {
		case MAILMIME_MECHANISM_8BIT:
			p->encoding = xstrdup("8bit");
			break;
		case MAILMIME_MECHANISM_BINARY:
			p->encoding = xstrdup("binary");
			break;
		case MAILMIME_MECHANISM_QUOTED_PRINTABLE:
			p->encoding = xstrdup("quoted-printable");
			break;
		case MAILMIME_MECHANISM_BASE64:
			p->encoding = xstrdup("base64");
			break;
		case MAILMIME_MECHANISM_TOKEN:
			p->encoding = mime_lower(mech->enc_token);
			break;
		default:
			p->encoding = xstrdup("7bit");
			break;
		}
	}
	if (p->encoding == NULL)
		p->encoding = xstrdup("7bit");
}

/*
 * Our part for libetpan's node mm, whose header starts at header_off;
 * NULL and *err_r when libetpan's tree is not what mime_check promised.
 */
static struct mime_part *
mime_convert(const char *raw, size_t len, struct mailmime *mm,
    struct mime_part *parent, size_t header_off, int depth, size_t *count,
    const char **err_r)
{
	struct mime_part *p, *c;
	struct mailmime *sub;
	const char *body;
	clistiter *it;
	size_t blen;

	if (depth > MIME_DEPTH_MAX || ++*count > MIME_PARTS_MAX ||
	    mm->mm_body == NULL || mm->mm_body->dt_type != MAILMIME_DATA_TEXT) {
		*err_r = "MIME tree differs from the checked structure";
		return NULL;
	}
	body = mm->mm_body->dt_data.dt_text.dt_data;
	blen = mm->mm_body->dt_data.dt_text.dt_length;
	if (body < raw + header_off || body > raw + len ||
	    blen > (size_t)(raw + len - body)) {
		*err_r = "MIME part outside the message";
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->parent = parent;
	p->depth = depth;
	p->header_off = header_off;
	p->body_off = body - raw;
	p->header_len = p->body_off - header_off;
	p->body_len = blen;
	mime_describe(p, mm);
	if (mm->mm_type == MAILMIME_MULTIPLE) {
		for (it = clist_begin(mm->mm_data.mm_multipart.mm_mp_list);
		    it != NULL; it = clist_next(it)) {
			sub = clist_content(it);
			if (sub->mm_mime_start < raw ||
			    sub->mm_mime_start > raw + len) {
				*err_r = "MIME part outside the message";
				mime_free(&p);
				return NULL;
			}
			c = mime_convert(raw, len, sub, p,
			    sub->mm_mime_start - raw, depth + 1, count, err_r);
			if (c == NULL) {
				mime_free(&p);
				return NULL;
			}
			p->children = xreallocarray(p->children,
			    p->nchildren + 1, sizeof(*p->children));
			p->children[p->nchildren++] = c;
		}
	} else if (mm->mm_type == MAILMIME_MESSAGE &&
	    (sub = mm->mm_data.mm_message.mm_msg_mime) != NULL) {
		/* The embedded message's header is this part's body. */
		c = mime_convert(raw, len, sub, p, p->body_off, depth + 1,
		    count, err_r);
		if (c == NULL) {
			mime_free(&p);
			return NULL;
		}
		p->children = xcalloc(1, sizeof(*p->children));
		p->children[p->nchildren++] = c;
	}
	return p;
}

int
mime_parse(const char *raw, size_t len, struct mime_part **root_r,
    const char **err_r)
{
	struct mailmime *mm = NULL;
	size_t idx = 0, count = 0, nparts;
	int depth;

	*root_r = NULL;
	if (mime_check(raw, len, &depth, &nparts, err_r) == -1)
		return -1;
	/* raw outlives mm: libetpan's tree points into it. */
	if (mailmime_parse(raw, len, &idx, &mm) != MAILIMF_NO_ERROR) {
		*err_r = "MIME structure unreadable";
		return -1;
	}
	/* The whole message is a message/rfc822 whose content is ours. */
	if (mm->mm_type != MAILMIME_MESSAGE ||
	    mm->mm_data.mm_message.mm_msg_mime == NULL) {
		mailmime_free(mm);
		*err_r = "MIME structure unreadable";
		return -1;
	}
	*root_r = mime_convert(raw, len, mm->mm_data.mm_message.mm_msg_mime,
	    NULL, 0, 0, &count, err_r);
	mailmime_free(mm);
	if (*root_r == NULL)
		return -1;
	if (count != nparts) {
		mime_free(root_r);
		*err_r = "MIME tree differs from the checked structure";
		return -1;
	}
	return 0;
}

void
mime_free(struct mime_part **pp)
{
	struct mime_part *p = *pp;
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nchildren; i++)
		mime_free(&p->children[i]);
	free(p->children);
	free(p->type);
	free(p->charset);
	free(p->boundary);
	free(p->filename);
	free(p->disposition);
	free(p->encoding);
	free(p);
	*pp = NULL;
}

int
mime_walk(struct mime_part *p, int (*fn)(struct mime_part *, void *),
    void *arg)
{
	size_t i;
	int r;

	if ((r = fn(p, arg)) != 0)
		return r;
	for (i = 0; i < p->nchildren; i++) {
		if ((r = mime_walk(p->children[i], fn, arg)) != 0)
			return r;
	}
	return 0;
}

/*
 * Base64 (RFC 2045 section 6.8): characters outside the alphabet are
 * ignored, "=" ends the data, and a final group of two or three
 * characters gives one or two octets.
 */
static char *
mime_base64(const char *s, size_t len, size_t *len_r)
{
	char *out = xmalloc(len / 4 * 3 + 4);
	unsigned int acc = 0;
	size_t i, n = 0;
	int bits = 0, v;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '=')
			break;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else
			continue;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (acc >> bits) & 0xff;
		}
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

/*
 * Quoted-printable (RFC 2045 section 6.7): "=XX" is an octet (lower case
 * hex accepted, as the section suggests for robustness), "=" at the end
 * of a line is a soft line break, white space at the end of a line is
 * transport padding and goes (rule 3), and an "=" that fits no rule
 * stays as it is.  Line ends are kept as they are.
 */
static char *
mime_qp(const char *s, size_t len, size_t *len_r)
{
	char *out = xmalloc(len + 1);
	size_t i = 0, n = 0, eol, next, end, k;
	const char *nl;
	int h, l, soft;

	while (i < len) {
		if ((nl = memchr(s + i, '\n', len - i)) == NULL)
			eol = next = len;
		else {
			next = nl - s + 1;
			eol = nl - s;
			if (eol > i && s[eol - 1] == '\r')
				eol--;
		}
		end = eol;
		while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\t'))
			end--;
		soft = 0;
		for (k = i; k < end; k++) {
			if (s[k] != '=') {
				out[n++] = s[k];
				continue;
			}
			if (k + 1 == end) {
				soft = 1;
				break;
			}
			if (k + 2 < end && (h = mime_hex(s[k + 1])) != -1 &&
			    (l = mime_hex(s[k + 2])) != -1) {
				out[n++] = (h << 4) | l;
				k += 2;
			} else
				out[n++] = '=';
		}
		if (!soft) {
			memcpy(out + n, s + eol, next - eol);
			n += next - eol;
		}
		i = next;
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

char *
mime_decode(const struct mime_part *p, const char *raw, size_t *len_r)
{
	const char *s = raw + p->body_off;
	size_t len = p->body_len, n;
	char *out;

	if (p->encoding != NULL && strcmp(p->encoding, "base64") == 0)
		out = mime_base64(s, len, &n);
	else if (p->encoding != NULL &&
	    strcmp(p->encoding, "quoted-printable") == 0)
		out = mime_qp(s, len, &n);
	else {
		out = xmemdup(s, len);
		n = len;
	}
	if (len_r != NULL)
		*len_r = n;
	return out;
}

/* Base64 in lines of 76 characters (RFC 2045 section 6.8), each ended. */
static char *
mime_encode_base64(const unsigned char *s, size_t len, size_t *len_r)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((len + 2) / 3 * 4 + (len / 57 + 1) * 2 + 1);
	size_t i, n = 0, col = 0;
	unsigned int v;

	for (i = 0; i < len; i += 3) {
		v = s[i] << 16;
		if (i + 1 < len)
			v |= s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		out[n++] = abc[v >> 18 & 63];
		out[n++] = abc[v >> 12 & 63];
		out[n++] = i + 1 < len ? abc[v >> 6 & 63] : '=';
		out[n++] = i + 2 < len ? abc[v & 63] : '=';
		if ((col += 4) == 76 || i + 3 >= len) {
			out[n++] = '\r';
			out[n++] = '\n';
			col = 0;
		}
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

/*
 * Quoted-printable (RFC 2045 section 6.7): line breaks (CRLF or a bare
 * LF) stay hard breaks, "=" and octets outside printable ASCII become
 * =XX, white space before a break is encoded (rule 3), and lines longer
 * than 76 characters get soft breaks (rule 5).  A lone CR is encoded.
 */
static char *
mime_encode_qp(const unsigned char *s, size_t len, size_t *len_r)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(len * 3 + len / 25 * 3 + 3);
	size_t i, n = 0, col = 0, w;
	int brk;

	for (i = 0; i < len; i++) {
		if (s[i] == '\n' || (s[i] == '\r' && i + 1 < len &&
		    s[i + 1] == '\n')) {
			if (s[i] == '\r')
				i++;
			out[n++] = '\r';
			out[n++] = '\n';
			col = 0;
			continue;
		}
		brk = i + 1 == len || s[i + 1] == '\n' || (s[i + 1] == '\r' &&
		    i + 2 < len && s[i + 2] == '\n');
		w = (s[i] >= 33 && s[i] <= 126 && s[i] != '=') ||
		    ((s[i] == ' ' || s[i] == '\t') && !brk) ? 1 : 3;
		/* Room for this and, unless the line ends here, a soft "=". */
		if (col + w > (brk ? 76 : 75)) {
			out[n++] = '=';
			out[n++] = '\r';
			out[n++] = '\n';
			col = 0;
		}
		if (w == 1)
			out[n++] = s[i];
		else {
			out[n++] = '=';
			out[n++] = hex[s[i] >> 4];
			out[n++] = hex[s[i] & 15];
		}
		col += w;
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

char *
mime_encode(const char *encoding, const char *s, size_t len, size_t *len_r)
{
	if (encoding != NULL && strcmp(encoding, "base64") == 0)
		return mime_encode_base64((const unsigned char *)s, len, len_r);
	if (encoding != NULL && strcmp(encoding, "quoted-printable") == 0)
		return mime_encode_qp((const unsigned char *)s, len, len_r);
	*len_r = len;
	return xmemdup(s, len);
}
