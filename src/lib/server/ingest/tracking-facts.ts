import type { TrackingEventRow, TrackingKind } from '../analytics/tables';
import { chDateTime } from './facts';

// The ClickHouse side of a QR scan or landing-page view: the row `tracking_events` holds for it. The event id is
// the PostgreSQL tracking_event row's id (chosen when the scan is recorded), so the outbox row and every re-sent
// relay batch carry the same id, and the row is byte-identical each time.

export interface TrackingFactSource {
	id: string;
	tenantId: string;
	campaignId: string;
	dropId: string;
	recipientId: string;
	kind: TrackingKind;
	occurredAt: Date;
	url: string | null;
}

export function projectTrackingFact(e: TrackingFactSource, emittedAt: Date): TrackingEventRow {
	return {
		event_id: e.id,
		tenant_id: e.tenantId,
		campaign_id: e.campaignId,
		drop_id: e.dropId,
		recipient_id: e.recipientId,
		kind: e.kind,
		sign: 1,
		occurred_at: chDateTime(e.occurredAt),
		url: e.url ?? '',
		emitted_at: chDateTime(emittedAt)
	};
}
