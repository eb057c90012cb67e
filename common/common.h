/*
 * common.h: what every Syncom program shares: logging, allocation and the
 * message module (parse, build, Message-ID, RFC 2047, MIME walk).
 *
 * Prototypes are grouped by the file that defines them.  Unless a comment
 * says otherwise, a returned char * is the caller's to free() and a
 * returned const char * belongs to the callee.
 */

#ifndef SYNCOM_COMMON_H
#define SYNCOM_COMMON_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PRINTFLIKE(f, a)	__attribute__((format(printf, f, a)))
#define DEAD			__attribute__((noreturn))

/* file.c */
/* mkdir -p, giving what it creates exactly mode; -1 and errno. */
int		 file_mkdirs(const char *path, mode_t mode);

/* log.c */
void		 log_init(int foreground, int verbose, const char *ident);
void		 log_setverbose(int verbose);
int		 log_getverbose(void);
/* log_warn and fatal append error=<strerror(errno)>. */
void		 log_warn(const char *, ...) PRINTFLIKE(1, 2);
void		 log_warnx(const char *, ...) PRINTFLIKE(1, 2);
void		 log_info(const char *, ...) PRINTFLIKE(1, 2);
void		 log_debug(const char *, ...) PRINTFLIKE(1, 2);
void		 fatal(const char *, ...) PRINTFLIKE(1, 2) DEAD;
void		 fatalx(const char *, ...) PRINTFLIKE(1, 2) DEAD;
/* A value quoted for key=value output; valid until four more calls. */
const char	*log_q(const char *value);

/* xmalloc.c: these die instead of returning NULL. */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
/* len bytes and a terminating NUL. */
char		*xmemdup(const void *, size_t len);
char		*xasprintf(const char *, ...) PRINTFLIKE(1, 2);

/*
 * msg.c: an Internet message (RFC 5322) as a list of header fields and a
 * body.  The header section is split by our own code so that every byte
 * survives (libetpan drops raw 8-bit bytes it cannot decode); structured
 * fields are then parsed with libetpan's mailimf_* functions.
 */

/* The limit of RFC 5322 section 2.1.1, without the CRLF. */
#define MSG_LINE_MAX		998

/*
 * The header we put on everything we send out.  A message that carries it
 * with our identity came from us and is never gated again.
 */
#define GATEWAY_HEADER		"X-Syncom-Gateway"

struct msg_header {
	char		*name;		/* as received, without the colon */
	char		*value;		/* after the colon and one optional
					   space; folding (CRLF WSP) kept,
					   no final CRLF */
	unsigned int	 flags;		/* MSG_HEADER_* */
};

/* msg_header.flags: no space followed the colon ("Name:value"). */
#define MSG_HEADER_NOSPACE	0x01

/* msg.flags: what msg_parse noticed; none of these make it fail. */
#define MSG_BARE_LF		0x01	/* a line ended in LF alone */
#define MSG_LONG_LINE		0x02	/* a line longer than MSG_LINE_MAX */
#define MSG_8BIT_HEADER		0x04	/* a header byte above 0x7f */
#define MSG_NO_BODY		0x08	/* no empty line ended the header */

struct msg {
	struct msg_header	*headers;
	size_t			 nheaders;
	size_t			 headers_cap;
	char			*body;		/* CRLF line ends; NUL after */
	size_t			 body_len;
	unsigned int		 flags;
};

/*
 * Split raw (CRLF or LF line ends, normalised to CRLF) into a new msg.
 * Fails, with a reason for a protocol reply in *err_r, on a NUL byte, a
 * header line without a colon, an empty or non-printable field name, a
 * continuation line before the first field, or more than MSG_HEADERS_MAX
 * fields.  The result does not point into raw.
 */
#define MSG_HEADERS_MAX		1000
int		 msg_parse(const void *raw, size_t len, struct msg **msg_r,
		    const char **err_r);
/* An empty message (no fields, empty body) to fill with msg_add. */
struct msg	*msg_new(void);
void		 msg_free(struct msg **);
/* Replace the body; bare LF and CRLF line ends become CRLF. */
void		 msg_set_body(struct msg *, const char *body, size_t len);
/* First field named name (case-insensitive): its raw value, or NULL. */
const char	*msg_get(const struct msg *, const char *name);
/* The same with folding removed and white space trimmed. */
char		*msg_get_unfolded(const struct msg *, const char *name);
/* A value with line breaks removed (RFC 5322 section 2.2.3) and trimmed. */
char		*msg_unfold(const char *value);
size_t		 msg_count(const struct msg *, const char *name);
/*
 * msg_add, msg_prepend and msg_set take a value without the final CRLF.
 * A line break in it that is not followed by white space becomes a space
 * (a value never starts a field of its own); a value without line breaks
 * that makes "Name: value" longer than 78 octets is folded at white space
 * (RFC 5322 section 2.2.3).  The name must be a valid field name.
 */
void		 msg_add(struct msg *, const char *name, const char *value);
void		 msg_prepend(struct msg *, const char *name, const char *value);
/* Replace the first field named name and drop the others; else add. */
void		 msg_set(struct msg *, const char *name, const char *value);
/* Remove every field named name; returns how many went. */
size_t		 msg_remove(struct msg *, const char *name);
/* Header and body back as bytes with CRLF line ends, NUL-terminated. */
char		*msg_build(const struct msg *, size_t *len_r);
/*
 * The Subject and From as UTF-8 text (RFC 2047 decoded), or NULL when
 * the field is missing.  msg_from gives "Name <addr>" or "addr", for
 * display only (the name is not quoted); a From that does not parse
 * comes back as its decoded text.
 */
char		*msg_subject(const struct msg *);
char		*msg_from(const struct msg *);
/*
 * The first mailbox of From: its display name as UTF-8 (NULL when it has
 * none) and its address; -1 when From is missing or does not parse.
 */
int		 msg_mailbox(const struct msg *, char **name_r, char **addr_r);
/* The Date field as a time, or -1 when missing, unparsable or before 1970. */
time_t		 msg_date(const struct msg *);
/*
 * Typed text (from a form, a command) as a message body: CRs dropped,
 * each LF made CRLF, white space at the end dropped, one CRLF last.
 */
char		*msg_text_body(const char *text, size_t *len_r);
/*
 * A message a program writes (RFC 3834: Auto-Submitted auto-generated):
 * From, Subject (UTF-8, encoded as needed), Date now, Message-ID, and
 * text as a UTF-8 text/plain body; the caller adds To or Newsgroups.
 */
struct msg	*msg_automated(const char *from, const char *subject,
		    const char *msgid, const char *text);
/* An RFC 5322 date-time for t at UTC offset off minutes. */
char		*msg_date_string(time_t t, int off);
/*
 * Whether header text may go to libetpan's structured parsers, whose
 * comment parser recurses once per "(" (200000 nested comments overflow
 * the stack): 1 if comments (RFC 5322 section 3.2.2) nest no deeper than
 * MSG_COMMENT_DEPTH_MAX, else 0.  Counting stops at an empty line, which
 * no comment crosses, and starts again at each line that is not folded.
 */
#define MSG_COMMENT_DEPTH_MAX	64
int		 msg_comments_ok(const char *s, size_t len);

/*
 * msgid.c: Message-IDs (RFC 5322 section 3.6.4, RFC 5536 section 3.1.3)
 * and References.
 */
#define MSGID_MAX		250
/* 0 if id is a valid <left@right> Message-ID for news; else -1 and why. */
int		 msgid_valid(const char *id, const char **err_r);
/* The Message-ID in a field value (comments and white space dropped). */
char		*msgid_extract(const char *value);
/*
 * A new unique Message-ID under domain: <time.random.count@domain>,
 * always valid: bytes of domain that may not appear in one become '-',
 * and a domain too long for MSGID_MAX is cut.
 */
char		*msgid_generate(const char *domain);
/* 1 if id has the form msgid_generate(domain) gives, else 0. */
int		 msgid_ours(const char *id, const char *domain);
/*
 * The valid Message-IDs of a References or In-Reply-To value, in order;
 * *ids_r is NULL when there are none.
 */
size_t		 msgid_list(const char *value, char ***ids_r);
void		 msgid_list_free(char **ids, size_t n);
/* The parent: last of References, else the first of In-Reply-To. */
char		*msg_parent_id(const struct msg *);
/*
 * References for a reply to parent (RFC 5322 section 3.6.4): the parent's
 * References (or its In-Reply-To when it has a single ID and References
 * holds no valid one) followed by the parent's Message-ID, trimmed to max
 * octets by references_trim; NULL when there is nothing to refer to.
 */
char		*references_build(const struct msg *parent, size_t max);
/*
 * Fit a References value into max octets by dropping IDs from the middle:
 * the first ID always stays, then as many of the last as fit.  Invalid
 * tokens are dropped; the IDs are joined by single spaces, unfolded.
 * NULL when no valid ID is left or the first alone exceeds max.
 */
char		*references_trim(const char *refs, size_t max);

/* rfc2047.c: encoded words and charsets. */
/*
 * Decode an unfolded unstructured value to UTF-8: encoded words (B and Q,
 * in the charsets charset_to_utf8 converts, others read as UTF-8, any
 * RFC 2231 "*language" ignored) decoded, white space between adjacent
 * encoded words dropped (RFC 2047 section 6.2), raw bytes that are not
 * UTF-8 read as windows-1252; what cannot be decoded becomes U+FFFD.  A
 * decoded NUL becomes U+FFFD too; other control characters (CR, LF, TAB)
 * are kept, so a caller writing the text into a header must encode it
 * again.
 */
char		*rfc2047_decode(const char *value);
/*
 * Encode UTF-8 text for an unstructured field named name: returned as is
 * when it is printable ASCII; else words holding other bytes become
 * =?UTF-8?Q?...?= (or B when shorter) words of at most 75 octets, never
 * splitting a character, folded so no line exceeds 78 octets counting
 * "Name: ".  Words that decoding would misread ("=?") or that no line
 * could hold are encoded too.  The line limit holds for names of up to
 * 56 octets; bytes that are not UTF-8 are read as windows-1252 first.
 * rfc2047_decode of the unfolded result gives utf8 back.
 */
char		*rfc2047_encode(const char *utf8, const char *name);
/*
 * len bytes of charset as UTF-8 (NUL-terminated); NULL if the charset is
 * not one we convert.  Undecodable bytes become U+FFFD; US-ASCII and
 * ISO-8859-1 labels are read as windows-1252 unless the bytes are UTF-8.
 */
char		*charset_to_utf8(const char *charset, const char *in,
		    size_t len, size_t *outlen_r);
/* 1 if s is well-formed UTF-8 (RFC 3629 section 4), else 0. */
int		 utf8_valid(const char *s, size_t len);

/*
 * mime.c: the MIME structure of a message (RFC 2045, 2046), parsed with
 * libetpan's mailmime_parse after checks that keep libetpan away from
 * input known to crash it.  Offsets point into the raw message passed in.
 */
#define MIME_DEPTH_MAX		32
#define MIME_PARTS_MAX		1000

struct mime_part {
	char		*type;		/* "text/plain", lower case */
	char		*charset;	/* or NULL */
	char		*boundary;	/* multiparts only */
	char		*filename;	/* disposition or type name, or NULL */
	char		*disposition;	/* "inline", "attachment" or NULL */
	char		*encoding;	/* "base64", "quoted-printable",
					   "7bit"... */
	size_t		 header_off, header_len;
	size_t		 body_off, body_len;	/* the encoded body */
	int		 depth;
	struct mime_part *parent;
	struct mime_part **children;
	size_t		 nchildren;
};

/*
 * The MIME tree of raw (a whole message, header included); the root is
 * the message itself, at depth 0.  Fails with a reason when mime_check
 * refuses raw or libetpan fails.  The tree holds offsets into raw, not
 * pointers: pass the same raw to mime_decode.  Free it with mime_free.
 */
int		 mime_parse(const char *raw, size_t len,
		    struct mime_part **root_r, const char **err_r);
/*
 * What mime_parse checks before libetpan sees raw, worked out without
 * libetpan's recursive parser: 0 with the depth and the number of parts
 * mime_parse will return, or -1 and why raw is refused (too deep, too
 * many parts, or a construct known to crash libetpan 1.9.4).
 */
int		 mime_check(const char *raw, size_t len, int *depth_r,
		    size_t *nparts_r, const char **err_r);
void		 mime_free(struct mime_part **);
/*
 * Call fn on every part, depth first, parents before children; stops at
 * the first non-zero value fn returns and returns it, else 0.
 */
int		 mime_walk(struct mime_part *, int (*fn)(struct mime_part *,
		    void *), void *arg);
/*
 * A part's body with its transfer encoding (base64, quoted-printable)
 * undone; other encodings are copied.  NUL-terminated, *len_r octets.
 */
char		*mime_decode(const struct mime_part *, const char *raw,
		    size_t *len_r);
/*
 * len octets in a transfer encoding (the names mime_part.encoding
 * uses): base64 and quoted-printable in lines of at most 76 characters
 * ended by CRLF; any other encoding is a copy.  mime_decode of the
 * result gives the octets back (a quoted-printable line break comes back
 * as CRLF).  NUL-terminated, *len_r octets.
 */
char		*mime_encode(const char *encoding, const char *s, size_t len,
		    size_t *len_r);

#endif
