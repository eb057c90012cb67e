/*
 * nntp_bench.c: one NNTP load generator for every server, so that syncd
 * and INN are measured with the same client in the same run.
 *
 *   nntp_bench feed  HOST PORT COUNT PREFIX GROUP [ihave|stream] [WINDOW]
 *   nntp_bench read  HOST PORT GROUP COUNT PIPELINE [reader]
 *   nntp_bench over  HOST PORT GROUP [reader]
 *   nntp_bench idle  HOST PORT GROUP COUNT FROM [reader]
 *
 * feed offers COUNT generated articles of about 2 KB (Message-IDs from
 * PREFIX) by streaming TAKETHIS, WINDOW of them in flight, or by IHAVE
 * one at a time, and counts the accepted ones.  read fetches COUNT
 * articles by number, PIPELINE commands in flight.  over reads the
 * overview of the whole group.  idle opens COUNT reader connections from
 * the local address FROM, one after the other, each taking the greeting
 * and a GROUP, then holds them all open and idle until SIGTERM (or 20
 * minutes); it prints its line when they are all open, and one more,
 * "alive=N", of the ones the server had not closed when it was told to
 * stop.  "reader" sends MODE READER first (INN then hands the
 * connection to nnrpd).  Each prints one line: "op=... count=N
 * seconds=S rate=R".
 */

#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fd;
static char inbuf[1 << 20];
static size_t inlen, inpos;

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/*
 * Acknowledge at once what we read.  Linux leaves quick-ack mode on its
 * own; a server that writes one response in two small segments would
 * otherwise wait for our delayed ACK (about 40 ms) on every command, and
 * the benchmark would measure the ACK timer rather than the server.
 */
static void
quick_ack(void)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* The next line from the server, without CRLF; blocks. */
static char *
get_line(void)
{
	static char line[1 << 16];
	char *nl;
	size_t n;
	ssize_t r;

	for (;;) {
		nl = memchr(inbuf + inpos, '\n', inlen - inpos);
		if (nl != NULL) {
			n = nl - (inbuf + inpos);
			if (n >= sizeof(line))
				n = sizeof(line) - 1;
			memcpy(line, inbuf + inpos, n);
			line[n] = '\0';
			if (n > 0 && line[n - 1] == '\r')
				line[n - 1] = '\0';
			inpos = nl - inbuf + 1;
			return line;
		}
		if (inpos > 0) {
			memmove(inbuf, inbuf + inpos, inlen - inpos);
			inlen -= inpos;
			inpos = 0;
		}
		if (inlen == sizeof(inbuf))
			die("a line longer than the buffer");
		if ((r = read(fd, inbuf + inlen, sizeof(inbuf) - inlen)) <= 0)
			die("read: %s", r == 0 ? "closed" : strerror(errno));
		inlen += r;
		quick_ack();
	}
}

/* Is a whole line waiting, without blocking? */
static int
line_ready(void)
{
	return memchr(inbuf + inpos, '\n', inlen - inpos) != NULL;
}

/* Read what the socket has now, without blocking. */
static void
fill(void)
{
	ssize_t r;

	if (inpos > 0) {
		memmove(inbuf, inbuf + inpos, inlen - inpos);
		inlen -= inpos;
		inpos = 0;
	}
	r = recv(fd, inbuf + inlen, sizeof(inbuf) - inlen, MSG_DONTWAIT);
	if (r == 0)
		die("the server closed the connection");
	if (r > 0)
		inlen += r;
}

static void
put(const char *data, size_t len)
{
	ssize_t r;

	while (len > 0) {
		if ((r = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			die("write: %s", strerror(errno));
		}
		data += r;
		len -= r;
	}
}

static void
connect_from(const char *host, int port, const char *from, int reader)
{
	struct sockaddr_in sin;
	int one = 1;
	char *l;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (from != NULL) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		if (inet_pton(AF_INET, from, &sin.sin_addr) != 1)
			die("bad address %s", from);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			die("bind %s: %s", from, strerror(errno));
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		die("bad address %s", host);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("connect %s:%d: %s", host, port, strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	l = get_line();
	if (l[0] != '2')
		die("greeting: %s", l);
	if (reader) {
		put("MODE READER\r\n", 13);
		l = get_line();
		if (l[0] != '2')
			die("MODE READER: %s", l);
	}
}

static void
connect_to(const char *host, int port, int reader)
{
	connect_from(host, port, NULL, reader);
}

/* An article of about 2 KB, dot-terminated, into buf. */
static size_t
article(char *buf, size_t size, const char *prefix, long i,
    const char *group)
{
	size_t n;
	int line;

	n = snprintf(buf, size, "Path: bench.example!not-for-mail\r\n"
	    "From: Bench <bench@example.org>\r\nNewsgroups: %s\r\n"
	    "Subject: benchmark article %ld\r\n"
	    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
	    "Message-ID: <%s-%ld@bench.example>\r\n\r\n", group, i, prefix,
	    i);
	for (line = 0; line < 24; line++)
		n += snprintf(buf + n, size - n, "Line %02d of article %ld:"
		    " the quick brown fox jumps over the lazy dog.\r\n", line,
		    i);
	n += snprintf(buf + n, size - n, ".\r\n");
	return n;
}

static void
report(const char *op, long count, double secs)
{
	printf("op=%s count=%ld seconds=%.3f rate=%.0f\n", op, count, secs,
	    secs > 0 ? count / secs : 0);
}

static void
feed(const char *prefix, const char *group, long count, int stream,
    int window)
{
	static char art[8192], outbuf[1 << 20];
	char cmd[8192], *l;
	long sent = 0, answered = 0, accepted = 0;
	size_t out_len;
	struct pollfd pfd;
	double t0;
	size_t n;

	if (stream) {
		put("MODE STREAM\r\n", 13);
		if (strncmp(l = get_line(), "203", 3) != 0)
			die("MODE STREAM: %s", l);
	}
	t0 = now();
	if (!stream) {
		for (sent = 0; sent < count; sent++) {
			n = snprintf(cmd, sizeof(cmd), "IHAVE <%s-%ld@bench"
			    ".example>\r\n", prefix, sent);
			put(cmd, n);
			l = get_line();
			if (strncmp(l, "335", 3) != 0)
				continue;
			n = article(art, sizeof(art), prefix, sent, group);
			put(art, n);
			if (strncmp(get_line(), "235", 3) == 0)
				accepted++;
		}
		report("ihave", accepted, now() - t0);
		return;
	}
	while (answered < count) {
		/* One write for all that may go, as a real feeder batches. */
		out_len = 0;
		while (sent < count && sent - answered < window) {
			n = snprintf(cmd, sizeof(cmd), "TAKETHIS <%s-%ld@bench"
			    ".example>\r\n", prefix, sent);
			n += article(cmd + n, sizeof(cmd) - n, prefix, sent,
			    group);
			if (out_len + n > sizeof(outbuf))
				break;
			memcpy(outbuf + out_len, cmd, n);
			out_len += n;
			sent++;
		}
		put(outbuf, out_len);
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (!line_ready() && poll(&pfd, 1, 60000) <= 0)
			die("no answer for 60 s");
		fill();
		while (line_ready()) {
			l = get_line();
			if (strncmp(l, "239", 3) == 0)
				accepted++;
			else if (strncmp(l, "439", 3) != 0)
				die("TAKETHIS: %s", l);
			answered++;
		}
	}
	report("stream", accepted, now() - t0);
}

/* Read one multi-line answer's body up to ".". */
static long
skip_body(void)
{
	long lines = 0;

	while (strcmp(get_line(), ".") != 0)
		lines++;
	return lines;
}

static void
group_range(const char *group, long *first, long *last)
{
	char cmd[512], *l;
	long count;

	snprintf(cmd, sizeof(cmd), "GROUP %s\r\n", group);
	put(cmd, strlen(cmd));
	l = get_line();
	if (sscanf(l, "211 %ld %ld %ld", &count, first, last) != 3)
		die("GROUP: %s", l);
}

static void
read_articles(const char *group, long count, int pipeline)
{
	char cmd[64], *l;
	long first, last, sent = 0, got = 0;
	double t0;
	size_t n;

	group_range(group, &first, &last);
	if (last - first + 1 < count)
		count = last - first + 1;
	t0 = now();
	while (got < count) {
		while (sent < count && sent - got < pipeline) {
			n = snprintf(cmd, sizeof(cmd), "ARTICLE %ld\r\n",
			    first + sent);
			put(cmd, n);
			sent++;
		}
		l = get_line();
		if (strncmp(l, "220", 3) != 0)
			die("ARTICLE: %s", l);
		skip_body();
		got++;
	}
	report(pipeline > 1 ? "article-pipelined" : "article", got,
	    now() - t0);
}

static void
over(const char *group)
{
	char cmd[128], *l;
	long first, last, lines;
	double t0;

	group_range(group, &first, &last);
	t0 = now();
	snprintf(cmd, sizeof(cmd), "OVER %ld-%ld\r\n", first, last);
	put(cmd, strlen(cmd));
	l = get_line();
	if (strncmp(l, "224", 3) != 0)
		die("OVER: %s", l);
	lines = skip_body();
	report("over", lines, now() - t0);
}

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	stop = 1;
}

/*
 * COUNT idle readers.  Each is set up in turn (greeting, GROUP), with
 * one buffer: a connection's answers are all read before the next
 * opens.  The idle ones are then only watched, so that a server closing
 * them shows in "alive".
 */
static void
idle(const char *host, int port, const char *from, const char *group,
    long count, int reader)
{
	struct pollfd *pfd;
	struct sigaction sa;
	sigset_t block, old;
	long i, alive, first, last;
	double t0;

	if ((pfd = calloc(count, sizeof(*pfd))) == NULL)
		die("out of memory");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	t0 = now();
	for (i = 0; i < count && !stop; i++) {
		inlen = inpos = 0;
		connect_from(host, port, from, reader);
		group_range(group, &first, &last);
		pfd[i].fd = fd;
		pfd[i].events = POLLIN;
	}
	if (stop)
		die("stopped after %ld of %ld readers", i, count);
	report("idle", count, now() - t0);
	fflush(stdout);
	alarm(1200);
	/* Blocked but in sigsuspend(), so that none comes unseen. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!stop)
		sigsuspend(&old);
	/*
	 * An idle reader is sent nothing: one with something to read has
	 * the server's goodbye or its end of file.
	 */
	alive = count;
	if (poll(pfd, count, 0) > 0)
		for (i = 0; i < count; i++)
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				alive--;
	printf("alive=%ld\n", alive);
	exit(0);
}

int
main(int argc, char *argv[])
{
	if (argc >= 7 && strcmp(argv[1], "feed") == 0) {
		connect_to(argv[2], atoi(argv[3]), 0);
		feed(argv[5], argv[6], atol(argv[4]), argc < 8 ||
		    strcmp(argv[7], "ihave") != 0, argc > 8 ? atoi(argv[8]) :
		    100);
	} else if (argc >= 7 && strcmp(argv[1], "read") == 0) {
		connect_to(argv[2], atoi(argv[3]), argc > 7);
		read_articles(argv[4], atol(argv[5]), atoi(argv[6]));
	} else if (argc >= 7 && strcmp(argv[1], "idle") == 0) {
		idle(argv[2], atoi(argv[3]), argv[6], argv[4], atol(argv[5]),
		    argc > 7);
	} else if (argc >= 5 && strcmp(argv[1], "over") == 0) {
		connect_to(argv[2], atoi(argv[3]), argc > 5);
		over(argv[4]);
	} else {
		fprintf(stderr, "usage: nntp_bench feed HOST PORT COUNT PREFIX"
		    " GROUP [ihave|stream] [WINDOW]\n"
		    "       nntp_bench read HOST PORT GROUP COUNT PIPELINE"
		    " [reader]\n"
		    "       nntp_bench over HOST PORT GROUP [reader]\n"
		    "       nntp_bench idle HOST PORT GROUP COUNT FROM"
		    " [reader]\n");
		return 2;
	}
	put("QUIT\r\n", 6);
	return 0;
}
