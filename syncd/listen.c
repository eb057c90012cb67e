/*
 * listen.c: the sockets the sides' servers listen on, bound by syncd.c
 * before it drops its privileges, the names of the peers they accept,
 * the connections the sides' clients open to their peers, the one way
 * an HTTP listener answers, and the one rule that ends a client too slow
 * to finish a line.
 */

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "common.h"
#include "syncd.h"

/*
 * The backlog is the kernel's most (net.core.somaxconn caps SOMAXCONN):
 * with 128, a burst of connections overflowed the queue, and every one
 * dropped waited for its SYN to be sent again, a second and more later,
 * though the loop accepts thousands a second.
 */
int
listen_tcp(const char *address, char **err_r)
{
	struct addrinfo hints, *res;
	char *host, port[8];
	int portnum, fd, on = 1, rc;

	if (conf_split_address(address, &host, &portnum) == -1) {
		*err_r = xasprintf("%s is not an address and port", address);
		return -1;
	}
	snprintf(port, sizeof(port), "%d", portnum);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = strcmp(host, "*") == 0 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints,
	    &res);
	free(host);
	if (rc != 0) {
		*err_r = xasprintf("%s: %s", address, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		*err_r = xasprintf("%s: %s", address, strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int
listen_peer(const struct sockaddr *sa, char *name, size_t size)
{
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_in *sin;

	if (sa->sa_family == AF_INET6) {
		sin6 = (const void *)sa;
		/* An IPv4 client on a dual-stack socket. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], name,
			    size);
			return sin6->sin6_addr.s6_addr[12] == 127;
		}
		inet_ntop(AF_INET6, &sin6->sin6_addr, name, size);
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	sin = (const void *)sa;
	inet_ntop(AF_INET, &sin->sin_addr, name, size);
	return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
}

int
listen_connect(struct bufferevent *bev, const char *address)
{
	struct addrinfo hints, *res;
	char *host, port[8];
	int portnum, rc;

	if (conf_split_address(address, &host, &portnum) == -1) {
		errno = EINVAL;
		return -1;
	}
	snprintf(port, sizeof(port), "%d", portnum);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	free(host);
	if (rc != 0) {
		errno = EINVAL;
		return -1;
	}
	rc = bufferevent_socket_connect(bev, res->ai_addr,
	    (int)res->ai_addrlen);
	freeaddrinfo(res);
	return rc;
}

void
http_reply(struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *body)
{
	char len[32];

	/*
	 * libevent 2.1 sends a HEAD request the body too, which a client
	 * keeping the connection reads as the start of the next answer:
	 * say the length, send none (RFC 9110 section 9.3.2).
	 */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_remove_header(evhttp_request_get_output_headers(req),
		    "Content-Length");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, code, reason, body);
}

/*
 * Slowloris: a bufferevent's idle timeout counts from the last byte read,
 * so a client sending one byte every few seconds would hold its session
 * for ever, and enough of them every descriptor.  A line must therefore
 * come whole within limit seconds of the read that first found it
 * unfinished.
 */
int
listen_too_slow(struct evbuffer *in, int skipping, time_t *since_r,
    long long limit)
{
	struct evbuffer_ptr eol;
	struct timespec ts;
	size_t n;

	if (evbuffer_get_length(in) == 0 && !skipping) {
		*since_r = 0;
		return 0;
	}
	eol = evbuffer_search_eol(in, NULL, &n, EVBUFFER_EOL_LF);
	if (eol.pos != -1) {
		*since_r = 0;
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (*since_r == 0) {
		/* 0 means none: a clock at 0 counts from 1. */
		*since_r = ts.tv_sec > 0 ? ts.tv_sec : 1;
		return 0;
	}
	return ts.tv_sec - *since_r >= limit;
}
