/*
 * fuzz_describe.c: libFuzzer target for the one JSON reader syncd has,
 * describe_json_member (syncd/describe.c), which takes a list's
 * description out of what Mailman's REST API answers.
 *
 * Each input is taken as the answer.  Besides running clean under ASan
 * and UBSan, what comes out must be one line: no control characters.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syncd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = malloc(size + 1), *v;
	const unsigned char *p;

	if (json == NULL)
		return 0;
	memcpy(json, data, size);
	json[size] = '\0';
	if ((v = describe_json_member(json, "description")) != NULL) {
		for (p = (const unsigned char *)v; *p != '\0'; p++)
			if (*p < 0x20) {
				fprintf(stderr, "fuzz_describe: control"
				    " character %#x in the result\n", *p);
				abort();
			}
		free(v);
	}
	free(json);
	return 0;
}
