/* tests/e2e/calls.test.js - the demo page in real browsers, as people use it.
 *
 * One Janus (through scripts/demo.sh, ring timeout 6 s) and one Chromium for
 * the whole file; each person is a browser context of their own with a fake
 * camera, microphone and screen. Every check is something a person would look
 * at: the ringing dialog, the banner, the tiles and their indicators, videos
 * that play, the history list. Screenshots of the key moments go to
 * tests/artifacts/e2e/.
 *
 * Run through tests/e2e/run.sh (a network namespace is required).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const RING_TIMEOUT = 15;   // s: long enough for the three-people test to answer after its screenshots on a loaded machine
let demo = null;
let browser = null;

before(async () => {
	demo = await h.startDemo({ ringTimeout: RING_TIMEOUT });
	browser = await h.launchBrowser();
});

after(async () => {
	if (browser)
		await browser.close();
	if (demo) {
		const code = await demo.stop();
		assert.equal(code, 143, `demo.sh should stop cleanly on SIGTERM (exit 143), got ${code}:\n${demo.output()}`);
	}
});

/* The tile of `userId` on `person`'s page. */
const tile = (person, userId) => person.page.locator(`#grid .tile[data-user-id="${userId}"]`);

async function indicatorVisible(person, userId, which, timeout = 10000) {
	await tile(person, userId).locator(`.ind-${which}`).waitFor({ state: 'visible', timeout });
}

test('three people: ring, answer, decline, add back, see each other, mute, share the screen, leave, history', async () => {
	const a = await h.join(browser, demo.url, 'Alice');
	const b = await h.join(browser, demo.url, 'Bob');
	const c = await h.join(browser, demo.url, 'Carol');
	try {
		/* Alice picks Bob and Carol and starts a video call */
		await h.pick(a, [b.userId, c.userId]);
		await a.page.click('#btn-video-call');

		/* Both ring: the dialog names Alice and the kind of call */
		for (const callee of [b, c]) {
			await callee.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
			assert.equal((await callee.page.textContent('#inc-title')).trim(), 'Alice');
			assert.match(await callee.page.textContent('#inc-sub'), /Incoming video call/);
		}
		assert.match(await b.page.textContent('#inc-sub'), /with Carol/);
		await h.banner(a, 'ringing', /Calling Bob and Carol/);
		/* Alice's tiles: herself, Bob and Carol ringing */
		await tile(a, b.userId).and(a.page.locator('[data-state="ringing"]')).waitFor();
		await h.screenshot(a, 'ringing-caller');
		await h.screenshot(b, 'ringing-callee');
		const callId = await h.currentCallId(a);
		assert.ok(callId, 'Alice has a current call');

		/* Bob answers from the dialog; Carol declines */
		await b.page.click('#btn-answer');
		await c.page.click('#btn-decline');
		await c.page.locator('#incoming-dialog').waitFor({ state: 'hidden' });
		await h.banner(a, 'connected', /Connected/);
		const connectedAt = Date.now();
		await h.banner(b, 'connected', /Connected/);
		await tile(a, c.userId).waitFor({ state: 'detached', timeout: 10000 });
		assert.equal(await h.currentCallId(c), null, 'Carol is not in the call after declining');

		/* Alice adds Carol back; Carol answers this time */
		await a.page.click('#btn-add');
		await a.page.locator('#add-dialog').waitFor({ state: 'visible' });
		await a.page.check(`#add-list li[data-user-id="${c.userId}"] input`);
		await a.page.click('#add-confirm');
		await c.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
		assert.equal((await c.page.textContent('#inc-title')).trim(), 'Alice');
		await c.page.click('#btn-answer');
		await h.banner(c, 'connected', /Connected/);

		/* Everybody sees the other two */
		const people = [a, b, c];
		for (const viewer of people) {
			for (const other of people) {
				if (other !== viewer)
					await h.videoPlaying(viewer, other.userId);
			}
		}
		for (const p of people)
			await h.screenshot(p, `grid-${p.userId}`);

		/* Alice mutes: Bob and Carol see it on her tile */
		await a.page.click('#btn-mute');
		await a.page.waitForFunction(() => document.getElementById('btn-mute').getAttribute('aria-pressed') === 'true'
			&& /Unmute/.test(document.getElementById('btn-mute').textContent));
		await indicatorVisible(b, a.userId, 'muted');
		await indicatorVisible(c, a.userId, 'muted');
		await h.screenshot(b, 'grid-muted-alice-bob-sees');
		assert.equal(await tile(b, c.userId).locator('.ind-muted').isVisible(), false, 'Carol is not muted');

		/* Bob shares his screen: his tile changes on the others' pages */
		const cameraView = await h.videoState(a, b.userId);
		assert.ok(cameraView.width > 0 && cameraView.width / cameraView.height < 1.5,
			`Bob's camera is 4:3 before sharing: ${JSON.stringify(cameraView)}`);
		await b.page.click('#btn-screen');
		for (const viewer of [a, c]) {
			await indicatorVisible(viewer, b.userId, 'screen');
			await viewer.page.waitForFunction((id) => {
				const v = document.querySelector(`#grid .tile[data-user-id="${id}"] video`);
				return v && v.videoHeight > 0 && Math.abs(v.videoWidth / v.videoHeight - 16 / 9) < 0.05;
			}, b.userId, { timeout: 15000 });
			await h.videoPlaying(viewer, b.userId);
		}
		const screenView = await h.videoState(a, b.userId);
		assert.notEqual(`${screenView.width}x${screenView.height}`, `${cameraView.width}x${cameraView.height}`);
		await h.screenshot(a, 'screen-share-alice-sees-bob');

		/* Bob stops sharing: back to his camera */
		await b.page.click('#btn-screen');
		await tile(a, b.userId).locator('.ind-screen').waitFor({ state: 'hidden', timeout: 10000 });
		await a.page.waitForFunction((id) => {
			const v = document.querySelector(`#grid .tile[data-user-id="${id}"] video`);
			return v && v.videoHeight > 0 && v.videoWidth / v.videoHeight < 1.5;
		}, b.userId, { timeout: 15000 });

		/* Alice leaves; Bob and Carol stay connected */
		await a.page.click('#btn-leave');
		await h.banner(a, 'ended', /You left the call/);
		for (const [viewer, other] of [[b, c], [c, b]]) {
			await tile(viewer, a.userId).waitFor({ state: 'detached', timeout: 10000 });
			await h.banner(viewer, 'connected', /Connected/);
			await h.videoPlaying(viewer, other.userId);
		}

		/* Bob hangs up: the call ends for Carol too */
		const byeAt = Date.now();
		await b.page.click('#btn-leave');
		await h.banner(c, 'ended', /Call ended/);
		const endSeen = Date.now();
		await h.screenshot(c, 'ended-carol');

		/* In everybody's history: ENDED, with the duration it lasted */
		const low = Math.floor((byeAt - connectedAt) / 1000) - 1;
		const high = Math.ceil((endSeen - connectedAt) / 1000) + 2;
		for (const p of people) {
			const row = await h.historyShows(p, callId, 'ENDED');
			assert.equal(row.badge, 'Ended');
			assert.equal(row.type, 'VIDEO');
			assert.ok(row.duration >= low && row.duration <= high, `${p.name}: duration ${row.duration} s, expected ${low}..${high}`);
			assert.match(row.shownDuration, /^\d+:\d\d$/);
		}
		await h.screenshot(a, 'ended-history-alice');
	} finally {
		await h.leave(a, b, c);
	}
});

test('missed call: nobody answers within the ring timeout', async () => {
	const d = await h.join(browser, demo.url, 'Dave');
	const e = await h.join(browser, demo.url, 'Erin');
	try {
		await h.pick(d, [e.userId]);
		await d.page.click('#btn-audio-call');
		await e.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
		assert.match(await e.page.textContent('#inc-sub'), /Incoming audio call/);
		const callId = await h.currentCallId(d);
		await h.banner(d, 'ringing', /Calling Erin/);
		/* The ring timeout passes: Dave is told nobody answered, Erin that she missed it */
		const missedText = await h.banner(d, 'missed', /No answer from Erin/, (RING_TIMEOUT + 10) * 1000);
		/* ... and for how long it rang: the server's ring timeout */
		const rang = Number((/it rang for (\d+) s/.exec(missedText) || [])[1]);
		assert.ok(rang >= RING_TIMEOUT - 1 && rang <= RING_TIMEOUT + 3, `the banner says it rang ${rang} s (ring timeout ${RING_TIMEOUT} s): ${missedText}`);
		await e.page.locator('#incoming-dialog').waitFor({ state: 'hidden', timeout: 5000 });
		await h.banner(e, 'missed', /Missed audio call from Dave/);
		assert.equal(await e.page.evaluate(() => document.getElementById('ring-audio').paused), true, 'the ring stopped');
		await h.screenshot(d, 'missed-caller');
		await h.screenshot(e, 'missed-callee');
		for (const p of [d, e]) {
			const row = await h.historyShows(p, callId, 'MISSED');
			assert.equal(row.badge, 'Missed');
			assert.equal(row.type, 'AUDIO');
			assert.equal(row.duration, 0);
		}
		await h.screenshot(e, 'missed-history-erin');
	} finally {
		await h.leave(d, e);
	}
});

test('busy: the person called is in another call', async () => {
	const f = await h.join(browser, demo.url, 'Frank');
	const g = await h.join(browser, demo.url, 'Grace');
	const k = await h.join(browser, demo.url, 'Heidi');
	try {
		/* Grace and Heidi talk */
		await h.pick(g, [k.userId]);
		await g.page.click('#btn-audio-call');
		await k.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
		await k.page.click('#btn-answer');
		await h.banner(g, 'connected', /Connected/);
		/* Frank sees Grace is in a call, and calls her anyway */
		await f.page.waitForFunction((id) => {
			const li = document.querySelector(`#online-list li[data-user-id="${id}"]`);
			return li && /in a call/.test(li.textContent);
		}, g.userId, { timeout: 10000 });
		await h.pick(f, [g.userId]);
		await f.page.click('#btn-video-call');
		await h.banner(f, 'busy', /Grace is busy in another call/);
		await h.screenshot(f, 'busy-caller');
		const row = await h.historyFirst(f, 'BUSY');
		assert.equal(row.badge, 'Busy');
		/* Grace was not disturbed: still connected, told somebody tried */
		await h.banner(g, 'connected', /Connected/);
		await g.page.waitForFunction(() => /Frank called while you were busy/.test(document.getElementById('toasts').textContent), null, { timeout: 10000 });
		await h.screenshot(g, 'busy-callee');
		const gRow = await h.historyShows(g, row.callId, 'BUSY');
		assert.match(gRow.who, /Frank/);
		await g.page.click('#btn-leave');
		await h.banner(k, 'ended', /Call ended/);
	} finally {
		await h.leave(f, g, k);
	}
});

test('phone-width screen: the call and the lists fit', async () => {
	const phone = { width: 390, height: 844 };
	const i = await h.join(browser, demo.url, 'Ivan', { viewport: phone, isMobile: true });
	const j = await h.join(browser, demo.url, 'Judy');
	try {
		await h.waitOnline(i, [j.userId]);
		await h.screenshot(i, 'phone-idle');
		await h.pick(i, [j.userId]);
		await i.page.click('#btn-video-call');
		await j.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
		await j.page.click('#btn-answer');
		await h.banner(i, 'connected', /Connected/);
		await h.videoPlaying(i, j.userId);
		await h.videoPlaying(j, i.userId);
		const overflow = await i.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px on a phone`);
		/* The call controls are on screen */
		for (const id of ['#btn-mute', '#btn-camera', '#btn-screen', '#btn-leave']) {
			const box = await i.page.locator(id).boundingBox();
			assert.ok(box && box.x >= 0 && box.x + box.width <= phone.width && box.y + box.height <= phone.height,
				`${id} is off screen: ${JSON.stringify(box)}`);
		}
		await h.screenshot(i, 'phone-call');
		/* A call rings on the phone */
		await i.page.click('#btn-leave');
		await h.pick(j, [i.userId]);
		await j.page.click('#btn-audio-call');
		await i.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
		const dialog = await i.page.locator('#incoming-dialog').boundingBox();
		assert.ok(dialog.x >= 0 && dialog.x + dialog.width <= phone.width, `the ringing dialog does not fit: ${JSON.stringify(dialog)}`);
		await h.screenshot(i, 'phone-ringing');
		await i.page.click('#btn-decline');
		await h.banner(j, 'declined', /Ivan declined the call/);
	} finally {
		await h.leave(i, j);
	}
});

/* A 1:1 video call between two new people, both seeing each other. */
async function twoInACall(nameA, nameB) {
	const x = await h.join(browser, demo.url, nameA);
	const y = await h.join(browser, demo.url, nameB);
	await h.pick(x, [y.userId]);
	await x.page.click('#btn-video-call');
	await y.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
	await y.page.click('#btn-answer');
	await h.banner(x, 'connected', /Connected/);
	await h.videoPlaying(x, y.userId);
	await h.videoPlaying(y, x.userId);
	return [x, y];
}

/* The ICE username fragments the page's two PeerConnections got from Janus. */
function remoteUfrags(person) {
	return person.page.evaluate(() => {
		const ufrag = (handle) => {
			const pc = handle && handle.webrtcStuff && handle.webrtcStuff.pc;
			const m = pc && pc.remoteDescription && /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription.sdp);
			return m ? m[1] : null;
		};
		return { pub: ufrag(window.demoCalls._pub), sub: ufrag(window.demoCalls._sub) };
	});
}

test('ICE restart: both connections get new ICE credentials and the media goes on', async () => {
	const [x, y] = await twoInACall('Kim', 'Lee');
	try {
		const before = await remoteUfrags(x);
		assert.ok(before.pub && before.sub, `both PeerConnections have a remote description: ${JSON.stringify(before)}`);
		await x.page.evaluate(() => window.demoCalls.restartIce());
		await x.page.waitForFunction((old) => {
			const ufrag = (handle) => {
				const pc = handle.webrtcStuff.pc;
				const m = pc && pc.remoteDescription && /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription.sdp);
				return m ? m[1] : null;
			};
			const now = { pub: ufrag(window.demoCalls._pub), sub: ufrag(window.demoCalls._sub) };
			return now.pub && now.sub && now.pub !== old.pub && now.sub !== old.sub;
		}, before, { timeout: 15000 });
		await x.page.waitForFunction(() => ['connected', 'completed'].includes(window.demoCalls._pub.webrtcStuff.pc.iceConnectionState)
			&& ['connected', 'completed'].includes(window.demoCalls._sub.webrtcStuff.pc.iceConnectionState), null, { timeout: 15000 });
		await h.videoPlaying(x, y.userId);
		await h.videoPlaying(y, x.userId);
		await h.banner(x, 'connected', /Connected/);
	} finally {
		await h.leave(x, y);
	}
});

test('lost WebSocket: the page reclaims its Janus session and the call goes on', async () => {
	const [x, y] = await twoInACall('Mia', 'Noah');
	try {
		const callId = await h.currentCallId(x);
		const session = await x.page.evaluate(() => window.demoCalls._janus.getSessionId());
		/* The network drops the page's WebSocket */
		await x.page.evaluate(() => window.__sockets.filter((s) => s.readyState === WebSocket.OPEN).forEach((s) => s.close()));
		await x.page.waitForFunction(() => /reconnecting/.test(document.getElementById('toasts').textContent), null, { timeout: 5000 });
		await x.page.waitForFunction(() => document.getElementById('conn-state').dataset.state === 'connected'
			&& window.__sockets.some((s) => s.readyState === WebSocket.OPEN), null, { timeout: 20000 });
		assert.equal(await x.page.evaluate(() => window.demoCalls._janus.getSessionId()), session, 'the same Janus session');
		assert.equal(await h.currentCallId(x), callId);
		await h.banner(x, 'connected', /Connected/);
		await h.videoPlaying(x, y.userId);
		await h.videoPlaying(y, x.userId);
		/* Signaling works again: Mia mutes, Noah sees it */
		await x.page.click('#btn-mute');
		await indicatorVisible(y, x.userId, 'muted');
		await x.page.click('#btn-leave');
		await h.banner(y, 'ended', /Call ended/);
	} finally {
		await h.leave(x, y);
	}
});

test('history: filters by type and status, and pages', async () => {
	const q = await h.join(browser, demo.url, 'Quinn', { query: '?historyPageSize=2' });
	const r = await h.join(browser, demo.url, 'Rita');
	try {
		/* Three audio calls Rita declines, then a video call she takes */
		for (let n = 0; n < 3; n++) {
			await h.pick(q, [r.userId]);
			await q.page.click('#btn-audio-call');
			await r.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
			await r.page.click('#btn-decline');
			await h.banner(q, 'declined', /Rita declined the call/);
		}
		await h.pick(q, [r.userId]);
		await q.page.click('#btn-video-call');
		await r.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
		await r.page.click('#btn-answer');
		await h.banner(q, 'connected', /Connected/, 20000);
		await q.page.click('#btn-leave');
		await h.banner(r, 'ended', /Call ended/);
		await h.historyFirst(q, 'ENDED');

		/* Two per page: 4 calls, 2 pages, newest first (polled: a page in the
		 * background may run no animation frames to re-check on) */
		const shown = () => q.page.$$eval('#history-list .hist-row', (rows) => rows.map((x) => `${x.dataset.type}/${x.dataset.status}`));
		const pageText = () => q.page.textContent('#hist-page');
		await q.page.waitForFunction(() => /Page 1 of 2 · 4 calls/.test(document.getElementById('hist-page').textContent), null, { polling: 100 });
		assert.deepEqual(await shown(), ['VIDEO/ENDED', 'AUDIO/DECLINED']);
		assert.equal(await q.page.isDisabled('#hist-prev'), true);
		await q.page.click('#hist-next');
		await q.page.waitForFunction(() => /Page 2 of 2/.test(document.getElementById('hist-page').textContent), null, { polling: 100 });
		assert.deepEqual(await shown(), ['AUDIO/DECLINED', 'AUDIO/DECLINED']);
		assert.equal(await q.page.isDisabled('#hist-next'), true);
		await h.screenshot(q, 'history-page-2');

		/* Filters */
		await q.page.selectOption('#filter-status', 'DECLINED');
		await q.page.waitForFunction(() => /Page 1 of 2 · 3 calls/.test(document.getElementById('hist-page').textContent), null, { polling: 100 });
		assert.deepEqual(await shown(), ['AUDIO/DECLINED', 'AUDIO/DECLINED']);
		await q.page.selectOption('#filter-status', '');
		await q.page.selectOption('#filter-type', 'VIDEO');
		await q.page.waitForFunction(() => /Page 1 of 1 · 1 call$/.test(document.getElementById('hist-page').textContent), null, { polling: 100 });
		assert.deepEqual(await shown(), ['VIDEO/ENDED']);
		await q.page.selectOption('#filter-status', 'MISSED');
		await q.page.waitForFunction(() => /0 calls/.test(document.getElementById('hist-page').textContent));
		assert.deepEqual(await shown(), []);
		assert.equal(await q.page.isVisible('#history-empty'), true, 'an empty result says so');
		assert.match(await pageText(), /Page 1 of 1/);
	} finally {
		await h.leave(q, r);
	}
});

/* In the page: a camera that cannot be started (another application holds it). */
function brokenCamera() {
	const md = navigator.mediaDevices;
	const original = md.getUserMedia.bind(md);
	md.getUserMedia = (constraints) => (constraints && constraints.video
		? Promise.reject(new DOMException('Could not start video source', 'NotReadableError'))
		: original(constraints));
}

test('a camera that fails: the video call goes on with audio only, and the screen can still be shared', async () => {
	const s = await h.join(browser, demo.url, 'Sam', { initScript: brokenCamera });
	const t = await h.join(browser, demo.url, 'Tess');
	try {
		await h.pick(s, [t.userId]);
		await s.page.click('#btn-video-call');
		await s.page.waitForFunction(() => /Camera unavailable/.test(document.getElementById('toasts').textContent), null, { timeout: 10000 });
		await t.page.locator('#incoming-dialog').waitFor({ state: 'visible', timeout: 10000 });
		await t.page.click('#btn-answer');
		await h.banner(t, 'connected', /Connected/);
		/* Tess sees Sam without video: the camera-off indicator, his avatar; Sam sees Tess */
		await indicatorVisible(t, s.userId, 'camoff');
		await tile(t, s.userId).and(t.page.locator('[data-state="camoff"]')).waitFor();
		await h.videoPlaying(s, t.userId);
		assert.equal(await s.page.isDisabled('#btn-camera'), true, 'no camera to turn on');
		await h.screenshot(t, 'audio-fallback-tess-sees-sam');
		/* Sam shares his screen: a video m-line is added, Tess sees it */
		await s.page.click('#btn-screen');
		await indicatorVisible(t, s.userId, 'screen');
		await h.videoPlaying(t, s.userId);
		const v = await h.videoState(t, s.userId);
		assert.ok(Math.abs(v.width / v.height - 16 / 9) < 0.05, `Tess sees Sam's screen (16:9): ${JSON.stringify(v)}`);
		await t.page.locator(`#grid .tile[data-user-id="${s.userId}"] .ind-camoff`).waitFor({ state: 'hidden' });
		await s.page.click('#btn-leave');
		await h.banner(t, 'ended', /Call ended/);
	} finally {
		await h.leave(s, t);
	}
});
