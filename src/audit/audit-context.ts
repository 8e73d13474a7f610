import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

/** Who caused an audited change. */
export interface AuditActor {
  /** 'admin-key' (bootstrap key or API key), 'admin-session' (console), 'setup-link', 'scim-token' (directory sync), 'user', 'system'. */
  type: 'admin-key' | 'admin-session' | 'setup-link' | 'scim-token' | 'user' | 'system';
  /** A stable id: the API key id, the console session's admin name, the setup link id, the user id. */
  id: string | null;
  /** A readable name for the audit log. */
  name: string;
}

interface AuditContextStore {
  actor?: AuditActor;
  requestId?: string;
  ip?: string;
}

const storage = new AsyncLocalStorage<AuditContextStore>();

/** Express middleware: every request gets its own mutable audit context (actor set later by auth). */
export function auditContextMiddleware(req: Request, _res: Response, next: NextFunction): void {
  const id = (req as Request & { id?: unknown }).id;
  storage.run(
    { requestId: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined, ip: req.ip },
    next,
  );
}

/** Records who is acting in the current request (called by the admin guard, console and setup links). */
export function setAuditActor(actor: AuditActor): void {
  const store = storage.getStore();
  if (store) store.actor = actor;
}

/** The actor of the current request; 'system' outside a request (scheduled jobs) or before auth. */
export function currentAuditActor(): AuditActor {
  return storage.getStore()?.actor ?? { type: 'system', id: null, name: 'system' };
}

/** The request id and client IP of the current request, when inside one. */
export function currentAuditRequest(): { requestId?: string; ip?: string } {
  const store = storage.getStore();
  return { requestId: store?.requestId, ip: store?.ip };
}

/** Runs fn with a given actor (scheduled jobs, CLI tools, tests). */
export function runWithAuditActor<T>(actor: AuditActor, fn: () => T): T {
  return storage.run({ actor }, fn);
}
