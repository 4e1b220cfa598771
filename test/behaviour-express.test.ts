import { describeBehaviour } from './behaviour-suite.ts';
import { makeExpressHarness } from './support/express-app.ts';

describeBehaviour('express', makeExpressHarness);
