import { AdminApiKeyEntity } from '../admin/admin-api-key.entity';
import { ConnectionEntity } from '../connections/connection.entity';

/** Every TypeORM entity of the bridge. */
export const ENTITIES = [ConnectionEntity, AdminApiKeyEntity];
