import type { Request } from 'express';
import { DomainError } from '../common/domain-error';
import { ConnectionsService } from '../connections/connections.service';
import { UpdateConnectionDto } from '../connections/dto/connection.dto';
import { formText, type FormBody } from './console/console-forms';

/** A form request that may carry an uploaded file (multer, console-upload.middleware.ts). */
export type UploadedForm = Request & { file?: { buffer: Buffer; originalname: string } };

/** New IdP metadata given on a form (console or setup page): exactly one of a file, pasted XML or a URL. */
export interface MetadataInput {
  pasted?: string;
  url?: string;
  file?: Buffer;
}

export function metadataInput(req: UploadedForm, body: FormBody): MetadataInput {
  return {
    pasted: formText(body, 'metadataXml'),
    url: formText(body, 'metadataUrl', 2048),
    file: req.file && req.file.buffer.length > 0 ? req.file.buffer : undefined,
  };
}

/**
 * Replaces a connection's metadata from a form (file or pasted XML: pinned document; URL: fetched now and
 * refreshed on schedule), through ConnectionsService (validated and audited there).
 */
export async function applyMetadataInput(
  connections: ConnectionsService,
  id: string,
  input: MetadataInput,
): Promise<void> {
  const given = [input.pasted, input.url, input.file].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw DomainError.invalid(
      'metadata_source_ambiguous',
      'Give the new metadata one way: a file, pasted XML or a URL.',
    );
  }
  if (input.url) {
    await connections.update(id, Object.assign(new UpdateConnectionDto(), { metadataUrl: input.url }));
  } else {
    await connections.replaceMetadata(id, input.file ?? Buffer.from(input.pasted as string, 'utf8'));
  }
}
