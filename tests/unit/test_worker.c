/*
 * test_worker.c: jobs run on the worker threads and their done functions
 * on the loop, in the loop's thread; worker_free waits for queued jobs.
 */

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define JOBS	200

struct job {
	pthread_t	 loop_thread;
	int		 ran_off_loop;
	int		 done_on_loop;
	int		*finished;
};

static void
job_run(void *arg)
{
	struct job *j = arg;

	j->ran_off_loop = !pthread_equal(pthread_self(), j->loop_thread);
	usleep(100);
}

static void
job_done(void *arg)
{
	struct job *j = arg;

	j->done_on_loop = pthread_equal(pthread_self(), j->loop_thread);
	(*j->finished)++;
}

static void
test_jobs(void **state)
{
	struct event_base *base = test_base();
	struct worker *w = worker_new(base, 2);
	struct job jobs[JOBS];
	int finished = 0, all = 0, i;

	for (i = 0; i < JOBS; i++) {
		jobs[i].loop_thread = pthread_self();
		jobs[i].finished = &finished;
		worker_run(w, job_run, job_done, &jobs[i]);
	}
	assert_int_equal(worker_busy(w), JOBS);
	for (i = 0; i < 500 && finished < JOBS; i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
	}
	all = finished == JOBS;
	assert_true(all);
	assert_int_equal(worker_busy(w), 0);
	for (i = 0; i < JOBS; i++) {
		assert_true(jobs[i].ran_off_loop);
		assert_true(jobs[i].done_on_loop);
	}
	worker_free(&w);
	assert_null(w);
	event_base_free(base);
}

/* Freed with work queued: the jobs still run, and their done too. */
static void
test_free_waits(void **state)
{
	struct event_base *base = test_base();
	struct worker *w = worker_new(base, 1);
	struct job jobs[20];
	int finished = 0, i;

	for (i = 0; i < 20; i++) {
		jobs[i].loop_thread = pthread_self();
		jobs[i].finished = &finished;
		worker_run(w, job_run, job_done, &jobs[i]);
	}
	worker_free(&w);
	assert_int_equal(finished, 20);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs),
		cmocka_unit_test(test_free_waits),
	};

	log_init(1, 0, "test_worker");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
