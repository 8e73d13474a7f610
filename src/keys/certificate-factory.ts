import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

export interface GeneratedKeyPair {
  privateKeyPem: string;
  certificatePem: string;
  notAfter: Date;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)?.join('\n')}\n-----END ${label}-----\n`;
}

/** An RSA key pair with a self-signed certificate (RSA-SHA256), as SAML SPs publish in metadata. */
export async function generateSelfSignedKeyPair(
  commonName: string,
  opts: { bits?: number; years?: number; now?: Date; notAfter?: Date } = {},
): Promise<GeneratedKeyPair> {
  const x509 = await import('@peculiar/x509');
  type X509Crypto = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1];
  x509.cryptoProvider.set(webcrypto as unknown as NonNullable<X509Crypto>);
  const algorithm = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: opts.bits ?? 2048,
  };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = opts.notAfter ? new Date(opts.notAfter.getTime()) : new Date(now.getTime());
  if (!opts.notAfter) notAfter.setUTCFullYear(notAfter.getUTCFullYear() + (opts.years ?? 10));
  const safeName = commonName.replace(/[,+="<>#;\\]/g, ' ').slice(0, 64);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${safeName}`,
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { privateKeyPem: pem('PRIVATE KEY', pkcs8), certificatePem: cert.toString('pem') + '\n', notAfter };
}
