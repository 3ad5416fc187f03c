// How a status-like value reads at a glance (StatusBadge): good, bad, under way, or plain. One table for calls,
// outcomes, tenants and connections, so the same word has the same colour on every page.
export type StatusTone = 'ok' | 'bad' | 'pending' | 'neutral';

const TONES: Record<string, StatusTone> = {
	done: 'ok',
	success: 'ok',
	active: 'ok',
	enabled: 'ok',
	healthy: 'ok',
	failed: 'bad',
	failure: 'bad',
	suspended: 'bad',
	disabled: 'bad',
	error: 'bad',
	initiated: 'pending',
	'in-progress': 'pending',
	processing: 'pending',
	pending: 'pending'
};

export function statusTone(value: string | null | undefined): StatusTone {
	return (value && TONES[value.toLowerCase()]) || 'neutral';
}
