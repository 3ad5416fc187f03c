import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	server: { port: 5173, strictPort: false },
	test: {
		// Integration and e2e tests share real servers; one global setup starts and migrates them once per run.
		projects: [
			{
				extends: true,
				test: {
					name: 'unit',
					include: ['src/**/*.test.ts', 'tests/unit/**/*.test.ts'],
					environment: 'node'
				}
			},
			{
				extends: true,
				test: {
					name: 'integration',
					include: ['tests/integration/**/*.test.ts'],
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
					name: 'e2e',
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
