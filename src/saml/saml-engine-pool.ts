import { Worker } from 'node:worker_threads';
import type { Profile, SamlConfig } from '@node-saml/node-saml';
import { threadCpuSeconds } from '../metrics/thread-cpu';
import { runInBackground } from '../common/background';

/** A validation taking longer than this is abandoned: its worker is terminated and replaced. */
export const SAML_ENGINE_TASK_TIMEOUT_MS = 10_000;
/** Heap limit of each worker: a hostile response exhausts its worker (which is replaced), not the process. */
export const SAML_ENGINE_WORKER_HEAP_MB = 96;
/**
 * A worker validates one response at a time and its garbage dies with the task: a small young generation
 * (V8's default grows to 48 MB per thread) keeps each worker's resident memory down (bench, ACS run at
 * c=32: peak RSS 389 → 356 MB, for about 5 % more CPU per response, 10.45 → 10.93 ms).
 */
export const SAML_ENGINE_WORKER_YOUNG_MB = 8;
/** node-saml instances each worker keeps (per connection version and decryption key), oldest evicted. */
const MAX_ENGINES_PER_WORKER = 500;

/** The ACS options of one node-saml instance, minus the cache provider (the worker adds its own no-op one). */
export type CloneableSamlConfig = Omit<SamlConfig, 'cacheProvider'>;

/** What node-saml's `validatePostResponseAsync` returns, rebuilt on the main thread. */
export interface EngineOutcome {
  profile: Profile | null;
  loggedOut: boolean;
}

/**
 * The plaintexts of a response's EncryptedAssertions (wherever they are in the Response, in document order),
 * decrypted with the key `keyIndex` of the keys offered: each exactly as the IdP serialised it.
 */
export interface AssertionDecryption {
  keyIndex: number;
  items: { ciphertext: string; plaintext: string }[];
}

/** The pool itself failed the task (timeout, crashed worker, shutdown): the response was not judged. */
export class SamlEnginePoolError extends Error {
  override readonly name = 'SamlEnginePoolError';
}

export interface SamlEnginePoolOptions {
  /** Worker threads; 0 disables the pool (the caller validates in-thread). */
  threads: number;
  taskTimeoutMs?: number;
  /**
   * Tests only: a worker given the SAMLResponse `__hang__` loops forever and `__crash__` exits, so the
   * timeout and crash handling can be exercised. Never set by the application.
   */
  testFaults?: boolean;
}

type WorkerTask =
  | {
      id: number;
      kind: 'validate';
      key: string;
      config: CloneableSamlConfig;
      SAMLResponse: string;
      /**
       * Plaintexts already decrypted (by a 'decrypt' task, with this task's decryption key): node-saml takes
       * them instead of decrypting their ciphertexts again.
       */
      decrypted?: AssertionDecryption['items'];
    }
  | { id: number; kind: 'decrypt'; keys: string[]; SAMLResponse: string };

type WorkerReply =
  /** Sent once when the worker starts: its thread id in the operating system, where the system says. */
  | { tid: number | null }
  | {
      id: number;
      ok: true;
      profile: Record<string, unknown> | null;
      assertionXml: string | undefined;
      loggedOut: boolean;
    }
  | { id: number; ok: true; decryption: AssertionDecryption }
  | { id: number; ok: false; message: string; name: string };

interface PendingTask {
  task: WorkerTask;
  resolve: (outcome: never) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  /** The task being validated (at most one per worker, so a timeout measures validation, not queueing). */
  current?: PendingTask;
  timer?: NodeJS.Timeout;
  /** Stopped by the pool (timeout or shutdown): its exit is expected. */
  retired: boolean;
  /** Why the worker stopped, from its 'error' event (e.g. ERR_WORKER_OUT_OF_MEMORY). */
  failure?: string;
  /** Its thread id in the operating system (Linux), for its CPU time. */
  tid?: number;
  /** Its CPU seconds at the last reading. */
  cpuSeconds: number;
}

/**
 * The worker, as source evaluated in the thread: it must not be a .ts file (jest runs TypeScript sources
 * and a worker cannot load them), so node-saml is required relative to the file that started it.
 */
const WORKER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const requireFrom = require('node:module').createRequire(workerData.from);
const { SAML } = requireFrom('@node-saml/node-saml');
const samlXml = requireFrom('@node-saml/node-saml/lib/xml');
// AcsVerifier in saml-engine.ts: node-saml's verification without its profile step (an xml2js parse of the
// signed assertion that the ACS's own checks judge after it); the ACS reads only that assertion's XML.
class AcsVerifier extends SAML {
  async processValidlySignedAssertionAsync(signedAssertionXml) {
    return { profile: { getAssertionXml: () => signedAssertionXml }, loggedOut: false };
  }
}
const NO_CACHE = { saveAsync: async () => null, getAsync: async () => null, removeAsync: async () => null };
const engines = new Map();
let tid = null;
try { tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()) || null; } catch {}
parentPort.postMessage({ tid });
// node-saml decrypts an EncryptedAssertion with its own helper (samlXml.decryptXml, looked up at each
// call). A validation whose plaintexts the pool already decrypted (a 'decrypt' task, whose results the
// policy checked) hands them to node-saml instead of decrypting again: same helper, same key, same bytes.
const decryptWithKey = samlXml.decryptXml;
let provided = null;
samlXml.decryptXml = async (xml, key) => {
  if (provided !== null && provided.has(xml)) return provided.get(xml);
  return decryptWithKey(xml, key);
};
const messageOf = (err) => (typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err));
function engineFor(key, config) {
  let engine = engines.get(key);
  if (engine) return engine;
  engine = new AcsVerifier({ ...config, cacheProvider: NO_CACHE });
  if (engines.size >= workerData.maxEngines) engines.delete(engines.keys().next().value);
  engines.set(key, engine);
  return engine;
}
// The same steps as decryptAssertions in saml-decryption.ts (the in-thread path).
async function decrypt(task) {
  const doc = await samlXml.parseDomFromString(Buffer.from(task.SAMLResponse, 'base64').toString('utf8'));
  const ciphertexts = samlXml.xpath
    .selectElements(doc, "/*[local-name()='Response']//*[local-name()='EncryptedAssertion']")
    .map((el) => el.toString());
  const failures = [];
  for (let keyIndex = 0; keyIndex < task.keys.length; keyIndex++) {
    try {
      const items = [];
      for (const ciphertext of ciphertexts) {
        items.push({ ciphertext, plaintext: await decryptWithKey(ciphertext, task.keys[keyIndex]) });
      }
      return { keyIndex, items };
    } catch (err) {
      failures.push(messageOf(err));
    }
  }
  throw new Error('No SP decryption key decrypts the assertion: ' + failures.join('; '));
}
async function validate(task) {
  provided = task.decrypted ? new Map(task.decrypted.map((d) => [d.ciphertext, d.plaintext])) : null;
  try {
    const result = await engineFor(task.key, task.config).validatePostResponseAsync({ SAMLResponse: task.SAMLResponse });
    let profile = null;
    let assertionXml;
    if (result.profile) {
      profile = {};
      for (const [name, value] of Object.entries(result.profile)) {
        if (typeof value !== 'function') profile[name] = value;
      }
      if (typeof result.profile.getAssertionXml === 'function') assertionXml = result.profile.getAssertionXml();
    }
    return { profile, assertionXml, loggedOut: result.loggedOut };
  } finally {
    provided = null;
  }
}
parentPort.on('message', async (task) => {
  if (workerData.testFaults && task.SAMLResponse === '__hang__') for (;;);
  if (workerData.testFaults && task.SAMLResponse === '__crash__') process.exit(70);
  try {
    const reply = task.kind === 'decrypt' ? { decryption: await decrypt(task) } : await validate(task);
    parentPort.postMessage({ id: task.id, ok: true, ...reply });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const name = err instanceof Error ? err.name : 'Error';
    parentPort.postMessage({ id: task.id, ok: false, message, name });
  }
});
`;

/**
 * node-saml response validation (XML signature verification, decryption) on worker threads, so it neither
 * blocks the event loop nor is limited to one core. Each worker validates one response at a time; the others
 * wait here and go to the first worker that is free. Workers start when needed (at most \`threads\`), and a
 * worker that crashed or was stopped after a timeout is replaced the same way.
 */
export class SamlEnginePool {
  readonly threads: number;
  private readonly taskTimeoutMs: number;
  private readonly testFaults: boolean;
  /** undefined: not started yet, or stopped (started again when a task needs it). */
  private slots: (Slot | undefined)[];
  private readonly queue: PendingTask[] = [];
  private nextId = 1;
  private closed = false;
  /** CPU seconds of the workers that have ended, as last read. */
  private endedCpuSeconds = 0;
  /** A worker could not name its thread: the system does not give threads' CPU time. */
  private threadCpuUnknown = false;

  constructor(options: SamlEnginePoolOptions) {
    this.threads = options.threads;
    this.taskTimeoutMs = options.taskTimeoutMs ?? SAML_ENGINE_TASK_TIMEOUT_MS;
    this.testFaults = options.testFaults ?? false;
    this.slots = Array.from({ length: this.threads }, () => undefined);
  }

  /** True when responses are validated on worker threads (threads > 0). */
  get enabled(): boolean {
    return this.threads > 0;
  }

  /**
   * Validates a POST-binding response with the node-saml instance `key` (built from `config` the first time
   * a worker sees the key). Rejects with an Error carrying node-saml's message, or a SamlEnginePoolError.
   */
  validatePostResponse(
    key: string,
    config: CloneableSamlConfig,
    SAMLResponse: string,
    decrypted?: AssertionDecryption['items'],
  ): Promise<EngineOutcome> {
    return this.submit<EngineOutcome>({
      id: this.nextId++,
      kind: 'validate',
      key,
      config,
      SAMLResponse,
      ...(decrypted ? { decrypted } : {}),
    });
  }

  /**
   * Decrypts the EncryptedAssertions of a POST-binding response (all of them, in document order) with
   * node-saml's own helper, trying each key (PEM) in turn; rejects with an Error naming why each key
   * failed, or a SamlEnginePoolError.
   */
  decryptAssertions(keys: string[], SAMLResponse: string): Promise<AssertionDecryption> {
    return this.submit<AssertionDecryption>({ id: this.nextId++, kind: 'decrypt', keys, SAMLResponse });
  }

  private submit<T>(task: WorkerTask): Promise<T> {
    if (!this.enabled) return Promise.reject(new SamlEnginePoolError('The SAML engine pool has no threads.'));
    if (this.closed) return Promise.reject(new SamlEnginePoolError('The SAML engine pool is shut down.'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ task, resolve: resolve as (outcome: never) => void, reject });
      this.dispatch();
    });
  }

  /**
   * CPU seconds (user + system) the engine threads have used: the running workers' as they stand, plus the
   * ended workers' as last read (a worker's time after the last reading is lost when it ends). Undefined
   * where the operating system does not give a thread's CPU time (Linux does).
   */
  cpuSeconds(): number | undefined {
    if (this.threadCpuUnknown) return undefined;
    let total = this.endedCpuSeconds;
    for (const slot of this.slots) if (slot) total += this.readCpu(slot);
    return total;
  }

  /** Thread ids of the running workers (diagnostics and tests). */
  threadIds(): number[] {
    return this.slots.flatMap((s) => (s ? [s.worker.threadId] : []));
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) {
      pending.reject(new SamlEnginePoolError('The SAML engine pool is shut down.'));
    }
    const stopping = this.slots.map((slot) =>
      slot ? this.retire(slot, 'The SAML engine pool is shut down.') : Promise.resolve(),
    );
    this.slots = this.slots.map(() => undefined);
    await Promise.all(stopping);
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { from: __filename, maxEngines: MAX_ENGINES_PER_WORKER, testFaults: this.testFaults },
      resourceLimits: {
        maxOldGenerationSizeMb: SAML_ENGINE_WORKER_HEAP_MB,
        maxYoungGenerationSizeMb: SAML_ENGINE_WORKER_YOUNG_MB,
      },
    });
    // An idle worker does not keep the process alive; a busy one does (see dispatch / finish).
    worker.unref();
    const slot: Slot = { worker, retired: false, cpuSeconds: 0 };
    worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
    worker.on('error', (err) => {
      slot.failure = err.message;
    });
    worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  /** Hands queued tasks to idle workers (a running one first, else a new one while fewer than `threads`). */
  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const slot = this.idleSlot();
      if (!slot) return;
      const pending = this.queue.shift() as PendingTask;
      slot.current = pending;
      slot.worker.ref();
      slot.timer = setTimeout(() => this.onTimeout(slot, pending), this.taskTimeoutMs);
      slot.timer.unref();
      slot.worker.postMessage(pending.task);
    }
  }

  private idleSlot(): Slot | undefined {
    const idle = this.slots.find((s) => s !== undefined && !s.current);
    if (idle) return idle;
    const free = this.slots.indexOf(undefined);
    if (free < 0) return undefined;
    const slot = this.spawn();
    this.slots[free] = slot;
    return slot;
  }

  private finish(slot: Slot): PendingTask | undefined {
    const pending = slot.current;
    slot.current = undefined;
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.worker.unref();
    return pending;
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    if ('tid' in reply) {
      if (reply.tid === null) this.threadCpuUnknown = true;
      else slot.tid = reply.tid;
      return;
    }
    if (slot.current?.task.id !== reply.id) return;
    const pending = this.finish(slot) as PendingTask;
    if (reply.ok && 'decryption' in reply) {
      (pending.resolve as (d: AssertionDecryption) => void)(reply.decryption);
    } else if (reply.ok) {
      (pending.resolve as (o: EngineOutcome) => void)(
        rebuildOutcome(reply.profile, reply.assertionXml, reply.loggedOut),
      );
    } else {
      const err = new Error(reply.message);
      err.name = reply.name;
      pending.reject(err);
    }
    this.dispatch();
  }

  private onTimeout(slot: Slot, pending: PendingTask): void {
    if (slot.current !== pending) return;
    this.forget(slot);
    runInBackground(
      'SAML engine worker retirement',
      this.retire(slot, `SAML response validation timed out after ${this.taskTimeoutMs} ms.`),
    );
    this.dispatch();
  }

  /** Stops a worker on purpose, failing its task with `reason`. */
  private async retire(slot: Slot, reason: string): Promise<void> {
    slot.retired = true;
    this.finish(slot)?.reject(new SamlEnginePoolError(reason));
    await slot.worker.terminate();
  }

  private onExit(slot: Slot, code: number): void {
    if (slot.retired) return;
    const why = slot.failure ?? `exit code ${code}`;
    this.finish(slot)?.reject(
      new SamlEnginePoolError(`The SAML engine worker stopped unexpectedly (${why}).`),
    );
    this.forget(slot);
    this.dispatch();
  }

  private forget(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots[index] = undefined;
    this.endedCpuSeconds += this.readCpu(slot);
  }

  /** A worker's CPU seconds now (or as last read, once its thread has ended). */
  private readCpu(slot: Slot): number {
    const used = slot.tid === undefined ? undefined : threadCpuSeconds(slot.tid);
    if (used !== undefined && used > slot.cpuSeconds) slot.cpuSeconds = used;
    return slot.cpuSeconds;
  }
}

/** node-saml's result as the caller knows it: the profile's data and its getAssertionXml. */
function rebuildOutcome(
  data: Record<string, unknown> | null,
  assertionXml: string | undefined,
  loggedOut: boolean,
): EngineOutcome {
  if (!data) return { profile: null, loggedOut };
  const profile = { ...data } as Profile;
  if (assertionXml !== undefined) profile.getAssertionXml = () => assertionXml;
  return { profile, loggedOut };
}
