/* janus.plugin.calls - a call participant inside headless Chromium, for the integration tests.
 *
 * Speaks the Janus WebSocket API directly (no janus.js) with the two handles of
 * docs/media.md: a publisher handle (call events, WEBRTC_OFFER) and a subscriber
 * handle (CALL_SUBSCRIBE, answers every WEBRTC_OFFER_RECEIVED by itself). The
 * camera and microphone are Chromium's fake devices. participant.js calls the
 * functions of `window.api` and reads what they return; the page reports what
 * happens (events, errors) on the console as lines "EVENT {json}".
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
'use strict';

const report = (kind, data) => console.log('EVENT ' + JSON.stringify({ kind, data }));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/* One WebSocket to Janus: replies matched by transaction, pushes queued per handle. */
class JanusConnection {
	constructor(url) {
		this.url = url;
		this.pending = new Map();   // transaction -> {resolve, reject, timer}
		this.queues = new Map();    // handle id -> [messages], unread
		this.waiters = [];          // {handleId, match, resolve, reject, timer}
		this.seq = 0;
		this.keepalive = null;
	}

	open() {
		return new Promise((resolve, reject) => {
			this.ws = new WebSocket(this.url, 'janus-protocol');
			this.ws.onopen = () => resolve();
			this.ws.onerror = () => reject(new Error('WebSocket to Janus failed: ' + this.url));
			this.ws.onclose = () => report('ws-closed', {});
			this.ws.onmessage = (e) => this.receive(JSON.parse(e.data));
		});
	}

	receive(msg) {
		const p = this.pending.get(msg.transaction);
		if(p && ['success', 'error', 'ack'].includes(msg.janus)) {
			this.pending.delete(msg.transaction);
			clearTimeout(p.timer);
			if(msg.janus === 'error')
				p.reject(new Error('Janus error ' + msg.error.code + ': ' + msg.error.reason));
			else
				p.resolve(msg);
			return;
		}
		const hid = msg.sender;
		if(hid === undefined)
			return;
		if(!this.queues.has(hid))
			this.queues.set(hid, []);
		this.queues.get(hid).push(msg);
		for(const l of this.listeners || [])
			l(msg);
		this.dispatch(hid);
	}

	dispatch(hid) {
		const queue = this.queues.get(hid) || [];
		for(const w of [...this.waiters]) {
			if(w.handleId !== hid)
				continue;
			const i = queue.findIndex(w.match);
			if(i >= 0) {
				const [msg] = queue.splice(i, 1);
				this.waiters.splice(this.waiters.indexOf(w), 1);
				clearTimeout(w.timer);
				w.resolve(msg);
			}
		}
	}

	request(msg, timeout = 10000) {
		const transaction = msg.transaction || ('tx' + (++this.seq) + '-' + Math.random().toString(16).slice(2, 8));
		msg.transaction = transaction;
		if(this.session)
			msg.session_id = msg.session_id || this.session;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(transaction);
				reject(new Error('no reply from Janus to ' + JSON.stringify(msg).slice(0, 200)));
			}, timeout);
			this.pending.set(transaction, { resolve, reject, timer });
			this.ws.send(JSON.stringify(msg));
		});
	}

	/* The next unread message pushed to `hid` for which match(msg) holds. */
	wait(hid, match, timeout, what) {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.waiters.splice(this.waiters.indexOf(w), 1);
				reject(new Error('no ' + what + ' on handle ' + hid + ' within ' + timeout + ' ms'));
			}, timeout);
			const w = { handleId: hid, match, resolve, reject, timer };
			this.waiters.push(w);
			this.dispatch(hid);
		});
	}

	async createSession() {
		const reply = await this.request({ janus: 'create' });
		this.session = reply.data.id;
		this.keepalive = setInterval(() => this.request({ janus: 'keepalive' }).catch(() => {}), 20000);
		return this.session;
	}

	async attach() {
		const reply = await this.request({ janus: 'attach', plugin: 'janus.plugin.calls' });
		return reply.data.id;
	}

	async message(hid, body, jsep, transaction) {
		const msg = { janus: 'message', handle_id: hid, body };
		if(jsep)
			msg.jsep = jsep;
		if(transaction)
			msg.transaction = transaction;
		return this.request(msg);
	}

	async destroy() {
		clearInterval(this.keepalive);
		try {
			await this.request({ janus: 'destroy' }, 3000);
		} catch(e) {
			/* Janus may be gone already */
		}
		this.ws.close();
	}
}

const pluginEvent = (msg) => (msg.plugindata && msg.plugindata.data) || {};

/* The mids of an SDP with their kind and msid stream id. */
function sdpMlines(sdp) {
	return sdp.split(/\r?\nm=/).slice(1).map((section) => {
		const mid = /^a=mid:(\S+)/m.exec(section);
		const msid = /^a=msid:(\S+)/m.exec(section);
		return { kind: section.split(' ')[0], mid: mid && mid[1], stream: msid && msid[1] };
	});
}

async function gathered(pc, timeout = 5000) {
	const deadline = Date.now() + timeout;
	while(pc.iceGatheringState !== 'complete' && Date.now() < deadline)
		await sleep(50);
	const sdp = pc.localDescription.sdp;
	if(/ [0-9a-f-]+\.local /.test(sdp))
		throw new Error('Chromium offered mDNS candidates (.local), which Janus cannot resolve here');
	return sdp;
}

class Participant {
	constructor() {
		this.errors = [];
		this.offers = [];           // WEBRTC_OFFER_RECEIVED data, answered
		this.tracks = [];           // ontrack: {mid, kind, streamId}
		this.subscribing = false;
		this.players = [];          // <audio> elements playing what arrives
	}

	async start(opts) {
		this.opts = opts;
		this.janus = new JanusConnection(opts.url);
		await this.janus.open();
		await this.janus.createSession();
		this.pubHandle = await this.janus.attach();
		this.subHandle = await this.janus.attach();
		for(const [hid, events] of [[this.pubHandle, true], [this.subHandle, false]]) {
			const r = await this.janus.message(hid, { request: 'register', userId: opts.userId, userName: opts.userName, events });
			const data = pluginEvent(r);
			if(data.status !== 200)
				throw new Error('register failed: ' + JSON.stringify(data));
		}
		this.janus.listeners = [(msg) => this.onPush(msg)];
		return { session: this.janus.session, pub: this.pubHandle, sub: this.subHandle };
	}

	onPush(msg) {
		const data = pluginEvent(msg);
		if(data.event === 'ERROR') {
			this.errors.push(data.data);
			report('error', data.data);
		}
		if(msg.janus === 'trickle' && msg.candidate && !msg.candidate.completed) {
			const pc = msg.sender === this.pubHandle ? this.pubPc : this.subPc;
			if(pc)
				pc.addIceCandidate(msg.candidate).catch((e) => report('trickle-error', String(e)));
		}
		if(msg.janus === 'hangup' || msg.janus === 'webrtcup')
			report(msg.janus, { handle: msg.sender === this.pubHandle ? 'pub' : 'sub', reason: msg.reason });
		if(msg.sender === this.subHandle && data.event === 'WEBRTC_OFFER_RECEIVED' && this.subscribing)
			this.answerQueue = this.answerQueue.then(() => this.answerOffer(msg)).catch((e) => {
				this.errors.push({ message: 'answering an offer: ' + e });
				report('error', { message: String(e) });
			});
	}

	/* Data of the next unread contract event `name` on the publisher handle whose data has `fields`. */
	async waitEvent(name, fields = {}, timeout = 15000) {
		const msg = await this.janus.wait(this.pubHandle, (m) => {
			const d = pluginEvent(m);
			return d.event === name && Object.entries(fields).every(([k, v]) => d.data && d.data[k] === v);
		}, timeout, name + ' ' + JSON.stringify(fields));
		return pluginEvent(msg).data;
	}

	async send(name, data, jsep, handle) {
		const tx = 'ev' + Math.random().toString(16).slice(2, 10);
		const body = { event: name, timestamp: new Date().toISOString(), data };
		await this.janus.message(handle || this.pubHandle, body, jsep, tx);
		return tx;
	}

	async answerCall(callId) {
		await this.waitEvent('CALL_INCOMING', { callId });
		await this.send('CALL_ANSWER', { callId });
		await this.waitEvent('CALL_PARTICIPANT_JOINED', { callId, userId: this.opts.userId });
		return true;
	}

	/* Camera and microphone (fake devices) to the SFU. `simulcast`: three VP8 layers by rid,
	 * highest first as janus.js sends them (Janus counts substream 0 from the last rid). */
	async publish({ callId, width = 640, height = 480, frameRate = 15, simulcast = false }) {
		this.stream = await navigator.mediaDevices.getUserMedia({
			audio: true, video: { width: { exact: width }, height: { exact: height }, frameRate } });
		const pc = this.pubPc = new RTCPeerConnection({ iceServers: [] });
		pc.onconnectionstatechange = () => report('pub-state', pc.connectionState);
		pc.oniceconnectionstatechange = () => report('pub-ice', pc.iceConnectionState);
		const [audio] = this.stream.getAudioTracks();
		const [video] = this.stream.getVideoTracks();
		pc.addTransceiver(audio, { direction: 'sendonly', streams: [this.stream] });
		const init = { direction: 'sendonly', streams: [this.stream] };
		if(simulcast) {
			init.sendEncodings = [
				{ rid: 'h', active: true, maxBitrate: 1200000 },
				{ rid: 'm', active: true, maxBitrate: 400000, scaleResolutionDownBy: 2 },
				{ rid: 'l', active: true, maxBitrate: 120000, scaleResolutionDownBy: 4 },
			];
		}
		pc.addTransceiver(video, init);
		await pc.setLocalDescription(await pc.createOffer());
		return this.sendOffer(callId);
	}

	async sendOffer(callId) {
		const pc = this.pubPc;
		const sdp = await gathered(pc);
		const tx = await this.send('WEBRTC_OFFER', { callId }, { type: 'offer', sdp, trickle: false });
		const msg = await this.janus.wait(this.pubHandle, (m) => m.transaction === tx &&
			['WEBRTC_ANSWER_RECEIVED', 'ERROR'].includes(pluginEvent(m).event), 15000, 'WEBRTC_ANSWER_RECEIVED');
		if(pluginEvent(msg).event !== 'WEBRTC_ANSWER_RECEIVED')
			throw new Error('WEBRTC_OFFER refused: ' + JSON.stringify(pluginEvent(msg).data));
		await pc.setRemoteDescription(msg.jsep);
		return { offer: sdp, answer: msg.jsep.sdp };
	}

	/* After the publisher PeerConnection was hung up: a new one, on the same handle. */
	async republish({ callId }) {
		if(this.pubPc)
			this.pubPc.close();
		const pc = this.pubPc = new RTCPeerConnection({ iceServers: [] });
		pc.onconnectionstatechange = () => report('pub-state', pc.connectionState);
		pc.oniceconnectionstatechange = () => report('pub-ice', pc.iceConnectionState);
		pc.addTransceiver(this.stream.getAudioTracks()[0], { direction: 'sendonly', streams: [this.stream] });
		pc.addTransceiver(this.stream.getVideoTracks()[0], { direction: 'sendonly', streams: [this.stream] });
		await pc.setLocalDescription(await pc.createOffer());
		return this.sendOffer(callId);
	}

	/* The local and remote address of the publisher's selected ICE candidate pair. */
	async pubPath() {
		const stats = await this.pubPc.getStats();
		let pair = null;
		stats.forEach((s) => {
			if(s.type === 'transport' && s.selectedCandidatePairId)
				pair = stats.get(s.selectedCandidatePairId);
		});
		if(!pair)
			return null;
		const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
		return { local: { address: local.address, port: local.port }, remote: { address: remote.address, port: remote.port },
			state: pair.state };
	}

	/* A real ICE restart on the same publisher handle: new credentials, same PeerConnection. */
	async restartIce({ callId }) {
		const pc = this.pubPc;
		const before = /^a=ice-ufrag:(\S+)/m.exec(pc.localDescription.sdp)[1];
		pc.restartIce();
		await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
		const r = await this.sendOffer(callId);
		const after = /^a=ice-ufrag:(\S+)/m.exec(pc.localDescription.sdp)[1];
		return { before, after, answer: r.answer };
	}

	async subscribe({ callId }) {
		const pc = this.subPc = new RTCPeerConnection({ iceServers: [] });
		pc.onconnectionstatechange = () => report('sub-state', pc.connectionState);
		pc.ontrack = (e) => {
			const t = { mid: e.transceiver.mid, kind: e.track.kind, streamId: e.streams[0] ? e.streams[0].id : null,
				streams: e.streams.length };
			this.tracks.push(t);
			report('track', t);
			if(e.track.kind === 'audio') {
				/* Played out, as a call page would: Chromium decodes received audio only for a sink */
				const el = new Audio();
				el.srcObject = new MediaStream([e.track]);
				el.play().catch((err) => report('audio-play-error', String(err)));
				this.players.push(el);
			}
		};
		this.callId = callId;
		this.subscribing = true;
		this.answerQueue = Promise.resolve();
		await this.send('CALL_SUBSCRIBE', { callId }, null, this.subHandle);
		return true;
	}

	async answerOffer(msg) {
		const pc = this.subPc;
		await pc.setRemoteDescription(msg.jsep);
		await pc.setLocalDescription(await pc.createAnswer());
		const sdp = await gathered(pc);
		await this.send('WEBRTC_ANSWER', { callId: this.callId }, { type: 'answer', sdp }, this.subHandle);
		const data = pluginEvent(msg).data;
		this.offers.push({ streams: data.streams, mlines: sdpMlines(msg.jsep.sdp) });
		report('offer', data.streams);
	}

	/* What this page shows and sends, from getStats(): decoded frames per remote stream id
	 * (the msid of the m-line, which ontrack gives as event.streams[0].id). */
	async stats() {
		const out = { inbound: [], outbound: [], tracks: this.tracks, offers: this.offers.length,
			errors: this.errors, pub: this.pubPc && this.pubPc.connectionState,
			sub: this.subPc && this.subPc.connectionState };
		const mids = {};
		if(this.subPc && this.subPc.remoteDescription) {
			for(const m of sdpMlines(this.subPc.remoteDescription.sdp))
				mids[m.mid] = m.stream;
		}
		if(this.subPc) {
			(await this.subPc.getStats()).forEach((s) => {
				if(s.type !== 'inbound-rtp')
					return;
				out.inbound.push({ mid: s.mid, kind: s.kind, streamId: mids[s.mid] || null,
					packetsReceived: s.packetsReceived, bytesReceived: s.bytesReceived,
					framesDecoded: s.framesDecoded, frameWidth: s.frameWidth, frameHeight: s.frameHeight,
					totalSamplesReceived: s.totalSamplesReceived, totalAudioEnergy: s.totalAudioEnergy,
					decoderImplementation: s.decoderImplementation });
			});
		}
		if(this.pubPc) {
			(await this.pubPc.getStats()).forEach((s) => {
				if(s.type !== 'outbound-rtp')
					return;
				out.outbound.push({ mid: s.mid, kind: s.kind, rid: s.rid || null, packetsSent: s.packetsSent,
					bytesSent: s.bytesSent, framesEncoded: s.framesEncoded, frameWidth: s.frameWidth,
					frameHeight: s.frameHeight, qualityLimitationReason: s.qualityLimitationReason,
					active: s.active });
			});
		}
		return out;
	}

	async stop() {
		this.subscribing = false;
		for(const pc of [this.pubPc, this.subPc]) {
			if(pc)
				pc.close();
		}
		if(this.stream)
			this.stream.getTracks().forEach((t) => t.stop());
		if(this.janus)
			await this.janus.destroy();
		return true;
	}
}

const participant = new Participant();
window.api = {
	start: (opts) => participant.start(opts),
	answerCall: (callId) => participant.answerCall(callId),
	waitEvent: (name, fields, timeout) => participant.waitEvent(name, fields, timeout),
	send: (name, data) => participant.send(name, data),
	publish: (opts) => participant.publish(opts),
	subscribe: (opts) => participant.subscribe(opts),
	restartIce: (opts) => participant.restartIce(opts),
	republish: (opts) => participant.republish(opts),
	pubPath: () => participant.pubPath(),
	stats: () => participant.stats(),
	stop: () => participant.stop(),
};
report('ready', {});
