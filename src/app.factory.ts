import { INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { isConsolePath } from './admin/console/console.guard';
import { isSetupPath } from './admin/setup-links/setup-paths';
import { auditContextMiddleware } from './audit/audit-context';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { BridgeConfig, loadConfig } from './config/bridge-config';
import { METADATA_CONTENT_TYPES } from './connections/metadata-content-types';
import { createHttpLogger, createRootLogger, PinoNestLogger } from './logging/logger';
import { MetricsService } from './metrics/metrics.service';
import { OidcProviderHost } from './oidc/oidc-provider.host';
import { errorPageView } from './web/error-page';
import { render } from './web/html';
import { scimBodyParser } from './scim/scim-body';

/** The ACS / SLO body limit: a SAMLResponse is at most 256 KB decoded (~342 KB in base64). */
export const SAML_BODY_LIMIT_BYTES = 400 * 1024;

export interface CreateAppOptions {
  config?: BridgeConfig;
  logger?: Logger;
}

/** Builds the bridge application: the one place where middleware, pipes, filters and docs are wired. */
export async function createApp(options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const config = options.config ?? loadConfig();
  const root = options.logger ?? createRootLogger(config.logLevel);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: new PinoNestLogger(root),
    abortOnError: false,
  });
  configureApp(app, config, root);
  return app;
}

export function configureApp(app: NestExpressApplication, config: BridgeConfig, root: Logger): void {
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(createHttpLogger(root));
  app.use(auditContextMiddleware);
  app.use(app.get(MetricsService).middleware());
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          // Swagger UI at /docs needs inline styles; SAML auto-submit pages (later) use a nonce.
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          formAction: null,
        },
      },
      hsts: config.baseUrl.startsWith('https:'),
    }),
  );
  // Console and setup-link forms are checked by Origin: with helmet's no-referrer, Chromium would send
  // `Origin: null`. Same-origin only: a setup page never sends its URL to another site.
  const sameOriginReferrer = (_req: express.Request, res: express.Response, next: express.NextFunction) => {
    res.setHeader('Referrer-Policy', 'same-origin');
    next();
  };
  app.use('/admin', sameOriginReferrer);
  app.use('/setup', sameOriginReferrer);
  // The OpenID Provider (oidc-provider) serves discovery, JWKS, authorize, token… and parses its own bodies.
  app.use(app.get(OidcProviderHost).middleware());
  // SAML endpoints take form posts only, with a tighter limit than the admin API.
  app.use('/saml', express.urlencoded({ extended: false, limit: SAML_BODY_LIMIT_BYTES, parameterLimit: 10 }));
  // SCIM (directory sync) bodies are application/scim+json; a bad one is answered in the SCIM error schema.
  app.use('/scim', scimBodyParser(config.bodyLimitBytes));
  app.use(express.json({ limit: config.bodyLimitBytes }));
  app.use(express.urlencoded({ extended: false, limit: config.bodyLimitBytes, parameterLimit: 100 }));
  app.use(express.raw({ type: METADATA_CONTENT_TYPES, limit: config.bodyLimitBytes }));
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: false,
      forbidUnknownValues: true,
    }),
  );
  app.useGlobalFilters(
    new ApiExceptionFilter({
      // Errors raised before a SAML or console controller runs (an oversized body, an unknown page) still
      // get an HTML page.
      matches: (path) => path.startsWith('/saml/') || isConsolePath(path) || isSetupPath(path),
      render: (body, path) =>
        render(
          errorPageView(isSetupPath(path) ? 'setup' : isConsolePath(path) ? 'console' : 'sign-in', {
            status: body.statusCode,
            reason: body.code,
            message: body.message,
            requestId: body.requestId,
            fromRejection: false,
          }),
        ),
    }),
  );
  app.enableShutdownHooks();
  setupOpenApi(app, config);
}

function setupOpenApi(app: INestApplication, config: BridgeConfig): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('SAML Bridge admin API')
      .setDescription(
        'Register enterprise IdP connections and manage the bridge. Every call needs `Authorization: Bearer <admin API key>`.',
      )
      .setVersion('1')
      .addServer(config.baseUrl)
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
}
