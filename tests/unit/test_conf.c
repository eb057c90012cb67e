/*
 * test_conf.c: syncd.conf parsing, defaults, lookups, errors and the
 * canonical printer.  The golden files in tests/conf/ are checked through
 * the real binary by tests/integration/conf.sh.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define BASE \
	"hostname gw.example.org\n" \
	"channel a {\n" \
	"\tnewsgroup pirates.de.test\n" \
	"\tlist Test@Lists.Example.org\n" \
	"\tboard test\n" \
	"}\n"

static void
test_defaults(void **state)
{
	struct conf *conf = test_conf(BASE);
	struct conf_channel *c = TAILQ_FIRST(&conf->channels);

	assert_string_equal(conf->hostname, "gw.example.org");
	assert_string_equal(conf->path_identity, "gw.example.org");
	assert_int_equal(conf->max_attempts, 30);
	assert_int_equal(conf->max_age, 5 * 86400);
	assert_int_equal(conf->retry_min, 30);
	assert_int_equal(conf->retry_max, 3600);
	assert_int_equal(conf->max_message_size, 10 * 1024 * 1024);
	assert_int_equal(conf->delivery_concurrency, 8);
	assert_int_equal(conf->log_verbose, 0);
	assert_null(conf->user);
	assert_non_null(conf->data_dir);
	assert_int_equal(conf->nchannels, 1);
	assert_string_equal(c->name, "a");
	assert_int_equal(c->direction, DIRECTION_BOTH);
	assert_int_equal(c->moderated, 0);
	/* Mailman 3's List-Id derives from the address. */
	assert_string_equal(c->list_id, "Test.Lists.Example.org");
	assert_int_equal(conf->deliver[SIDE_LIST].kind, TRANSPORT_NONE);
	conf_unref(&conf);
	assert_null(conf);
}

static void
test_units(void **state)
{
	struct conf *conf = test_conf("max-age 2w\nretry-min 90\n"
	    "retry-max 3h\nmax-message-size 64K\n" BASE);

	assert_int_equal(conf->max_age, 14 * 86400);
	assert_int_equal(conf->retry_min, 90);
	assert_int_equal(conf->retry_max, 3 * 3600);
	assert_int_equal(conf->max_message_size, 65536);
	conf_unref(&conf);
}

static void
test_lookups(void **state)
{
	struct conf *conf = test_conf(BASE
	    "channel b {\n"
	    "\tnewsgroup pirates.de.b\n"
	    "\tlist b@lists.example.org\n"
	    "\tgateway-address gw+b@gw.example.org\n"
	    "\tlist-id other.lists.example.org\n"
	    "}\n");

	assert_string_equal(conf_channel_by_group(conf,
	    "pirates.de.test")->name, "a");
	assert_null(conf_channel_by_group(conf, "pirates.de"));
	assert_string_equal(conf_channel_by_list_id(conf,
	    "test.lists.example.org")->name, "a");
	assert_string_equal(conf_channel_by_list_id(conf,
	    "other.lists.example.org")->name, "b");
	assert_string_equal(conf_channel_by_address(conf,
	    "GW+B@gw.example.org")->name, "b");
	assert_string_equal(conf_channel_by_address(conf,
	    "b@lists.example.org")->name, "b");
	assert_string_equal(conf_channel_by_address(conf,
	    "test@lists.example.org")->name, "a");
	assert_null(conf_channel_by_address(conf, "x@example.org"));
	assert_string_equal(conf_channel_by_board(conf, "test")->name, "a");
	assert_null(conf_channel_by_board(conf, "b"));
	conf_unref(&conf);
}

static void
test_refcount(void **state)
{
	struct conf *conf = test_conf(BASE), *other = conf_ref(conf);

	assert_int_equal(conf->refs, 2);
	conf_unref(&other);
	assert_null(other);
	assert_int_equal(conf->refs, 1);
	conf_unref(&conf);
}

/* The error for text, or NULL when it parses. */
static char *
parse_error(const char *text, size_t len)
{
	struct conf *conf;
	char *err = NULL;

	conf = conf_parse("t.conf", text, len, &err);
	if (conf != NULL) {
		conf_unref(&conf);
		return NULL;
	}
	return err;
}

static void
assert_error(const char *text, const char *expect)
{
	char *err = parse_error(text, strlen(text));

	if (err == NULL)
		fail_msg("parsed, but expected: %s", expect);
	if (strcmp(err, expect) != 0)
		fail_msg("got \"%s\", expected \"%s\"", err, expect);
	free(err);
}

static void
test_errors(void **state)
{
	char big[6000];
	static const char nul[] = "hostname gw.example.org\n\0\n";

	assert_error("hostname gw.example.org\nfoo bar\n",
	    "t.conf:2: unknown keyword 'foo'");
	assert_error("hostname\n", "t.conf:1: hostname: wants one argument");
	assert_error("hostname a b\n", "t.conf:1: hostname: wants one"
	    " argument");
	assert_error("hostname -bad-.example\n", "t.conf:1: hostname:"
	    " '-bad-.example' is not a domain name");
	assert_error("hostname gw.example.org\nmax-attempts 1001\n",
	    "t.conf:2: max-attempts: 1001 is out of range (1 to 1000)");
	assert_error("hostname gw.example.org\nmax-attempts 12a\n",
	    "t.conf:2: max-attempts: '12a' is not a number");
	assert_error("hostname gw.example.org\nmax-message-size 10X\n",
	    "t.conf:2: max-message-size: '10X' is not a size (512, 64K, 10M,"
	    " 1G)");
	/* Found by fuzz_conf: the unit used to overflow. */
	assert_error("hostname gw.example.org\n"
	    "max-message-size 555555555555g\n",
	    "t.conf:2: max-message-size: 555555555555g is out of range (1024"
	    " to 1073741824 bytes)");
	assert_error("hostname gw.example.org\nlog-level loud\n",
	    "t.conf:2: log-level: 'loud' is not info or debug");
	assert_error("hostname gw.example.org\nchannel a {\nchannel b {\n",
	    "t.conf:3: channel blocks do not nest");
	assert_error("hostname gw.example.org\nchannel a\n",
	    "t.conf:2: usage: channel NAME { ... }");
	assert_error("hostname gw.example.org\nchannel a { newsgroup a.b\n",
	    "t.conf:2: nothing may follow '{' on its line");
	assert_error("hostname gw.example.org\n}\n",
	    "t.conf:2: '}' without a block");
	assert_error("hostname gw.example.org\ndata-dir { x\n",
	    "t.conf:2: nothing may follow '{' on its line");
	assert_error("hostname gw.example.org\ndata-dir x {\n",
	    "t.conf:2: 'data-dir' does not open a block");
	assert_error("hostname gw.example.org\ndescription \"x\"\n",
	    "t.conf:2: 'description' belongs inside a channel block");
	assert_error("hostname \"a\\nb\"\n", "t.conf:1: only \\\" and \\\\"
	    " may be escaped in a quoted string");
	assert_error("hostname gw.example.org\narchive maildir \"\"\n",
	    "t.conf:2: archive: '' is not a path");
	assert_error("hostname gw.example.org\narchive mbox /x\n",
	    "t.conf:2: archive: unknown transport 'mbox' (known: maildir)");
	assert_error("hostname gw.example.org\narchive maildir /x\n"
	    "archive maildir /y\n",
	    "t.conf:3: archive is already set at line 2");
	assert_error("hostname gw.example.org\ndeliver news maildir /x\n"
	    "deliver news maildir /y\n",
	    "t.conf:3: deliver news is already set at line 2");
	assert_error("hostname gw.example.org\nretry-min 1h\n"
	    "retry-max 1m\nchannel a {\nnewsgroup a.b\nboard a\n}",
	    "t.conf:7: retry-min (3600s) is above retry-max (60s)");
	assert_error(BASE "channel b {\n\tboard test\n\tlist x@y.org\n}\n",
	    "t.conf:7: channel b: board test is already in channel a");
	assert_error(BASE "channel a {\n\tboard x\n\tlist x@y.org\n}\n",
	    "t.conf:7: channel a: already defined at line 2");
	assert_error(BASE "channel b {\n\tboard x\n\tlist "
	    "TEST@lists.example.org\n}\n",
	    "t.conf:7: channel b: list TEST@lists.example.org is already in"
	    " channel a");
	assert_error("hostname gw.example.org\nchannel a {\n"
	    "\tnewsgroup a.b\n\tboard a\n\tlist-id x.y\n}\n",
	    "t.conf:2: channel a: list-id and gateway-address need a list");
	assert_error("hostname gw.example.org\nchannel a {\n"
	    "\tlist a@b.org\n\tboard a\n\tmoderated yes\n}\n",
	    "t.conf:2: channel a: moderated and approve need a newsgroup");
	assert_error("hostname gw.example.org\nchannel a {\n"
	    "\tnewsgroup a.b\n\tboard a\n\tmoderated maybe\n}\n",
	    "t.conf:5: moderated: 'maybe' is not yes or no");
	assert_error("hostname gw.example.org\nchannel a {\n"
	    "\tnewsgroup a.b\n\tboard a\n\tdescription \"\x01\"\n}\n",
	    "t.conf:5: description: '\x01' is not printable UTF-8 text");
	assert_error("hostname gw.example.org\nchannel a {\n"
	    "\tnewsgroup a.b\n\tboard a\n\tdescription \"\xff\"\n}\n",
	    "t.conf:5: description: '\xff' is not printable UTF-8 text");
	/* Found by fuzz_conf: a second "@" made the derived List-Id
	   invalid, so the canonical form did not parse again. */
	assert_error("hostname gw.example.org\nchannel a {\n"
	    "\tnewsgroup a.b\n\tlist a@b@example.org\n}\n",
	    "t.conf:4: list: 'a@b@example.org' is not a mail address"
	    " (local@domain)");
	assert_error("hostname gw.example.org\nchannel a {\n"
	    "\tnewsgroup a.b\n\tlist a..b@example.org\n}\n",
	    "t.conf:4: list: 'a..b@example.org' is not a mail address"
	    " (local@domain)");
	/* Found in review: "}" took a statement after it, and a repeated
	   setting silently replaced the first. */
	assert_error(BASE "channel b {\n\tboard x\n\tlist x@y.org\n"
	    "} hostname h.example.org\n",
	    "t.conf:10: nothing may follow '}' on its line");
	assert_error("hostname gw.example.org\nchannel a {\n"
	    "\tboard x\n\tnewsgroup a.b\n\tboard y\n}\n",
	    "t.conf:5: board is already set at line 3");
	assert_error("hostname gw.example.org\nmax-age 1d\nmax-age 2d\n",
	    "t.conf:3: max-age is already set at line 2");
	assert_error("hostname gw.example.org\na b c d e f g h i\n",
	    "t.conf:2: too many arguments");

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "hostname ", 9);
	{
		char *err = parse_error(big, strlen(big));

		assert_non_null(err);
		assert_string_equal(err, "t.conf:1: word longer than 4095"
		    " bytes");
		free(err);
	}
	{
		char *err = parse_error(nul, sizeof(nul) - 1);

		assert_non_null(err);
		assert_string_equal(err, "t.conf:2: NUL byte in the file");
		free(err);
	}
}

/* Print, parse the output, print again: the two prints are the same. */
static void
test_print_round_trip(void **state)
{
	struct conf *conf, *again;
	char *one = NULL, *two = NULL, *err = NULL;
	size_t len1 = 0, len2 = 0;
	FILE *fp;

	conf = test_conf("hostname gw.example.org\n"
	    "path-identity gw_1.example.org\n"
	    "max-age 90m\nretry-min 61\nretry-max 2d\n"
	    "max-message-size 1048577\n"
	    "deliver list maildir \"/a b/#c\"\n"
	    "archive maildir /arch\n"
	    "channel \"x\" {\n"
	    "\tnewsgroup a.b\n\tlist l@example.org\n\tboard x\n"
	    "\tdirection list-to-news\n\tmoderated yes\n"
	    "\tapprove mod@example.org\n"
	    "\tsubject-tag \"[X] \\\"q\\\"\"\n"
	    "\tdescription \"Grüße { } # \\\\\"\n"
	    "}\n");
	fp = open_memstream(&one, &len1);
	conf_print(conf, fp);
	fclose(fp);

	again = conf_parse("again", one, len1, &err);
	if (again == NULL)
		fail_msg("reparse: %s\n%s", err, one);
	fp = open_memstream(&two, &len2);
	conf_print(again, fp);
	fclose(fp);
	assert_string_equal(one, two);

	assert_non_null(strstr(one, "max-age 90m\n"));
	assert_non_null(strstr(one, "retry-min 61s\n"));
	assert_non_null(strstr(one, "retry-max 2d\n"));
	assert_non_null(strstr(one, "max-message-size 1048577\n"));
	assert_non_null(strstr(one, "deliver list maildir \"/a b/#c\"\n"));
	assert_non_null(strstr(one, "\tdirection list-to-news\n"));
	assert_non_null(strstr(one, "\tlist-id l.example.org\n"));
	assert_string_equal(TAILQ_FIRST(&again->channels)->description,
	    "Grüße { } # \\");
	assert_string_equal(TAILQ_FIRST(&again->channels)->subject_tag,
	    "[X] \"q\"");
	conf_unref(&conf);
	conf_unref(&again);
	free(one);
	free(two);
}

static void
test_sides(void **state)
{
	enum side s;

	assert_int_equal(side_from_name("news", &s), 0);
	assert_int_equal(s, SIDE_NEWS);
	assert_int_equal(side_from_name("forum", &s), 0);
	assert_int_equal(s, SIDE_FORUM);
	assert_int_equal(side_from_name("mail", &s), -1);
	assert_string_equal(side_name(SIDE_LIST), "list");
	assert_string_equal(direction_name(DIRECTION_READ_ONLY), "read-only");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_sides),
	};

	log_init(1, 0, "test_conf");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
