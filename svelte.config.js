import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	compilerOptions: { runes: true },
	kit: {
		adapter: adapter({ out: 'build' }),
		// Webhook bodies are limited per route in the endpoint itself; forms keep SvelteKit's origin check.
		csrf: { trustedOrigins: [] }
	}
};

export default config;
