/*
 * file.c: small file-system helpers shared by the programs.
 */

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/*
 * mkdir -p.  The directories it creates get exactly mode, whatever the
 * umask, so that a daemon with a tight umask can still make a path its
 * dropped-privilege user may walk.  0, or -1 with errno set.
 */
int
file_mkdirs(const char *path, mode_t mode)
{
	char *copy = xstrdup(path), *p;
	int rc = 0, last, saved;

	for (p = copy + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0';
		*p = '\0';
		if (mkdir(copy, mode) == 0)
			rc = chmod(copy, mode);
		else if (errno != EEXIST)
			rc = -1;
		if (last)
			break;
		*p = '/';
	}
	saved = errno;
	free(copy);
	errno = saved;
	return rc;
}
