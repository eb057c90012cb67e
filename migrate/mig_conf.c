/*
 * mig_conf.c: syncmigrate's configuration, one statement a line:
 *
 *	old HOST:PORT [starttls|tls|plain]	the server the mail leaves
 *	new HOST:PORT [starttls|tls|plain]	the server it moves to
 *	old-ca-file PATH		trusted CAs for its certificate
 *	old-verify yes|no		check its certificate (default yes)
 *	old-master NAME PASSWORD	log in as "account*NAME" (Dovecot's
 *	new-master NAME PASSWORD	master users): no user passwords needed
 *
 * (and the same new-ca-file, new-verify for the new server).
 *	state PATH			the SQLite file of what was copied
 *	map OLD NEW			a folder renamed on the way
 *	exclude PATTERN			old folders not copied (fnmatch)
 *	window HH:MM-HH:MM		the night: large accounts only then
 *	big-account SIZE		large from this size (K, M, G; 1G)
 *	account NAME [OLD-LOGIN OLD-PASSWORD NEW-LOGIN NEW-PASSWORD]
 *
 * "#" starts a comment; a word with spaces goes in double quotes, where
 * a backslash escapes the next character.  Errors name FILE:LINE.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "migrate.h"

#define MIG_CONF_WORDS	8

static int PRINTFLIKE(4, 5)
mig_conf_error(char **err_r, const char *path, int line, const char *fmt,
    ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("mig_conf_error");
	va_end(ap);
	*err_r = xasprintf("%s:%d: %s", path, line, msg);
	free(msg);
	return -1;
}

/* Split line into words in place; -1 on an unterminated quote. */
static int
mig_conf_split(char *line, char **words, int max, int *n)
{
	char *p = line, *o;

	*n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0' || *p == '#' || *p == '\n')
			return 0;
		if (*n == max)
			return -1;
		if (*p == '"') {
			words[(*n)++] = o = ++p;
			while (*p != '"') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\0' || *p == '\n')
					return -1;
				*o++ = *p++;
			}
			p++;
			*o = '\0';
			continue;
		}
		words[(*n)++] = p;
		p += strcspn(p, " \t\r\n");
		if (*p != '\0')
			*p++ = '\0';
		else
			return 0;
	}
}

static int
mig_conf_server(struct mig_server *s, const char *word, const char *path,
    int line, char **err_r)
{
	const char *colon = strrchr(word, ':');
	char *end;
	long port;

	if (colon == NULL || colon == word)
		return mig_conf_error(err_r, path, line, "'%s' is not"
		    " HOST:PORT", word);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535 || errno != 0)
		return mig_conf_error(err_r, path, line, "'%s' has no valid"
		    " port", word);
	free(s->host);
	s->host = xstrndup(word, colon - word);
	s->port = (int)port;
	return 0;
}

static int
mig_conf_line(struct mig_conf *conf, char **w, int n, const char *path,
    int line, char **err_r)
{
	struct mig_account *a;

	struct mig_server *srv = strncmp(w[0], "old", 3) == 0 ? &conf->old :
	    &conf->new;

	if ((strcmp(w[0], "old") == 0 || strcmp(w[0], "new") == 0) &&
	    (n == 2 || n == 3)) {
		if (n == 3 && strcmp(w[2], "starttls") == 0)
			srv->security = MIG_STARTTLS;
		else if (n == 3 && strcmp(w[2], "tls") == 0)
			srv->security = MIG_TLS;
		else if (n == 3 && strcmp(w[2], "plain") == 0)
			srv->security = MIG_PLAIN;
		else if (n == 3)
			return mig_conf_error(err_r, path, line, "'%s' is not"
			    " starttls, tls or plain", w[2]);
		return mig_conf_server(srv, w[1], path, line, err_r);
	}
	if ((strcmp(w[0], "old-ca-file") == 0 ||
	    strcmp(w[0], "new-ca-file") == 0) && n == 2) {
		free(srv->ca_file);
		srv->ca_file = xstrdup(w[1]);
		return 0;
	}
	if ((strcmp(w[0], "old-verify") == 0 ||
	    strcmp(w[0], "new-verify") == 0) && n == 2) {
		if (strcmp(w[1], "yes") != 0 && strcmp(w[1], "no") != 0)
			return mig_conf_error(err_r, path, line, "%s: '%s' is"
			    " not yes or no", w[0], w[1]);
		srv->verify = strcmp(w[1], "yes") == 0;
		return 0;
	}
	if ((strcmp(w[0], "old-master") == 0 ||
	    strcmp(w[0], "new-master") == 0) && n == 3) {
		free(srv->master);
		free(srv->master_password);
		srv->master = xstrdup(w[1]);
		srv->master_password = xstrdup(w[2]);
		return 0;
	}
	if (strcmp(w[0], "state") == 0 && n == 2) {
		free(conf->state);
		conf->state = xstrdup(w[1]);
		return 0;
	}
	if (strcmp(w[0], "map") == 0 && n == 3) {
		conf->maps = xreallocarray(conf->maps, conf->nmaps + 1,
		    sizeof(*conf->maps));
		conf->maps[conf->nmaps].from = xstrdup(w[1]);
		conf->maps[conf->nmaps++].to = xstrdup(w[2]);
		return 0;
	}
	if (strcmp(w[0], "window") == 0 && n == 2) {
		if (mig_conf_window(w[1], &conf->window_start,
		    &conf->window_end) == -1)
			return mig_conf_error(err_r, path, line, "window: '%s'"
			    " is not HH:MM-HH:MM", w[1]);
		return 0;
	}
	if (strcmp(w[0], "big-account") == 0 && n == 2) {
		double size;

		if (mig_conf_size(w[1], &size) == -1)
			return mig_conf_error(err_r, path, line, "big-account:"
			    " '%s' is not a size such as 500M", w[1]);
		conf->big = (long long)size;
		return 0;
	}
	if (strcmp(w[0], "exclude") == 0 && n == 2) {
		conf->excludes = xreallocarray(conf->excludes,
		    conf->nexcludes + 1, sizeof(*conf->excludes));
		conf->excludes[conf->nexcludes++] = xstrdup(w[1]);
		return 0;
	}
	if (strcmp(w[0], "account") == 0 && (n == 2 || n == 6)) {
		if (mig_conf_account(conf, w[1]) != NULL)
			return mig_conf_error(err_r, path, line, "account %s"
			    " is already defined", w[1]);
		a = xcalloc(1, sizeof(*a));
		a->name = xstrdup(w[1]);
		a->line = line;
		if (n == 6) {
			a->old_login = xstrdup(w[2]);
			a->old_password = xstrdup(w[3]);
			a->new_login = xstrdup(w[4]);
			a->new_password = xstrdup(w[5]);
		}
		TAILQ_INSERT_TAIL(&conf->accounts, a, entry);
		return 0;
	}
	return mig_conf_error(err_r, path, line, "'%s' with %d argument%s is"
	    " not a statement (old, new, old-ca-file, new-ca-file,"
	    " old-verify, new-verify, old-master, new-master, state, map,"
	    " exclude, window, big-account, account)", w[0], n - 1, n == 2 ? "" : "s");
}

struct mig_conf *
mig_conf_load(const char *path, char **err_r)
{
	struct mig_conf *conf;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		*err_r = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	conf = mig_conf_read(fp, path, err_r);
	fclose(fp);
	return conf;
}

struct mig_conf *
mig_conf_read(FILE *fp, const char *path, char **err_r)
{
	struct mig_conf *conf = xcalloc(1, sizeof(*conf));
	struct mig_account *a;
	char *line = NULL, *w[MIG_CONF_WORDS];
	size_t size = 0;
	int n, lineno = 0;

	TAILQ_INIT(&conf->accounts);
	conf->old.verify = conf->new.verify = 1;
	conf->window_start = conf->window_end = -1;
	conf->big = 1LL << 30;
	while (getline(&line, &size, fp) != -1) {
		lineno++;
		if (mig_conf_split(line, w, MIG_CONF_WORDS, &n) == -1) {
			mig_conf_error(err_r, path, lineno, "an unterminated"
			    " quote or too many words");
			goto fail;
		}
		if (n > 0 && mig_conf_line(conf, w, n, path, lineno,
		    err_r) == -1)
			goto fail;
	}
	if (ferror(fp)) {
		*err_r = xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (conf->old.host == NULL || conf->new.host == NULL) {
		mig_conf_error(err_r, path, lineno, "both servers are needed:"
		    " old HOST:PORT and new HOST:PORT");
		goto fail;
	}
	if (conf->state == NULL) {
		mig_conf_error(err_r, path, lineno, "no state file: add a"
		    " line such as: state /var/lib/syncmigrate/state.db");
		goto fail;
	}
	TAILQ_FOREACH(a, &conf->accounts, entry)
		if (a->old_login == NULL && (conf->old.master == NULL ||
		    conf->new.master == NULL)) {
			mig_conf_error(err_r, path, a->line, "account %s has"
			    " no logins, and old-master and new-master are"
			    " not both set", a->name);
			goto fail;
		}
	free(line);
	return conf;
fail:
	free(line);
	mig_conf_free(&conf);
	return NULL;
}

int
mig_conf_size(const char *s, double *size_r)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || v <= 0)
		return -1;
	if (*end == 'K' || *end == 'M' || *end == 'G') {
		v *= *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 :
		    1073741824.0;
		end++;
	}
	/* A petabyte is plenty, and stays a long long. */
	if (*end != '\0' || !(v <= 1e15))
		return -1;
	*size_r = v;
	return 0;
}

int
mig_conf_window(const char *s, int *start, int *end)
{
	int h1, m1, h2, m2, n = 0;

	if (sscanf(s, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 ||
	    s[n] != '\0' || h1 > 23 || h2 > 24 || m1 > 59 || m2 > 59 ||
	    h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0 ||
	    h1 * 60 + m1 == h2 * 60 + m2)
		return -1;
	*start = h1 * 60 + m1;
	*end = h2 * 60 + m2;
	return 0;
}

struct mig_account *
mig_conf_account(const struct mig_conf *conf, const char *name)
{
	struct mig_account *a;

	TAILQ_FOREACH(a, &conf->accounts, entry)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

static void
mig_conf_server_free(struct mig_server *s)
{
	free(s->host);
	free(s->ca_file);
	free(s->master);
	free(s->master_password);
}

void
mig_conf_free(struct mig_conf **confp)
{
	struct mig_conf *conf = *confp;
	struct mig_account *a;
	size_t i;

	*confp = NULL;
	if (conf == NULL)
		return;
	mig_conf_server_free(&conf->old);
	mig_conf_server_free(&conf->new);
	free(conf->state);
	for (i = 0; i < conf->nmaps; i++) {
		free(conf->maps[i].from);
		free(conf->maps[i].to);
	}
	free(conf->maps);
	for (i = 0; i < conf->nexcludes; i++)
		free(conf->excludes[i]);
	free(conf->excludes);
	while ((a = TAILQ_FIRST(&conf->accounts)) != NULL) {
		TAILQ_REMOVE(&conf->accounts, a, entry);
		free(a->name);
		free(a->old_login);
		free(a->old_password);
		free(a->new_login);
		free(a->new_password);
		free(a);
	}
	free(conf);
}
