import { testEnv } from './test-env';

// Each test worker sees the same validated configuration as the app would.
Object.assign(process.env, testEnv());
