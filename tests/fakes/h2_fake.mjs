// h2_fake.mjs - a Graph API send endpoint over HTTPS that speaks HTTP/2 (and
// HTTP/1.1 for a client that does not offer h2), for the multiplexing test
// (tests/e2e_providers/h2_multiplex.py) and provider.sh's H2=1 runs. Node's own http2 module; nothing
// from npm.
//
//   node h2_fake.mjs --cert C --key K --port-file F [--delay-ms MS]
//                    [--record R]
//
// Binds 127.0.0.1 on a free port and writes it to F once listening. A POST
// whose path ends in /messages is answered after MS milliseconds (default
// 200) the way the Cloud API answers a send; GET /stats answers what it saw:
// TLS connections, HTTP/2 connections (sessions), sends by protocol, and the
// most streams one HTTP/2 connection carried at once. With --record, each
// send answered appends a line to R (tests/bench/provider.sh counts them).
// Stops on SIGTERM.
import fs from 'node:fs';
import http2 from 'node:http2';

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['cert', 'key', 'port-file'])
	if (!args[k]) {
		console.error(`h2_fake: --${k} is required`);
		process.exit(2);
	}
const delay = Number(args['delay-ms'] ?? 200);
const record = args.record ? fs.openSync(args.record, 'a') : null;

const stats = { h2_sessions: 0, h1_requests: 0, h2_requests: 0, sends: 0,
                max_streams_one_session: 0, tls_sessions: 0 };
let nextId = 0;

const server = http2.createSecureServer({
	cert: fs.readFileSync(args.cert),
	key: fs.readFileSync(args.key),
	allowHTTP1: true,
});
server.on('secureConnection', () => { stats.tls_sessions++; });
server.on('session', (session) => {
	stats.h2_sessions++;
	session.open = 0;
	session.on('stream', (stream) => {
		session.open++;
		stats.max_streams_one_session =
			Math.max(stats.max_streams_one_session, session.open);
		stream.on('close', () => { session.open--; });
	});
});

function answer(res, code, body) {
	res.writeHead(code, { 'content-type': 'application/json' });
	res.end(JSON.stringify(body));
}

server.on('request', (req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		if (req.method === 'GET' && req.url === '/stats')
			return answer(res, 200, stats);
		if (req.method !== 'POST' || !req.url.endsWith('/messages'))
			return answer(res, 404, { error: { message: 'Unknown path', code: 100 } });
		if (req.httpVersionMajor === 2)
			stats.h2_requests++;
		else
			stats.h1_requests++;
		let to = '';
		try {
			to = JSON.parse(Buffer.concat(chunks).toString()).to ?? '';
		} catch {
			return answer(res, 400, { error: { message: 'Invalid JSON', code: 100 } });
		}
		setTimeout(() => {
			stats.sends++;
			if (record !== null)
				fs.writeSync(record, `${to}\n`);
			answer(res, 200, {
				messaging_product: 'whatsapp',
				contacts: [{ input: to, wa_id: to }],
				messages: [{ id: `wamid.h2fake${++nextId}` }],
			});
		}, delay);
	});
});

server.listen(0, '127.0.0.1', () => {
	const tmp = `${args['port-file']}.tmp`;
	fs.writeFileSync(tmp, `${server.address().port}\n`);
	fs.renameSync(tmp, args['port-file']);
});
process.on('SIGTERM', () => process.exit(0));
