/**
 * `node dist-bench/bench/passport-overhead.js`: what putting the ACS and SLO behind a Nest passport guard
 * costs per request. One Nest app (Express, as the bridge) serves the same verification twice: called by the
 * handler itself, and behind AuthGuard on the bridge's SamlMessageStrategy (the strategy the ACS and SLO
 * guards use). autocannon drives the two in alternating rounds so that the machine's load falls on both
 * alike; it prints requests/s and latency per round and the difference per request. Then, without HTTP, the
 * CPU time (this process's, so other load on the machine does not count) of the guard's canActivate against
 * the verification called directly, in alternating blocks.
 */
import 'reflect-metadata';
import {
  Controller,
  type ExecutionContext,
  Injectable,
  Module,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import autocannon from 'autocannon';
import type { Request, Response } from 'express';
import { SamlMessageStrategy } from '../src/saml/saml-message.strategy';

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const SECONDS = Number(process.env.SECONDS ?? 5);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 8);

/** The stand-in for the pipeline: the same for both routes (it yields once, as an awaited engine call does). */
async function verification(req: Request): Promise<{ continueUrl: string }> {
  await new Promise((resolve) => setImmediate(resolve));
  const body = req.body as { SAMLResponse?: string };
  return { continueUrl: `/saml/bench/continue?code=${body.SAMLResponse?.length ?? 0}` };
}

@Injectable()
class BenchStrategy extends PassportStrategy(SamlMessageStrategy, 'bench-saml') {
  validate(req: Request): Promise<{ continueUrl: string }> {
    return verification(req);
  }
}

@Injectable()
class BenchGuard extends AuthGuard('bench-saml') {}

@Controller()
class BenchController {
  @Post('direct')
  async direct(@Req() req: Request, @Res() res: Response): Promise<void> {
    const result = await verification(req);
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, result.continueUrl);
  }

  @Post('guarded')
  @UseGuards(BenchGuard)
  guarded(@Req() req: Request, @Res() res: Response): void {
    const result = req.user as unknown as { continueUrl: string };
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, result.continueUrl);
  }
}

@Module({ controllers: [BenchController], providers: [BenchStrategy] })
class BenchModule {}

async function round(base: string, path: string) {
  const result = await autocannon({
    url: `${base}/${path}`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `SAMLResponse=${'A'.repeat(8000)}&RelayState=bench`,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non3xx: result.non2xx - result['3xx'],
  };
}

/** The middle value of a set of rounds (ROUNDS is at least 1, so there always is one). */
function median(xs: number[]): number {
  const middle = [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  if (middle === undefined) throw new Error('median of no rounds: ROUNDS must be at least 1');
  return middle;
}

async function main(): Promise<void> {
  const app = await NestFactory.create(BenchModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const totals = { direct: [] as number[], guarded: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const path of i % 2 === 0 ? ['direct', 'guarded'] : ['guarded', 'direct']) {
      const r = await round(base, path);
      totals[path as 'direct' | 'guarded'].push(r.rps);
      process.stdout.write(`round ${i + 1} ${path}: ${r.rps.toFixed(0)}/s p50 ${r.p50} ms p99 ${r.p99} ms\n`);
    }
  }
  const direct = median(totals.direct);
  const guarded = median(totals.guarded);
  process.stdout.write(
    `median: direct ${direct.toFixed(0)}/s, guarded ${guarded.toFixed(0)}/s; ` +
      `passport + guard cost ${(1e6 / guarded - 1e6 / direct).toFixed(1)} µs per request ` +
      `(${((1 - guarded / direct) * 100).toFixed(1)} % of this trivial route's throughput)\n`,
  );
  await cpuPerCall(app.get(BenchGuard));
  await app.close();
}

/** CPU µs per call of the guard (passport.authenticate, the strategy, req.user) and of the bare verification. */
async function cpuPerCall(guard: BenchGuard): Promise<void> {
  const CALLS = Number(process.env.CALLS ?? 20_000);
  const request = () =>
    ({
      body: { SAMLResponse: 'A'.repeat(8000) },
      params: { slug: 'bench' },
      headers: {},
    }) as unknown as Request;
  const context = (req: Request) =>
    ({
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}) }),
    }) as unknown as ExecutionContext;
  const block = async (guarded: boolean): Promise<number> => {
    const start = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) {
      const req = request();
      if (guarded) await guard.canActivate(context(req));
      else await verification(req);
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / CALLS;
  };
  const per = { direct: [] as number[], guarded: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const guarded of i % 2 === 0 ? [false, true] : [true, false]) {
      per[guarded ? 'guarded' : 'direct'].push(await block(guarded));
    }
  }
  process.stdout.write(
    `CPU per call (median of ${ROUNDS} blocks of ${CALLS}): direct ${median(per.direct).toFixed(1)} µs, ` +
      `guarded ${median(per.guarded).toFixed(1)} µs; the guard adds ${(median(per.guarded) - median(per.direct)).toFixed(1)} µs\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
