import { AdminApiKeyEntity } from '../admin/admin-api-key.entity';
import { ConsoleSessionEntity } from '../admin/console/console-session.entity';
import { SetupLinkEntity } from '../admin/setup-links/setup-link.entity';
import { SsoTraceEntity } from '../audit/sso-trace.entity';
import { ConnectionEntity } from '../connections/connection.entity';
import { SpKeyEntity } from '../keys/sp-key.entity';
import { OidcClientEntity } from '../oidc/oidc-client.entity';
import { LoginSessionEntity } from '../saml/login-session.entity';
import { SamlRequestEntity } from '../saml/saml-request.entity';
import { UserEntity } from '../users/user.entity';

/** Every TypeORM entity of the bridge. */
export const ENTITIES = [
  ConnectionEntity,
  AdminApiKeyEntity,
  SpKeyEntity,
  SamlRequestEntity,
  UserEntity,
  LoginSessionEntity,
  SsoTraceEntity,
  OidcClientEntity,
  ConsoleSessionEntity,
  SetupLinkEntity,
];
