import { EventEmitter } from 'eventemitter3';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../model/types.js';

/** Events the controller emits, after the state change is durable. */
export interface SwitchyardEvents {
  /** A network was created (its record as stored). */
  'network.created': (network: NetworkRecord) => void;
  /** A network was deleted (its last record). */
  'network.deleted': (network: NetworkRecord) => void;
  /** A sandbox was created. */
  'sandbox.created': (sandbox: SandboxRecord) => void;
  /** A sandbox was deleted (after its endpoints left). */
  'sandbox.deleted': (sandbox: SandboxRecord) => void;
  /** An endpoint joined a sandbox: the sandbox is connected to the network. */
  'endpoint.joined': (endpoint: EndpointRecord, sandbox: SandboxRecord, network: NetworkRecord) => void;
  /** An endpoint left its sandbox: the sandbox is disconnected from the network. */
  'endpoint.left': (endpoint: EndpointRecord, sandbox: SandboxRecord, network: NetworkRecord) => void;
  /** Start-up recovery finished; `rolledBack` counts the interrupted operations it rolled back or finished. */
  'recovery.completed': (summary: { rolledBack: number }) => void;
}

/**
 * A typed event emitter (eventemitter3) for {@link SwitchyardEvents}; one per Switchyard instance, as `switchyard.events`.
 * Listeners run synchronously after the change is durable; a throwing listener does not undo the change.
 */
export class SwitchyardEventBus extends EventEmitter<SwitchyardEvents> {}
