import { DOMParser } from 'xmldom-0.9';
import type { Document, Element, Node } from 'xmldom-0.9';

/**
 * Hardened XML intake, shared by IdP metadata import and SAML message handling.
 *
 * The order matters: size (on the raw bytes) → decode → no DOCTYPE/ENTITY (on the raw text, before any
 * parser sees it) → cheap linear pre-scan for depth/element count → strict parse → authoritative tree walk.
 */

/** 1 MiB: far above any real IdP metadata (AD FS ≈ 40 KB, large federation entities ≈ 100 KB). */
export const DEFAULT_MAX_XML_BYTES = 1024 * 1024;
export const DEFAULT_MAX_XML_DEPTH = 64;
export const DEFAULT_MAX_XML_NODES = 20_000;

export type XmlSafetyErrorCode =
  'doctype_forbidden' | 'malformed_xml' | 'too_complex' | 'too_large' | 'empty';

export class XmlSafetyError extends Error {
  constructor(
    public readonly code: XmlSafetyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'XmlSafetyError';
  }
}

export interface XmlLimits {
  /** Maximum element nesting depth; the root element is at depth 1. Default 64. */
  maxDepth?: number;
  /** Maximum number of nodes (elements, attributes, text, comments, …). Default 20 000. */
  maxNodes?: number;
}

const NODE_ELEMENT = 1;
const NODE_PROCESSING_INSTRUCTION = 7;
const NODE_COMMENT = 8;
const NODE_DOCUMENT_TYPE = 10;
const NODE_TEXT = 3;

function isWhitespaceByte(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x00;
}

/** Throws `too_large` above `maxBytes` and `empty` for nothing-but-whitespace input. */
export function assertXmlSize(input: string | Buffer, maxBytes: number): void {
  const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (bytes > maxBytes) {
    throw new XmlSafetyError('too_large', `The XML is ${bytes} bytes, above the limit of ${maxBytes} bytes.`);
  }
  let empty = true;
  if (typeof input === 'string') {
    empty = input.replace(/^\uFEFF/, '').trim() === '';
  } else {
    let start = 0;
    if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) start = 3;
    else if ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff)) start = 2;
    for (const b of input.subarray(start)) {
      if (!isWhitespaceByte(b)) {
        empty = false;
        break;
      }
    }
  }
  if (empty) throw new XmlSafetyError('empty', 'The XML is empty.');
}

/** The first character of an XML document: `<` or whitespace (a missing byte is neither). */
function isXmlStartByte(b: number | undefined): boolean {
  return b === 0x3c || b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Single-byte encodings we honour when the XML declaration names them (and there is no BOM). */
const SINGLE_BYTE_ENCODINGS = new Set([
  'iso-8859-1',
  'iso8859-1',
  'latin1',
  'l1',
  'windows-1252',
  'cp1252',
  'us-ascii',
  'ascii',
  'iso-8859-15',
]);

function declaredEncoding(buf: Buffer): string | undefined {
  const head = buf.subarray(0, 200).toString('latin1');
  const m = /^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  return m?.[1]?.toLowerCase();
}

function decodeUtf16(buf: Buffer, bigEndian: boolean): string {
  if (buf.length % 2 !== 0) {
    throw new XmlSafetyError('malformed_xml', 'The XML looks UTF-16 encoded but has an odd number of bytes.');
  }
  const le = bigEndian ? Buffer.from(buf).swap16() : buf;
  return le.toString('utf16le');
}

/**
 * Bytes → text. Recognises a UTF-8 BOM, UTF-16 LE/BE with a BOM, and UTF-16 without a BOM (`<\0` / `\0<`);
 * honours an XML declaration naming ISO-8859-1/Windows-1252/US-ASCII; everything else must be valid UTF-8.
 * A leading BOM is removed from strings too.
 */
export function decodeXmlBytes(input: string | Buffer): string {
  if (typeof input === 'string') return input.replace(/^\uFEFF/, '');
  let text: string;
  if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) {
    text = decodeUtf8(input.subarray(3));
  } else if (input[0] === 0xff && input[1] === 0xfe) {
    text = decodeUtf16(input.subarray(2), false);
  } else if (input[0] === 0xfe && input[1] === 0xff) {
    text = decodeUtf16(input.subarray(2), true);
  } else if (input.length >= 2 && isXmlStartByte(input[0]) && input[1] === 0x00) {
    text = decodeUtf16(input, false); // `<\0` (or whitespace): UTF-16 LE without a BOM
  } else if (input.length >= 2 && input[0] === 0x00 && isXmlStartByte(input[1])) {
    text = decodeUtf16(input, true); // `\0<`: UTF-16 BE without a BOM
  } else {
    const enc = declaredEncoding(input);
    text =
      enc && SINGLE_BYTE_ENCODINGS.has(enc)
        ? new TextDecoder('windows-1252').decode(input)
        : decodeUtf8(input);
  }
  return text.replace(/^\uFEFF/, '');
}

function decodeUtf8(buf: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
  } catch {
    throw new XmlSafetyError(
      'malformed_xml',
      'The XML is not valid UTF-8 (and does not declare another supported encoding).',
    );
  }
}

/** Throws `doctype_forbidden` if the text contains `<!DOCTYPE` or `<!ENTITY` anywhere (case-insensitive). */
export function assertNoDoctype(text: string): void {
  const m = /<!(DOCTYPE|ENTITY)/i.exec(text);
  if (m) {
    throw new XmlSafetyError(
      'doctype_forbidden',
      `The XML contains a ${m[0].toUpperCase()}> declaration (at ${position(text, m.index)}). ` +
        'Document type declarations and entities are refused (they enable XXE and entity-expansion attacks).',
    );
  }
}

function position(text: string, index: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${index - lineStart + 1}`;
}

/** Index of the first character that XML 1.0 forbids (C0 controls, U+FFFE/U+FFFF, lone surrogates), or -1. */
function findForbiddenChar(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20) {
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return i;
      i++;
    } else if ((c >= 0xdc00 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) {
      return i;
    }
  }
  return -1;
}

function tooComplex(what: string): XmlSafetyError {
  return new XmlSafetyError('too_complex', `The XML is too complex: ${what}.`);
}

/**
 * Linear pre-scan of the raw text, before the DOM is built, so that hostile nesting or node floods are
 * refused in milliseconds. It counts start tags (skipping comments, CDATA, processing instructions and
 * quoted attribute values), which is a lower bound of the real node count, so it never refuses a document
 * that the authoritative tree walk would accept.
 */
function prescan(text: string, maxDepth: number, maxNodes: number): void {
  const len = text.length;
  let depth = 0;
  let elements = 0;
  let i = text.indexOf('<');
  while (i !== -1 && i < len) {
    const next = text.charCodeAt(i + 1);
    let end: number;
    if (next === 0x21 /* ! */) {
      if (text.startsWith('<!--', i)) {
        end = text.indexOf('-->', i + 4);
        end = end === -1 ? len : end + 3;
      } else if (text.startsWith('<![CDATA[', i)) {
        end = text.indexOf(']]>', i + 9);
        end = end === -1 ? len : end + 3;
      } else {
        end = i + 2;
      }
    } else if (next === 0x3f /* ? */) {
      end = text.indexOf('?>', i + 2);
      end = end === -1 ? len : end + 2;
    } else if (next === 0x2f /* / */) {
      depth--;
      end = text.indexOf('>', i + 2);
      end = end === -1 ? len : end + 1;
    } else {
      let j = i + 1;
      let quote = 0;
      for (; j < len; j++) {
        const c = text.charCodeAt(j);
        if (quote !== 0) {
          if (c === quote) quote = 0;
        } else if (c === 0x22 || c === 0x27) {
          quote = c;
        } else if (c === 0x3e /* > */ || c === 0x3c /* < */) {
          break;
        }
      }
      elements++;
      if (text.charCodeAt(j - 1) !== 0x2f /* / */) {
        depth++;
        if (depth > maxDepth) throw tooComplex(`elements are nested more than ${maxDepth} levels deep`);
      }
      if (elements > maxNodes) throw tooComplex(`it has more than ${maxNodes} nodes`);
      end = text.charCodeAt(j) === 0x3e ? j + 1 : j;
    }
    i = text.indexOf('<', end);
  }
}

/**
 * Parses with @xmldom/xmldom 0.9 (the dependency `xmldom-0.9`), treating every warning and error as fatal;
 * refuses DOCTYPE/ENTITY, forbidden characters, trailing content or a second root, nesting deeper than
 * `maxDepth` and more than `maxNodes` nodes. The returned document has exactly one root element.
 */
export function parseXmlStrict(text: string, limits?: XmlLimits): Document {
  const maxDepth = limits?.maxDepth ?? DEFAULT_MAX_XML_DEPTH;
  const maxNodes = limits?.maxNodes ?? DEFAULT_MAX_XML_NODES;
  const source = text.replace(/^\uFEFF/, '');
  if (source.trim() === '') throw new XmlSafetyError('empty', 'The XML is empty.');
  assertNoDoctype(source);
  const bad = findForbiddenChar(source);
  if (bad !== -1) {
    throw new XmlSafetyError(
      'malformed_xml',
      `The XML contains a character that XML forbids (U+${source.charCodeAt(bad).toString(16).toUpperCase().padStart(4, '0')} at ${position(source, bad)}).`,
    );
  }
  prescan(source, maxDepth, maxNodes);

  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (_level, msg, context: unknown) => {
        throw new XmlSafetyError('malformed_xml', `${msg}${locatorSuffix(context)}`);
      },
    }).parseFromString(source, 'application/xml');
  } catch (err) {
    throw new XmlSafetyError('malformed_xml', `The XML is not well-formed: ${parserErrorDetail(err)}`);
  }

  let rootCount = 0;
  for (let n: Node | null = doc.firstChild; n !== null; n = n.nextSibling) {
    if (n.nodeType === NODE_DOCUMENT_TYPE) {
      throw new XmlSafetyError('doctype_forbidden', 'The XML contains a document type declaration.');
    } else if (n.nodeType === NODE_ELEMENT) {
      rootCount++;
    } else if (n.nodeType === NODE_TEXT) {
      if ((n.nodeValue ?? '').trim() !== '') {
        throw new XmlSafetyError(
          'malformed_xml',
          'The XML is not well-formed: text outside the root element.',
        );
      }
    } else if (n.nodeType !== NODE_COMMENT && n.nodeType !== NODE_PROCESSING_INSTRUCTION) {
      throw new XmlSafetyError(
        'malformed_xml',
        `The XML is not well-formed: unexpected node type ${n.nodeType}.`,
      );
    }
  }
  if (rootCount !== 1 || doc.documentElement === null) {
    throw new XmlSafetyError(
      'malformed_xml',
      `The XML must have exactly one root element (found ${rootCount}).`,
    );
  }
  assertTreeLimits(doc.documentElement, maxDepth, maxNodes);
  return doc;
}

/** Iterative (no recursion) count of depth and nodes, attributes included. */
function assertTreeLimits(root: Element, maxDepth: number, maxNodes: number): void {
  const stack: Array<{ node: Node; depth: number }> = [{ node: root, depth: 1 }];
  let count = 0;
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: Node; depth: number };
    count++;
    if (node.nodeType === NODE_ELEMENT) {
      if (depth > maxDepth) throw tooComplex(`elements are nested more than ${maxDepth} levels deep`);
      count += (node as Element).attributes.length;
      for (let c: Node | null = node.firstChild; c !== null; c = c.nextSibling) {
        stack.push({ node: c, depth: depth + 1 });
      }
    } else if (node.nodeType === NODE_DOCUMENT_TYPE) {
      throw new XmlSafetyError('doctype_forbidden', 'The XML contains a document type declaration.');
    }
    if (count > maxNodes) throw tooComplex(`it has more than ${maxNodes} nodes`);
  }
}

function locatorSuffix(context: unknown): string {
  if (typeof context !== 'object' || context === null || !('locator' in context)) return '';
  const locator: unknown = context.locator;
  if (typeof locator !== 'object' || locator === null) return '';
  const line = 'lineNumber' in locator ? locator.lineNumber : undefined;
  const column = 'columnNumber' in locator ? locator.columnNumber : undefined;
  return typeof line === 'number' && typeof column === 'number' ? ` (line ${line}, column ${column})` : '';
}

/** The useful part of what xmldom throws (it wraps the error thrown by onError in a ParseError). */
function parserErrorDetail(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const ours = /caused XmlSafetyError: ([\s\S]*)$/.exec(raw);
  const wrapped = /^Reporting \w+ "([\s\S]*?)" caused/.exec(raw);
  const core = ours?.[1] ?? wrapped?.[1] ?? raw;
  return core.replace(/\s+/g, ' ').trim().slice(0, 300);
}
