import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// The QR benchmark's reference, in its own process: bare node:http that answers every GET /q/<code> with the same
// kind of 302 the product sends (a landing URL with vx and UTM parameters, no-store), recording nothing. The most
// this machine answers with the same load generator. BENCH_LANDING_URL sets the landing URL.

const landing = process.env.BENCH_LANDING_URL ?? 'https://example.test/offer?ref=postcard';

const server = createServer((req, res) => {
	const code = (req.url ?? '').slice(3, 13);
	const url = new URL(landing);
	url.searchParams.set('utm_source', 'voxcalls');
	url.searchParams.set('utm_medium', 'direct_mail');
	url.searchParams.set('utm_campaign', 'Bench');
	url.searchParams.set('vx', code);
	res.writeHead(302, { location: url.toString(), 'cache-control': 'no-store', 'content-length': '0' });
	res.end();
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'listening', port: (server.address() as AddressInfo).port }));
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
	process.once(sig, () => {
		server.closeAllConnections();
		server.close(() => process.exit(0));
	});
}
