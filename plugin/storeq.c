/* janus.plugin.calls - the store thread (see storeq.h for the design).
 *
 * One GAsyncQueue of jobs: batches from the worker, sync jobs (reads, backup)
 * from other threads, and the stop. The thread pops what is there, queues the
 * writes of consecutive batches in the store (which keeps one latest state
 * per call), writes them in one transaction, then dispatches those batches'
 * items. A sync job first completes the batches before it, so it reads what
 * they wrote. Completion is published as the highest sequence number done,
 * under `lock`, with a condition that waiters sleep on.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "storeq.h"

#define MAX_GROUP 1024           /* jobs taken in one go */
#define ERROR_REPEAT_USEC (30 * G_USEC_PER_SEC)   /* a failure that lasts is logged again this often */

typedef enum { JOB_BATCH, JOB_SYNC, JOB_STOP } job_kind;

typedef struct write_item {
	json_t *call;
	gboolean live;
	gint64 now_usec;
} write_item;

struct calls_storeq_batch {
	GArray *writes;      /* write_item */
	GPtrArray *items;
	guint64 seq;
};

typedef struct job {
	job_kind kind;
	calls_storeq_batch *batch;       /* JOB_BATCH */
	calls_storeq_fn fn;              /* JOB_SYNC */
	gpointer data;
	gboolean done;
} job;

struct calls_storeq {
	calls_store *store;              /* the thread's */
	calls_storeq_settings set;
	GAsyncQueue *queue;
	GThread *thread;
	GMutex lock;                     /* guards what follows, and the submit order */
	GCond cond;
	guint64 submitted, done;
	gboolean healthy;
	char *error;                     /* the last failure, while not healthy */
	volatile guint queued;           /* batches not yet taken by the thread */
	volatile guint held;             /* calls the store holds after failed writes */
	/* the thread's own */
	gint64 next_retry, next_touch, last_error_log;
};

static gint64 mono(void) {
	return g_get_monotonic_time();
}

static void say(calls_storeq *q, int level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void say(calls_storeq *q, int level, const char *fmt, ...) {
	if(q->set.log == NULL)
		return;
	va_list args;
	va_start(args, fmt);
	char *line = g_strdup_vprintf(fmt, args);
	va_end(args);
	q->set.log(q->set.ctx, level, line);
	g_free(line);
}

static gint64 wall(calls_storeq *q) {
	return q->set.now ? q->set.now() : g_get_real_time();
}

/* ---- Batches ------------------------------------------------------------------------------ */

calls_storeq_batch *calls_storeq_batch_new(void) {
	calls_storeq_batch *b = g_new0(calls_storeq_batch, 1);
	b->writes = g_array_new(FALSE, FALSE, sizeof(write_item));
	b->items = g_ptr_array_new();
	return b;
}

gboolean calls_storeq_batch_empty(const calls_storeq_batch *b) {
	return b == NULL || (b->writes->len == 0 && b->items->len == 0);
}

void calls_storeq_batch_write(calls_storeq_batch *b, json_t *call, gboolean live, gint64 now_usec) {
	write_item w = { json_incref(call), live, now_usec };
	g_array_append_val(b->writes, w);
}

void calls_storeq_batch_item(calls_storeq_batch *b, gpointer item) {
	g_ptr_array_add(b->items, item);
}

static void batch_free(calls_storeq_batch *b, void (*free_item)(gpointer)) {
	if(b == NULL)
		return;
	for(guint i = 0; i < b->writes->len; i++)
		json_decref(g_array_index(b->writes, write_item, i).call);
	g_array_free(b->writes, TRUE);
	for(guint i = 0; free_item != NULL && i < b->items->len; i++)
		free_item(g_ptr_array_index(b->items, i));
	g_ptr_array_free(b->items, TRUE);
	g_free(b);
}

void calls_storeq_batch_free(calls_storeq_batch *b) {
	/* Items are the caller's until submitted: it frees them */
	batch_free(b, NULL);
}

/* ---- Writing --------------------------------------------------------------------------------- */

static void set_health(calls_storeq *q, gboolean healthy, const char *error) {
	g_mutex_lock(&q->lock);
	q->healthy = healthy;
	g_free(q->error);
	q->error = g_strdup(error);
	g_mutex_unlock(&q->lock);
}

static gboolean is_healthy(calls_storeq *q) {
	g_mutex_lock(&q->lock);
	gboolean ok = q->healthy;
	g_mutex_unlock(&q->lock);
	return ok;
}

/* Write what the store holds, unless a retry is not due yet. */
static void write_held(calls_storeq *q, gboolean force) {
	guint n = calls_store_queued(q->store);
	gboolean healthy = is_healthy(q);
	if(n == 0) {
		/* (a read may have written what was held: it flushes first) */
		if(!healthy) {
			say(q, 2, "the call history database works again: everything held in memory is written; "
				"new calls are accepted");
			set_health(q, TRUE, NULL);
		}
		g_atomic_int_set(&q->held, 0);
		return;
	}
	if(!healthy && !force && mono() < q->next_retry) {
		g_atomic_int_set(&q->held, n);
		return;
	}
	GError *error = NULL;
	if(calls_store_flush(q->store, &error)) {
		if(!healthy)
			say(q, 2, "the call history database works again: wrote the %u call(s) held in memory; new calls are accepted", n);
		set_health(q, TRUE, NULL);
	} else {
		const char *why = error ? error->message : "unknown error";
		gint64 now = mono();
		if(healthy || now - q->last_error_log >= ERROR_REPEAT_USEC) {
			say(q, 0, "cannot write the call history: %s; %u call(s) held in memory and retried every %u ms; "
				"new calls are refused (UNAVAILABLE) until it works; a crash now would lose them",
				why, n, q->set.retry_ms);
			q->last_error_log = now;
		}
		set_health(q, FALSE, why);
		q->next_retry = now + (gint64)q->set.retry_ms * 1000;
		g_clear_error(&error);
	}
	g_atomic_int_set(&q->held, calls_store_queued(q->store));
}

/* The batches' writes are queued in the store: write them, then hand their items on. */
static void complete(calls_storeq *q, GPtrArray *batches) {
	if(batches->len == 0)
		return;
	write_held(q, FALSE);
	guint64 last = 0;
	for(guint i = 0; i < batches->len; i++) {
		calls_storeq_batch *b = g_ptr_array_index(batches, i);
		for(guint k = 0; k < b->items->len; k++) {
			gpointer item = g_ptr_array_index(b->items, k);
			q->set.dispatch(q->set.ctx, q->store, item);
			if(q->set.free_item != NULL)
				q->set.free_item(item);
		}
		g_ptr_array_set_size(b->items, 0);
		last = b->seq;
		batch_free(b, NULL);
	}
	g_ptr_array_set_size(batches, 0);
	g_mutex_lock(&q->lock);
	q->done = last;
	g_cond_broadcast(&q->cond);
	g_mutex_unlock(&q->lock);
}

static void take_writes(calls_storeq *q, calls_storeq_batch *b) {
	for(guint i = 0; i < b->writes->len; i++) {
		write_item *w = &g_array_index(b->writes, write_item, i);
		GError *error = NULL;
		if(!calls_store_queue(q->store, w->call, w->live, w->now_usec, &error)) {
			say(q, 0, "a call was not stored (a bug: please report it): %s", error ? error->message : "?");
			g_clear_error(&error);
		}
	}
}

static void touch_live(calls_storeq *q) {
	GError *error = NULL;
	write_held(q, FALSE);
	if(is_healthy(q) && !calls_store_touch_live(q->store, wall(q), &error)) {
		say(q, 1, "could not mark the live calls as seen: %s", error ? error->message : "?");
		g_clear_error(&error);
	}
}

/* ---- The thread ----------------------------------------------------------------------------- */

static gboolean run_group(calls_storeq *q, GPtrArray *group) {
	gboolean stop = FALSE;
	GPtrArray *batches = g_ptr_array_new();
	for(guint i = 0; i < group->len; i++) {
		job *j = g_ptr_array_index(group, i);
		if(j->kind == JOB_BATCH) {
			g_atomic_int_add(&q->queued, -1);
			take_writes(q, j->batch);
			g_ptr_array_add(batches, j->batch);
			g_free(j);
			continue;
		}
		complete(q, batches);
		if(j->kind == JOB_STOP) {
			stop = TRUE;
			g_free(j);
			continue;
		}
		j->fn(q->store, j->data);
		g_mutex_lock(&q->lock);
		j->done = TRUE;     /* the waiter owns `j` from here on */
		g_cond_broadcast(&q->cond);
		g_mutex_unlock(&q->lock);
	}
	complete(q, batches);
	g_ptr_array_free(batches, TRUE);
	return !stop;
}

static gpointer storeq_main(gpointer data) {
	calls_storeq *q = data;
	q->next_touch = q->set.touch_ms ? mono() + (gint64)q->set.touch_ms * 1000 : G_MAXINT64;
	GPtrArray *group = g_ptr_array_new();
	gboolean running = TRUE;
	while(running) {
		gint64 now = mono();
		gint64 wake = q->next_touch;
		if((g_atomic_int_get(&q->held) > 0 || !is_healthy(q)) && q->next_retry < wake)
			wake = q->next_retry;
		gint64 wait = CLAMP(wake - now, 1, (gint64)3600 * G_USEC_PER_SEC);
		job *j = g_async_queue_timeout_pop(q->queue, (guint64)wait);
		if(j == NULL) {
			now = mono();
			if(now >= q->next_touch) {
				touch_live(q);
				q->next_touch = now + (gint64)q->set.touch_ms * 1000;
			} else {
				write_held(q, FALSE);
			}
			continue;
		}
		g_ptr_array_add(group, j);
		while(group->len < MAX_GROUP && j->kind != JOB_STOP && (j = g_async_queue_try_pop(q->queue)) != NULL)
			g_ptr_array_add(group, j);
		running = run_group(q, group);
		g_ptr_array_set_size(group, 0);
	}
	g_ptr_array_free(group, TRUE);
	return NULL;
}

calls_storeq *calls_storeq_start(calls_store *store, const calls_storeq_settings *settings, GError **error) {
	g_return_val_if_fail(store != NULL && settings != NULL && settings->dispatch != NULL, NULL);
	calls_storeq *q = g_new0(calls_storeq, 1);
	q->store = store;
	q->set = *settings;
	if(q->set.retry_ms == 0)
		q->set.retry_ms = 1000;
	if(q->set.queue_limit == 0)
		q->set.queue_limit = 10000;
	q->queue = g_async_queue_new();
	g_mutex_init(&q->lock);
	g_cond_init(&q->cond);
	q->healthy = TRUE;
	q->thread = g_thread_try_new("calls store", storeq_main, q, error);
	if(q->thread == NULL) {
		g_async_queue_unref(q->queue);
		g_mutex_clear(&q->lock);
		g_cond_clear(&q->cond);
		g_free(q);
		return NULL;
	}
	return q;
}

void calls_storeq_stop(calls_storeq *q) {
	if(q == NULL)
		return;
	job *j = g_new0(job, 1);
	j->kind = JOB_STOP;
	g_async_queue_push(q->queue, j);
	g_thread_join(q->thread);
	/* A last try for what failed before */
	write_held(q, TRUE);
	if(calls_store_queued(q->store) > 0)
		say(q, 0, "stopping with %u call(s) that could not be written to the history: they are lost",
			calls_store_queued(q->store));
	calls_store_close(q->store);
	g_async_queue_unref(q->queue);
	g_mutex_clear(&q->lock);
	g_cond_clear(&q->cond);
	g_free(q->error);
	g_free(q);
}

guint64 calls_storeq_submit(calls_storeq *q, calls_storeq_batch *b) {
	if(calls_storeq_batch_empty(b)) {
		calls_storeq_batch_free(b);
		return calls_storeq_last(q);
	}
	job *j = g_new0(job, 1);
	j->kind = JOB_BATCH;
	j->batch = b;
	g_atomic_int_inc(&q->queued);
	g_mutex_lock(&q->lock);
	b->seq = ++q->submitted;
	guint64 seq = b->seq;
	g_async_queue_push(q->queue, j);
	g_mutex_unlock(&q->lock);
	return seq;
}

guint64 calls_storeq_last(calls_storeq *q) {
	g_mutex_lock(&q->lock);
	guint64 seq = q->submitted;
	g_mutex_unlock(&q->lock);
	return seq;
}

void calls_storeq_wait(calls_storeq *q, guint64 seq) {
	g_mutex_lock(&q->lock);
	while(q->done < seq)
		g_cond_wait(&q->cond, &q->lock);
	g_mutex_unlock(&q->lock);
}

void calls_storeq_run(calls_storeq *q, calls_storeq_fn fn, gpointer data) {
	job j = { .kind = JOB_SYNC, .fn = fn, .data = data };
	g_async_queue_push(q->queue, &j);
	g_mutex_lock(&q->lock);
	while(!j.done)
		g_cond_wait(&q->cond, &q->lock);
	g_mutex_unlock(&q->lock);
}

gboolean calls_storeq_healthy(calls_storeq *q, char **why) {
	if(why != NULL)
		*why = NULL;
	guint queued = g_atomic_int_get(&q->queued);
	g_mutex_lock(&q->lock);
	gboolean ok = q->healthy;
	if(!ok && why != NULL)
		*why = g_strdup(q->error);
	g_mutex_unlock(&q->lock);
	if(ok && queued > q->set.queue_limit) {
		ok = FALSE;
		if(why != NULL)
			*why = g_strdup_printf("%u changes wait to be written (the database is too slow)", queued);
	}
	return ok;
}

guint calls_storeq_queued(calls_storeq *q) {
	return g_atomic_int_get(&q->queued);
}

guint calls_storeq_held(calls_storeq *q) {
	return g_atomic_int_get(&q->held);
}
