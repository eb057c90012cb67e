/*
 * forum.h: the web forum: boards, topics, posts and accounts, served over
 * HTTP by syncd, and the forum side of the sync.
 *
 * Prototypes are grouped by the file that defines them.
 */

#ifndef SYNCOM_FORUM_H
#define SYNCOM_FORUM_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct evbuffer;
struct evhttp;
struct event_base;
struct conf;
struct store;
struct router;
struct transport;
struct forum_db;
struct forum_account;
struct forum_mail;
struct forum_queued;
struct forum_limit;
struct event;

/*
 * The forum in syncd: its database, its HTTP server, its mail.  Shared by
 * forum.c (the side) and forum_http.c (the pages); the rest of syncd sees
 * only the functions below.
 */
struct forum {
	struct event_base *base;
	struct store	*store;
	struct router	*router;
	struct conf	*conf;
	struct forum_db	*db;
	struct transport *mail;		/* forum-mail; syncd owns it */
	TAILQ_HEAD(, forum_mail) mails;
	/* Deliveries waiting for this loop turn's one transaction. */
	TAILQ_HEAD(, forum_queued) queued;
	struct event	*flush;
	struct evhttp	*http;		/* syncd's */
	struct forum_limit *limits;	/* login and posting rates */
	size_t		 nlimits;
	struct forum_kept *kept;	/* pages kept for nobody logged in */
	unsigned int	 requests;	/* for the session ids of the log */
};

/* forum.c */
/* What the router said of a post from the web (forum_submit). */
typedef void (*forum_submit_cb)(void *arg, int router_result,
		    const char *reason, const char *msgid);
/*
 * Open the forum's database in data_dir and serve its pages on http (or
 * none, when it is NULL); NULL and why.
 */
struct forum	*forum_new(struct event_base *, struct store *,
		    struct router *, const char *data_dir, struct evhttp *http,
		    char **err_r);
/* Take conf (boards follow its channels) and the forum-mail transport. */
void		 forum_set_conf(struct forum *, struct conf *,
		    struct transport *mail);
void		 forum_free(struct forum **);
/* The forum side's transport: it stores what the outbox delivers. */
struct transport *forum_transport_new(struct forum *, struct conf *);
/*
 * Store the message raw as a post on board (source: enum side, or -1 to
 * tell by its header); held: in the moderation queue, with raw to go out
 * when approved.  An edit (Supersedes) by the same author changes the
 * post; a cancel by its author hides it.  A delivery result, and why
 * when it is not DELIVERY_OK.
 */
int		 forum_take(struct forum *, const char *board, const char *raw,
		    size_t len, int source, int held, char **err_r);
/*
 * Send a held post out (forum_submit); it is shown once the router has
 * it.  1, 0 when it is not held (any more), -1 on error.
 */
int		 forum_approve(struct forum *, int64_t post, const char *session,
		    forum_submit_cb cb, void *arg);
/* A post from the web to the router; cb hears the outcome. */
void		 forum_submit(struct forum *, const char *board, const char *raw,
		    size_t len, const char *session, forum_submit_cb cb,
		    void *arg);
/* A yescrypt hash of password (crypt(3)), or NULL. */
char		*forum_password_hash(const char *password);
/*
 * Check a member's name and password: 1 and the account in a (clear it),
 * 0 when they do not match, -1 when the database cannot tell.
 */
int		 forum_login(struct forum *, const char *name,
		    const char *password, struct forum_account *a);
/* An nntp_auth_fn: members with a confirmed address log in to news too. */
int		 forum_nntp_auth(void *arg, const char *name,
		    const char *password, char **err_r);
/* Send a mail of the forum's own (it takes raw) to rcpt. */
void		 forum_mail(struct forum *, const char *rcpt, const char *msgid,
		    char *raw, size_t len);

/* forum_http.c: the pages. */
/* Serve every page of http that nobody else serves (it stays syncd's). */
void		 forum_http_start(struct forum *, struct evhttp *http);
void		 forum_http_stop(struct forum *);
/* Drop the pages kept: they show the configuration's forum title. */
void		 forum_http_forget(struct forum *);
/* Forget the sessions idle too long (job sweep): 0, or -1. */
int		 forum_http_sweep(struct forum *);

/* forum_render.c: what a post shows, made from the message it is. */

/* An attachment of a post: a MIME part that is not its readable text. */
struct forum_attachment {
	char		*filename;	/* UTF-8, never NULL ("part-N") */
	char		*type;		/* "application/pdf", lower case */
	size_t		 size;		/* decoded octets */
	int		 part;		/* its index in mime_walk order */
};

/* The readable text of a message and the list of its attachments. */
struct forum_text {
	char		*text;		/* UTF-8, LF line ends, NUL after */
	size_t		 len;
	int		 from_html;	/* made from text/html */
	struct forum_attachment *attachments;
	size_t		 nattachments;
};

/*
 * The text of the whole message raw (header and body): its first
 * text/plain part that is not an attachment, decoded to UTF-8, else its
 * first such text/html part made plain text; the other non-multipart
 * parts are attachments, except the text's alternatives (the other
 * parts under a multipart/alternative it is in) and the parts inside an
 * attached message (message/rfc822 is one attachment).  A message
 * without MIME is US-ASCII text: UTF-8 if it is, else windows-1252.
 * -1 and why (mime_parse's reason) when raw is not a message we can
 * read.  Clear t with forum_text_clear in either case.
 */
int		 forum_text_extract(const char *raw, size_t len,
		    struct forum_text *t, const char **err_r);
void		 forum_text_clear(struct forum_text *);
/*
 * The decoded octets of attachment part (its forum_attachment.part) of
 * raw, its type and file name (caller frees all three): 0, or -1 when
 * raw has no such attachment.
 */
int		 forum_attachment_get(const char *raw, size_t len, int part,
		    char **data_r, size_t *len_r, char **type_r,
		    char **filename_r);
/* Append s (len octets) escaped for HTML text and quoted attributes. */
void		 forum_escape(struct evbuffer *, const char *s, size_t len);
/*
 * Append a post's plain text as HTML: everything escaped; all of it in
 * <div class="text">, whose line feeds the stylesheet keeps (white-space:
 * pre-wrap); runs of quoted lines (starting with '>') folded into
 * <details class="quote"> with "N quoted lines" as the summary; the
 * signature (from the last "-- " or "--" line) in <div class="sig">;
 * http, https, ftp, news and mailto addresses made links
 * (rel="nofollow noopener").
 */
void		 forum_render_text(struct evbuffer *, const char *text,
		    size_t len);
/* HTML (UTF-8) as plain text: tags dropped, entities decoded. */
char		*forum_html_to_text(const char *html, size_t len,
		    size_t *len_r);
/*
 * text quoted for a reply: "NAME wrote:" and each line with "> " in
 * front (">" alone before an empty or already quoted line), the
 * signature and trailing blank lines left out (caller frees).  name is
 * not NULL; control characters in it become spaces.
 */
char		*forum_quote(const char *name, const char *text, size_t len);

/* forum_db.c: the built-in forum's database (forum.db in the data dir). */
struct forum_db;

enum forum_post_state {
	FORUM_POST_VISIBLE,
	FORUM_POST_HELD,	/* waits in the moderation queue */
	FORUM_POST_DELETED	/* deleted or cancelled: hidden */
};

enum forum_role {
	FORUM_ROLE_MEMBER,
	FORUM_ROLE_MODERATOR,
	FORUM_ROLE_ADMIN
};

struct forum_board {
	int64_t		 id;
	char		*name;
	char		*description;
	char		*newsgroup;	/* "" when none */
	char		*list;		/* "" when none */
	int		 moderated;
	long long	 topics, posts;
	time_t		 last;
};

struct forum_topic {
	int64_t		 id;
	int64_t		 board;
	char		*subject;
	char		*author;
	time_t		 created;
	long long	 posts;		/* visible ones */
	time_t		 last;
	char		*last_author;
};

struct forum_post {
	int64_t		 id;
	int64_t		 topic;
	int64_t		 parent;	/* 0: the topic's first */
	char		*msgid;
	int64_t		 account;	/* 0: no account of ours */
	char		*author;	/* display name */
	char		*address;	/* "" when unknown */
	char		*subject;
	char		*body;		/* forum_text.text; a snippet in
					   search results */
	char		*attachments;	/* "PART TYPE SIZE NAME" lines */
	int		 from_html;
	int		 source;	/* enum side */
	time_t		 date;
	int		 state;		/* enum forum_post_state */
	time_t		 edited;	/* 0: never */
	char		*html;		/* body as forum_render_text made it;
					   "" for posts from before */
};

/* What forum_db_post_add stores. */
struct forum_new_post {
	int64_t		 board;
	const char	*msgid;
	char *const	*refs;		/* References, oldest first */
	size_t		 nrefs;
	int64_t		 account;
	const char	*author;
	const char	*address;
	const char	*subject;
	const char	*body;
	const char	*html;		/* body rendered */
	const char	*attachments;
	int		 from_html;
	int		 source;
	time_t		 date;
	int		 state;
	/*
	 * A parent on another board counts when related says 1: a reply
	 * to a crosspost that is on the forum once, on one of its boards.
	 * NULL: only a parent on this board counts.
	 */
	int		(*related)(void *arg, const char *parent);
	void		*related_arg;
	/* A held post: the message that goes out when it is approved. */
	const char	*board_name;
	const char	*raw;
	size_t		 len;
};

struct forum_account {
	int64_t		 id;
	char		*name;
	char		*display;
	char		*hash;		/* crypt(3) */
	int		 role;		/* enum forum_role */
	int		 banned;
	time_t		 created;
	char		*address;	/* the verified one if any */
	int		 verified;
};

/* forum_db_account_add: what was already taken. */
#define FORUM_TAKEN_NAME	1
#define FORUM_TAKEN_ADDRESS	2

/* Open or create (and upgrade) dir/forum.db; NULL and why. */
struct forum_db	*forum_db_open(const char *dir, char **err_r);
void		 forum_db_close(struct forum_db **);
/*
 * One transaction for many writes, one fsync for all: what is written
 * until forum_db_batch_end (0, or -1 when none of it was kept) is
 * durable together.
 */
int		 forum_db_batch_begin(struct forum_db *);
int		 forum_db_batch_end(struct forum_db *);
/*
 * A page's reads in one read transaction (one snapshot, and the file
 * locked once rather than for each statement): forum_db_read_begin's
 * result goes to forum_db_read_end.  No writes in between.
 */
int		 forum_db_read_begin(struct forum_db *);
void		 forum_db_read_end(struct forum_db *, int began);
/*
 * What the database holds, as a value that changes with every write
 * made here or by another connection: what was read under a stamp is
 * still so while forum_db_stamp gives the same one.  -1 in a write
 * transaction, whose writes may yet be taken back, or on an error.
 */
struct forum_db_stamp {
	int64_t		 changes;	/* rows this connection wrote */
	int64_t		 data_version;	/* PRAGMA data_version: others' */
};
int		 forum_db_stamp(struct forum_db *, struct forum_db_stamp *);
int		 forum_db_stamp_same(const struct forum_db_stamp *,
		    const struct forum_db_stamp *);
/* Create or update a board from its channel. */
int		 forum_db_board_set(struct forum_db *, const char *name,
		    const char *description, const char *newsgroup,
		    const char *list, int moderated);
int		 forum_db_boards(struct forum_db *, struct forum_board **rows_r,
		    size_t *n_r);
/* By name, or by id when name is NULL: 1 and b filled, 0, or -1. */
int		 forum_db_board(struct forum_db *, const char *name, int64_t id,
		    struct forum_board *b);
void		 forum_board_free(struct forum_board *, size_t);
/* A board's topics with visible posts, the latest activity first. */
int		 forum_db_topics(struct forum_db *, int64_t board, size_t offset,
		    size_t limit, struct forum_topic **rows_r, size_t *n_r);
int		 forum_db_topic(struct forum_db *, int64_t id,
		    struct forum_topic *t);
void		 forum_topic_free(struct forum_topic *, size_t);
/* Every post of a topic (any state), in arrival order. */
int		 forum_db_posts(struct forum_db *, int64_t topic,
		    struct forum_post **rows_r, size_t *n_r);
/*
 * The same in brief: only id, topic, parent and state are filled, the
 * strings are NULL (forum_post_free frees them all the same).
 */
int		 forum_db_thread(struct forum_db *, int64_t topic,
		    struct forum_post **rows_r, size_t *n_r);
/* By id, or by Message-ID (its own or an edit's) when msgid is set. */
int		 forum_db_post(struct forum_db *, int64_t id, const char *msgid,
		    struct forum_post *p);
void		 forum_post_free(struct forum_post *, size_t);
/*
 * Store a post under its parent's topic, or a new one: 1 and its ids, 0
 * when the Message-ID is stored already, -1 on error (nothing stored).
 */
int		 forum_db_post_add(struct forum_db *,
		    const struct forum_new_post *, int64_t *id_r,
		    int64_t *topic_r);
/* Show, hold or hide a post, and count again. */
int		 forum_db_post_state(struct forum_db *, int64_t id, int state);
/* A new text for a post; msgid, when set, names the edit too. */
int		 forum_db_post_edit(struct forum_db *, int64_t id,
		    const char *msgid, const char *subject, const char *body,
		    const char *html, time_t when);
/*
 * Visible posts of a board matching every word, the newest first (as
 * phpBB orders them): ranking every match by relevance cost 16 ms for a
 * common word on a 100,000-post board, reading the newest 0.3 ms.
 */
int		 forum_db_search(struct forum_db *, int64_t board,
		    const char *words, size_t limit, struct forum_post **rows_r,
		    size_t *n_r);
/* Held posts, the oldest first. */
int		 forum_db_held(struct forum_db *, size_t limit,
		    struct forum_post **rows_r, size_t *n_r);
/* A held post's board and message: 1, 0 when not held, or -1. */
int		 forum_db_held_get(struct forum_db *, int64_t post,
		    char **board_r, char **raw_r, size_t *len_r);
/*
 * Out of the queue, and shown (approved) or hidden (rejected): 1, 0 when
 * it was not held, -1 on error.
 */
int		 forum_db_held_done(struct forum_db *, int64_t post, int state);
/* Accounts by name, a page at a time. */
int		 forum_db_accounts(struct forum_db *, size_t offset,
		    size_t limit, struct forum_account **rows_r, size_t *n_r);
/* By name, else by verified address, else by id: 1, 0, or -1. */
int		 forum_db_account(struct forum_db *, const char *name,
		    int64_t id, const char *address, struct forum_account *a);
void		 forum_account_clear(struct forum_account *);
/*
 * A new account with its address, unverified until token comes back:
 * 0, FORUM_TAKEN_*, or -1.  The first account is an admin.  It replaces
 * an unconfirmed account of the same name and address (a new link for a
 * lost one), or of either once that one's link has expired.
 */
int		 forum_db_account_add(struct forum_db *, const char *name,
		    const char *display, const char *hash, const char *address,
		    const char *token, time_t expires, int64_t *id_r);
/* Verify the address token was sent to: 1 and whose, 0, or -1. */
int		 forum_db_confirm(struct forum_db *, const char *token,
		    time_t now, int64_t *account_r);
int		 forum_db_account_set(struct forum_db *, int64_t id, int role,
		    int banned);
int		 forum_db_session_add(struct forum_db *, const char *id,
		    int64_t account, const char *csrf, time_t now);
/* 1 with the account (0: none) and CSRF token, 0 when unknown or idle. */
int		 forum_db_session(struct forum_db *, const char *id, time_t now,
		    time_t idle, int64_t *account_r, char **csrf_r);
int		 forum_db_session_delete(struct forum_db *, const char *id);
int		 forum_db_session_expire(struct forum_db *, time_t before);

#endif
