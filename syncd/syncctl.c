/*
 * syncctl.c: the operator's command line for a running syncd.
 *
 * It sends one request over syncd's control socket (see control.c for the
 * protocol), prints the reply, and exits 0 on success, 1 when syncd refused
 * the request or the message, 2 on a usage error, 3 when syncd cannot be
 * reached, and 75 (EX_TEMPFAIL) when syncd could not store a message now.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syncd.h"

#define SYNCCTL_EX_REFUSED	1
#define SYNCCTL_EX_USAGE	2
#define SYNCCTL_EX_UNREACHABLE	3
#define SYNCCTL_EX_TEMPFAIL	75

static void
usage(void)
{
	fprintf(stderr,
	    "usage: syncctl [-c CONFIG | -s SOCKET] [--json] COMMAND\n"
	    "commands:\n"
	    "  status                  version, uptime, channels, queues\n"
	    "  queue                   the outbox per target and state\n"
	    "  dead                    dead letters and why they died\n"
	    "  retry ID|all            queue dead letters again\n"
	    "  reload                  reread the configuration\n"
	    "  inject --source news|list|forum [--to ADDRESS] [--board NAME]"
	    " FILE|-\n"
	    "                          route a message as if it came from"
	    " that side\n"
	    "  notice [--group G] --subject S < TEXT\n"
	    "                          post a notice to the technik group"
	    " (or G)\n"
	    "  jobs                    the scheduled jobs: last and next"
	    " run, result\n"
	    "  run-job NAME            run a job now\n"
	    "The socket is SOCKET, else the control-socket of CONFIG, else"
	    " %s/syncd.sock.\n", SYNCOM_RUNSTATEDIR);
	exit(SYNCCTL_EX_USAGE);
}

/* Everything readable from fd, with room for a NUL; exits on failure. */
static char *
syncctl_read_fd(int fd, const char *name, size_t *len_r)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (cap - len < 65536) {
			cap = cap * 2 + 65536;
			buf = xreallocarray(buf, cap, 1);
		}
		if ((n = read(fd, buf + len, cap - len - 1)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "syncctl: reading %s: %s\n", name,
			    strerror(errno));
			exit(SYNCCTL_EX_UNREACHABLE);
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

/* The whole of a file, or of stdin for "-". */
static char *
syncctl_read_file(const char *path, size_t *len_r)
{
	char *buf;
	int fd;

	if (strcmp(path, "-") == 0)
		return syncctl_read_fd(STDIN_FILENO, "standard input", len_r);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "syncctl: %s: %s\n", path, strerror(errno));
		exit(SYNCCTL_EX_USAGE);
	}
	buf = syncctl_read_fd(fd, path, len_r);
	close(fd);
	return buf;
}

static int
syncctl_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "syncctl: socket path too long: %s\n", path);
		exit(SYNCCTL_EX_USAGE);
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "syncctl: cannot reach syncd at %s: %s\n"
		    "(is syncd running? is this its control-socket?)\n", path,
		    strerror(errno));
		exit(SYNCCTL_EX_UNREACHABLE);
	}
	return fd;
}

/*
 * Send data; if syncd stops reading (it refused the request early), stop
 * too: its reply, read next, says why.
 */
static void
syncctl_write(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return;
			fprintf(stderr, "syncctl: writing to syncd: %s\n",
			    strerror(errno));
			exit(SYNCCTL_EX_UNREACHABLE);
		}
		data += n;
		len -= n;
	}
}

/* The exit status for an inject reply: from its result word. */
static int
syncctl_inject_status(const char *body, int json)
{
	static const struct {
		const char *result;
		int status;
	} results[] = {
		{ "accepted", 0 }, { "duplicate", 0 }, { "loop", 0 },
		{ "not-gated", 0 }, { "rejected", SYNCCTL_EX_REFUSED },
		{ "tempfail", SYNCCTL_EX_TEMPFAIL },
	};
	const char *word = body;
	size_t i, n;

	if (json && (word = strstr(body, "\"result\":\"")) != NULL)
		word += 10;
	if (word == NULL)
		return SYNCCTL_EX_REFUSED;
	for (i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		n = strlen(results[i].result);
		if (strncmp(word, results[i].result, n) == 0 &&
		    (word[n] == ' ' || word[n] == '"' || word[n] == '\n'))
			return results[i].status;
	}
	return SYNCCTL_EX_REFUSED;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "source", required_argument, NULL, 'S' },
		{ "to", required_argument, NULL, 't' },
		{ "board", required_argument, NULL, 'b' },
		{ "group", required_argument, NULL, 'g' },
		{ "subject", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *socket_path = NULL, *config = NULL, *source = NULL;
	const char *to = NULL, *board = NULL, *group = NULL, *subject = NULL;
	char *request, *body = NULL, *reply, *nl, *err = NULL, *text;
	size_t body_len = 0, reply_len;
	struct conf *conf = NULL;
	enum side side;
	int ch, json = 0, inject, notice, fd, i, status;

	log_init(1, 0, "syncctl");
	signal(SIGPIPE, SIG_IGN);
	/* GNU getopt takes the options wherever they stand. */
	while ((ch = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'S':
			source = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'b':
			board = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'u':
			subject = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	inject = strcmp(argv[0], "inject") == 0;
	notice = strcmp(argv[0], "notice") == 0;
	if (!inject && (source != NULL || to != NULL || board != NULL))
		usage();
	if (!notice && (group != NULL || subject != NULL))
		usage();

	if (notice) {
		if (argc != 1 || subject == NULL || *subject == '\0' ||
		    strpbrk(subject, "\r\n") != NULL ||
		    (group != NULL && strpbrk(group, " \t\r\n") != NULL)) {
			fprintf(stderr, "syncctl: notice needs --subject, one"
			    " line, and takes the text on stdin\n");
			return SYNCCTL_EX_USAGE;
		}
		text = syncctl_read_fd(0, "stdin", &body_len);
		/* The protocol's text: the subject line, then the body. */
		body = xasprintf("%s\n%s", subject, text);
		body_len += strlen(subject) + 1;
		free(text);
		request = xasprintf("notice %zu%s%s%s\n", body_len,
		    group != NULL ? " group=" : "", group != NULL ? group : "",
		    json ? " --json" : "");
	} else if (inject) {
		if (argc != 2 || source == NULL)
			usage();
		if (side_from_name(source, &side) == -1) {
			fprintf(stderr, "syncctl: --source must be news, list"
			    " or forum\n");
			return SYNCCTL_EX_USAGE;
		}
		if ((to != NULL && strpbrk(to, " \t\r\n") != NULL) ||
		    (board != NULL && strpbrk(board, " \t\r\n") != NULL)) {
			fprintf(stderr, "syncctl: --to and --board take a"
			    " single word\n");
			return SYNCCTL_EX_USAGE;
		}
		body = syncctl_read_file(argv[1], &body_len);
		if (body_len == 0) {
			fprintf(stderr, "syncctl: %s is empty\n", argv[1]);
			return SYNCCTL_EX_USAGE;
		}
		request = xasprintf("inject %s %zu%s%s%s%s%s\n", source,
		    body_len, to != NULL ? " to=" : "", to != NULL ? to : "",
		    board != NULL ? " board=" : "", board != NULL ? board : "",
		    json ? " --json" : "");
	} else {
		size_t len = strlen(argv[0]) + 16;

		for (i = 1; i < argc; i++)
			len += strlen(argv[i]) + 1;
		request = xmalloc(len);
		strcpy(request, argv[0]);
		for (i = 1; i < argc; i++) {
			if (strpbrk(argv[i], " \t\r\n") != NULL)
				usage();
			strcat(request, " ");
			strcat(request, argv[i]);
		}
		if (json)
			strcat(request, " --json");
		strcat(request, "\n");
	}

	if (socket_path == NULL && config != NULL) {
		if ((conf = conf_load(config, &err)) == NULL) {
			fprintf(stderr, "syncctl: %s\n", err);
			return SYNCCTL_EX_USAGE;
		}
		socket_path = conf->control_socket;
	}
	if (socket_path == NULL)
		socket_path = SYNCOM_RUNSTATEDIR "/syncd.sock";

	fd = syncctl_connect(socket_path);
	syncctl_write(fd, request, strlen(request));
	if (body != NULL)
		syncctl_write(fd, body, body_len);
	free(request);
	free(body);

	reply = syncctl_read_fd(fd, "the reply", &reply_len);
	close(fd);
	conf_unref(&conf);
	nl = strchr(reply, '\n');
	if (nl != NULL)
		*nl++ = '\0';
	else
		nl = reply + reply_len;
	if (reply_len == 0) {
		fprintf(stderr, "syncctl: syncd closed the connection without"
		    " a reply\n");
		status = SYNCCTL_EX_UNREACHABLE;
	} else if (strncmp(reply, "error ", 6) == 0) {
		fprintf(stderr, "syncctl: %s\n", reply + 6);
		status = SYNCCTL_EX_REFUSED;
	} else if (strcmp(reply, "ok") != 0) {
		fprintf(stderr, "syncctl: unexpected reply from syncd: %s\n",
		    reply);
		status = SYNCCTL_EX_UNREACHABLE;
	} else {
		fputs(nl, stdout);
		status = inject || notice ? syncctl_inject_status(nl, json) :
		    0;
		if (fflush(stdout) != 0)
			status = SYNCCTL_EX_REFUSED;
	}
	free(reply);
	return status;
}
