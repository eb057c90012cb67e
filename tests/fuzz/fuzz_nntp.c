/*
 * fuzz_nntp.c: libFuzzer target for the NNTP server: each input is what a
 * client sends on one connection (commands, articles, garbage).
 *
 * One real server runs for the whole fuzzing run, with a real store in a
 * private directory and the real router, so every command handler and the
 * article intake see the input.  The input is written into one end of a
 * socketpair whose other end the server adopts; the loop runs until the
 * session is gone.  Anything the server answers is read and dropped.
 */

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "nntp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base *base;
static struct store *store;
static struct outbox *outbox;
static struct router *router;
static struct nntp_server *srv;

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
	    "nntp-post anonymous\n"
	    "nntp-feeders 127.0.0.1\n"
	    "max-message-size 64K\n"
	    "channel a {\n\tnewsgroup pirates.de.a\n\tboard a\n}\n"
	    "channel b {\n\tnewsgroup pirates.de.b\n\tboard b\n"
	    "\tdirection read-only\n\tlist b@lists.fuzz.example\n}\n";
	char dir[] = "/tmp/syncom-fuzz-nntp.XXXXXX", *err = NULL;
	struct conf *conf;

	log_init(1, 0, "fuzz_nntp");
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
	srv = nntp_server_new(base, store, router, NULL, 0);
	nntp_server_set_conf(srv, conf);
	conf_unref(&conf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sin;
	char sink[65536];
	size_t off = 0;
	ssize_t n;
	int fds[2], i;

	if (base == NULL)
		fuzz_init();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == -1)
		return 0;
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	nntp_server_adopt(srv, fds[1], (struct sockaddr *)&sin);

	for (i = 0; i < 10000 && nntp_server_sessions(srv) > 0; i++) {
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
	}
	if (size == 0)
		shutdown(fds[0], SHUT_WR);
	close(fds[0]);
	for (i = 0; i < 100 && nntp_server_sessions(srv) > 0; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
