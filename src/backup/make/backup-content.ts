import { copierWithin } from '../../../adapters/index.ts';
import { messageOf } from '../../errors.ts';
import type { Destination } from '../../transfer/destination.ts';
import { sendContent, type ContentReader, type SendContext, type Sent } from '../../transfer/send.ts';
import { sourceFileOf, type BackupSource } from './backup-source.ts';
import type { ScannedFile } from './backup-tree.ts';
import { contentKey } from '../../layout.ts';
import { isNotFound } from '../manifest-file.ts';
import type { FileEntry } from '../manifest-entry.ts';

export interface ContentContext extends SendContext {
  readonly source: BackupSource;
  readonly setId: string;
  /** `d` lacks content this set's manifest lists: the set is not complete there. */
  contentFailed(d: Destination, path: string, error: unknown): void;
}

/** The file as it was read (after any re-read) and its MD5; or why the source could not be read. */
export type Stored = Sent<ScannedFile>;

/**
 * Stores one file's content under this set on every target through the engine (src/transfer):
 * read once for all, each read proving the file did not change under it; when it did, the file
 * is looked at again and read again (with backoff), so what is recorded is what was read.
 * Failures of single targets are reported through `contentFailed`; `expectedMd5` (a synthetic
 * set's fallback) refuses content other than what the other destinations copied.
 */
export async function storeContent(file: ScannedFile, targets: readonly Destination[], ctx: ContentContext, expectedMd5?: string): Promise<Stored> {
  return sendContent({ file, key: contentKey(ctx.setId, file.path), name: file.path, expectedMd5 }, targets, contentReader(ctx), ctx, {
    stored: (d, sent) => d.tally.stored(file.path, sent.file.size, 'upload'),
    failed: (d, error) => ctx.contentFailed(d, file.path, error),
  });
}

/** The backup source as the engine reads it: by a scanned file, and looked at again when it changed. */
export function contentReader(ctx: Pick<ContentContext, 'source'>): ContentReader<ScannedFile> {
  const { reader } = ctx.source;
  return {
    readWhole: (f) => reader.readWhole(sourceFileOf(f)),
    hash: (f) => reader.hash(sourceFileOf(f)),
    openVerified: (f, md5) => reader.openVerified(sourceFileOf(f), md5),
    restat: (f) => ctx.source.restat(f),
  };
}

/**
 * Synthetic full: the content of an unchanged file is copied inside each destination from the
 * set that holds it. A destination that lacks that content (it was down when the set was made)
 * or cannot copy gets the bytes from the source instead, and they must be the same bytes.
 */
export async function copyContent(entry: FileEntry, from: string, file: ScannedFile, targets: readonly Destination[], ctx: ContentContext): Promise<void> {
  const source = contentKey(from, entry.path);
  const target = contentKey(ctx.setId, entry.path);
  const needBytes: Destination[] = [];
  await Promise.all(targets.map(async (d) => {
    const outcome = await d.run({ retry: ctx.retry, signal: ctx.signal }, async (adapter) => {
      const copier = copierWithin(adapter);
      return copier === undefined ? false : (await copier(source, target), true);
    });
    if (outcome.ok && outcome.value) d.tally.stored(entry.path, 0, 'copy');
    else if (outcome.ok || (isNotFound(outcome.error) && !d.isDown)) needBytes.push(d);
    else ctx.contentFailed(d, entry.path, outcome.error);
  }));
  if (needBytes.length === 0) return;
  const stored = await storeContent(file, needBytes, ctx, entry.md5);
  if (!stored.ok) {
    for (const d of needBytes) ctx.contentFailed(d, entry.path, new Error(`${entry.path}: not in set ${from} here to copy, and the source could not give the same content: ${messageOf(stored.error)}`));
  }
}

