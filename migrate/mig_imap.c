/*
 * mig_imap.c: the IMAP (RFC 3501) that syncmigrate needs, on libetpan's
 * mailimap: log in, list folders, create and select one, list its
 * messages, copy one message from one server to the other, set flags,
 * expunge.
 *
 * libetpan's calls block, on the stream driver of mig_tls.c: fine for a
 * command with two connections.  Flags travel as one canonical string
 * (system flags and keywords sorted, \Recent left out, which no client
 * can set), so that comparing and storing them is a string compare.  A
 * message is held in memory once, as libetpan fetched it, and APPENDed
 * from there.  libetpan has no MULTIAPPEND (RFC 3502): that command is
 * written here on libetpan's stream, with libetpan's next tag, and its
 * answer read by libetpan's parser.
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libetpan/libetpan.h>
#include <libetpan/uidplus_types.h>

#include "common.h"
#include "migrate.h"

/* Messages per FETCH when listing a folder. */
#define MIG_IMAP_BATCH	1000

static int
mig_imap_fail(struct mig_imap *im, const char *what, int rc, char **err_r)
{
	const char *resp = im->imap != NULL ? im->imap->imap_response : NULL;

	/* A connection cut mid-answer reads as a parse error. */
	if (rc == MAILIMAP_ERROR_STREAM || rc == MAILIMAP_ERROR_PARSE)
		im->lost = 1;

	*err_r = xasprintf("%s server: %s failed (%d)%s%s", im->side, what,
	    rc, resp != NULL ? ": " : "", resp != NULL ? resp : "");
	return -1;
}

/*
 * Ask for the capabilities (RFC 3501 section 6.1.1).  Not with libetpan's
 * mailimap_capability(): it copies the list it holds without looking,
 * and a server that sends an empty CAPABILITY, or none, makes that a
 * NULL pointer.  As a custom command the answer is only stored, and
 * mig_imap_has() looks before it reads.
 */
static void
mig_imap_capability(struct mig_imap *im)
{
	(void)mailimap_custom_command(im->imap, "CAPABILITY");
}

/*
 * Whether the server said it has an extension; libetpan's own check
 * crashes when it was told of none.
 */
static int
mig_imap_has(struct mig_imap *im, const char *name)
{
	struct mailimap_connection_info *ci = im->imap->imap_connection_info;

	return ci != NULL && ci->imap_capability != NULL &&
	    ci->imap_capability->cap_list != NULL &&
	    mailimap_has_extension(im->imap, name);
}

/*
 * Connect as srv->security says: TLS from the start, or STARTTLS (RFC
 * 3501 section 6.2.1) before anything is sent in the clear, or plain.
 */
static int
mig_imap_connect(struct mig_imap *im, const struct mig_server *srv,
    char **err_r)
{
	mailstream_low *low;
	mailstream *stream;
	int fd, rc;

	if ((fd = mig_tls_socket(srv->host, srv->port, err_r)) == -1) {
		im->lost = 1;
		goto fail;
	}
	low = mig_tls_plain(fd);
	if (srv->security == MIG_TLS && mig_tls_start(low, srv, err_r) == -1) {
		mailstream_low_close(low);
		mailstream_low_free(low);
		goto fail;
	}
	if ((stream = mailstream_new(low, 8192)) == NULL)
		fatalx("mailstream_new failed");
	rc = mailimap_connect(im->imap, stream);
	if (rc != MAILIMAP_NO_ERROR_NON_AUTHENTICATED &&
	    rc != MAILIMAP_NO_ERROR_AUTHENTICATED) {
		*err_r = xasprintf("cannot connect to %s:%d (%d)", srv->host,
		    srv->port, rc);
		im->lost = 1;
		goto fail;
	}
	if (srv->security != MIG_STARTTLS)
		return 0;
	/* A greeting without capabilities: ask (RFC 3501 section 6.2.1). */
	if (!mig_imap_has(im, "STARTTLS"))
		mig_imap_capability(im);
	if (!mig_imap_has(im, "STARTTLS")) {
		*err_r = xasprintf("%s:%d offers no STARTTLS; say \"tls\""
		    " or, on a trusted network, \"plain\" after its address",
		    srv->host, srv->port);
		goto fail;
	}
	if ((rc = mailimap_starttls(im->imap)) != MAILIMAP_NO_ERROR) {
		mig_imap_fail(im, "STARTTLS", rc, err_r);
		return -1;
	}
	if (mig_tls_start(mailstream_get_low(im->imap->imap_stream), srv,
	    err_r) == -1)
		goto fail;
	return 0;
fail:
	{
		char *e = xasprintf("%s server: %s", im->side, *err_r);

		free(*err_r);
		*err_r = e;
	}
	return -1;
}

int
mig_imap_login(struct mig_imap *im, const struct mig_server *srv,
    const char *login, const char *password, const char *side,
    char **err_r)
{
	memset(im, 0, sizeof(*im));
	im->side = side;
	if ((im->imap = mailimap_new(0, NULL)) == NULL)
		fatalx("mailimap_new");
	if (mig_imap_connect(im, srv, err_r) == -1) {
		mig_imap_logout(im);
		return -1;
	}
	return mig_imap_session(im, srv, login, password, err_r);
}

int
mig_imap_session(struct mig_imap *im, const struct mig_server *srv,
    const char *login, const char *password, char **err_r)
{
	struct mailimap_mailbox_list *mb;
	clist *list = NULL;
	char *user;
	int rc;

	/* Dovecot's master users: "user*master" with the master's password. */
	if (password == NULL) {
		user = xasprintf("%s*%s", login, srv->master);
		rc = mailimap_login(im->imap, user, srv->master_password);
		free(user);
	} else
		rc = mailimap_login(im->imap, login, password);
	if (rc != MAILIMAP_NO_ERROR) {
		mig_imap_fail(im, "LOGIN", rc, err_r);
		mig_imap_logout(im);
		return -1;
	}
	/* The capabilities after login may differ from the greeting's. */
	mig_imap_capability(im);
	im->uidplus = mig_imap_has(im, "UIDPLUS");
	im->multiappend = mig_imap_has(im, "MULTIAPPEND") &&
	    mig_imap_has(im, "LITERAL+");
	/* QRESYNC implies CONDSTORE (RFC 7162 section 3.2.3). */
	im->condstore = mig_imap_has(im, "CONDSTORE") ||
	    mig_imap_has(im, "QRESYNC");
	/* The separator: LIST "" "" (RFC 3501 section 6.3.8). */
	im->sep = '/';
	if (mailimap_list(im->imap, "", "", &list) == MAILIMAP_NO_ERROR &&
	    list != NULL && !clist_isempty(list)) {
		mb = clist_content(clist_begin(list));
		if (mb->mb_delimiter != '\0')
			im->sep = mb->mb_delimiter;
	}
	if (list != NULL)
		mailimap_list_result_free(list);
	return 0;
}

void
mig_imap_logout(struct mig_imap *im)
{
	if (im->imap == NULL)
		return;
	if (im->imap->imap_stream != NULL)
		mailimap_logout(im->imap);
	mailimap_free(im->imap);
	im->imap = NULL;
}

/* Whether a LIST entry can be selected (not \Noselect, \NonExistent). */
static int
mig_imap_selectable(const struct mailimap_mailbox_list *mb)
{
	const struct mailimap_mbx_list_oflag *of;
	clistiter *it;

	if (mb->mb_flag == NULL)
		return 1;
	if (mb->mb_flag->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
	    mb->mb_flag->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
		return 0;
	for (it = clist_begin(mb->mb_flag->mbf_oflags); it != NULL;
	    it = clist_next(it)) {
		of = clist_content(it);
		if (of->of_type == MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT &&
		    strcasecmp(of->of_flag_ext, "NonExistent") == 0)
			return 0;
	}
	return 1;
}

/*
 * A folder's special use (RFC 6154) from its LIST attributes, or NULL.
 * Only the uses that say where mail belongs: \All and \Flagged are
 * views of other folders.
 */
static char *
mig_imap_use(const struct mailimap_mailbox_list *mb)
{
	static const char *const uses[] = {
		"Archive", "Drafts", "Junk", "Sent", "Trash", NULL
	};
	const struct mailimap_mbx_list_oflag *of;
	clistiter *it;
	size_t i;

	if (mb->mb_flag == NULL)
		return NULL;
	for (it = clist_begin(mb->mb_flag->mbf_oflags); it != NULL;
	    it = clist_next(it)) {
		of = clist_content(it);
		if (of->of_type != MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT)
			continue;
		for (i = 0; uses[i] != NULL; i++)
			if (strcasecmp(of->of_flag_ext, uses[i]) == 0)
				return xstrdup(uses[i]);
	}
	return NULL;
}

int
mig_imap_folders(struct mig_imap *im, char ***names, char ***uses,
    size_t *n, char **err_r)
{
	struct mailimap_mailbox_list *mb;
	clist *list = NULL;
	clistiter *it;
	int rc;

	*names = NULL;
	if (uses != NULL)
		*uses = NULL;
	*n = 0;
	if ((rc = mailimap_list(im->imap, "", "*", &list)) !=
	    MAILIMAP_NO_ERROR)
		return mig_imap_fail(im, "LIST", rc, err_r);
	for (it = clist_begin(list); it != NULL; it = clist_next(it)) {
		mb = clist_content(it);
		if (!mig_imap_selectable(mb))
			continue;
		*names = xreallocarray(*names, *n + 1, sizeof(**names));
		(*names)[*n] = xstrdup(mb->mb_name);
		if (uses != NULL) {
			*uses = xreallocarray(*uses, *n + 1, sizeof(**uses));
			(*uses)[*n] = mig_imap_use(mb);
		}
		(*n)++;
	}
	mailimap_list_result_free(list);
	return 0;
}

int
mig_imap_create(struct mig_imap *im, const char *name, char **err_r)
{
	int rc;

	if ((rc = mailimap_create(im->imap, name)) != MAILIMAP_NO_ERROR)
		return mig_imap_fail(im, "CREATE", rc, err_r);
	return 0;
}

int
mig_imap_select(struct mig_imap *im, const char *name, int readonly,
    uint32_t *uidvalidity, char **err_r)
{
	int rc;

	/*
	 * The old side is read: with CONDSTORE its answer carries the
	 * folder's HIGHESTMODSEQ (RFC 7162 section 3.1.2.1), or NOMODSEQ,
	 * which libetpan gives as 0.  The new side, written to, has no use
	 * for it.
	 */
	im->modseq = 0;
	if (readonly && im->condstore)
		rc = mailimap_examine_condstore(im->imap, name, &im->modseq);
	else
		rc = readonly ? mailimap_examine(im->imap, name) :
		    mailimap_select(im->imap, name);
	if (rc != MAILIMAP_NO_ERROR)
		return mig_imap_fail(im, readonly ? "EXAMINE" : "SELECT", rc,
		    err_r);
	*uidvalidity = im->imap->imap_selection_info->sel_uidvalidity;
	return 0;
}

uint32_t
mig_imap_exists(struct mig_imap *im)
{
	return im->imap->imap_selection_info->sel_exists;
}

static int
mig_imap_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The canonical flags string of a FETCH FLAGS answer. */
static char *
mig_imap_flags(const struct mailimap_msg_att_dynamic *dyn)
{
	static const char *const system[] = {
		[MAILIMAP_FLAG_ANSWERED] = "\\Answered",
		[MAILIMAP_FLAG_FLAGGED] = "\\Flagged",
		[MAILIMAP_FLAG_DELETED] = "\\Deleted",
		[MAILIMAP_FLAG_SEEN] = "\\Seen",
		[MAILIMAP_FLAG_DRAFT] = "\\Draft",
	};
	const struct mailimap_flag_fetch *ff;
	const struct mailimap_flag *f;
	char **words = NULL, *out;
	size_t n = 0, len = 1, i;
	clistiter *it;

	for (it = dyn != NULL && dyn->att_list != NULL ?
	    clist_begin(dyn->att_list) : NULL; it != NULL;
	    it = clist_next(it)) {
		ff = clist_content(it);
		if (ff->fl_type != MAILIMAP_FLAG_FETCH_OTHER ||
		    (f = ff->fl_flag) == NULL)
			continue;
		words = xreallocarray(words, n + 1, sizeof(*words));
		if (f->fl_type == MAILIMAP_FLAG_KEYWORD)
			words[n] = xstrdup(f->fl_data.fl_keyword);
		else if (f->fl_type == MAILIMAP_FLAG_EXTENSION)
			words[n] = xasprintf("\\%s", f->fl_data.fl_extension);
		else
			words[n] = xstrdup(system[f->fl_type]);
		len += strlen(words[n++]) + 1;
	}
	/* qsort, bsearch and memcpy take no NULL, even for nothing. */
	if (n > 1)
		qsort(words, n, sizeof(*words), mig_imap_cmp);
	out = xmalloc(len);
	*out = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(words[i], words[i - 1]) == 0)
			continue;
		if (*out != '\0')
			strcat(out, " ");
		strcat(out, words[i]);
	}
	for (i = 0; i < n; i++)
		free(words[i]);
	free(words);
	return out;
}

/* A flag list for APPEND or STORE from a canonical string. */
static struct mailimap_flag_list *
mig_imap_flag_list(const char *flags)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	struct mailimap_flag *f;
	char *copy = xstrdup(flags), *w, *last = NULL;

	for (w = strtok_r(copy, " ", &last); w != NULL;
	    w = strtok_r(NULL, " ", &last)) {
		if (strcasecmp(w, "\\Answered") == 0)
			f = mailimap_flag_new_answered();
		else if (strcasecmp(w, "\\Flagged") == 0)
			f = mailimap_flag_new_flagged();
		else if (strcasecmp(w, "\\Deleted") == 0)
			f = mailimap_flag_new_deleted();
		else if (strcasecmp(w, "\\Seen") == 0)
			f = mailimap_flag_new_seen();
		else if (strcasecmp(w, "\\Draft") == 0)
			f = mailimap_flag_new_draft();
		else if (*w == '\\')
			f = mailimap_flag_new_flag_extension(xstrdup(w + 1));
		else
			f = mailimap_flag_new_flag_keyword(xstrdup(w));
		if (f == NULL || mailimap_flag_list_add(fl, f) !=
		    MAILIMAP_NO_ERROR)
			fatalx("mig_imap_flag_list: out of memory");
	}
	free(copy);
	return fl;
}

/* An INTERNALDATE as a time (its zone is +HHMM as a number). */
static time_t
mig_imap_time(const struct mailimap_date_time *dt)
{
	struct tm tm;
	long zone, off;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = dt->dt_year - 1900;
	tm.tm_mon = dt->dt_month - 1;
	tm.tm_mday = dt->dt_day;
	tm.tm_hour = dt->dt_hour;
	tm.tm_min = dt->dt_min;
	tm.tm_sec = dt->dt_sec;
	/* A zone is four digits (RFC 3501); other numbers count as UTC. */
	zone = dt->dt_zone >= -9999 && dt->dt_zone <= 9999 ? dt->dt_zone : 0;
	off = (zone / 100) * 3600 + (zone % 100) * 60;
	return timegm(&tm) - off;
}

/* The Message-ID in a "Message-ID: ..." header section, or NULL. */
static char *
mig_imap_msgid(const char *text, size_t len)
{
	struct msg *m;
	const char *err;
	char *v, *id = NULL;

	if (msg_parse(text, len, &m, &err) == -1)
		return NULL;
	if ((v = msg_get_unfolded(m, "Message-ID")) != NULL) {
		id = msgid_extract(v);
		free(v);
	}
	msg_free(&m);
	return id;
}

/* One message of a FETCH answer; the pointers point into it. */
struct mig_imap_att {
	uint32_t	 uid;
	char		*flags;		/* canonical, or NULL; the caller frees */
	uint32_t	 size;
	struct mailimap_date_time *date;
	const char	*section;	/* a BODY[...] asked for */
	size_t		 section_len;
};

static void
mig_imap_att(const struct mailimap_msg_att *att, struct mig_imap_att *a)
{
	const struct mailimap_msg_att_item *item;
	const struct mailimap_msg_att_static *st;
	clistiter *it;

	memset(a, 0, sizeof(*a));
	for (it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		item = clist_content(it);
		if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC) {
			free(a->flags);
			a->flags = mig_imap_flags(item->att_data.att_dyn);
			continue;
		}
		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		st = item->att_data.att_static;
		switch (st->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			a->uid = st->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			a->size = st->att_data.att_rfc822_size;
			break;
		case MAILIMAP_MSG_ATT_INTERNALDATE:
			a->date = st->att_data.att_internal_date;
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (st->att_data.att_body_section == NULL)
				break;
			a->section = st->att_data.att_body_section->
			    sec_body_part;
			a->section_len = st->att_data.att_body_section->
			    sec_length;
			break;
		}
	}
}

/* One answer of a folder listing into a mig_msg. */
static void
mig_imap_msg(const struct mailimap_msg_att *att, struct mig_msg *m)
{
	struct mig_imap_att a;

	mig_imap_att(att, &a);
	memset(m, 0, sizeof(*m));
	m->uid = a.uid;
	m->flags = a.flags != NULL ? a.flags : xstrdup("");
	m->size = a.size;
	if (a.date != NULL)
		m->date = mig_imap_time(a.date);
	if (a.section != NULL)
		m->msgid = mig_imap_msgid(a.section, a.section_len);
}

static int
mig_imap_uid_cmp(const void *a, const void *b)
{
	const struct mig_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

int
mig_imap_list(struct mig_imap *im, int keys, struct mig_msg **out,
    size_t *n, char **err_r)
{
	struct mailimap_fetch_type *ft;
	struct mailimap_set *set;
	struct mig_msg *v = NULL;
	clist *result, *hdrs;
	clistiter *it;
	uint32_t exists = im->imap->imap_selection_info->sel_exists, last;
	uint64_t first;		/* past UINT32_MAX once the last batch is done */
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	/* By sequence numbers in batches: bounded answers. */
	for (first = 1; first <= exists; first += MIG_IMAP_BATCH) {
		ft = mailimap_fetch_type_new_fetch_att_list_empty();
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_uid());
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_flags());
		mailimap_fetch_type_new_fetch_att_list_add(ft,
		    mailimap_fetch_att_new_rfc822_size());
		if (keys) {
			mailimap_fetch_type_new_fetch_att_list_add(ft,
			    mailimap_fetch_att_new_internaldate());
			hdrs = clist_new();
			clist_append(hdrs, xstrdup("MESSAGE-ID"));
			mailimap_fetch_type_new_fetch_att_list_add(ft,
			    mailimap_fetch_att_new_body_peek_section(
			    mailimap_section_new_header_fields(
			    mailimap_header_list_new(hdrs))));
		}
		last = first + MIG_IMAP_BATCH - 1 < exists ?
		    (uint32_t)first + MIG_IMAP_BATCH - 1 : exists;
		set = mailimap_set_new_interval((uint32_t)first, last);
		rc = mailimap_fetch(im->imap, set, ft, &result);
		mailimap_set_free(set);
		mailimap_fetch_type_free(ft);
		if (rc != MAILIMAP_NO_ERROR) {
			mig_imap_msgs_free(v, *n);
			*n = 0;
			return mig_imap_fail(im, "FETCH", rc, err_r);
		}
		for (it = clist_begin(result); it != NULL;
		    it = clist_next(it)) {
			if (*n == cap) {
				cap = cap == 0 ? 256 : cap * 2;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			mig_imap_msg(clist_content(it), &v[*n]);
			if (v[*n].uid == 0)
				free(v[*n].flags), free(v[*n].msgid);
			else
				(*n)++;
		}
		mailimap_fetch_list_free(result);
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), mig_imap_uid_cmp);
	*out = v;
	return 0;
}

void
mig_imap_msgs_free(struct mig_msg *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].flags);
		free(v[i].msgid);
	}
	free(v);
}

/* Write to im's stream; -1 when the connection broke. */
static int
mig_imap_write(struct mig_imap *im, const char *buf, size_t len)
{
	if (len > 0 && mailstream_write(im->imap->imap_stream, buf, len) !=
	    (ssize_t)len)
		return -1;
	return 0;
}

static int
mig_imap_printf(struct mig_imap *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
mig_imap_printf(struct mig_imap *im, const char *fmt, ...)
{
	va_list ap;
	char *buf;
	int len, rc;

	va_start(ap, fmt);
	len = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (len == -1)
		fatalx("mig_imap_printf: out of memory");
	rc = mig_imap_write(im, buf, (size_t)len);
	free(buf);
	return rc;
}

/*
 * A mailbox name as an astring: quoted when it is printable ASCII, else
 * a non-synchronizing literal (RFC 7888), which is only sent where the
 * server has LITERAL+.
 */
static int
mig_imap_astring(struct mig_imap *im, const char *name)
{
	const char *p;
	int rc;

	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			break;
	if (*p != '\0')
		return mig_imap_printf(im, "{%zu+}\r\n%s", strlen(name), name);
	rc = mig_imap_write(im, "\"", 1);
	for (p = name; *p != '\0' && rc == 0; p++) {
		if (*p == '"' || *p == '\\')
			rc = mig_imap_write(im, "\\", 1);
		if (rc == 0)
			rc = mig_imap_write(im, p, 1);
	}
	return rc == 0 ? mig_imap_write(im, "\"", 1) : -1;
}

/*
 * The UIDs of an APPENDUID's set (RFC 4315) in order, into uids[n]: 0
 * when it names exactly n UIDs, else -1 (then the new UIDs are not
 * known, and the next run finds the messages by content).  A range is
 * a set: "5:3" is 3, 4, 5.  libetpan reads "*" as 0, which no UID is.
 */
int
mig_imap_uid_set(const struct mailimap_set *set, uint32_t *uids, size_t n)
{
	const struct mailimap_set_item *item;
	clistiter *it;
	uint32_t lo, hi, u;
	size_t k = 0;

	if (set == NULL || set->set_list == NULL)
		return -1;
	for (it = clist_begin(set->set_list); it != NULL; it = clist_next(it)) {
		item = clist_content(it);
		lo = item->set_first < item->set_last ? item->set_first :
		    item->set_last;
		hi = item->set_first < item->set_last ? item->set_last :
		    item->set_first;
		if (lo == 0)
			return -1;
		/* Bounded: no more than n UIDs are taken. */
		for (u = lo;; u++) {
			if (k == n)
				return -1;
			uids[k++] = u;
			if (u == hi)
				break;
		}
	}
	return k == n ? 0 : -1;
}

/* The set of the last tagged answer's APPENDUID, or NULL. */
static const struct mailimap_set *
mig_imap_appenduid(struct mig_imap *im)
{
	const struct mailimap_response_info *ri = im->imap->imap_response_info;
	const struct mailimap_extension_data *ext;
	const struct mailimap_uidplus_resp_code_apnd *apnd;
	clistiter *it;

	if (ri == NULL || ri->rsp_extension_list == NULL)
		return NULL;
	for (it = clist_begin(ri->rsp_extension_list); it != NULL;
	    it = clist_next(it)) {
		ext = clist_content(it);
		if (ext->ext_extension != &mailimap_extension_uidplus ||
		    ext->ext_type != MAILIMAP_UIDPLUS_RESP_CODE_APND)
			continue;
		apnd = ext->ext_data;
		return apnd->uid_set;
	}
	return NULL;
}

/*
 * One APPEND for the n messages of v (RFC 3502), each a non-synchronizing
 * literal (RFC 7888): one round trip and, on the server, one transaction
 * for the batch, which it takes whole or not at all.  The tag is
 * libetpan's next, so that its parser knows the answer as ours.  0 when
 * the server took them (new_uids[] from APPENDUID, or all 0), 1 when it
 * said NO (nothing appended; why in *why_r), -1 and why when it failed.
 */
static int
mig_imap_append_batch(struct mig_imap *im, const char *folder,
    const struct mig_imap_att *v, size_t n, uint32_t *new_uids,
    char **why_r, char **err_r)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	mailstream *stream = im->imap->imap_stream;
	struct mailimap_response *resp;
	const struct mailimap_date_time *d;
	size_t i;
	int rc, cond;

	*why_r = NULL;
	memset(new_uids, 0, n * sizeof(*new_uids));
	if ((rc = mailimap_send_current_tag(im->imap)) != MAILIMAP_NO_ERROR)
		return mig_imap_fail(im, "APPEND", rc, err_r);
	if (mig_imap_write(im, "APPEND ", 7) == -1 ||
	    mig_imap_astring(im, folder) == -1)
		goto lost;
	for (i = 0; i < n; i++) {
		if (v[i].flags != NULL && *v[i].flags != '\0' &&
		    mig_imap_printf(im, " (%s)", v[i].flags) == -1)
			goto lost;
		if ((d = v[i].date) != NULL && d->dt_month >= 1 &&
		    d->dt_month <= 12 && mig_imap_printf(im,
		    " \"%02d-%s-%04d %02d:%02d:%02d %c%04d\"", d->dt_day,
		    months[d->dt_month - 1], d->dt_year, d->dt_hour,
		    d->dt_min, d->dt_sec, d->dt_zone < 0 ? '-' : '+',
		    d->dt_zone < 0 ? -d->dt_zone : d->dt_zone) == -1)
			goto lost;
		/* As mailimap_append: bare LFs go as CRLF, and count so. */
		if (mig_imap_printf(im, " {%zu+}\r\n",
		    mailstream_get_data_crlf_size(v[i].section,
		    v[i].section_len)) == -1 ||
		    mailstream_send_data_crlf(stream, v[i].section,
		    v[i].section_len, 0, NULL) == -1)
			goto lost;
	}
	if (mig_imap_write(im, "\r\n", 2) == -1 ||
	    mailstream_flush(stream) == -1 ||
	    mailimap_read_line(im->imap) == NULL)
		goto lost;
	if ((rc = mailimap_parse_response(im->imap, &resp)) !=
	    MAILIMAP_NO_ERROR)
		return mig_imap_fail(im, "APPEND", rc, err_r);
	cond = resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->
	    rsp_type;
	mailimap_response_free(resp);
	if (cond != MAILIMAP_RESP_COND_STATE_OK) {
		mig_imap_fail(im, "APPEND", MAILIMAP_ERROR_APPEND, why_r);
		return 1;
	}
	if (im->uidplus && mig_imap_uid_set(mig_imap_appenduid(im), new_uids,
	    n) == -1)
		memset(new_uids, 0, n * sizeof(*new_uids));
	return 0;
lost:
	return mig_imap_fail(im, "APPEND", MAILIMAP_ERROR_STREAM, err_r);
}

int
mig_imap_copy(struct mig_imap *src, const uint32_t *uids, size_t n,
    struct mig_imap *dst, const char *folder, mig_imap_copied_fn done,
    void *arg, char **err_r)
{
	struct mailimap_fetch_type *ft;
	struct mailimap_set *set;
	struct mailimap_flag_list *fl;
	struct mig_imap_att *v, *b;
	clist *result;
	clistiter *it;
	char *why;
	uint32_t validity, new_uid, *new_uids;
	size_t i, nv = 0;
	int rc, stop = 0, batch = -1;

	/* One UID FETCH for the batch: a round trip per batch. */
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_flags());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_internaldate());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(mailimap_section_new(
	    NULL)));
	set = mailimap_set_new_empty();
	for (i = 0; i < n; i++)
		mailimap_set_add_single(set, uids[i]);
	rc = mailimap_uid_fetch(src->imap, set, ft, &result);
	mailimap_set_free(set);
	mailimap_fetch_type_free(ft);
	if (rc != MAILIMAP_NO_ERROR)
		return mig_imap_fail(src, "UID FETCH", rc, err_r);
	v = xcalloc(clist_count(result) + 1, sizeof(*v));
	for (it = clist_begin(result); it != NULL; it = clist_next(it)) {
		mig_imap_att(clist_content(it), &v[nv]);
		if (v[nv].uid == 0 || v[nv].section == NULL) {
			/* A FETCH of flags alone, say: not ours. */
			free(v[nv].flags);
			continue;
		}
		nv++;
	}
	new_uids = xcalloc(nv + 1, sizeof(*new_uids));

	/*
	 * The batch in one APPEND.  Refused, it is tried again one message
	 * at a time, so that only what the server will not take is
	 * reported; a single message is reported at once.
	 */
	why = NULL;
	if (dst->multiappend && nv > 0) {
		batch = mig_imap_append_batch(dst, folder, v, nv, new_uids,
		    &why, err_r);
		if (batch == -1)
			stop = -1;
		for (i = 0; i < nv && batch == 0 && stop == 0; i++)
			stop = done(arg, v[i].uid, new_uids[i],
			    v[i].section_len, NULL, err_r);
		if (batch == 1 && nv == 1)
			stop = done(arg, v[0].uid, 0, v[0].section_len, why,
			    err_r);
		free(why);
		if (batch == 1 && nv > 1)
			batch = -1;
	}
	for (i = 0; i < nv && batch == -1 && stop == 0; i++) {
		b = &v[i];
		fl = mig_imap_flag_list(b->flags != NULL ? b->flags : "");
		new_uid = 0;
		if (dst->uidplus)
			rc = mailimap_uidplus_append(dst->imap, folder, fl,
			    b->date, b->section, b->section_len, &validity,
			    &new_uid);
		else
			rc = mailimap_append(dst->imap, folder, fl, b->date,
			    b->section, b->section_len);
		mailimap_flag_list_free(fl);
		if (rc != MAILIMAP_NO_ERROR && rc != MAILIMAP_ERROR_APPEND) {
			stop = mig_imap_fail(dst, "APPEND", rc, err_r);
			break;
		}
		/* A NO: the server will not take this one (too big...). */
		why = NULL;
		if (rc == MAILIMAP_ERROR_APPEND)
			mig_imap_fail(dst, "APPEND", rc, &why);
		stop = done(arg, b->uid, new_uid, b->section_len, why, err_r);
		free(why);
	}
	for (i = 0; i < nv; i++)
		free(v[i].flags);
	free(v);
	free(new_uids);
	mailimap_fetch_list_free(result);
	return stop == -1 ? -1 : 0;
}

int
mig_imap_store(struct mig_imap *im, uint32_t uid, const char *flags,
    char **err_r)
{
	struct mailimap_set *set = mailimap_set_new_single(uid);
	struct mailimap_store_att_flags *sf;
	int rc;

	sf = mailimap_store_att_flags_new_set_flags_silent(
	    mig_imap_flag_list(flags));
	rc = mailimap_uid_store(im->imap, set, sf);
	mailimap_store_att_flags_free(sf);
	mailimap_set_free(set);
	if (rc != MAILIMAP_NO_ERROR)
		return mig_imap_fail(im, "UID STORE", rc, err_r);
	return 0;
}

int
mig_imap_expunge(struct mig_imap *im, const uint32_t *uids, size_t n,
    char **err_r)
{
	struct mailimap_set *set;
	struct mailimap_store_att_flags *sf;
	struct mailimap_flag_list *fl;
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	set = mailimap_set_new_empty();
	for (i = 0; i < n; i++)
		mailimap_set_add_single(set, uids[i]);
	fl = mailimap_flag_list_new_empty();
	mailimap_flag_list_add(fl, mailimap_flag_new_deleted());
	sf = mailimap_store_att_flags_new_add_flags_silent(fl);
	rc = mailimap_uid_store(im->imap, set, sf);
	mailimap_store_att_flags_free(sf);
	if (rc == MAILIMAP_NO_ERROR)
		/* RFC 4315: only these, not others marked \Deleted. */
		rc = im->uidplus ? mailimap_uid_expunge(im->imap, set) :
		    mailimap_expunge(im->imap);
	mailimap_set_free(set);
	if (rc != MAILIMAP_NO_ERROR)
		return mig_imap_fail(im, "EXPUNGE", rc, err_r);
	return 0;
}
