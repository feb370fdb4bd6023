/**
 * `rt.serveInspector()`: the runtime itself as the producer of an inspector relay, so a
 * running service can be watched in Stately's inspector with nothing but a browser —
 * no `@statelyai/inspect` in the service, no relay process beside it.
 *
 * Inspection costs CPU on every actor event (docs/inspector.md), so it is attached only
 * while someone watches: the first client attaches `rt.inspect` (which announces every
 * existing actor, parents first, to that client), the last one to leave detaches it. A
 * client that joins while others watch gets the same announcement for itself alone, then
 * the live stream; the relay's replay buffer is off (a replay of old snapshots would
 * contradict the announcement). An announcement is a client's first messages: the relay
 * does not count it against the client's backlog limit until it has drained.
 *
 * `rt.inspect` announces synchronously, inside the call: a client that leaves (or a relay
 * that closes) during the announcement has gone before the subscription exists, so the
 * count is checked again once the call returns.
 *
 * Closed by `rt.shutdown()`; `close()` detaches and leaves no socket behind.
 */
import type { InspectionEvent, Subscription } from 'xstate';
import { RuntimeShutDownError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { createInspectorRelay, type InspectorRelay, type InspectorRelayOptions } from './inspector-relay.js';
import { toStatelyMessage } from './inspector-relay-format.js';

/** Options of `rt.serveInspector()`: the relay's, without the replay buffer. */
export type ServeInspectorOptions = Omit<InspectorRelayOptions, 'replayMessages'>;

/**
 * @internal The body of `rt.serveInspector()`.
 *
 * @example
 * const relay = await rt.serveInspector({ port: 8080 });
 * console.log(`open ${relay.url}`);
 */
export async function serveInspector(rt: Runtime, options?: ServeInspectorOptions): Promise<InspectorRelay> {
  if (rt.state !== 'running') throw new RuntimeShutDownError(`runtime is ${rt.state}; cannot serve the inspector`);
  let attached: Subscription | undefined;
  let relay: InspectorRelay | undefined;
  let closed = false;
  /** An inspection observer runs inside XState's transition: it must never throw. */
  const messageOf = (event: InspectionEvent): string | undefined => {
    try {
      return toStatelyMessage(event);
    } catch {
      // A value the serialiser cannot handle loses that one message, not the actor.
      return undefined;
    }
  };
  const forward = (event: InspectionEvent): void => {
    const message = messageOf(event);
    if (message !== undefined) relay?.publish(message);
  };
  relay = await createInspectorRelay({ ...options, replayMessages: 0 }, {
    onClient(send) {
      if (attached === undefined) {
        // The first client: attaching announces every actor (to it alone), then streams live to all.
        if (rt.state !== 'running') return;
        let announcing = true;
        const sub = rt.inspect((event) => {
          if (!announcing) return forward(event);
          const message = messageOf(event);
          if (message !== undefined) send(message);
        });
        announcing = false;
        // It may have gone during the announcement (dropped, or the relay closed): detach again.
        if (closed || relay === undefined || relay.clients === 0) sub.unsubscribe();
        else attached = sub;
        return;
      }
      const once = rt.inspect((event) => {
        const message = messageOf(event);
        if (message !== undefined) send(message);
      });
      // rt.inspect announces synchronously, before it subscribes: nothing live reaches `once`.
      once.unsubscribe();
    },
    onClientCount(count) {
      if (count === 0 && attached !== undefined) {
        attached.unsubscribe();
        attached = undefined;
      }
    },
  });
  const close = relay.close.bind(relay);
  let unregister = (): void => {};
  const served: InspectorRelay = Object.assign(relay, {
    close(): Promise<void> {
      closed = true;
      unregister();
      attached?.unsubscribe();
      attached = undefined;
      return close();
    },
  });
  try {
    unregister = rt.register(served);
  } catch (err) {
    await served.close();
    throw err;
  }
  return served;
}
