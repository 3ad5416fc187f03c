import { defineConfig } from 'drizzle-kit';

export default defineConfig({
	dialect: 'postgresql',
	schema: './src/lib/server/db/schema/index.ts',
	out: './migrations',
	casing: 'snake_case',
	dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/voxcalls' },
	migrations: { table: '__drizzle_migrations', schema: 'public' }
});
