/*
 * fuzz_smtp.c: libFuzzer target for the LMTP/SMTP listener: each input is
 * what the MTA sends on one connection (commands, messages, garbage).  The
 * first byte chooses the protocol: odd for LMTP, even for SMTP.
 *
 * As fuzz_nntp does, one real server runs for the whole fuzzing run, with
 * a real store, router and worker threads; the reactor cleans every
 * message that reaches DATA.  The loop runs until the session is gone.
 */

#include <sys/socket.h>

#include <netinet/in.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "syncd.h"
#include "smtp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base *base;
static struct smtp_server *srv;

static struct transport *
no_transport(void *arg, const char *target)
{
	return NULL;
}

static void
fuzz_init(void)
{
	static const char text[] =
	    "hostname gw.fuzz.example\n"
	    "max-message-size 64K\n"
	    "channel a {\n\tnewsgroup pirates.de.a\n"
	    "\tlist a@lists.fuzz.example\n"
	    "\tgateway-address gw+a@gw.fuzz.example\n"
	    "\tsubject-tag [A]\n}\n"
	    "channel b {\n\tnewsgroup pirates.de.b\n"
	    "\tlist b@lists.fuzz.example\n"
	    "\tgateway-address gw+b@gw.fuzz.example\n"
	    "\tfooter own\n\tstrip-notes yes\n}\n";
	char dir[] = "/tmp/syncom-fuzz-smtp.XXXXXX", *err = NULL;
	struct conf *conf;
	struct store *store;
	struct outbox *outbox;
	struct router *router;

	log_init(1, 0, "fuzz_smtp");
	evthread_use_pthreads();
	base = event_base_new();
	if (mkdtemp(dir) == NULL || (store = store_open(dir, base, &err)) ==
	    NULL)
		fatalx("fuzz_init: %s", err != NULL ? err : "mkdtemp");
	if ((conf = conf_parse("fuzz", text, sizeof(text) - 1, &err)) == NULL)
		fatalx("fuzz_init: %s", err);
	outbox = outbox_new(base, store, no_transport, NULL);
	router = router_new(store, outbox);
	router_set_conf(router, conf);
	srv = smtp_server_new(base, router, worker_new(base, 2), NULL, 0);
	if (smtp_server_set_conf(srv, conf, &err) == -1)
		fatalx("fuzz_init: %s", err);
	conf_unref(&conf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin;
	char sink[65536];
	size_t off = 1;
	ssize_t n;
	int fds[2], i;

	if (size == 0)
		return 0;
	if (base == NULL)
		fuzz_init();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == -1)
		return 0;
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	smtp_server_adopt(srv, fds[1], (struct sockaddr *)&sin, data[0] & 1);

	/* Routing happens on the worker threads: wait for it, boundedly. */
	for (i = 0; i < 20000 && smtp_server_sessions(srv) > 0; i++) {
		if (off < size) {
			n = write(fds[0], data + off, size - off);
			if (n > 0)
				off += n;
			if (off == size)
				shutdown(fds[0], SHUT_WR);
		}
		while (read(fds[0], sink, sizeof(sink)) > 0)
			;
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (off == size)
			usleep(50);
	}
	close(fds[0]);
	for (i = 0; i < 20000 && smtp_server_sessions(srv) > 0; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(50);
	}
	return 0;
}
