/*
 * jobs.c: named periodic jobs in the daemon's loop, as SynFU's cron jobs
 * were ("job NAME SCHEDULE" in syncd.conf, crontab(5)-like schedules).
 *
 * Whoever can do a job registers it with a default schedule (jobs_add);
 * the configuration may change the schedule or turn the job off.  Each
 * job has its own timer for its next run; "syncctl run-job NAME" runs one
 * now.  A job runs on the loop, so it must be short; one that waits on a
 * peer reports later through jobs_done.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "syncd.h"

struct job {
	struct jobs	*jobs;
	char		*name;
	char		*default_schedule;
	char		*schedule;	/* in force: "off" or a cron spec */
	struct cron	 cron;
	job_fn		 fn;
	void		*arg;
	struct event	*timer;
	time_t		 last;		/* last start, or 0 */
	time_t		 next;		/* next run, or 0 when off */
	int		 running;
	int		 failed;
	char		*result;
	long long	 runs;
};

struct jobs {
	struct event_base *base;
	struct job	**v;
	size_t		 n;
};

static void	jobs_schedule(struct job *);

static void
jobs_fire(evutil_socket_t fd, short events, void *arg)
{
	struct job *j = arg;
	char *result = NULL;

	(void)fd;
	(void)events;
	if (!j->running)
		jobs_start(j->jobs, j->name, &result);
	free(result);
	jobs_schedule(j);
}

/* Set the timer for the job's next run. */
static void
jobs_schedule(struct job *j)
{
	struct timeval tv;
	time_t now = time(NULL);

	j->next = 0;
	evtimer_del(j->timer);
	if (strcmp(j->schedule, "off") == 0)
		return;
	if ((j->next = cron_next(&j->cron, now)) == (time_t)-1) {
		j->next = 0;
		return;
	}
	tv.tv_sec = j->next - now;
	tv.tv_usec = 0;
	evtimer_add(j->timer, &tv);
}

struct jobs *
jobs_new(struct event_base *base)
{
	struct jobs *js = xcalloc(1, sizeof(*js));

	js->base = base;
	return js;
}

void
jobs_add(struct jobs *js, const char *name, const char *schedule, job_fn fn,
    void *arg)
{
	struct job *j = xcalloc(1, sizeof(*j));
	char *err;

	j->jobs = js;
	j->name = xstrdup(name);
	j->default_schedule = xstrdup(schedule);
	j->schedule = xstrdup(schedule);
	if (cron_parse(schedule, &j->cron, &err) == -1)
		fatalx("jobs_add: %s: %s", name, err);
	j->fn = fn;
	j->arg = arg;
	j->timer = evtimer_new(js->base, jobs_fire, j);
	js->v = xreallocarray(js->v, js->n + 1, sizeof(*js->v));
	js->v[js->n++] = j;
	jobs_schedule(j);
}

void
jobs_set_conf(struct jobs *js, const struct conf *conf)
{
	const char *want;
	struct cron c;
	char *err;
	size_t i, k;

	for (i = 0; i < js->n; i++) {
		struct job *j = js->v[i];

		want = j->default_schedule;
		for (k = 0; k < conf->njobs; k++)
			if (strcmp(conf->jobs[k].name, j->name) == 0)
				want = conf->jobs[k].schedule;
		if (strcmp(want, j->schedule) == 0)
			continue;
		/* The configuration checked it; "off" has no cron. */
		if (strcmp(want, "off") != 0) {
			if (cron_parse(want, &c, &err) == -1) {
				log_warnx("event=job name=%s error=%s",
				    j->name, log_q(err));
				free(err);
				continue;
			}
			j->cron = c;
		}
		free(j->schedule);
		j->schedule = xstrdup(want);
		log_info("event=job name=%s schedule=%s", j->name,
		    log_q(j->schedule));
		jobs_schedule(j);
	}
}

static struct job *
jobs_find(struct jobs *js, const char *name)
{
	size_t i;

	for (i = 0; i < js->n; i++)
		if (strcmp(js->v[i]->name, name) == 0)
			return js->v[i];
	return NULL;
}

int
jobs_start(struct jobs *js, const char *name, char **result_r)
{
	struct job *j = jobs_find(js, name);
	char *result = NULL;
	int rc;

	*result_r = NULL;
	if (j == NULL) {
		*result_r = xasprintf("no job %s", name);
		return -1;
	}
	if (j->running) {
		*result_r = xasprintf("job %s is running", name);
		return -1;
	}
	j->running = 1;
	j->last = time(NULL);
	j->runs++;
	log_info("event=job name=%s result=started", name);
	rc = j->fn(j->arg, &result);
	if (rc == JOB_LATER) {
		free(result);
		*result_r = xstrdup("started");
		return 0;
	}
	jobs_done(js, name, rc == 0, result);
	*result_r = xstrdup(result != NULL ? result : "done");
	free(result);
	return rc == 0 ? 0 : -1;
}

void
jobs_done(struct jobs *js, const char *name, int ok, const char *result)
{
	struct job *j = jobs_find(js, name);

	if (j == NULL)
		return;
	j->running = 0;
	j->failed = !ok;
	free(j->result);
	j->result = xstrdup(result != NULL ? result : ok ? "done" : "failed");
	log_info("event=job name=%s result=%s detail=%s", name, ok ? "ok" :
	    "failed", log_q(j->result));
}

/* A time for the list: "2026-11-29 07:00" or "-". */
static void
jobs_time(char *buf, size_t size, time_t t)
{
	struct tm tm;

	if (t == 0) {
		snprintf(buf, size, "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

void
jobs_list(struct jobs *js, struct evbuffer *out, int json)
{
	char last[32], next[32];
	size_t i;

	if (json)
		evbuffer_add(out, "[", 1);
	for (i = 0; i < js->n; i++) {
		struct job *j = js->v[i];
		const char *state = j->running ? "running" : j->runs == 0 ?
		    "never" : j->failed ? "failed" : "ok";

		if (json) {
			evbuffer_add_printf(out, "%s{\"name\":\"%s\","
			    "\"schedule\":\"%s\",\"last\":%lld,\"next\":%lld,"
			    "\"state\":\"%s\",\"runs\":%lld,\"result\":",
			    i > 0 ? "," : "", j->name, j->schedule,
			    (long long)j->last, (long long)j->next, state,
			    j->runs);
			control_json_str(out, j->result);
			evbuffer_add(out, "}", 1);
			continue;
		}
		jobs_time(last, sizeof(last), j->last);
		jobs_time(next, sizeof(next), j->next);
		evbuffer_add_printf(out, "%-13s %-16s last %-16s next %-16s"
		    " %s%s%s\n", j->name, j->schedule, last, next, state,
		    j->result != NULL ? ": " : "", j->result != NULL ?
		    j->result : "");
	}
	if (json)
		evbuffer_add(out, "]\n", 2);
}

void
jobs_free(struct jobs **jsp)
{
	struct jobs *js = *jsp;
	size_t i;

	if (js == NULL)
		return;
	for (i = 0; i < js->n; i++) {
		struct job *j = js->v[i];

		event_free(j->timer);
		free(j->name);
		free(j->default_schedule);
		free(j->schedule);
		free(j->result);
		free(j);
	}
	free(js->v);
	free(js);
	*jsp = NULL;
}
