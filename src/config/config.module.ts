import { Global, Module } from '@nestjs/common';
import { BridgeConfig, loadConfig } from './bridge-config';

/** Injection token of the validated {@link BridgeConfig}. */
export const BRIDGE_CONFIG = Symbol('BRIDGE_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config?: BridgeConfig) {
    return {
      module: ConfigModule,
      providers: [{ provide: BRIDGE_CONFIG, useFactory: () => config ?? loadConfig() }],
      exports: [BRIDGE_CONFIG],
    };
  }
}
