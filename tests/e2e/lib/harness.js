/* tests/e2e/lib/harness.js - what the browser tests of the demo page stand on.
 *
 * startDemo() runs scripts/demo.sh in its test mode (private ports, a short
 * ring timeout, ICE on the namespace's `va` interface only, iceServers: []
 * in the page config, a history database of its own) and waits for its
 * DEMO_READY line. launchBrowser() starts Debian's Chromium through
 * playwright-core with fake camera, microphone and screen, and join() opens
 * one participant: a browser context of its own, the page, signed in by
 * typing a name and clicking "Sign in" as a person would.
 *
 * The demo's work folder (config, web root, janus.log, the history database)
 * is removed when it stops; E2E_KEEP=1 keeps it and prints where it is.
 *
 * Must run inside the network namespace made by tests/e2e/run.sh: Janus never
 * gathers candidates on loopback, and outside the namespace it would use the
 * machine's real interfaces.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const REPO = path.resolve(__dirname, '../../..');
const ARTIFACTS = path.join(REPO, 'tests', 'artifacts', 'e2e');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ICE_INTERFACE = 'va';

/* Chromium for WebRTC tests: fake camera and microphone, no permission
 * prompts, nothing that talks to the outside world (no QUIC, background
 * networking, component updates or sync). */
const CHROMIUM_ARGS = [
	'--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync',
	'--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

function pluginSo() {
	return process.env.CALLS_PLUGIN_SO || path.join(REPO, 'build', '.libs', 'libjanus_calls.so');
}

/**
 * Janus + the page, through scripts/demo.sh. Resolves with
 * {url, workdir, logPath, stop()}.
 */
async function startDemo(options = {}) {
	if (!fs.existsSync(`/sys/class/net/${ICE_INTERFACE}`))
		throw new Error(`no network interface '${ICE_INTERFACE}': run the browser tests through tests/e2e/run.sh`);
	const so = pluginSo();
	if (!fs.existsSync(so))
		throw new Error(`the plugin ${so} does not exist: build it, or set CALLS_PLUGIN_SO`);
	const [httpPort, wsPort] = [await freePort(), await freePort()];
	const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'calls-e2e-'));
	const env = Object.assign({}, process.env, {
		CALLS_PLUGIN_SO: so,
		DEMO_HTTP_PORT: String(httpPort),
		DEMO_WS_PORT: String(wsPort),
		DEMO_RING_TIMEOUT: String(options.ringTimeout || 6),
		DEMO_CONNECT_TIMEOUT: String(options.connectTimeout || 20),
		DEMO_RECONNECT_GRACE: String(options.reconnectGrace || 15),
		DEMO_RECLAIM: String(options.reclaim === undefined ? 20 : options.reclaim),
		DEMO_ICE_IFACE: ICE_INTERFACE,
		DEMO_RTP_RANGE: options.rtpRange || '40000-40999',
		DEMO_ICE_SERVERS: '[]',
		DEMO_DEBUG: options.debug || process.env.E2E_DEBUG ? 'true' : 'false',
		DEMO_WORKDIR: workdir,
		DEMO_DATA_DIR: path.join(workdir, 'data'),
		DEMO_TIMEOUT: String(options.maxSeconds || 900),
	});
	const child = spawn(path.join(REPO, 'scripts', 'demo.sh'), [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	const url = await new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`demo.sh did not get ready within 60 s:\n${output}`)), 60000);
		const onData = (chunk) => {
			output += chunk;
			const m = /DEMO_READY (\S+)/.exec(output);
			if (m) {
				clearTimeout(timer);
				resolve(m[1].replace('localhost', '127.0.0.1'));
			}
		};
		child.stdout.on('data', onData);
		child.stderr.on('data', (chunk) => { output += chunk; });
		child.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`demo.sh exited with code ${code} before it was ready:\n${output}`));
		});
	});
	const logPath = path.join(workdir, 'janus.log');
	return {
		url,
		workdir,
		logPath,
		output: () => output,
		async stop() {
			if (child.exitCode !== null || child.signalCode !== null)
				return child.exitCode;
			const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code === null ? signal : code)));
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
			const code = await exited;
			clearTimeout(timer);
			if (process.env.E2E_KEEP)
				console.log(`# kept ${workdir} (janus.log, config, web root)`);
			else
				fs.rmSync(workdir, { recursive: true, force: true });
			return code;
		},
	};
}

/** Debian's Chromium, headless, with fake devices. playwright-core's launch()
 * gives it a fresh temporary --user-data-dir each time. */
function launchBrowser() {
	return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/* Keeps every WebSocket the page opens, so a test can cut one (reconnect). */
function recordSockets() {
	const Original = window.WebSocket;
	window.__sockets = [];
	window.WebSocket = class extends Original {
		constructor(...args) {
			super(...args);
			window.__sockets.push(this);
		}
	};
}

/**
 * One person: a browser context, the page, signed in with `name`.
 * Resolves with {name, userId, context, page, logs}.
 */
async function join(browser, url, name, options = {}) {
	const context = await browser.newContext({
		viewport: options.viewport || { width: 1280, height: 800 },
		deviceScaleFactor: 1,
		isMobile: !!options.isMobile,
		hasTouch: !!options.isMobile,
	});
	await context.grantPermissions(['camera', 'microphone', 'notifications'], { origin: new URL(url).origin });
	const page = await context.newPage();
	const logs = [];
	page.on('console', (msg) => logs.push(`[${msg.type()}] ${msg.text()}`));
	page.on('pageerror', (err) => logs.push(`[pageerror] ${err.message}`));
	await page.addInitScript(recordSockets);
	if (options.initScript)
		await page.addInitScript(options.initScript);
	await page.goto(url + (options.query || ''));
	await page.fill('#signin-name', name);
	await page.click('#btn-signin');
	await page.locator('#app').waitFor({ state: 'visible', timeout: 15000 });
	const userId = await page.evaluate(() => window.demoApp.me.userId);
	return { name, userId, context, page, logs };
}

/** Sign out (the page destroys its Janus session), then close the context.
 * Fails if a page threw an uncaught exception at any time. */
async function leave(...people) {
	const errors = [];
	for (const p of people.flat()) {
		if (!p)
			continue;
		if (process.env.E2E_LOGS)
			fs.writeFileSync(path.join(ARTIFACTS, `console-${p.userId || p.name}.log`), p.logs.join('\n') + '\n');
		try {
			await p.page.evaluate(() => window.demoApp.signOut());
		} catch (err) {
			/* the page may already be gone */
		}
		await p.context.close().catch(() => {});
		for (const line of p.logs) {
			if (line.startsWith('[pageerror]'))
				errors.push(`${p.name}: ${line}`);
		}
	}
	if (errors.length)
		throw new Error(`uncaught errors on the pages:\n${errors.join('\n')}`);
}

function screenshotPath(name) {
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	return path.join(ARTIFACTS, `${name}.png`);
}

async function screenshot(person, name) {
	/* let toasts and animations settle a little; a screenshot is for looking at */
	await person.page.waitForTimeout(300);
	const file = screenshotPath(name);
	await person.page.screenshot({ path: file });
	return file;
}

/** Wait until the person sees `userIds` online (the presence list). */
async function waitOnline(person, userIds, timeout = 15000) {
	await person.page.waitForFunction((ids) =>
		ids.every((id) => document.querySelector(`#online-list li[data-user-id="${id}"]`)), userIds, { timeout });
}

/** Tick people in the online list. */
async function pick(person, userIds) {
	await waitOnline(person, userIds);
	for (const id of userIds)
		await person.page.check(`#online-list li[data-user-id="${id}"] input`);
}

/** Wait for the status banner: its kind (ringing, connected, ended, missed,
 * busy, ...) and, if given, its text. Resolves with the banner's text. */
async function banner(person, kind, text, timeout = 20000) {
	try {
		await person.page.waitForFunction(([k, source, flags]) => {
			const b = document.getElementById('banner');
			if (!b || b.dataset.kind !== k)
				return false;
			return !source || new RegExp(source, flags).test(b.textContent);
		}, [kind, text ? text.source : null, text ? text.flags : ''], { timeout });
	} catch (err) {
		const now = await person.page.evaluate(() => `${document.getElementById('banner').dataset.kind}: ${document.getElementById('banner').textContent.replace(/\s+/g, ' ')}`);
		throw new Error(`${person.name}: banner "${kind}"${text ? ` ${text}` : ''} not seen within ${timeout} ms; it shows "${now}"\n${person.logs.slice(-15).join('\n')}`);
	}
	return person.page.textContent('#banner');
}

/** What a tile's video shows: size and frame counters. */
function videoState(person, userId) {
	return person.page.evaluate((id) => {
		const tile = document.querySelector(`#grid .tile[data-user-id="${id}"]`);
		if (!tile)
			return null;
		const v = tile.querySelector('video');
		const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : { totalVideoFrames: 0 };
		return {
			state: tile.dataset.state,
			width: v.videoWidth, height: v.videoHeight,
			frames: q.totalVideoFrames,
			framesDecoded: Number(tile.dataset.framesDecoded || 0),
			paused: v.paused,
			visible: getComputedStyle(tile.querySelector('.placeholder')).display === 'none',
		};
	}, userId);
}

/** Wait until `person` sees `userId`'s video playing: a size, frames
 * presented and decoded, both still rising a moment later. */
async function videoPlaying(person, userId, timeout = 20000) {
	const deadline = Date.now() + timeout;
	let first = null, last = null;
	while (Date.now() < deadline) {
		last = await videoState(person, userId);
		if (last && last.width > 0 && last.frames > 0 && last.framesDecoded > 0 && !last.paused && last.visible) {
			if (first && last.frames > first.frames && last.framesDecoded > first.framesDecoded)
				return last;
			if (!first)
				first = last;
		} else {
			first = null;
		}
		await person.page.waitForTimeout(700);
	}
	throw new Error(`${person.name} does not see ${userId}'s video playing within ${timeout} ms: first ${JSON.stringify(first)}, last ${JSON.stringify(last)}\n${person.logs.slice(-20).join('\n')}`);
}

/** The first rows of the history panel, as the person sees it. */
async function historyRows(person) {
	await person.page.click('#tab-history');
	await person.page.locator('#history-panel').waitFor({ state: 'visible' });
	return person.page.$$eval('#history-list .hist-row', (rows) => rows.map((r) => ({
		callId: r.dataset.callId,
		status: r.dataset.status,
		type: r.dataset.type,
		duration: Number(r.dataset.duration),
		badge: r.querySelector('.badge').textContent,
		who: r.querySelector('.hist-who').textContent,
		shownDuration: r.querySelector('.hist-dur').textContent,
	})));
}

/** Wait until the first history row is the call `callId` with `status`. */
async function historyShows(person, callId, status, timeout = 10000) {
	const deadline = Date.now() + timeout;
	let rows = [];
	while (Date.now() < deadline) {
		rows = await historyRows(person);
		const row = rows.find((r) => r.callId === callId);
		if (row && row.status === status)
			return row;
		await person.page.evaluate(() => window.demoApp.loadHistory(1));
		await person.page.waitForTimeout(500);
	}
	throw new Error(`${person.name}: call ${callId} with status ${status} not in the history: ${JSON.stringify(rows)}`);
}

/** Wait until the newest call in the history has `status`; resolves with its row. */
async function historyFirst(person, status, timeout = 10000) {
	const deadline = Date.now() + timeout;
	let rows = [];
	while (Date.now() < deadline) {
		rows = await historyRows(person);
		if (rows.length && rows[0].status === status)
			return rows[0];
		await person.page.evaluate(() => window.demoApp.loadHistory(1));
		await person.page.waitForTimeout(500);
	}
	throw new Error(`${person.name}: the newest call in the history is not ${status}: ${JSON.stringify(rows.slice(0, 3))}`);
}

async function currentCallId(person) {
	return person.page.evaluate(() => window.demoCalls && window.demoCalls.currentCallId);
}

module.exports = {
	REPO, ARTIFACTS, startDemo, launchBrowser, join, leave, screenshot, screenshotPath,
	waitOnline, pick, banner, videoState, videoPlaying, historyRows, historyShows, historyFirst, currentCallId,
};
