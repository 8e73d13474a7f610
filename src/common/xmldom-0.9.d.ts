/// <reference types="xmldom-0.9" />

/**
 * The bridge parses and edits XML with @xmldom/xmldom 0.9, installed under the name `xmldom-0.9`
 * (package.json): node-saml, xml-crypto and xml-encryption use the 0.8 line, and with the bridge's copy
 * out of the way npm installs one 0.8 copy that all three share, so the signature and decryption code
 * meets DOM nodes of one class (fewer instructions per response; README, Performance). 0.9's typings
 * declare the module under its published name; this makes them the installed name's.
 */
declare module 'xmldom-0.9' {
  // eslint-disable-next-line no-restricted-imports -- the one place that names 0.9's typings
  export * from '@xmldom/xmldom';
}
