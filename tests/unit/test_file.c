/*
 * test_file.c: file_mkdirs makes every missing component with exactly the
 * mode asked for, accepts what exists, and reports what it cannot make.
 */

#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"

static void
test_mkdirs(void **state)
{
	char dir[] = "/tmp/syncom-file.XXXXXX", *path, *file;
	struct stat sb;
	mode_t old;
	FILE *fp;

	assert_non_null(mkdtemp(dir));
	old = umask(077);
	path = xasprintf("%s/a/b/c", dir);
	assert_int_equal(file_mkdirs(path, 0755), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0755);
	free(path);
	path = xasprintf("%s/a", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0755);
	free(path);

	/* What exists is fine, trailing slash too. */
	path = xasprintf("%s/a/b/", dir);
	assert_int_equal(file_mkdirs(path, 0700), 0);
	free(path);

	file = xasprintf("%s/f", dir);
	fp = fopen(file, "w");
	fclose(fp);
	path = xasprintf("%s/f/x", dir);
	assert_int_equal(file_mkdirs(path, 0755), -1);
	assert_int_equal(errno, ENOTDIR);
	free(path);
	umask(old);

	path = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(path), 0);
	free(path);
	free(file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mkdirs),
	};

	log_init(1, 0, "test_file");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
