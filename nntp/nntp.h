/*
 * nntp.h: the news side: an NNTP server for readers and feeding peers
 * (RFC 3977, RFC 4644 streaming, RFC 4643 AUTHINFO, RFC 6048 LIST
 * extensions) on top of the store, and the article shaping both ways.
 *
 * syncd.c binds the listeners and hands them to nntp_server_new(); what a
 * client posts or feeds goes through router_submit() like any arrival, and
 * what readers read comes straight from the store.
 *
 * Prototypes are grouped by the file that defines them.
 */

#ifndef SYNCOM_NNTP_H
#define SYNCOM_NNTP_H

#include "syncd.h"

struct event_base;
struct evbuffer;

/* RFC 3977 section 3.1: a command line is at most 512 octets with CRLF. */
#define NNTP_LINE_MAX		512

/* wildmat.c */
/* Does text match the wildmat (RFC 3977 section 4)? */
int		 wildmat_match(const char *wildmat, const char *text);
/* Is this a wildmat by RFC 3977's grammar? */
int		 wildmat_valid(const char *wildmat);

/* nntp_auth.c: the users of nntp-users, "name:crypt-hash" per line. */
/*
 * 1 if name and password match an entry, 0 if not, -1 (and why) if the
 * file cannot be read.  The file is read on every call, so edits take
 * effect without a reload.
 */
int		 nntp_auth_check(const char *file, const char *name,
		    const char *password, char **err_r);

/* nntp_article.c: articles in and out. */
enum nntp_intake {
	NNTP_POST,		/* from a reader: we inject it */
	NNTP_IHAVE,		/* from a peer, one at a time */
	NNTP_TAKETHIS		/* from a peer, streaming */
};

/*
 * Check and complete an article that came in by POST, IHAVE or TAKETHIS.
 * For POST it adds what an injecting agent adds (RFC 5537 section 3.5):
 * Message-ID and Date when missing, Path with ".POSTED", Injection-Date
 * and Injection-Info; for a peer it checks that the headers a relayed
 * article must carry are there and that the Message-ID is the one
 * offered, then prepends our Path identity (section 3.6).  Returns the
 * article to route (caller frees), or NULL and a reason for the reply.
 */
char		*nntp_article_accept(const struct conf *, enum nntp_intake,
		    const char *raw, size_t len, const char *offered,
		    const char *client, const char *user, size_t *len_r,
		    char **msgid_r, char **reason_r);
/*
 * The article as readers see it: our identity in front of Path,
 * Newsgroups for what came from the list or the forum, and our Xref.
 * part is 'A' (all), 'H' (head), 'B' (body) or 'F' (all, for a peer: no
 * Xref).  Appends to out with dot-stuffing, without the final ".".  -1 if
 * the stored message cannot be read.
 */
int		 nntp_article_view(const struct conf *, struct store *,
		    int64_t message, int part, struct evbuffer *out);
/* The value of header name in a stored message (for HDR), or NULL. */
char		*nntp_article_header(struct store *, int64_t message,
		    const char *name);
/* One overview line (RFC 3977 section 8.3), without CRLF, into out. */
void		 nntp_overview_line(struct store *, const struct store_overview *,
		    long long number, struct evbuffer *out);

/* nntp_feed.c: the news side's transport, feeding a peer such as INN. */
struct transport *nntp_feed_new(struct event_base *, struct conf *,
		    struct store *, const char *address);

/* nntp_server.c */
struct nntp_server;
/* A bound, listening socket; tls: TLS from the first byte (nntps). */
struct nntp_listener {
	int		 fd;
	int		 tls;
};
/* The server owns the listeners' sockets from here. */
struct nntp_server *nntp_server_new(struct event_base *, struct store *,
		    struct router *, const struct nntp_listener *, size_t);
void		 nntp_server_set_conf(struct nntp_server *, struct conf *);
/*
 * Users besides nntp-users (the forum's members): 1 when name and
 * password match, 0 when not, -1 and why when it cannot tell.
 */
typedef int	(*nntp_auth_fn)(void *arg, const char *name,
		    const char *password, char **err_r);
void		 nntp_server_set_auth(struct nntp_server *, nntp_auth_fn,
		    void *arg);
/* The TLS context for nntps and STARTTLS (the caller's), or NULL. */
void		 nntp_server_set_tls(struct nntp_server *, struct tls_server *);
/* Stop accepting and end every session. */
void		 nntp_server_free(struct nntp_server **);
size_t		 nntp_server_sessions(struct nntp_server *);
struct sockaddr;
/* Serve a connected socket from the peer at sa (accept, tests, fuzzing). */
void		 nntp_server_adopt(struct nntp_server *, int fd,
		    const struct sockaddr *sa);

#endif
