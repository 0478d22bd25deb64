import { SwitchyardError, causeMessages, runAllCleanups, isSwitchyardError } from '../index.js';
import { injectable, inject, rootContainer as container } from '../../di/decorators.js';

describe('SwitchyardError', () => {
  it('carries its code, the kind registered for that code, and a hint users can act on', () => {
    const e = new SwitchyardError('SWY_ERR_POOL_EXHAUSTED', 'No free address in 10.0.0.0/30', { hint: 'Use a larger subnet.' });
    expect(e.kind).toBe('Unavailable');
    expect(e.describe()).toBe('No free address in 10.0.0.0/30\n  hint: Use a larger subnet.');
    expect(isSwitchyardError(e, 'SWY_ERR_POOL_EXHAUSTED')).toBe(true);
    expect(isSwitchyardError(e, 'SWY_ERR_NETWORK_NOT_FOUND')).toBe(false);
  });

  it('runs every cleanup step even when earlier ones fail, then reports all failures', async () => {
    const ran: number[] = [];
    const err = await runAllCleanups('teardown', [
      async () => {
        ran.push(1);
        throw new Error('a');
      },
      async () => {
        ran.push(2);
      },
      async () => {
        ran.push(3);
        throw new Error('b');
      },
    ]).catch((e: unknown) => e);
    expect(ran).toEqual([1, 2, 3]);
    expect(isSwitchyardError(err, 'SWY_ERR_TEARDOWN_FAILED')).toBe(true);
    expect(((err as Error).cause as AggregateError).errors.map((x: Error) => x.message)).toEqual(['a', 'b']);
    expect(causeMessages(err)).toEqual(['a', 'b']);
    // With codes, as gc reports an interrupted operation it could not finish.
    const coded = await runAllCleanups('rollback', [() => Promise.reject(new SwitchyardError('SWY_ERR_GLOBAL_STORE_UNAVAILABLE', 'etcd is unreachable', { hint: 'h' }))]).catch((e: unknown) => e);
    expect(causeMessages(coded, true)).toEqual(['etcd is unreachable (SWY_ERR_GLOBAL_STORE_UNAVAILABLE)']);
    expect(causeMessages(new Error('no cause'))).toEqual([]);
  });

  it('works with tsyringe decorator metadata under the test transform', () => {
    const T = Symbol('t');
    @injectable()
    class Needs {
      constructor(@inject(T) readonly v: string) {}
    }
    const c = container.createChildContainer();
    c.register(T, { useValue: 'x' });
    expect(c.resolve(Needs).v).toBe('x');
  });
});
