/**
 * The public surface of supervised pub/sub: `Subscriber` (what `rt.createSubscriber()`
 * returns), its options and its status events. The core, the watcher and the option
 * parser stay internal; src/index.ts re-exports this.
 */
export { Subscriber } from './subscriber.js';
export type { CreateSubscriberOptions } from './subscriber-options.js';
export type {
  SubscriberState, SubscriberEvent, SubscriberSubscribedEvent, SubscriberGapEvent, SubscriberDialFailedEvent,
  SubscriberSubscribeFailedEvent,
} from './subscriber-events.js';
