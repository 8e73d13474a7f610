import { Module } from '@nestjs/common';
import { SpKeysController } from './sp-keys.controller';
import { SpKeysService } from './sp-keys.service';

@Module({ controllers: [SpKeysController], providers: [SpKeysService], exports: [SpKeysService] })
export class KeysModule {}
