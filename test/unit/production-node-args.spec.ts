import { execFileSync } from 'node:child_process';
import { productionNodeArgs } from '../support/bridge-process';

describe('the production command line (package.json start: node <options> dist/src/main.js)', () => {
  it('gives the event loop 8 MB semi-spaces (V8 reads the size only when the heap is created)', () => {
    expect(productionNodeArgs()).toContain('--max-semi-space-size=8');
  });

  it('holds only options this runtime accepts (a refused one would stop npm start)', () => {
    const out = execFileSync(
      process.execPath,
      [...productionNodeArgs(), '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'],
      { encoding: 'utf8' },
    );
    const execArgv = JSON.parse(out) as string[];
    expect(execArgv.slice(0, productionNodeArgs().length)).toEqual(productionNodeArgs());
  });
});
