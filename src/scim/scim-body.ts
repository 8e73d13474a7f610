import express, { type RequestHandler } from 'express';
import { SCIM_MEDIA_TYPE, ScimError } from './scim-error';
import { sendScimError } from './scim-exception.filter';

/**
 * The JSON body parser of the SCIM routes: `application/scim+json` and `application/json`, up to `limit`
 * bytes. What it refuses (malformed JSON, an oversized body, another charset) is answered here in the SCIM
 * error schema with its own status (400 invalidSyntax, 413), before any route runs.
 */
export function scimBodyParser(limit: number): RequestHandler {
  const parse = express.json({ type: [SCIM_MEDIA_TYPE, 'application/json'], limit, strict: true });
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { status?: number; type?: string };
      const status = e.status ?? 400;
      const error =
        status === 413
          ? new ScimError(413, `The request body is larger than ${limit} bytes.`, 'tooMany')
          : e.type === 'entity.parse.failed'
            ? ScimError.badRequest('invalidSyntax', 'The request body is not valid JSON.')
            : new ScimError(
                status >= 400 && status < 500 ? status : 400,
                'The request body could not be read.',
                'invalidSyntax',
              );
      sendScimError(res, error);
    });
  };
}
