import type { ActionResult } from '@sveltejs/kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toasts } from '$lib/toast.svelte';
import { toastFormResult, type FormToastOptions } from './form-toast';

// Drives the SubmitFunction as SvelteKit's enhance does: submit, then hand it the action's result.
async function submit(options: FormToastOptions, result: ActionResult, form = new FormData()) {
	const cancel = vi.fn();
	const update = vi.fn(async () => {});
	const after = await toastFormResult(options)({ formData: form, cancel } as never);
	if (after) await after({ result, update } as never);
	return { cancel, update, submitted: Boolean(after) };
}
const shown = () => toasts.map((t) => [t.kind, t.message]);

afterEach(() => {
	toasts.splice(0);
	vi.unstubAllGlobals();
});

describe('toastFormResult', () => {
	it.each([
		{ name: 'a success message', options: {}, result: { type: 'success', status: 200, data: { message: 'Saved' } }, toasts: [['success', 'Saved']], reset: true },
		{ name: 'a failure message', options: {}, result: { type: 'failure', status: 400, data: { message: 'Name taken' } }, toasts: [['error', 'Name taken']], reset: true },
		{ name: 'a failure shown beside the fields', options: { toastFailures: false }, result: { type: 'failure', status: 400, data: { message: 'Wrong password' } }, toasts: [], reset: true },
		{ name: 'a success on a settings form', options: { resetOnSuccess: false }, result: { type: 'success', status: 200, data: { message: 'Saved' } }, toasts: [['success', 'Saved']], reset: false },
		{ name: 'an answer without a message', options: {}, result: { type: 'success', status: 204 }, toasts: [], reset: true },
		{ name: 'a redirect', options: {}, result: { type: 'redirect', status: 303, location: '/' }, toasts: [], reset: true }
	] as const)('$name', async ({ options, result, toasts: expected, reset }) => {
		const { update } = await submit(options, result as ActionResult);
		expect(shown()).toEqual(expected);
		expect(update).toHaveBeenCalledWith({ reset });
	});

	it('runs onSuccess only after a success', async () => {
		const onSuccess = vi.fn();
		await submit({ onSuccess }, { type: 'failure', status: 400, data: { message: 'no' } });
		expect(onSuccess).not.toHaveBeenCalled();
		await submit({ onSuccess }, { type: 'success', status: 200, data: { message: 'yes' } });
		expect(onSuccess).toHaveBeenCalledOnce();
	});

	it('asks first when told to, and a "no" sends nothing', async () => {
		const form = new FormData();
		form.set('email', 'ana@example.test');
		const ask = vi.fn(() => false);
		vi.stubGlobal('window', { confirm: ask });
		const no = await submit({ confirm: (f) => `Remove ${f.get('email')}?` }, { type: 'success', status: 200, data: { message: 'Removed' } }, form);
		expect(ask).toHaveBeenCalledWith('Remove ana@example.test?');
		expect(no.cancel).toHaveBeenCalledOnce();
		expect(no.submitted).toBe(false);
		expect(shown()).toEqual([]);
		ask.mockReturnValue(true);
		const yes = await submit({ confirm: (f) => `Remove ${f.get('email')}?` }, { type: 'success', status: 200, data: { message: 'Removed' } }, form);
		expect(yes.cancel).not.toHaveBeenCalled();
		expect(shown()).toEqual([['success', 'Removed']]);
	});
});
