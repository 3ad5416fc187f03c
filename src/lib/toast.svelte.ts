// The one client-side sink for messages: form results, failed requests. Toast.svelte renders it.
export type ToastKind = 'success' | 'error' | 'info';
export interface ToastItem {
	id: number;
	kind: ToastKind;
	message: string;
}

let nextId = 1;
export const toasts = $state<ToastItem[]>([]);

export function dismissToast(id: number) {
	const i = toasts.findIndex((t) => t.id === id);
	if (i >= 0) toasts.splice(i, 1);
}

export function pushToast(kind: ToastKind, message: string, ms = kind === 'error' ? 8000 : 4000) {
	const id = nextId++;
	toasts.push({ id, kind, message });
	if (typeof window !== 'undefined') setTimeout(() => dismissToast(id), ms);
	return id;
}
