/*
 * worker.c: a few threads for work that would block the event loop.
 *
 * Some work cannot be made non-blocking: writing and fsync()ing a file into
 * a Maildir, for one.  Such a job's fn runs on a worker thread and must
 * touch nothing the loop owns; its done then runs on the loop, where it may.
 * Threads hand finished jobs back by activating an event, which is why
 * syncd calls evthread_use_pthreads() before creating its event base.
 */

#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "syncd.h"

struct worker_job {
	TAILQ_ENTRY(worker_job) entry;
	worker_fn	 fn;
	worker_fn	 done;
	void		*arg;
};
TAILQ_HEAD(worker_jobs, worker_job);

struct worker {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct worker_jobs todo;
	struct worker_jobs finished;
	struct event	*finished_ev;
	pthread_t	*threads;
	int		 nthreads;
	size_t		 busy;		/* queued or running; loop only */
	int		 stop;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct worker_job *job;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (TAILQ_EMPTY(&w->todo) && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if ((job = TAILQ_FIRST(&w->todo)) == NULL)
			break;		/* stopping, and nothing left */
		TAILQ_REMOVE(&w->todo, job, entry);
		pthread_mutex_unlock(&w->lock);

		job->fn(job->arg);

		pthread_mutex_lock(&w->lock);
		if (TAILQ_EMPTY(&w->finished))
			event_active(w->finished_ev, EV_READ, 0);
		TAILQ_INSERT_TAIL(&w->finished, job, entry);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* On the loop: run the done functions of finished jobs. */
static void
worker_finished(evutil_socket_t fd, short events, void *arg)
{
	struct worker *w = arg;
	struct worker_jobs jobs;
	struct worker_job *job;

	TAILQ_INIT(&jobs);
	pthread_mutex_lock(&w->lock);
	TAILQ_CONCAT(&jobs, &w->finished, entry);
	pthread_mutex_unlock(&w->lock);

	while ((job = TAILQ_FIRST(&jobs)) != NULL) {
		TAILQ_REMOVE(&jobs, job, entry);
		w->busy--;
		if (job->done != NULL)
			job->done(job->arg);
		free(job);
	}
}

struct worker *
worker_new(struct event_base *base, int threads)
{
	struct worker *w = xcalloc(1, sizeof(*w));
	int i;

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	TAILQ_INIT(&w->todo);
	TAILQ_INIT(&w->finished);
	w->finished_ev = event_new(base, -1, 0, worker_finished, w);
	w->threads = xcalloc(threads, sizeof(*w->threads));
	for (i = 0; i < threads; i++) {
		if ((errno = pthread_create(&w->threads[i], NULL, worker_main,
		    w)) != 0)
			fatal("worker_new: pthread_create");
		w->nthreads++;
	}
	return w;
}

void
worker_run(struct worker *w, worker_fn fn, worker_fn done, void *arg)
{
	struct worker_job *job = xcalloc(1, sizeof(*job));

	job->fn = fn;
	job->done = done;
	job->arg = arg;
	w->busy++;
	pthread_mutex_lock(&w->lock);
	TAILQ_INSERT_TAIL(&w->todo, job, entry);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

size_t
worker_busy(struct worker *w)
{
	return w->busy;
}

void
worker_free(struct worker **wp)
{
	struct worker *w = *wp;
	int i;

	*wp = NULL;
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	/* The threads are gone: finish what they handed back. */
	worker_finished(-1, 0, w);
	event_free(w->finished_ev);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->threads);
	free(w);
}
