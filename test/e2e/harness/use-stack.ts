// One stack per test file: started before its tests, stopped after them (jest only; scripts call startStack).
import { startStack, type Stack, type StackOptions } from "./stack";

/**
 * Starts a stack in `beforeAll` and stops it in `afterAll`. The returned object stands for that stack: use it
 * inside hooks and tests, once it is started (it always reads the current stack, e.g. after a restart).
 */
export function useStack(opts: StackOptions): Stack {
  let started: Stack | null = null;
  beforeAll(async () => {
    started = await startStack(opts);
  }, 180_000);
  afterAll(async () => {
    await started?.stop();
  }, 60_000);
  const current = (): Stack => {
    if (started === null) throw new Error("the e2e stack is used before it started (use it inside tests)");
    return started;
  };
  return new Proxy({} as Stack, {
    get: (_target, prop) => Reflect.get(current(), prop) as unknown,
    set: (_target, prop, value) => Reflect.set(current(), prop, value),
  });
}
