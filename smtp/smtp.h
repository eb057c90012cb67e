/*
 * smtp.h: the mail side: the LMTP/SMTP listener that takes list mail in,
 * the reactor that cleans it for news and the forum, the blacklist the
 * reactor consults, and the transport that mails news and forum posts to
 * the lists.
 *
 * The reactor is used by syncd on every list delivery before the router
 * sees it, and by syncd-reactor, the stdin-to-stdout filter that SynFU's
 * users can drop into a procmail recipe.  smtp_check answers syncd-milter,
 * which asks syncd over the control socket, during the MTA's SMTP dialogue,
 * whether the gateway would refuse a message to a list.
 */

#ifndef SYNCOM_SMTP_H
#define SYNCOM_SMTP_H

#include <stddef.h>
#include <time.h>

struct msg;
struct conf;
struct conf_channel;
struct transport;
struct event_base;
struct router;
struct sockaddr;
struct store;
struct worker;

/* blacklist.c */
/*
 * Who may not reach news and the forum through a list, and what happens
 * to their mail.  One rule per line, "address; action[; days]" as in
 * SynFU ("#" starts a comment); the address may be "@domain" for a whole
 * domain.  Actions: d or drop, n or no-archive, e or expires (with the
 * days), and ne/en for both of the last two.
 */
#define BLACKLIST_DROP		0x01
#define BLACKLIST_NO_ARCHIVE	0x02
#define BLACKLIST_EXPIRES	0x04

struct blacklist;
/* Load path; NULL with "path:line: why" in *err_r (caller frees). */
struct blacklist *blacklist_load(const char *path, char **err_r);
/* The same from a buffer; name is used in error messages. */
struct blacklist *blacklist_parse(const char *name, const char *text,
		    size_t len, char **err_r);
/* The actions (BLACKLIST_*) for addr, 0 if none; *days_r for EXPIRES. */
int		 blacklist_match(const struct blacklist *, const char *addr,
		    int *days_r);
size_t		 blacklist_count(const struct blacklist *);
void		 blacklist_free(struct blacklist **);

/* reactor.c */
enum reactor_footer {
	REACTOR_FOOTER_KEEP,	/* leave footers alone */
	REACTOR_FOOTER_OWN,	/* only footers that name this list */
	REACTOR_FOOTER_ANY	/* any Mailman-style footer */
};

/* How to clean; a zeroed struct cleans headers only. */
struct reactor_conf {
	const char	*tag;		/* the subject tag, with or without
					   brackets; NULL: found in the
					   message (reactor_tags) */
	const char	*list;		/* the list's posting address, or NULL */
	const char	*recipient;	/* the envelope recipient, or NULL */
	const char	*domain;	/* right side of repaired Message-IDs */
	int		 outlook;	/* AW:, WG: ... become Re:, Fwd: */
	int		 footer;	/* enum reactor_footer */
	int		 strip_notes;	/* drop S/MIME and PGP preamble notes */
	int		 fix_date;	/* repair a broken or missing Date */
	const struct blacklist *blacklist;
	time_t		 now;		/* 0: time(NULL) */
};

enum reactor_verdict {
	REACTOR_GATE,		/* out holds the cleaned message */
	REACTOR_CONTROL,	/* a control message: never gated */
	REACTOR_DROP,		/* the blacklist drops the sender */
	REACTOR_REFUSE		/* not a message: reason says why */
};

/* What the reactor changed (reactor_result.done), for logs and tests. */
#define REACTOR_DID_TAG		0x0001	/* a list tag left the Subject */
#define REACTOR_DID_PREFIX	0x0002	/* Outlook prefixes normalised */
#define REACTOR_DID_SUBJECT	0x0004	/* a placeholder Subject */
#define REACTOR_DID_FOOTER	0x0008	/* a footer cut from a text */
#define REACTOR_DID_FOOTER_PART	0x0010	/* a footer-only part removed */
#define REACTOR_DID_NOTES	0x0020	/* a preamble note removed */
#define REACTOR_DID_HEADERS	0x0040	/* list and transport fields gone */
#define REACTOR_DID_MSGID	0x0080	/* Message-ID repaired or made */
#define REACTOR_DID_DATE	0x0100	/* Date repaired or added */
#define REACTOR_DID_REFERENCES	0x0200	/* References made or trimmed */
#define REACTOR_DID_CHARSET	0x0400	/* 8-bit header text repaired */
#define REACTOR_DID_NO_ARCHIVE	0x0800	/* blacklist: X-No-Archive */
#define REACTOR_DID_EXPIRES	0x1000	/* blacklist: Expires */

struct reactor_result {
	enum reactor_verdict verdict;
	const char	*reason;	/* REFUSE, CONTROL and DROP: why */
	unsigned int	 done;		/* REACTOR_DID_* */
	char		*tags;		/* the tags in use, "a,b", or NULL */
	char		*out;		/* GATE: the message, CRLF lines */
	size_t		 len;
};

/*
 * Clean one list message for news and the forum: never gate control
 * messages; apply the blacklist; remove the list's tag from the Subject
 * (only a bracketed group that is exactly a tag) and normalise reply
 * prefixes; remove list footers from text parts, also nested, encoded
 * or as parts of their own, but never inside a signed part and never an
 * attachment; remove transport and list fields; repair Message-ID, Date
 * and References; repair 8-bit header text.  Free with
 * reactor_result_free.
 */
void		 reactor_clean(const struct reactor_conf *, const char *raw,
		    size_t len, struct reactor_result *);
void		 reactor_result_free(struct reactor_result *);
/* done as "tag,footer,..." for a log line ("" when nothing). */
char		*reactor_did_names(unsigned int done);
/*
 * The list tags a message carries, as SynFU found them: X-SynFU-Tags
 * (comma-separated), else the List-Id or X-List-Id label up to its first
 * dot, else the local part of List-Post or X-List-Post, else that of the
 * envelope recipient (recipient, or AF-Envelope-to).  *tags_r is NULL
 * when there are none.
 */
size_t		 reactor_tags(const struct msg *, const char *recipient,
		    char ***tags_r);
/* A message's sender address for the blacklist (From, else Sender). */
char		*reactor_sender(const struct msg *);
/* A Date value repaired: RFC 5322 form, or NULL when it cannot be read. */
char		*reactor_date(const char *value);

/* footer.c */
struct footer_conf {
	int		 mode;		/* enum reactor_footer */
	int		 strip_notes;
	char		**names;	/* what names the list: tags, the
					   address, its local part */
	size_t		 nnames;
};

/*
 * The body of raw (a whole message, CRLF lines) without list footers:
 * 1 with the new body in *body_r (caller frees) and REACTOR_DID_* bits
 * in *done_r, 0 when nothing changed (also when the MIME structure
 * cannot be read: then the body is left as it is).
 */
int		 footer_strip(const char *raw, size_t len,
		    const struct footer_conf *, char **body_r,
		    size_t *body_len_r, unsigned int *done_r);
/*
 * Where the footer at the end of text starts (its separator line and the
 * blank lines before it; the first of several stacked footers), or -1
 * when text does not end in one.
 */
long		 footer_find(const char *text, size_t len,
		    const struct footer_conf *);

/* mailout.c: news and forum posts shaped for a list. */
/*
 * The message raw as it goes to c's list: news fields and List-* out,
 * To the list, From per list-from, Approved per list-password, and our
 * gateway header; NULL and why when raw is not a message.
 */
char		*mailout_shape(const struct conf *,
		    const struct conf_channel *, const char *raw, size_t len,
		    size_t *len_r, const char **err_r);
/*
 * A notice to the author of raw that c's list refused it with the reply
 * why (Auto-Submitted: auto-replied), and in *rcpt_r whom to send it;
 * NULL when no one should get one: no author address, automated mail,
 * or the list or gateway itself.
 */
char		*mailout_notice(const struct conf *,
		    const struct conf_channel *, const char *raw, size_t len,
		    const char *why, char **rcpt_r, size_t *len_r);

/* smtp_client.c: the list side's transport, SMTP or LMTP to address. */
struct transport *smtp_client_new(struct event_base *, struct conf *,
		    const char *address, int lmtp);

/* smtp_server.c: list mail in by LMTP or SMTP. */
struct smtp_server;
/* A bound, listening socket; lmtp: LMTP rather than SMTP. */
struct smtp_listener {
	int		 fd;
	int		 lmtp;
};
/* The server owns the listeners' sockets from here. */
struct smtp_server *smtp_server_new(struct event_base *, struct router *,
		    struct worker *, const struct smtp_listener *, size_t);
/*
 * Take conf (and load its blacklist); -1 and why when the blacklist
 * cannot be read: then the server keeps what it had.
 */
int		 smtp_server_set_conf(struct smtp_server *, struct conf *,
		    char **err_r);
/* A connected socket as a session, as if accepted (for the fuzz target). */
void		 smtp_server_adopt(struct smtp_server *, int fd,
		    const struct sockaddr *, int lmtp);
size_t		 smtp_server_sessions(struct smtp_server *);
/* Stop accepting and end the sessions (those routing end later). */
void		 smtp_server_free(struct smtp_server **);
/*
 * syncd-milter's question, control's "milter-check" words: in *verdict_r
 * the answer line (smtp_check_line) on the server's configuration and
 * blacklist; -1 and why when the words do not parse or the store cannot
 * be read.  session names the asker in the log.
 */
int		 smtp_server_check(struct smtp_server *, struct store *,
		    const char *session, char *const *words, int nwords,
		    char **verdict_r, char **err_r);

/* smtp_check.c: would the gateway refuse this list mail later? */
/* A message as the MTA knows it before it takes it. */
struct smtp_check {
	char		*sender;	/* envelope sender, "" for <>, or NULL */
	char		*from;		/* the From (else Sender) address */
	char		*msgid;		/* or NULL */
	char		**gateways;	/* X-Syncom-Gateway values */
	size_t		 ngateways;
	char		**rcpts;	/* envelope recipients, at least one */
	size_t		 nrcpts;
	long long	 declared;	/* SIZE= of MAIL FROM, or -1 */
	long long	 size;		/* the real size, -1 until the end */
};

enum smtp_check_verdict {
	SMTP_CHECK_ACCEPT,	/* nothing to refuse, or not list mail */
	SMTP_CHECK_CONTINUE,	/* list mail, fine so far: ask again with
				   the size at the end of the message */
	SMTP_CHECK_REJECT	/* code and text say why */
};

struct smtp_check_result {
	enum smtp_check_verdict verdict;
	int		 code;		/* REJECT: 552, 550 or 554 */
	char		*text;		/* REJECT: "X.Y.Z why" (RFC 3463) */
	const char	*channel;	/* the list's channel, for the log */
};

/*
 * Read milter-check's words, KEY=VALUE with xtext values (RFC 3461
 * section 4): rcpt (one or more), sender, from, msgid, gateway (any
 * number), declared, size.  -1 and why; smtp_check_clear frees.
 */
int		 smtp_check_parse(char *const *words, int nwords,
		    struct smtp_check *, char **err_r);
void		 smtp_check_clear(struct smtp_check *);
/*
 * The verdict on mail to a list a channel gates from: 552 larger than
 * max-message-size (the larger of declared and size), 550 an envelope
 * sender or From the blacklist drops, 554 a Message-ID the store has
 * unless the message carries our gateway header; CONTINUE while size is
 * unknown, else ACCEPT.  Mail to no such list is accepted.  -1 and why
 * when the store cannot be read.  res->channel points into conf.
 */
int		 smtp_check_run(const struct conf *, const struct blacklist *,
		    struct store *, const struct smtp_check *,
		    struct smtp_check_result *res, char **err_r);
/* The answer line: "accept", "continue" or "reject CODE X.Y.Z TEXT". */
char		*smtp_check_line(const struct smtp_check_result *);
void		 smtp_check_result_free(struct smtp_check_result *);

#endif
