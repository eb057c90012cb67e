/*
 * test_forum_render.c: a post's text and attachments found in its
 * message (charsets, transfer encodings, alternatives, HTML mail), the
 * HTML a post's text becomes (escaping, hostile input, quote folding,
 * signatures, links) and the text of a reply's quote.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "common.h"
#include "forum.h"

/* Extract the text of raw, which must succeed. */
static void
extract(const char *raw, struct forum_text *t)
{
	const char *err = NULL;

	if (forum_text_extract(raw, strlen(raw), t, &err) != 0)
		fail_msg("forum_text_extract: %s", err);
	assert_non_null(t->text);
	assert_int_equal(strlen(t->text), t->len);
}

/* The HTML forum_render_text makes of text (caller frees). */
static char *
render(const char *text)
{
	struct evbuffer *b;
	char *s;
	size_t n;

	b = evbuffer_new();
	assert_non_null(b);
	forum_render_text(b, text, strlen(text));
	n = evbuffer_get_length(b);
	s = xmalloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

/* Check that text renders as expect. */
static void
check_render(const char *text, const char *expect)
{
	char *s = render(text);

	assert_string_equal(s, expect);
	free(s);
}

/* Check that html becomes the text expect. */
static void
check_html(const char *html, const char *expect)
{
	char *s;
	size_t n;

	s = forum_html_to_text(html, strlen(html), &n);
	assert_string_equal(s, expect);
	assert_int_equal(n, strlen(expect));
	free(s);
}

/* A message without MIME: its body, with LF line ends. */
static void
test_plain(void **state)
{
	struct forum_text t;

	extract("From: a@example.org\r\nSubject: x\r\n\r\nHello\r\n"
	    "World\r\n", &t);
	assert_string_equal(t.text, "Hello\nWorld\n");
	assert_int_equal(t.from_html, 0);
	assert_int_equal(t.nattachments, 0);
	assert_null(t.attachments);
	forum_text_clear(&t);
	assert_null(t.text);
	/* 8-bit bytes without MIME: UTF-8 if they are, else latin-1. */
	extract("Subject: x\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n", &t);
	assert_string_equal(t.text, "Gr\xc3\xbc\xc3\x9f" "e\n");
	forum_text_clear(&t);
	extract("Subject: x\r\n\r\nGr\xfc\xdf" "e\r\n", &t);
	assert_string_equal(t.text, "Gr\xc3\xbc\xc3\x9f" "e\n");
	forum_text_clear(&t);
	/* Bad UTF-8 and a NUL are made safe. */
	extract("Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "a\xc3(b\r\n", &t);
	assert_string_equal(t.text, "a\xef\xbf\xbd(b\n");
	forum_text_clear(&t);
	extract("Content-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nYQBiDWM=\r\n", &t);
	assert_int_equal(t.len, 7);
	assert_string_equal(t.text, "a\xef\xbf\xbd" "b\nc");
	forum_text_clear(&t);
}

/* Quoted-printable latin-1, soft line breaks joined. */
static void
test_qp_latin1(void **state)
{
	struct forum_text t;

	extract("MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=ISO-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "Gr=FC=DFe aus M=FCnchen, mit weichem=\r\n"
	    " Umbruch =3D gut.\r\n", &t);
	assert_string_equal(t.text, "Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen,"
	    " mit weichem Umbruch = gut.\n");
	forum_text_clear(&t);
}

/* Base64 UTF-8. */
static void
test_base64_utf8(void **state)
{
	struct forum_text t;

	extract("MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=\"UTF-8\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "R3LDvMOfZSBhdXMgS8O2bG4g4pi6DQpad2VpdGUgWmVpbGUNCg==\r\n", &t);
	assert_string_equal(t.text, "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln "
	    "\xe2\x98\xba\nZweite Zeile\n");
	forum_text_clear(&t);
}

/* multipart/alternative: the plain version, the HTML one not listed. */
static void
test_alternative(void **state)
{
	struct forum_text t;

	extract("MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
	    "--b1\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n\r\n"
	    "<p>the <b>HTML</b> one</p>\r\n"
	    "--b1\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "the plain one\r\n"
	    "--b1--\r\n", &t);
	assert_string_equal(t.text, "the plain one");
	assert_int_equal(t.from_html, 0);
	assert_int_equal(t.nattachments, 0);
	forum_text_clear(&t);
}

/* HTML alone: made text, script and style dropped. */
static void
test_html_only(void **state)
{
	struct forum_text t;

	extract("MIME-Version: 1.0\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n\r\n"
	    "<html><head><title>T</title><style>p{color:red}</style></head>"
	    "<body><p>Hello &amp; welcome!</p><script>alert(1)</script>"
	    "<SCRIPT type=\"text/javascript\">document.write('<p>x</p>')"
	    "</SCRIPT >\r\n"
	    "<p>See <a href=\"https://example.org/x\">our site</a> and\r\n"
	    "<a href=\"https://example.org/\">https://example.org/</a>.</p>"
	    "<ul><li>one</li><li>two</li></ul>"
	    "caf&#233; &#x263A; &euro; &bogus; 1&lt;2<br>end</body></html>\r\n",
	    &t);
	assert_int_equal(t.from_html, 1);
	assert_string_equal(t.text, "Hello & welcome!\n\n"
	    "See our site <https://example.org/x> and https://example.org/.\n\n"
	    "- one\n- two\n"
	    "caf\xc3\xa9 \xe2\x98\xba \xe2\x82\xac &bogus; 1<2\nend\n");
	assert_null(strstr(t.text, "alert"));
	assert_null(strstr(t.text, "color"));
	forum_text_clear(&t);
}

/* What forum_html_to_text keeps, drops and decodes. */
static void
test_html_to_text(void **state)
{
	check_html("", "");
	check_html("<p>a</p><br><br><br><p>b</p>", "a\n\nb\n");
	check_html("  a   b\r\n c  ", "a b c\n");
	check_html("<div>a</div><div>b</div><h1>T</h1>x<tr><td>1</td></tr>",
	    "a\nb\nT\nx\n1\n");
	check_html("<pre>  x\n   y</pre>z", "  x\n   y\nz\n");
	check_html("a&nbsp;&nbsp;b &#0; &#150; &#x110000; &#xD800; &amp",
	    "a  b \xef\xbf\xbd \xe2\x80\x93 \xef\xbf\xbd \xef\xbf\xbd &amp\n");
	check_html("<!-- <p>hidden</p> -->a<!DOCTYPE html> < b <3 </ c",
	    "a < b <3 </ c\n");
	/* Only http, https and mailto addresses are kept. */
	check_html("<a href=\"javascript:alert(1)\">click</a> "
	    "<a href='mailto:a@example.org'>a@example.org</a> "
	    "<a href=mailto:b@example.org>write</a> "
	    "<a title=\"x>y\" href=\"http://e.org/?a=1&amp;b=2\">q</a> "
	    "<a href=\"data:text/html,x\">d</a>",
	    "click a@example.org write <mailto:b@example.org> "
	    "q <http://e.org/?a=1&b=2> d\n");
	/* Unclosed things end the text; bad UTF-8 is made safe. */
	check_html("a<script>b", "a\n");
	check_html("a <a href=\"http://x.org\">b", "a b <http://x.org>\n");
	check_html("a<b", "a\n");
	check_html("\xff<i>x</i>", "\xef\xbf\xbdx\n");
}

/* Attachments: listed with name, type and size, and fetched back. */
static void
test_attachment(void **state)
{
	static const char raw[] =
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
	    "--xx\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "See the file.\r\n"
	    "--xx\r\n"
	    "Content-Type: application/PDF\r\n"
	    "Content-Disposition: attachment;\r\n"
	    " filename*=UTF-8''R%C3%A9sum%C3%A9.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "JVBERi0xLjQAAQJiaW5hcnn/\r\n"
	    "--xx\r\n"
	    "Content-Type: image/png\r\n\r\n"
	    "PNG\r\n"
	    "--xx\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Disposition: attachment; filename=\"../../etc/passwd\"\r\n"
	    "\r\n"
	    "root\r\n"
	    "--xx--\r\n";
	struct forum_text t;
	char *data, *type, *name;
	size_t len;

	extract(raw, &t);
	assert_string_equal(t.text, "See the file.");
	assert_int_equal(t.nattachments, 3);
	assert_string_equal(t.attachments[0].filename,
	    "R\xc3\xa9sum\xc3\xa9.pdf");
	assert_string_equal(t.attachments[0].type, "application/pdf");
	assert_int_equal(t.attachments[0].size, 18);
	assert_int_equal(t.attachments[0].part, 2);
	assert_string_equal(t.attachments[1].filename, "part-3");
	assert_string_equal(t.attachments[1].type, "image/png");
	assert_int_equal(t.attachments[1].size, 3);
	assert_int_equal(t.attachments[1].part, 3);
	assert_string_equal(t.attachments[2].filename, "passwd");
	assert_int_equal(t.attachments[2].part, 4);

	assert_int_equal(forum_attachment_get(raw, sizeof(raw) - 1, 2, &data,
	    &len, &type, &name), 0);
	assert_int_equal(len, 18);
	assert_memory_equal(data, "%PDF-1.4\0\1\2binary\xff", 18);
	assert_string_equal(type, "application/pdf");
	assert_string_equal(name, "R\xc3\xa9sum\xc3\xa9.pdf");
	free(data);
	free(type);
	free(name);
	/* The text, the multipart and parts that are not there. */
	assert_int_equal(forum_attachment_get(raw, sizeof(raw) - 1, 1, &data,
	    &len, &type, &name), -1);
	assert_null(data);
	assert_int_equal(forum_attachment_get(raw, sizeof(raw) - 1, 0, &data,
	    &len, &type, &name), -1);
	assert_int_equal(forum_attachment_get(raw, sizeof(raw) - 1, 5, &data,
	    &len, &type, &name), -1);
	assert_int_equal(forum_attachment_get(raw, sizeof(raw) - 1, -1, &data,
	    &len, &type, &name), -1);
	forum_text_clear(&t);
	assert_int_equal(t.nattachments, 0);
}

/* An attached message is one attachment; its text is not the post's. */
static void
test_attached_message(void **state)
{
	struct forum_text t;

	extract("MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	    "--m\r\n"
	    "Content-Type: message/rfc822\r\n\r\n"
	    "From: b@example.org\r\nSubject: inner\r\n\r\ninner text\r\n"
	    "--m--\r\n", &t);
	assert_string_equal(t.text, "");
	assert_int_equal(t.nattachments, 1);
	assert_string_equal(t.attachments[0].type, "message/rfc822");
	assert_string_equal(t.attachments[0].filename, "part-1");
	forum_text_clear(&t);
}

/* A message mime_parse refuses is refused with its reason. */
static void
test_refused(void **state)
{
	struct forum_text t;
	const char *err = NULL;
	const char raw[] = "Content-Type: multipart/mixed; "
	    "boundary=\"\\\"\"\r\n\r\n--x\r\n\r\nhi\r\n";

	assert_int_equal(forum_text_extract(raw, sizeof(raw) - 1, &t, &err),
	    -1);
	assert_string_equal(err, "unusable multipart boundary");
	assert_null(t.text);
	forum_text_clear(&t);
}

/* forum_escape: the five characters, nothing else. */
static void
test_escape(void **state)
{
	struct evbuffer *b = evbuffer_new();
	const char s[] = "a&b<c>d\"e'f\xc3\xa4";
	char out[64];
	size_t n;

	forum_escape(b, s, sizeof(s) - 1);
	n = evbuffer_remove(b, out, sizeof(out) - 1);
	out[n] = '\0';
	assert_string_equal(out, "a&amp;b&lt;c&gt;d&quot;e&#39;f\xc3\xa4");
	evbuffer_free(b);
}

/* Hostile text renders inert. */
static void
test_xss(void **state)
{
	const char *html = "<p onclick=\"alert(1)\">hi<img src=x "
	    "onerror=alert(1)></p><script>alert(2)</script>";
	char *s;

	check_render("<script>alert(1)</script>",
	    "<div class=\"text\">&lt;script&gt;alert(1)&lt;/script&gt;</div>");
	check_render("\"><img src=x onerror=alert(1)>",
	    "<div class=\"text\">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
	    "</div>");
	check_render("javascript:alert(1) JavaScript://x.org/%0aalert(1)",
	    "<div class=\"text\">javascript:alert(1) "
	    "JavaScript://x.org/%0aalert(1)</div>");
	check_render("http://x.org/\"onmouseover=\"alert(1)",
	    "<div class=\"text\"><a href=\"http://x.org/\" "
	    "rel=\"nofollow noopener\">http://x.org/</a>&quot;onmouseover="
	    "&quot;alert(1)</div>");
	check_render("http://x.org/a'onclick='alert(1)",
	    "<div class=\"text\"><a href=\"http://x.org/a&#39;onclick=&#39;"
	    "alert(1)\" rel=\"nofollow noopener\">http://x.org/a&#39;onclick="
	    "&#39;alert(1)</a></div>");
	check_render("> <script>x</script>\n-- \n<b>sig</b>",
	    "<div class=\"text\"><details class=\"quote\"><summary>1 quoted "
	    "line</summary>&gt; &lt;script&gt;x&lt;/script&gt;\n</details>"
	    "<div class=\"sig\">-- \n&lt;b&gt;sig&lt;/b&gt;</div></div>");
	/* An HTML mail's script never reaches the page. */
	s = forum_html_to_text(html, strlen(html), NULL);
	assert_string_equal(s, "hi\n");
	free(s);
}

/* Runs of quoted lines fold; other lines stay as they are. */
static void
test_quote_fold(void **state)
{
	check_render("", "<div class=\"text\"></div>");
	check_render("Bob wrote:\n> one\n> two\n>> three\nmy answer\n\n"
	    "> again\nend",
	    "<div class=\"text\">Bob wrote:\n"
	    "<details class=\"quote\"><summary>3 quoted lines</summary>"
	    "&gt; one\n&gt; two\n&gt;&gt; three\n</details>"
	    "my answer\n\n"
	    "<details class=\"quote\"><summary>1 quoted line</summary>"
	    "&gt; again\n</details>end</div>");
	/* A '>' inside a line is no quote. */
	check_render("a > b\n", "<div class=\"text\">a &gt; b\n</div>");
}

/* The signature, from the last "-- " line on. */
static void
test_signature(void **state)
{
	check_render("text\n-- \nAlice\nhttps://alice.example\n",
	    "<div class=\"text\">text\n<div class=\"sig\">-- \nAlice\n"
	    "<a href=\"https://alice.example\" rel=\"nofollow noopener\">"
	    "https://alice.example</a>\n</div></div>");
	check_render("a\n-- \nb\n--\nc",
	    "<div class=\"text\">a\n-- \nb\n<div class=\"sig\">--\nc</div>"
	    "</div>");
	check_render("a\n---\n-- x\n",
	    "<div class=\"text\">a\n---\n-- x\n</div>");
}

/* Links: the five schemes, punctuation at the end left out. */
static void
test_links(void **state)
{
	check_render("See http://example.org/a, (https://en.wikipedia.org/"
	    "wiki/C_(language)) or <ftp://ftp.example.org/f>.\n"
	    "Write mailto:a@example.org! Read news:comp.lang.c? "
	    "http://x.org/?q=1&r=2.\n"
	    "Not: xhttp://a.org http:// news: news:<x@y> (http://p.org/).",
	    "<div class=\"text\">See "
	    "<a href=\"http://example.org/a\" rel=\"nofollow noopener\">"
	    "http://example.org/a</a>, ("
	    "<a href=\"https://en.wikipedia.org/wiki/C_(language)\" "
	    "rel=\"nofollow noopener\">"
	    "https://en.wikipedia.org/wiki/C_(language)</a>) or &lt;"
	    "<a href=\"ftp://ftp.example.org/f\" rel=\"nofollow noopener\">"
	    "ftp://ftp.example.org/f</a>&gt;.\n"
	    "Write <a href=\"mailto:a@example.org\" rel=\"nofollow noopener\">"
	    "mailto:a@example.org</a>! Read "
	    "<a href=\"news:comp.lang.c\" rel=\"nofollow noopener\">"
	    "news:comp.lang.c</a>? "
	    "<a href=\"http://x.org/?q=1&amp;r=2\" rel=\"nofollow noopener\">"
	    "http://x.org/?q=1&amp;r=2</a>.\n"
	    "Not: xhttp://a.org http:// news: news:&lt;x@y&gt; ("
	    "<a href=\"http://p.org/\" rel=\"nofollow noopener\">"
	    "http://p.org/</a>).</div>");
}

/* A reply's quote. */
static void
test_quote(void **state)
{
	const char text[] = "Hi,\n\n> earlier\nthanks\n\n\n-- \nBob\n";
	char *s;

	s = forum_quote("Bob", text, sizeof(text) - 1);
	assert_string_equal(s, "Bob wrote:\n> Hi,\n>\n>> earlier\n> thanks\n");
	free(s);
	s = forum_quote("Eve\r\nX-Evil: 1", "", 0);
	assert_string_equal(s, "Eve  X-Evil: 1 wrote:\n");
	free(s);
	s = forum_quote("A", "no newline", 10);
	assert_string_equal(s, "A wrote:\n> no newline\n");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_qp_latin1),
		cmocka_unit_test(test_base64_utf8),
		cmocka_unit_test(test_alternative),
		cmocka_unit_test(test_html_only),
		cmocka_unit_test(test_html_to_text),
		cmocka_unit_test(test_attachment),
		cmocka_unit_test(test_attached_message),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_xss),
		cmocka_unit_test(test_quote_fold),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
