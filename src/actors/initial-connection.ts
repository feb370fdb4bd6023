/**
 * A connection's beginning, shared by `connectionMachine` and `connectionModel`: the input
 * is validated (a bad option fails the actor before anything is dialed), the live half is
 * created and registered for the actor, and the first context is returned.
 *
 * Services (scheduler, random, loadSource) come from the input when given, else from the
 * runtime the actor runs in (`servicesOf(self.system)`).
 */
import type { ActorSystem, AnyActorRef } from 'xstate';
import { servicesOf } from '../services.js';
import { parseConnectionInput } from './connection-input.js';
import { ConnectionResources } from './connection-resources.js';
import type { ConnectionContext, ConnectionInput } from './connection-types.js';
import { initialContext } from './connection-updates.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- runs in any actor system
type AnySystem = ActorSystem<any>;

/** Validates `input`, creates the actor's live half and returns its first context (`dialing.connecting`). */
export function initialConnection(input: ConnectionInput | undefined, self: AnyActorRef, system: AnySystem | undefined): ConnectionContext {
  const parsed = parseConnectionInput(input);
  const services = servicesOf(system);
  const scheduler = parsed.scheduler ?? services.scheduler;
  // The caller's own endpoint object goes to the transport and the protocol (parsing succeeded, so there is one).
  const endpoint = (input as ConnectionInput).endpoint;
  const live = new ConnectionResources(self, parsed, endpoint, scheduler, parsed.random ?? services.random, parsed.loadSource ?? services.loadSource);
  // An actor stopped from outside before it started never transitions; completion and
  // errors reach observers in every case, so the live half also cleans up from there.
  self.subscribe(live);
  return initialContext(parsed, scheduler.now());
}
