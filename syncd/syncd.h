/*
 * syncd.h: the daemon's core: configuration, the store, the router, the
 * outbox and its transports, the control socket.
 *
 * The path every message takes (DESIGN.md): a side hands a cleaned message
 * to router_submit(); the router checks loops and duplicates, maps it to
 * channels and targets and gives it to the store, which commits it with one
 * outbox row per target; only then is the side's callback called, so only
 * then does the sender hear "accepted".  The outbox delivers committed rows
 * through the transports, with retries, and dead-letters what keeps failing.
 *
 * Prototypes are grouped by the file that defines them.
 */

#ifndef SYNCOM_SYNCD_H
#define SYNCOM_SYNCD_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "common.h"

struct event_base;
struct evbuffer;

/* The three places a message lives; also the source of an arrival. */
enum side {
	SIDE_NEWS,
	SIDE_LIST,
	SIDE_FORUM,
	SIDE_MAX
};

/* Which way a channel carries messages between news and list. */
enum direction {
	DIRECTION_BOTH,
	DIRECTION_NEWS_TO_LIST,
	DIRECTION_LIST_TO_NEWS,
	DIRECTION_READ_ONLY
};

/* conf.c */

struct conf_channel {
	TAILQ_ENTRY(conf_channel) entry;
	int		 line;		/* where it was defined */
	char		*name;
	char		*newsgroup;	/* or NULL */
	char		*list;		/* the list's posting address, or NULL */
	char		*list_id;	/* RFC 2919 List-Id, without <> */
	char		*gateway_address; /* our subscription: the envelope
					   recipient of list deliveries */
	char		*board;		/* forum board, or NULL */
	char		*description;
	char		*subject_tag;	/* "[Pirates-test]", or NULL */
	/* How list mail is cleaned for news (smtp/reactor.c). */
	int		 footer;	/* enum reactor_footer */
	int		 outlook_prefixes;
	int		 strip_notes;
	int		 fix_date;
	char		*approve;	/* Approved: value for moderated groups */
	int		 list_from;	/* enum list_from */
	char		*list_password;	/* Approved: on mail to the list */
	int		 direction;	/* enum direction */
	int		 moderated;
	/* Who may read and post in the newsgroup: enum access, or -1 for
	   the global nntp-read and nntp-post. */
	int		 nntp_read;
	int		 nntp_post;
	long long	 expire;	/* seconds; 0: never */
};
TAILQ_HEAD(conf_channels, conf_channel);

enum transport_kind {
	TRANSPORT_NONE,
	TRANSPORT_MAILDIR,
	TRANSPORT_NNTP,		/* the news side's feed to a peer */
	TRANSPORT_SMTP,		/* the list side: to the MTA */
	TRANSPORT_LMTP,		/* the list side: to Mailman's LMTP runner */
	TRANSPORT_BUILTIN	/* the forum side: syncd's own forum */
};

/* How list mail from news and the forum names its author (list-from). */
enum list_from {
	LIST_FROM_AUTHOR,	/* the author's own From */
	LIST_FROM_REWRITE	/* "Name via host" <gateway address>, DMARC-safe */
};

/* Who may read or post (nntp-read, nntp-post). */
enum access {
	ACCESS_ANONYMOUS,
	ACCESS_AUTHENTICATED,
	ACCESS_NOBODY
};

enum listen_proto {
	LISTEN_NNTP,
	LISTEN_NNTPS,		/* NNTP in TLS from the start (RFC 8143) */
	LISTEN_LMTP,		/* list mail from the MTA (RFC 2033) */
	LISTEN_SMTP,		/* the same by SMTP (RFC 5321) */
	LISTEN_HTTP		/* the forum's pages */
};

/* A listener ("listen nntp 127.0.0.1:119"). */
struct conf_listen {
	enum listen_proto proto;
	char		*address;	/* as written */
	int		 line;
};

/* How one side's messages leave ("deliver list maildir PATH"). */
struct conf_deliver {
	enum transport_kind kind;
	char		*path;		/* or ADDRESS:PORT; "" for builtin */
	int		 line;
};

/*
 * A parsed configuration.  It is reference counted because work in flight
 * (a delivery, a reload) may outlive the configuration it started under.
 */
struct conf {
	int		 refs;
	char		*file;
	char		*hostname;
	char		*path_identity;
	char		*data_dir;
	char		*user;
	char		*pidfile;
	char		*control_socket;
	char		*control_group;
	int		 log_verbose;
	/* Numbers: bounds and defaults are in conf.c's table. */
	long long	 max_message_size;
	long long	 max_attempts;
	long long	 max_age;
	long long	 retry_min;
	long long	 retry_max;
	long long	 delivery_concurrency;
	struct conf_deliver deliver[SIDE_MAX];
	struct conf_deliver archive;
	/* The forum's own mail (address confirmations): smtp or maildir. */
	struct conf_deliver forum_mail;
	char		*forum_url;	/* its address for links in mail */
	char		*forum_title;
	char		*forum_sender;	/* From of its mail */
	struct conf_listen *listens;
	size_t		 nlistens;
	/* The NNTP server. */
	int		 nntp_read;	/* enum access */
	int		 nntp_post;	/* enum access */
	char		*nntp_users;	/* user:crypt-hash lines */
	char		**nntp_feeders;	/* who may IHAVE/TAKETHIS */
	size_t		 nntp_nfeeders;
	int		 nntp_feeders_set;
	int		 nntp_insecure_auth;
	long long	 nntp_idle_timeout;
	long long	 nntp_connections_per_address;
	char		*nntp_motd;
	/* The mail listener. */
	char		**smtp_clients;	/* who may deliver */
	size_t		 smtp_nclients;
	int		 smtp_clients_set;
	long long	 smtp_idle_timeout;
	long long	 smtp_connections_per_address;
	long long	 http_timeout;	/* the HTTP listener's */
	char		*blacklist;	/* the reactor's, or NULL */
	/* TLS for the listeners (STARTTLS and implicit). */
	char		*tls_certificate;
	char		*tls_key;
	/* Notices to the technik group (notice.c). */
	char		*notice_group;	/* or NULL: notices only logged */
	char		*notice_from;
	long long	 notice_peer_down;
	long long	 notice_interval;
	char		*changes_file;
	char		*mailman_rest;	/* Mailman 3's REST API, or NULL */
	/* Schedules other than the defaults (jobs.c). */
	struct conf_job	*jobs;
	size_t		 njobs;
	struct conf_channels channels;
	size_t		 nchannels;
};

/* A scheduled job's line ("job NAME SCHEDULE"); "off" stops it. */
struct conf_job {
	char		*name;
	char		*schedule;
	int		 line;
};

/* Parse a file; on error *err_r is "file:line: message" (caller frees). */
struct conf	*conf_load(const char *file, char **err_r);
/* The same from a buffer; name is used in error messages. */
struct conf	*conf_parse(const char *name, const char *text, size_t len,
		    char **err_r);
/* Print in canonical form: conf_parse of the output prints the same. */
void		 conf_print(const struct conf *, FILE *);
struct conf	*conf_ref(struct conf *);
void		 conf_unref(struct conf **);
struct conf_channel *conf_channel_by_group(const struct conf *, const char *);
struct conf_channel *conf_channel_by_list_id(const struct conf *,
		    const char *);
struct conf_channel *conf_channel_by_address(const struct conf *,
		    const char *);
struct conf_channel *conf_channel_by_board(const struct conf *, const char *);
/* "127.0.0.1:119", "[::1]:119", "*:119": host and port, or -1. */
int		 conf_split_address(const char *, char **host_r, int *port_r);
/* Settings a reload cannot change that differ: "a,b", or NULL. */
char		*conf_restart_changes(const struct conf *old,
		    const struct conf *new);
/* A channel's nntp-read or nntp-post, its own or the global one. */
int		 conf_access(const struct conf *, const struct conf_channel *,
		    int post);
/* The outbox target of a channel's side, or NULL (caller frees). */
char		*conf_target(const struct conf_channel *, enum side);
/* The side of an outbox target ("list:ADDR" is the list), or -1. */
int		 conf_target_side(const char *target);
/* Every target the configuration delivers to (caller frees each). */
size_t		 conf_targets(const struct conf *, char ***targets_r);
const char	*side_name(enum side);
int		 side_from_name(const char *, enum side *);
const char	*direction_name(enum direction);

/* cron.c: crontab(5)-like schedules. */
struct cron {
	uint64_t	 minutes;	/* bit n: minute n */
	uint32_t	 hours;
	uint32_t	 days;		/* of the month, bit 1..31 */
	uint16_t	 months;	/* bit 1..12 */
	uint8_t		 weekdays;	/* bit 0..6, Sunday 0 */
	int		 days_any;	/* the day fields were "*" */
	int		 weekdays_any;
};
/* "M H DOM MON DOW" or @hourly, @daily...: 0, or -1 and why. */
int		 cron_parse(const char *spec, struct cron *, char **err_r);
/* The first time after after (local time) that c matches, or -1. */
time_t		 cron_next(const struct cron *, time_t after);

/* store.c */

enum store_result {
	STORE_OK,
	STORE_DUPLICATE,	/* the Message-ID is already stored */
	STORE_TEMPFAIL		/* could not commit: disk full, I/O error */
};

/* A message to be stored, with everything the router decided. */
struct store_msg {
	char		*msgid;
	enum side	 source;
	time_t		 arrived;
	time_t		 date;		/* -1 when unknown */
	char		*subject;	/* UTF-8, or NULL */
	char		*from;		/* UTF-8, or NULL */
	char		*refs;		/* References as received, or NULL */
	char		*parent;	/* parent Message-ID, or NULL */
	/* Overview fields (RFC 3977 section 8.3): unfolded header values. */
	char		*ov_subject;
	char		*ov_from;
	char		*ov_date;
	long long	 lines;		/* of the body */
	int		 held;		/* waits for the list's moderators */
	char		*cancels;	/* a cancel: the Message-ID it takes
					   off our server, or NULL */
	char		*raw;
	size_t		 len;
	char		**channels;
	size_t		 nchannels;
	char		**groups;	/* newsgroups that number it */
	size_t		 ngroups;
	char		**targets;	/* outbox targets */
	size_t		 ntargets;
};
void		 store_msg_free(struct store_msg **);

/* One outbox row picked for delivery. */
struct outbox_row {
	int64_t		 id;
	int64_t		 message;
	char		*msgid;
	char		*target;
	long long	 attempts;
	time_t		 created;
	time_t		 since;		/* max-age counts from here */
};
void		 outbox_row_free(struct outbox_row **);

/* An outbox row as syncctl shows it. */
struct store_row_info {
	int64_t		 id;
	char		*msgid;
	char		*target;
	int		 state;
	long long	 attempts;
	time_t		 created;
	time_t		 next_try;
	time_t		 updated;
	char		*last_error;
};

#define OUTBOX_PENDING		0
#define OUTBOX_DONE		1
#define OUTBOX_DEAD		2

struct store;
typedef void (*store_cb)(void *arg, enum store_result, const char *err);

/* Open (creating or upgrading) the store in dir; NULL and why. */
struct store	*store_open(const char *dir, struct event_base *,
		    char **err_r);
/* Commit what is queued, stop the checkpointer, close the database. */
void		 store_close(struct store **);
/*
 * 1 if a message with this Message-ID is stored, 2 if it is stored but
 * held for moderation, 0 if not, -1 on error.
 */
int		 store_has_msgid(struct store *, const char *msgid);
/*
 * Queue a message (the store takes msg); it is committed together with
 * everything else queued in this turn of the event loop, and cb runs after
 * that commit.
 */
void		 store_add(struct store *, struct store_msg *msg, store_cb,
		    void *arg);
/*
 * Queue the release of a held message: msg (the store takes it) says
 * where it goes now: channels, groups, targets.  cb hears STORE_DUPLICATE
 * when it is held no more.
 */
void		 store_release(struct store *, struct store_msg *msg, store_cb,
		    void *arg);
/* Queue an outbox result: state is OUTBOX_DONE, _PENDING (retry) or _DEAD. */
void		 store_outbox_result(struct store *, int64_t id, int state,
		    time_t next_try, const char *err, store_cb, void *arg);
/* Commit what is queued now. */
void		 store_flush(struct store *);
/*
 * Rows for target due at now, oldest first, at most limit, skipping any
 * row whose message's parent (stored earlier) still waits for the target.
 */
int		 store_outbox_due(struct store *, const char *target, time_t now,
		    size_t limit, struct outbox_row ***rows_r, size_t *n_r);
/* The targets with pending rows. */
int		 store_outbox_targets(struct store *, char ***targets_r,
		    size_t *n_r);
/* The highest outbox row id so far (0 when empty). */
int64_t		 store_outbox_max_id(struct store *);
/* The earliest next_try of a pending row, or -1 if none. */
time_t		 store_outbox_next(struct store *);
/* The raw bytes of a stored message (caller frees). */
int		 store_message_raw(struct store *, int64_t message, char **raw_r,
		    size_t *len_r);
/* Dead rows back to pending (id 0: all of them); how many, or -1. */
int		 store_outbox_retry(struct store *, int64_t id);
/*
 * Take the articles that arrived before before out of group (they stay
 * known by Message-ID); how many, or -1.
 */
int		 store_expire(struct store *, const char *group, time_t before);
/* The last arrival from each side, and the last delivery to each. */
int		 store_last(struct store *, time_t in[SIDE_MAX],
		    time_t out[SIDE_MAX]);
/* A channel's description from its list, or NULL (caller frees). */
char		*store_description(struct store *, const char *channel);
/* Keep one (text NULL: forget it, the configuration's counts again). */
int		 store_description_set(struct store *, const char *channel,
		    const char *text);
/* Forget delivered rows last touched before before; how many, or -1. */
int		 store_outbox_sweep(struct store *, time_t before);
/* Rows in state (or all states when state < 0), newest first. */
int		 store_outbox_list(struct store *, int state, size_t limit,
		    struct store_row_info **rows_r, size_t *n_r);
void		 store_row_info_free(struct store_row_info *, size_t);
/* Per target and state: count and oldest creation time. */
struct store_queue_info {
	char		*target;
	int		 state;
	long long	 count;
	time_t		 oldest;
};
int		 store_queue(struct store *, struct store_queue_info **rows_r,
		    size_t *n_r);
void		 store_queue_free(struct store_queue_info *, size_t);
/* Per channel: messages stored and the last arrival. */
struct store_channel_info {
	char		*channel;
	long long	 messages;
	time_t		 last;
};
int		 store_channels(struct store *, struct store_channel_info **rows_r,
		    size_t *n_r);
void		 store_channels_free(struct store_channel_info *, size_t);
long long	 store_message_count(struct store *);
/* Article numbers of a message in a group (0 if none). */
long long	 store_article_number(struct store *, const char *group,
		    const char *msgid);
/*
 * Is the data directory full?  True for a short while after a commit
 * failed for want of space: offers of new input (IHAVE, CHECK, RCPT) are
 * refused before the message is sent.  After that pause the next message
 * is tried for real, so a freed disk is noticed without a restart.
 */
int		 store_full(struct store *);
/*
 * Fault injection for tests: the next n commits fail as if the disk were
 * full.
 */
void		 store_fail_commits(struct store *, int n);

/* What the news server reads (store.c); lists come in bounded slices. */
struct store_group {
	char		*name;
	long long	 low, high, count;
	time_t		 created;
};
struct store_overview {
	long long	 number;	/* 0 when looked up by Message-ID */
	int64_t		 message;
	char		*msgid;
	char		*subject;	/* NULL: read them from the raw */
	char		*from;
	char		*date;
	char		*refs;
	long long	 bytes;
	long long	 lines;		/* -1: count them in the raw */
	time_t		 arrived;
};
struct store_xref {
	char		*group;
	long long	 number;
};
struct store_newnews {
	int64_t		 message;
	char		*msgid;
	char		*group;
};
/* Make sure a group exists, so that it is listed before its first article. */
int		 store_group_create(struct store *, const char *name);
int		 store_groups(struct store *, struct store_group **rows_r,
		    size_t *n_r);
/* 1 and *g filled, 0 if there is no such group, -1 on error. */
int		 store_group(struct store *, const char *name,
		    struct store_group *g);
void		 store_groups_free(struct store_group *, size_t);
/* Several reads as one transaction, on the loop only. */
void		 store_read_begin(struct store *);
void		 store_read_end(struct store *);
/* Article number in group: 1 with its message, 0 if none, -1. */
int		 store_article(struct store *, const char *group,
		    long long number, int64_t *message_r, char **msgid_r);
/* 1 with the message's row id, 0 if unknown, -1 on error. */
int		 store_message_id(struct store *, const char *msgid,
		    int64_t *message_r);
/* 1 if the two messages are in a channel together, 0 if not, -1. */
int		 store_share_channel(struct store *, const char *a,
		    const char *b);
/* The next (or previous) article number in group; 0 if none, -1. */
long long	 store_article_step(struct store *, const char *group,
		    long long number, int forward);
/* Article numbers in [low, high], at most limit. */
int		 store_numbers(struct store *, const char *group, long long low,
		    long long high, size_t limit, long long **nums_r,
		    size_t *n_r);
/* Each row to fn, its strings valid during the call; how many, or -1. */
int		 store_overview_each(struct store *, const char *group,
		    long long low, long long high, size_t limit,
		    void (*fn)(const struct store_overview *, void *),
		    void *arg);
/* By Message-ID: 1 and a row to free, 0 if unknown, -1 on error. */
int		 store_overview_msgid(struct store *, const char *msgid,
		    struct store_overview **row_r);
void		 store_overview_free(struct store_overview *, size_t);
/* Every group and number a message has. */
int		 store_xref(struct store *, int64_t message,
		    struct store_xref **rows_r, size_t *n_r);
void		 store_xref_free(struct store_xref *, size_t);
/* Articles that arrived at since or later, after row id after: one row
   per group they are in. */
int		 store_newnews(struct store *, time_t since, int64_t after,
		    size_t limit, struct store_newnews **rows_r, size_t *n_r);
void		 store_newnews_free(struct store_newnews *, size_t);

/* listen.c */
struct bufferevent;
struct sockaddr;
/* Bind and listen on "ADDRESS:PORT" (non-blocking); -1 and why. */
int		 listen_tcp(const char *address, char **err_r);
/* The peer's address as text into name; 1 if it is loopback, else 0. */
int		 listen_peer(const struct sockaddr *, char *name, size_t size);
/*
 * Start connecting bev to "ADDRESS:PORT" (numeric, as the configuration
 * has it checked); -1 and errno when that cannot even start.
 */
int		 listen_connect(struct bufferevent *, const char *address);
/*
 * Called on each read with the input as read: 1 when an unfinished line
 * (or, with skipping, the rest of an overlong one being skipped) has been
 * waiting more than limit seconds since *since_r, which keeps the moment
 * the wait began (0: nothing waits).
 */
int		 listen_too_slow(struct evbuffer *in, int skipping,
		    time_t *since_r, long long limit);

struct evhttp_request;
/* Send an HTTP reply; for HEAD, its length without the body. */
void		 http_reply(struct evhttp_request *, int code,
		    const char *reason, struct evbuffer *body);

/* dotdata.c: dot-terminated text, as NNTP articles and SMTP DATA come. */
#define DOTDATA_LINE_MAX	(64 * 1024)
enum dotdata_refusal {
	DOTDATA_OK,
	DOTDATA_TOO_BIG,	/* over the caller's max */
	DOTDATA_LINE_TOO_LONG	/* a line over DOTDATA_LINE_MAX */
};
/*
 * Move what in holds of the text into out, dot-stuffing undone and each
 * line ended by CRLF: 1 when the final "." line was read, else 0 (call
 * again when more arrives).  Past max octets, or after a line longer
 * than DOTDATA_LINE_MAX, the text is read to its end but not kept, and
 * *refusal_r (DOTDATA_OK at the start) says why.  With crlf_only a bare
 * LF ends no line (SMTP: only CRLF.CRLF ends the data, so that "\n.\n"
 * cannot smuggle a second message past an MTA that reads it otherwise).
 */
int		 dotdata_read(struct evbuffer *in, struct evbuffer *out,
		    long long max, enum dotdata_refusal *refusal_r,
		    int crlf_only);

/* worker.c: run blocking work off the event loop. */
struct worker;
/* fn runs on a worker thread; done runs on the loop afterwards. */
typedef void (*worker_fn)(void *arg);
struct worker	*worker_new(struct event_base *, int threads);
void		 worker_run(struct worker *, worker_fn fn, worker_fn done,
		    void *arg);
/* Jobs queued or running. */
size_t		 worker_busy(struct worker *);
/* Wait for the jobs in hand, then stop the threads. */
void		 worker_free(struct worker **);

/* The transport interface: how the outbox hands a row to a side. */
enum delivery_result {
	DELIVERY_OK,
	DELIVERY_TEMPFAIL,	/* try again later */
	DELIVERY_PERMFAIL	/* no retry will help: dead letter now */
};

struct delivery;
typedef void (*delivery_done_cb)(struct delivery *, enum delivery_result,
		    const char *err);

/* One attempt to deliver one outbox row; the outbox owns it. */
struct delivery {
	struct outbox_row *row;
	char		*raw;
	size_t		 len;
	int		 recovering;	/* may have been delivered before a
					   crash: check before writing */
	delivery_done_cb done;
	void		*arg;
};

struct transport;
struct transport_ops {
	const char	*name;
	/* Start delivering; d->done is called once, possibly later. */
	void		 (*deliver)(struct transport *, struct delivery *d);
	void		 (*free)(struct transport *);
};
struct transport {
	const struct transport_ops *ops;
	struct conf	*conf;		/* for our identity */
	void		*priv;
};
void		 transport_free(struct transport **);

/* maildir.c: the Maildir transport (archive copies, the demo's sides). */
struct transport *maildir_transport_new(struct conf *, const char *path,
		    struct worker *);
/*
 * Write data into the Maildir at path as new/<name>, durably; when check is
 * set, a file of that name already in new/ or cur/ counts as delivered.
 * Blocking: call it on a worker thread.
 */
int		 maildir_deliver(const char *path, const char *name,
		    const char *data, size_t len, int check, char **err_r);

/* tls.c: TLS on our listeners. */
struct bufferevent;
struct tls_server;
/* Load a certificate chain and its key; NULL and why. */
struct tls_server *tls_server_new(const char *cert, const char *key,
		    char **err_r);
void		 tls_server_free(struct tls_server **);
/* A bufferevent that speaks TLS on fd from the first byte; NULL: failed. */
struct bufferevent *tls_accept(struct tls_server *, struct event_base *,
		    int fd);
/* TLS over a plain bufferevent, which the new one owns (STARTTLS). */
struct bufferevent *tls_starttls(struct tls_server *, struct event_base *,
		    struct bufferevent *plain);
/* The last OpenSSL error, for the log. */
const char	*tls_error(void);

/* outbox.c */
struct outbox;
/* The transport for a target ("news", "list:ADDR", "forum:BOARD"...). */
typedef struct transport *(*outbox_resolve_fn)(void *arg, const char *target);
struct outbox	*outbox_new(struct event_base *, struct store *,
		    outbox_resolve_fn, void *arg);
/*
 * Who hears every outcome once it is recorded: the row, its new state
 * (OUTBOX_DONE, _PENDING for a retry, _DEAD) and why it failed.
 */
typedef void (*outbox_observer_fn)(void *arg, const struct outbox_row *,
		    int state, const char *err);
void		 outbox_set_observer(struct outbox *, outbox_observer_fn,
		    void *arg);
/* Sets the configuration and adds a queue for each of its targets. */
void		 outbox_set_conf(struct outbox *, struct conf *);
/* Add a queue for every target with pending rows in the store. */
void		 outbox_refresh_targets(struct outbox *);
/* New rows were committed for target: look for due work now. */
void		 outbox_notify(struct outbox *, const char *target);
/* Look for due work now. */
void		 outbox_wake(struct outbox *);
/* Deliveries in flight. */
size_t		 outbox_inflight(struct outbox *);
/* Pick no more rows (shutdown). */
void		 outbox_stop(struct outbox *);
void		 outbox_free(struct outbox **);
/* The delay before attempt n+1 (exponential, with jitter). */
time_t		 outbox_backoff(const struct conf *, long long attempts);

/* router.c */
enum router_result {
	ROUTER_ACCEPTED,
	ROUTER_DUPLICATE,	/* already stored: acknowledge, store nothing */
	ROUTER_LOOP,		/* we sent it: acknowledge, gate nothing */
	ROUTER_NOT_GATED,	/* the channels do not carry it from there */
	ROUTER_REJECTED,	/* bad or unwanted: a permanent error */
	ROUTER_TEMPFAIL		/* could not store it now: try again */
};

/* What a side knows of an arrival beyond the message itself. */
struct router_input {
	enum side	 source;
	const char	*raw;		/* the cleaned message; the router copies */
	size_t		 len;
	const char	*recipient;	/* list: envelope recipient, or NULL */
	const char	*board;		/* forum: the board, or NULL */
	const char	*session;	/* for the log: "control:3" ... */
	/*
	 * Posted here by a reader of ours rather than relayed by a peer:
	 * the side's other servers (INN) have not seen it, so its own side
	 * is a target too.
	 */
	int		 posted_here;
};

typedef void (*router_cb)(void *arg, enum router_result, const char *reason,
		    const char *msgid);
struct router;
struct router	*router_new(struct store *, struct outbox *);
void		 router_set_conf(struct router *, struct conf *);
/*
 * Route one message; cb runs exactly once, after the commit when the
 * message is accepted, or at once (still from router_submit) when it is
 * refused before reaching the store.
 */
void		 router_submit(struct router *, const struct router_input *,
		    router_cb, void *arg);
const char	*router_result_name(enum router_result);
/* Is the data directory full (store_full)? */
int		 router_full(struct router *);
/* Whether a gateway header's value is our identity (white space aside). */
int		 router_is_ours(const char *value, const char *identity);
void		 router_free(struct router **);

/* metrics.c: counters and the /metrics text (Prometheus format 0.0.4). */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
/* What a scrape reads from outside the core. */
struct metrics_sources {
	struct store	*store;		/* the outbox and the message count */
	size_t		 nntp_sessions;
	size_t		 smtp_sessions;
};
/* The process started at t (syncom_start_time_seconds). */
void		 metrics_start(time_t t);
/* One routing decision: called once per arrival, by router_finish(). */
void		 metrics_message_in(enum side source, enum router_result);
/*
 * One outbox outcome once recorded (state OUTBOX_DONE, _PENDING for a
 * retry, _DEAD) for target; a done one's latency is now - created.
 */
void		 metrics_delivery(const char *target, time_t created, int state,
		    time_t now);
/* Append the exposition to out; -1 and why (caller frees) on error. */
int		 metrics_write(struct evbuffer *out,
		    const struct metrics_sources *, char **err_r);

/* notice.c: automated notices to the technik group. */
struct notice;
struct notice	*notice_new(struct event_base *, struct store *,
		    struct router *);
void		 notice_set_conf(struct notice *, struct conf *);
void		 notice_free(struct notice **);
/*
 * Post a notice to group (NULL: notice-group).  key names the event: the
 * Message-ID derives from it, so one event is one article even across
 * restarts (NULL: a new Message-ID).  cb (or, when NULL, the log) hears
 * the router.  -1 and why when there is no such group.
 */
int		 notice_post(struct notice *, const char *group,
		    const char *key, const char *subject, const char *body,
		    router_cb cb, void *arg, char **err_r);
/* At start: announce this version with its CHANGES entries, once. */
void		 notice_started(struct notice *);
/* The outbox's outcomes: peers failing and back, dead letters. */
void		 notice_outcome(struct notice *, const struct outbox_row *,
		    int state, const char *err);
/* How each side's peer is: ok, or failing since when and why. */
void		 notice_peers(struct notice *, struct evbuffer *out, int json);
/* The summary job: counts, queues, dead letters. */
int		 notice_summary(struct notice *, char **result_r);

/* describe.c: the lists' descriptions from Mailman 3's REST API. */
typedef void	(*describe_done_fn)(void *arg, int ok, const char *result);
/*
 * Ask mailman-rest for each channel's list and keep its description in
 * the store; done hears how it went, later.
 */
void		 describe_run(struct event_base *, struct store *,
		    const struct conf *, describe_done_fn done, void *arg);
/* The decoded string member name of a JSON object, or NULL. */
char		*describe_json_member(const char *json, const char *name);

/* jobs.c: named periodic jobs ("job NAME SCHEDULE"). */
struct jobs;
/* A job's work: 0 done, -1 failed (*result_r says), or JOB_LATER. */
#define JOB_LATER	1
typedef int	(*job_fn)(void *arg, char **result_r);
struct jobs	*jobs_new(struct event_base *);
/* Register a job with its default schedule (a valid cron spec). */
void		 jobs_add(struct jobs *, const char *name, const char *schedule,
		    job_fn fn, void *arg);
/* Take the configuration's schedules. */
void		 jobs_set_conf(struct jobs *, const struct conf *);
/* Run one now: 0 or -1, and what it said (caller frees). */
int		 jobs_start(struct jobs *, const char *name, char **result_r);
/* A JOB_LATER job is done. */
void		 jobs_done(struct jobs *, const char *name, int ok,
		    const char *result);
void		 jobs_list(struct jobs *, struct evbuffer *out, int json);
void		 jobs_free(struct jobs **);

/* control.c: the control socket that syncctl talks to. */
struct control;
/* What control needs from the rest of the daemon. */
struct control_hooks {
	void		(*reload)(void *arg, char **err_r);
	/*
	 * "milter-check", answered by the mail side: the one-line verdict
	 * for the request's words (caller frees), or -1 and why.
	 */
	int		(*milter_check)(void *arg, const char *session,
			    char *const *words, int nwords, char **verdict_r,
			    char **err_r);
	/*
	 * "notice": post text (its first line the subject, the rest the
	 * body) to group (NULL: notice-group); cb hears the router.  -1
	 * and why when it cannot be posted.
	 */
	int		(*notice)(void *arg, const char *group,
			    const char *text, size_t len, router_cb cb,
			    void *cbarg, char **err_r);
	/* For "status": how the peers are (text or JSON members). */
	void		(*peers)(void *arg, struct evbuffer *out, int json);
	/* "jobs" lists the jobs; "run-job" runs one now. */
	void		(*jobs)(void *arg, struct evbuffer *out, int json);
	int		(*run_job)(void *arg, const char *name,
			    char **result_r);
	void		*arg;
};
/* s as a JSON string (RFC 8259), or null. */
void		 control_json_str(struct evbuffer *, const char *s);
/* Bind the socket (mode 0660, owner uid, group gid); -1 and why. */
int		 control_listen(const char *path, uid_t uid, gid_t gid,
		    char **err_r);
struct control	*control_new(struct event_base *, int fd, struct store *,
		    struct router *, struct outbox *,
		    const struct control_hooks *);
void		 control_set_conf(struct control *, struct conf *);
void		 control_free(struct control **);

#endif
