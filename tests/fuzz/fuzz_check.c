/*
 * fuzz_check.c: libFuzzer target for the words of the control socket's
 * "milter-check" request (xtext values, RFC 3461), as syncd-milter sends
 * them.  Any input either fails with a reason or parses into a request
 * that clears cleanly.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "smtp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define WORDS_MAX	64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_check q;
	char *line, *words[WORDS_MAX], *w, *last = NULL, *err = NULL;
	int n = 0;

	/* Split as control.c does: on spaces, NULs ending the line. */
	line = xmalloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';
	for (w = strtok_r(line, " ", &last); w != NULL && n < WORDS_MAX;
	    w = strtok_r(NULL, " ", &last))
		words[n++] = w;
	if (smtp_check_parse(words, n, &q, &err) == -1) {
		if (err == NULL)
			abort();
		free(err);
	} else
		smtp_check_clear(&q);
	free(line);
	return 0;
}
