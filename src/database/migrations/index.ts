import { InitialSchema1763800000000 } from './1763800000000-initial-schema';
import { SamlServiceProvider1763900000000 } from './1763900000000-saml-service-provider';

/** Every migration, in order. New migrations are appended here. */
export const MIGRATIONS = [InitialSchema1763800000000, SamlServiceProvider1763900000000];
