import { InitialSchema1763800000000 } from './1763800000000-initial-schema';
import { SamlServiceProvider1763900000000 } from './1763900000000-saml-service-provider';
import { LoginCompletions1764000000000 } from './1764000000000-login-completions';
import { OpenIdProvider1764100000000 } from './1764100000000-openid-provider';
import { ScheduledJobs1764200000000 } from './1764200000000-scheduled-jobs';
import { BackchannelDeliveries1764300000000 } from './1764300000000-backchannel-deliveries';
import { AuditLog1764400000000 } from './1764400000000-audit-log';
import { AdminConsole1764500000000 } from './1764500000000-admin-console';
import { Retention1764600000000 } from './1764600000000-retention';
import { SetupLinks1764700000000 } from './1764700000000-setup-links';
import { ChangeNotifications1764800000000 } from './1764800000000-change-notifications';
import { DirectorySync1765000000000 } from './1765000000000-directory-sync';
import { EventsAndWebhooks1765100000000 } from './1765100000000-events-and-webhooks';
import { JwtAccessTokenRevocation1765200000000 } from './1765200000000-jwt-access-token-revocation';
import { AccessTokenSigningAlg1765300000000 } from './1765300000000-access-token-signing-alg';
import { UsersFillfactor1765400000000 } from './1765400000000-users-fillfactor';
import { AuditPending1765500000000 } from './1765500000000-audit-pending';

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [
  InitialSchema1763800000000,
  SamlServiceProvider1763900000000,
  LoginCompletions1764000000000,
  OpenIdProvider1764100000000,
  ScheduledJobs1764200000000,
  BackchannelDeliveries1764300000000,
  AuditLog1764400000000,
  AdminConsole1764500000000,
  Retention1764600000000,
  SetupLinks1764700000000,
  ChangeNotifications1764800000000,
  DirectorySync1765000000000,
  EventsAndWebhooks1765100000000,
  JwtAccessTokenRevocation1765200000000,
  AccessTokenSigningAlg1765300000000,
  UsersFillfactor1765400000000,
  AuditPending1765500000000,
];
