/* demo.js - the logic of the demo page (index.html), on top of calls.js.
 *
 * One DemoApp drives everything: sign-in, the list of people online (polled:
 * GET /users/online), placing and taking calls, the ringing dialog (sound,
 * browser notification), the participant grid with mute/camera/screen
 * indicators and a live quality plot per participant, the status banner and
 * call duration, adding people mid-call, and the call history with filters
 * and pages. The page keeps no call state of its own beyond what the
 * VideoCallManager reports through its callbacks. window.demoApp is the
 * instance, for poking at it from the console.
 *
 * URL parameters: ?debug=1 (or verbose) logs to the console, ?server=wss://...
 * picks another Janus, ?historyPageSize=N sets the history's page size.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
(function () {
	'use strict';

	/* ---- Configuration (config.js, then the URL: ?debug=1, ?server=...) ---------------- */

	const config = Object.assign({
		server: 'ws://127.0.0.1:8188', iceServers: [], signIn: 'both', debug: false,
		statsInterval: 1000, presenceInterval: 3000, historyPageSize: 8,
	}, window.CALLS_CONFIG || {});
	const params = new URLSearchParams(location.search);
	if (params.has('debug'))
		config.debug = params.get('debug') === 'verbose' ? 'verbose' : params.get('debug') !== '0';
	if (params.get('server'))
		config.server = params.get('server');
	if (Number(params.get('historyPageSize')) > 0)
		config.historyPageSize = Math.min(100, Number(params.get('historyPageSize')));

	/* ---- Words ----------------------------------------------------------------------------- */

	const STATUS_WORDS = {
		ENDED: 'Ended', MISSED: 'Missed', DECLINED: 'Declined', FAILED: 'Failed', BUSY: 'Busy',
		RINGING: 'Ringing', CONNECTING: 'Connecting', CONNECTED: 'Connected',
	};

	/* The end of a call in words, for the banner. */
	function endWords(ended, ctx) {
		const by = ctx.nameOf(ended.endedBy);
		switch (ended.reason) {
			case 'HANGUP': return 'Call ended';
			case 'ENDED_FOR_EVERYONE': return ended.endedBy === ctx.me ? 'You ended the call for everyone' : `${by} ended the call for everyone`;
			case 'CANCELLED': return ctx.initiator === ctx.me ? 'Call cancelled' : `Missed call from ${ctx.nameOf(ctx.initiator)} (cancelled)`;
			case 'RING_TIMEOUT': return ctx.initiator === ctx.me ? `No answer from ${ctx.others}` : `Missed call from ${ctx.nameOf(ctx.initiator)}`;
			case 'DECLINED': return ctx.initiator === ctx.me ? `${ctx.others} declined the call` : 'Call declined';
			case 'BUSY': return ctx.initiator === ctx.me ? `${ctx.others} ${ctx.othersCount > 1 ? 'are' : 'is'} busy in another call` : 'Busy';
			case 'CONNECT_TIMEOUT': return 'The call could not connect (no media got through)';
			case 'DISCONNECTED': return 'The call ended: the connection was lost';
			case 'ADMIN': return 'The call was ended by the server administrator';
			case 'SERVER_RESTART': return 'The call ended: the server restarted';
			default: return `Call ${(STATUS_WORDS[ended.status] || ended.status || 'ended').toLowerCase()}`;
		}
	}

	const LEFT_WORDS = {
		LEFT: 'left the call',
		DECLINED: 'declined',
		MISSED: 'did not answer',
		BUSY: 'is busy in another call',
		FAILED: 'could not connect',
		DISCONNECTED: 'lost the connection',
	};

	/* ---- Small helpers -------------------------------------------------------------------- */

	const $ = (id) => document.getElementById(id);

	function el(tag, attrs, ...children) {
		const node = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (v === null || v === undefined || v === false)
				continue;
			if (k === 'class')
				node.className = v;
			else if (k === 'text')
				node.textContent = v;
			else if (k.startsWith('on'))
				node.addEventListener(k.slice(2), v);
			else
				node.setAttribute(k, v === true ? '' : v);
		}
		for (const c of children) {
			if (c !== null && c !== undefined)
				node.append(c);
		}
		return node;
	}

	function icon(name) {
		const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
		svg.setAttribute('aria-hidden', 'true');
		const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
		use.setAttribute('href', `#i-${name}`);
		svg.append(use);
		return svg;
	}

	function initials(name) {
		const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
		const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || '?').slice(0, 2);
		return letters.toUpperCase();
	}

	/* A stable colour per user, for avatars. */
	function hue(id) {
		let h = 0;
		for (const ch of String(id))
			h = (h * 31 + ch.charCodeAt(0)) % 360;
		return h;
	}

	function avatar(user, size) {
		const a = el('span', { class: `avatar ${size || ''}`, 'aria-hidden': 'true' }, initials(user.userName || user.userId));
		a.style.setProperty('--h', hue(user.userId));
		return a;
	}

	function clock(seconds) {
		seconds = Math.max(0, Math.floor(seconds));
		const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
		const mmss = `${String(m).padStart(h ? 2 : 1, '0')}:${String(s).padStart(2, '0')}`;
		return h ? `${h}:${mmss}` : mmss;
	}

	function when(iso) {
		if (!iso)
			return '';
		const d = new Date(iso);
		const today = new Date();
		const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
		if (d.toDateString() === today.toDateString())
			return `Today ${time}`;
		return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`;
	}

	function listNames(names) {
		if (names.length <= 1)
			return names[0] || 'nobody';
		return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
	}

	/* The user id the open mode registers for a name: visible ASCII, no spaces. */
	function userIdFromName(name) {
		const id = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().trim()
			.replace(/\s+/g, '-').replace(/[^a-z0-9._-]/g, '').slice(0, 64);
		return id || `user-${Math.random().toString(36).slice(2, 8)}`;
	}

	/* ---- The quality plot ----------------------------------------------------------------- */

	const PLOT_POINTS = 40;

	/* Bitrate (line, scaled to the largest value shown) and packet loss
	 * (red bars, 0-10 % full height) over the last PLOT_POINTS samples. */
	function drawPlot(canvas, samples) {
		const ratio = window.devicePixelRatio || 1;
		const w = canvas.clientWidth || 120, h = canvas.clientHeight || 34;
		if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
			canvas.width = Math.round(w * ratio);
			canvas.height = Math.round(h * ratio);
		}
		const g = canvas.getContext('2d');
		g.setTransform(ratio, 0, 0, ratio, 0, 0);
		g.clearRect(0, 0, w, h);
		g.fillStyle = 'rgba(15, 23, 42, 0.55)';
		g.fillRect(0, 0, w, h);
		if (samples.length === 0)
			return;
		const step = w / (PLOT_POINTS - 1);
		const x0 = w - (samples.length - 1) * step;
		g.fillStyle = 'rgba(248, 113, 113, 0.9)';
		samples.forEach((s, i) => {
			if (s.loss > 0) {
				const bh = Math.max(2, Math.min(1, s.loss / 0.1) * (h - 2));
				g.fillRect(x0 + i * step - 1.5, h - bh, 3, bh);
			}
		});
		const max = Math.max(100, ...samples.map((s) => s.bitrate));
		g.strokeStyle = '#5eead4';
		g.lineWidth = 1.5;
		g.beginPath();
		samples.forEach((s, i) => {
			const y = h - 2 - (s.bitrate / max) * (h - 6);
			if (i === 0)
				g.moveTo(x0, y);
			else
				g.lineTo(x0 + i * step, y);
		});
		g.stroke();
	}

	/* ---- The app ----------------------------------------------------------------------------- */

	class DemoApp {
		constructor() {
			this.calls = null;             // the VideoCallManager
			this.me = null;                // {userId, userName, avatar}
			this.online = [];              // users online but me
			this.selected = new Set();     // picked in the online list
			this.tiles = new Map();        // userId -> tile elements
			this.quality = new Map();      // userId -> [{bitrate, loss}]
			this.names = new Map();        // userId -> userName, everybody we heard of
			this.knownCalls = new Map();   // callId -> {initiatorId, others: [names]}
			this.incomingQueue = [];       // CALL_INCOMING data, oldest first
			this.shownIncoming = null;
			this.notification = null;
			this.history = { page: 1, pages: 1 };
			this.timers = { presence: null, tick: null };
			this.ringingSince = 0;
			this.local = null;             // {stream, info}: what this device sends
			this.bannerCallId = null;      // the call the banner talks about
		}

		init() {
			if (config.signIn === 'open')
				$('signin-token-field').hidden = true;
			if (config.signIn === 'jwt') {
				$('signin-name-field').hidden = true;
				$('signin-token-field').open = true;
			}
			$('signin-form').addEventListener('submit', (ev) => { ev.preventDefault(); this.signIn(); });
			$('btn-signout').addEventListener('click', () => this.signOut());
			for (const tab of document.querySelectorAll('.tab'))
				tab.addEventListener('click', () => this.showTab(tab.dataset.tab));
			$('btn-audio-call').addEventListener('click', () => this.startCall('AUDIO'));
			$('btn-video-call').addEventListener('click', () => this.startCall('VIDEO'));
			$('btn-mute').addEventListener('click', () => this.act(() => this.calls.toggleAudio()));
			$('btn-camera').addEventListener('click', () => this.act(() => this.calls.toggleVideo()));
			$('btn-screen').addEventListener('click', () => this.act(() =>
				this.calls.isSharingScreen ? this.calls.stopScreenShare() : this.calls.shareScreen()));
			$('btn-add').addEventListener('click', () => this.openAddDialog());
			$('btn-leave').addEventListener('click', () => this.act(() => this.calls.endCall()));
			$('btn-end-all').addEventListener('click', () => this.act(() => this.calls.endCall({ forEveryone: true })));
			$('btn-answer').addEventListener('click', () => this.answerShown());
			$('btn-decline').addEventListener('click', () => this.declineShown());
			$('incoming-dialog').addEventListener('cancel', (ev) => ev.preventDefault());   // Esc must not hide a ringing call
			$('add-cancel').addEventListener('click', () => $('add-dialog').close());
			$('add-confirm').addEventListener('click', () => this.confirmAdd());
			$('filter-type').addEventListener('change', () => this.loadHistory(1));
			$('filter-status').addEventListener('change', () => this.loadHistory(1));
			$('hist-prev').addEventListener('click', () => this.loadHistory(this.history.page - 1));
			$('hist-next').addEventListener('click', () => this.loadHistory(this.history.page + 1));
			const remembered = localStorage.getItem('calls-demo-name');
			if (remembered)
				$('signin-name').value = remembered;
		}

		/* ---- Sign in / out ------------------------------------------------------------------ */

		async signIn() {
			const name = $('signin-name').value.trim();
			const token = $('signin-token').value.trim();
			const error = $('signin-error');
			error.hidden = true;
			if (!name && !token) {
				error.textContent = 'Type your name (or paste a token).';
				error.hidden = false;
				return;
			}
			/* Asked while we have the click: browsers want a user gesture */
			if ('Notification' in window && Notification.permission === 'default')
				Notification.requestPermission().catch(() => {});
			const identity = token || { userId: userIdFromName(name), userName: name };
			const calls = new window.VideoCallManager(config.server, identity, {
				iceServers: config.iceServers, debug: config.debug, statsInterval: config.statsInterval,
			});
			this.bind(calls);
			$('btn-signin').disabled = true;
			$('btn-signin').textContent = 'Signing in…';
			try {
				this.me = await calls.connect();
			} catch (err) {
				error.textContent = `Could not sign in: ${err.message}`;
				error.hidden = false;
				return;
			} finally {
				$('btn-signin').disabled = false;
				$('btn-signin').textContent = 'Sign in';
			}
			this.calls = calls;
			window.demoCalls = calls;
			if (name)
				localStorage.setItem('calls-demo-name', name);
			this.names.set(this.me.userId, this.me.userName || this.me.userId);
			$('signin').hidden = true;
			$('app').hidden = false;
			$('me').hidden = false;
			$('me-name').textContent = this.me.userName || this.me.userId;
			$('me-name').title = `user id: ${this.me.userId}`;
			$('me-avatar').textContent = initials(this.me.userName || this.me.userId);
			$('me-avatar').style.setProperty('--h', hue(this.me.userId));
			this.setBanner('idle', 'Ready', 'Nobody is calling');
			this.refreshOnline();
			this.timers.presence = setInterval(() => this.refreshOnline(), config.presenceInterval);
			this.loadHistory(1);
			for (const inc of calls.getIncomingCalls())
				this.onIncoming(inc);
		}

		async signOut() {
			clearInterval(this.timers.presence);
			this.stopRinging();
			const calls = this.calls;
			this.calls = null;
			if (calls)
				await calls.disconnect();
			this.clearCallView();
			this.incomingQueue = [];
			this.closeIncomingDialog();
			$('app').hidden = true;
			$('me').hidden = true;
			$('signin').hidden = false;
		}

		/* The library's callbacks -> the page. */
		bind(calls) {
			calls.onConnectionStateChanged = (state) => this.onConnectionState(state);
			calls.onIncomingCall = (data) => this.onIncoming(data);
			calls.onIncomingCallStopped = (data) => this.onIncomingStopped(data);
			calls.onCallStarted = (call) => this.onCallStarted(call);
			calls.onStatusChanged = () => this.renderCall();
			calls.onParticipantJoined = (data) => {
				this.names.set(data.userId, data.userName || data.userId);
				if (data.userId !== this.me.userId)
					this.toast(`${this.nameOf(data.userId)} joined`);
				this.renderCall();
			};
			calls.onParticipantLeft = (data) => {
				this.toast(`${this.nameOf(data.userId)} ${LEFT_WORDS[data.reason] || 'left'}${data.message && data.reason === 'DECLINED' ? `: “${data.message}”` : ''}`,
					data.reason === 'LEFT' ? 'info' : 'warn');
				this.renderCall();
			};
			calls.onParticipantMediaChanged = () => this.renderCall();
			calls.onCallEnded = (data) => this.onCallEnded(data);
			calls.onCallLeft = (data) => this.onCallLeft(data);
			calls.onLocalStream = (stream, info) => this.onLocalStream(stream, info);
			calls.onRemoteStream = (userId, stream) => this.attachStream(userId, stream);
			calls.onRemoteStreamRemoved = (userId) => this.attachStream(userId, null);
			calls.onQualityStats = (userId, stats) => this.onQuality(userId, stats);
			calls.onError = (err) => this.toast(err.code === 'CAMERA_UNAVAILABLE' ? 'Camera unavailable: the call goes on with audio only' : err.message, 'error');
		}

		onConnectionState(state) {
			const words = { connected: 'online', connecting: 'connecting…', reconnecting: 'reconnecting…', disconnected: 'offline', idle: 'offline' };
			$('conn-state').textContent = words[state] || state;
			$('conn-state').dataset.state = state;
			if (state === 'reconnecting')
				this.toast('Connection to the server lost, reconnecting…', 'warn');
			else if (state === 'connected' && this.me)
				this.refreshOnline();
		}

		nameOf(userId) {
			if (!userId)
				return 'somebody';
			if (this.me && userId === this.me.userId)
				return 'You';
			return this.names.get(userId) || userId;
		}

		/* ---- People online --------------------------------------------------------------- */

		async refreshOnline() {
			if (!this.calls || this.calls.connectionState !== 'connected')
				return;
			let users;
			try {
				users = await this.calls.getOnlineUsers();
			} catch (err) {
				if (!this.presenceWarned)
					this.toast(`The list of people online is not available: ${err.message}`, 'error');
				this.presenceWarned = true;
				return;
			}
			this.online = users.filter((u) => u.userId !== this.me.userId)
				.sort((a, b) => String(a.userName || a.userId).localeCompare(String(b.userName || b.userId)));
			for (const u of this.online)
				this.names.set(u.userId, u.userName || u.userId);
			for (const id of Array.from(this.selected)) {
				if (!this.online.some((u) => u.userId === id))
					this.selected.delete(id);
			}
			this.renderOnline();
		}

		renderOnline() {
			const list = $('online-list');
			list.replaceChildren(...this.online.map((u) => {
				const box = el('input', { type: 'checkbox', value: u.userId, checked: this.selected.has(u.userId) });
				box.addEventListener('change', () => {
					if (box.checked)
						this.selected.add(u.userId);
					else
						this.selected.delete(u.userId);
					this.updateCallButtons();
				});
				return el('li', { 'data-user-id': u.userId },
					el('label', {}, box, avatar(u),
						el('span', { class: 'who' }, el('span', { class: 'name', text: u.userName || u.userId }),
							el('span', { class: 'uid', text: u.userId })),
						u.inCall ? el('span', { class: 'badge busy', text: 'in a call' }) : el('span', { class: 'badge free', text: 'free' })));
			}));
			$('online-empty').hidden = this.online.length > 0;
			this.updateCallButtons();
		}

		updateCallButtons() {
			const idle = this.calls && !this.calls.currentCallId && !this.starting;
			$('btn-audio-call').disabled = !idle || this.selected.size === 0;
			$('btn-video-call').disabled = !idle || this.selected.size === 0;
		}

		/* ---- Placing a call ------------------------------------------------------------------ */

		async startCall(type) {
			const ids = Array.from(this.selected);
			if (ids.length === 0 || !this.calls)
				return;
			this.starting = true;
			this.updateCallButtons();
			this.setBanner('connecting', `Starting a ${type === 'VIDEO' ? 'video' : 'audio'} call…`, 'Allow the camera and microphone if the browser asks');
			try {
				await this.calls.startCall(ids, type);
				this.selected.clear();
				this.renderOnline();
			} catch (err) {
				this.setBanner('failed', 'The call could not start', err.message);
			} finally {
				this.starting = false;
				this.updateCallButtons();
			}
		}

		onCallStarted(call) {
			this.rememberCall(call);
			this.ringingSince = Date.now();
			this.showTab('people');
			this.renderCall();
		}

		rememberCall(call) {
			for (const p of call.participants || [])
				this.names.set(p.userId, p.userName || this.names.get(p.userId) || p.userId);
			const others = (call.participants || []).filter((p) => p.userId !== this.me.userId).map((p) => p.userId);
			const known = this.knownCalls.get(call.id || call.callId) || { others: [] };
			known.initiatorId = call.initiatorId;
			known.type = call.type;
			known.others = Array.from(new Set([...known.others, ...others]));
			this.knownCalls.set(call.id || call.callId, known);
		}

		/* ---- Ringing --------------------------------------------------------------------------- */

		onIncoming(data) {
			this.names.set(data.initiatorId, data.initiatorName || data.initiatorId);
			this.rememberCall({ id: data.callId, initiatorId: data.initiatorId, type: data.type, participants: data.participants });
			if (!this.incomingQueue.some((c) => c.callId === data.callId))
				this.incomingQueue.push(data);
			this.showNextIncoming();
		}

		showNextIncoming() {
			const next = this.incomingQueue[0];
			if (!next) {
				this.closeIncomingDialog();
				this.stopRinging();
				return;
			}
			if (this.shownIncoming && this.shownIncoming.callId === next.callId)
				return;
			this.shownIncoming = next;
			const caller = next.initiatorName || next.initiatorId;
			const others = (next.participants || [])
				.filter((p) => p.userId !== next.initiatorId && p.userId !== this.me.userId)
				.map((p) => p.userName || p.userId);
			$('inc-avatar').textContent = initials(caller);
			$('inc-avatar').style.setProperty('--h', hue(next.initiatorId));
			$('inc-title').textContent = caller;
			$('inc-sub').textContent = `Incoming ${next.type === 'VIDEO' ? 'video' : 'audio'} call${others.length ? ` · with ${listNames(others)}` : ''}`;
			$('inc-error').hidden = true;
			$('btn-answer').disabled = $('btn-decline').disabled = false;
			const dialog = $('incoming-dialog');
			if (!dialog.open)
				dialog.showModal();
			this.startRinging(next, caller);
		}

		startRinging(data, caller) {
			const ring = $('ring-audio');
			ring.currentTime = 0;
			ring.play().catch(() => { /* no user gesture yet: the dialog still shows */ });
			if ('Notification' in window && Notification.permission === 'granted') {
				try {
					if (this.notification)
						this.notification.close();
					this.notification = new Notification(`${caller} is calling`, {
						body: `Incoming ${data.type === 'VIDEO' ? 'video' : 'audio'} call`,
						tag: `call-${data.callId}`, requireInteraction: true,
					});
					this.notification.onclick = () => { window.focus(); this.notification.close(); };
				} catch (err) { /* notifications may need a service worker on this platform */ }
			}
		}

		stopRinging() {
			const ring = $('ring-audio');
			ring.pause();
			if (this.notification) {
				this.notification.close();
				this.notification = null;
			}
		}

		closeIncomingDialog() {
			this.shownIncoming = null;
			const dialog = $('incoming-dialog');
			if (dialog.open)
				dialog.close();
		}

		dropIncoming(callId) {
			this.incomingQueue = this.incomingQueue.filter((c) => c.callId !== callId);
			if (this.shownIncoming && this.shownIncoming.callId === callId) {
				this.shownIncoming = null;
				this.stopRinging();
				this.closeIncomingDialog();
			}
			this.showNextIncoming();
		}

		async answerShown() {
			const inc = this.shownIncoming;
			if (!inc)
				return;
			$('btn-answer').disabled = $('btn-decline').disabled = true;
			this.stopRinging();
			try {
				if (this.calls.currentCallId)
					await this.calls.endCall();
				await this.calls.answerCall(inc.callId);
				this.dropIncoming(inc.callId);
				this.showTab('people');
				this.renderCall();
			} catch (err) {
				if (!this.calls.currentCallId)
					this.clearCallView();
				$('inc-error').textContent = `Could not answer: ${err.message}`;
				$('inc-error').hidden = false;
				$('btn-decline').disabled = false;
				$('btn-answer').disabled = !this.calls.getIncomingCalls().some((c) => c.callId === inc.callId);
			}
		}

		async declineShown() {
			const inc = this.shownIncoming;
			if (!inc)
				return;
			$('btn-answer').disabled = $('btn-decline').disabled = true;
			this.dropIncoming(inc.callId);
			try {
				await this.calls.declineCall(inc.callId);
			} catch (err) {
				this.toast(`Declining failed: ${err.message}`, 'error');
			}
		}

		onIncomingStopped(data) {
			const inc = this.incomingQueue.find((c) => c.callId === data.callId);
			this.dropIncoming(data.callId);
			if (!inc)
				return;
			const caller = inc.initiatorName || inc.initiatorId;
			const kind = inc.type === 'VIDEO' ? 'video' : 'audio';
			const text = {
				ANSWERED_ELSEWHERE: `You answered ${caller}'s call on another device`,
				DECLINED_ELSEWHERE: `You declined ${caller}'s call on another device`,
			}[data.reason] || `Missed ${kind} call from ${caller}`;
			this.toast(text, 'warn');
			if (!this.calls.currentCallId && !data.reason.endsWith('ELSEWHERE'))
				this.setBanner('missed', text, when(new Date().toISOString()));
		}

		/* ---- The call view ------------------------------------------------------------------- */

		renderCall() {
			const call = this.calls && this.calls.getCallState();
			if (!call) {
				this.updateCallButtons();
				return;
			}
			this.rememberCall(call);
			document.body.classList.add('in-call');
			$('idle').hidden = true;
			$('controls').hidden = false;
			const me = this.me.userId;
			const others = call.participants.filter((p) => p.userId !== me);
			const ringing = others.filter((p) => p.status === 'RINGING');
			const joined = others.filter((p) => p.status === 'JOINED');
			const kind = call.type === 'VIDEO' ? 'video' : 'audio';
			if (call.status === 'RINGING') {
				this.setBanner('ringing', `Calling ${listNames(ringing.map((p) => p.userName || p.userId))}…`, `${kind} call · ringing`);
			} else if (call.status === 'CONNECTING') {
				this.setBanner('connecting', 'Connecting…', `${kind} call with ${listNames(joined.map((p) => p.userName || p.userId)) || '…'}`);
			} else if (call.status === 'CONNECTED') {
				const sub = joined.length ? `${kind} call with ${listNames(joined.map((p) => p.userName || p.userId))}` : `${kind} call`;
				this.setBanner('connected', 'Connected', ringing.length ? `${sub} · ringing ${listNames(ringing.map((p) => p.userName || p.userId))}` : sub);
			}
			/* Tiles: me first, then everybody ringing or joined */
			const shown = [{ userId: me, userName: this.me.userName, status: 'JOINED', self: true },
				...others.filter((p) => p.status === 'RINGING' || p.status === 'JOINED')];
			const keep = new Set(shown.map((p) => p.userId));
			for (const [userId, tile] of this.tiles) {
				if (!keep.has(userId)) {
					tile.root.remove();
					this.tiles.delete(userId);
					this.quality.delete(userId);
				}
			}
			for (const p of shown)
				this.updateTile(this.tileFor(p), p, call);
			const grid = $('grid');
			grid.dataset.count = String(shown.length);
			grid.dataset.type = call.type;
			/* Controls */
			const c = this.calls;
			this.setToggle('btn-mute', c.isMuted, c.isMuted ? 'Unmute' : 'Mute', c.isMuted ? 'mic-off' : 'mic');
			$('btn-camera').disabled = call.type !== 'VIDEO' || (!c.getLocalStream() || c.getLocalStream().getVideoTracks().length === 0) && !c.isSharingScreen;
			this.setToggle('btn-camera', !c.isVideoEnabled && call.type === 'VIDEO', c.isVideoEnabled ? 'Camera' : 'Camera off', c.isVideoEnabled ? 'cam' : 'cam-off');
			$('btn-screen').disabled = call.type !== 'VIDEO' || !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
			this.setToggle('btn-screen', c.isSharingScreen, c.isSharingScreen ? 'Stop sharing' : 'Share', 'screen');
			$('btn-end-all').hidden = call.initiatorId !== me;
			this.startTick();
			this.updateCallButtons();
		}

		setToggle(id, pressed, label, iconName) {
			const b = $(id);
			b.setAttribute('aria-pressed', String(!!pressed));
			b.querySelector('span').textContent = label;
			b.querySelector('use').setAttribute('href', `#i-${iconName}`);
		}

		tileFor(p) {
			let tile = this.tiles.get(p.userId);
			if (tile)
				return tile;
			const video = el('video', { autoplay: true, playsinline: true });
			if (p.self)
				video.muted = true;
			const canvas = el('canvas', { class: 'plot', width: 120, height: 34 });
			const root = el('div', { class: `tile${p.self ? ' self' : ''}`, 'data-user-id': p.userId },
				video,
				el('div', { class: 'placeholder' }, avatar(p, 'big'), el('span', { class: 'ph-text' })),
				el('div', { class: 'tile-bar' },
					el('span', { class: 'name' }),
					el('span', { class: 'ind ind-muted', title: 'Microphone muted', hidden: true }, icon('mic-off')),
					el('span', { class: 'ind ind-camoff', title: 'Camera off', hidden: true }, icon('cam-off')),
					el('span', { class: 'ind ind-screen', title: 'Sharing the screen', hidden: true }, icon('screen'), el('span', { text: 'Screen' }))),
				el('div', { class: 'quality', title: 'Bitrate (line) and packet loss (red bars), last 40 s' }, canvas, el('span', { class: 'q-text', text: '' })));
			tile = { root, video, canvas, stream: null };
			this.tiles.set(p.userId, tile);
			if (p.self && this.local)
				this.showLocal(tile);
			const grid = $('grid');
			if (p.self)
				grid.prepend(root);
			else
				grid.append(root);
			return tile;
		}

		updateTile(tile, p, call) {
			const c = this.calls;
			const self = !!p.self;
			const flags = self ? { isMuted: c.isMuted, isVideoEnabled: c.isVideoEnabled, isSharingScreen: c.isSharingScreen } : p;
			tile.root.querySelector('.name').textContent = self ? `${this.me.userName || this.me.userId} (you)` : (p.userName || p.userId);
			const isVideo = call.type === 'VIDEO';
			tile.root.querySelector('.ind-muted').hidden = !flags.isMuted;
			tile.root.querySelector('.ind-camoff').hidden = !isVideo || flags.isVideoEnabled !== false || p.status === 'RINGING';
			tile.root.querySelector('.ind-screen').hidden = !flags.isSharingScreen;
			tile.root.classList.toggle('sharing', !!flags.isSharingScreen);
			let state, text = '';
			if (p.status === 'RINGING') {
				state = 'ringing';
				text = 'Ringing…';
			} else if (!isVideo) {
				state = tile.stream || self ? 'audio' : 'connecting';
				text = tile.stream || self ? 'Audio call' : 'Connecting…';
			} else if (flags.isVideoEnabled === false) {
				state = 'camoff';
				text = 'Camera off';
			} else if (!tile.stream) {
				state = 'connecting';
				text = self ? 'Starting the camera…' : 'Connecting…';
			} else {
				state = 'video';
			}
			tile.root.dataset.state = state;
			tile.root.querySelector('.ph-text').textContent = text;
		}

		/* What this device sends: kept, and shown on its own tile when there is one
		 * (the camera is asked for before the call exists). */
		onLocalStream(stream, info) {
			this.local = { stream, info };
			const tile = this.tiles.get(this.me.userId);
			if (tile) {
				this.showLocal(tile);
				this.renderCall();
			}
		}

		showLocal(tile) {
			const { stream, info } = this.local;
			tile.stream = info.audioOnly ? null : stream;
			tile.video.srcObject = tile.stream;
			tile.root.classList.toggle('mirror', !info.screen);
			if (tile.stream)
				tile.video.play().catch(() => {});
		}

		attachStream(userId, stream) {
			const call = this.calls && this.calls.getCallState();
			const p = call && call.participants.find((x) => x.userId === userId);
			if (!p) {
				if (!stream && this.tiles.has(userId))
					this.tiles.get(userId).stream = null;
				return;
			}
			const tile = this.tileFor(p);
			if (tile.stream !== stream) {
				tile.stream = stream;
				tile.video.srcObject = stream;
			}
			if (stream)
				tile.video.play().catch((err) => this.autoplayBlocked(err, tile.video));
			this.renderCall();
		}

		onQuality(userId, s) {
			const tile = this.tiles.get(userId);
			if (!tile)
				return;
			const samples = this.quality.get(userId) || [];
			samples.push({ bitrate: s.bitrate, loss: s.lossRate || 0 });
			while (samples.length > PLOT_POINTS)
				samples.shift();
			this.quality.set(userId, samples);
			drawPlot(tile.canvas, samples);
			const arrow = s.direction === 'out' ? '↑' : '↓';
			const loss = ((s.lossRate || 0) * 100).toFixed(1);
			const res = s.frameWidth ? ` · ${s.frameWidth}×${s.frameHeight}` : '';
			tile.root.querySelector('.q-text').textContent = `${arrow} ${s.bitrate} kb/s · ${loss}% loss · ${s.jitter} ms${res}`;
			tile.root.dataset.bitrate = String(s.bitrate);
			if (s.direction === 'in')
				tile.root.dataset.framesDecoded = String(s.framesDecoded || 0);
			if (typeof s.audioLevel === 'number')
				tile.root.style.setProperty('--level', Math.min(1, Math.sqrt(s.audioLevel) * 1.5).toFixed(2));
		}

		/* A browser that refuses to play sound before the person touched the page:
		 * say so once, and play everything at the next click. */
		autoplayBlocked(err, video) {
			if (!err || err.name !== 'NotAllowedError')
				return;   // e.g. AbortError: the stream changed while play() started
			this.blockedVideos = this.blockedVideos || new Set();
			this.blockedVideos.add(video);
			if (this.blockedVideos.size === 1) {
				this.toast('Click anywhere to hear the call (the browser blocked autoplay)', 'warn');
				document.addEventListener('click', () => {
					for (const v of this.blockedVideos)
						v.play().catch(() => {});
					this.blockedVideos.clear();
				}, { once: true });
			}
		}

		/* The call's clock: ringing time, then the duration once connected. */
		startTick() {
			if (this.timers.tick)
				return;
			this.timers.tick = setInterval(() => this.tick(), 500);
			this.tick();
		}

		tick() {
			const call = this.calls && this.calls.getCallState();
			const out = $('duration');
			if (!call) {
				clearInterval(this.timers.tick);
				this.timers.tick = null;
				return;
			}
			if (call.status === 'CONNECTED' && call.connectedAt) {
				out.hidden = false;
				out.textContent = clock((this.calls.serverNow() - Date.parse(call.connectedAt)) / 1000);
			} else if (call.status === 'RINGING' && call.initiatorId === this.me.userId) {
				out.hidden = false;
				out.textContent = clock((Date.now() - this.ringingSince) / 1000);
			} else {
				out.hidden = true;
			}
		}

		clearCallView() {
			for (const tile of this.tiles.values()) {
				tile.video.srcObject = null;
				tile.root.remove();
			}
			this.tiles.clear();
			this.quality.clear();
			this.local = null;
			clearInterval(this.timers.tick);
			this.timers.tick = null;
			$('duration').hidden = true;
			$('grid').dataset.count = '0';
			$('controls').hidden = true;
			$('idle').hidden = false;
			if ($('add-dialog').open)
				$('add-dialog').close();
			document.body.classList.remove('in-call');
			this.updateCallButtons();
		}

		onCallEnded(data) {
			const known = this.knownCalls.get(data.callId);
			const ctx = this.wordsContext(data.callId);
			const lasted = data.status === 'ENDED' || data.duration ? `lasted ${clock(data.duration || 0)}` : '';
			if (data.current) {
				const kind = data.status === 'ENDED' ? 'ended' : data.status.toLowerCase();
				let sub = data.status === 'ENDED' && ctx.othersCount ? `with ${ctx.others} · ${lasted}` : lasted;
				if (data.reason === 'RING_TIMEOUT' && ctx.initiator === this.me.userId && this.ringingSince)
					sub = `it rang for ${Math.round((Date.now() - this.ringingSince) / 1000)} s`;
				this.clearCallView();
				this.setBanner(kind, endWords(data, ctx), sub, data.callId);
				this.stopRinging();
			} else if (this.bannerCallId === data.callId && !this.calls.currentCallId) {
				/* the call we left is over now */
				this.setBanner('ended', 'The call you left has ended', lasted, data.callId);
			} else if (!known && data.status === 'BUSY') {
				/* Somebody called while we were in another call */
				this.calls.getCall(data.callId).then((call) => {
					const caller = call.participants.find((p) => p.userId === call.initiatorId);
					this.toast(`${caller ? caller.userName || caller.userId : 'Somebody'} called while you were busy`, 'warn');
				}).catch(() => {});
			}
			setTimeout(() => this.loadHistory(this.history.page), 300);
			this.refreshOnline();
		}

		onCallLeft(data) {
			this.clearCallView();
			if (data.reason === 'LEFT')
				this.setBanner('ended', 'You left the call', 'The others may still be talking', data.callId);
			else
				this.setBanner('failed', 'You are no longer in the call', `${LEFT_WORDS[data.reason] || data.reason}${data.message ? ` (${data.message})` : ''}`, data.callId);
			this.refreshOnline();
		}

		wordsContext(callId) {
			const known = this.knownCalls.get(callId) || { others: [] };
			const names = known.others.map((id) => this.nameOf(id));
			return {
				me: this.me.userId, initiator: known.initiatorId, others: listNames(names),
				othersCount: names.length, nameOf: (id) => this.nameOf(id),
			};
		}

		setBanner(kind, text, sub, callId) {
			this.bannerCallId = callId || (this.calls && this.calls.currentCallId) || null;
			const banner = $('banner');
			banner.dataset.kind = kind;
			$('banner-text').textContent = text;
			$('banner-sub').textContent = sub || '';
		}

		/* ---- Adding people ------------------------------------------------------------------- */

		openAddDialog() {
			const call = this.calls.getCallState();
			if (!call)
				return;
			const inCall = new Set(call.participants.filter((p) => p.status === 'JOINED' || p.status === 'RINGING').map((p) => p.userId));
			const candidates = this.online.filter((u) => !inCall.has(u.userId));
			const picked = new Set();
			$('add-list').replaceChildren(...candidates.map((u) => {
				const box = el('input', { type: 'checkbox', value: u.userId });
				box.addEventListener('change', () => {
					if (box.checked)
						picked.add(u.userId);
					else
						picked.delete(u.userId);
					$('add-confirm').disabled = picked.size === 0;
				});
				return el('li', { 'data-user-id': u.userId }, el('label', {}, box, avatar(u),
					el('span', { class: 'who' }, el('span', { class: 'name', text: u.userName || u.userId }), el('span', { class: 'uid', text: u.userId })),
					u.inCall ? el('span', { class: 'badge busy', text: 'in a call' }) : null));
			}));
			this.addPicked = picked;
			$('add-empty').hidden = candidates.length > 0;
			$('add-error').hidden = true;
			$('add-confirm').disabled = true;
			$('add-dialog').showModal();
		}

		async confirmAdd() {
			const ids = Array.from(this.addPicked || []);
			if (ids.length === 0)
				return;
			$('add-confirm').disabled = true;
			try {
				await this.calls.addParticipants(ids);
				$('add-dialog').close();
				this.toast(`Calling ${listNames(ids.map((id) => this.nameOf(id)))}…`);
				this.renderCall();
			} catch (err) {
				$('add-error').textContent = err.message;
				$('add-error').hidden = false;
				$('add-confirm').disabled = false;
			}
		}

		/* ---- History ------------------------------------------------------------------------- */

		async loadHistory(page) {
			if (!this.calls || this.calls.connectionState !== 'connected')
				return;
			page = Math.max(1, page || 1);
			const seq = this.historySeq = (this.historySeq || 0) + 1;
			let res;
			try {
				res = await this.calls.getHistory({
					type: $('filter-type').value, status: $('filter-status').value, page, limit: config.historyPageSize,
				});
			} catch (err) {
				this.toast(`The history cannot be read: ${err.message}`, 'error');
				return;
			}
			if (seq !== this.historySeq)
				return;   // a newer request is on its way
			if (res.calls.length === 0 && res.total > 0 && page > 1)
				return this.loadHistory(Math.ceil(res.total / res.limit));   // past the last page (filters changed)
			const pages = Math.max(1, Math.ceil(res.total / res.limit));
			this.history = { page: res.page, pages, total: res.total };
			$('history-list').replaceChildren(...res.calls.map((call) => this.historyRow(call)));
			$('history-empty').hidden = res.calls.length > 0;
			$('hist-page').textContent = `Page ${res.page} of ${pages} · ${res.total} call${res.total === 1 ? '' : 's'}`;
			$('hist-prev').disabled = res.page <= 1;
			$('hist-next').disabled = res.page >= pages;
			$('tab-history').dataset.count = String(res.total);
		}

		historyRow(call) {
			const me = this.me.userId;
			const outgoing = call.initiatorId === me;
			const others = call.participants.filter((p) => p.userId !== me);
			const names = others.map((p) => p.userName || p.userId);
			const mine = call.participants.find((p) => p.userId === me);
			/* What happened to me, when it differs from the call (e.g. I missed a call that went on) */
			const personal = mine && !outgoing && ['MISSED', 'DECLINED', 'BUSY'].includes(mine.status) && mine.status !== call.status
				? ` · you: ${STATUS_WORDS[mine.status].toLowerCase()}` : '';
			return el('li', { class: 'hist-row', 'data-call-id': call.id, 'data-status': call.status, 'data-type': call.type, 'data-duration': String(call.duration || 0) },
				el('span', { class: `hist-type ${call.type.toLowerCase()}`, title: call.type === 'VIDEO' ? 'Video call' : 'Audio call' }, icon(call.type === 'VIDEO' ? 'cam' : 'phone')),
				el('div', { class: 'hist-main' },
					el('span', { class: 'hist-who' }, el('span', { class: `dir ${outgoing ? 'out' : 'in'}`, title: outgoing ? 'You called' : 'You were called' }, icon(outgoing ? 'out' : 'in')),
						el('span', { text: listNames(names) })),
					el('span', { class: 'hist-when', text: `${when(call.startedAt)}${personal}` })),
				el('div', { class: 'hist-side' },
					el('span', { class: `badge status status-${call.status}`, text: STATUS_WORDS[call.status] || call.status }),
					el('span', { class: 'hist-dur', text: call.status === 'ENDED' ? clock(call.duration || 0) : '—' })));
		}

		/* ---- Misc ---------------------------------------------------------------------------- */

		showTab(name) {
			for (const tab of document.querySelectorAll('.tab')) {
				const on = tab.dataset.tab === name;
				tab.classList.toggle('active', on);
				tab.setAttribute('aria-selected', String(on));
			}
			$('people-panel').hidden = name !== 'people';
			$('history-panel').hidden = name !== 'history';
			if (name === 'history')
				this.loadHistory(this.history.page);
		}

		/* Run a call action; report its failure. */
		async act(fn) {
			try {
				const done = fn();
				this.renderCall();   // the library's flags change at once; the server confirms later
				await done;
			} catch (err) {
				this.toast(err.message, 'error');
			}
			this.renderCall();
		}

		toast(text, kind) {
			const t = el('div', { class: `toast ${kind || 'info'}`, role: kind === 'error' ? 'alert' : 'status', text });
			$('toasts').append(t);
			setTimeout(() => t.classList.add('gone'), 4500);
			setTimeout(() => t.remove(), 5000);
			while ($('toasts').children.length > 4)
				$('toasts').firstChild.remove();
		}
	}

	const app = new DemoApp();
	window.demoApp = app;
	if (document.readyState === 'loading')
		window.addEventListener('DOMContentLoaded', () => app.init());
	else
		app.init();
})();
