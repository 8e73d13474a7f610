import { SecretBox } from '../../src/keys/secret-box';

const OLD = 'o'.repeat(32);
const NEW = 'n'.repeat(32);

describe('SecretBox', () => {
  it('seals with a fresh salt and IV each time and opens what it sealed', () => {
    const box = new SecretBox(OLD);
    const a = box.seal('private key');
    expect(a).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(box.seal('private key')).not.toBe(a);
    expect(box.open(a)).toBe('private key');
  });

  it('refuses a value sealed under another secret, or tampered with', () => {
    const sealed = new SecretBox(OLD).seal('k');
    expect(() => new SecretBox(NEW).open(sealed)).toThrow(/was the secret changed/);
    const parts = sealed.split('.');
    parts[4] = Buffer.from('x').toString('base64url');
    expect(() => new SecretBox(OLD).open(parts.join('.'))).toThrow(/cannot be decrypted/);
    expect(() => new SecretBox(OLD).open('garbage')).toThrow(/Not a sealed value/);
  });

  it('opens values under the previous secret while rotating, seals with the new, and re-seals', () => {
    const old = new SecretBox(OLD).seal('k');
    const rotating = new SecretBox(NEW, OLD);
    expect(rotating.open(old)).toBe('k');
    expect(() => new SecretBox(OLD).open(rotating.seal('k2'))).toThrow();
    const resealed = rotating.reseal(old) as string;
    expect(new SecretBox(NEW).open(resealed)).toBe('k');
    expect(rotating.reseal(resealed)).toBeUndefined();
    expect(() => new SecretBox(NEW, 'w'.repeat(32)).reseal(old)).toThrow(/BRIDGE_SECRET_PREVIOUS/);
  });
});
