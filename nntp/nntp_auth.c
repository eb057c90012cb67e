/*
 * nntp_auth.c: AUTHINFO USER/PASS against the nntp-users file.
 *
 * Each line is "name:hash", the hash in crypt(3) form (yescrypt "$y$",
 * SHA-512 "$6$", ...), as "mkpasswd" or "openssl passwd -6" make them;
 * "#" starts a comment.  The file is read per check, so edits need no
 * reload; a site with many users moves to the forum's accounts.
 */

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nntp.h"

/* Compare without stopping at the first difference. */
static int
nntp_auth_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char diff = la != lb;

	for (i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

int
nntp_auth_check(const char *file, const char *name, const char *password,
    char **err_r)
{
	struct crypt_data *cd;
	char line[1024], *colon, *hash, *end;
	const char *out;
	FILE *fp;
	int found = 0, ok = 0;

	if (file == NULL) {
		*err_r = xstrdup("no nntp-users file is configured");
		return -1;
	}
	if ((fp = fopen(file, "r")) == NULL) {
		*err_r = xasprintf("%s: %s", file, strerror(errno));
		return -1;
	}
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || (colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		if (strcmp(line, name) != 0)
			continue;
		found = 1;
		hash = colon + 1;
		end = hash + strcspn(hash, ":\r\n");
		*end = '\0';
		cd = xcalloc(1, sizeof(*cd));
		out = crypt_r(password, hash, cd);
		/* "*" and "!" hashes never match: locked accounts. */
		ok = out != NULL && *out != '*' && nntp_auth_equal(out, hash);
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	fclose(fp);
	return ok;
}
