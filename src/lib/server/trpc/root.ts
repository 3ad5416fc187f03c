import { router } from './init';
import { auditRouter } from './routers/audit';
import { authRouter } from './routers/auth';
import { callsRouter } from './routers/calls';
import { campaignsRouter } from './routers/campaigns';
import { ingestionRouter } from './routers/ingestion';
import { membersRouter } from './routers/members';
import { systemRouter } from './routers/system';
import { tenantsRouter } from './routers/tenants';

export const appRouter = router({
	system: systemRouter,
	auth: authRouter,
	tenants: tenantsRouter,
	members: membersRouter,
	audit: auditRouter,
	calls: callsRouter,
	campaigns: campaignsRouter,
	ingestion: ingestionRouter
});

export type AppRouter = typeof appRouter;
