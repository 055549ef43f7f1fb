#!/usr/bin/env node
/* janus.plugin.calls - headless Chromium participants for the integration tests.
 *
 *   node participant.js        (run by tests/integration/test_media_browser.py, inside
 *                               run.sh's network namespace, next to the Janus under test)
 *
 * Serves page.html/page.js on 127.0.0.1 (a secure context, so getUserMedia works),
 * launches Debian's Chromium (never a downloaded one) with fake camera and microphone,
 * then obeys JSON lines on stdin and answers with JSON lines on stdout:
 *
 *   {"id": 1, "op": "open", "page": "carol"}                       -> {"id": 1, "ok": true}
 *   {"id": 2, "op": "call", "page": "carol", "fn": "publish", "args": [{...}]}
 *                                                                   -> {"id": 2, "ok": true, "result": ...}
 *   {"id": 3, "op": "screenshot", "page": "carol", "path": "/tmp/x.png"}
 *   {"id": 4, "op": "close"}                                       -> closes everything, exits 0
 *
 * A failure answers {"id", "ok": false, "error"}. What a page reports on its console
 * ("EVENT {...}") and its errors come out as {"page", "event": {...}}. It exits by
 * itself when stdin closes or after MAX_LIFETIME_S (default 300) seconds.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const MAX_LIFETIME_S = Number(process.env.MAX_LIFETIME_S || 300);
const CALL_TIMEOUT_MS = 60000;
const FILES = { '/page.html': 'text/html', '/page.js': 'text/javascript' };

const write = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

function serve() {
	const server = http.createServer((req, res) => {
		const type = FILES[req.url];
		if(!type) {
			res.writeHead(404);
			res.end();
			return;
		}
		res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
		res.end(fs.readFileSync(path.join(__dirname, req.url)));
	});
	return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function withTimeout(promise, ms, what) {
	let timer;
	return Promise.race([
		promise.finally(() => clearTimeout(timer)),
		new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what + ': no answer within ' + ms + ' ms')), ms); }),
	]);
}

async function main() {
	const server = await serve();
	const base = 'http://127.0.0.1:' + server.address().port;
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
			'--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
			'--autoplay-policy=no-user-gesture-required'],
	});
	const context = await browser.newContext();
	const pages = new Map();
	let closing = false;

	async function shutdown(code) {
		if(closing)
			return;
		closing = true;
		for(const page of pages.values()) {
			try {
				await withTimeout(page.evaluate(() => window.api.stop()), 5000, 'stop');
			} catch(e) {
				/* the page may be broken: closing the browser is enough */
			}
		}
		await withTimeout(browser.close(), 10000, 'browser.close').catch(() => {});
		server.close();
		process.exit(code);
	}

	setTimeout(() => {
		write({ event: { kind: 'lifetime', data: 'exiting after ' + MAX_LIFETIME_S + ' s' } });
		shutdown(3);
	}, MAX_LIFETIME_S * 1000).unref();

	async function run(cmd) {
		switch(cmd.op) {
			case 'open': {
				const page = await context.newPage();
				page.on('console', (msg) => {
					const text = msg.text();
					if(text.startsWith('EVENT '))
						write({ page: cmd.page, event: JSON.parse(text.slice(6)) });
				});
				page.on('pageerror', (err) => write({ page: cmd.page, event: { kind: 'pageerror', data: String(err) } }));
				await page.goto(base + '/page.html');
				await page.waitForFunction(() => window.api !== undefined, null, { timeout: 10000 });
				pages.set(cmd.page, page);
				return true;
			}
			case 'call': {
				const page = pages.get(cmd.page);
				if(!page)
					throw new Error('no page ' + cmd.page);
				return page.evaluate(([fn, args]) => window.api[fn](...args), [cmd.fn, cmd.args || []]);
			}
			case 'screenshot':
				await pages.get(cmd.page).screenshot({ path: cmd.path });
				return true;
			case 'close':
				setImmediate(() => shutdown(0));
				return true;
			default:
				throw new Error('unknown op ' + cmd.op);
		}
	}

	const lines = readline.createInterface({ input: process.stdin });
	lines.on('line', async (line) => {
		let cmd;
		try {
			cmd = JSON.parse(line);
		} catch(e) {
			write({ id: null, ok: false, error: 'not JSON: ' + line.slice(0, 100) });
			return;
		}
		try {
			const result = await withTimeout(run(cmd), cmd.timeout_ms || CALL_TIMEOUT_MS, cmd.op + ' ' + (cmd.fn || ''));
			write({ id: cmd.id, ok: true, result: result === undefined ? null : result });
		} catch(e) {
			write({ id: cmd.id, ok: false, error: String(e && e.message || e) });
		}
	});
	lines.on('close', () => shutdown(0));
	write({ event: { kind: 'started', data: { chromium: browser.version() } } });
}

main().catch((e) => {
	write({ event: { kind: 'fatal', data: String(e && e.stack || e) } });
	process.exit(2);
});
