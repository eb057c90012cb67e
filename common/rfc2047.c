/*
 * rfc2047.c: encoded words (RFC 2047) and charsets.
 *
 * msg.c calls rfc2047_decode for Subject and From; the forum and the mail
 * side call rfc2047_encode when they write a header from UTF-8 text, and
 * charset_to_utf8 when they show a text part.  libetpan has a decoder but
 * no encoder, and its decoder drops bytes it cannot convert, so both
 * directions live here.  Everything returned is the caller's to free.
 *
 * Charsets are converted with iconv, but only from a fixed list of the
 * charsets mail and news really use: glibc's rarer converters have had
 * bugs reachable from hostile input, and a name from a header must not
 * be able to pick one (or pass "//" options to iconv_open).
 */

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"

/* An encoded word is at most 75 octets (RFC 2047 section 2). */
#define RFC2047_WORD_MAX	75
/* "=?UTF-8?Q?" and "?=" around the encoded text. */
#define RFC2047_OVERHEAD	12
/* The line length RFC 2047 section 2 and RFC 5322 section 2.1.1 ask for. */
#define RFC2047_LINE_MAX	78
/* The longest charset name we look at. */
#define RFC2047_CHARSET_MAX	40

enum rfc2047_kind {
	RFC2047_UTF8,		/* labelled UTF-8: bad bytes become U+FFFD */
	RFC2047_RAW,		/* UTF-8 if it is, else windows-1252 */
	RFC2047_ICONV		/* through iconv */
};

/* Charset names with '-' and '_' removed and in lower case. */
static const struct {
	const char		*key;
	const char		*iconv;
	enum rfc2047_kind	 kind;
} rfc2047_charsets[] = {
	{ "utf8", NULL, RFC2047_UTF8 },
	{ "usascii", NULL, RFC2047_RAW },
	{ "ascii", NULL, RFC2047_RAW },
	{ "iso88591", NULL, RFC2047_RAW },
	{ "latin1", NULL, RFC2047_RAW },
	{ "windows1252", NULL, RFC2047_RAW },
	{ "cp1252", NULL, RFC2047_RAW },
	{ "iso88592", "ISO-8859-2", RFC2047_ICONV },
	{ "iso88593", "ISO-8859-3", RFC2047_ICONV },
	{ "iso88594", "ISO-8859-4", RFC2047_ICONV },
	{ "iso88595", "ISO-8859-5", RFC2047_ICONV },
	{ "iso88596", "ISO-8859-6", RFC2047_ICONV },
	{ "iso88597", "ISO-8859-7", RFC2047_ICONV },
	{ "iso88598", "ISO-8859-8", RFC2047_ICONV },
	{ "iso88598i", "ISO-8859-8", RFC2047_ICONV },
	{ "iso88599", "ISO-8859-9", RFC2047_ICONV },
	{ "iso885910", "ISO-8859-10", RFC2047_ICONV },
	{ "iso885911", "ISO-8859-11", RFC2047_ICONV },
	{ "iso885913", "ISO-8859-13", RFC2047_ICONV },
	{ "iso885914", "ISO-8859-14", RFC2047_ICONV },
	{ "iso885915", "ISO-8859-15", RFC2047_ICONV },
	{ "latin9", "ISO-8859-15", RFC2047_ICONV },
	{ "iso885916", "ISO-8859-16", RFC2047_ICONV },
	{ "windows1250", "WINDOWS-1250", RFC2047_ICONV },
	{ "cp1250", "WINDOWS-1250", RFC2047_ICONV },
	{ "windows1251", "WINDOWS-1251", RFC2047_ICONV },
	{ "cp1251", "WINDOWS-1251", RFC2047_ICONV },
	{ "windows1253", "WINDOWS-1253", RFC2047_ICONV },
	{ "windows1254", "WINDOWS-1254", RFC2047_ICONV },
	{ "windows1255", "WINDOWS-1255", RFC2047_ICONV },
	{ "windows1256", "WINDOWS-1256", RFC2047_ICONV },
	{ "windows1257", "WINDOWS-1257", RFC2047_ICONV },
	{ "windows1258", "WINDOWS-1258", RFC2047_ICONV },
	{ "koi8r", "KOI8-R", RFC2047_ICONV },
	{ "koi8u", "KOI8-U", RFC2047_ICONV },
	{ "cp437", "CP437", RFC2047_ICONV },
	{ "ibm437", "CP437", RFC2047_ICONV },
	{ "cp850", "CP850", RFC2047_ICONV },
	{ "ibm850", "CP850", RFC2047_ICONV },
	{ "cp852", "CP852", RFC2047_ICONV },
	{ "ibm852", "CP852", RFC2047_ICONV },
	{ "cp866", "CP866", RFC2047_ICONV },
	{ "ibm866", "CP866", RFC2047_ICONV },
	{ "macintosh", "MACINTOSH", RFC2047_ICONV },
	{ "tis620", "TIS-620", RFC2047_ICONV },
	{ "iso2022jp", "ISO-2022-JP", RFC2047_ICONV },
	{ "shiftjis", "SHIFT_JIS", RFC2047_ICONV },
	{ "sjis", "SHIFT_JIS", RFC2047_ICONV },
	{ "eucjp", "EUC-JP", RFC2047_ICONV },
	{ "euckr", "EUC-KR", RFC2047_ICONV },
	{ "ksc56011987", "CP949", RFC2047_ICONV },
	{ "cp949", "CP949", RFC2047_ICONV },
	{ "gb2312", "GBK", RFC2047_ICONV },
	{ "gbk", "GBK", RFC2047_ICONV },
	{ "gb18030", "GB18030", RFC2047_ICONV },
	{ "big5", "BIG5", RFC2047_ICONV },
	{ "big5hkscs", "BIG5-HKSCS", RFC2047_ICONV },
	{ "utf7", "UTF-7", RFC2047_ICONV },
	{ "utf16", "UTF-16", RFC2047_ICONV },
	{ "utf16be", "UTF-16BE", RFC2047_ICONV },
	{ "utf16le", "UTF-16LE", RFC2047_ICONV },
};

/* windows-1252 0x80..0x9f; 0 where the code page leaves a hole. */
static const unsigned short rfc2047_cp1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178
};

/* A growing byte string. */
struct rfc2047_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

/* A decoder's cache of the last iconv descriptor it opened. */
struct rfc2047_conv {
	const char	*name;
	iconv_t		 cd;
};

/* Make room for n more bytes and the NUL. */
static void
rfc2047_grow(struct rfc2047_buf *b, size_t n)
{
	size_t cap;

	if (n > SIZE_MAX - b->len - 1)
		fatalx("rfc2047_grow: too large");
	if (b->len + n + 1 <= b->cap)
		return;
	cap = b->cap == 0 ? 64 : b->cap;
	while (cap < b->len + n + 1)
		cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
	b->p = xreallocarray(b->p, cap, 1);
	b->cap = cap;
}

/* Append n bytes. */
static void
rfc2047_add(struct rfc2047_buf *b, const void *p, size_t n)
{
	rfc2047_grow(b, n);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append a string. */
static void
rfc2047_adds(struct rfc2047_buf *b, const char *s)
{
	rfc2047_add(b, s, strlen(s));
}

/* Append one code point as UTF-8 (RFC 3629 section 3). */
static void
rfc2047_add_cp(struct rfc2047_buf *b, unsigned int cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = 0xc0 | (cp >> 6);
		u[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = 0xe0 | (cp >> 12);
		u[1] = 0x80 | ((cp >> 6) & 0x3f);
		u[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		u[0] = 0xf0 | (cp >> 18);
		u[1] = 0x80 | ((cp >> 12) & 0x3f);
		u[2] = 0x80 | ((cp >> 6) & 0x3f);
		u[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	rfc2047_add(b, u, n);
}

/* The buffer's string, given to the caller (never NULL). */
static char *
rfc2047_take(struct rfc2047_buf *b, size_t *len_r)
{
	if (b->p == NULL)
		rfc2047_grow(b, 0);
	b->p[b->len] = '\0';
	if (len_r != NULL)
		*len_r = b->len;
	return b->p;
}

/*
 * The length of the well-formed UTF-8 sequence at s, or 0: the byte
 * ranges of RFC 3629 section 4, so no overlong forms, no surrogates and
 * nothing above U+10FFFF.
 */
static size_t
rfc2047_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (len < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = rfc2047_utf8_seq(u + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/*
 * Append len bytes as UTF-8: well-formed sequences are copied; any other
 * byte becomes U+FFFD, or in raw mode its windows-1252 character.  nul
 * says what a NUL byte becomes when it may not stay.
 */
static void
rfc2047_add_bytes(struct rfc2047_buf *b, const char *s, size_t len, int raw,
    int keep_nul)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	unsigned int cp;

	while (i < len) {
		if (u[i] == 0 && !keep_nul) {
			rfc2047_add_cp(b, 0xfffd);
			i++;
			continue;
		}
		if ((n = rfc2047_utf8_seq(u + i, len - i)) != 0) {
			rfc2047_add(b, u + i, n);
			i += n;
			continue;
		}
		if (!raw)
			cp = 0xfffd;
		else if (u[i] >= 0xa0)
			cp = u[i];
		else if ((cp = rfc2047_cp1252[u[i] - 0x80]) == 0)
			cp = 0xfffd;
		rfc2047_add_cp(b, cp);
		i++;
	}
}

/* Our table entry for a charset name (any "*language" cut), or -1. */
static int
rfc2047_charset_find(const char *name, size_t len)
{
	char key[RFC2047_CHARSET_MAX + 1];
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; i < len && name[i] != '*'; i++) {
		c = name[i];
		if (c == '-' || c == '_')
			continue;
		if (n == RFC2047_CHARSET_MAX)
			return -1;
		key[n++] = (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
	}
	key[n] = '\0';
	for (i = 0; i < sizeof(rfc2047_charsets) / sizeof(rfc2047_charsets[0]);
	    i++) {
		if (strcmp(rfc2047_charsets[i].key, key) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Append len bytes of a charset through iconv; a byte iconv rejects
 * becomes U+FFFD and conversion goes on after it.  -1 if iconv does not
 * know the charset.
 */
static int
rfc2047_iconv(struct rfc2047_buf *b, struct rfc2047_conv *conv,
    const char *name, const char *in, size_t len)
{
	struct rfc2047_buf tmp = { NULL, 0, 0 };
	char *ip = (char *)in, *op;
	size_t il = len, ol, done;
	iconv_t cd;

	if (conv != NULL && conv->name == name)
		cd = conv->cd;
	else {
		if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
			return -1;
		if (conv != NULL) {
			if (conv->name != NULL)
				iconv_close(conv->cd);
			conv->name = name;
			conv->cd = cd;
		}
	}
	iconv(cd, NULL, NULL, NULL, NULL);
	for (;;) {
		rfc2047_grow(&tmp, il * 4 + 16);
		op = tmp.p + tmp.len;
		ol = tmp.cap - tmp.len - 1;
		if (il == 0)
			done = iconv(cd, NULL, NULL, &op, &ol);
		else
			done = iconv(cd, &ip, &il, &op, &ol);
		tmp.len = op - tmp.p;
		if (done != (size_t)-1) {
			if (il == 0)
				break;
			continue;
		}
		if (errno == E2BIG)
			continue;
		if (il == 0)
			break;
		/* EILSEQ, or EINVAL for a sequence cut at the end. */
		rfc2047_grow(&tmp, 3);
		memcpy(tmp.p + tmp.len, "\xef\xbf\xbd", 3);
		tmp.len += 3;
		ip++;
		il--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	if (conv == NULL)
		iconv_close(cd);
	/* Belt and braces: whatever iconv made, only UTF-8 goes out. */
	rfc2047_add_bytes(b, tmp.p, tmp.len, 0, 1);
	free(tmp.p);
	return 0;
}

/* Append len bytes of the charset table entry idx (-1: unknown). */
static void
rfc2047_convert(struct rfc2047_buf *b, struct rfc2047_conv *conv, int idx,
    const char *in, size_t len, int keep_nul)
{
	struct rfc2047_buf tmp = { NULL, 0, 0 };

	if (idx < 0) {
		rfc2047_add_bytes(b, in, len, 0, keep_nul);
		return;
	}
	switch (rfc2047_charsets[idx].kind) {
	case RFC2047_UTF8:
		rfc2047_add_bytes(b, in, len, 0, keep_nul);
		break;
	case RFC2047_RAW:
		rfc2047_add_bytes(b, in, len, 1, keep_nul);
		break;
	case RFC2047_ICONV:
		if (rfc2047_iconv(&tmp, conv, rfc2047_charsets[idx].iconv, in,
		    len) == -1)
			rfc2047_add_bytes(&tmp, in, len, 0, 1);
		rfc2047_add_bytes(b, tmp.p == NULL ? "" : tmp.p, tmp.len, 0,
		    keep_nul);
		free(tmp.p);
		break;
	}
}

char *
charset_to_utf8(const char *charset, const char *in, size_t len,
    size_t *outlen_r)
{
	struct rfc2047_buf b = { NULL, 0, 0 };
	int idx;

	if ((idx = rfc2047_charset_find(charset, strlen(charset))) == -1)
		return NULL;
	rfc2047_convert(&b, NULL, idx, in, len, 1);
	return rfc2047_take(&b, outlen_r);
}

/* The value of a hexadecimal digit, or -1. */
static int
rfc2047_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The value of a base64 character (RFC 2045 section 6.8), or -1. */
static int
rfc2047_b64(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* One encoded word found by rfc2047_word. */
struct rfc2047_word {
	const char	*charset;
	size_t		 charset_len;
	char		 enc;		/* 'B' or 'Q' */
	const char	*text;
	size_t		 text_len;
	size_t		 end;		/* offset after the "?=" */
};

/*
 * Whether an encoded word (RFC 2047 section 2) starts at s[i]:
 * "=?" charset "?" B|Q "?" text "?=", with no white space or control
 * character anywhere in it.  Longer words than 75 octets are read too,
 * as many senders write them.
 */
static int
rfc2047_word(const char *s, size_t len, size_t i, struct rfc2047_word *w)
{
	size_t j;
	unsigned char c;

	if (i + 1 >= len || s[i] != '=' || s[i + 1] != '?')
		return 0;
	w->charset = s + i + 2;
	for (j = i + 2; j < len && s[j] != '?'; j++) {
		c = s[j];
		if (c <= ' ' || c >= 0x7f || j - (i + 2) >= RFC2047_CHARSET_MAX)
			return 0;
	}
	w->charset_len = j - (i + 2);
	if (w->charset_len == 0 || j + 2 >= len || s[j + 2] != '?')
		return 0;
	switch (s[j + 1]) {
	case 'B':
	case 'b':
		w->enc = 'B';
		break;
	case 'Q':
	case 'q':
		w->enc = 'Q';
		break;
	default:
		return 0;
	}
	w->text = s + j + 3;
	for (j += 3; j < len && s[j] != '?'; j++) {
		c = s[j];
		if (c <= ' ' || c >= 0x7f)
			return 0;
	}
	if (j + 1 >= len || s[j + 1] != '=')
		return 0;
	w->text_len = j - (size_t)(w->text - s);
	w->end = j + 2;
	return 1;
}

/* Append the octets an encoded word's text stands for (section 4). */
static void
rfc2047_word_octets(struct rfc2047_buf *b, const struct rfc2047_word *w)
{
	const unsigned char *t = (const unsigned char *)w->text;
	unsigned int acc = 0;
	size_t i;
	int bits = 0, v, h, l;
	unsigned char c;

	for (i = 0; i < w->text_len; i++) {
		if (w->enc == 'B') {
			if (t[i] == '=')
				break;
			if ((v = rfc2047_b64(t[i])) == -1)
				continue;
			acc = (acc << 6) | (unsigned int)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				c = (acc >> bits) & 0xff;
				rfc2047_add(b, &c, 1);
			}
			continue;
		}
		/* Q: section 4.2. */
		if (t[i] == '_')
			c = ' ';
		else if (t[i] == '=' && i + 2 < w->text_len &&
		    (h = rfc2047_hex(t[i + 1])) != -1 &&
		    (l = rfc2047_hex(t[i + 2])) != -1) {
			c = (h << 4) | l;
			i += 2;
		} else
			c = t[i];
		rfc2047_add(b, &c, 1);
	}
}

/* Convert the pending run of encoded-word octets and empty it. */
static void
rfc2047_flush(struct rfc2047_buf *out, struct rfc2047_buf *run, int *idx,
    struct rfc2047_conv *conv)
{
	if (run->len > 0)
		rfc2047_convert(out, conv, *idx, run->p, run->len, 0);
	run->len = 0;
	*idx = -2;
}

char *
rfc2047_decode(const char *value)
{
	struct rfc2047_buf out = { NULL, 0, 0 }, run = { NULL, 0, 0 };
	struct rfc2047_conv conv = { NULL, (iconv_t)-1 };
	struct rfc2047_word w;
	size_t len = strlen(value), i = 0, j;
	int idx = -2, widx, inword = 0;

	while (i < len) {
		if (rfc2047_word(value, len, i, &w)) {
			/*
			 * Octets of adjacent words in one charset are joined
			 * before conversion, so a character split across two
			 * words (which section 5 forbids, but happens) is
			 * still read.
			 */
			widx = rfc2047_charset_find(w.charset, w.charset_len);
			if (!inword || widx != idx)
				rfc2047_flush(&out, &run, &idx, &conv);
			idx = widx;
			rfc2047_word_octets(&run, &w);
			i = w.end;
			inword = 1;
			continue;
		}
		if (inword) {
			/*
			 * Section 6.2: white space between adjacent encoded
			 * words is not displayed.
			 */
			for (j = i; j < len && (value[j] == ' ' ||
			    value[j] == '\t' || value[j] == '\r' ||
			    value[j] == '\n'); j++)
				;
			if (j > i && j < len &&
			    rfc2047_word(value, len, j, &w)) {
				i = j;
				continue;
			}
			rfc2047_flush(&out, &run, &idx, &conv);
			inword = 0;
		}
		/* Raw text up to the next possible encoded word. */
		for (j = i + 1; j < len && value[j] != '='; j++)
			;
		rfc2047_add_bytes(&out, value + i, j - i, 1, 0);
		i = j;
	}
	rfc2047_flush(&out, &run, &idx, &conv);
	if (conv.name != NULL)
		iconv_close(conv.cd);
	free(run.p);
	return rfc2047_take(&out, NULL);
}

/*
 * Octets a byte takes in Q encoding: the characters section 5 (3)
 * allows in any header are kept, a space is "_", the rest "=XX".
 */
static size_t
rfc2047_qlen(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/' || c == ' ')
		return 1;
	return 3;
}

/* The length of the UTF-8 character at s (input already well-formed). */
static size_t
rfc2047_charlen(const unsigned char *s, size_t len)
{
	size_t n;

	if ((n = rfc2047_utf8_seq(s, len)) == 0)
		n = 1;
	return n;
}

/* Append one encoded word holding t[0..n). */
static void
rfc2047_put_word(struct rfc2047_buf *b, const unsigned char *t, size_t n,
    char enc)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char hex[] = "0123456789ABCDEF";
	char q[4];
	size_t i;
	unsigned int v;

	rfc2047_adds(b, enc == 'B' ? "=?UTF-8?B?" : "=?UTF-8?Q?");
	if (enc == 'B') {
		for (i = 0; i + 2 < n; i += 3) {
			v = (t[i] << 16) | (t[i + 1] << 8) | t[i + 2];
			q[0] = b64[(v >> 18) & 63];
			q[1] = b64[(v >> 12) & 63];
			q[2] = b64[(v >> 6) & 63];
			q[3] = b64[v & 63];
			rfc2047_add(b, q, 4);
		}
		if (n - i == 1) {
			v = t[i] << 16;
			q[0] = b64[(v >> 18) & 63];
			q[1] = b64[(v >> 12) & 63];
			q[2] = q[3] = '=';
			rfc2047_add(b, q, 4);
		} else if (n - i == 2) {
			v = (t[i] << 16) | (t[i + 1] << 8);
			q[0] = b64[(v >> 18) & 63];
			q[1] = b64[(v >> 12) & 63];
			q[2] = b64[(v >> 6) & 63];
			q[3] = '=';
			rfc2047_add(b, q, 4);
		}
	} else {
		for (i = 0; i < n; i++) {
			if (t[i] == ' ')
				rfc2047_add(b, "_", 1);
			else if (rfc2047_qlen(t[i]) == 1)
				rfc2047_add(b, t + i, 1);
			else {
				q[0] = '=';
				q[1] = hex[t[i] >> 4];
				q[2] = hex[t[i] & 15];
				rfc2047_add(b, q, 3);
			}
		}
	}
	rfc2047_adds(b, "?=");
}

/* Encoded length of the first n octets of a character run. */
static size_t
rfc2047_cost(const unsigned char *t, size_t n, char enc)
{
	size_t i, c = 0;

	if (enc == 'B')
		return (n + 2) / 3 * 4;
	for (i = 0; i < n; i++)
		c += rfc2047_qlen(t[i]);
	return c;
}

/* The encoding for a run of octets: Q, or B when that is shorter. */
static char
rfc2047_choose(const unsigned char *t, size_t n)
{
	return rfc2047_cost(t, n, 'B') < rfc2047_cost(t, n, 'Q') ? 'B' : 'Q';
}

/*
 * Append t[0..n) as encoded words in enc, at column *col, each word no
 * longer than 75 octets and each line no longer than 78 where a line can
 * be begun; words are cut between characters only.  Words are separated
 * by folding white space, which decoding drops (section 6.2).
 */
static void
rfc2047_put_run(struct rfc2047_buf *b, const unsigned char *t, size_t n,
    char enc, size_t *col)
{
	size_t i = 0, k, take, clen, avail, budget;
	int first = 1;

	while (i < n || first) {
		clen = i < n ? rfc2047_charlen(t + i, n - i) : 0;
		if (!first) {
			if (*col + 1 + RFC2047_OVERHEAD +
			    rfc2047_cost(t + i, clen, enc) > RFC2047_LINE_MAX) {
				rfc2047_adds(b, "\r\n ");
				*col = 1;
			} else {
				rfc2047_adds(b, " ");
				(*col)++;
			}
		}
		avail = RFC2047_LINE_MAX > *col ? RFC2047_LINE_MAX - *col : 0;
		if (avail > RFC2047_WORD_MAX)
			avail = RFC2047_WORD_MAX;
		budget = avail > RFC2047_OVERHEAD ? avail - RFC2047_OVERHEAD :
		    0;
		/* At least one character per word, even on a full line. */
		take = clen;
		while (i + take < n) {
			k = rfc2047_charlen(t + i + take, n - i - take);
			if (rfc2047_cost(t + i, take + k, enc) > budget)
				break;
			take += k;
		}
		rfc2047_put_word(b, t + i, take, enc);
		*col += RFC2047_OVERHEAD + rfc2047_cost(t + i, take, enc);
		i += take;
		first = 0;
		if (i >= n)
			break;
	}
}

/* One word of the text and the spaces before it. */
struct rfc2047_unit {
	size_t	gap;		/* offset of the spaces */
	size_t	gap_len;
	size_t	word;		/* offset of the word */
	size_t	word_len;
	int	encode;
};

/* Whether a word must be encoded whatever its neighbours. */
static int
rfc2047_must_encode(const unsigned char *w, size_t n, size_t room)
{
	size_t i;

	/* A word no line can hold cannot go out raw. */
	if (n > room)
		return 1;
	for (i = 0; i < n; i++) {
		if (w[i] <= ' ' || w[i] >= 0x7f)
			return 1;
		/* Decoding would take it for an encoded word. */
		if (w[i] == '=' && i + 1 < n && w[i + 1] == '?')
			return 1;
	}
	return 0;
}

/* Whether every line of s fits, the first after "Name: ". */
static int
rfc2047_fits(const char *s, size_t first)
{
	const char *p, *e;
	size_t col = first;

	for (p = s; (e = strstr(p, "\r\n")) != NULL; p = e + 2) {
		if (col + (size_t)(e - p) > RFC2047_LINE_MAX)
			return 0;
		col = 0;
	}
	return col + strlen(p) <= RFC2047_LINE_MAX;
}

/* The tidy form: raw words kept, encoded runs only where needed. */
static char *
rfc2047_encode_words(const unsigned char *t, size_t n, size_t first)
{
	struct rfc2047_buf b = { NULL, 0, 0 }, run = { NULL, 0, 0 };
	struct rfc2047_unit *u = NULL;
	size_t nu = 0, cap = 0, i = 0, k, a, col = first, width, room;
	char enc;

	/* Units: spaces and the word after them; the last may be empty. */
	while (i < n) {
		if (nu == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			u = xreallocarray(u, cap, sizeof(*u));
		}
		u[nu].gap = i;
		while (i < n && t[i] == ' ')
			i++;
		u[nu].gap_len = i - u[nu].gap;
		u[nu].word = i;
		while (i < n && t[i] != ' ')
			i++;
		u[nu].word_len = i - u[nu].word;
		/* The room the word has on its line after its spaces. */
		width = u[nu].gap_len + (nu == 0 ? first : 0);
		room = width < RFC2047_LINE_MAX ? RFC2047_LINE_MAX - width : 0;
		u[nu].encode = rfc2047_must_encode(t + u[nu].word,
		    u[nu].word_len, room);
		nu++;
	}
	for (k = 0; k < nu; k = a) {
		/*
		 * A break goes before a unit's spaces, never before the
		 * first unit or an empty last one (it would leave a line of
		 * white space alone).
		 */
		if (!u[k].encode) {
			width = u[k].gap_len + u[k].word_len;
			if (k > 0 && u[k].word_len > 0 &&
			    col + width > RFC2047_LINE_MAX) {
				rfc2047_adds(&b, "\r\n");
				col = 0;
			}
			rfc2047_add(&b, t + u[k].gap, width);
			col += width;
			a = k + 1;
			continue;
		}
		/* The run: encoded units k..a-1, inner spaces inside. */
		for (a = k + 1; a < nu && u[a].encode; a++)
			;
		run.len = 0;
		rfc2047_add(&run, t + u[k].word,
		    u[a - 1].word + u[a - 1].word_len - u[k].word);
		enc = rfc2047_choose((unsigned char *)run.p, run.len);
		width = u[k].gap_len + RFC2047_OVERHEAD +
		    rfc2047_cost(t + u[k].word, rfc2047_charlen(t + u[k].word,
		    u[k].word_len), enc);
		if (k > 0 && col + width > RFC2047_LINE_MAX) {
			rfc2047_adds(&b, "\r\n");
			col = 0;
		}
		rfc2047_add(&b, t + u[k].gap, u[k].gap_len);
		col += u[k].gap_len;
		rfc2047_put_run(&b, (unsigned char *)run.p, run.len, enc, &col);
	}
	free(u);
	free(run.p);
	return rfc2047_take(&b, NULL);
}

char *
rfc2047_encode(const char *utf8, const char *name)
{
	struct rfc2047_buf in = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	size_t first = strlen(name) + 2, col = first;
	char *s;

	rfc2047_add_bytes(&in, utf8, strlen(utf8), 1, 0);
	if (in.len == 0) {
		free(in.p);
		return xstrdup("");
	}
	s = rfc2047_encode_words((unsigned char *)in.p, in.len, first);
	if (rfc2047_fits(s, first)) {
		free(in.p);
		return s;
	}
	/*
	 * Long runs of spaces or a long name defeat the tidy form; one run
	 * of encoded words always fits, spaces and all.
	 */
	free(s);
	rfc2047_put_run(&b, (unsigned char *)in.p, in.len,
	    rfc2047_choose((unsigned char *)in.p, in.len), &col);
	free(in.p);
	return rfc2047_take(&b, NULL);
}
