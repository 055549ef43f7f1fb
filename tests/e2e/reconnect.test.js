/* tests/e2e/reconnect.test.js - a page whose Janus session is gone comes back.
 *
 * Janus here keeps no session after its WebSocket closes
 * (reclaim_session_timeout = 0), so a page that loses its WebSocket cannot
 * reclaim the session: calls.js opens a new one, registers again and,
 * within the plugin's reconnect grace, publishes and subscribes again.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

let demo = null;
let browser = null;

before(async () => {
	demo = await h.startDemo({ reclaim: 0, reconnectGrace: 20, rtpRange: '41000-41999' });
	browser = await h.launchBrowser();
});

after(async () => {
	if (browser)
		await browser.close();
	if (demo)
		await demo.stop();
});

test('lost WebSocket and session: a new session rejoins the same call', async () => {
	const x = await h.join(browser, demo.url, 'Olga');
	const y = await h.join(browser, demo.url, 'Pablo');
	try {
		await h.pick(x, [y.userId]);
		await x.page.click('#btn-video-call');
		await y.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
		await y.page.click('#btn-answer');
		await h.banner(x, 'connected', /Connected/);
		await h.videoPlaying(x, y.userId);
		await h.videoPlaying(y, x.userId);
		const callId = await h.currentCallId(y);
		const session = await y.page.evaluate(() => window.demoCalls._janus.getSessionId());

		/* Pablo's WebSocket drops; Janus destroys his session at once */
		await y.page.evaluate(() => window.__sockets.filter((s) => s.readyState === WebSocket.OPEN).forEach((s) => s.close()));
		await y.page.waitForFunction(() => /reconnecting/.test(document.getElementById('toasts').textContent), null, { timeout: 5000 });
		await y.page.waitForFunction(() => document.getElementById('conn-state').dataset.state === 'connected', null, { timeout: 20000 });
		const fresh = await y.page.evaluate(() => window.demoCalls._janus.getSessionId());
		assert.notEqual(fresh, session, 'a new Janus session');
		assert.equal(await h.currentCallId(y), callId, 'Pablo is back in the same call');

		/* Both see each other again; the call never stopped */
		await h.videoPlaying(y, x.userId, 25000);
		await h.videoPlaying(x, y.userId, 25000);
		await h.banner(x, 'connected', /Connected/);
		await h.banner(y, 'connected', /Connected/);
		const state = await x.page.evaluate(() => window.demoCalls.getCallState());
		assert.equal(state.status, 'CONNECTED');
		assert.equal(state.participants.find((p) => p.userId === 'pablo').status, 'JOINED');

		await y.page.click('#btn-leave');
		await h.banner(x, 'ended', /Call ended/);
		const row = await h.historyShows(x, callId, 'ENDED');
		assert.ok(row.duration > 0);
	} finally {
		await h.leave(x, y);
	}
});
