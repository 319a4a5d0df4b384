// Worker-thread entry for the spin tests: worker threads do not inherit tsx's hooks from
// `--import tsx`, so register them here, then run the TypeScript fixture.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./spin-worker.ts', import.meta.url).href);
