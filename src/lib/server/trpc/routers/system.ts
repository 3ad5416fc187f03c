import { publicProcedure, router } from '../init';

export const systemRouter = router({
	ping: publicProcedure.query(() => ({ pong: true as const }))
});
