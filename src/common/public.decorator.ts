import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'bridge:isPublic';

/** Marks a route as reachable without an admin credential (every other route requires one). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
