/*
 * mig_sync.c: one account, old server to new, folder by folder.
 *
 * For each folder the old side's messages are listed (UID and flags), and
 * the state says which were copied, to which new UID.  What is not yet
 * copied is first looked for on the new side by content (Message-ID,
 * size and INTERNALDATE; two messages alike are two, so each new message
 * answers for one old one): that is how a run killed between APPEND and
 * the state's commit, or a changed UIDVALIDITY, costs no duplicate.  The
 * rest is copied with its flags, keywords and INTERNALDATE, the new UID
 * taken from APPENDUID (RFC 4315), fetched in batches of up to
 * MIG_SYNC_BATCH messages or MIG_SYNC_BATCH_BYTES, one FETCH each, and
 * appended in one APPEND each where the new server has MULTIAPPEND (RFC
 * 3502).  It stores such a batch whole or not at all, and each message
 * of it is recorded only after its OK: a kill in between leaves messages
 * on the new side that the state does not know, found by content as
 * above.  Then flags that changed on the old side since are set again on
 * the new one, and with --sync-deletes what the old side no longer has
 * is expunged on the new.  With CONDSTORE (RFC 7162) on the old side, a
 * folder that has not changed since it was last synced whole is not
 * listed at all.
 *
 * A message the new server refuses (too large, say) is reported and the
 * run goes on; anything else that fails ends the account's run, and the
 * next run carries on from what the state recorded.
 */

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "migrate.h"

/* Messages, and bytes, fetched at once for copying. */
#define MIG_SYNC_BATCH		64
#define MIG_SYNC_BATCH_BYTES	(8 * 1024 * 1024)

struct mig_sync {
	const struct mig_conf *conf;
	struct mig_state *st;
	const struct mig_account *a;
	const struct mig_options *opt;
	struct mig_stats *stats;
	struct mig_imap old, new;
	char		**new_folders;
	size_t		 nnew_folders;
	struct mig_map	*special;	/* special use to special use */
	size_t		 nspecial;
	struct timespec	 start;
	double		 shown;		/* when the progress line was drawn */
};

static double
mig_sync_elapsed(const struct mig_sync *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - s->start.tv_sec) +
	    (now.tv_nsec - s->start.tv_nsec) / 1e9;
}

/*
 * Keep to --max-rate and --max-bytes: after each copy, sleep until the
 * account's average is back under both.
 */
static void
mig_sync_pace(struct mig_sync *s)
{
	const struct mig_options *o = s->opt;
	double due = 0, wait;
	struct timespec ts;

	if (o->max_msgs > 0)
		due = s->stats->copied / o->max_msgs;
	if (o->max_bytes > 0 && s->stats->bytes / o->max_bytes > due)
		due = s->stats->bytes / o->max_bytes;
	if ((wait = due - mig_sync_elapsed(s)) <= 0)
		return;
	ts.tv_sec = (time_t)wait;
	ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/*
 * The progress line on a terminal, at most five times a second: account,
 * folder, messages and bytes copied, the rate, and the time left while
 * the account's size says there is more to copy.
 */
static void
mig_sync_progress(struct mig_sync *s, const char *folder, int last)
{
	const struct mig_stats *st = s->stats;
	double t = mig_sync_elapsed(s), rate;
	char eta[32] = "";
	long long left;

	if (!s->opt->progress || (!last && t - s->shown < 0.2))
		return;
	s->shown = t;
	rate = t > 0 ? st->bytes / t : 0;
	left = s->opt->size - st->bytes;
	if (rate > 0 && left > 0 && !last)
		snprintf(eta, sizeof(eta), "  ETA %lds", (long)(left / rate));
	fprintf(stderr, "\r\033[K%s  %.30s  %lld msgs  %.1f MB  %.1f MB/s%s%s",
	    s->a->name, folder, st->copied, st->bytes / 1e6, rate / 1e6, eta,
	    last ? "\n" : "");
}

/* The map of maps that names old or a folder above it, or NULL. */
static const struct mig_map *
mig_sync_map(const struct mig_map *maps, size_t nmaps, const char *old,
    char old_sep)
{
	size_t i, n;

	for (i = 0; i < nmaps; i++) {
		n = strlen(maps[i].from);
		if (strncmp(old, maps[i].from, n) == 0 &&
		    (old[n] == '\0' || old[n] == old_sep))
			return &maps[i];
	}
	return NULL;
}

char *
mig_sync_name(const struct mig_conf *conf, const struct mig_map *special,
    size_t nspecial, const char *old, char old_sep, char new_sep)
{
	const struct mig_map *m;
	const char *rest = NULL, *base = NULL;
	char *out, *p;
	size_t i;

	if (strcasecmp(old, "INBOX") == 0)
		return xstrdup("INBOX");
	for (i = 0; i < conf->nexcludes; i++)
		if (fnmatch(conf->excludes[i], old, 0) == 0)
			return NULL;
	if ((m = mig_sync_map(conf->maps, conf->nmaps, old, old_sep)) ==
	    NULL)
		m = mig_sync_map(special, nspecial, old, old_sep);
	if (m != NULL) {
		base = m->to;
		rest = old + strlen(m->from);
	}
	if (base == NULL) {
		base = "";
		rest = old;
	}
	/*
	 * The path's components stay; the separator changes.  A character
	 * that is the new separator inside a component would split it: it
	 * becomes "_".
	 */
	out = xasprintf("%s%s", base, rest);
	for (p = out + strlen(base); *p != '\0'; p++) {
		if (*p == old_sep)
			*p = new_sep;
		else if (*p == new_sep)
			*p = '_';
	}
	return out;
}

/* Order by content key: Message-ID, size, date. */
static int
mig_sync_key_cmp(const struct mig_msg *x, const struct mig_msg *y)
{
	int c;

	if (x->msgid == NULL || y->msgid == NULL) {
		if (x->msgid != y->msgid)
			return x->msgid == NULL ? -1 : 1;
	} else if ((c = strcmp(x->msgid, y->msgid)) != 0)
		return c;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return 0;
}

static int
mig_sync_key_qsort(const void *a, const void *b)
{
	return mig_sync_key_cmp(a, b);
}

/* An unclaimed new message with m's content, or NULL; claims it. */
static struct mig_msg *
mig_sync_claim(struct mig_msg *by_key, size_t n, const struct mig_msg *m)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mig_sync_key_cmp(&by_key[mid], m) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && mig_sync_key_cmp(&by_key[lo], m) == 0; lo++)
		if (!by_key[lo].claimed) {
			by_key[lo].claimed = 1;
			return &by_key[lo];
		}
	return NULL;
}

static const struct mig_msg *
mig_sync_by_uid(const struct mig_msg *v, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid].uid == uid)
			return &v[mid];
		if (v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
mig_sync_copied_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct mig_copied *)a)->old_uid;
	uint32_t y = ((const struct mig_copied *)b)->old_uid;

	return x < y ? -1 : x > y;
}

static int
mig_sync_has_folder(const struct mig_sync *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nnew_folders; i++)
		if (strcmp(s->new_folders[i], name) == 0 ||
		    (strcasecmp(name, "INBOX") == 0 &&
		    strcasecmp(s->new_folders[i], "INBOX") == 0))
			return 1;
	return 0;
}

/* Mark new messages with the given UIDs as claimed. */
static void
mig_sync_claim_uid(struct mig_msg *v, size_t n, uint32_t uid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].uid == uid) {
			v[i].claimed = 1;
			return;
		}
}

/* Mark the old messages the state has a live copy of; how many are not. */
static size_t
mig_sync_mark(const struct mig_msg *olds, size_t nold,
    const struct mig_copied *copied, size_t ncopied, int *mapped)
{
	const struct mig_copied *c;
	struct mig_copied key;
	size_t i, unmapped = 0;

	for (i = 0; i < nold; i++) {
		key.old_uid = olds[i].uid;
		c = ncopied == 0 ? NULL : bsearch(&key, copied, ncopied,
		    sizeof(*copied), mig_sync_copied_cmp);
		mapped[i] = c != NULL && c->new_uid != 0;
		unmapped += !mapped[i];
	}
	return unmapped;
}

/* What the copy callback needs of the folder in hand. */
struct mig_sync_copy {
	struct mig_sync	*s;
	int64_t		 folder;
	const char	*name;
	const struct mig_msg *olds;
	size_t		 nold;
	size_t		 unrecorded;	/* refused, or copied without a UID */
};

/* A message copied (or refused): record it, count it, keep the pace. */
static int
mig_sync_copied(void *arg, uint32_t uid, uint32_t new_uid, size_t size,
    const char *refused, char **err_r)
{
	struct mig_sync_copy *c = arg;
	struct mig_sync *s = c->s;
	const struct mig_msg *om = mig_sync_by_uid(c->olds, c->nold, uid);

	if (refused != NULL) {
		log_warnx("event=copy account=%s folder=%s uid=%u size=%zu"
		    " result=refused error=%s", log_q(s->a->name),
		    log_q(c->name), uid, size, log_q(refused));
		s->stats->refused++;
		c->unrecorded++;
		return 0;
	}
	s->stats->copied++;
	s->stats->bytes += size;
	/* Without UIDPLUS the next run finds it by content. */
	if (new_uid == 0 || om == NULL)
		c->unrecorded++;
	else if (mig_state_put(s->st, c->folder, uid, new_uid, om->flags,
	    err_r) == -1)
		return -1;
	mig_sync_progress(s, c->name, 0);
	mig_sync_pace(s);
	return 0;
}

static int
mig_sync_folder(struct mig_sync *s, const char *old_name, char **err_r)
{
	struct mig_stats *stats = s->stats;
	struct mig_folder f;
	struct mig_msg *olds = NULL, *news = NULL, *by_key = NULL, *hit;
	const struct mig_msg *om, *nm;
	struct mig_copied *copied = NULL;
	struct mig_sync_copy ctx;
	uint32_t ouv, nuv, oexists, *gone = NULL, *tocopy = NULL;
	uint64_t omodseq;
	size_t nold = 0, nnew = 0, ncopied = 0, ngone = 0, ntocopy = 0, i, n;
	size_t size, bytes, max_n, max_bytes;
	char *new_name;
	int rc = -1, keys, unchanged = 0, *mapped = NULL;
	long long before = stats->copied;

	if ((new_name = mig_sync_name(s->conf, s->special, s->nspecial,
	    old_name, s->old.sep, s->new.sep)) == NULL) {
		log_info("event=folder account=%s folder=%s result=excluded",
		    log_q(s->a->name), log_q(old_name));
		return 0;
	}
	if (!mig_sync_has_folder(s, new_name)) {
		if (mig_imap_create(&s->new, new_name, err_r) == -1)
			goto out;
		s->new_folders = xreallocarray(s->new_folders,
		    s->nnew_folders + 1, sizeof(*s->new_folders));
		s->new_folders[s->nnew_folders++] = xstrdup(new_name);
	}
	/*
	 * The folder's record in one short transaction; each copy is then
	 * recorded on its own, so that accounts run in parallel processes
	 * never wait long for the state.
	 */
	if (mig_imap_select(&s->old, old_name, 1, &ouv, err_r) == -1 ||
	    mig_imap_select(&s->new, new_name, 0, &nuv, err_r) == -1 ||
	    mig_state_begin(s->st, err_r) == -1)
		goto out;
	omodseq = s->old.modseq;
	oexists = mig_imap_exists(&s->old);
	memset(&ctx, 0, sizeof(ctx));
	if (mig_state_folder(s->st, s->a->name, old_name, new_name, ouv, nuv,
	    &f, err_r) == -1 ||
	    mig_state_copied(s->st, f.id, &copied, &ncopied, err_r) == -1) {
		mig_state_rollback(s->st);
		goto out;
	}
	if (mig_state_commit(s->st, err_r) == -1)
		goto out;
	/*
	 * CONDSTORE (RFC 7162): every new message and every change of flags
	 * or keywords moves the old folder's HIGHESTMODSEQ.  Where it has
	 * not moved since the folder was last synced whole, and neither
	 * side's count has (an expunge), there is nothing to list: the
	 * rerun of an unchanged account is an EXAMINE and a SELECT a folder.
	 * With --sync-deletes, what was deleted before counts too.
	 */
	if (omodseq != 0 && omodseq == f.old_modseq &&
	    oexists == f.old_exists && mig_imap_exists(&s->new) == ncopied &&
	    (!s->opt->sync_deletes || oexists == ncopied)) {
		unchanged = 1;
		goto done;
	}
	/* Nothing recorded yet: all will need their content keys. */
	keys = ncopied == 0;
	if (mig_imap_list(&s->old, keys, &olds, &nold, err_r) == -1)
		goto out;

	/*
	 * A rerun with nothing new: every old message recorded, and the
	 * new side holding as many as recorded.  Then the new side need not
	 * be listed; flags are compared with those of the last sync.
	 */
	mapped = xcalloc(nold + 1, sizeof(*mapped));
	if (mig_imap_exists(&s->new) == ncopied &&
	    mig_sync_mark(olds, nold, copied, ncopied, mapped) == 0)
		goto flags;
	if (mig_imap_list(&s->new, keys, &news, &nnew, err_r) == -1)
		goto out;
	/* A recorded copy the new side lost is copied again. */
	for (i = 0; i < ncopied; i++) {
		if (mig_sync_by_uid(news, nnew, copied[i].new_uid) != NULL)
			continue;
		if (mig_state_forget(s->st, f.id, copied[i].old_uid,
		    err_r) == -1)
			goto out;
		copied[i].new_uid = 0;
	}
	if (mig_sync_mark(olds, nold, copied, ncopied, mapped) > 0 && !keys) {
		/* Those not yet copied need their content keys, both sides. */
		mig_imap_msgs_free(olds, nold);
		mig_imap_msgs_free(news, nnew);
		olds = news = NULL;
		nold = nnew = 0;
		if (mig_imap_list(&s->old, 1, &olds, &nold, err_r) == -1 ||
		    mig_imap_list(&s->new, 1, &news, &nnew, err_r) == -1)
			goto out;
		free(mapped);
		mapped = xcalloc(nold + 1, sizeof(*mapped));
		mig_sync_mark(olds, nold, copied, ncopied, mapped);
	}
	by_key = xcalloc(nnew + 1, sizeof(*by_key));
	if (nnew > 0)
		memcpy(by_key, news, nnew * sizeof(*news));
	for (i = 0; i < ncopied; i++)
		if (copied[i].new_uid != 0)
			mig_sync_claim_uid(by_key, nnew, copied[i].new_uid);
	if (nnew > 1)
		qsort(by_key, nnew, sizeof(*by_key), mig_sync_key_qsort);

	/* Found there by content first, without the network. */
	tocopy = xcalloc(nold + 1, sizeof(*tocopy));
	for (i = 0; i < nold; i++) {
		om = &olds[i];
		if (mapped[i])
			continue;
		if ((hit = mig_sync_claim(by_key, nnew, om)) == NULL) {
			tocopy[ntocopy++] = om->uid;
			continue;
		}
		/* Copied by a run that died before recording it. */
		if ((strcmp(hit->flags, om->flags) != 0 &&
		    mig_imap_store(&s->new, hit->uid, om->flags, err_r) == -1) ||
		    mig_state_put(s->st, f.id, om->uid, hit->uid, om->flags,
		    err_r) == -1)
			goto out;
		stats->matched++;
	}
	/* The rest in batches: one FETCH each, bounded in bytes. */
	ctx.s = s;
	ctx.folder = f.id;
	ctx.name = old_name;
	ctx.olds = olds;
	ctx.nold = nold;
	/*
	 * A batch goes to the new server at once (MULTIAPPEND): under
	 * --max-rate or --max-bytes it is at most a second's worth, so
	 * that the pace stays even.
	 */
	max_n = MIG_SYNC_BATCH;
	if (s->opt->max_msgs > 0 && s->opt->max_msgs < max_n)
		max_n = s->opt->max_msgs >= 1 ? (size_t)s->opt->max_msgs : 1;
	max_bytes = MIG_SYNC_BATCH_BYTES;
	if (s->opt->max_bytes > 0 && s->opt->max_bytes < max_bytes)
		max_bytes = (size_t)s->opt->max_bytes;
	for (i = 0; i < ntocopy;) {
		if (s->opt->deadline != 0 && time(NULL) >= s->opt->deadline) {
			stats->stopped = 1;
			break;
		}
		for (n = 0, bytes = 0; i + n < ntocopy && n < max_n; n++) {
			size = mig_sync_by_uid(olds, nold, tocopy[i + n])->size;
			if (n > 0 && bytes + size > max_bytes)
				break;
			bytes += size;
		}
		if (mig_imap_copy(&s->old, tocopy + i, n, &s->new, new_name,
		    mig_sync_copied, &ctx, err_r) == -1)
			goto out;
		i += n;
	}
	ctx.unrecorded += ntocopy - i;

flags:
	/* Flags changed since, and with --sync-deletes, deletions. */
	for (i = 0; i < ncopied; i++) {
		if (copied[i].new_uid == 0)
			continue;
		om = mig_sync_by_uid(olds, nold, copied[i].old_uid);
		if (om == NULL) {
			if (!s->opt->sync_deletes)
				continue;
			gone = xreallocarray(gone, ngone + 1, sizeof(*gone));
			gone[ngone++] = copied[i].new_uid;
			if (mig_state_forget(s->st, f.id, copied[i].old_uid,
			    err_r) == -1)
				goto out;
			continue;
		}
		/* What the new side has, or had at the last sync. */
		nm = mig_sync_by_uid(news, nnew, copied[i].new_uid);
		if (strcmp(om->flags, nm != NULL ? nm->flags :
		    copied[i].flags) == 0)
			continue;
		if (mig_imap_store(&s->new, copied[i].new_uid, om->flags,
		    err_r) == -1 || mig_state_put(s->st, f.id, om->uid,
		    copied[i].new_uid, om->flags, err_r) == -1)
			goto out;
		stats->flagged++;
	}
	if (mig_imap_expunge(&s->new, gone, ngone, err_r) == -1)
		goto out;
	stats->deleted += ngone;
	/* Whole, unless something was left or could not be recorded. */
	if (ctx.unrecorded > 0)
		omodseq = oexists = 0;
	if (mig_state_synced(s->st, f.id, omodseq, oexists, err_r) == -1)
		goto out;
done:
	stats->folders++;
	log_info("event=folder account=%s folder=%s new=%s messages=%u"
	    " copied=%lld result=%s", log_q(s->a->name), log_q(old_name),
	    log_q(new_name), oexists, stats->copied - before, unchanged ?
	    "unchanged" : stats->stopped ? "stopped" : "synced");
	rc = 0;
out:
	free(tocopy);
	free(gone);
	free(by_key);
	free(mapped);
	mig_imap_msgs_free(olds, nold);
	mig_imap_msgs_free(news, nnew);
	mig_state_copied_free(copied, ncopied);
	free(new_name);
	return rc;
}

/* Log in on both sides as the account says. */
/*
 * Special-use folders (RFC 6154) find each other: the old server's Sent
 * folder goes to the new server's, whatever each calls it ("Sent Items",
 * "Gesendet"), and the folders below it along with it, unless a map line
 * says where it goes.
 */
static void
mig_sync_special(struct mig_sync *s, char **olds, char **old_uses,
    size_t nold, char **news, char **new_uses, size_t nnew)
{
	size_t i, j;

	for (i = 0; i < nold; i++) {
		if (old_uses[i] == NULL || mig_sync_map(s->conf->maps,
		    s->conf->nmaps, olds[i], s->old.sep) != NULL)
			continue;
		for (j = 0; j < nnew && (new_uses[j] == NULL ||
		    strcmp(new_uses[j], old_uses[i]) != 0); j++)
			;
		if (j == nnew)
			continue;
		s->special = xreallocarray(s->special, s->nspecial + 1,
		    sizeof(*s->special));
		s->special[s->nspecial].from = xstrdup(olds[i]);
		s->special[s->nspecial++].to = xstrdup(news[j]);
		log_info("event=folder account=%s folder=%s special-use=%s"
		    " to=%s", log_q(s->a->name), log_q(olds[i]), old_uses[i],
		    log_q(news[j]));
	}
}

/* List both sides' folders and learn the special-use maps. */
static int
mig_sync_folders(struct mig_sync *s, char ***olds, size_t *nold,
    char **err_r)
{
	char **old_uses = NULL, **new_uses = NULL;
	size_t i;
	int rc = -1;

	if (mig_imap_folders(&s->old, olds, &old_uses, nold, err_r) == -1)
		return -1;
	if (mig_imap_folders(&s->new, &s->new_folders, &new_uses,
	    &s->nnew_folders, err_r) == 0) {
		mig_sync_special(s, *olds, old_uses, *nold, s->new_folders,
		    new_uses, s->nnew_folders);
		rc = 0;
	}
	for (i = 0; i < *nold; i++)
		free(old_uses[i]);
	free(old_uses);
	for (i = 0; i < s->nnew_folders; i++)
		free(new_uses[i]);
	free(new_uses);
	return rc;
}

static int
mig_sync_login(struct mig_sync *s, char **err_r)
{
	const struct mig_account *a = s->a;

	if (mig_imap_login(&s->old, &s->conf->old, a->old_login != NULL ?
	    a->old_login : a->name, a->old_password, "old", err_r) == -1)
		return -1;
	if (mig_imap_login(&s->new, &s->conf->new, a->new_login != NULL ?
	    a->new_login : a->name, a->new_password, "new", err_r) == -1) {
		mig_imap_logout(&s->old);
		return -1;
	}
	return 0;
}

static void
mig_sync_done(struct mig_sync *s)
{
	size_t i;

	mig_imap_logout(&s->old);
	mig_imap_logout(&s->new);
	for (i = 0; i < s->nnew_folders; i++)
		free(s->new_folders[i]);
	free(s->new_folders);
	for (i = 0; i < s->nspecial; i++) {
		free(s->special[i].from);
		free(s->special[i].to);
	}
	free(s->special);
}

int
mig_sync_account(const struct mig_conf *conf, struct mig_state *st,
    const struct mig_account *a, const struct mig_options *opt,
    struct mig_stats *stats, char **err_r)
{
	struct mig_sync s;
	struct timespec t0, t1;
	char **folders = NULL;
	size_t nfolders = 0, i;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	memset(stats, 0, sizeof(*stats));
	s.conf = conf;
	s.st = st;
	s.a = a;
	s.opt = opt;
	s.stats = stats;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s.start = t0;
	if (mig_state_account(st, a->name, 0, 0, 0, err_r) == -1)
		return -1;
	if (mig_sync_login(&s, err_r) == -1)
		return s.old.lost || s.new.lost ? -2 : -1;
	if (mig_sync_folders(&s, &folders, &nfolders, err_r) == -1)
		goto out;
	for (i = 0; i < nfolders && !stats->stopped; i++)
		if (mig_sync_folder(&s, folders[i], err_r) == -1)
			goto out;
	mig_sync_progress(&s, "done", 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Stopped early, the account is still in progress. */
	rc = stats->stopped ? 0 : mig_state_account(st, a->name, 1,
	    stats->bytes, (t1.tv_sec - t0.tv_sec) +
	    (t1.tv_nsec - t0.tv_nsec) / 1e9, err_r);
out:
	if (rc == -1 && (s.old.lost || s.new.lost))
		rc = -2;
	for (i = 0; i < nfolders; i++)
		free(folders[i]);
	free(folders);
	mig_sync_done(&s);
	return rc;
}

int
mig_sync_size(const struct mig_conf *conf, const struct mig_account *a,
    long long *bytes, long long *messages, char **err_r)
{
	struct mig_imap old;
	struct mig_msg *v;
	char **folders = NULL, *name;
	size_t nfolders = 0, n, i, j;
	uint32_t uv;
	int rc = -1;

	*bytes = *messages = 0;
	if (mig_imap_login(&old, &conf->old, a->old_login != NULL ?
	    a->old_login : a->name, a->old_password, "old", err_r) == -1)
		return -1;
	if (mig_imap_folders(&old, &folders, NULL, &nfolders, err_r) == -1)
		goto out;
	for (i = 0; i < nfolders; i++) {
		/* Only what would be copied counts. */
		if ((name = mig_sync_name(conf, NULL, 0, folders[i], old.sep,
		    '/')) == NULL)
			continue;
		free(name);
		if (mig_imap_select(&old, folders[i], 1, &uv, err_r) == -1 ||
		    mig_imap_list(&old, 0, &v, &n, err_r) == -1)
			goto out;
		for (j = 0; j < n; j++)
			*bytes += v[j].size;
		*messages += n;
		mig_imap_msgs_free(v, n);
	}
	rc = 0;
out:
	for (i = 0; i < nfolders; i++)
		free(folders[i]);
	free(folders);
	mig_imap_logout(&old);
	return rc;
}

/* Order for verify: the content key, then the flags. */
static int
mig_sync_full_cmp(const void *a, const void *b)
{
	const struct mig_msg *x = a, *y = b;
	int c;

	if ((c = mig_sync_key_cmp(x, y)) != 0)
		return c;
	return strcmp(x->flags, y->flags);
}

static void
mig_sync_show(const char *folder, const char *what, const struct mig_msg *m)
{
	printf("  %s: %s Message-ID %s, %u octets, date %lld, flags (%s)\n",
	    folder, what, m->msgid != NULL ? m->msgid : "(none)", m->size,
	    (long long)m->date, m->flags);
}

int
mig_sync_verify(const struct mig_conf *conf, const struct mig_account *a,
    char **err_r)
{
	struct mig_sync s;
	struct mig_msg *olds = NULL, *news = NULL;
	char **folders = NULL, *new_name;
	size_t nfolders = 0, nold = 0, nnew = 0, i, j, k, shown;
	uint32_t uv;
	int c, bad = 0, rc = -1;

	memset(&s, 0, sizeof(s));
	s.conf = conf;
	s.a = a;
	if (mig_sync_login(&s, err_r) == -1)
		return -1;
	if (mig_sync_folders(&s, &folders, &nfolders, err_r) == -1)
		goto out;
	for (i = 0; i < nfolders; i++) {
		if ((new_name = mig_sync_name(conf, s.special, s.nspecial,
		    folders[i], s.old.sep, s.new.sep)) == NULL)
			continue;
		if (mig_imap_select(&s.old, folders[i], 1, &uv, err_r) ==
		    -1 || mig_imap_list(&s.old, 1, &olds, &nold, err_r) ==
		    -1) {
			free(new_name);
			goto out;
		}
		if (mig_imap_select(&s.new, new_name, 1, &uv, err_r) == -1) {
			printf("%s: missing on the new server as %s (%zu"
			    " messages)\n", folders[i], new_name, nold);
			free(*err_r);
			*err_r = NULL;
			bad = 1;
		} else if (mig_imap_list(&s.new, 1, &news, &nnew, err_r) ==
		    -1) {
			free(new_name);
			goto out;
		}
		if (nold > 1)
			qsort(olds, nold, sizeof(*olds), mig_sync_full_cmp);
		if (nnew > 1)
			qsort(news, nnew, sizeof(*news), mig_sync_full_cmp);
		for (j = k = 0, shown = 0, c = 0; j < nold || k < nnew;) {
			c = j == nold ? 1 : k == nnew ? -1 :
			    mig_sync_full_cmp(&olds[j], &news[k]);
			if (c == 0) {
				j++, k++;
				continue;
			}
			bad = 1;
			if (shown++ < 10)
				mig_sync_show(folders[i], c < 0 ?
				    "missing on the new server" :
				    "only on the new server", c < 0 ?
				    &olds[j] : &news[k]);
			if (c < 0)
				j++;
			else
				k++;
		}
		printf("%s %s -> %s: %zu old, %zu new%s\n", shown == 0 &&
		    nold == nnew ? "ok" : "DIFFERENT", folders[i], new_name,
		    nold, nnew, shown > 10 ? " (the first 10 differences"
		    " shown)" : "");
		mig_imap_msgs_free(olds, nold);
		mig_imap_msgs_free(news, nnew);
		olds = news = NULL;
		nold = nnew = 0;
		free(new_name);
	}
	printf("%s: %s\n", a->name, bad ? "the new server DIFFERS" :
	    "both servers have the same messages with the same flags and"
	    " dates");
	rc = bad;
out:
	mig_imap_msgs_free(olds, nold);
	mig_imap_msgs_free(news, nnew);
	for (i = 0; i < nfolders; i++)
		free(folders[i]);
	free(folders);
	mig_sync_done(&s);
	return rc;
}
