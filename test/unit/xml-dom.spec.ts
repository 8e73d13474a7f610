import { DOMParser } from 'xmldom-0.9';
import {
  attribute,
  childElement,
  childElements,
  elementsByLocalName,
  nonEmptyAttribute,
  parseXsDateTime,
  textOf,
} from '../../src/common/xml-dom';
import { parseSamlXml } from '../../src/saml/saml.service';
import { timeAttribute } from '../../src/saml/acs/checks/timestamps';
import { SamlRejection } from '../../src/saml/saml-rejection';

const A = 'urn:example:a';
const B = 'urn:example:b';
const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml');

describe('xml-dom: the one set of DOM helpers of the ACS, single logout and the metadata parser', () => {
  it('selects children by namespace URI and local name, never by prefix', () => {
    const doc = parse(
      `<r xmlns:a="${A}" xmlns:x="${A}" xmlns:b="${B}"><a:e n="1"/><b:e n="2"/><x:e n="3"/><a:f><a:e n="4"/></a:f></r>`,
    );
    const root = doc.documentElement as never;
    expect(childElements(root, A, 'e').map((e) => e.getAttribute('n'))).toEqual(['1', '3']);
    expect(childElement(root, B, 'e')?.getAttribute('n')).toBe('2');
    expect(childElement(root, B, 'f')).toBeUndefined();
    expect(elementsByLocalName(root, 'e').map((e) => e.getAttribute('n'))).toEqual(['1', '2', '3', '4']);
  });

  it('reads all text (text and CDATA, comments left out) and unqualified attributes', () => {
    const doc = parse(
      `<r xmlns:a="${A}" a:k="qualified" e=""> admin@example.com<!---->.evil<![CDATA[.com]]> </r>`,
    );
    const root = doc.documentElement as never;
    expect(textOf(root)).toBe('admin@example.com.evil.com');
    expect(textOf(undefined)).toBe('');
    expect(attribute(root, 'k')).toBeUndefined();
    expect(attribute(root, 'e')).toBe('');
    expect(nonEmptyAttribute(root, 'e')).toBeUndefined();
  });

  it.each([
    ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05.000Z'],
    ['2026-01-02T03:04:05.1Z', '2026-01-02T03:04:05.100Z'],
    ['2017-09-21T23:19:11.6081234Z', '2017-09-21T23:19:11.608Z'],
    ['2026-01-02T03:04:05+02:00', '2026-01-02T01:04:05.000Z'],
    ['2026-01-02T03:04:05-05:30', '2026-01-02T08:34:05.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
  ])('xs:dateTime %s is %s', (value, iso) => {
    expect(parseXsDateTime(value)?.toISOString()).toBe(iso);
  });

  it.each([
    '2026-01-02T03:04:05',
    '2026-01-02T03:04:05.123',
    '2026-01-02 03:04:05Z',
    '2026-01-02',
    ' 2026-01-02T03:04:05Z',
    '2026-02-30T00:00:00Z',
    '2026-01-02T24:00:00Z',
    '2026-01-02T23:60:00Z',
    '2026-13-01T00:00:00Z',
    'tomorrow',
    '',
  ])('xs:dateTime %j is refused (no time zone, or not a real time)', (value) => {
    expect(parseXsDateTime(value)).toBeUndefined();
  });

  it('the ACS and single logout refuse a time without a time zone', () => {
    const logout = parseSamlXml(
      '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" ' +
        'IssueInstant="2026-01-02T03:04:05" NotOnOrAfter="2026-01-02T03:09:05Z"/>',
    ).documentElement as never;
    expect(timeAttribute(logout, 'NotOnOrAfter')?.toISOString()).toBe('2026-01-02T03:09:05.000Z');
    expect(timeAttribute(logout, 'SessionNotOnOrAfter')).toBeUndefined();
    let refused: unknown;
    try {
      timeAttribute(logout, 'IssueInstant');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(SamlRejection);
    expect((refused as SamlRejection).reason).toBe('saml_malformed_xml');

    // The metadata parser: see idp-metadata.parser.spec.ts (validUntil without a time zone).
  });
});
