/* calls.js - the browser client of janus.plugin.calls.
 *
 * Copy this file into an application (with janus.js and webrtc-adapter, which
 * it is built on) to place and take audio/video calls through a Janus server
 * that runs janus.plugin.calls. It keeps the shape of the VideoCallManager of
 * the original call system - startCall, answerCall, declineCall, endCall,
 * toggleAudio, toggleVideo, shareScreen and onRemoteStream-style callbacks -
 * while the media goes through the server (an SFU) instead of browser to
 * browser:
 *
 *   - the device opens one Janus session (WebSocket transport) with two
 *     handles on janus.plugin.calls: a publisher handle, registered normally,
 *     that carries the call events and sends this device's camera and
 *     microphone (WEBRTC_OFFER -> WEBRTC_ANSWER_RECEIVED), and a subscriber
 *     handle, registered with "events": false, that receives everybody else
 *     (CALL_SUBSCRIBE -> WEBRTC_OFFER_RECEIVED, answered with WEBRTC_ANSWER);
 *   - each remote user arrives as one MediaStream whose id is their userId
 *     (the plugin writes the userId as the msid stream id of their m-lines);
 *     the `streams` list of each offer says which mid carries whom;
 *   - ICE candidates travel in Janus "trickle" messages (janus.js does it).
 *
 * Good practices, built in: camera and microphone are
 * asked for before calling or answering; a VIDEO call falls back to audio only
 * when the camera cannot be used; ICE restarts when a connection fails; a lost
 * WebSocket reclaims the Janus session, or opens a new one, registers again and
 * re-publishes; tracks and PeerConnections are always released; WebRTC events
 * are logged with the `debug` option; getStats is polled for bitrate, packet
 * loss and jitter per participant.
 *
 * Documentation: docs/client.md. Protocol: docs/api.md.
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
(function (global) {
	'use strict';

	const PLUGIN = 'janus.plugin.calls';
	const FINAL_STATUSES = ['ENDED', 'MISSED', 'DECLINED', 'FAILED', 'BUSY'];
	/* CALL_PARTICIPANT_LEFT.reason -> the participant's status */
	const LEFT_STATUS = {
		LEFT: 'LEFT', DECLINED: 'DECLINED', MISSED: 'MISSED', BUSY: 'BUSY',
		FAILED: 'FAILED', DISCONNECTED: 'LEFT',
	};
	/* How long to wait for the server's answer to an asynchronous request */
	const REPLY_TIMEOUT_MS = 15000;
	/* ICE: how long "disconnected" may last before we restart, and how many
	 * restarts in a row we try before giving up on that PeerConnection */
	const ICE_DISCONNECTED_GRACE_MS = 4000;
	const ICE_MAX_RESTARTS = 5;
	/* WebSocket loss: waits between attempts to get back (about 30 s in all) */
	const RECONNECT_DELAYS_MS = [500, 1000, 2000, 3000, 4000, 5000, 5000, 5000, 5000];

	/** An error of the call API: `code` is the plugin's (INVALID_REQUEST, USER_BUSY,
	 * ...) or one of the library's own (MEDIA_DENIED, NOT_CONNECTED, NO_CALL,
	 * TIMEOUT, TRANSPORT, UNSUPPORTED). */
	class CallsError extends Error {
		constructor(code, message, extra) {
			super(message);
			this.name = 'CallsError';
			this.code = code;
			Object.assign(this, extra || {});
		}
	}

	function sleep(ms) {
		return new Promise((resolve) => setTimeout(resolve, ms));
	}

	function isFinal(status) {
		return FINAL_STATUSES.includes(status);
	}

	/* Janus.init runs once per page. Its WebSocket class remembers the last
	 * socket janus.js opened, so that a failed session reclaim can close its own. */
	let janusInit = null;
	let lastSocket = null;
	function initJanus(debug) {
		if (typeof global.Janus === 'undefined')
			return Promise.reject(new CallsError('UNSUPPORTED', 'janus.js is not loaded: include adapter.js and janus.js before calls.js'));
		if (janusInit === null) {
			const Base = global.WebSocket;
			const Tracked = class extends Base {
				constructor(url, protocols) {
					super(url, protocols);
					lastSocket = this;
				}
			};
			janusInit = new Promise((resolve) => {
				global.Janus.init({
					debug: debug === 'verbose' ? 'all' : ['warn', 'error'],
					dependencies: global.Janus.useDefaultDependencies({ WebSocket: Tracked }),
					callback: resolve,
				});
			});
		}
		return janusInit;
	}

	/* A MediaStreamError from getUserMedia / getDisplayMedia, as a CallsError. */
	function mediaError(err, what) {
		const name = err && err.name ? err.name : 'Error';
		const why = {
			NotAllowedError: 'permission was refused',
			NotFoundError: 'no such device was found',
			NotReadableError: 'the device is in use by another application',
			OverconstrainedError: 'the device cannot satisfy the constraints',
			SecurityError: 'media capture needs a secure context (https or localhost)',
		}[name] || (err && err.message) || String(err);
		return new CallsError('MEDIA_DENIED', `${what}: ${why}`, { cause: err });
	}

	class VideoCallManager {
		/**
		 * @param {string|string[]} server  Janus WebSocket URL, e.g. "wss://janus.example.com/ws"
		 * @param {string|object} identity  a JWT (string), or {userId, userName, avatar} (open mode)
		 * @param {object} [options]  {iceServers, debug, statsInterval, videoConstraints,
		 *                             audioConstraints, apisecret, janusToken}
		 */
		constructor(server, identity, options) {
			options = options || {};
			this.server = server;
			this.identity = identity;
			this.iceServers = options.iceServers || [];
			this.debug = options.debug || false;
			this.statsInterval = options.statsInterval === undefined ? 1000 : options.statsInterval;
			this.videoConstraints = options.videoConstraints || true;
			this.audioConstraints = options.audioConstraints || true;
			this.apisecret = options.apisecret;
			this.janusToken = options.janusToken;

			/* Public state (read it, don't write it) */
			this.user = null;                 // {userId, userName, avatar} once connected
			this.connectionState = 'idle';    // idle | connecting | connected | reconnecting | disconnected
			this.currentCallId = null;
			this.isMuted = false;
			this.isVideoEnabled = false;
			this.isSharingScreen = false;
			this.audioOnlyFallback = false;   // the camera failed and the call went on with audio only

			/* Callbacks (assign functions; every one is optional) */
			this.onIncomingCall = null;          // (data of CALL_INCOMING)
			this.onIncomingCallStopped = null;   // ({callId, reason}) a call stopped ringing here
			this.onCallStarted = null;           // (call) this device started a call
			this.onStatusChanged = null;         // ({callId, status, previousStatus})
			this.onParticipantJoined = null;     // ({callId, userId, userName, avatar})
			this.onParticipantLeft = null;       // ({callId, userId, userName, reason, message?})
			this.onParticipantMediaChanged = null; // ({callId, userId, isMuted, isVideoEnabled, isSharingScreen})
			this.onCallEnded = null;             // ({callId, status, duration, endedBy, reason, current})
			this.onCallLeft = null;              // ({callId, reason, message?}) this device is out, the call goes on
			this.onLocalStream = null;           // (stream, {audioOnly}) what this device sends (video preview)
			this.onRemoteStream = null;          // (userId, stream)
			this.onRemoteStreamRemoved = null;   // (userId)
			this.onQualityStats = null;          // (userId, {direction, bitrate, packetsLost, lossRate, jitter, ...})
			this.onConnectionStateChanged = null; // (state)
			this.onError = null;                 // (CallsError)

			/* Internals */
			this._janus = null;
			this._pub = null;
			this._sub = null;
			this._call = null;            // {id, type, status, initiatorId, startedAt, connectedAt, participants: Map}
			this._incoming = new Map();   // callId -> CALL_INCOMING data, while it rings here
			this._pendingStart = null;    // {resolve, reject} while CALL_INITIATE waits for CALL_STARTED
			this._leaving = null;         // callId this device is leaving
			this._waiters = [];           // asynchronous replies awaited, see _expect
			this._localStream = null;     // camera + microphone as captured
			this._cameraTrack = null;
			this._audioTrack = null;
			this._screenTrack = null;
			this._midMap = new Map();     // subscriber mid -> {mid, userId, userName, kind, active}
			this._remote = new Map();     // userId -> MediaStream
			this._watchedPcs = new WeakSet();
			this._subChain = Promise.resolve();
			this._statsTimer = null;
			this._prevStats = new Map();
			this._ice = { pub: { timer: null, restarts: 0 }, sub: { timer: null, restarts: 0 } };
			this._skewMs = 0;             // server clock - local clock, from event timestamps
			this._closing = false;
			this._reconnecting = false;
			this._onOnline = () => {
				/* the network came back (e.g. another Wi-Fi): new paths may be needed */
				if (this._call && this.connectionState === 'connected')
					this.restartIce().catch((err) => this._log('ICE restart after going online failed', err));
			};
			if (typeof global.addEventListener === 'function')
				global.addEventListener('online', this._onOnline);
		}

		/* ---- Logging ------------------------------------------------------------------ */

		_log(...args) {
			if (this.debug)
				console.log('[calls]', ...args);
		}

		_warn(...args) {
			console.warn('[calls]', ...args);
		}

		_emit(name, ...args) {
			const fn = this[name];
			if (typeof fn !== 'function')
				return;
			try {
				fn.apply(this, args);
			} catch (err) {
				console.error(`[calls] ${name} callback threw`, err);
			}
		}

		_fail(err) {
			const e = err instanceof CallsError ? err : new CallsError('INTERNAL', String(err && err.message || err), { cause: err });
			this._warn(e.code, e.message);
			this._emit('onError', e);
			return e;
		}

		/* ---- Session, handles, identity ----------------------------------------------------- */

		/** Open the Janus session, attach the two handles and register them.
		 * Resolves with the user {userId, userName, avatar}. */
		async connect() {
			if (this.connectionState === 'connected')
				return this.user;
			this._closing = false;
			this._setConnectionState('connecting');
			try {
				await initJanus(this.debug);
				await this._openSession();
			} catch (err) {
				this._setConnectionState('disconnected');
				throw err instanceof CallsError ? err : new CallsError('TRANSPORT', String(err && err.message || err));
			}
			this._setConnectionState('connected');
			return this.user;
		}

		/** Leave the current call (if any), release media and destroy the Janus session. */
		async disconnect() {
			if (this._call && !this._leaving) {
				try {
					await this.endCall();
				} catch (err) {
					this._log('leaving the call on disconnect failed', err);
				}
			}
			this._closing = true;
			if (typeof global.removeEventListener === 'function')
				global.removeEventListener('online', this._onOnline);
			this._cleanupCall();
			for (const callId of this._incoming.keys())
				this._emit('onIncomingCallStopped', { callId, reason: 'DISCONNECTED' });
			this._incoming.clear();
			const janus = this._janus;
			this._janus = this._pub = this._sub = null;
			if (janus) {
				await new Promise((resolve) => {
					janus.destroy({ cleanupHandles: true, notifyDestroyed: false, success: resolve, error: resolve });
					setTimeout(resolve, 3000);
				});
			}
			this._setConnectionState('disconnected');
		}

		_setConnectionState(state) {
			if (this.connectionState === state)
				return;
			this._log('connection:', this.connectionState, '->', state);
			this.connectionState = state;
			this._emit('onConnectionStateChanged', state);
		}

		/* A new Janus session with both handles registered. */
		async _openSession() {
			const janus = await new Promise((resolve, reject) => {
				let settled = false;
				const j = new global.Janus({
					server: this.server,
					iceServers: this.iceServers,
					apisecret: this.apisecret,
					token: this.janusToken,
					success: () => { settled = true; resolve(j); },
					error: (why) => {
						if (!settled) {
							settled = true;
							reject(new CallsError('TRANSPORT', `cannot reach Janus at ${this.server}: ${why}`));
						} else if (this._janus === j) {
							this._onTransportLost(why);
						}
					},
					destroyed: () => this._log('Janus session destroyed'),
				});
			});
			this._janus = janus;
			try {
				this._pub = await this._attach(janus, 'pub');
				this._sub = await this._attach(janus, 'sub');
				const user = await this._register(this._pub, true);
				await this._register(this._sub, false);
				this.user = user;
			} catch (err) {
				this._janus = this._pub = this._sub = null;
				janus.destroy({ cleanupHandles: true, notifyDestroyed: false });
				throw err;
			}
		}

		_attach(janus, role) {
			return new Promise((resolve, reject) => {
				let handle = null;
				janus.attach({
					plugin: PLUGIN,
					opaqueId: `calls-${role}-${Math.random().toString(36).slice(2, 10)}`,
					success: (h) => { handle = h; handle.role = role; resolve(h); },
					error: (why) => reject(new CallsError('TRANSPORT', `cannot attach to ${PLUGIN}: ${why}`)),
					onmessage: (msg, jsep) => this._onMessage(handle, msg, jsep),
					iceState: (state) => this._onIceState(handle, state),
					webrtcState: (up, reason) => this._log(role, 'PeerConnection', up ? 'up' : `down (${reason || 'no reason'})`),
					mediaState: (kind, on, mid) => this._log(role, 'media', kind, mid, on ? 'flowing' : 'stopped'),
					slowLink: (uplink, lost, mid) => this._log(role, 'slow link', uplink ? 'uplink' : 'downlink', 'lost', lost, 'mid', mid),
					onremotetrack: (track, mid, on) => this._log(role, 'remote track', track.kind, 'mid', mid, on ? 'added' : 'removed'),
					oncleanup: () => this._log(role, 'PeerConnection closed'),
					ondetached: () => this._log(role, 'handle detached'),
				});
			});
		}

		async _register(handle, events) {
			const message = { request: 'register' };
			if (typeof this.identity === 'string') {
				message.token = this.identity;
			} else {
				const id = this.identity || {};
				message.userId = id.userId;
				if (id.userName)
					message.userName = id.userName;
				if (id.avatar)
					message.avatar = id.avatar;
			}
			if (!events)
				message.events = false;
			const body = await this._request(handle, message);
			return body.user;
		}

		/* ---- Requests ---------------------------------------------------------------------- */

		/* A synchronous request (register, or a route): resolves with the answer's body. */
		_request(handle, message) {
			return new Promise((resolve, reject) => {
				if (!handle || this.connectionState === 'reconnecting' && message.request !== 'register')
					return reject(new CallsError('NOT_CONNECTED', 'not connected to the server'));
				this._log('->', message.request, message.body || message.query || '');
				handle.send({
					message,
					success: (data) => {
						if (!data)
							return reject(new CallsError('INTERNAL', `${message.request}: the server sent no answer`));
						if (data.error || data.status >= 400) {
							const e = data.error || {};
							return reject(new CallsError(e.code || 'INTERNAL', e.message || `${message.request} failed`, { status: data.status }));
						}
						resolve(data.body || {});
					},
					error: (why) => reject(new CallsError('TRANSPORT', `${message.request}: ${why}`)),
				});
			});
		}

		/** Any route of the REST contract: route('GET /calls/active', {query}) */
		route(request, { body, query } = {}) {
			const message = { request };
			if (body !== undefined)
				message.body = body;
			if (query !== undefined)
				message.query = query;
			return this._request(this._pub, message);
		}

		/* An event of the WebSocket contract; resolves once Janus has it (ack). */
		_event(handle, name, data, jsep) {
			return new Promise((resolve, reject) => {
				if (!handle)
					return reject(new CallsError('NOT_CONNECTED', 'not connected to the server'));
				this._log('->', name, data, jsep ? `(${jsep.type}, ${jsep.sdp.length} bytes of SDP)` : '');
				handle.send({
					message: { event: name, timestamp: new Date().toISOString(), data },
					jsep: jsep || undefined,
					success: () => resolve(),
					error: (why) => reject(new CallsError('TRANSPORT', `${name}: ${why}`)),
				});
			});
		}

		/* Wait for the event `okName` on `handle` answering request `request`
		 * (an ERROR event naming `request` rejects). Register it before sending. */
		_expect(handle, okName, request, callId, timeoutMs) {
			let waiter;
			const promise = new Promise((resolve, reject) => {
				waiter = { handle, okName, request, callId, resolve, reject };
				waiter.timer = setTimeout(() => {
					this._waiters = this._waiters.filter((w) => w !== waiter);
					reject(new CallsError('TIMEOUT', `no ${okName} from the server within ${Math.round((timeoutMs || REPLY_TIMEOUT_MS) / 1000)} s`));
				}, timeoutMs || REPLY_TIMEOUT_MS);
			});
			this._waiters.push(waiter);
			promise.cancel = () => {
				clearTimeout(waiter.timer);
				this._waiters = this._waiters.filter((w) => w !== waiter);
			};
			return promise;
		}

		/* Give an incoming event to its waiter; true if one took it. */
		_settleWaiter(handle, msg, jsep) {
			const data = msg.data || {};
			for (const w of this._waiters) {
				if (w.handle !== handle)
					continue;
				if (w.callId && data.callId && w.callId !== data.callId)
					continue;
				if (msg.event === 'ERROR' && data.event === w.request) {
					clearTimeout(w.timer);
					this._waiters = this._waiters.filter((x) => x !== w);
					w.reject(new CallsError(data.code || 'INTERNAL', data.message || `${w.request} failed`, { status: data.status }));
					return true;
				}
				if (msg.event === w.okName) {
					clearTimeout(w.timer);
					this._waiters = this._waiters.filter((x) => x !== w);
					w.resolve({ data, jsep });
					return true;
				}
			}
			return false;
		}

		/* ---- Incoming events ------------------------------------------------------------- */

		_onMessage(handle, msg, jsep) {
			if (!msg || !msg.event) {
				this._log('<- (not a call event)', msg);
				return;
			}
			const data = msg.data || {};
			this._log('<-', handle.role, msg.event, data, jsep ? `(${jsep.type})` : '');
			if (msg.timestamp) {
				const t = Date.parse(msg.timestamp);
				if (!Number.isNaN(t))
					this._skewMs = t - Date.now();
			}
			const taken = this._settleWaiter(handle, msg, jsep);
			switch (msg.event) {
				case 'CALL_INCOMING': return this._onIncoming(data);
				case 'CALL_STARTED': return this._onStarted(data);
				case 'CALL_STATUS_CHANGED': return this._onStatus(data, msg.timestamp);
				case 'CALL_PARTICIPANT_JOINED': return this._onJoined(data);
				case 'CALL_PARTICIPANT_LEFT': return this._onLeft(data);
				case 'CALL_PARTICIPANT_MEDIA_CHANGED': return this._onMediaChanged(data);
				case 'CALL_ENDED': return this._onEnded(data);
				case 'WEBRTC_OFFER_RECEIVED': return this._onSubscriberOffer(data, jsep);
				case 'WEBRTC_ANSWER_RECEIVED':
					if (!taken)
						this._log('an answer nobody waited for (ignored)');
					return;
				case 'ERROR':
					if (!taken && data.callId && (!this._call || this._call.id !== data.callId)) {
						/* about a call we are no longer in (e.g. a subscription racing its end) */
						this._log('error about call', data.callId, 'ignored:', data.code, data.message);
						return;
					}
					if (!taken)
						this._fail(new CallsError(data.code || 'INTERNAL', data.message || 'the server reported an error',
							{ status: data.status, event: data.event, callId: data.callId }));
					return;
				default:
					this._log('unknown event', msg.event);
			}
		}

		_onIncoming(data) {
			if (this._call && this._call.id === data.callId)
				return;
			this._incoming.set(data.callId, data);
			this._emit('onIncomingCall', data);
		}

		_onStarted(data) {
			const pending = this._pendingStart;
			if (!pending || this._call) {
				this._log('call', data.callId, 'was started on another device of this user');
				return;
			}
			this._pendingStart = null;
			this._adoptCall(data.call);
			this._emit('onCallStarted', this.getCallState());
			pending.resolve(this.getCallState());
			if (!isFinal(data.call.status))
				this._startMedia();
		}

		_onStatus(data, timestamp) {
			const call = this._call;
			if (!call || call.id !== data.callId) {
				const inc = this._incoming.get(data.callId);
				if (inc)
					inc.status = data.status;
				return;
			}
			call.status = data.status;
			if (data.status === 'CONNECTED' && !call.connectedAt)
				call.connectedAt = timestamp || new Date(this.serverNow()).toISOString();
			this._emit('onStatusChanged', data);
		}

		_onJoined(data) {
			const me = this.user && this.user.userId;
			if (this._incoming.has(data.callId) && data.userId === me) {
				/* another device of this user took the call */
				this._incoming.delete(data.callId);
				this._emit('onIncomingCallStopped', { callId: data.callId, reason: 'ANSWERED_ELSEWHERE' });
				return;
			}
			const call = this._call;
			if (!call || call.id !== data.callId)
				return;
			const p = call.participants.get(data.userId) || { userId: data.userId, role: 'PARTICIPANT' };
			Object.assign(p, { userName: data.userName, avatar: data.avatar, status: 'JOINED', leftAt: null });
			call.participants.set(data.userId, p);
			this._emit('onParticipantJoined', data);
		}

		_onLeft(data) {
			const me = this.user && this.user.userId;
			if (this._incoming.has(data.callId) && data.userId === me) {
				this._incoming.delete(data.callId);
				this._emit('onIncomingCallStopped', {
					callId: data.callId, reason: data.reason === 'DECLINED' ? 'DECLINED_ELSEWHERE' : data.reason,
				});
				return;
			}
			const call = this._call;
			if (!call || call.id !== data.callId)
				return;
			const p = call.participants.get(data.userId);
			if (p)
				p.status = LEFT_STATUS[data.reason] || 'LEFT';
			if (data.userId === me) {
				if (this._leaving === data.callId)
					return;
				/* The server took this device out of the call (connect timeout,
				 * reconnect grace over, removed by an administrator) */
				this._cleanupCall();
				this._emit('onCallLeft', { callId: data.callId, reason: data.reason, message: data.message });
				return;
			}
			this._emit('onParticipantLeft', data);
		}

		_onMediaChanged(data) {
			const call = this._call;
			if (!call || call.id !== data.callId)
				return;
			const p = call.participants.get(data.userId);
			if (p)
				Object.assign(p, { isMuted: data.isMuted, isVideoEnabled: data.isVideoEnabled, isSharingScreen: data.isSharingScreen });
			this._emit('onParticipantMediaChanged', data);
		}

		_onEnded(data) {
			const call = this._call;
			if (call && call.id === data.callId) {
				call.status = data.status;
				this._cleanupCall();
				this._emit('onCallEnded', Object.assign({}, data, { current: true }));
				return;
			}
			if (this._incoming.has(data.callId)) {
				this._incoming.delete(data.callId);
				this._emit('onIncomingCallStopped', { callId: data.callId, reason: data.reason || data.status });
			}
			this._emit('onCallEnded', Object.assign({}, data, { current: false }));
		}

		/* ---- The call ---------------------------------------------------------------------- */

		_adoptCall(call) {
			const participants = new Map();
			for (const p of call.participants || [])
				participants.set(p.userId, Object.assign({}, p));
			this._call = {
				id: call.id, type: call.type, status: call.status, chatId: call.chatId,
				initiatorId: call.initiatorId, startedAt: call.startedAt, connectedAt: call.connectedAt,
				participants,
			};
			this.currentCallId = call.id;
		}

		/** A snapshot of the current call, or null: {id, type, status, initiatorId,
		 * startedAt, connectedAt, participants: [{userId, userName, status, isMuted, ...}]} */
		getCallState() {
			const c = this._call;
			if (!c)
				return null;
			return Object.assign({}, c, { participants: Array.from(c.participants.values(), (p) => Object.assign({}, p)) });
		}

		/** The calls ringing this device now (CALL_INCOMING data). */
		getIncomingCalls() {
			return Array.from(this._incoming.values());
		}

		/** The server's clock (ms since the epoch), from the timestamps of its events. */
		serverNow() {
			return Date.now() + this._skewMs;
		}

		_requireCall() {
			if (!this._call)
				throw new CallsError('NO_CALL', 'there is no current call');
			return this._call;
		}

		/** Ask for camera/microphone and call `participantIds` ('AUDIO' or 'VIDEO').
		 * Resolves with the call (it may already be over: everybody busy). */
		async startCall(participantIds, type, options) {
			if (this._call || this._pendingStart)
				throw new CallsError('INVALID_STATE', 'you are already in a call: end it first');
			if (!Array.isArray(participantIds) || participantIds.length === 0)
				throw new CallsError('INVALID_REQUEST', 'pick at least one person to call');
			type = type === 'AUDIO' ? 'AUDIO' : 'VIDEO';
			await this._acquireMedia(type);
			const data = { participantIds, type };
			if (options && options.chatId)
				data.chatId = options.chatId;
			const started = new Promise((resolve, reject) => { this._pendingStart = { resolve, reject }; });
			const failed = this._expect(this._pub, '\u0000never', 'CALL_INITIATE', null, REPLY_TIMEOUT_MS);
			try {
				await this._event(this._pub, 'CALL_INITIATE', data);
				return await Promise.race([started, failed]);
			} catch (err) {
				this._pendingStart = null;
				this._releaseMedia();
				throw err;
			} finally {
				failed.cancel();
				failed.catch(() => {});
			}
		}

		/** Ask for camera/microphone, then take the call `callId` that rings here. */
		async answerCall(callId) {
			const inc = this._incoming.get(callId);
			if (!inc)
				throw new CallsError('CALL_NOT_FOUND', 'this call is not ringing here any more');
			if (this._call)
				throw new CallsError('INVALID_STATE', 'you are already in a call: end it first');
			await this._acquireMedia(inc.type);
			if (!this._incoming.has(callId)) {
				this._releaseMedia();
				throw new CallsError('INVALID_STATE', 'the call stopped ringing');
			}
			/* Become the current call before answering: the events the answer
			 * causes arrive before the answer itself */
			this._adoptCall({
				id: callId, type: inc.type, status: inc.status || 'RINGING', chatId: inc.chatId,
				initiatorId: inc.initiatorId, participants: inc.participants,
			});
			this._incoming.delete(callId);
			let body;
			try {
				body = await this.route(`POST /calls/${callId}/answer`, { body: { accept: true } });
			} catch (err) {
				this._call = null;
				this.currentCallId = null;
				this._releaseMedia();
				throw err;
			}
			if (this._call && this._call.id === callId) {
				const connectedAt = this._call.connectedAt;
				this._adoptCall(body.call);
				this._call.connectedAt = body.call.connectedAt || connectedAt;
				this._startMedia();
			}
			return this.getCallState();
		}

		/** Decline a call that rings here; `reason` is shown to the caller. */
		async declineCall(callId, reason) {
			const inc = this._incoming.get(callId);
			this._incoming.delete(callId);
			const body = { accept: false };
			if (reason)
				body.reason = String(reason).slice(0, 500);
			try {
				await this.route(`POST /calls/${callId}/answer`, { body });
			} catch (err) {
				if (inc && err.code !== 'INVALID_STATE' && err.code !== 'CALL_NOT_FOUND')
					this._incoming.set(callId, inc);
				throw err;
			}
		}

		/** Leave the current call; {forEveryone: true} (initiator only) ends it for all. */
		async endCall(options) {
			const call = this._requireCall();
			const forEveryone = !!(options && options.forEveryone);
			this._leaving = call.id;
			let error = null;
			try {
				await this.route(`POST /calls/${call.id}/end`, forEveryone ? { body: { forEveryone: true } } : { body: {} });
			} catch (err) {
				error = err;
			}
			/* Out of the call whatever the server said: release everything */
			const stillHere = this._call && this._call.id === call.id;
			this._cleanupCall();
			this._leaving = null;
			if (stillHere)
				this._emit('onCallLeft', { callId: call.id, reason: 'LEFT' });
			if (error && error.code !== 'INVALID_STATE' && error.code !== 'CALL_NOT_FOUND')
				throw error;
		}

		/** Invite more people into the current call. */
		async addParticipants(participantIds) {
			const call = this._requireCall();
			const body = await this.route(`POST /calls/${call.id}/participants`, { body: { participantIds } });
			if (this._call && this._call.id === call.id && body.call) {
				for (const p of body.call.participants) {
					const known = this._call.participants.get(p.userId);
					this._call.participants.set(p.userId, Object.assign(known || {}, p));
				}
			}
			return this.getCallState();
		}

		/** Finished calls of this user, newest first: {calls, page, limit, total}.
		 * filters: {type, status, chatId, page, limit} */
		getHistory(filters) {
			const query = {};
			for (const key of ['type', 'status', 'chatId', 'page', 'limit']) {
				if (filters && filters[key] !== undefined && filters[key] !== null && filters[key] !== '')
					query[key] = filters[key];
			}
			return this.route('GET /calls/history', { query });
		}

		/** Live calls of this user: {calls, page, limit, total}. */
		getActiveCalls(options) {
			const query = {};
			if (options && options.page)
				query.page = options.page;
			if (options && options.limit)
				query.limit = options.limit;
			return this.route('GET /calls/active', { query });
		}

		/** One call, live or finished (you must have taken part). */
		async getCall(callId) {
			const body = await this.route(`GET /calls/${callId}`);
			return body.call;
		}

		/** The participants of the current call, with the server's media stats. */
		async getParticipants() {
			const call = this._requireCall();
			const body = await this.route(`GET /calls/${call.id}/participants`);
			return body.participants;
		}

		/** Who is online (the server must run with presence = true). */
		async getOnlineUsers() {
			const body = await this.route('GET /users/online');
			return body.users;
		}

		/* ---- Local media --------------------------------------------------------------------- */

		/* Camera and microphone, asked for before calling or answering. A VIDEO
		 * call goes on with audio only when the camera fails. */
		async _acquireMedia(type) {
			this._releaseMedia();
			const md = navigator.mediaDevices;
			if (!md || !md.getUserMedia)
				throw new CallsError('MEDIA_DENIED', 'this browser cannot capture media here (it needs https or localhost)');
			let stream = null;
			this.audioOnlyFallback = false;
			if (type === 'VIDEO') {
				try {
					stream = await md.getUserMedia({ audio: this.audioConstraints, video: this.videoConstraints });
				} catch (err) {
					this._warn('camera + microphone failed, trying the microphone alone:', err && err.name, err && err.message);
					this.audioOnlyFallback = true;
				}
			}
			if (!stream) {
				try {
					stream = await md.getUserMedia({ audio: this.audioConstraints, video: false });
				} catch (err) {
					this.audioOnlyFallback = false;
					throw mediaError(err, 'the microphone cannot be used');
				}
			}
			this._localStream = stream;
			this._audioTrack = stream.getAudioTracks()[0] || null;
			this._cameraTrack = stream.getVideoTracks()[0] || null;
			this.isMuted = false;
			this.isVideoEnabled = !!this._cameraTrack;
			this.isSharingScreen = false;
			if (this.audioOnlyFallback)
				this._fail(new CallsError('CAMERA_UNAVAILABLE', 'the camera cannot be used: the call goes on with audio only'));
			this._emitLocal();
			return stream;
		}

		_releaseMedia() {
			for (const t of [this._audioTrack, this._cameraTrack, this._screenTrack]) {
				if (t)
					t.stop();
			}
			if (this._localStream)
				this._localStream.getTracks().forEach((t) => t.stop());
			this._localStream = this._audioTrack = this._cameraTrack = this._screenTrack = null;
			this.isSharingScreen = false;
		}

		/* What this device sends, for a preview (video only: no echo). */
		_emitLocal() {
			const video = this._screenTrack || this._cameraTrack;
			const stream = new MediaStream(video ? [video] : []);
			this._emit('onLocalStream', stream, { audioOnly: !video, screen: !!this._screenTrack });
		}

		/** The camera + microphone stream of this device, or null. */
		getLocalStream() {
			return this._localStream;
		}

		async _updateMedia(flags) {
			const call = this._requireCall();
			const body = await this.route(`PATCH /calls/${call.id}/media`, { body: flags });
			return body.participant;
		}

		/** Mute or unmute the microphone; resolves with isMuted. */
		async toggleAudio() {
			this._requireCall();
			if (!this._audioTrack)
				throw new CallsError('UNSUPPORTED', 'there is no microphone in this call');
			this.isMuted = !this.isMuted;
			this._audioTrack.enabled = !this.isMuted;
			await this._updateMedia({ isMuted: this.isMuted });
			return this.isMuted;
		}

		/** Turn the camera (or the shared screen) off or on; resolves with isVideoEnabled. */
		async toggleVideo() {
			const call = this._requireCall();
			const track = this._screenTrack || this._cameraTrack;
			if (call.type !== 'VIDEO' || !track)
				throw new CallsError('UNSUPPORTED', call.type !== 'VIDEO' ? 'this is an audio call' : 'there is no camera in this call');
			this.isVideoEnabled = !this.isVideoEnabled;
			track.enabled = this.isVideoEnabled;
			await this._updateMedia({ isVideoEnabled: this.isVideoEnabled });
			return this.isVideoEnabled;
		}

		/** Send the screen instead of the camera (same m-line: sender.replaceTrack). */
		async shareScreen() {
			const call = this._requireCall();
			if (this._screenTrack)
				return;
			if (call.type !== 'VIDEO')
				throw new CallsError('UNSUPPORTED', 'screen sharing needs a VIDEO call');
			if (!navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia)
				throw new CallsError('UNSUPPORTED', 'this browser cannot share the screen');
			let display;
			try {
				display = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
			} catch (err) {
				throw mediaError(err, 'the screen cannot be shared');
			}
			const track = display.getVideoTracks()[0];
			try {
				track.contentHint = 'detail';   // keep the resolution, text must stay readable
			} catch (err) { /* older browsers */ }
			track.addEventListener('ended', () => {
				/* the browser's own "Stop sharing" button */
				if (this._screenTrack === track)
					this.stopScreenShare().catch((e) => this._fail(e));
			});
			this._screenTrack = track;
			try {
				await this._sendVideo(track);
			} catch (err) {
				this._screenTrack = null;
				track.stop();
				throw err;
			}
			this.isSharingScreen = true;
			this.isVideoEnabled = true;   // the SFU forwards video only when it is enabled
			this._emitLocal();
			await this._updateMedia({ isSharingScreen: true, isVideoEnabled: true });
		}

		/** Back to the camera. */
		async stopScreenShare() {
			const track = this._screenTrack;
			if (!track)
				return;
			this._screenTrack = null;
			const camera = this._cameraTrack;
			if (this._call)
				await this._sendVideo(camera);
			track.stop();
			this.isSharingScreen = false;
			this.isVideoEnabled = !!camera && camera.enabled;
			this._emitLocal();
			if (this._call)
				await this._updateMedia({ isSharingScreen: false, isVideoEnabled: this.isVideoEnabled });
		}

		/* Put `track` on the publisher's video m-line; without one (an audio-only
		 * fallback), renegotiate to add it. */
		async _sendVideo(track) {
			const pc = this._pub && this._pub.webrtcStuff && this._pub.webrtcStuff.pc;
			const transceiver = pc && pc.getTransceivers().find((t) =>
				t.receiver && t.receiver.track && t.receiver.track.kind === 'video' && !t.stopped);
			if (transceiver) {
				this._log('replacing the outgoing video track with', track ? track.label : 'nothing');
				await transceiver.sender.replaceTrack(track);
				return;
			}
			if (!track)
				return;
			this._log('no video m-line yet: renegotiating to add one');
			await this._publish({ tracks: [{ type: 'video', capture: track, recv: false, dontStop: true }] });
		}

		/* ---- Media through the SFU ------------------------------------------------------------ */

		/* Publish this device's media and subscribe to everybody else's. */
		async _startMedia() {
			const call = this._call;
			if (!call)
				return;
			this._startStats();
			try {
				const tracks = [];
				if (this._audioTrack)
					tracks.push({ type: 'audio', capture: this._audioTrack, recv: false, dontStop: true });
				const video = this._screenTrack || this._cameraTrack;   // sharing survives a rejoin
				if (video && call.type === 'VIDEO')
					tracks.push({ type: 'video', capture: video, recv: false, dontStop: true });
				await Promise.all([this._publish({ tracks }), this._subscribe(false)]);
				/* Tell the others what we are not sending */
				const flags = {};
				if (this.isMuted)
					flags.isMuted = true;
				if (call.type === 'VIDEO' && !this.isVideoEnabled)
					flags.isVideoEnabled = false;
				if (Object.keys(flags).length && this._call === call)
					await this._updateMedia(flags);
			} catch (err) {
				if (this._call === call)
					this._fail(err);
			}
		}

		/* An offer on the publisher handle (first publish, renegotiation, ICE restart). */
		async _publish({ tracks, iceRestart } = {}) {
			const call = this._requireCall();
			const handle = this._pub;
			const offer = await new Promise((resolve, reject) => {
				handle.createOffer({
					tracks: tracks || [],
					iceRestart: !!iceRestart,
					success: resolve,
					error: (err) => reject(new CallsError('WEBRTC', `creating the offer failed: ${err && err.message || err}`)),
				});
			});
			if (this._call !== call || this._pub !== handle) {
				/* the call ended while the offer was made: drop the PeerConnection it left */
				this._dropPc(handle);
				return;
			}
			const reply = this._expect(handle, 'WEBRTC_ANSWER_RECEIVED', 'WEBRTC_OFFER', call.id);
			try {
				await this._event(handle, 'WEBRTC_OFFER', { callId: call.id }, offer);
			} catch (err) {
				reply.cancel();
				throw err;
			}
			const { jsep } = await reply;
			if (this._call !== call || this._pub !== handle)
				return;
			await new Promise((resolve, reject) => {
				handle.handleRemoteJsep({
					jsep,
					success: resolve,
					error: (err) => reject(new CallsError('WEBRTC', `the server's answer was refused: ${err && err.message || err}`)),
				});
			});
			this._log(iceRestart ? 'publishing again (ICE restarted) to call' : 'publishing to call', call.id);
		}

		async _subscribe(restart) {
			const call = this._requireCall();
			const data = { callId: call.id };
			if (restart)
				data.restart = true;
			await this._event(this._sub, 'CALL_SUBSCRIBE', data);
		}

		/* Offers on the subscriber handle are answered one at a time, in order. */
		_onSubscriberOffer(data, jsep) {
			const handle = this._sub;
			this._subChain = this._subChain
				.then(() => this._answerSubscriberOffer(handle, data, jsep))
				.catch((err) => this._fail(err));
		}

		async _answerSubscriberOffer(handle, data, jsep) {
			const call = this._call;
			if (!call || call.id !== data.callId || handle !== this._sub || !jsep) {
				this._log('an offer for a call we are not in (ignored)', data.callId);
				return;
			}
			const map = new Map();
			for (const s of data.streams || [])
				map.set(String(s.mid), s);
			this._midMap = map;
			const answer = await new Promise((resolve, reject) => {
				handle.createAnswer({
					jsep,
					tracks: [],
					success: resolve,
					error: (err) => reject(new CallsError('WEBRTC', `answering the server's offer failed: ${err && err.message || err}`)),
				});
				/* janus.js made the PeerConnection synchronously; its `track`
				 * events fire later, once the offer is applied */
				this._watchSubscriberPc(handle);
			});
			if (this._call !== call || this._sub !== handle) {
				this._dropPc(handle);
				return;
			}
			await this._event(handle, 'WEBRTC_ANSWER', { callId: call.id }, answer);
			this._reconcileRemote(handle);
		}

		_watchSubscriberPc(handle) {
			const pc = handle.webrtcStuff && handle.webrtcStuff.pc;
			if (!pc || this._watchedPcs.has(pc))
				return;
			this._watchedPcs.add(pc);
			pc.addEventListener('track', (ev) => this._onRemoteTrack(handle, ev));
			pc.addEventListener('signalingstatechange', () => this._log('sub signaling', pc.signalingState));
			pc.addEventListener('connectionstatechange', () => this._log('sub connection', pc.connectionState));
		}

		/* A remote track: its stream's id is the userId of whoever sends it. */
		_onRemoteTrack(handle, ev) {
			if (handle !== this._sub)
				return;
			const mid = ev.transceiver ? String(ev.transceiver.mid) : null;
			const info = mid !== null ? this._midMap.get(mid) : null;
			const stream = ev.streams && ev.streams[0];
			const userId = stream ? stream.id : (info && info.userId);
			if (info && info.userId && userId !== info.userId)
				this._warn(`mid ${mid}: the stream id says ${userId}, the offer's streams list says ${info.userId}`);
			if (!userId || userId === '-')
				return;
			this._log('remote', ev.track.kind, 'of', userId, 'on mid', mid);
			let target = stream;
			if (!target) {
				target = this._remote.get(userId) || new MediaStream();
				if (!target.getTracks().includes(ev.track))
					target.addTrack(ev.track);
			}
			this._remote.set(userId, target);
			this._emit('onRemoteStream', userId, target);
		}

		/* After each subscriber offer: who is gone, who came without a track event. */
		_reconcileRemote(handle) {
			const active = new Map();
			for (const s of this._midMap.values()) {
				if (s.active && s.userId) {
					if (!active.has(s.userId))
						active.set(s.userId, []);
					active.get(s.userId).push(String(s.mid));
				}
			}
			for (const userId of Array.from(this._remote.keys())) {
				if (!active.has(userId)) {
					this._remote.delete(userId);
					this._log('remote stream of', userId, 'removed');
					this._emit('onRemoteStreamRemoved', userId);
				}
			}
			const pc = handle.webrtcStuff && handle.webrtcStuff.pc;
			for (const [userId, mids] of active) {
				if (this._remote.has(userId) || !pc)
					continue;
				const tracks = pc.getTransceivers().filter((t) => mids.includes(String(t.mid))).map((t) => t.receiver.track);
				if (tracks.length) {
					const stream = new MediaStream(tracks);
					this._remote.set(userId, stream);
					this._emit('onRemoteStream', userId, stream);
				}
			}
		}

		/** The MediaStream of a remote participant, or null. */
		getRemoteStream(userId) {
			return this._remote.get(userId) || null;
		}

		/* ---- Connection trouble ---------------------------------------------------------------- */

		/** Restart ICE on both PeerConnections now (it happens by itself when a
		 * connection fails; call it after a network change you know of). */
		async restartIce() {
			this._requireCall();
			for (const role of ['pub', 'sub'])
				this._ice[role].restarts = 0;
			await Promise.all([this._restartIce(this._pub), this._restartIce(this._sub)]);
		}

		_onIceState(handle, state) {
			if (!handle)
				return;
			const role = handle.role;
			this._log(role, 'ICE', state);
			const ice = this._ice[role];
			clearTimeout(ice.timer);
			ice.timer = null;
			if (state === 'connected' || state === 'completed') {
				ice.restarts = 0;
			} else if (state === 'failed') {
				this._restartIce(handle);
			} else if (state === 'disconnected') {
				/* often back by itself within a few seconds */
				ice.timer = setTimeout(() => this._restartIce(handle), ICE_DISCONNECTED_GRACE_MS);
			}
		}

		async _restartIce(handle) {
			const role = handle.role;
			const ice = this._ice[role];
			if (!this._call || this._reconnecting || (role === 'pub' ? this._pub : this._sub) !== handle)
				return;
			if (ice.restarts >= ICE_MAX_RESTARTS) {
				this._fail(new CallsError('ICE_FAILED', `the ${role === 'pub' ? 'sending' : 'receiving'} connection failed ${ICE_MAX_RESTARTS} times`));
				return;
			}
			ice.restarts++;
			this._log(role, 'restarting ICE, attempt', ice.restarts);
			try {
				if (role === 'pub')
					await this._publish({ iceRestart: true });
				else
					await this._subscribe(true);
			} catch (err) {
				this._fail(err);
			}
		}

		/* The WebSocket closed. Reclaim the session (the server keeps it for
		 * reclaim_session_timeout), else open a new one and rejoin the call
		 * within its reconnect grace. */
		_onTransportLost(why) {
			if (this._closing || this._reconnecting)
				return;
			this._warn('lost the connection to the server:', why);
			this._reconnecting = true;
			this._setConnectionState('reconnecting');
			this._reconnect().finally(() => { this._reconnecting = false; });
		}

		async _reconnect() {
			for (const delay of RECONNECT_DELAYS_MS) {
				await sleep(delay);
				if (this._closing)
					return;
				const janus = this._janus;
				let socket = null;
				try {
					await new Promise((resolve, reject) => {
						lastSocket = null;
						janus.reconnect({ success: resolve, error: reject });
						socket = lastSocket;
					});
					this._log('session reclaimed');
					this._setConnectionState('connected');
					await this._resync();
					return;
				} catch (err) {
					this._log('reclaiming the session failed:', err);
					/* janus.js leaves the socket of a refused claim open */
					if (socket && socket.readyState <= 1)
						socket.close();
				}
				try {
					await this._freshSession();
					return;
				} catch (err) {
					this._log('a new session failed:', err && err.message || err);
				}
			}
			this._setConnectionState('disconnected');
			const callId = this._call && this._call.id;
			this._cleanupCall();
			if (callId)
				this._emit('onCallLeft', { callId, reason: 'DISCONNECTED', message: 'the server could not be reached again' });
			this._fail(new CallsError('TRANSPORT', 'the connection to the server is lost'));
		}

		/* After a reclaimed session: events may have been lost, ask for the call. */
		async _resync() {
			const call = this._call;
			if (!call)
				return;
			let fresh;
			try {
				fresh = await this.getCall(call.id);
			} catch (err) {
				this._log('the call cannot be read after reconnecting:', err.message);
				return;
			}
			if (this._call !== call)
				return;
			if (isFinal(fresh.status)) {
				this._onEnded({ callId: fresh.id, status: fresh.status, duration: fresh.duration, endedBy: fresh.endedBy, reason: fresh.endReason });
				return;
			}
			const previous = call.status;
			this._mergeCall(fresh);
			if (previous !== fresh.status)
				this._emit('onStatusChanged', { callId: call.id, status: fresh.status, previousStatus: previous });
		}

		_mergeCall(fresh) {
			const call = this._call;
			call.status = fresh.status;
			call.connectedAt = fresh.connectedAt || call.connectedAt;
			for (const p of fresh.participants) {
				const known = call.participants.get(p.userId);
				const wasIn = known && (known.status === 'JOINED' || known.status === 'RINGING');
				call.participants.set(p.userId, Object.assign(known || {}, p));
				const isIn = p.status === 'JOINED' || p.status === 'RINGING';
				if (p.userId === (this.user && this.user.userId))
					continue;
				if (!wasIn && p.status === 'JOINED')
					this._emit('onParticipantJoined', { callId: call.id, userId: p.userId, userName: p.userName, avatar: p.avatar });
				else if (wasIn && !isIn)
					this._emit('onParticipantLeft', { callId: call.id, userId: p.userId, userName: p.userName, reason: p.status });
			}
		}

		/* The old session is gone: a new one, registered again, back into the call. */
		async _freshSession() {
			const old = { janus: this._janus, pub: this._pub, sub: this._sub };
			for (const h of [old.pub, old.sub]) {
				try {
					if (h)
						h.hangup(false);   // local cleanup only: the server has dropped them
				} catch (err) { /* already gone */ }
			}
			for (const userId of Array.from(this._remote.keys())) {
				this._remote.delete(userId);
				this._emit('onRemoteStreamRemoved', userId);
			}
			this._subChain = Promise.resolve();
			await this._openSession();
			this._setConnectionState('connected');
			this._log('new session, registered again as', this.user.userId);
			const call = this._call;
			if (!call)
				return;
			let fresh;
			try {
				fresh = await this.getCall(call.id);
			} catch (err) {
				fresh = null;
			}
			const me = fresh && fresh.participants.find((p) => p.userId === this.user.userId);
			if (!fresh || isFinal(fresh.status) || !me || me.status !== 'JOINED') {
				this._cleanupCall();
				if (fresh && isFinal(fresh.status))
					this._emit('onCallEnded', { callId: fresh.id, status: fresh.status, duration: fresh.duration, endedBy: fresh.endedBy, reason: fresh.endReason, current: true });
				else
					this._emit('onCallLeft', { callId: call.id, reason: me ? me.status : 'DISCONNECTED', message: 'the call could not be rejoined' });
				return;
			}
			this._mergeCall(fresh);
			await this._startMedia();
		}

		/* ---- Quality ----------------------------------------------------------------------- */

		_startStats() {
			this._stopStats();
			if (!this.statsInterval)
				return;
			this._statsTimer = setInterval(() => {
				this._pollStats().catch((err) => this._log('getStats failed', err));
			}, this.statsInterval);
		}

		_stopStats() {
			clearInterval(this._statsTimer);
			this._statsTimer = null;
			this._prevStats.clear();
		}

		/* Bitrate over the last interval from a byte counter. */
		_rate(key, bytes, timestamp) {
			const prev = this._prevStats.get(key);
			this._prevStats.set(key, { bytes, timestamp });
			if (!prev || timestamp <= prev.timestamp || bytes < prev.bytes)
				return 0;
			return Math.round((bytes - prev.bytes) * 8 / (timestamp - prev.timestamp));   // kbit/s (ms clock)
		}

		async _pollStats() {
			const me = this.user && this.user.userId;
			const subPc = this._sub && this._sub.webrtcStuff && this._sub.webrtcStuff.pc;
			const pubPc = this._pub && this._pub.webrtcStuff && this._pub.webrtcStuff.pc;
			if (subPc) {
				const report = await subPc.getStats();
				const perUser = new Map();
				const midOfTrack = new Map();
				for (const t of subPc.getTransceivers()) {
					if (t.receiver && t.receiver.track)
						midOfTrack.set(t.receiver.track.id, String(t.mid));
				}
				report.forEach((r) => {
					if (r.type !== 'inbound-rtp')
						return;
					const mid = r.mid !== undefined ? String(r.mid) : midOfTrack.get(r.trackIdentifier);
					const info = this._midMap.get(mid);
					if (!info || !info.active || !info.userId)
						return;
					const s = perUser.get(info.userId) || {
						direction: 'in', bitrate: 0, packetsReceived: 0, packetsLost: 0, jitter: 0,
						framesDecoded: 0, framesPerSecond: 0, frameWidth: 0, frameHeight: 0, audioLevel: null,
					};
					s.bitrate += this._rate(`in:${mid}:${info.userId}`, r.bytesReceived || 0, r.timestamp);
					s.packetsReceived += r.packetsReceived || 0;
					s.packetsLost += Math.max(0, r.packetsLost || 0);
					s.jitter = Math.max(s.jitter, Math.round((r.jitter || 0) * 1000));
					if (r.kind === 'video') {
						s.framesDecoded += r.framesDecoded || 0;
						s.framesPerSecond = r.framesPerSecond || 0;
						s.frameWidth = r.frameWidth || 0;
						s.frameHeight = r.frameHeight || 0;
					} else if (typeof r.audioLevel === 'number') {
						s.audioLevel = r.audioLevel;
					}
					perUser.set(info.userId, s);
				});
				for (const [userId, s] of perUser) {
					const key = `loss:${userId}`;
					const prev = this._prevStats.get(key);
					this._prevStats.set(key, { lost: s.packetsLost, received: s.packetsReceived });
					const dLost = prev ? Math.max(0, s.packetsLost - prev.lost) : 0;
					const dRecv = prev ? Math.max(0, s.packetsReceived - prev.received) : 0;
					s.lossRate = dLost + dRecv > 0 ? dLost / (dLost + dRecv) : 0;
					s.timestamp = Date.now();
					this._emit('onQualityStats', userId, s);
				}
			}
			if (pubPc && me) {
				const report = await pubPc.getStats();
				const s = {
					direction: 'out', bitrate: 0, packetsSent: 0, packetsLost: 0, jitter: 0, roundTripTime: null,
					frameWidth: 0, frameHeight: 0, framesPerSecond: 0, qualityLimitationReason: null,
				};
				report.forEach((r) => {
					if (r.type === 'outbound-rtp') {
						s.bitrate += this._rate(`out:${r.id}`, r.bytesSent || 0, r.timestamp);
						s.packetsSent += r.packetsSent || 0;
						if (r.kind === 'video') {
							s.frameWidth = r.frameWidth || 0;
							s.frameHeight = r.frameHeight || 0;
							s.framesPerSecond = r.framesPerSecond || 0;
							s.qualityLimitationReason = r.qualityLimitationReason || null;
						}
					} else if (r.type === 'remote-inbound-rtp') {
						s.packetsLost += Math.max(0, r.packetsLost || 0);
						s.jitter = Math.max(s.jitter, Math.round((r.jitter || 0) * 1000));
						if (typeof r.roundTripTime === 'number')
							s.roundTripTime = Math.round(r.roundTripTime * 1000);
					}
				});
				const prev = this._prevStats.get('loss:out');
				this._prevStats.set('loss:out', { lost: s.packetsLost, sent: s.packetsSent });
				const dLost = prev ? Math.max(0, s.packetsLost - prev.lost) : 0;
				const dSent = prev ? Math.max(0, s.packetsSent - prev.sent) : 0;
				s.lossRate = dSent > 0 ? Math.min(1, dLost / dSent) : 0;
				s.timestamp = Date.now();
				this._emit('onQualityStats', me, s);
			}
		}

		/* ---- Cleanup ------------------------------------------------------------------------- */

		/* Close a handle's PeerConnection, here and on the server. */
		_dropPc(handle) {
			if (!handle || !handle.webrtcStuff || !handle.webrtcStuff.pc)
				return;
			try {
				handle.hangup(this.connectionState === 'connected');
			} catch (err) {
				this._log('hangup failed', err);
			}
		}

		/* Out of the current call: close both PeerConnections, stop every track,
		 * forget remote streams. The handles stay for the next call. */
		_cleanupCall() {
			this._stopStats();
			for (const role of ['pub', 'sub']) {
				clearTimeout(this._ice[role].timer);
				this._ice[role] = { timer: null, restarts: 0 };
			}
			for (const h of [this._pub, this._sub])
				this._dropPc(h);
			for (const userId of Array.from(this._remote.keys())) {
				this._remote.delete(userId);
				this._emit('onRemoteStreamRemoved', userId);
			}
			this._midMap = new Map();
			this._subChain = Promise.resolve();
			for (const w of this._waiters.splice(0)) {
				clearTimeout(w.timer);
				w.reject(new CallsError('NO_CALL', 'the call is over'));
			}
			this._releaseMedia();
			this.isMuted = false;
			this.isVideoEnabled = false;
			this._call = null;
			this.currentCallId = null;
		}
	}

	VideoCallManager.CallsError = CallsError;
	VideoCallManager.FINAL_STATUSES = FINAL_STATUSES.slice();
	global.VideoCallManager = VideoCallManager;
	global.CallsError = CallsError;
})(typeof window !== 'undefined' ? window : globalThis);
