import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	server: { port: 5173, strictPort: false },
	test: {
		// A test that makes no assertion fails (every project extends this): no test passes by accident.
		expect: { requireAssertions: true },
		// Integration and e2e tests share real servers; one global setup starts and migrates them once per run.
		projects: [
			{
				extends: true,
				test: {
					name: 'unit',
					include: ['src/**/*.test.ts', 'tests/unit/**/*.test.ts'],
					environment: 'node',
					sequence: { groupOrder: 0 }
				}
			},
			{
				extends: true,
				test: {
					name: 'integration',
					include: ['tests/integration/**/*.test.ts'],
					exclude: ['tests/integration/faults/**'],
					// vitest runs projects with different worker settings in separate groups.
					sequence: { groupOrder: 1 },
					environment: 'node',
					globalSetup: ['tests/setup/global-setup.ts'],
					setupFiles: ['tests/setup/integration-env.ts'],
					testTimeout: 60_000,
					hookTimeout: 120_000,
					fileParallelism: true,
					maxWorkers: 2
				}
			},
			{
				extends: true,
				test: {
					// Fault tests stop and restart the shared servers, so they run alone, after the others.
					name: 'faults',
					include: ['tests/integration/faults/**/*.test.ts'],
					environment: 'node',
					globalSetup: ['tests/setup/global-setup.ts'],
					setupFiles: ['tests/setup/integration-env.ts'],
					testTimeout: 600_000,
					hookTimeout: 180_000,
					fileParallelism: false,
					sequence: { groupOrder: 2 }
				}
			},
			{
				extends: true,
				test: {
					name: 'e2e',
					sequence: { groupOrder: 3 },
					include: ['tests/e2e/**/*.test.ts'],
					environment: 'node',
					globalSetup: ['tests/setup/global-setup.ts', 'tests/setup/e2e-server.ts'],
					setupFiles: ['tests/setup/integration-env.ts'],
					testTimeout: 90_000,
					hookTimeout: 180_000,
					fileParallelism: false
				}
			}
		]
	}
});
