/*
 * migrate.h: syncmigrate, the per-account IMAP to IMAP migration tool.
 *
 * mig_conf.c reads the configuration (the two servers, the accounts, the
 * folder mapping), mig_state.c keeps what was copied in SQLite,
 * mig_imap.c talks IMAP through libetpan's mailimap, mig_sync.c copies
 * one account, and syncmigrate.c is the command line.  It is a command
 * run at night, one account after another: it blocks on the network,
 * which is why it is a program of its own and not part of syncd's loop.
 */

#ifndef SYNCOM_MIGRATE_H
#define SYNCOM_MIGRATE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct mailimap;
struct mailimap_date_time;
struct mailimap_set;
struct sqlite3;

/* mig_conf.c */
enum mig_security {
	MIG_STARTTLS,		/* the default: TLS after STARTTLS (RFC 3501) */
	MIG_TLS,		/* TLS from the first byte (RFC 8314) */
	MIG_PLAIN		/* no TLS, as the configuration must say */
};
struct mig_server {
	char		*host;
	int		 port;
	enum mig_security security;
	char		*ca_file;	/* trusted CAs, else the system's */
	int		 verify;	/* check the certificate (default 1) */
	char		*master;	/* Dovecot master user, or NULL */
	char		*master_password;
};

struct mig_account {
	TAILQ_ENTRY(mig_account) entry;
	char		*name;
	char		*old_login, *old_password;	/* NULL: by master */
	char		*new_login, *new_password;
	int		 line;
};
TAILQ_HEAD(mig_accounts, mig_account);

struct mig_map {
	char		*from;		/* old name, with the old separator */
	char		*to;		/* new name, with the new separator */
};

struct mig_conf {
	struct mig_server old, new;
	char		*state;		/* the SQLite file */
	int		 window_start;	/* minutes after midnight, or -1 */
	int		 window_end;
	long long	 big;		/* bytes: a large account waits for the
					   window */
	struct mig_map	*maps;
	size_t		 nmaps;
	char		**excludes;	/* fnmatch patterns on old names */
	size_t		 nexcludes;
	struct mig_accounts accounts;
};

struct mig_conf	*mig_conf_load(const char *path, char **err_r);
/* The same from an open stream; errors name path and the line. */
struct mig_conf	*mig_conf_read(FILE *, const char *path, char **err_r);
/*
 * "500M" (or K, G, or a plain number) as a number, above 0 and at most
 * 10^15; -1 if not one.
 */
int		 mig_conf_size(const char *, double *size_r);
/* "01:00-05:00" into minutes after midnight; -1 if it is not one. */
int		 mig_conf_window(const char *, int *start, int *end);
void		 mig_conf_free(struct mig_conf **);
struct mig_account *mig_conf_account(const struct mig_conf *, const char *);

/* mig_state.c: what was copied, per account and folder. */
struct mig_state;
struct mig_folder {
	int64_t		 id;
	uint32_t	 old_uidvalidity, new_uidvalidity;
	/*
	 * The old folder when it was last synced whole: its HIGHESTMODSEQ
	 * and EXISTS as that run's EXAMINE found them (0: not known).
	 */
	uint64_t	 old_modseq;
	uint32_t	 old_exists;
};
/* One message of a folder already on the new side. */
struct mig_copied {
	uint32_t	 old_uid, new_uid;
	char		*flags;
};
struct mig_state *mig_state_open(const char *path, char **err_r);
void		 mig_state_close(struct mig_state **);
/*
 * The folder's row (made if missing).  When either side's UIDVALIDITY
 * changed, the UIDs recorded for it mean nothing any more: they go, and
 * the folder is matched again by content.
 */
int		 mig_state_folder(struct mig_state *, const char *account,
		    const char *old_name, const char *new_name,
		    uint32_t old_uidvalidity, uint32_t new_uidvalidity,
		    struct mig_folder *, char **err_r);
/*
 * The old folder was synced whole as it was at HIGHESTMODSEQ old_modseq
 * with old_exists messages; 0, 0: it was not (something is left to do).
 */
int		 mig_state_synced(struct mig_state *, int64_t folder,
		    uint64_t old_modseq, uint32_t old_exists, char **err_r);
/* The folder's copied messages by old UID, ascending. */
int		 mig_state_copied(struct mig_state *, int64_t folder,
		    struct mig_copied **, size_t *n, char **err_r);
void		 mig_state_copied_free(struct mig_copied *, size_t);
int		 mig_state_begin(struct mig_state *, char **err_r);
int		 mig_state_commit(struct mig_state *, char **err_r);
void		 mig_state_rollback(struct mig_state *);
int		 mig_state_put(struct mig_state *, int64_t folder,
		    uint32_t old_uid, uint32_t new_uid, const char *flags,
		    char **err_r);
int		 mig_state_forget(struct mig_state *, int64_t folder,
		    uint32_t old_uid, char **err_r);
/*
 * An account's run started (done 0) or finished (done 1, with the bytes
 * it copied and the time it took); the message count comes from what
 * is recorded.
 */
int		 mig_state_account(struct mig_state *, const char *account,
		    int done, long long bytes, double seconds, char **err_r);
/* The account's size on the old server, as last measured. */
int		 mig_state_size(struct mig_state *, const char *account,
		    long long size, char **err_r);
/* The cut-over's last run is done. */
int		 mig_state_final(struct mig_state *, const char *account,
		    char **err_r);
/* Bytes per second copied so far, over all accounts; 0 if not known. */
double		 mig_state_rate(struct mig_state *);
/* Print every account's state (status). */
int		 mig_state_print(struct mig_state *, const struct mig_conf *,
		    char **err_r);

/*
 * mig_tls.c: the IMAP connections as a libetpan stream driver, plain or
 * TLS checked with OpenSSL.
 */
struct _mailstream_low;
/* A connected TCP socket; -1 and why. */
int		 mig_tls_socket(const char *host, int port, char **err_r);
/* A stream on the connected fd, plain for now; it owns fd. */
struct _mailstream_low *mig_tls_plain(int fd);
/*
 * TLS from here on, the certificate checked as srv says; -1 and why,
 * and then the stream is only good for closing.
 */
int		 mig_tls_start(struct _mailstream_low *,
		    const struct mig_server *srv, char **err_r);

/* mig_imap.c */
struct mig_imap {
	struct mailimap	*imap;
	char		 sep;		/* the hierarchy separator */
	int		 uidplus;
	int		 multiappend;	/* MULTIAPPEND (RFC 3502) and LITERAL+
					   (RFC 7888): a batch in one APPEND */
	int		 condstore;	/* CONDSTORE or QRESYNC (RFC 7162) */
	uint64_t	 modseq;	/* the selected folder's HIGHESTMODSEQ;
					   0: none known */
	const char	*side;		/* "old" or "new", for messages */
	int		 lost;		/* could not connect, or the connection
					   broke: worth another try */
};
/* What a folder listing says of one message. */
struct mig_msg {
	uint32_t	 uid;
	char		*flags;		/* canonical: sorted, no \Recent */
	uint32_t	 size;
	time_t		 date;		/* INTERNALDATE, as a time */
	char		*msgid;		/* or NULL */
	int		 claimed;	/* matched to an old message */
};
int		 mig_imap_login(struct mig_imap *, const struct mig_server *,
		    const char *login, const char *password, const char *side,
		    char **err_r);
/*
 * The rest of mig_imap_login once im->imap has read the greeting: log in,
 * learn the capabilities and the separator.  On failure im is logged
 * out.  fuzz_imap starts here, on a stream of its own.
 */
int		 mig_imap_session(struct mig_imap *, const struct mig_server *,
		    const char *login, const char *password, char **err_r);
void		 mig_imap_logout(struct mig_imap *);
/*
 * Every selectable folder's name, and with uses each one's special use
 * (RFC 6154: "Sent", "Drafts", "Trash", "Junk", "Archive") or NULL.
 */
int		 mig_imap_folders(struct mig_imap *, char ***names,
		    char ***uses, size_t *n, char **err_r);
int		 mig_imap_create(struct mig_imap *, const char *name,
		    char **err_r);
int		 mig_imap_select(struct mig_imap *, const char *name,
		    int readonly, uint32_t *uidvalidity, char **err_r);
/* How many messages the selected folder holds (EXISTS). */
uint32_t	 mig_imap_exists(struct mig_imap *);
/*
 * Every message of the selected folder by UID, with flags and size, and
 * with keys also date and Message-ID.
 */
int		 mig_imap_list(struct mig_imap *, int keys,
		    struct mig_msg **, size_t *n, char **err_r);
void		 mig_imap_msgs_free(struct mig_msg *, size_t);
/*
 * After each message copied: its old and new UID (0 when the new server
 * has no UIDPLUS), its size, and why the new server refused it (NULL
 * when it did not).  0 goes on, 1 stops the batch, -1 fails it (with
 * *err_r).
 */
typedef int	(*mig_imap_copied_fn)(void *arg, uint32_t uid,
		    uint32_t new_uid, size_t size, const char *refused,
		    char **err_r);
/*
 * Copy the messages uids of src's selected folder to folder of dst, with
 * flags and INTERNALDATE: one FETCH for all of them (a message gone
 * meanwhile is skipped), then one APPEND for all of them when dst has
 * MULTIAPPEND and LITERAL+, else (or when dst refuses the batch) an
 * APPEND each.  -1 and why when a server failed.
 */
int		 mig_imap_copy(struct mig_imap *src, const uint32_t *uids,
		    size_t n, struct mig_imap *dst, const char *folder,
		    mig_imap_copied_fn, void *arg, char **err_r);
/*
 * The n UIDs of an APPENDUID's set (RFC 4315) in order into uids; -1
 * when it does not name exactly n.
 */
int		 mig_imap_uid_set(const struct mailimap_set *, uint32_t *uids,
		    size_t n);
/* Replace the flags of a message of the selected folder. */
int		 mig_imap_store(struct mig_imap *, uint32_t uid,
		    const char *flags, char **err_r);
/* Delete messages of the selected folder for good. */
int		 mig_imap_expunge(struct mig_imap *, const uint32_t *uids,
		    size_t n, char **err_r);

/* mig_sync.c */
struct mig_stats {
	long long	 folders;
	long long	 copied;
	long long	 bytes;
	long long	 matched;	/* already there: mapped, not copied */
	long long	 flagged;	/* flags brought up to date */
	long long	 deleted;
	long long	 refused;	/* the new server would not take it */
	int		 stopped;	/* the deadline came first */
};
struct mig_options {
	int		 sync_deletes;
	time_t		 deadline;	/* copy nothing new from then; 0: none */
	double		 max_msgs;	/* messages a second, 0: no limit */
	double		 max_bytes;	/* bytes a second, 0: no limit */
	int		 progress;	/* a progress line on the terminal */
	long long	 size;		/* the account's size, for the ETA */
};
/* The account's size and message count on the old server. */
int		 mig_sync_size(const struct mig_conf *,
		    const struct mig_account *, long long *bytes,
		    long long *messages, char **err_r);
/*
 * Bring the new side of the account up to date with the old; at the
 * deadline it stops after the message in hand (stats->stopped).  -1 and
 * why on a failure, -2 when it was the network (another try may do).
 */
int		 mig_sync_account(const struct mig_conf *, struct mig_state *,
		    const struct mig_account *, const struct mig_options *,
		    struct mig_stats *, char **err_r);
/*
 * Compare both sides folder by folder (counts, and the multiset of
 * Message-ID, size, date and flags); 0 when they agree, 1 when not (what
 * differs printed), -1 and why when it could not look.
 */
int		 mig_sync_verify(const struct mig_conf *,
		    const struct mig_account *, char **err_r);
/*
 * The new side's name for an old folder, NULL when it is excluded: by
 * the configuration's maps, then the special-use maps (NULL, 0: none).
 */
char		*mig_sync_name(const struct mig_conf *,
		    const struct mig_map *special, size_t nspecial,
		    const char *old, char old_sep, char new_sep);

#endif
