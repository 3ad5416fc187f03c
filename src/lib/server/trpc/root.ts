import { router } from './init';
import { agentsRouter, tenantAgentsRouter } from './routers/agents';
import { auditRouter } from './routers/audit';
import { authRouter } from './routers/auth';
import { callsRouter } from './routers/calls';
import { financeRouter } from './routers/finance';
import { campaignsRouter } from './routers/campaigns';
import { ingestionRouter } from './routers/ingestion';
import { membersRouter } from './routers/members';
import { numbersRouter, tenantNumbersRouter } from './routers/numbers';
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
	finance: financeRouter,
	ingestion: ingestionRouter,
	agents: agentsRouter,
	tenantAgents: tenantAgentsRouter,
	numbers: numbersRouter,
	tenantNumbers: tenantNumbersRouter
});

export type AppRouter = typeof appRouter;
