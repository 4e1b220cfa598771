import { describeBehaviour } from './behaviour-suite.ts';
import { makeHonoHarness } from './support/hono-app.ts';

describeBehaviour('hono', makeHonoHarness);
