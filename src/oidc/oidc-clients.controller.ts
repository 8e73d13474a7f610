import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { CreateClientDto, UpdateClientDto } from './oidc-client.dto';
import { OidcClientEntity } from './oidc-client.entity';
import { OidcClientsService } from './oidc-clients.service';
import { OidcLogoutService, type BackchannelDeliveryState } from './oidc-logout.service';

export class BackchannelDeliveryView {
  @ApiProperty({ nullable: true, type: String, description: 'When the bridge last tried to deliver' })
  lastAttemptAt!: string | null;
  @ApiProperty({
    enum: ['delivered', 'retrying', 'failed', 'queued', 'sending'],
    description:
      'retrying: failed, another attempt is scheduled; failed: no attempt left; sending: an instance is sending it now',
  })
  result!: BackchannelDeliveryState['result'];
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'timeout',
    description:
      'Why the last attempt failed: dns, refused, unreachable, reset, timeout, tls, status_<N>, blocked_by_policy, too_large, invalid_url, network',
  })
  cause!: string | null;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty() attempts!: number;
  @ApiProperty({ description: "The app's deliveries still waiting for a (re)try" }) pending!: number;
}

export class ClientView {
  @ApiProperty() clientId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: [String] }) redirectUris!: string[];
  @ApiProperty({ type: [String] }) postLogoutRedirectUris!: string[];
  @ApiProperty({ nullable: true, type: String }) backchannelLogoutUri!: string | null;
  @ApiProperty({ type: [String] }) grantTypes!: string[];
  @ApiProperty() tokenEndpointAuthMethod!: string;
  @ApiProperty({ nullable: true, type: String }) jwksUri!: string | null;
  @ApiProperty({ nullable: true, type: [String] }) allowedConnections!: string[] | null;
  @ApiProperty() accessTokenFormat!: string;
  @ApiProperty() idTokenSignedResponseAlg!: string;
  @ApiProperty({ description: "What the app's JWT access tokens are signed with" })
  accessTokenSigningAlg!: string;
  @ApiProperty() lifetimes!: Record<string, number>;
  @ApiProperty({ description: 'Whether the app has a client secret (never shown again)' })
  hasSecret!: boolean;
  @ApiProperty({
    nullable: true,
    type: BackchannelDeliveryView,
    description: "The app's latest back-channel logout delivery (null: none yet)",
  })
  backchannelLogout!: BackchannelDeliveryView | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}

export class ClientWithSecretView extends ClientView {
  @ApiPropertyOptional({ description: 'The client secret: shown once, stored only as a hash' })
  clientSecret?: string;
}

const REFUSED =
  'invalid_redirect_uri, invalid_grant_types, invalid_client_metadata; outbound_destination_refused when backchannelLogoutUri or jwksUri points where the outbound policy never sends (details: field, cause, address)';

function deliveryView(d: BackchannelDeliveryState | undefined): BackchannelDeliveryView | null {
  return d ? { ...d, lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null } : null;
}

function view(
  c: OidcClientEntity,
  delivery: BackchannelDeliveryState | undefined,
  clientSecret?: string,
): ClientWithSecretView {
  return {
    clientId: c.clientId,
    name: c.name,
    redirectUris: c.redirectUris,
    postLogoutRedirectUris: c.postLogoutRedirectUris,
    backchannelLogoutUri: c.backchannelLogoutUri,
    grantTypes: c.grantTypes,
    tokenEndpointAuthMethod: c.tokenEndpointAuthMethod,
    jwksUri: c.jwksUri,
    allowedConnections: c.allowedConnections,
    accessTokenFormat: c.accessTokenFormat,
    idTokenSignedResponseAlg: c.idTokenSignedResponseAlg,
    accessTokenSigningAlg: c.accessTokenSigningAlg,
    lifetimes: { ...c.lifetimes } as Record<string, number>,
    hasSecret: c.secretHash !== null,
    backchannelLogout: deliveryView(delivery),
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    ...(clientSecret ? { clientSecret } : {}),
  };
}

@ApiTags('apps (OIDC clients)')
@ApiBearerAuth()
@Controller('api/v1/clients')
export class OidcClientsController {
  constructor(
    private readonly clients: OidcClientsService,
    private readonly logout: OidcLogoutService,
  ) {}

  private async delivery(clientId: string): Promise<BackchannelDeliveryState | undefined> {
    return (await this.logout.deliveryStates([clientId])).get(clientId);
  }

  @Post()
  @ApiOperation({ summary: 'Register an app; the answer carries clientId and (once) clientSecret' })
  @ApiCreatedResponse({ type: ClientWithSecretView })
  @ApiBadRequestResponse({ description: REFUSED })
  async create(@Body() dto: CreateClientDto): Promise<ClientWithSecretView> {
    const { client, clientSecret } = await this.clients.create(dto);
    return view(client, undefined, clientSecret);
  }

  @Get()
  @ApiOperation({ summary: 'List apps' })
  @ApiOkResponse({ type: [ClientView] })
  async list(): Promise<{ items: ClientView[] }> {
    const [clients, deliveries] = await Promise.all([this.clients.list(), this.logout.deliveryStates()]);
    return { items: clients.map((c) => view(c, deliveries.get(c.clientId))) };
  }

  @Get(':clientId')
  @ApiOperation({ summary: 'Get an app' })
  @ApiOkResponse({ type: ClientView })
  async get(@Param('clientId') clientId: string): Promise<ClientView> {
    const client = await this.clients.get(clientId);
    return view(client, await this.delivery(client.clientId));
  }

  @Patch(':clientId')
  @ApiOperation({ summary: 'Update an app (redirect URIs are matched exactly)' })
  @ApiOkResponse({ type: ClientWithSecretView })
  @ApiBadRequestResponse({ description: REFUSED })
  async update(
    @Param('clientId') clientId: string,
    @Body() dto: UpdateClientDto,
  ): Promise<ClientWithSecretView> {
    const { client, clientSecret } = await this.clients.update(clientId, dto);
    return view(client, await this.delivery(client.clientId), clientSecret);
  }

  @Post(':clientId/rotate-secret')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Replace the client secret (the old one stops working at once)' })
  @ApiOkResponse({ type: ClientWithSecretView })
  async rotate(@Param('clientId') clientId: string): Promise<ClientWithSecretView> {
    const { client, clientSecret } = await this.clients.rotateSecret(clientId);
    return view(client, await this.delivery(client.clientId), clientSecret);
  }

  @Delete(':clientId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete an app' })
  async remove(@Param('clientId') clientId: string): Promise<void> {
    await this.clients.remove(clientId);
  }
}
