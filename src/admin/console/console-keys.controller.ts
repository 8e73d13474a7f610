import { Controller, Get, HttpStatus, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../../common/public.decorator';
import { ConnectionsService } from '../../connections/connections.service';
import { SpKeysService } from '../../keys/sp-keys.service';
import { OidcProviderHost } from '../../oidc/oidc-provider.host';
import { OidcSigningKeysService } from '../../oidc/oidc-signing-keys.service';
import { actionButton, consolePage, date, h, table } from './console-html';
import type { ConsoleSession } from './console-sessions.service';
import type { ConsoleRequest } from './console.guard';
import { ConsolePageFilter } from './console.filter';

/** Keys: the OIDC signing keys (rotate) and each connection's SP keys (roll over on the connection page). */
@ApiExcludeController()
@Public()
@UseFilters(ConsolePageFilter)
@Controller('admin/keys')
export class ConsoleKeysController {
  constructor(
    private readonly signingKeys: OidcSigningKeysService,
    private readonly host: OidcProviderHost,
    private readonly spKeys: SpKeysService,
    private readonly connections: ConnectionsService,
  ) {}

  @Get()
  async page(
    @Req() req: ConsoleRequest,
    @Res() res: Response,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    const session = req.consoleSession as ConsoleSession;
    const keys = await this.signingKeys.list();
    const { items: connections } = await this.connections.list({ limit: 500, offset: 0 });
    const spRows: string[][] = [];
    for (const c of connections) {
      for (const k of await this.spKeys.list(c.id)) {
        spRows.push([
          `<a href="/admin/connections/${h(c.id)}#sp-keys">${h(c.name)}</a>`,
          h(k.status),
          `<code>${h(k.fingerprint)}</code>`,
          date(k.notAfter),
          date(k.createdAt),
        ]);
      }
    }
    const oidcRows = keys.map((k) => [
      `<code>${h(k.kid)}</code>`,
      h(k.alg),
      h(k.status),
      date(k.createdAt),
      k.status === 'retired'
        ? `published until ${date(k.publishUntil)}`
        : k.status === 'current'
          ? 'signs tokens'
          : 'published, signs after the next rotation',
    ]);
    res
      .setHeader('Cache-Control', 'no-store')
      .type('html')
      .send(
        consolePage(
          {
            title: 'Keys',
            session: { adminName: session.admin.name, csrfToken: session.csrfToken },
            active: 'keys',
            notice: notice === 'rotated' ? 'OIDC signing keys rotated: the next key signs now.' : undefined,
          },
          `<h2>OIDC signing keys</h2><p>Apps verify tokens with the JWKS. Rotating makes the published next key sign; ` +
            `the old key stays published until its tokens have expired.</p>` +
            table(
              'OIDC signing keys',
              ['Key id', 'Algorithm', 'Status', 'Created', 'Role'],
              oidcRows,
              'No signing keys yet.',
            ) +
            actionButton('/admin/keys/rotate', session.csrfToken, 'Rotate the OIDC signing keys') +
            `<h2>SP keys per connection</h2><p>Each connection signs AuthnRequests and decrypts assertions with its own key. ` +
            `Roll a key over from the connection's page (create the next key, let the customer refresh the SP metadata, then promote).</p>` +
            table(
              'SP keys',
              ['Connection', 'Status', 'SHA-256', 'Valid until', 'Created'],
              spRows,
              'No connections yet.',
            ),
        ),
      );
  }

  @Post('rotate')
  async rotate(@Res() res: Response): Promise<void> {
    await this.signingKeys.rotate();
    await this.host.current(true);
    res.redirect(HttpStatus.SEE_OTHER, '/admin/keys?notice=rotated');
  }
}
