/*
 * wildmat.c: RFC 3977 section 4 wildmats, as LIST ACTIVE, NEWNEWS and the
 * permission settings use them.
 *
 * A wildmat is a list of patterns separated by commas, each optionally
 * negated with "!"; "*" matches any run of characters and "?" exactly one
 * (UTF-8) character.  The rightmost pattern that matches decides: a match
 * if it is plain, no match if it is negated; no pattern matching means no
 * match (section 4.2).
 */

#include <string.h>

#include "nntp.h"

/* Octets in the UTF-8 character starting at s (1 for a stray byte). */
static size_t
wildmat_charlen(const unsigned char *s)
{
	size_t n, i;

	if (*s < 0xc0)
		n = 1;
	else if (*s < 0xe0)
		n = 2;
	else if (*s < 0xf0)
		n = 3;
	else
		n = 4;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/*
 * Does text match the single pattern p[0..plen)?  Iterative, with one
 * backtracking point for the last "*", so time stays O(plen * tlen).
 */
static int
wildmat_one(const char *p, size_t plen, const char *text)
{
	const unsigned char *t = (const unsigned char *)text;
	const unsigned char *star_t = NULL;
	size_t i = 0, star_i = 0;

	while (*t != '\0') {
		if (i < plen && p[i] == '*') {
			star_i = ++i;
			star_t = t;
			continue;
		}
		if (i < plen && p[i] == '?') {
			t += wildmat_charlen(t);
			i++;
			continue;
		}
		if (i < plen && (unsigned char)p[i] == *t) {
			t++;
			i++;
			continue;
		}
		if (star_t == NULL)
			return 0;
		/* Let the last "*" swallow one more character. */
		star_t += wildmat_charlen(star_t);
		t = star_t;
		i = star_i;
	}
	while (i < plen && p[i] == '*')
		i++;
	return i == plen;
}

int
wildmat_match(const char *wildmat, const char *text)
{
	const char *p = wildmat, *end;
	int result = 0, negated;

	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		negated = *p == '!';
		if (negated)
			p++;
		if (wildmat_one(p, end - p, text))
			result = !negated;
		if (*end == '\0')
			return result;
		p = end + 1;
	}
}

/*
 * Is this a wildmat by RFC 3977's grammar?  Every pattern is non-empty,
 * has at most one leading "!", and uses neither "[", "]" nor "\\", which
 * the RFC leaves out.
 */
int
wildmat_valid(const char *wildmat)
{
	const unsigned char *p = (const unsigned char *)wildmat;
	size_t len = 0;

	for (;; p++) {
		if (*p == ',' || *p == '\0') {
			if (len == 0)
				return 0;
			if (*p == '\0')
				return 1;
			len = 0;
			continue;
		}
		if (*p == '!' && len == 0 && p != (const unsigned char *)
		    wildmat && p[-1] == '!')
			return 0;
		if (*p == '!' && len == 0)
			continue;
		if (*p <= ' ' || *p == 0x7f || *p == '[' || *p == ']' ||
		    *p == '\\' || *p == '!')
			return 0;
		len++;
	}
}
