// Messages between a RemoteEngine (the caller's side) and the Dispatcher that owns the real Engine (in a
// dedicated worker, or in-process). Everything here must survive structured cloning.

/** A call: `op` on the engine, or on the handle `target` (a model or an optimizer). */
export interface Request {
  kind: 'request';
  id: number;
  op: string;
  target?: number;
  args: unknown[];
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type Response =
  | { kind: 'response'; id: number; ok: true; value: unknown }
  | { kind: 'response'; id: number; ok: false; error: SerializedError };

/** A training callback firing in the host; the caller runs it and answers with an EventReply. */
export interface CallbackEvent {
  kind: 'event';
  /** The request (a fit) whose callback this is. */
  call: number;
  seq: number;
  name: 'onBatchEnd' | 'onEpochEnd' | 'onWarning' | 'onSwitch' | 'onFinding' | 'onCheckpoint';
  info: unknown;
}

export type EventReply = { kind: 'event-reply'; seq: number; ok: true } | { kind: 'event-reply'; seq: number; ok: false; error: SerializedError };

export type ToHost = Request | EventReply;
/** Sent once by the worker when it listens (messages sent earlier could be lost while its module loads). */
export interface Ready {
  kind: 'ready';
}

export type FromHost = Response | CallbackEvent | Ready;

/** What a model handle carries back so that cheap getters need no round trip. */
export interface ModelHandleInfo {
  id: number;
  classes: number;
  sampleSize: number;
  numParams: number;
  inputShape: number[];
  parameterShapes: { name: string; shape: number[] }[];
}

export interface OptimizerHandleInfo {
  id: number;
  name: string;
  size: number;
}

/** Stands in for a RemoteOptimizer inside FitOptions on the wire. */
export interface OptimizerRef {
  optimizerHandle: number;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/** Rebuilds an error with the same class (TypeError, RangeError, Error) and message as the host's. */
export function deserializeError(e: SerializedError): Error {
  const Ctor = e.name === 'TypeError' ? TypeError : e.name === 'RangeError' ? RangeError : Error;
  const err = new Ctor(e.message);
  if (Ctor === Error && e.name !== 'Error') err.name = e.name;
  return err;
}
