import { chromium, type Browser } from 'playwright-core';

// Debian's chromium, with the flags this sandbox needs (no background networking, no sandbox as root).
export function launchBrowser(): Promise<Browser> {
	return chromium.launch({
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
	});
}
