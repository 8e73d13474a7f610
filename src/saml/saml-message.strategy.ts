import type { Request } from 'express';
import passport from 'passport';

/** How a strategy's verification answers: an error (the refusal), or what it verified. */
export type SamlMessageVerify = (req: Request, done: (err: unknown, result?: unknown) => void) => void;

/**
 * A passport strategy whose verification is the bridge's own: the ACS or SLO pipeline (and through it the
 * node-saml engine worker pool), never node-saml in this thread as @node-saml/passport-saml would. A refusal
 * (SamlRejection, with its reason code) is passport's error, which the guard rethrows to the SAML page filter.
 */
export class SamlMessageStrategy extends passport.Strategy {
  constructor(private readonly verify: SamlMessageVerify) {
    super();
  }

  override authenticate(req: Request): void {
    // passport gives each request a copy of the strategy with its outcome actions (success, error, …).
    const actions = this as unknown as passport.StrategyCreated<this>;
    this.verify(req, (err, result) => {
      if (err) actions.error(err);
      else actions.success(result as Express.User);
    });
  }
}
