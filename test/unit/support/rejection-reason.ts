import { SamlRejection } from '../../../src/saml/saml-rejection';

/** The reason a check refuses with (undefined: it passed); any other error is rethrown. */
export function reasonOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    if (err instanceof SamlRejection) return err.reason;
    throw err;
  }
  return undefined;
}

/** reasonOf for a check that runs asynchronously. */
export async function reasonOfAsync(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
  } catch (err) {
    if (err instanceof SamlRejection) return err.reason;
    throw err;
  }
  return undefined;
}
