import { Controller, Get, Headers, HttpStatus, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { ApiError } from '../common/api-error';
import { Public } from '../common/public.decorator';
import { sha256 } from '../common/sha256';
import { JwtAccessTokens } from './jwt-access-tokens';
import { OidcClientsService } from './oidc-clients.service';

const CURSOR = /^\d{1,20}$/;

/**
 * The revocation list of JWT access tokens, for resource servers that verify tokens offline: the jtis of
 * revoked, unexpired tokens. A resource server authenticates as a service app (client_credentials, with its
 * secret in HTTP Basic, as at the token endpoint): the app it already has to introspect tokens. An admin key
 * is not accepted: an API must not need the power to reconfigure the bridge to learn what was revoked.
 */
@ApiTags('oidc')
@Controller('oidc')
export class RevokedJtisController {
  constructor(
    private readonly tokens: JwtAccessTokens,
    private readonly clients: OidcClientsService,
  ) {}

  @Public()
  @Get('revoked-jtis')
  @ApiOperation({
    summary: 'Revoked JWT access tokens (jti, exp), for resource servers to poll',
    description:
      'HTTP Basic auth of a service app (client_credentials). Without `since`: every revoked token that has not expired. ' +
      'With `since` (the `next` of a previous answer): those revoked since then; an entry may repeat, treat the list as a set ' +
      'and drop entries after their `exp`. `If-None-Match` with the previous ETag answers 304 when nothing changed.',
  })
  async list(
    @Query('since') since: string | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    await this.authenticate(authorization, res);
    if (since !== undefined && !CURSOR.test(since))
      throw ApiError.badRequest('invalid_cursor', 'since must be the `next` value of a previous answer.');
    const page = await this.tokens.revokedSince(since);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('ETag', page.etag);
    if (ifNoneMatch?.split(',').some((tag) => tag.trim() === page.etag)) {
      res.status(HttpStatus.NOT_MODIFIED).end();
      return;
    }
    res.status(HttpStatus.OK).json({ revoked: page.revoked, next: page.next });
  }

  /** HTTP Basic with a service app's id and secret (form-encoded first, RFC 6749 §2.3.1). */
  private async authenticate(header: string | undefined, res: Response): Promise<void> {
    const fail = (code: string, message: string) => {
      res.setHeader('WWW-Authenticate', 'Basic realm="saml-bridge", charset="UTF-8"');
      return new ApiError(HttpStatus.UNAUTHORIZED, code, message);
    };
    const credentials = header ? /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim())?.[1] : undefined;
    if (credentials === undefined)
      throw fail('unauthorized', 'Authenticate as a service app: HTTP Basic with its client_id and secret.');
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    let clientId: string;
    let secret: string;
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    } catch {
      throw fail('invalid_client', 'The client credentials are not form-encoded.');
    }
    const client = colon > 0 ? await this.clients.find(clientId) : null;
    const expected = Buffer.from(client?.secretHash ?? '', 'hex');
    const given = Buffer.from(sha256(secret), 'hex');
    const valid = expected.length === given.length && timingSafeEqual(expected, given);
    if (!client || !valid) throw fail('invalid_client', 'Unknown app or wrong secret.');
    if (!client.grantTypes.includes('client_credentials'))
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        'not_a_service_app',
        'Only service apps (grant type client_credentials) may read the revocation list.',
      );
  }
}
