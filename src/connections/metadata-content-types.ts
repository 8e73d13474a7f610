/** The content types under which the API accepts a raw IdP metadata document (parsed as a raw body). */
export const METADATA_CONTENT_TYPES = ['application/xml', 'application/samlmetadata+xml', 'text/xml'];
