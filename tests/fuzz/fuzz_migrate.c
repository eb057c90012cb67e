/*
 * fuzz_migrate.c: libFuzzer target for syncmigrate's configuration
 * parser.  Any input either fails with an error that names the file, or
 * parses into a configuration that frees cleanly.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "migrate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_conf *conf;
	char *err = NULL;
	FILE *fp;

	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	conf = mig_conf_read(fp, "fuzz", &err);
	fclose(fp);
	if (conf == NULL) {
		if (err == NULL || strncmp(err, "fuzz:", 5) != 0)
			abort();
		free(err);
		return 0;
	}
	mig_conf_free(&conf);
	return 0;
}
