/*
 * test_mailout.c: news posts shaped for a list (what goes, what comes,
 * the list-from rewrite, Approved) and the notice to an author whose post
 * the list refused (whom it goes to, and when none goes).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "syncd.h"
#include "smtp.h"

static const char conf_text[] =
    "hostname gw.test.example\n"
    "deliver list smtp 127.0.0.1:25\n"
    "channel a {\n\tnewsgroup pirates.de.a\n\tlist a@lists.example\n"
    "\tgateway-address gw+a@gw.test.example\n\tlist-password pw\n}\n"
    "channel b {\n\tnewsgroup pirates.de.b\n\tlist b@lists.example\n"
    "\tgateway-address gw+b@gw.test.example\n\tlist-from rewrite\n}\n";

static const char article[] =
    "Path: gw.test.example!.POSTED.127.0.0.1!not-for-mail\r\n"
    "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>\r\n"
    "Newsgroups: pirates.de.a\r\n"
    "Subject: hello\r\n"
    "Message-ID: <a1@example.org>\r\n"
    "Approved: someone@example.org\r\n"
    "Injection-Info: gw.test.example; posting-host=\"127.0.0.1\"\r\n"
    "List-Id: <other.lists.example>\r\n"
    "X-Syncom-Gateway: elsewhere.example\r\n"
    "\r\n"
    "Body.\r\n";

static struct conf *
load(void)
{
	struct conf *conf;
	char *err = NULL;

	conf = conf_parse("test", conf_text, sizeof(conf_text) - 1, &err);
	if (conf == NULL)
		fail_msg("%s", err);
	return conf;
}

static struct msg *
shape(struct conf *conf, const char *channel_list, const char *raw)
{
	const struct conf_channel *c;
	struct msg *msg;
	const char *err;
	char *out;
	size_t len;

	c = conf_channel_by_address(conf, channel_list);
	assert_non_null(c);
	out = mailout_shape(conf, c, raw, strlen(raw), &len, &err);
	assert_non_null(out);
	assert_int_equal(msg_parse(out, len, &msg, &err), 0);
	free(out);
	return msg;
}

static void
test_shape(void **state)
{
	struct conf *conf = load();
	struct msg *msg = shape(conf, "a@lists.example", article);

	assert_null(msg_get(msg, "Path"));
	assert_null(msg_get(msg, "Newsgroups"));
	assert_null(msg_get(msg, "Injection-Info"));
	assert_null(msg_get(msg, "List-Id"));
	assert_string_equal(msg_get(msg, "Message-ID"), "<a1@example.org>");
	assert_string_equal(msg_get(msg, "To"), "a@lists.example");
	assert_string_equal(msg_get(msg, "From"),
	    "=?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>");
	/* The news approval goes; the list's password comes. */
	assert_int_equal(msg_count(msg, "Approved"), 1);
	assert_string_equal(msg_get(msg, "Approved"), "pw");
	assert_int_equal(msg_count(msg, "X-Syncom-Gateway"), 1);
	assert_string_equal(msg_get(msg, "X-Syncom-Gateway"),
	    "gw.test.example");
	assert_null(msg_get(msg, "Reply-To"));
	assert_memory_equal(msg->body, "Body.\r\n", 7);
	msg_free(&msg);
	conf_unref(&conf);
}

/* An edit reaches the list as a correction, in the original's thread. */
static void
test_correction(void **state)
{
	struct conf *conf = load();
	struct msg *msg = shape(conf, "a@lists.example",
	    "From: A <a@example.org>\r\n"
	    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n"
	    "Message-ID: <v2@example.org>\r\n"
	    "References: <root@example.org>\r\n"
	    "Supersedes: <v1@example.org>\r\n\r\nBetter.\r\n");
	char *subject = msg_subject(msg);

	assert_string_equal(subject, "Correction: Grüße");
	assert_null(msg_get(msg, "Supersedes"));
	assert_string_equal(msg_get(msg, "References"),
	    "<root@example.org> <v1@example.org>");
	assert_string_equal(msg_get(msg, "In-Reply-To"), "<v1@example.org>");
	free(subject);
	msg_free(&msg);
	conf_unref(&conf);
}

/*
 * Raw 8-bit header text from news goes to the list as encoded words:
 * mail headers are ASCII, and Mailman cannot read it otherwise.
 */
static void
test_8bit(void **state)
{
	struct conf *conf = load();
	struct msg *msg;
	char *v;
	size_t i;

	msg = shape(conf, "a@lists.example",
	    "From: Jörg Müller <joerg@example.org>\r\n"
	    "Subject: Kreuz und quer: Öffnungszeiten im Büro\r\n"
	    "Organization: Piraten\xe4\r\n"
	    "Message-ID: <8bit@example.org>\r\n"
	    "X-Other: stays \xc3\xa4\r\n\r\nBody.\r\n");
	for (i = 0; i < msg->nheaders; i++)
		if (strcmp(msg->headers[i].name, "X-Other") != 0)
			for (v = msg->headers[i].value; *v != '\0'; v++)
				assert_true((unsigned char)*v < 0x80);
	v = msg_subject(msg);
	assert_string_equal(v, "Kreuz und quer: Öffnungszeiten im Büro");
	free(v);
	v = msg_from(msg);
	assert_string_equal(v, "Jörg Müller <joerg@example.org>");
	free(v);
	/* Bytes that are not UTF-8 are read as windows-1252. */
	v = rfc2047_decode(msg_get(msg, "Organization"));
	assert_string_equal(v, "Piratenä");
	free(v);
	assert_string_equal(msg_get(msg, "X-Other"), "stays \xc3\xa4");
	msg_free(&msg);

	/* ASCII fields and encoded words stay as they were. */
	msg = shape(conf, "a@lists.example", article);
	assert_string_equal(msg_get(msg, "From"),
	    "=?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>");
	assert_string_equal(msg_get(msg, "Subject"), "hello");
	msg_free(&msg);
	conf_unref(&conf);
}

static void
test_rewrite(void **state)
{
	struct conf *conf = load();
	struct msg *msg;
	char *from;

	msg = shape(conf, "b@lists.example", article);
	from = msg_from(msg);
	assert_string_equal(from, "Jörg via gw.test.example <gw+b@gw.test.example>");
	free(from);
	assert_string_equal(msg_get(msg, "Reply-To"),
	    "=?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>");
	assert_null(msg_get(msg, "Approved"));
	msg_free(&msg);

	/* An ASCII name is quoted; an address alone lends its local part. */
	msg = shape(conf, "b@lists.example",
	    "From: \"Doe, Jane\" <jane@example.org>\r\nReply-To: r@example.org"
	    "\r\n\r\nx\r\n");
	assert_string_equal(msg_get(msg, "From"),
	    "\"Doe, Jane via gw.test.example\" <gw+b@gw.test.example>");
	assert_string_equal(msg_get(msg, "Reply-To"), "r@example.org");
	msg_free(&msg);
	msg = shape(conf, "b@lists.example",
	    "From: max@example.org\r\n\r\nx\r\n");
	assert_string_equal(msg_get(msg, "From"),
	    "\"max via gw.test.example\" <gw+b@gw.test.example>");
	msg_free(&msg);
	conf_unref(&conf);
}

static void
test_notice(void **state)
{
	struct conf *conf = load();
	const struct conf_channel *c;
	struct msg *msg;
	const char *err;
	char *out, *rcpt;
	size_t len;

	c = conf_channel_by_address(conf, "a@lists.example");
	out = mailout_notice(conf, c, article, strlen(article),
	    "550 5.1.1 no such list", &rcpt, &len);
	assert_non_null(out);
	assert_string_equal(rcpt, "joerg@example.org");
	assert_int_equal(msg_parse(out, len, &msg, &err), 0);
	assert_string_equal(msg_get(msg, "To"), "joerg@example.org");
	assert_string_equal(msg_get(msg, "Auto-Submitted"), "auto-replied");
	assert_string_equal(msg_get(msg, "In-Reply-To"), "<a1@example.org>");
	assert_non_null(strstr(msg->body, "550 5.1.1 no such list"));
	assert_non_null(strstr(msg->body, "a@lists.example"));
	msg_free(&msg);
	free(out);
	free(rcpt);

	/* RFC 3834: automated mail gets no answer. */
	static const char automated[] = "From: bot@example.org\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\nx\r\n";
	assert_null(mailout_notice(conf, c, automated, strlen(automated),
	    "550 no", &rcpt, &len));
	assert_null(rcpt);
	/* Nor mail from the list itself, nor mail without an author. */
	static const char fromlist[] = "From: a@lists.example\r\n\r\nx\r\n";
	assert_null(mailout_notice(conf, c, fromlist, strlen(fromlist),
	    "550 no", &rcpt, &len));
	static const char noauthor[] = "Subject: x\r\n\r\nx\r\n";
	assert_null(mailout_notice(conf, c, noauthor, strlen(noauthor),
	    "550 no", &rcpt, &len));
	conf_unref(&conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_correction),
		cmocka_unit_test(test_8bit),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_notice),
	};

	log_init(1, 0, "test_mailout");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
