/* janus.plugin.calls - ordered pushes per handle on a thread pool (see pusher.h).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "pusher.h"

typedef struct push_item {
	char *transaction;
	json_t *event;
	json_t *jsep;
} push_item;

struct calls_pusher {
	calls_pusher_settings set;
	GThreadPool *pool;
	volatile gint pending;
	volatile gint stopping;
};

static void item_free(push_item *it) {
	g_free(it->transaction);
	json_decref(it->event);
	if(it->jsep != NULL)
		json_decref(it->jsep);
	g_free(it);
}

void calls_outbox_init(calls_outbox *o) {
	g_mutex_init(&o->lock);
	g_cond_init(&o->sent);
	g_queue_init(&o->items);
	o->draining = FALSE;
	o->posted = o->done = 0;
}

guint64 calls_outbox_posted(calls_outbox *o) {
	g_mutex_lock(&o->lock);
	guint64 n = o->posted;
	g_mutex_unlock(&o->lock);
	return n;
}

void calls_outbox_wait(calls_outbox *o, guint64 n) {
	g_mutex_lock(&o->lock);
	while(o->done < n)
		g_cond_wait(&o->sent, &o->lock);
	g_mutex_unlock(&o->lock);
}

void calls_outbox_clear(calls_outbox *o) {
	g_mutex_lock(&o->lock);
	push_item *it;
	while((it = g_queue_pop_head(&o->items)) != NULL)
		item_free(it);
	g_mutex_unlock(&o->lock);
	g_mutex_clear(&o->lock);
	g_cond_clear(&o->sent);
}

/* A pool thread: push everything in the connection's outbox, then let go of it. */
static void drain(gpointer conn, gpointer data) {
	calls_pusher *p = data;
	calls_outbox *o = p->set.outbox(conn);
	for(;;) {
		g_mutex_lock(&o->lock);
		push_item *it = g_queue_pop_head(&o->items);
		if(it == NULL)
			o->draining = FALSE;
		g_mutex_unlock(&o->lock);
		if(it == NULL)
			break;
		if(!g_atomic_int_get(&p->stopping))
			p->set.push(p->set.ctx, conn, it->transaction, it->event, it->jsep);
		item_free(it);
		g_atomic_int_add(&p->pending, -1);
		g_mutex_lock(&o->lock);
		o->done++;
		g_cond_broadcast(&o->sent);
		g_mutex_unlock(&o->lock);
	}
	p->set.unref(conn);
}

calls_pusher *calls_pusher_new(const calls_pusher_settings *settings, GError **error) {
	calls_pusher *p = g_new0(calls_pusher, 1);
	p->set = *settings;
	if(p->set.threads == 0)
		p->set.threads = 16;
	/* Not exclusive: threads come when pushes wait and go when idle */
	p->pool = g_thread_pool_new(drain, p, (gint)p->set.threads, FALSE, error);
	if(p->pool == NULL) {
		g_free(p);
		return NULL;
	}
	return p;
}

void calls_pusher_free(calls_pusher *p) {
	if(p == NULL)
		return;
	g_atomic_int_set(&p->stopping, 1);
	/* Runs what was scheduled (each drain only drops its items now), then returns */
	g_thread_pool_free(p->pool, FALSE, TRUE);
	g_free(p);
}

void calls_pusher_post(calls_pusher *p, gpointer conn, const char *transaction, json_t *event, json_t *jsep) {
	if(conn == NULL || event == NULL)
		return;
	push_item *it = g_new0(push_item, 1);
	it->transaction = g_strdup(transaction);
	it->event = json_incref(event);
	it->jsep = jsep ? json_incref(jsep) : NULL;
	g_atomic_int_inc(&p->pending);
	calls_outbox *o = p->set.outbox(conn);
	g_mutex_lock(&o->lock);
	g_queue_push_tail(&o->items, it);
	o->posted++;
	gboolean schedule = !o->draining;
	o->draining = TRUE;
	g_mutex_unlock(&o->lock);
	if(schedule) {
		p->set.ref(conn);
		g_thread_pool_push(p->pool, conn, NULL);
	}
}

guint calls_pusher_pending(calls_pusher *p) {
	return (guint)g_atomic_int_get(&p->pending);
}
