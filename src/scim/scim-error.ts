/** SCIM message and schema URNs (RFC 7643, RFC 7644). */
export const SCIM = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

export const SCIM_MEDIA_TYPE = 'application/scim+json';

/** RFC 7644 §3.12 scimType values the bridge answers with. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

/** A SCIM protocol error: rendered as the SCIM error schema with `status` (and `scimType` for 400/409). */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly scimType?: ScimType,
    /** Headers to send with it (Retry-After on 429 and 503, WWW-Authenticate on 401). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ScimError';
  }

  static badRequest(scimType: ScimType, message: string): ScimError {
    return new ScimError(400, message, scimType);
  }

  static notFound(message: string): ScimError {
    return new ScimError(404, message);
  }

  static conflict(message: string): ScimError {
    return new ScimError(409, message, 'uniqueness');
  }

  static unauthorized(message: string): ScimError {
    return new ScimError(401, message, undefined, { 'WWW-Authenticate': 'Bearer realm="scim"' });
  }

  /** The body RFC 7644 §3.12 describes. */
  body(): Record<string, unknown> {
    return {
      schemas: [SCIM.error],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.message,
    };
  }
}
