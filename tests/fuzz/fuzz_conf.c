/*
 * fuzz_conf.c: libFuzzer target for the syncd.conf parser.
 *
 * Any input either fails with an error or parses; what parses must print
 * in canonical form, parse again, and print the very same text.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syncd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *
print(const struct conf *conf, size_t *len)
{
	char *out = NULL;
	FILE *fp = open_memstream(&out, len);

	conf_print(conf, fp);
	fclose(fp);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *conf, *again;
	char *err = NULL, *one, *two;
	size_t len1, len2;

	conf = conf_parse("fuzz", (const char *)data, size, &err);
	if (conf == NULL) {
		if (err == NULL || strncmp(err, "fuzz:", 5) != 0)
			abort();
		free(err);
		return 0;
	}
	one = print(conf, &len1);
	again = conf_parse("again", one, len1, &err);
	if (again == NULL) {
		fprintf(stderr, "canonical form does not parse: %s\n%s\n",
		    err, one);
		abort();
	}
	two = print(again, &len2);
	if (len1 != len2 || memcmp(one, two, len1) != 0) {
		fprintf(stderr, "round trip differs:\n%s\n---\n%s\n", one,
		    two);
		abort();
	}
	free(one);
	free(two);
	conf_unref(&conf);
	conf_unref(&again);
	return 0;
}
