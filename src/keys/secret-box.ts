import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const INFO = Buffer.from('saml-bridge:private-key-at-rest:v1');

/**
 * Encrypts secrets at rest (private keys) with AES-256-GCM under a key derived from BRIDGE_SECRET by
 * HKDF-SHA256 with a random salt per value. Format: `v1.<salt>.<iv>.<tag>.<ciphertext>` (base64url).
 * During a secret rotation the previous secret still opens values (new values are always sealed with the
 * current one); `reseal` moves a value to the current secret.
 */
export class SecretBox {
  /** The current secret first, then the previous one while rotating. */
  private readonly secrets: [string] | [string, string];

  constructor(secret: string, previous?: string) {
    if (secret.length < 32) throw new Error('The secret must be at least 32 characters');
    this.secrets = previous ? [secret, previous] : [secret];
  }

  /** The box for the bridge's configuration (BRIDGE_SECRET, and BRIDGE_SECRET_PREVIOUS while rotating). */
  static forConfig(config: { bridgeSecret: string; bridgeSecretPrevious?: string }): SecretBox {
    return new SecretBox(config.bridgeSecret, config.bridgeSecretPrevious);
  }

  private key(salt: Buffer, secret = this.secrets[0]): Buffer {
    return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), salt, INFO, 32));
  }

  seal(plaintext: string): string {
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(salt), iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, salt, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  open(sealed: string): string {
    return this.openWith(sealed).plaintext;
  }

  /**
   * The value sealed with the current secret: undefined when it already is, a new sealed value when only
   * the previous secret opens it. Throws when neither does.
   */
  reseal(sealed: string): string | undefined {
    const { plaintext, secretIndex } = this.openWith(sealed);
    return secretIndex === 0 ? undefined : this.seal(plaintext);
  }

  private openWith(sealed: string): { plaintext: string; secretIndex: number } {
    const parts = sealed.split('.');
    const [version, ...encoded] = parts;
    const [salt, iv, tag, ciphertext] = encoded.map((p) => Buffer.from(p, 'base64url'));
    if (parts.length !== 5 || version !== VERSION || !salt || !iv || !tag || !ciphertext) {
      throw new Error('Not a sealed value');
    }
    for (const [i, secret] of this.secrets.entries()) {
      const decipher = createDecipheriv('aes-256-gcm', this.key(salt, secret), iv);
      decipher.setAuthTag(tag);
      try {
        const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
        return { plaintext, secretIndex: i };
      } catch {
        // try the next secret
      }
    }
    throw new Error(
      this.secrets.length > 1
        ? 'The value cannot be decrypted with BRIDGE_SECRET or BRIDGE_SECRET_PREVIOUS'
        : 'The value cannot be decrypted with this BRIDGE_SECRET (was the secret changed?)',
    );
  }
}
