import type { SubmitFunction } from '@sveltejs/kit';
import { pushToast } from '$lib/toast.svelte';

// The one way a form action's answer reaches the toast sink: `use:enhance={toastFormResult()}`. An action that
// returns `{ message }` (success) or `fail(status, { message })` shows it as a toast; the page data refreshes.

export interface FormToastOptions {
	/** Clear the form after a success (default true); false keeps what was typed, as settings forms want. */
	resetOnSuccess?: boolean;
	/** Toast failures too (default true); false where the page shows them beside the fields. */
	toastFailures?: boolean;
	/** A question to confirm before submitting (e.g. a removal); cancelling sends nothing. */
	confirm?: (form: FormData) => string;
	onSuccess?: () => void;
}

const messageOf = (data: Record<string, unknown> | undefined) => (typeof data?.message === 'string' ? data.message : null);

export function toastFormResult(options: FormToastOptions = {}): SubmitFunction {
	const { resetOnSuccess = true, toastFailures = true } = options;
	return ({ formData, cancel }) => {
		if (options.confirm && !window.confirm(options.confirm(formData))) {
			cancel();
			return;
		}
		return async ({ result, update }) => {
			if (result.type === 'success') {
				const message = messageOf(result.data);
				if (message) pushToast('success', message);
				options.onSuccess?.();
			} else if (result.type === 'failure' && toastFailures) {
				const message = messageOf(result.data);
				if (message) pushToast('error', message);
			}
			await update({ reset: resetOnSuccess });
		};
	};
}
