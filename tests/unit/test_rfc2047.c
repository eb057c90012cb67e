/*
 * test_rfc2047.c: unit tests for common/rfc2047.c (encoded words,
 * charsets, UTF-8 checks).
 *
 * The decoding cases start with the examples of RFC 2047 section 8; the
 * encoder is held to its promises (line and word limits, whole
 * characters, decode(encode(x)) == x) on fixed cases and on a few
 * thousand random strings from a fixed seed.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

/* Check that decoding value gives expect. */
static void
check_decode(const char *value, const char *expect)
{
	char *s;

	s = rfc2047_decode(value);
	assert_string_equal(s, expect);
	free(s);
}

/* s with the CRLF of every fold removed. */
static char *
unfold(const char *s)
{
	char *out = strdup(s), *o = out;

	assert_non_null(out);
	for (; *s != '\0'; s++) {
		if (s[0] == '\r' && s[1] == '\n') {
			s++;
			continue;
		}
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/*
 * Check what rfc2047_encode promises for text under name: the result
 * decodes back to text, lines fit in 78 octets counting "Name: ", every
 * encoded word fits in 75 octets and holds whole characters.  Returns the
 * encoded value for more checks.
 */
static char *
check_encode(const char *text, const char *name)
{
	char *enc, *flat, *dec, *word, *wdec;
	const char *p, *e, *q;
	size_t col = strlen(name) + 2;

	enc = rfc2047_encode(text, name);
	for (p = enc; (e = strstr(p, "\r\n")) != NULL; p = e + 2) {
		assert_true(col + (size_t)(e - p) <= 78);
		/* A fold is CRLF before white space, never a bare break. */
		assert_true(e[2] == ' ' || e[2] == '\t');
		col = 0;
	}
	assert_true(col + strlen(p) <= 78);
	for (p = enc; (p = strstr(p, "=?UTF-8?")) != NULL; p = q) {
		assert_non_null(q = strstr(p + 10, "?="));
		q += 2;
		assert_true(q - p <= 75);
		word = strndup(p, q - p);
		wdec = rfc2047_decode(word);
		assert_null(strstr(wdec, "\xef\xbf\xbd"));
		assert_true(utf8_valid(wdec, strlen(wdec)));
		free(word);
		free(wdec);
	}
	flat = unfold(enc);
	dec = rfc2047_decode(flat);
	assert_string_equal(dec, text);
	free(dec);
	free(flat);
	return enc;
}

/* RFC 2047 section 8: the display examples. */
static void
test_decode_rfc_examples(void **state)
{
	check_decode("(=?ISO-8859-1?Q?a?=)", "(a)");
	check_decode("(=?ISO-8859-1?Q?a?= b)", "(a b)");
	check_decode("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)");
	check_decode("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)");
	check_decode("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)");
	check_decode("(=?ISO-8859-1?Q?a_b?=)", "(a b)");
	check_decode("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)");
	check_decode("=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>",
	    "Keith Moore <moore@cs.utk.edu>");
	check_decode("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
	    "Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>");
	check_decode("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n "
	    "=?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
	    "If you can read this you understand the example.");
}

/* Charsets through iconv, and the names we read them by. */
static void
test_decode_charsets(void **state)
{
	/* "Привет" in KOI8-R and windows-1251. */
	check_decode("=?koi8-r?b?8NLJ18XU?=",
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	check_decode("=?windows-1251?q?=CF=F0=E8=E2=E5=F2?=",
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	/* ISO-2022-JP is stateful: "にはいです". */
	check_decode("=?iso-2022-jp?B?GyRCJEskTyQkJEckORsoQg==?=",
	    "\xe3\x81\xab\xe3\x81\xaf\xe3\x81\x84\xe3\x81\xa7\xe3\x81\x99");
	/* ISO-8859-15 has the euro sign at 0xA4, ISO-8859-1 does not. */
	check_decode("=?ISO_8859-15?Q?=A4?=", "\xe2\x82\xac");
	check_decode("=?latin1?Q?=A4?=", "\xc2\xa4");
	/* Upper and lower case B and Q, any case of charset name. */
	check_decode("=?Utf-8?b?w6Q=?==?UTF8?Q?=C3=B6?=", "\xc3\xa4\xc3\xb6");
	/* RFC 2231 section 5: a language after the charset. */
	check_decode("=?utf-8*de?q?Gr=C3=BC=C3=9Fe?=",
	    "Gr\xc3\xbc\xc3\x9f" "e");
}

/* Raw 8-bit text: UTF-8 stays, anything else is windows-1252. */
static void
test_decode_raw_bytes(void **state)
{
	check_decode("K\xc3\xb6ln", "K\xc3\xb6ln");
	check_decode("K\xf6ln", "K\xc3\xb6ln");
	check_decode("\x80 \x9f", "\xe2\x82\xac \xc5\xb8");
	/* 0x81 is a hole in windows-1252. */
	check_decode("a\x81z", "a\xef\xbf\xbdz");
	/* Mixed: the valid sequence is kept, the stray byte mapped. */
	check_decode("\xc3\xa4\xe4", "\xc3\xa4\xc3\xa4");
	/* Overlong and surrogate forms are not UTF-8. */
	check_decode("\xc0\xaf", "\xc3\x80\xc2\xaf");
}

/* Octets that are not what the label says become U+FFFD. */
static void
test_decode_bad_octets(void **state)
{
	check_decode("=?utf-8?q?a=C3?=", "a\xef\xbf\xbd");
	check_decode("=?utf-8?q?=ED=A0=80?=",
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	check_decode("=?x-unknown?q?abc=FF?=", "abc\xef\xbf\xbd");
	/* A NUL cannot stay in a C string. */
	check_decode("=?utf-8?q?a=00b?=", "a\xef\xbf\xbd" "b");
	/* Shift_JIS lead byte without its trail. */
	check_decode("=?shift_jis?q?=82?=", "\xef\xbf\xbd");
	/* A charset name may not smuggle iconv options. */
	check_decode("=?utf-8//TRANSLIT?q?=C3=A4?=", "\xc3\xa4");
}

/* A character split over two words (section 5 forbids it) is read. */
static void
test_decode_split_character(void **state)
{
	check_decode("=?utf-8?q?=C3?= =?utf-8?q?=A4?=", "\xc3\xa4");
	check_decode("=?utf-8?q?=E2=82?=\r\n =?UTF-8?Q?=AC?=", "\xe2\x82\xac");
	/* Different charsets are converted apart. */
	check_decode("=?utf-8?q?=C3?= =?iso-8859-1?q?=A4?=",
	    "\xef\xbf\xbd\xc2\xa4");
}

/* Things that look like encoded words but are not stay as they are. */
static void
test_decode_not_words(void **state)
{
	check_decode("=?utf-8?q?a b?=", "=?utf-8?q?a b?=");
	check_decode("=?utf-8?x?abc?=", "=?utf-8?x?abc?=");
	check_decode("=??q?a?=", "=??q?a?=");
	check_decode("=?utf-8?q?abc", "=?utf-8?q?abc");
	check_decode("a=?b", "a=?b");
	check_decode("= ? =", "= ? =");
	check_decode("", "");
	/* White space next to plain text is text. */
	check_decode("=?utf-8?q?a?= b", "a b");
	check_decode("a =?utf-8?q?b?=", "a b");
	check_decode("=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b");
	/* Empty encoded text is allowed. */
	check_decode("x=?utf-8?q?" "?=y", "xy");
	/* Q: "=" not followed by two hex digits is kept. */
	check_decode("=?utf-8?q?a=ZZ=4?=", "a=ZZ=4");
	/* B: padding ends the data. */
	check_decode("=?utf-8?b?YQ==YmM=?=", "a");
}

/* Printable ASCII comes back as it is; long lines are folded. */
static void
test_encode_ascii(void **state)
{
	const char *long_text = "This subject line is much longer than the "
	    "seventy-eight octets a header line should keep to, so it folds";
	char *s;

	s = check_encode("Hello world", "Subject");
	assert_string_equal(s, "Hello world");
	free(s);
	s = check_encode(long_text, "Subject");
	assert_non_null(strstr(s, "\r\n "));
	assert_null(strstr(s, "=?"));
	free(s);
	s = check_encode("", "Subject");
	assert_string_equal(s, "");
	free(s);
}

/* Only the words that need it are encoded; Q or B, whichever is shorter. */
static void
test_encode_words(void **state)
{
	char *s;

	s = check_encode("Gr\xc3\xbc\xc3\x9f" "e aus Universit\xc3\xa4tsstadt",
	    "Subject");
	assert_string_equal(s, "=?UTF-8?B?R3LDvMOfZQ==?= aus "
	    "=?UTF-8?Q?Universit=C3=A4tsstadt?=");
	free(s);
	/* Adjacent encoded words: the space goes inside (section 6.2). */
	s = check_encode("\xc3\xa4 \xc3\xb6", "Subject");
	assert_string_equal(s, "=?UTF-8?B?w6Qgw7Y=?=");
	free(s);
	/* Japanese is shorter in B. */
	s = check_encode("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "Subject");
	assert_string_equal(s, "=?UTF-8?B?5pel5pys6Kqe?=");
	free(s);
}

/* Words decoding would misread, and words no line can hold. */
static void
test_encode_special_words(void **state)
{
	char word[101], *s;

	s = check_encode("see =?utf-8?q?x?= here", "Subject");
	assert_null(strstr(s, "=?utf-8?q?x?="));
	free(s);
	s = check_encode("tab\there", "Subject");
	assert_non_null(strstr(s, "=09"));
	free(s);
	s = check_encode("line\r\nbreak", "Subject");
	assert_non_null(strstr(s, "=0D=0A"));
	free(s);
	memset(word, 'w', 100);
	word[100] = '\0';
	s = check_encode(word, "Subject");
	assert_non_null(strstr(s, "=?UTF-8?"));
	free(s);
	/* Runs of spaces survive, outside and inside encoded words. */
	s = check_encode("  a      b  \xc3\xa4  ", "Subject");
	free(s);
}

/* Long text is cut into words at character boundaries only. */
static void
test_encode_limits(void **state)
{
	char text[2048], *s;
	size_t i, n = 0;

	for (i = 0; i < 300; i++) {
		memcpy(text + n, "\xe2\x82\xac", 3);
		n += 3;
	}
	text[n] = '\0';
	s = check_encode(text, "Subject");
	free(s);
	/* Four-octet characters, and a long field name. */
	n = 0;
	for (i = 0; i < 200; i++) {
		memcpy(text + n, i % 7 == 0 ? " " : "\xf0\x9f\x98\x80",
		    i % 7 == 0 ? 1 : 4);
		n += i % 7 == 0 ? 1 : 4;
	}
	text[n] = '\0';
	s = check_encode(text, "X-Fifty-Six-Octets-Long-Field-Name-For-Tests"
	    "-abcdefghijk");
	free(s);
}

/* Bytes that are not UTF-8 are encoded as their windows-1252 reading. */
static void
test_encode_not_utf8(void **state)
{
	char *s, *d, *flat;

	s = rfc2047_encode("K\xf6ln", "Subject");
	flat = unfold(s);
	d = rfc2047_decode(flat);
	assert_string_equal(d, "K\xc3\xb6ln");
	free(d);
	free(flat);
	free(s);
}

/* A small deterministic generator for the property test. */
static uint32_t
rng(uint32_t *seed)
{
	*seed = *seed * 1103515245 + 12345;
	return (*seed >> 8) & 0xffffff;
}

/* Append one code point as UTF-8. */
static size_t
put_cp(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | (cp >> 6);
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | (cp >> 12);
		out[1] = 0x80 | ((cp >> 6) & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | (cp >> 18);
	out[1] = 0x80 | ((cp >> 12) & 0x3f);
	out[2] = 0x80 | ((cp >> 6) & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* decode(encode(x)) == x, with the limits, for random UTF-8 x. */
static void
test_encode_roundtrip_random(void **state)
{
	static const char *names[] = { "Subject", "From", "X-Gateway-Note",
	    "X-A-Field-Name-Of-Exactly-Fifty-Six-Octets-abcdefghijklm" };
	static const char *pieces[] = { "=?", "?=", "=?utf-8?q?x?=", "_",
	    "==", "?", "  ", "\t", "\r\n", "Re: " };
	char text[1200], *s;
	uint32_t seed = 20240305, cp, kind;
	size_t n, len, k, i;
	int iter;

	assert_int_equal(strlen(names[3]), 56);
	for (iter = 0; iter < 3000; iter++) {
		len = rng(&seed) % 120;
		n = 0;
		for (i = 0; i < len && n < sizeof(text) - 16; i++) {
			kind = rng(&seed) % 10;
			if (kind < 3)
				cp = 0x21 + rng(&seed) % 94;
			else if (kind < 5)
				cp = ' ';
			else if (kind == 5)
				cp = 0x01 + rng(&seed) % 31;
			else if (kind == 6)
				cp = 0xa0 + rng(&seed) % 0x160;
			else if (kind == 7) {
				do
					cp = 0x800 + rng(&seed) % 0xf000;
				while (cp >= 0xd800 && cp <= 0xdfff);
			} else if (kind == 8)
				cp = 0x10000 + rng(&seed) % 0x100000;
			else {
				k = rng(&seed) % (sizeof(pieces) /
				    sizeof(pieces[0]));
				memcpy(text + n, pieces[k], strlen(pieces[k]));
				n += strlen(pieces[k]);
				continue;
			}
			n += put_cp(text + n, cp);
		}
		text[n] = '\0';
		assert_true(utf8_valid(text, n));
		s = check_encode(text, names[iter % 4]);
		free(s);
	}
}

/* charset_to_utf8: known names, unknown ones, lengths and NULs. */
static void
test_charset_to_utf8(void **state)
{
	char *s;
	size_t n;

	s = charset_to_utf8("iso-8859-2", "\xb1", 1, &n);
	assert_non_null(s);
	assert_int_equal(n, 2);
	assert_string_equal(s, "\xc4\x85");
	free(s);
	s = charset_to_utf8("UTF-8", "a\0b\xff", 4, &n);
	assert_non_null(s);
	assert_int_equal(n, 6);
	assert_memory_equal(s, "a\0b\xef\xbf\xbd", 6);
	free(s);
	s = charset_to_utf8("us-ascii", "caf\xe9", 4, &n);
	assert_string_equal(s, "caf\xc3\xa9");
	free(s);
	s = charset_to_utf8("utf-16le", "a\0\x3d\xd8", 4, &n);
	assert_non_null(s);
	assert_true(utf8_valid(s, n));
	assert_int_equal(s[0], 'a');
	free(s);
	assert_null(charset_to_utf8("x-unknown", "a", 1, &n));
	assert_null(charset_to_utf8("utf-8//IGNORE", "a", 1, &n));
	assert_null(charset_to_utf8("ibm-037", "a", 1, &n));
}

/* utf8_valid follows RFC 3629 section 4. */
static void
test_utf8_valid(void **state)
{
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("abc", 3));
	assert_true(utf8_valid("\xc2\x80", 2));
	assert_true(utf8_valid("\xed\x9f\xbf", 3));
	assert_true(utf8_valid("\xee\x80\x80", 3));
	assert_true(utf8_valid("\xf4\x8f\xbf\xbf", 4));
	assert_true(utf8_valid("a\0b", 3));
	assert_false(utf8_valid("\xc1\xbf", 2));	/* overlong */
	assert_false(utf8_valid("\xe0\x9f\xbf", 3));	/* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	assert_false(utf8_valid("\xf5\x80\x80\x80", 4));
	assert_false(utf8_valid("\xc3", 1));		/* cut short */
	assert_false(utf8_valid("\x80", 1));
	assert_false(utf8_valid("\xe2\x82", 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_rfc_examples),
		cmocka_unit_test(test_decode_charsets),
		cmocka_unit_test(test_decode_raw_bytes),
		cmocka_unit_test(test_decode_bad_octets),
		cmocka_unit_test(test_decode_split_character),
		cmocka_unit_test(test_decode_not_words),
		cmocka_unit_test(test_encode_ascii),
		cmocka_unit_test(test_encode_words),
		cmocka_unit_test(test_encode_special_words),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_encode_not_utf8),
		cmocka_unit_test(test_encode_roundtrip_random),
		cmocka_unit_test(test_charset_to_utf8),
		cmocka_unit_test(test_utf8_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
