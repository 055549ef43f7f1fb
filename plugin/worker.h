/* janus.plugin.calls - the worker thread.
 *
 * One thread with its own GMainContext owns all call state. Janus callbacks
 * post jobs to it (calls_worker_post) or, for the synchronous answers of
 * routes, post and wait (calls_worker_run); timers run on the same context.
 * After calls_worker_stop() the worker runs what was already posted and
 * refuses new jobs.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#ifndef CALLS_WORKER_H
#define CALLS_WORKER_H

#include <glib.h>

typedef struct calls_worker calls_worker;

/* A job: runs once on the worker thread. */
typedef void (*calls_job_fn)(gpointer data);

calls_worker *calls_worker_start(const char *name, GError **error);
/* Quit after running what is queued; join the thread; free. */
void calls_worker_stop(calls_worker *w);

/* Run `fn(data)` on the worker later. Returns FALSE (and calls `destroy(data)`
 * at once, if given) when the worker is stopping. `destroy` runs after `fn`. */
gboolean calls_worker_post(calls_worker *w, calls_job_fn fn, gpointer data, GDestroyNotify destroy);
/* Run `fn(data)` on the worker and wait for it (inline when called from the
 * worker itself). Returns FALSE without running it when the worker is stopping. */
gboolean calls_worker_run(calls_worker *w, calls_job_fn fn, gpointer data);

/* A timer on the worker's context: `fn` returns G_SOURCE_REMOVE to stop or
 * G_SOURCE_CONTINUE to run again `ms` later. */
guint calls_worker_timer_add(calls_worker *w, guint ms, GSourceFunc fn, gpointer data);
/* The same; `gone(data)` runs when the timer ends, whether it fired for the
 * last time or was removed. */
guint calls_worker_timer_add_full(calls_worker *w, guint ms, GSourceFunc fn, gpointer data, GDestroyNotify gone);
/* `fn(data)` runs on the worker at the end of every job and every timer
 * callback: the end of one operation (set once, before any job). */
void calls_worker_set_after(calls_worker *w, calls_job_fn fn, gpointer data);
void calls_worker_timer_remove(calls_worker *w, guint id);
gboolean calls_worker_is_current(calls_worker *w);

#endif
