import { Global, Module } from '@nestjs/common';
import { OUTBOUND_RESOLVER, OutboundHttp, systemResolver } from './outbound';

/** The outbound HTTP client and its destination policy, for every module that sends requests. */
@Global()
@Module({
  providers: [{ provide: OUTBOUND_RESOLVER, useValue: systemResolver }, OutboundHttp],
  exports: [OutboundHttp],
})
export class OutboundModule {}
