/*
 * syncd-reactor: the reactor as a filter, one message from standard input
 * to standard output, for sites that gate mail with procmail or INN's
 * mailpost as they did with SynFU's synfu-reactor.  It takes SynFU's
 * settings from the command line or from the reactor section of an
 * existing synfu.conf (-c).
 *
 * Exit status (sysexits.h): 0 when the message was written, or when it
 * must not be gated (a control message, a blacklisted sender): then
 * nothing is written, as synfu-reactor did; 64 usage, 65 not a message,
 * 74 read or write error, 78 a bad synfu.conf or blacklist.
 */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common.h"
#include "smtp.h"

/* Messages beyond this are refused rather than read into memory. */
#define REACTOR_INPUT_MAX	(256L * 1024 * 1024)

#define OPTSTRING		"b:c:d:F:hl:or:st:vV"

struct options {
	struct reactor_conf conf;
	const char	*blacklist;
	int		 crlf;
	int		 verbose;
};

static void DEAD
usage(void)
{
	fprintf(stderr, "usage: syncd-reactor [-hosvV] [-b blacklist]"
	    " [-c synfu.conf] [-d domain] [-F footer]\n"
	    "                     [-l list-address] [-r recipient]"
	    " [-t tag] [--crlf] [--no-fix-date]\n"
	    "Cleans one list message from stdin for news; see"
	    " syncd-reactor(1).\n");
	exit(EX_USAGE);
}

static int
parse_bool(const char *v, int *b_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "y" };
	static const char *const no[] = { "no", "false", "off", "0", "n" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*b_r = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*b_r = 0;
			return 0;
		}
	}
	return -1;
}

/* s trimmed in place, and unquoted if YAML-quoted. */
static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (e - s >= 2 && (*s == '"' || *s == '\'') && e[-1] == *s) {
		e[-1] = '\0';
		s++;
	}
	return s;
}

/*
 * The settings of the reactor document in a SynFU configuration: the
 * YAML document tagged ".../synfu/reactor", read as the "key : value"
 * lines SynFU's own files use.  Settings that only concern SynFU's
 * logging are accepted and ignored.
 */
static int
read_synfu_conf(const char *path, struct options *o)
{
	static const char *const ignored[] = { "verbose", "verbosity",
	    "log_facility", "log_filename", "log_when", "log_interval",
	    "log_keep", "log_traceback" };
	char line[4096], *k, *v, *c;
	int in = 0, found = 0, lineno = 0, b;
	size_t i;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "syncd-reactor: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strncmp(line, "---", 3) == 0 || strncmp(line, "...", 3) ==
		    0) {
			in = strstr(line, "synfu/reactor") != NULL;
			found |= in;
			continue;
		}
		if (!in)
			continue;
		if ((c = strchr(line, '#')) != NULL)
			*c = '\0';
		if ((c = strchr(line, ':')) == NULL)
			continue;
		*c = '\0';
		k = trim(line);
		v = trim(c + 1);
		if (*v == '\0')		/* "settings:" */
			continue;
		if (strcmp(k, "blacklist_filename") == 0) {
			o->blacklist = xstrdup(v);
			continue;
		}
		for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
			if (strcmp(k, ignored[i]) == 0)
				break;
		if (i < sizeof(ignored) / sizeof(ignored[0]))
			continue;
		if (parse_bool(v, &b) == -1) {
			fprintf(stderr, "syncd-reactor: %s:%d: %s: \"%s\" is"
			    " not yes or no\n", path, lineno, k, v);
			fclose(f);
			return -1;
		}
		if (strcmp(k, "outlook_hacks") == 0)
			o->conf.outlook = b;
		else if (strcmp(k, "complex_footer") == 0)
			o->conf.footer = b ? REACTOR_FOOTER_ANY :
			    REACTOR_FOOTER_OWN;
		else if (strcmp(k, "strip_notes") == 0)
			o->conf.strip_notes = b;
		else if (strcmp(k, "fix_dateline") == 0)
			o->conf.fix_date = b;
		else {
			fprintf(stderr, "syncd-reactor: %s:%d: unknown"
			    " reactor setting %s\n", path, lineno, k);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	if (!found) {
		fprintf(stderr, "syncd-reactor: %s: no synfu/reactor"
		    " document\n", path);
		return -1;
	}
	return 0;
}

static char *
read_all(FILE *f, size_t *len_r)
{
	size_t cap = 65536, n = 0, r;
	char *buf = xmalloc(cap);

	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			if (cap > (size_t)REACTOR_INPUT_MAX) {
				free(buf);
				fprintf(stderr, "syncd-reactor: message larger"
				    " than %ld MB\n", REACTOR_INPUT_MAX /
				    (1024 * 1024));
				exit(EX_DATAERR);
			}
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "syncd-reactor: reading: %s\n",
		    strerror(errno));
		exit(EX_IOERR);
	}
	*len_r = n;
	return buf;
}

/* out with CRLF turned into LF unless crlf. */
static int
write_message(const char *out, size_t len, int crlf)
{
	size_t i, start = 0;

	if (!crlf)
		for (i = 0; i + 1 < len; i++)
			if (out[i] == '\r' && out[i + 1] == '\n') {
				if (fwrite(out + start, 1, i - start,
				    stdout) != i - start)
					return -1;
				start = i + 1;
			}
	if (fwrite(out + start, 1, len - start, stdout) != len - start ||
	    fflush(stdout) == EOF)
		return -1;
	return 0;
}

static char *
default_domain(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) == 0 && strchr(host, '.') !=
	    NULL)
		return xstrdup(host);
	return xstrdup("gateway.invalid");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "blacklist", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'c' },
		{ "domain", required_argument, NULL, 'd' },
		{ "footer", required_argument, NULL, 'F' },
		{ "complex-footer", no_argument, NULL, 'X' },
		{ "list", required_argument, NULL, 'l' },
		{ "outlook-hacks", no_argument, NULL, 'o' },
		{ "recipient", required_argument, NULL, 'r' },
		{ "strip-notes", no_argument, NULL, 's' },
		{ "tag", required_argument, NULL, 't' },
		{ "crlf", no_argument, NULL, 'C' },
		{ "no-fix-date", no_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct reactor_result res;
	struct blacklist *bl = NULL;
	struct options o;
	char *raw, *err, *did, *domain = NULL;
	size_t len;
	int ch;

	memset(&o, 0, sizeof(o));
	o.conf.footer = REACTOR_FOOTER_OWN;
	o.conf.fix_date = 1;
	/* -c first, so that the other options override its settings. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, OPTSTRING, longopts, NULL)) !=
	    -1)
		if (ch == 'c' && read_synfu_conf(optarg, &o) == -1)
			return EX_CONFIG;
	opterr = 1;
	optind = 0;	/* GNU getopt: start again from scratch */
	while ((ch = getopt_long(argc, argv, OPTSTRING, longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'b':
			o.blacklist = optarg;
			break;
		case 'c':
			break;
		case 'd':
			domain = xstrdup(optarg);
			break;
		case 'F':
			if (strcmp(optarg, "keep") == 0)
				o.conf.footer = REACTOR_FOOTER_KEEP;
			else if (strcmp(optarg, "own") == 0)
				o.conf.footer = REACTOR_FOOTER_OWN;
			else if (strcmp(optarg, "any") == 0)
				o.conf.footer = REACTOR_FOOTER_ANY;
			else {
				fprintf(stderr, "syncd-reactor: -F takes keep,"
				    " own or any\n");
				usage();
			}
			break;
		case 'X':
			o.conf.footer = REACTOR_FOOTER_ANY;
			break;
		case 'l':
			o.conf.list = optarg;
			break;
		case 'o':
			o.conf.outlook = 1;
			break;
		case 'r':
			o.conf.recipient = optarg;
			break;
		case 's':
			o.conf.strip_notes = 1;
			break;
		case 't':
			o.conf.tag = optarg;
			break;
		case 'C':
			o.crlf = 1;
			break;
		case 'N':
			o.conf.fix_date = 0;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'V':
			printf("syncd-reactor %s\n", SYNCOM_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (o.blacklist != NULL && (bl = blacklist_load(o.blacklist,
	    &err)) == NULL) {
		fprintf(stderr, "syncd-reactor: blacklist %s\n", err);
		free(err);
		return EX_CONFIG;
	}
	o.conf.blacklist = bl;
	if (domain == NULL)
		domain = default_domain();
	o.conf.domain = domain;

	raw = read_all(stdin, &len);
	reactor_clean(&o.conf, raw, len, &res);
	free(raw);
	if (o.verbose || res.verdict != REACTOR_GATE) {
		did = reactor_did_names(res.done);
		fprintf(stderr, "syncd-reactor: %s%s%s tags=%s did=%s\n",
		    res.verdict == REACTOR_GATE ? "gated" :
		    res.verdict == REACTOR_REFUSE ? "refused" : "not gated",
		    res.reason != NULL ? ": " : "",
		    res.reason != NULL ? res.reason : "",
		    res.tags != NULL ? res.tags : "-",
		    *did != '\0' ? did : "-");
		free(did);
	}
	ch = 0;
	if (res.verdict == REACTOR_REFUSE)
		ch = EX_DATAERR;
	else if (res.verdict == REACTOR_GATE &&
	    write_message(res.out, res.len, o.crlf) == -1) {
		fprintf(stderr, "syncd-reactor: writing: %s\n",
		    strerror(errno));
		ch = EX_IOERR;
	}
	reactor_result_free(&res);
	blacklist_free(&bl);
	free(domain);
	return ch;
}
