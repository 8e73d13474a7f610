import { Injectable } from '@nestjs/common';
import { CacheProvider, Profile, SAML, SamlConfig, ValidateInResponseTo } from '@node-saml/node-saml';
import type { ConnectionEntity } from '../connections/connection.entity';
import { SAML_BINDINGS } from '../connections/metadata/idp-metadata.parser';
import type { LoadedSpKey } from '../keys/sp-keys.service';
import { spDetails } from '../connections/connection.view';
import type { CloneableSamlConfig } from './saml-engine-pool';
import type { RequestedAuthn } from './requested-authn';

/**
 * node-saml keeps no request cache of ours: InResponseTo is checked by our policy layer against the
 * database, so node-saml's own cache is a no-op.
 */
const NO_CACHE: CacheProvider = {
  saveAsync: async () => null,
  getAsync: async () => null,
  removeAsync: async () => null,
};

const MAX_CACHED_ENGINES = 2000;

/**
 * The ACS's node-saml: all of node-saml's verification (the Response's and the assertion's signatures, one
 * assertion, decryption, the signed assertion taken from what was verified), without the step after it.
 * That step (processValidlySignedAssertionAsync) parses the signed assertion again with xml2js to build a
 * profile; with the ACS's options (no audience, no clock, no InResponseTo: acsConfig) it judges nothing our
 * checks do not judge after it on the same signed assertion (acs/pipeline.ts: exactly one Conditions, its
 * window, the audience, the subject confirmation), and the ACS reads nothing of the profile but that
 * assertion's XML. The worker threads use the same subclass (SamlEnginePool's worker source).
 */
export class AcsVerifier extends SAML {
  protected override processValidlySignedAssertionAsync(
    this: SAML,
    signedAssertionXml: string,
  ): Promise<{ profile: Profile; loggedOut: boolean }> {
    return Promise.resolve({
      profile: { getAssertionXml: () => signedAssertionXml } as Profile,
      loggedOut: false,
    });
  }
}

export interface EngineRequestOptions {
  /** Our request ID (node-saml otherwise makes its own). */
  requestId?: string;
  /** Sign the outgoing message with the SP key. */
  sign: boolean;
}

/** Builds node-saml instances per connection with safe options; ACS instances are cached. */
@Injectable()
export class SamlEngineFactory {
  private readonly acsEngines = new Map<string, SAML>();

  /** The options every instance shares: pinned metadata certificates (never KeyInfo), SHA-256. */
  private baseConfig(connection: ConnectionEntity, baseUrl: string): SamlConfig {
    const sp = spDetails(baseUrl, connection);
    const idpCerts = connection.idp.signingCertificates.map((c) => c.pem);
    return {
      callbackUrl: sp.acsUrl,
      issuer: sp.entityId,
      audience: sp.entityId,
      idpCert: idpCerts,
      idpIssuer: connection.idpEntityId,
      acceptedClockSkewMs: connection.options.clockSkewSeconds * 1000,
      validateInResponseTo: ValidateInResponseTo.never,
      cacheProvider: NO_CACHE,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      identifierFormat: connection.options.nameIdFormat ?? null,
      allowCreate: true,
      forceAuthn: connection.options.forceAuthn,
      disableRequestedAuthnContext: connection.options.requestedAuthnContext.length === 0,
      authnContext: connection.options.requestedAuthnContext,
      logoutCallbackUrl: sp.sloUrl,
      maxAssertionAgeMs: 0,
      wantAssertionsSigned: ['assertion', 'both'].includes(connection.options.requiredSignature),
      wantAuthnResponseSigned: ['response', 'both'].includes(connection.options.requiredSignature),
    };
  }

  /** Names an ACS instance: one per connection version and decryption key (here and in the worker pool). */
  acsEngineKey(connection: ConnectionEntity, decryptionKey: LoadedSpKey): string {
    return `${connection.id}:${connection.updatedAt.getTime()}:${decryptionKey.id}`;
  }

  /** The ACS options without the cache provider: plain data a worker thread can receive (structured clone). */
  acsConfig(connection: ConnectionEntity, baseUrl: string, decryptionKey: LoadedSpKey): CloneableSamlConfig {
    const { cacheProvider: _inThreadOnly, ...config } = this.baseConfig(connection, baseUrl);
    return {
      ...config,
      decryptionPvk: decryptionKey.privateKeyPem,
      // The ACS engine verifies signatures and decrypts; audience, windows and confirmation are judged by
      // our checks on the signed assertion it returns (acs/pipeline.ts), with our clock, so its refusals
      // are the signature's (see classifyEngineError).
      audience: false,
      acceptedClockSkewMs: -1,
    };
  }

  /** A cached instance for validating responses in this thread, per connection version and decryption key. */
  forAcs(connection: ConnectionEntity, baseUrl: string, decryptionKey: LoadedSpKey): SAML {
    const key = this.acsEngineKey(connection, decryptionKey);
    let engine = this.acsEngines.get(key);
    if (!engine) {
      engine = new AcsVerifier({
        ...this.acsConfig(connection, baseUrl, decryptionKey),
        cacheProvider: NO_CACHE,
      });
      this.remember(key, engine);
    }
    return engine;
  }

  /** A cached instance that only verifies signatures (logout messages). */
  forVerification(connection: ConnectionEntity, baseUrl: string): SAML {
    const key = `${connection.id}:${connection.updatedAt.getTime()}:verify`;
    let engine = this.acsEngines.get(key);
    if (!engine) {
      engine = new SAML(this.baseConfig(connection, baseUrl));
      this.remember(key, engine);
    }
    return engine;
  }

  private remember(key: string, engine: SAML): void {
    if (this.acsEngines.size >= MAX_CACHED_ENGINES) {
      const oldest = this.acsEngines.keys().next().value;
      if (oldest !== undefined) this.acsEngines.delete(oldest);
    }
    this.acsEngines.set(key, engine);
  }

  /** A fresh instance for one outgoing message (AuthnRequest, LogoutRequest, LogoutResponse). */
  forRequest(
    connection: ConnectionEntity,
    baseUrl: string,
    signingKey: LoadedSpKey,
    options: EngineRequestOptions & {
      binding?: 'HTTP-Redirect' | 'HTTP-POST';
      entryPoint?: string;
      logoutUrl?: string;
      /** This login's ForceAuthn and RequestedAuthnContext (added to the connection's own settings). */
      authn?: RequestedAuthn;
    },
  ): SAML {
    const requestId = options.requestId;
    const authn = options.authn;
    return new SAML({
      ...this.baseConfig(connection, baseUrl),
      ...(authn?.forceAuthn ? { forceAuthn: true } : {}),
      ...(authn?.context
        ? {
            disableRequestedAuthnContext: false,
            authnContext: authn.context.classRefs,
            racComparison: authn.context.comparison,
          }
        : {}),
      entryPoint: options.entryPoint,
      logoutUrl: options.logoutUrl ?? '',
      authnRequestBinding: options.binding === 'HTTP-POST' ? 'HTTP-POST' : undefined,
      // HTTP-POST carries the XML base64-encoded, not DEFLATE-compressed (SAML bindings §3.5.4).
      skipRequestCompression: options.binding === 'HTTP-POST',
      ...(options.sign
        ? { privateKey: signingKey.privateKeyPem, publicCert: signingKey.certificatePem }
        : {}),
      ...(requestId ? { generateUniqueId: () => requestId } : {}),
    });
  }
}

/** The IdP endpoint to send a message to, by binding preference. */
export function pickEndpoint(
  endpoints: ConnectionEntity['idp']['ssoEndpoints'],
  preferred?: 'HTTP-Redirect' | 'HTTP-POST',
): { binding: 'HTTP-Redirect' | 'HTTP-POST'; location: string; responseLocation?: string } | undefined {
  const supported = endpoints.filter(
    (e) => e.binding === SAML_BINDINGS.redirect || e.binding === SAML_BINDINGS.post,
  );
  const wanted =
    preferred === 'HTTP-POST' ? SAML_BINDINGS.post : preferred ? SAML_BINDINGS.redirect : undefined;
  const chosen = supported.find((e) => e.binding === wanted) ?? supported[0];
  if (!chosen) return undefined;
  return {
    binding: chosen.binding === SAML_BINDINGS.post ? 'HTTP-POST' : 'HTTP-Redirect',
    location: chosen.location,
    responseLocation: chosen.responseLocation,
  };
}
