/**
 * wirewarden's `node:diagnostics_channel` names, in one file (as undici's
 * `lib/core/diagnostics.js`), so APM tools and adapters subscribe without importing us.
 *
 * | channel            | message                                   |
 * | ------------------ | ----------------------------------------- |
 * | `wirewarden:event` | every `RuntimeEvent` (see `./events.ts`)   |
 *
 * Publishing checks `hasSubscribers` first, so an idle channel costs one property read.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe('wirewarden:event', (event) => console.log(event));
 */
import { channel } from 'node:diagnostics_channel';

export const EVENT_CHANNEL = 'wirewarden:event';

const eventChannel = channel(EVENT_CHANNEL);

/** Whether anyone listens on `wirewarden:event`. */
export function eventChannelActive(): boolean {
  return eventChannel.hasSubscribers;
}

/** Publishes on `wirewarden:event` when it has subscribers. */
export function publishEvent(event: object): void {
  if (eventChannel.hasSubscribers) eventChannel.publish(event);
}
