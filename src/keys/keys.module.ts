import { Module } from '@nestjs/common';
import { SpKeysService } from './sp-keys.service';

/** SP key storage; its admin API (SpKeysController) is served by ConnectionsModule, which owns connections. */
@Module({ providers: [SpKeysService], exports: [SpKeysService] })
export class KeysModule {}
