/*
 * fuzz_reactor.c: libFuzzer target for the reactor (smtp/reactor.c,
 * footer.c).
 *
 * Each input is one list message, cleaned twice: with every rule on and
 * the tag found in the message, and with a fixed tag and footers only
 * for this list.  Besides running clean under ASan and UBSan, a message
 * the reactor gates must keep its promises: it parses again, has one
 * valid Message-ID, a Subject and a Date, and no field the reactor
 * removes; cleaning it again gates it with the same Message-ID.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "smtp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define fuzz_assert(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_reactor: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

static void
fuzz_check(const struct reactor_result *res)
{
	struct msg *m;
	const char *err;
	char *id;

	if (res->verdict != REACTOR_GATE) {
		fuzz_assert(res->out == NULL && res->reason != NULL);
		return;
	}
	fuzz_assert(msg_parse(res->out, res->len, &m, &err) == 0);
	fuzz_assert(msg_count(m, "Message-ID") == 1);
	id = msg_get_unfolded(m, "Message-ID");
	fuzz_assert(id != NULL && msgid_valid(id, NULL) == 0);
	free(id);
	fuzz_assert(msg_get(m, "Subject") != NULL);
	fuzz_assert(msg_get(m, "Date") != NULL);
	fuzz_assert(msg_get(m, "Received") == NULL);
	fuzz_assert(msg_get(m, "List-Post") == NULL);
	fuzz_assert(msg_get(m, "Control") == NULL);
	msg_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reactor_result res, again;
	struct reactor_conf c;

	memset(&c, 0, sizeof(c));
	c.domain = "gw.example.org";
	c.footer = REACTOR_FOOTER_ANY;
	c.outlook = 1;
	c.strip_notes = 1;
	c.fix_date = 1;
	c.now = 1795953600;
	reactor_clean(&c, (const char *)data, size, &res);
	fuzz_check(&res);
	if (res.verdict == REACTOR_GATE) {
		reactor_clean(&c, res.out, res.len, &again);
		fuzz_check(&again);
		fuzz_assert(again.verdict == REACTOR_GATE);
		fuzz_assert(!(again.done & REACTOR_DID_MSGID));
		reactor_result_free(&again);
	}
	reactor_result_free(&res);

	c.tag = "[Test]";
	c.list = "test@lists.example.org";
	c.footer = REACTOR_FOOTER_OWN;
	reactor_clean(&c, (const char *)data, size, &res);
	fuzz_check(&res);
	reactor_result_free(&res);
	return 0;
}
