// See https://svelte.dev/docs/kit/types#app.d.ts
import type { AuthSession, SessionUser } from '$lib/server/auth/session';

declare global {
	namespace App {
		interface Error {
			message: string;
		}
		interface Locals {
			/** Set by hooks.server.ts from the session cookie; null when signed out. */
			user: SessionUser | null;
			session: AuthSession | null;
		}
		// interface PageData {}
		// interface PageState {}
		// interface Platform {}
	}
}

export {};
