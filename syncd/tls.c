/*
 * tls.c: TLS for our listeners (NNTP's STARTTLS and implicit TLS), on
 * OpenSSL through libevent's bufferevent_openssl.
 *
 * syncd.c loads the certificate and key at start-up, while still root (a
 * key is usually readable by root alone), and again on reload, where a
 * failure keeps the old ones.  Each connection gets its own SSL object,
 * which holds a reference on the context, so a context replaced by a
 * reload lives on for the connections that still use it.
 */

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "syncd.h"

struct tls_server {
	SSL_CTX		*ctx;
};

/* The last OpenSSL error as text, for the log. */
const char *
tls_error(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

struct tls_server *
tls_server_new(const char *cert, const char *key, char **err_r)
{
	struct tls_server *tls;
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		*err_r = xasprintf("creating a TLS context: %s", tls_error());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		*err_r = xasprintf("%s: %s", cert, tls_error());
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		*err_r = xasprintf("%s: %s", key, tls_error());
		SSL_CTX_free(ctx);
		return NULL;
	}
	tls = xcalloc(1, sizeof(*tls));
	tls->ctx = ctx;
	return tls;
}

void
tls_server_free(struct tls_server **tlsp)
{
	struct tls_server *tls = *tlsp;

	*tlsp = NULL;
	if (tls == NULL)
		return;
	SSL_CTX_free(tls->ctx);
	free(tls);
}

struct bufferevent *
tls_accept(struct tls_server *tls, struct event_base *base, int fd)
{
	SSL *ssl;

	if ((ssl = SSL_new(tls->ctx)) == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

struct bufferevent *
tls_starttls(struct tls_server *tls, struct event_base *base,
    struct bufferevent *plain)
{
	SSL *ssl;

	if ((ssl = SSL_new(tls->ctx)) == NULL)
		return NULL;
	return bufferevent_openssl_filter_new(base, plain, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}
