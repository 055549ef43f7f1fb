/* config.js - where the demo page finds Janus, and how it reaches it.
 *
 * Edit this file when you serve the page from your own Janus deployment
 * (docs/demo.md, "Deploying"). scripts/demo.sh serves a copy of it with its
 * own values appended (the port it gave Janus, and so on).
 *
 * Copyright (C) 2026 the janus.plugin.calls authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
window.CALLS_CONFIG = {
	/* The Janus WebSocket transport (janus.transport.websockets.jcfg).
	 *  - the local demo: ws://127.0.0.1:8188 (scripts/demo.sh)
	 *  - behind a reverse proxy with TLS: "wss://" + location.host + "/janus-ws"
	 * A page served over https must use wss://. "localhost" is written as
	 * 127.0.0.1 because Janus listens on IPv4 there. */
	server: (location.protocol === 'https:' ? 'wss://' : 'ws://') +
		(location.hostname === 'localhost' || location.hostname === '' ? '127.0.0.1' : location.hostname) + ':8188',

	/* STUN/TURN servers for the browser's PeerConnections. Empty: the browser
	 * uses its own addresses only, enough when it and Janus see each other
	 * directly (same machine, same LAN, Janus on a public address). Behind
	 * restrictive NATs or firewalls add a TURN server, ideally also on TCP/TLS
	 * port 443:
	 *   iceServers: [
	 *     { urls: 'stun:stun.example.com:3478' },
	 *     { urls: ['turn:turn.example.com:3478?transport=udp',
	 *              'turns:turn.example.com:443?transport=tcp'],
	 *       username: 'user', credential: 'secret' },
	 *   ],
	 * (Janus needs its own STUN/TURN settings too, in janus.jcfg, section nat.) */
	iceServers: [],

	/* How the page signs in: 'open' shows a name field (the plugin must run
	 * with auth = "open"); 'jwt' shows a token field only; 'both' shows both. */
	signIn: 'both',

	/* Log WebRTC and signaling events to the browser console: false, true, or
	 * 'verbose' (also janus.js's own log). "?debug=1" in the URL turns it on. */
	debug: false,

	/* How often to poll getStats for the quality plots (ms). */
	statsInterval: 1000,

	/* How often to refresh the list of people online (ms). */
	presenceInterval: 3000,

	/* Calls per page in the history. */
	historyPageSize: 8,
};
