import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

// The layers, top to bottom. Imports point down only: a file may import its own layer or any layer below it.
// README "Architecture map" describes them; `layerZones` turns this list into import-x/no-restricted-paths zones.
const S = './src/lib/server';
const LAYERS = [
	{
		name: 'adapters (routes, tRPC, jobs, scripts, web server, migrate command)',
		paths: ['./src/routes', './src/hooks.server.ts', `${S}/trpc`, `${S}/jobs`, `${S}/migrate`, `${S}/web-server.ts`, './scripts']
	},
	{ name: 'services', paths: [`${S}/services`] },
	{
		name: 'engines (ingest, analytics, elevenlabs, twilio, auth, health)',
		paths: [`${S}/ingest`, `${S}/analytics`, `${S}/elevenlabs`, `${S}/twilio`, `${S}/auth`, `${S}/health.ts`]
	},
	{ name: 'db', paths: [`${S}/db`] },
	{
		name: 'the shared bottom (env, errors, log, outage, crypto, days)',
		paths: [`${S}/env.ts`, `${S}/errors.ts`, `${S}/log.ts`, `${S}/outage.ts`, `${S}/crypto`, './src/lib/days.ts']
	}
];

function layerZones() {
	const zones = [];
	LAYERS.forEach((lower, i) => {
		const higher = LAYERS.slice(0, i);
		if (higher.length === 0) return;
		zones.push({
			target: lower.paths,
			from: higher.flatMap((l) => l.paths),
			message: `Layers point one way: ${lower.name} must not import ${higher.map((l) => l.name).join(' or ')}. Move the shared piece down, or pass it in from the caller.`
		});
	});
	// Client-safe code (everything in src/lib outside server/) never reaches the server.
	zones.push({
		target: ['./src/lib/*', './src/lib/!(server)/**/*'],
		from: [S],
		message: 'Client code in src/lib must not import src/lib/server.'
	});
	return zones;
}

export default ts.config(
	js.configs.recommended,
	...ts.configs.recommended,
	...svelte.configs.recommended,
	{
		languageOptions: { globals: { ...globals.browser, ...globals.node } },
		rules: {
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
			// Svelte 5 resolve() for links is advisory; plain hrefs are fine for an app without a base path.
			'svelte/no-navigation-without-resolve': 'off'
		}
	},
	{
		files: ['**/*.ts', '**/*.js', '**/*.svelte'],
		plugins: { 'import-x': importX },
		// Resolves relative paths and SvelteKit's $lib alias (from .svelte-kit/tsconfig.json) to files, so a zone
		// catches `../services/x` and `$lib/server/services/x` alike.
		settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
		rules: { 'import-x/no-restricted-paths': ['error', { zones: layerZones() }] }
	},
	{
		files: ['**/*.svelte', '**/*.svelte.ts', '**/*.svelte.js'],
		languageOptions: { parserOptions: { projectService: true, extraFileExtensions: ['.svelte'], parser: ts.parser, svelteConfig } }
	},
	{ ignores: ['build/', '.svelte-kit/', 'node_modules/', '.data/', 'migrations/meta/'] }
);
