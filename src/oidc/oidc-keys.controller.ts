import { Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OidcProviderHost } from './oidc-provider.host';
import { OidcSigningKeysService } from './oidc-signing-keys.service';

@ApiTags('keys')
@ApiBearerAuth()
@Controller('api/v1/keys')
export class OidcKeysController {
  constructor(
    private readonly keys: OidcSigningKeysService,
    private readonly host: OidcProviderHost,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'OIDC signing keys: current (signs), next (published), retired (published until tokens expire)',
  })
  async list() {
    return { items: await this.keys.list() };
  }

  @Post('rotate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Rotate the OIDC signing keys',
    description:
      'The published next key starts signing; the old key stays in the JWKS until its tokens have expired. Other instances follow within 10 s.',
  })
  async rotate() {
    await this.keys.rotate();
    await this.host.current(true);
    return { items: await this.keys.list() };
  }
}
