import { formatDecimal, isDecimalText, type DecimalText } from './decimal';
import { wallClockInZone, type IsoDay } from './days';

// Number, duration and date formatters for the UI and its CSV exports. One fixed locale (en-US) so the server's
// render and the browser's hydration print the same text, and tests can pin it.

const LOCALE = 'en-US';
const integer = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const upToOne = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 1 });
const upToTwo = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 2 });
const oneDecimal = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** `1234` → `1,234`; non-finite values print as a dash. */
export function formatNumber(n: number): string {
	return Number.isFinite(n) ? integer.format(n) : '—';
}

/** An average such as calls a day: at most one decimal (`3.4`, `12`, `1,234.5`). */
export function formatAverage(n: number): string {
	return Number.isFinite(n) ? upToOne.format(n) : '—';
}

/** Total talk time in minutes: one decimal below ten minutes, whole minutes above. */
export function formatMinutes(secs: number): string {
	if (!Number.isFinite(secs)) return '—';
	const minutes = secs / 60;
	if (minutes === 0) return '0 min';
	return `${Math.abs(minutes) < 10 ? oneDecimal.format(minutes) : integer.format(minutes)} min`;
}

/** A call's length as a clock: `0:07`, `2:05`, `1:02:03`. */
export function formatDuration(secs: number): string {
	if (!Number.isFinite(secs) || secs < 0) return '—';
	const total = Math.round(secs);
	const h = Math.floor(total / 3600);
	const m = Math.floor((total % 3600) / 60);
	const s = String(total % 60).padStart(2, '0');
	return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** `part` of `whole` as a percentage with at most one decimal; a dash when there is nothing to divide by. */
export function formatPercent(part: number, whole: number): string {
	if (!Number.isFinite(part) || !Number.isFinite(whole) || whole === 0) return '—';
	const pct = Math.round((part / whole) * 1000) / 10;
	return `${pct}%`;
}

/** ElevenLabs reports call cost in credits, possibly fractional; exact decimal text is rounded without a float. */
export function formatCredits(n: number | DecimalText): string {
	if (typeof n === 'string') return isDecimalText(n) ? formatDecimal(n, 2).replace(/\.?0+$/, '') || '0' : '—';
	return Number.isFinite(n) ? upToTwo.format(n) : '—';
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An instant on the wall clock of `timeZone`: `2025-03-09 21:30`. Sortable, unambiguous, spreadsheet-friendly. */
export function formatDateTimeInZone(instant: Date | null | undefined, timeZone: string): string {
	if (!instant || Number.isNaN(instant.getTime())) return '';
	const w = wallClockInZone(instant, timeZone);
	return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A local day as a short axis label: `Mar 9`. */
export function formatDayShort(day: IsoDay): string {
	const [, m, d] = day.split('-').map(Number);
	return `${MONTHS[m - 1]} ${d}`;
}

/** A range of local days: `Mar 1 – 14, 2025`, `Dec 25, 2024 – Jan 7, 2025`, or one day `Mar 9, 2025`. */
export function formatDayRange(from: IsoDay, to: IsoDay): string {
	const [fy, fm, fd] = from.split('-').map(Number);
	const [ty, tm, td] = to.split('-').map(Number);
	if (from === to) return `${MONTHS[fm - 1]} ${fd}, ${fy}`;
	if (fy !== ty) return `${MONTHS[fm - 1]} ${fd}, ${fy} – ${MONTHS[tm - 1]} ${td}, ${ty}`;
	if (fm !== tm) return `${MONTHS[fm - 1]} ${fd} – ${MONTHS[tm - 1]} ${td}, ${ty}`;
	return `${MONTHS[fm - 1]} ${fd} – ${td}, ${ty}`;
}

/** `inbound` → `Inbound`; empty values print as a dash. */
export function formatLabel(v: string | null | undefined): string {
	if (!v) return '—';
	const s = v.replaceAll('_', ' ').replaceAll('-', ' ');
	return s.charAt(0).toUpperCase() + s.slice(1);
}

export type ChangeDirection = 'up' | 'down' | 'flat';

/**
 * A figure against the same figure of the previous period: `+12%`, `−5%`, `no change`, or `new` when there was
 * nothing before (no percentage of zero). Null when either side is not a number.
 */
export function describeChange(current: number, previous: number): { text: string; direction: ChangeDirection } | null {
	if (!Number.isFinite(current) || !Number.isFinite(previous)) return null;
	if (current === previous) return { text: 'no change', direction: 'flat' };
	if (previous === 0) return { text: 'new', direction: current > 0 ? 'up' : 'down' };
	const pct = Math.round(((current - previous) / Math.abs(previous)) * 1000) / 10;
	if (pct === 0) return { text: 'no change', direction: 'flat' };
	return { text: `${pct > 0 ? '+' : '−'}${upToOne.format(Math.abs(pct))}%`, direction: pct > 0 ? 'up' : 'down' };
}
