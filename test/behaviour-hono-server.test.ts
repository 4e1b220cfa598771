import { describeBehaviour } from './behaviour-suite.ts';
import { makeHonoServerHarness } from './support/hono-app.ts';

describeBehaviour('hono on @hono/node-server', makeHonoServerHarness);
