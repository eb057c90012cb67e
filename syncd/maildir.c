/*
 * maildir.c: the Maildir transport: each delivered message becomes one file
 * in a Maildir (tmp/, then renamed into new/).
 *
 * It serves as the archive copy ("archive maildir PATH") and lets the demo
 * and the tests see the fan-out before a side has its own protocol
 * ("deliver list maildir PATH").  A file's name derives from the outbox row
 * (message and target), so a delivery repeated after a crash finds its own
 * earlier file and does not write a second copy.  File I/O with fsync()
 * blocks, so deliveries run on the worker threads.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syncd.h"

struct maildir_transport {
	char		*path;
	struct worker	*worker;
};

/* One delivery travelling to a worker thread and back. */
struct maildir_job {
	struct delivery	*d;
	char		*path;
	char		*name;
	char		*data;
	size_t		 len;
	int		 check;
	int		 rc;
	char		*err;
};

/* Is there already a file for name in new/ or (read, so renamed) cur/? */
static int
maildir_exists(const char *path, const char *name)
{
	struct dirent *de;
	struct stat sb;
	size_t n = strlen(name);
	char *file;
	DIR *dir;
	int found;

	file = xasprintf("%s/new/%s", path, name);
	found = stat(file, &sb) == 0;
	free(file);
	if (found)
		return 1;
	file = xasprintf("%s/cur", path);
	dir = opendir(file);
	free(file);
	if (dir == NULL)
		return 0;
	while (!found && (de = readdir(dir)) != NULL)
		found = strncmp(de->d_name, name, n) == 0 &&
		    (de->d_name[n] == ':' || de->d_name[n] == '\0');
	closedir(dir);
	return found;
}

static int
maildir_write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= n;
	}
	return 0;
}

/* fsync a directory, so the renames in it are durable. */
static int
maildir_sync_dir(const char *dir, char **err_r)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		*err_r = xasprintf("syncing %s: %s", dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
maildir_deliver(const char *path, const char *name, const char *data,
    size_t len, int check, char **err_r)
{
	static const char *subdirs[] = { "tmp", "new", "cur" };
	char *tmp = NULL, *dst = NULL, *dir;
	const char *step;
	size_t i;
	int fd = -1, rc;

	*err_r = NULL;
	for (i = 0; i < 3; i++) {
		dir = xasprintf("%s/%s", path, subdirs[i]);
		if (file_mkdirs(dir, 0750) == -1) {
			*err_r = xasprintf("creating %s: %s", dir,
			    strerror(errno));
			free(dir);
			return -1;
		}
		free(dir);
	}
	dir = xasprintf("%s/new", path);
	/* Found from an earlier try: make sure its rename is durable. */
	if (check && maildir_exists(path, name))
		goto sync;

	tmp = xasprintf("%s/tmp/%s", path, name);
	dst = xasprintf("%s/new/%s", path, name);
	step = "creating";
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) ==
	    -1)
		goto fail;
	step = "writing";
	if (maildir_write_all(fd, data, len) == -1 || fsync(fd) == -1)
		goto fail;
	rc = close(fd);
	fd = -1;
	if (rc == -1)
		goto fail;
	step = "renaming";
	if (rename(tmp, dst) == -1)
		goto fail;
sync:
	rc = maildir_sync_dir(dir, err_r);
	free(dir);
	free(tmp);
	free(dst);
	return rc;

fail:
	*err_r = xasprintf("%s %s: %s", step, tmp, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(dir);
	free(tmp);
	free(dst);
	return -1;
}

/* A file name from the row's message and target: the same on every try. */
static char *
maildir_name(const struct outbox_row *row)
{
	uint64_t h1 = 0xcbf29ce484222325ULL, h2 = 0x84222325cbf29ce4ULL;
	const unsigned char *p;
	int part;

	for (part = 0; part < 2; part++) {
		p = (const unsigned char *)(part == 0 ? row->msgid :
		    row->target);
		for (;; p++) {
			h1 = (h1 ^ *p) * 0x100000001b3ULL;
			h2 = (h2 ^ *p) * 0x100000001b3ULL;
			h2 ^= h2 >> 29;
			if (*p == '\0')
				break;
		}
	}
	return xasprintf("%lld.%016llx%016llx.syncom", (long long)row->created,
	    (unsigned long long)h1, (unsigned long long)h2);
}

/* The file's bytes: our gateway header, then the message with LF ends. */
static char *
maildir_render(const struct conf *conf, const struct delivery *d,
    size_t *len_r)
{
	char *hdr = xasprintf("%s: %s\n", GATEWAY_HEADER, conf->path_identity);
	size_t hlen = strlen(hdr), i, n = hlen;
	char *out = xmalloc(hlen + d->len + 1);

	memcpy(out, hdr, hlen);
	free(hdr);
	for (i = 0; i < d->len; i++) {
		if (d->raw[i] == '\r' && i + 1 < d->len && d->raw[i + 1] == '\n')
			continue;
		out[n++] = d->raw[i];
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}

static void
maildir_job_run(void *arg)
{
	struct maildir_job *job = arg;

	job->rc = maildir_deliver(job->path, job->name, job->data, job->len,
	    job->check, &job->err);
}

static void
maildir_job_done(void *arg)
{
	struct maildir_job *job = arg;

	/* Every failure here (full disk, permissions) may pass: retry. */
	job->d->done(job->d, job->rc == 0 ? DELIVERY_OK : DELIVERY_TEMPFAIL,
	    job->err);
	free(job->path);
	free(job->name);
	free(job->data);
	free(job->err);
	free(job);
}

static void
maildir_transport_deliver(struct transport *t, struct delivery *d)
{
	struct maildir_transport *mt = t->priv;
	struct maildir_job *job = xcalloc(1, sizeof(*job));

	job->d = d;
	job->path = xstrdup(mt->path);
	job->name = maildir_name(d->row);
	job->data = maildir_render(t->conf, d, &job->len);
	job->check = d->recovering;
	worker_run(mt->worker, maildir_job_run, maildir_job_done, job);
}

static void
maildir_transport_free(struct transport *t)
{
	struct maildir_transport *mt = t->priv;

	free(mt->path);
	free(mt);
}

static const struct transport_ops maildir_ops = {
	"maildir",
	maildir_transport_deliver,
	maildir_transport_free,
};

struct transport *
maildir_transport_new(struct conf *conf, const char *path,
    struct worker *worker)
{
	struct transport *t = xcalloc(1, sizeof(*t));
	struct maildir_transport *mt = xcalloc(1, sizeof(*mt));

	mt->path = xstrdup(path);
	mt->worker = worker;
	t->ops = &maildir_ops;
	t->conf = conf_ref(conf);
	t->priv = mt;
	return t;
}

void
transport_free(struct transport **tp)
{
	struct transport *t = *tp;

	*tp = NULL;
	if (t == NULL)
		return;
	t->ops->free(t);
	conf_unref(&t->conf);
	free(t);
}
