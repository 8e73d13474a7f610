import { Controller, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ConnectionsService } from '../connections/connections.service';
import { SpKeysService, SpKeyView } from './sp-keys.service';

@ApiTags('SP keys')
@ApiBearerAuth()
@Controller('api/v1/connections/:id/sp-keys')
export class SpKeysController {
  constructor(
    private readonly keys: SpKeysService,
    private readonly connections: ConnectionsService,
  ) {}

  @Get()
  @ApiOperation({
    summary: "List a connection's SP keys (certificates only; private keys never leave the bridge)",
  })
  async list(@Param('id', new ParseUUIDPipe()) id: string): Promise<{ items: SpKeyView[] }> {
    await this.connections.get(id);
    return { items: await this.keys.list(id) };
  }

  @Post('next')
  @ApiOperation({
    summary: 'Start an SP key rollover',
    description:
      'Creates the next key. SP metadata lists it at once, and it can decrypt; ask the customer to refresh the SP metadata at their IdP, then promote.',
  })
  async addNext(@Param('id', new ParseUUIDPipe()) id: string): Promise<{ items: SpKeyView[] }> {
    const c = await this.connections.get(id);
    await this.keys.addNext(id, c.slug);
    return { items: await this.keys.list(id) };
  }

  @Post('promote')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Finish an SP key rollover',
    description: 'The next key becomes current; the previous one is retired and still decrypts for 24 hours.',
  })
  async promote(@Param('id', new ParseUUIDPipe()) id: string): Promise<{ items: SpKeyView[] }> {
    await this.connections.get(id);
    await this.keys.promote(id);
    return { items: await this.keys.list(id) };
  }
}
