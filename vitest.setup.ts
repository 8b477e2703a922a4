// Many tests run tools synchronously (spawnSync) for seconds at a time. The vitest worker reads
// the runner's replies to its progress calls only when its event loop turns, and gives up on a
// reply after a fixed 60 s: a file of long synchronous tests back to back then fails with
// "Timeout calling onTaskUpdate" although every test passed (vitest-dev/vitest#6479, #8164).
// One macrotask after each test lets the worker read what has arrived.
import { afterEach } from 'vitest';

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
