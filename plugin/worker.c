/* janus.plugin.calls - the worker thread.
 *
 * Jobs travel as idle sources attached to the worker's GMainContext, so they
 * run in the order they were posted, interleaved with timers. A synchronous
 * job carries a small rendezvous (mutex, condition, done flag) on the caller's
 * stack; the caller blocks until the worker marks it done. Stopping sets a
 * flag under the same lock that posting takes, so no job can be attached
 * after the loop has been asked to quit; what was attached before still runs.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "worker.h"

struct calls_worker {
	GMainContext *context;
	GMainLoop *loop;
	GThread *thread;
	GMutex lock;
	gboolean stopping;
	calls_job_fn after;        /* the end of every job and timer callback */
	gpointer after_data;
};

/* A timer callback, followed by the end-of-operation hook. */
typedef struct timer {
	calls_worker *worker;
	GSourceFunc fn;
	gpointer data;
	GDestroyNotify gone;
} timer;

typedef struct job {
	calls_worker *worker;
	calls_job_fn fn;
	gpointer data;
	GDestroyNotify destroy;
	/* synchronous jobs only */
	GMutex *lock;
	GCond *cond;
	gboolean *done;
} job;

static gpointer worker_main(gpointer data) {
	calls_worker *w = data;
	g_main_context_push_thread_default(w->context);
	g_main_loop_run(w->loop);
	/* Drain what was posted before the stop */
	while(g_main_context_iteration(w->context, FALSE))
		;
	g_main_context_pop_thread_default(w->context);
	return NULL;
}

calls_worker *calls_worker_start(const char *name, GError **error) {
	calls_worker *w = g_new0(calls_worker, 1);
	g_mutex_init(&w->lock);
	w->context = g_main_context_new();
	w->loop = g_main_loop_new(w->context, FALSE);
	w->thread = g_thread_try_new(name, worker_main, w, error);
	if(w->thread == NULL) {
		g_main_loop_unref(w->loop);
		g_main_context_unref(w->context);
		g_mutex_clear(&w->lock);
		g_free(w);
		return NULL;
	}
	return w;
}

static gboolean quit_loop(gpointer data) {
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

void calls_worker_stop(calls_worker *w) {
	if(w == NULL)
		return;
	g_mutex_lock(&w->lock);
	w->stopping = TRUE;
	GSource *src = g_idle_source_new();
	g_source_set_priority(src, G_PRIORITY_LOW);
	g_source_set_callback(src, quit_loop, w->loop, NULL);
	g_source_attach(src, w->context);
	g_source_unref(src);
	g_mutex_unlock(&w->lock);
	g_thread_join(w->thread);
	g_main_loop_unref(w->loop);
	g_main_context_unref(w->context);
	g_mutex_clear(&w->lock);
	g_free(w);
}

static void end_of_operation(calls_worker *w) {
	if(w->after != NULL)
		w->after(w->after_data);
}

static gboolean run_job(gpointer data) {
	job *j = data;
	j->fn(j->data);
	end_of_operation(j->worker);
	if(j->done != NULL) {
		/* A synchronous job lives on the waiting caller's stack: once the
		 * caller is woken up, `j` must not be touched again */
		GMutex *lock = j->lock;
		g_mutex_lock(lock);
		*j->done = TRUE;
		g_cond_signal(j->cond);
		g_mutex_unlock(lock);
	}
	return G_SOURCE_REMOVE;
}

/* Destroy notify of asynchronous jobs only. */
static void free_job(gpointer data) {
	job *j = data;
	if(j->destroy != NULL)
		j->destroy(j->data);
	g_free(j);
}

static gboolean attach(calls_worker *w, job *j) {
	g_mutex_lock(&w->lock);
	gboolean ok = !w->stopping;
	if(ok) {
		GSource *src = g_idle_source_new();
		g_source_set_priority(src, G_PRIORITY_DEFAULT);
		g_source_set_callback(src, run_job, j, j->done == NULL ? free_job : NULL);
		g_source_attach(src, w->context);
		g_source_unref(src);
	}
	g_mutex_unlock(&w->lock);
	return ok;
}

gboolean calls_worker_post(calls_worker *w, calls_job_fn fn, gpointer data, GDestroyNotify destroy) {
	job *j = g_new0(job, 1);
	j->worker = w;
	j->fn = fn;
	j->data = data;
	j->destroy = destroy;
	if(attach(w, j))
		return TRUE;
	free_job(j);
	return FALSE;
}

gboolean calls_worker_run(calls_worker *w, calls_job_fn fn, gpointer data) {
	if(calls_worker_is_current(w)) {
		fn(data);
		return TRUE;
	}
	GMutex lock;
	GCond cond;
	gboolean done = FALSE;
	g_mutex_init(&lock);
	g_cond_init(&cond);
	job j = { .worker = w, .fn = fn, .data = data, .lock = &lock, .cond = &cond, .done = &done };
	gboolean ok = attach(w, &j);
	if(ok) {
		g_mutex_lock(&lock);
		while(!done)
			g_cond_wait(&cond, &lock);
		g_mutex_unlock(&lock);
	}
	g_cond_clear(&cond);
	g_mutex_clear(&lock);
	return ok;
}

static gboolean run_timer(gpointer data) {
	timer *t = data;
	gboolean again = t->fn(t->data);
	end_of_operation(t->worker);
	return again;
}

void calls_worker_set_after(calls_worker *w, calls_job_fn fn, gpointer data) {
	w->after = fn;
	w->after_data = data;
}

static void timer_free(gpointer data) {
	timer *t = data;
	if(t->gone != NULL)
		t->gone(t->data);
	g_free(t);
}

guint calls_worker_timer_add_full(calls_worker *w, guint ms, GSourceFunc fn, gpointer data, GDestroyNotify gone) {
	timer *t = g_new0(timer, 1);
	t->worker = w;
	t->fn = fn;
	t->data = data;
	t->gone = gone;
	GSource *src = g_timeout_source_new(ms);
	/* `gone` hears of the end of the timer, whichever way it ends (it fired
	 * for the last time, or it was removed) */
	g_source_set_callback(src, run_timer, t, timer_free);
	guint id = g_source_attach(src, w->context);
	g_source_unref(src);
	return id;
}

guint calls_worker_timer_add(calls_worker *w, guint ms, GSourceFunc fn, gpointer data) {
	return calls_worker_timer_add_full(w, ms, fn, data, NULL);
}

void calls_worker_timer_remove(calls_worker *w, guint id) {
	GSource *src = g_main_context_find_source_by_id(w->context, id);
	if(src != NULL)
		g_source_destroy(src);
}

gboolean calls_worker_is_current(calls_worker *w) {
	return g_main_context_is_owner(w->context);
}
