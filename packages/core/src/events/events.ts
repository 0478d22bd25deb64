import { EventEmitter } from 'eventemitter3';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../model/types.js';

/** Events the controller emits, after the state change is durable. */
export interface SwitchyardEvents {
  'network.created': (network: NetworkRecord) => void;
  'network.deleted': (network: NetworkRecord) => void;
  'sandbox.created': (sandbox: SandboxRecord) => void;
  'sandbox.deleted': (sandbox: SandboxRecord) => void;
  'endpoint.joined': (endpoint: EndpointRecord, sandbox: SandboxRecord, network: NetworkRecord) => void;
  'endpoint.left': (endpoint: EndpointRecord, sandbox: SandboxRecord, network: NetworkRecord) => void;
  'recovery.completed': (summary: { rolledBack: number }) => void;
}

export class SwitchyardEventBus extends EventEmitter<SwitchyardEvents> {}
