import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import type { BridgeConfig } from '../../config/bridge-config';
import { BRIDGE_CONFIG } from '../../config/config.module';

/**
 * Parses the console's multipart forms (metadata uploads) before the console guard runs, so that the
 * CSRF token in the form is checked like on every other form. One file (`metadataFile`), bounded.
 */
@Injectable()
export class ConsoleUploadMiddleware implements NestMiddleware {
  private readonly upload: ReturnType<ReturnType<typeof multer>['single']>;

  constructor(@Inject(BRIDGE_CONFIG) config: BridgeConfig) {
    this.upload = multer({
      storage: multer.memoryStorage(),
      limits: {
        fileSize: config.metadataMaxBytes,
        files: 1,
        fields: 50,
        fieldSize: config.bodyLimitBytes,
        parts: 60,
      },
    }).single('metadataFile');
  }

  use(req: Request, res: Response, next: NextFunction): Promise<void> {
    // Errors are rejected (not passed to next) so that Nest's exception filters render them.
    return new Promise<void>((resolve, reject) => {
      this.upload(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
    }).then(() => next());
  }
}
