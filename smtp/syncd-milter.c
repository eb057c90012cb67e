/*
 * syncd-milter: a milter (libmilter) for the MTA in front of the lists
 * that refuses at SMTP time what the gateway would refuse later, so that
 * the sender hears why instead of the list's copy vanishing at the gateway:
 * a message larger than syncd's max-message-size (552), a sender that
 * syncd's blacklist drops (550), a Message-ID syncd has already, without
 * our gateway header: a loop (554).  Mail to no synced list, and anything
 * else, is accepted unchanged.
 *
 * It reads neither syncd's configuration nor its store: for each message
 * it asks syncd over the control socket (control.c's "milter-check"; the
 * answer comes from smtp_check.c) once the header is in, with the size
 * declared by MAIL FROM, and once more at the end of the message with the
 * real size if the first answer was "continue" (list mail, fine so far).
 * When syncd does not answer, the message is accepted (--fail open, the
 * default) or deferred with 451 (--fail closed).
 *
 * libmilter calls one SMTP session's callbacks on several worker threads
 * (one at a time): all a connection has lives in its struct milter_conn
 * behind smfi_setpriv and is freed in the close callback; the options are
 * only read once smfi_main runs.  smfi_main has its own signal thread:
 * SIGTERM, SIGINT and SIGHUP end it.  It stays in the foreground, for a
 * supervisor (systemd, runit) to run.
 *
 * Exit status (sysexits.h): 0 after a signal, 64 usage, 69 when the
 * milter socket cannot be opened or libmilter fails.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "common.h"
#include "smtp.h"

/* Recipients kept per message; Postfix takes 1000 by default. */
#define MILTER_RCPT_MAX		1000
/* Header values kept: longer ones cannot be an address or an ID. */
#define MILTER_VALUE_MAX	998
#define MILTER_ADDR_MAX		254
#define MILTER_GATEWAYS_MAX	2
/* A request stays within control.c's line and word limits. */
#define MILTER_LINE_MAX		8000
#define MILTER_BATCH_MAX	48
/* syncd's reply is one line; anything longer is not syncd. */
#define MILTER_REPLY_MAX	4096
/* smfi_setreply takes one line; RFC 5321 section 4.5.3.1.5: 512. */
#define MILTER_TEXT_MAX		400

#define OPTSTRING		"dhf:p:s:t:V"

/* Set in main, only read by the callbacks. */
static struct {
	const char	*socket;
	int		 fail_closed;
	int		 timeout;	/* seconds */
	int		 tcp;		/* -p inet: or inet6: */
} opt;

/* One SMTP connection of the MTA's; the message fields are per MAIL. */
struct milter_conn {
	char		 client[64];
	char		*sender;	/* "" for <>; NULL: no MAIL yet */
	long long	 declared;	/* SIZE=, or -1 */
	char		**rcpts;
	size_t		 nrcpts;
	char		*from;		/* header values, NULL if none */
	char		*sender_field;
	char		*msgid;
	char		*gateways[MILTER_GATEWAYS_MAX];
	size_t		 ngateways;
	long long	 size;		/* header and body octets so far */
	unsigned long	 noreply;	/* SMFIP_NR_* the MTA granted */
};

enum milter_answer {
	MILTER_ACCEPT,
	MILTER_CONTINUE,
	MILTER_REJECT,
	MILTER_UNREACHABLE
};

static void DEAD
usage(void)
{
	fprintf(stderr, "usage: syncd-milter [-dhV] -p SPEC [-s SOCKET]"
	    " [-f open|closed] [-t SECONDS]\n"
	    "Refuses list mail that syncd would refuse, at SMTP time; see"
	    " syncd-milter(8).\n"
	    "SOCKET defaults to %s/syncd.sock.\n", SYNCOM_RUNSTATEDIR);
	exit(EX_USAGE);
}

/* Forget the message (a new MAIL, its end, an abort). */
static void
milter_message_clear(struct milter_conn *c)
{
	size_t i;

	for (i = 0; i < c->nrcpts; i++)
		free(c->rcpts[i]);
	for (i = 0; i < c->ngateways; i++)
		free(c->gateways[i]);
	free(c->rcpts);
	free(c->sender);
	free(c->from);
	free(c->sender_field);
	free(c->msgid);
	c->rcpts = NULL;
	c->nrcpts = c->ngateways = 0;
	c->sender = c->from = c->sender_field = c->msgid = NULL;
	c->declared = -1;
	c->size = 0;
}

static struct milter_conn *
milter_conn(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		/* Only when the MTA skipped the connect step. */
		c = xcalloc(1, sizeof(*c));
		strcpy(c->client, "-");
		c->declared = -1;
		smfi_setpriv(ctx, c);
	}
	return c;
}

/* The address inside an envelope argument "<addr>" (or a bare one). */
static char *
milter_envelope_addr(const char *arg)
{
	size_t n;

	if (arg == NULL)
		return xstrdup("");
	while (*arg == ' ')
		arg++;
	if (*arg == '<') {
		arg++;
		n = strcspn(arg, ">");
	} else
		n = strlen(arg);
	return xstrndup(arg, n);
}

/* The MTA's queue ID when it sends one (Postfix: at the header's end). */
static const char *
milter_qid(SMFICTX *ctx)
{
	char name[] = "i";
	const char *qid = smfi_getsymval(ctx, name);

	return qid != NULL && *qid != '\0' ? qid : "-";
}

/* s as xtext (RFC 3461 section 4), appended to buf. */
static void
milter_xtext(char **buf, size_t *len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t need = strlen(s) * 3 + 1;
	char *o;

	*buf = xreallocarray(*buf, *len + need, 1);
	o = *buf + *len;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 33 || *p > 126 || *p == '+' || *p == '=') {
			*o++ = '+';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else
			*o++ = *p;
	}
	*o = '\0';
	*len = o - *buf;
}

static void
milter_word(char **buf, size_t *len, const char *key, const char *value)
{
	size_t n = strlen(key);

	*buf = xreallocarray(*buf, *len + n + 3, 1);
	(*buf)[(*len)++] = ' ';
	memcpy(*buf + *len, key, n);
	*len += n;
	(*buf)[(*len)++] = '=';
	(*buf)[*len] = '\0';
	milter_xtext(buf, len, value);
}

/*
 * Talk to syncd: send the request line, read the answer to the end.  The
 * whole exchange has opt.timeout seconds.  0 with the first body line in
 * *answer_r, else -1 and why.
 */
static int
milter_ask(const char *request, char **answer_r, char **err_r)
{
	struct sockaddr_un sun;
	struct timespec now, end;
	struct pollfd pfd;
	char buf[MILTER_REPLY_MAX + 1], *nl;
	size_t len = strlen(request), off = 0, got = 0;
	ssize_t n;
	int fd, ms;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(opt.socket) >= sizeof(sun.sun_path)) {
		*err_r = xstrdup("the socket path is too long");
		return -1;
	}
	strcpy(sun.sun_path, opt.socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		*err_r = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	/* A unix socket connects at once, or its backlog is full. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		*err_r = xasprintf("connect %s: %s", opt.socket,
		    strerror(errno));
		close(fd);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += opt.timeout;
	pfd.fd = fd;
	for (;;) {
		pfd.events = off < len ? POLLOUT : POLLIN;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (end.tv_sec - now.tv_sec) * 1000 +
		    (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0 || (n = poll(&pfd, 1, ms)) == 0) {
			*err_r = xasprintf("no answer within %d seconds",
			    opt.timeout);
			goto fail;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			*err_r = xasprintf("poll: %s", strerror(errno));
			goto fail;
		}
		if (off < len) {
			n = send(fd, request + off, len - off, MSG_NOSIGNAL);
			if (n == -1 && errno != EAGAIN && errno != EINTR) {
				*err_r = xasprintf("sending: %s",
				    strerror(errno));
				goto fail;
			}
			if (n > 0)
				off += n;
			continue;
		}
		n = read(fd, buf + got, MILTER_REPLY_MAX - got);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			*err_r = xasprintf("reading: %s", strerror(errno));
			goto fail;
		}
		if (n == 0 || (got += n) == MILTER_REPLY_MAX)
			break;
	}
	close(fd);
	buf[got] = '\0';
	if (strncmp(buf, "ok\n", 3) == 0) {
		if ((nl = strchr(buf + 3, '\n')) != NULL)
			*nl = '\0';
		*answer_r = xstrdup(buf + 3);
		return 0;
	}
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	*err_r = strncmp(buf, "error ", 6) == 0 ? xasprintf("syncd: %s",
	    buf + 6) : xasprintf("not syncd's answer: %s", buf);
	return -1;
fail:
	close(fd);
	return -1;
}

/*
 * An answer line: accept, continue, or "reject CODE X.Y.Z TEXT" with a
 * 4xx or 5xx code whose class the enhanced code repeats (RFC 3463).
 */
static enum milter_answer
milter_parse_answer(const char *line, char code[4], char xcode[16],
    const char **text_r)
{
	const char *p;
	size_t n;

	if (strcmp(line, "accept") == 0)
		return MILTER_ACCEPT;
	if (strcmp(line, "continue") == 0)
		return MILTER_CONTINUE;
	if (strncmp(line, "reject ", 7) != 0)
		return MILTER_UNREACHABLE;
	p = line + 7;
	if ((p[0] != '4' && p[0] != '5') || strspn(p, "0123456789") != 3 ||
	    p[3] != ' ')
		return MILTER_UNREACHABLE;
	memcpy(code, p, 3);
	code[3] = '\0';
	p += 4;
	n = strcspn(p, " ");
	if (n < 5 || n >= 16 || p[0] != code[0] || p[1] != '.' ||
	    strspn(p, "0123456789.") != n)
		return MILTER_UNREACHABLE;
	memcpy(xcode, p, n);
	xcode[n] = '\0';
	p += n;
	*text_r = p + strspn(p, " ");
	return MILTER_REJECT;
}

/*
 * Reply text for smfi_setreply: printable ASCII only (CR or LF make it
 * fail), "%" doubled (libmilter reads the text as a format), cut short.
 */
static char *
milter_reply_text(const char *s)
{
	char *out = xmalloc(2 * MILTER_TEXT_MAX + 1), *o = out;

	for (; *s != '\0' && o - out < MILTER_TEXT_MAX; s++) {
		if (*s == '%')
			*o++ = '%';
		*o++ = (unsigned char)*s < ' ' || (unsigned char)*s > '~' ?
		    '?' : *s;
	}
	*o = '\0';
	return out;
}

/* The request's words but the recipients. */
static char *
milter_request_head(const struct milter_conn *c, long long size,
    size_t *len_r)
{
	struct msg *m;
	char *buf = xstrdup("milter-check"), *addr, *id, num[32];
	size_t len = strlen(buf), i;

	if (c->sender != NULL && strlen(c->sender) <= MILTER_ADDR_MAX)
		milter_word(&buf, &len, "sender", c->sender);
	/* The address the reactor would look up: From, else Sender. */
	if (c->from != NULL || c->sender_field != NULL) {
		m = msg_new();
		if (c->from != NULL)
			msg_add(m, "From", c->from);
		if (c->sender_field != NULL)
			msg_add(m, "Sender", c->sender_field);
		if ((addr = reactor_sender(m)) != NULL &&
		    strlen(addr) <= MILTER_ADDR_MAX)
			milter_word(&buf, &len, "from", addr);
		free(addr);
		msg_free(&m);
	}
	if (c->msgid != NULL && (id = msgid_extract(c->msgid)) != NULL) {
		milter_word(&buf, &len, "msgid", id);
		free(id);
	}
	for (i = 0; i < c->ngateways; i++)
		milter_word(&buf, &len, "gateway", c->gateways[i]);
	if (c->declared >= 0) {
		snprintf(num, sizeof(num), "%lld", c->declared);
		milter_word(&buf, &len, "declared", num);
	}
	if (size >= 0) {
		snprintf(num, sizeof(num), "%lld", size);
		milter_word(&buf, &len, "size", num);
	}
	*len_r = len;
	return buf;
}

/*
 * Ask about the message, in batches of recipients that fit a request:
 * the first reject wins, then continue, then accept.
 */
static enum milter_answer
milter_check(const struct milter_conn *c, long long size, char code[4],
    char xcode[16], char **text_r, char **err_r)
{
	enum milter_answer a, result = MILTER_ACCEPT;
	char *head, *req, *answer;
	const char *text;
	size_t hlen, len, i = 0, batch;

	head = milter_request_head(c, size, &hlen);
	while (i < c->nrcpts && result != MILTER_REJECT) {
		req = xmemdup(head, hlen);
		len = hlen;
		for (batch = 0; i < c->nrcpts && batch < MILTER_BATCH_MAX;
		    i++) {
			if (strlen(c->rcpts[i]) > MILTER_ADDR_MAX)
				continue;	/* cannot be a list */
			if (batch > 0 && len + 3 * strlen(c->rcpts[i]) + 7 >
			    MILTER_LINE_MAX)
				break;
			milter_word(&req, &len, "rcpt", c->rcpts[i]);
			batch++;
		}
		if (batch == 0) {
			free(req);
			break;
		}
		req = xreallocarray(req, len + 2, 1);
		memcpy(req + len, "\n", 2);
		if (milter_ask(req, &answer, err_r) == -1) {
			free(req);
			free(head);
			return MILTER_UNREACHABLE;
		}
		free(req);
		a = milter_parse_answer(answer, code, xcode, &text);
		if (a == MILTER_UNREACHABLE) {
			*err_r = xasprintf("not an answer: %s", answer);
			free(answer);
			free(head);
			return MILTER_UNREACHABLE;
		}
		if (a == MILTER_REJECT)
			*text_r = xstrdup(text);
		if (a > result)
			result = a;
		free(answer);
	}
	free(head);
	return result;
}

/* Ask syncd, and turn the answer into the milter's. */
static sfsistat
milter_decide(SMFICTX *ctx, struct milter_conn *c, int eom)
{
	char code[4], xcode[16], *text = NULL, *err = NULL, *reply;
	char down[] = "the gateway is not reachable, try again later";
	const char *qid = milter_qid(ctx);

	if (c->nrcpts == 0)
		return SMFIS_ACCEPT;
	switch (milter_check(c, eom ? c->size : -1, code, xcode, &text,
	    &err)) {
	case MILTER_CONTINUE:
		/* At the end the size was given: nothing more to ask. */
		if (!eom)
			return SMFIS_CONTINUE;
		/* FALLTHROUGH */
	case MILTER_ACCEPT:
		log_debug("event=milter-check session=%s client=%s sender=%s"
		    " rcpt=%s rcpts=%zu result=accept", qid, c->client,
		    log_q(c->sender), log_q(c->rcpts[0]), c->nrcpts);
		return SMFIS_ACCEPT;
	case MILTER_REJECT:
		/* Logged as syncd logs its own replies: "X.Y.Z text". */
		reply = xasprintf("%s %s", xcode, text);
		log_info("event=milter-check session=%s client=%s sender=%s"
		    " rcpt=%s rcpts=%zu result=reject code=%s text=%s", qid,
		    c->client, log_q(c->sender), log_q(c->rcpts[0]),
		    c->nrcpts, code, log_q(reply));
		free(reply);
		reply = milter_reply_text(text);
		smfi_setreply(ctx, code, xcode, reply);
		free(reply);
		free(text);
		return code[0] == '4' ? SMFIS_TEMPFAIL : SMFIS_REJECT;
	case MILTER_UNREACHABLE:
		break;
	}
	log_warnx("event=milter-check session=%s client=%s sender=%s rcpt=%s"
	    " rcpts=%zu result=%s error=%s", qid, c->client, log_q(c->sender),
	    log_q(c->rcpts[0]), c->nrcpts, opt.fail_closed ? "tempfail" :
	    "accept", log_q(err));
	free(err);
	if (!opt.fail_closed)
		return SMFIS_ACCEPT;
	strcpy(code, "451");
	strcpy(xcode, "4.3.0");
	smfi_setreply(ctx, code, xcode, down);
	return SMFIS_TEMPFAIL;
}

/*
 * Only the end of the header and of the message decide anything: ask the
 * MTA not to wait for an answer to the other steps, and to skip HELO,
 * DATA and unknown commands.  Each answer it waits for is a round trip.
 * What the MTA does not offer, it keeps.
 *
 * Over TCP the DATA step is taken, with an answer.  Postfix's smtpd
 * writes the envelope (CONNECT to RCPT) unanswered at DATA and hands the
 * connection to its cleanup, whose header write then waits in Nagle's
 * algorithm for the ACK of the envelope, and the ACK waits for our
 * kernel's delayed-ACK timer, as we have nothing to send: 40 ms a
 * message (tests/bench/PROFILES.md).  The answer to DATA carries the
 * ACK at once.  A unix socket has neither, and is spared the round trip.
 */
static sfsistat
milter_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps,
    unsigned long f2, unsigned long f3, unsigned long *actions_r,
    unsigned long *steps_r, unsigned long *f2_r, unsigned long *f3_r)
{
	struct milter_conn *c = milter_conn(ctx);
	const unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_MAIL |
	    SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY;
	const unsigned long skip = SMFIP_NOHELO | SMFIP_NOUNKNOWN |
	    (opt.tcp ? 0 : SMFIP_NODATA);

	c->noreply = steps & noreply;
	*actions_r = 0;		/* the message is never changed */
	*steps_r = steps & (noreply | skip);
	*f2_r = *f3_r = 0;
	return SMFIS_CONTINUE;
}

/* The answer to a step that never refuses: none when the MTA allows. */
static sfsistat
milter_go_on(const struct milter_conn *c, unsigned long step)
{
	return c->noreply & step ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
milter_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	struct milter_conn *c = milter_conn(ctx);

	snprintf(c->client, sizeof(c->client), "%s",
	    hostname != NULL ? hostname : "-");
	return milter_go_on(c, SMFIP_NR_CONN);
}

static sfsistat
milter_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c = milter_conn(ctx);
	char *end;
	int i;

	milter_message_clear(c);
	c->sender = milter_envelope_addr(argv[0]);
	/* RFC 1870: SIZE=n, the client's estimate. */
	for (i = 1; argv[i] != NULL; i++)
		if (strncasecmp(argv[i], "SIZE=", 5) == 0) {
			c->declared = strtoll(argv[i] + 5, &end, 10);
			if (end == argv[i] + 5 || *end != '\0' ||
			    c->declared < 0)
				c->declared = -1;
		}
	return milter_go_on(c, SMFIP_NR_MAIL);
}

static sfsistat
milter_envrcpt(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c = milter_conn(ctx);

	if (c->nrcpts < MILTER_RCPT_MAX) {
		c->rcpts = xreallocarray(c->rcpts, c->nrcpts + 1,
		    sizeof(*c->rcpts));
		c->rcpts[c->nrcpts++] = milter_envelope_addr(argv[0]);
	}
	return milter_go_on(c, SMFIP_NR_RCPT);
}

static void
milter_keep(char **field, const char *value)
{
	if (*field == NULL && strlen(value) <= MILTER_VALUE_MAX)
		*field = xstrdup(value);
}

static sfsistat
milter_header(SMFICTX *ctx, char *name, char *value)
{
	struct milter_conn *c = milter_conn(ctx);

	if (name == NULL || value == NULL)
		return milter_go_on(c, SMFIP_NR_HDR);
	/* "Name: value" and CRLF. */
	c->size += strlen(name) + strlen(value) + 4;
	if (strcasecmp(name, "From") == 0)
		milter_keep(&c->from, value);
	else if (strcasecmp(name, "Sender") == 0)
		milter_keep(&c->sender_field, value);
	else if (strcasecmp(name, "Message-ID") == 0)
		milter_keep(&c->msgid, value);
	else if (strcasecmp(name, GATEWAY_HEADER) == 0 &&
	    c->ngateways < MILTER_GATEWAYS_MAX && strlen(value) <=
	    MILTER_ADDR_MAX)
		c->gateways[c->ngateways++] = xstrdup(value);
	return milter_go_on(c, SMFIP_NR_HDR);
}

/* Over TCP only: the answer is what counts (see milter_negotiate). */
static sfsistat
milter_data(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat
milter_eoh(SMFICTX *ctx)
{
	struct milter_conn *c = milter_conn(ctx);

	c->size += 2;
	return milter_decide(ctx, c, 0);
}

static sfsistat
milter_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct milter_conn *c = milter_conn(ctx);

	c->size += len;
	return milter_go_on(c, SMFIP_NR_BODY);
}

static sfsistat
milter_eom(SMFICTX *ctx)
{
	struct milter_conn *c = milter_conn(ctx);
	sfsistat st = milter_decide(ctx, c, 1);

	milter_message_clear(c);
	return st;
}

static sfsistat
milter_abort(SMFICTX *ctx)
{
	milter_message_clear(milter_conn(ctx));
	return SMFIS_CONTINUE;
}

static sfsistat
milter_close(SMFICTX *ctx)
{
	struct milter_conn *c = smfi_getpriv(ctx);

	if (c != NULL) {
		milter_message_clear(c);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "fail", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char name[] = "syncd-milter";
	struct smfiDesc desc;
	char *port = NULL, *end;
	long t;
	int ch, debug = 0;

	opt.socket = SYNCOM_RUNSTATEDIR "/syncd.sock";
	opt.timeout = 5;
	while ((ch = getopt_long(argc, argv, OPTSTRING, longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 's':
			opt.socket = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "open") == 0)
				opt.fail_closed = 0;
			else if (strcmp(optarg, "closed") == 0)
				opt.fail_closed = 1;
			else {
				fprintf(stderr, "syncd-milter: -f takes open"
				    " or closed\n");
				usage();
			}
			break;
		case 't':
			t = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || t < 1 ||
			    t > 300) {
				fprintf(stderr, "syncd-milter: -t takes 1 to"
				    " 300 seconds\n");
				usage();
			}
			opt.timeout = t;
			break;
		case 'd':
			debug = 1;
			break;
		case 'V':
			printf("syncd-milter %s\n", SYNCOM_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc || port == NULL)
		usage();
	/* libmilter would take any other word as a unix socket's path. */
	if (strncmp(port, "inet:", 5) != 0 && strncmp(port, "inet6:", 6) !=
	    0 && strncmp(port, "unix:", 5) != 0 && strncmp(port, "local:", 6)
	    != 0) {
		fprintf(stderr, "syncd-milter: -p takes inet:PORT@ADDRESS,"
		    " inet6:PORT@ADDRESS or unix:PATH\n");
		usage();
	}
	opt.tcp = strncmp(port, "inet", 4) == 0;
	log_init(1, debug, "syncd-milter");

	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = name;
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = 0;		/* the message is never changed */
	desc.xxfi_connect = milter_connect;
	desc.xxfi_envfrom = milter_envfrom;
	desc.xxfi_envrcpt = milter_envrcpt;
	desc.xxfi_header = milter_header;
	desc.xxfi_eoh = milter_eoh;
	desc.xxfi_body = milter_body;
	desc.xxfi_data = milter_data;
	desc.xxfi_eom = milter_eom;
	desc.xxfi_abort = milter_abort;
	desc.xxfi_close = milter_close;
	desc.xxfi_negotiate = milter_negotiate;
	if (smfi_setconn(port) == MI_FAILURE) {
		log_warnx("event=start port=%s error=\"smfi_setconn failed\"",
		    log_q(port));
		return EX_UNAVAILABLE;
	}
	if (smfi_register(desc) == MI_FAILURE) {
		log_warnx("event=start error=\"smfi_register failed\"");
		return EX_UNAVAILABLE;
	}
	/* Open it now, so that a port in use is reported before smfi_main. */
	if (smfi_opensocket(true) == MI_FAILURE) {
		log_warnx("event=start port=%s error=\"cannot open the milter"
		    " socket\"", log_q(port));
		return EX_UNAVAILABLE;
	}
	log_info("event=start version=%s pid=%ld port=%s socket=%s fail=%s"
	    " timeout=%d", SYNCOM_VERSION, (long)getpid(), log_q(port),
	    log_q(opt.socket), opt.fail_closed ? "closed" : "open",
	    opt.timeout);
	if (smfi_main() == MI_FAILURE) {
		log_warnx("event=stop result=failed");
		return EX_UNAVAILABLE;
	}
	log_info("event=stop result=clean");
	return 0;
}
