/**
 * `rt.createSubscriber(options)`: validates the options, spawns the subscriber's
 * supervisor under the runtime's root with one connection child, and registers the
 * subscriber so that `rt.shutdown()` closes it before the tree stops — the pool's
 * wiring (create-pool.ts) with one connection instead of a table of slots.
 *
 *   root/subscriber-1  (one-for-one, maxRestarts ∞, temporary child of the root)
 *     └─ conn  connectionMachine, permanent, restarted with `backoff`
 *           ▲ watched across incarnations (incarnation-watcher.ts) ─▶ SubscriptionCore
 *
 * The connection is `permanent`: a subscription is wanted back after anything but
 * `close()` (which removes the whole supervisor, so nothing restarts it). Restart
 * intensity is infinite: attempts are paced by the backoff, and a subscriber must
 * outlive any outage of its server. The supervisor's own `state` and `restart` events
 * reach `rt.events$` like any other; the subscriber's are on `status$`.
 */
import { connectionMachine } from '../actors/connection-machine.js';
import type { Runtime } from '../runtime.js';
import { spawnOwnedSupervisor } from '../supervisor/owned-supervisor.js';
import { IncarnationWatcher } from './incarnation-watcher.js';
import { Subscriber } from './subscriber.js';
import { parseSubscriberOptions, type CreateSubscriberOptions } from './subscriber-options.js';
import { SubscriptionCore } from './subscription-core.js';

/** The connection child's id: `root/<subscriber id>/conn`. */
const CONNECTION_ID = 'conn';


/**
 * @internal The body of `rt.createSubscriber()`.
 *
 * @example
 * const sub = createSupervisedSubscriber(rt, { endpoint: { host: '127.0.0.1', port }, protocol: resp() });
 */
export function createSupervisedSubscriber(rt: Runtime, input: CreateSubscriberOptions): Subscriber {
  const options = parseSubscriberOptions(input);
  const { id, supervisor, root } = spawnOwnedSupervisor(rt, 'subscriber', options.id);
  let subscriber: Subscriber | undefined;
  const core = new SubscriptionCore(supervisor.path, rt.scheduler, () => void subscriber?.close());
  const watcher = new IncarnationWatcher(supervisor, CONNECTION_ID, core);
  let unregister: () => void = () => {};
  subscriber = new Subscriber({
    id, path: supervisor.path, core,
    teardown: async () => {
      unregister();
      watcher.dispose();
      // The runtime may already be stopping the tree (shutdown, failure): nothing left to remove.
      await root.terminateChild(id).catch(() => {});
    },
  });
  try {
    supervisor.startChild({
      id: CONNECTION_ID, logic: connectionMachine, input: options.input, restart: 'permanent', backoff: options.backoff,
    });
    unregister = rt.register(subscriber);
  } catch (err) {
    void subscriber.close();
    throw err;
  }
  return subscriber;
}
