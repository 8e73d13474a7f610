import { generateSelfSignedKeyPair } from '../../src/keys/certificate-factory';

export interface TestKeyPair {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  certificatePem: string;
  /** The certificate's base64 DER, as it appears in a metadata `<ds:X509Certificate>`. */
  certificateBase64: string;
}

/** `-----BEGIN CERTIFICATE-----…` → the bare base64 body, without whitespace. */
export function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END)[^-]+-----/g, '').replace(/\s+/g, '');
}

/** Bare base64 DER (as found in metadata) → PEM. */
export function certificateToPem(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${(body.match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** A fresh RSA-2048 key with a self-signed RSA-SHA256 certificate, for test IdPs and SPs. */
export async function generateTestKeyPair(commonName: string): Promise<TestKeyPair> {
  const pair = await generateSelfSignedKeyPair(commonName, { years: 5 });
  return { ...pair, certificateBase64: pemBody(pair.certificatePem) };
}
