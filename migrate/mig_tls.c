/*
 * mig_tls.c: syncmigrate's IMAP connections, plain or TLS, as a libetpan
 * stream driver of our own; TLS done with OpenSSL.
 *
 * Debian's libetpan does its TLS with GnuTLS and checks no certificate,
 * so its own TLS streams cannot be trusted with passwords.  Here OpenSSL
 * does the handshake on the connected socket and checks the chain against
 * the configured CA file (or the system's) and the name (RFC 6125: the
 * host name, or the IP address when the configuration gives one); a
 * failed check ends the connection with the reason.
 *
 * Plain connections use the same driver, not libetpan's socket driver,
 * for two reasons: that driver waits in select(), which cannot take a
 * descriptor above FD_SETSIZE (1024), and it reports the end of the
 * connection as a read of 0 bytes, which libetpan's literal parser takes
 * for "nothing yet" and asks again, for ever: a server gone in the
 * middle of a message would hang syncmigrate.  Here every read and write
 * blocks, bounded by the socket's timeouts, and the end of the
 * connection is an error.
 */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libetpan/libetpan.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common.h"
#include "migrate.h"

/* Every read and write waits at most this long (seconds). */
#define MIG_TLS_TIMEOUT	300

struct mig_tls {
	SSL_CTX		*ctx;		/* NULL until TLS starts */
	SSL		*ssl;
	int		 fd;
};

/* Bytes read; -1 at the end of the connection too (see above). */
static ssize_t
mig_tls_read(mailstream_low *low, void *buf, size_t size)
{
	struct mig_tls *t = low->data;
	ssize_t r;
	int n;

	if (t->ssl == NULL) {
		while ((r = read(t->fd, buf, size)) == -1 && errno == EINTR)
			;
		return r > 0 ? r : -1;
	}
	for (;;) {
		n = SSL_read(t->ssl, buf, size > INT32_MAX ? INT32_MAX :
		    (int)size);
		if (n > 0)
			return n;
		switch (SSL_get_error(t->ssl, n)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			continue;
		default:
			return -1;
		}
	}
}

static ssize_t
mig_tls_write(mailstream_low *low, const void *buf, size_t size)
{
	struct mig_tls *t = low->data;
	ssize_t r;
	int n;

	if (t->ssl == NULL) {
		while ((r = send(t->fd, buf, size, MSG_NOSIGNAL)) == -1 &&
		    errno == EINTR)
			;
		return r > 0 ? r : -1;
	}
	for (;;) {
		n = SSL_write(t->ssl, buf, size > INT32_MAX ? INT32_MAX :
		    (int)size);
		if (n > 0)
			return n;
		switch (SSL_get_error(t->ssl, n)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			continue;
		default:
			return -1;
		}
	}
}

static int
mig_tls_close(mailstream_low *low)
{
	struct mig_tls *t = low->data;

	if (t->fd != -1) {
		if (t->ssl != NULL)
			SSL_shutdown(t->ssl);
		close(t->fd);
		t->fd = -1;
	}
	return 0;
}

static int
mig_tls_fd(mailstream_low *low)
{
	return ((struct mig_tls *)low->data)->fd;
}

static void
mig_tls_free(mailstream_low *low)
{
	struct mig_tls *t = low->data;

	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	free(t);
	free(low);
}

static void
mig_tls_cancel(mailstream_low *low)
{
	/* Nothing waits asynchronously: the socket timeouts end waits. */
}

static struct mailstream_cancel *
mig_tls_get_cancel(mailstream_low *low)
{
	return NULL;
}

static carray *
mig_tls_chain(mailstream_low *low)
{
	return NULL;
}

static int
mig_tls_idle(mailstream_low *low)
{
	return -1;
}

static mailstream_low_driver mig_tls_driver = {
	mig_tls_read,
	mig_tls_write,
	mig_tls_close,
	mig_tls_fd,
	mig_tls_free,
	mig_tls_cancel,
	mig_tls_get_cancel,
	mig_tls_chain,
	mig_tls_idle,
	mig_tls_idle,
	mig_tls_idle,
};

/* What OpenSSL said last, for a message. */
static const char *
mig_tls_why(SSL *ssl)
{
	static char buf[256];
	unsigned long e;
	long v;

	if (ssl != NULL && (v = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(buf, sizeof(buf), "the certificate is not trusted:"
		    " %s", X509_verify_cert_error_string(v));
		return buf;
	}
	if ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		return buf;
	}
	return "the handshake failed";
}

int
mig_tls_socket(const char *host, int port, char **err_r)
{
	struct addrinfo hints, *res, *ai;
	char portstr[8];
	int fd = -1, rc, saved = 0;

	snprintf(portstr, sizeof(portstr), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		*err_r = xasprintf("%s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		*err_r = xasprintf("%s:%d: %s", host, port, strerror(saved));
	return fd;
}

mailstream_low *
mig_tls_plain(int fd)
{
	struct mig_tls *t = xcalloc(1, sizeof(*t));
	struct timeval tv = { MIG_TLS_TIMEOUT, 0 };
	mailstream_low *low;

	t->fd = fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((low = mailstream_low_new(t, &mig_tls_driver)) == NULL)
		fatalx("mailstream_low_new failed");
	return low;
}

int
mig_tls_start(mailstream_low *low, const struct mig_server *srv,
    char **err_r)
{
	struct mig_tls *t = low->data;
	X509_VERIFY_PARAM *param;
	struct in6_addr a6;
	struct in_addr a4;
	int ip;

	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	ip = inet_pton(AF_INET, srv->host, &a4) == 1 ||
	    inet_pton(AF_INET6, srv->host, &a6) == 1;
	if (srv->verify) {
		if ((srv->ca_file != NULL ? SSL_CTX_load_verify_locations(
		    t->ctx, srv->ca_file, NULL) :
		    SSL_CTX_set_default_verify_paths(t->ctx)) != 1) {
			*err_r = xasprintf("cannot load the trusted"
			    " certificates %s: %s", srv->ca_file != NULL ?
			    srv->ca_file : "of the system", mig_tls_why(NULL));
			return -1;
		}
		param = SSL_CTX_get0_param(t->ctx);
		if (ip)
			X509_VERIFY_PARAM_set1_ip_asc(param, srv->host);
		else
			X509_VERIFY_PARAM_set1_host(param, srv->host, 0);
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	}
	if ((t->ssl = SSL_new(t->ctx)) == NULL)
		fatalx("SSL_new failed");
	/* RFC 6066 section 3: a name, never an address. */
	if (!ip)
		SSL_set_tlsext_host_name(t->ssl, srv->host);
	SSL_set_fd(t->ssl, t->fd);
	if (SSL_connect(t->ssl) != 1) {
		*err_r = xasprintf("TLS with %s:%d: %s", srv->host, srv->port,
		    mig_tls_why(t->ssl));
		/* Nothing more goes over this connection, TLS or not. */
		SSL_free(t->ssl);
		t->ssl = NULL;
		return -1;
	}
	return 0;
}
